"""Which Python files are a site's own code: a check of the `checks` setting, a
site's Beancount plugin and the modules they import, as against this package and
installed code (an environment's site-packages, the interpreter's own). The one
answer for the plugin's cache stamp (`loading.check_sources`: an edit of site code
renews the cache) and for `check --since` (`reports.history.rev_code`: REV's load
imports REV's site code).
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

PACKAGE = Path(__file__).resolve().parents[1]
"""This package's own folder (beans/ is one below it): `loading.code_stamp` covers it."""


def installed(real: Path) -> bool:
    """Whether the resolved path `real` lies where installed code does (a virtual
    environment, even one inside the repository, site-packages, the interpreter)."""
    return "site-packages" in real.parts or "dist-packages" in real.parts or any(
        real.is_relative_to(Path(prefix).resolve())
        for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix})


def site_file(module: ModuleType | None, root: Path) -> bool:
    """Whether `module` was read from a Python file under the resolved folder `root`
    that is the site's own code (neither this package nor installed)."""
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return False
    real = Path(file).resolve()
    return real.is_relative_to(root) and not real.is_relative_to(PACKAGE) and not installed(real)
