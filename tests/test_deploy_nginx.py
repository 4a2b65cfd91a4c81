"""README's "Deploy for a team", run for real: Debian's nginx, with the server
block copied from the README (listening on a free local port without TLS), in
front of a real `fava` on 127.0.0.1 with the extension and a proxy secret.

Skipped only on a developer's machine without nginx; under CI (`CI` set) a
missing nginx fails: `make test` installs it.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fava_env import BASE, ledger_text
from receivers import free_port

from ledgers import ROOT

SECRET = "test-proxy-secret-4c1d7e"
CONFIG = ("{'user-header': 'X-Remote-User', "
          "'proxy-secret': 'env:BEAN_ADJUST_PROXY_SECRET'}")
PASSWORDS = {"bob": "bobs-password", "erin": "erins-password"}


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def readme_server_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Deploy for a team", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```nginx\n(.*?)```", section, re.S)
    assert match, "README's Deploy for a team section lost its nginx block"
    return "\n".join(line[3:] if line.startswith("   ") else line
                     for line in match.group(1).splitlines())


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"README's nginx block no longer has {old!r} once"
    return text.replace(old, new)


def htpasswd_line(user: str, password: str) -> str:
    """`$apr1$` from `openssl passwd -apr1` (as README says), else nginx's {PLAIN}."""
    openssl = shutil.which("openssl")
    if openssl:
        hashed = subprocess.run([openssl, "passwd", "-apr1", "-stdin"], input=password,
                                capture_output=True, text=True, check=True).stdout.strip()
        assert hashed.startswith("$apr1$")
        return f"{user}:{hashed}"
    return f"{user}:{{PLAIN}}{password}"


def nginx_conf(prefix: Path, port: int, fava_port: int, htpasswd: Path) -> str:
    server = readme_server_block()
    server = replace_once(server, "listen 443 ssl;", f"listen 127.0.0.1:{port};")
    server = re.sub(r"\n\s*ssl_certificate(_key)?\s[^\n]*", "", server)
    server = replace_once(server, "/etc/nginx/adjustments.htpasswd", str(htpasswd))
    server = replace_once(server, "http://127.0.0.1:5000", f"http://127.0.0.1:{fava_port}")
    server = replace_once(server, "PASTE-THE-SECRET-HERE", SECRET)
    temp = prefix / "temp"
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers read files in tmp
    return f"""{user}worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{server}
}}
"""


def wait_for(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"{what} exited: {err}") from None
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


@dataclass
class Deployment:
    proxy: int
    fava: int
    ledger: Path
    prefix: Path

    def request(self, method: str, path: str, *, port: int | None = None,
                user: str | None = None, password: str | None = None,
                headers: list[tuple[str, str]] | None = None,
                body: Any = None) -> tuple[int, str]:
        """One raw HTTP request (http.client sends header names as given,
        underscores and repeats included)."""
        conn = http.client.HTTPConnection("127.0.0.1", port or self.proxy, timeout=30)
        try:
            conn.putrequest(method, path)
            sent = list(headers or [])
            if user is not None:
                token = base64.b64encode(
                    f"{user}:{password or PASSWORDS[user]}".encode()).decode()
                sent.append(("Authorization", f"Basic {token}"))
            data = b""
            if body is not None:
                data = json.dumps(body).encode()
                sent += [("Content-Type", "application/json"),
                         ("Content-Length", str(len(data)))]
            for name, value in sent:
                conn.putheader(name, value)
            conn.endheaders(data or None)
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def files(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in self.ledger.parent.iterdir()
                if p.is_file() and not p.name.startswith(".")}

    def digest(self, page: str, adj_id: str) -> str:
        match = re.search(rf'data-adj-id="{adj_id}" data-adj-digest="([^"]+)"', page)
        assert match, f"{adj_id} has no action button on the page"
        return match.group(1)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    nginx = find_nginx()
    if nginx is None:
        message = "nginx is not installed (apt-get install nginx; `make test` does)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: the deploy test must run in CI", pytrace=False)
        pytest.skip(message)
    tmp = tmp_path_factory.mktemp("deploy")
    books = tmp / "books"
    books.mkdir()
    ledger = books / "main.beancount"
    ledger.write_text(ledger_text(CONFIG), encoding="utf-8")
    prefix = tmp / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "temp" / sub).mkdir(parents=True)
    htpasswd = prefix / "htpasswd"
    htpasswd.write_text("".join(htpasswd_line(u, p) + "\n" for u, p in PASSWORDS.items()),
                        encoding="utf-8")
    fava_port, proxy_port = free_port(), free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(prefix, proxy_port, fava_port, htpasswd), encoding="utf-8")
    fava_bin = Path(sys.executable).parent / "fava"
    env = {**os.environ, "BEAN_ADJUST_PROXY_SECRET": SECRET, "PYTHONUNBUFFERED": "1"}
    fava = subprocess.Popen([str(fava_bin), "--host", "127.0.0.1", "--port", str(fava_port),
                             str(ledger)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    proxy: subprocess.Popen[bytes] | None = None
    try:
        wait_for(fava_port, fava, "fava")
        check = subprocess.run([nginx, "-t", "-p", str(prefix), "-c", str(conf),
                                "-e", str(prefix / "error.log")], capture_output=True, check=False,
                               text=True)
        assert check.returncode == 0, check.stderr
        proxy = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(conf),
                                  "-e", str(prefix / "error.log")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(proxy_port, proxy, "nginx")
        yield Deployment(proxy_port, fava_port, ledger, prefix)
    finally:
        for proc in (proxy, fava):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def test_the_login_is_required(deployed: Deployment) -> None:
    assert deployed.request("GET", BASE)[0] == 401
    assert deployed.request("GET", BASE, user="bob", password="wrong")[0] == 401
    status, page = deployed.request("GET", BASE, user="bob")
    assert status == 200
    assert 'data-user="bob"' in page
    assert 'id="adj-acting-user">bob<' in page


@pytest.mark.parametrize("spoof", [
    [("X-Remote-User", "erin")],
    [("X_Remote_User", "erin")],
    [("X-Remote-User", "erin"), ("X-Proxy-Secret", SECRET)],
    [("X_Remote_User", "erin"), ("X-Remote-User", "erin"), ("X-Proxy-Secret", "x")],
])
def test_spoofed_identity_headers_are_replaced_by_the_login(
        deployed: Deployment, spoof: list[tuple[str, str]]) -> None:
    status, page = deployed.request("GET", BASE, user="bob", headers=spoof)
    assert status == 200
    assert 'data-user="bob"' in page
    assert 'id="adj-acting-user">erin<' not in page
    assert "was ignored" not in page


def test_a_spoofed_decision_through_the_proxy_is_the_logged_in_users(
        deployed: Deployment) -> None:
    _, page = deployed.request("GET", BASE, user="bob")
    status, body = deployed.request(
        "POST", BASE + "decide", user="bob",
        headers=[("X-Remote-User", "erin"), ("X_Remote_User", "erin")],
        body={"decisions": [{"id": "ADJ-2", "action": "approve",
                             "digest": deployed.digest(page, "ADJ-2")}]})
    assert status == 200, body
    assert json.loads(body)["by"] == "bob"
    text = deployed.ledger.read_text(encoding="utf-8")
    assert '"ADJ-2" "approve"\n  by: "bob"' in text
    assert 'by: "erin"' not in text.split('"ADJ-2" "approve"', 1)[1]


def test_a_direct_request_to_fava_is_anonymous(deployed: Deployment) -> None:
    _, page = deployed.request("GET", BASE, user="erin")
    digest = deployed.digest(page, "ADJ-5")
    before = deployed.files()
    for headers in ([("X-Remote-User", "erin")],
                    [("X-Remote-User", "erin"), ("X-Proxy-Secret", "guess")]):
        status, page = deployed.request("GET", BASE, port=deployed.fava, headers=headers)
        assert status == 200
        assert 'data-user=""' in page
        assert "did not come through the trusted proxy" in page
        status, body = deployed.request(
            "POST", BASE + "decide", port=deployed.fava, headers=headers,
            body={"decisions": [{"id": "ADJ-5", "action": "approve", "digest": digest}]})
        assert status == 403, body
    assert deployed.files() == before


def test_favas_editor_api_is_refused(deployed: Deployment) -> None:
    query = f"/test-ledger/api/source?filename={deployed.ledger}"
    status, body = deployed.request("GET", query, user="bob")
    assert status == 200
    source = json.loads(body)["data"]
    forged = source["source"] + '\n2026-01-01 custom "adjustment" "ADJ-1" "approve"\n  by: "erin"\n'
    before = deployed.files()
    for port, user in ((None, "bob"), (None, "erin"), (deployed.fava, None)):
        status, body = deployed.request(
            "PUT", "/test-ledger/api/source", port=port, user=user,
            headers=[("X-Remote-User", "erin")],
            body={"file_path": str(deployed.ledger), "source": forged,
                  "sha256sum": source["sha256sum"]})
        assert status == 403, body
        assert "Fava editing is closed" in json.loads(body)["error"]
    assert deployed.files() == before
    _, page = deployed.request("GET", BASE, user="bob")
    assert "Fava editing is closed" in page


def test_fava_listens_on_loopback_only(deployed: Deployment) -> None:
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=False).stdout \
        if shutil.which("ss") else ""
    if not out:
        pytest.skip("ss is not available to list listening sockets")
    listening = [line.split()[3] for line in out.splitlines() if line.split()]
    mine = [addr for addr in listening if addr.endswith(f":{deployed.fava}")]
    assert mine == [f"127.0.0.1:{deployed.fava}"]
