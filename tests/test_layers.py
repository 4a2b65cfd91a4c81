"""The layers README draws hold: imports point down only, and `core` is pure.

Ranks, lowest first: core, beans (the Beancount adapter), the plugin, the
writer, intake and reports (peers that do not import each other), notify,
then the front ends (api, demo, fava_ext, cli) and the package's own
`__init__`. A module may import its own layer and the layers below.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "beancount_adjustments"
RANK = {"core": 0, "beans": 1, "plugin": 2, "writer": 3, "intake": 4, "reports": 4,
        "notify": 5, "api": 6, "demo": 6, "fava_ext": 7, "cli": 7, "": 8}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "beancount_adjustments":
                found += [(node.lineno, f"beancount_adjustments.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_layer() -> None:
    assert {_layer(_module(p)) for p in MODULES} <= set(RANK)


@pytest.mark.parametrize("path", MODULES, ids=_module)
def test_no_module_imports_from_a_layer_above_it(path: Path) -> None:
    me = _layer(_module(path))
    upward = []
    for line, target in _imports(path):
        if not target.startswith("beancount_adjustments"):
            continue
        other = _layer(target)
        if other in RANK and (RANK[other] > RANK[me]
                              or (RANK[other] == RANK[me] and other != me)):
            upward.append(f"{path.name}:{line} imports {target} ({other} is not below {me})")
    assert not upward, "\n".join(upward)


BLOCKED = """
import importlib.abc, pkgutil, sys

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("beancount", "fava", "flask", "click"):
            raise ImportError(f"core imported {name}")
        return None

sys.meta_path.insert(0, Blocked())
import beancount_adjustments.core as core
for info in pkgutil.walk_packages(core.__path__, "beancount_adjustments.core."):
    importlib.import_module(info.name)
print("imported", sorted(m for m in sys.modules if m.startswith("beancount_adjustments")))
"""


def test_core_imports_with_beancount_blocked() -> None:
    # Importing `beancount_adjustments.core` runs the package's own __init__, which
    # enables the plugin (and so Beancount): load the core package on its own.
    script = ("import sys, types\n"
              "pkg = types.ModuleType('beancount_adjustments')\n"
              f"pkg.__path__ = [{str(PACKAGE)!r}]\n"
              "sys.modules['beancount_adjustments'] = pkg\n" + BLOCKED)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "beancount_adjustments.core.book" in done.stdout
    assert "beancount_adjustments.beans" not in done.stdout
