"""Seventh round of attacks on the controls (issue 11): through the tools and at the edges.

Each test is one way tried to move money without the approvals the policy asks
for, to act as someone else, or to get something out of the tools they should
not give, and asserts that the control holds. A test whose docstring says
"Hole:" failed on the code it was written against (the fix is named in the
commit that added it); the others held and add coverage no earlier test had.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from test_fava_ext import DECIDE, Env

FAVA = "/test-ledger/extension/AdjustmentsExtension/"


@pytest.fixture(autouse=True)
def _poll_watcher(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fava's polling watcher (the inotify one keeps threads per app; see test_fava_guard)."""
    import fava.application

    monkeypatch.setattr(fava.application, "create_app",
                        functools.partial(fava.application.create_app, poll_watcher=True))


def _files(env: Env) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in env.path.parent.iterdir()
            if p.is_file() and not p.name.endswith(".lock")}


# -- Fava: who acts ----------------------------------------------------------------------

DEMO_AND_HEADER = "{'user-header': 'X-Remote-User', 'demo-mode': True}"
DEMO_HEADER_SECRET = ("{'user-header': 'X-Remote-User', 'demo-mode': True, "
                      "'proxy-secret': 'env:BEAN_ADJUST_TEST_S7_SECRET'}")


@pytest.mark.parametrize("config", [DEMO_AND_HEADER, DEMO_HEADER_SECRET])
@pytest.mark.parametrize("how", ["query", "cookie"])
def test_with_a_user_header_demo_mode_names_nobody(tmp_path: Path, config: str, how: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Hole: with `user-header` (and even `proxy-secret`) set, `demo-mode` left on let a
    client that sent no header act as anyone it picked (`?as=erin` or the cookie):
    the proxy's login, and its secret, were walked around by leaving the header out."""
    monkeypatch.setenv("BEAN_ADJUST_TEST_S7_SECRET", "s3cret")
    env = Env(tmp_path, config)
    before = _files(env)
    body = {"decisions": [{"id": "ADJ-2", "action": "approve", "digest": env.digest("ADJ-2")}]}
    if how == "cookie":
        env.client.set_cookie("adjustments-user", "erin")
        response = env.client.post(DECIDE, json=body)
    else:
        response = env.client.post(DECIDE + "?as=erin", json=body)
    assert response.status_code == 403, response.get_json()
    assert _files(env) == before
    page = env.client.get(FAVA + "?as=erin").get_data(as_text=True)
    assert 'data-user=""' in page
    assert "demo-mode is off while user-header is set" in page


def test_demo_mode_alone_still_picks_the_user(tmp_path: Path) -> None:
    env = Env(tmp_path, "{'demo-mode': True}")
    body = {"decisions": [{"id": "ADJ-2", "action": "approve", "digest": env.digest("ADJ-2")}]}
    response = env.client.post(DECIDE + "?as=erin", json=body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["by"] == "erin"
