"""The deployment's destination allow-list (`[destinations]` in the notify config):
a ledger line must not choose where notices (customer ids, amounts, reasons,
approvers) are sent. Each trick a ledger's editor might try on the allow-list is
a case below, judged by apprise's own parsing of what it will connect to."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from beancount_adjustments import notify
from beancount_adjustments.cli import main
from beancount_adjustments.core.notice_lines import Channel
from beancount_adjustments.notify import destinations as nd
from ledgers import ledger, load, request

CONFIG = """\
[destinations]
allow = ["json://hooks.example.com", "jsons://secure.example.com",
         "mailtos://smtp.example.com", "slack"]
mail-to = ["example.com"]
"""

GINA = """\
2026-01-01 custom "adjustment-user" "gina" "manager"
  email: "gina@example.com"
"""


def allowed() -> nd.Destinations:
    import tomllib

    return nd.parse_destinations(tomllib.loads(CONFIG)["destinations"], Path("notify.toml"))


class Sent:
    """A fake sender: what apprise would have been handed."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str, title: str, body: str) -> None:
        self.urls.append(url)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    fake = Sent()
    monkeypatch.setattr(notify, "apprise_send", fake)
    return fake


def run(path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, ["notify", "-f", str(path), "--today", "2026-03-03",
                                     *args], env=env or {})


def write(tmp_path: Path, channels: str, config: str = CONFIG) -> tuple[Path, Path]:
    path = tmp_path / "main.beancount"
    path.write_text(ledger(channels + request("A-1", "2026-03-02", "-50.00")))
    toml = tmp_path / "notify.toml"
    toml.write_text(config)
    return path, toml


def line_of(path: Path, marker: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if marker in line)


# -- the attack, end to end ----------------------------------------------------------------


def test_a_ledger_channel_outside_the_allow_list_is_refused_and_sent_nothing(tmp_path, sent):
    path, toml = write(tmp_path, """
2026-01-01 custom "adjustment-channel" "bob" "json://hooks.example.com/bob"
2026-01-01 custom "adjustment-channel" "erin" "json://collector.evil.example/x"
""")
    result = run(path, "--config", str(toml))
    assert result.exit_code == 1, result.output
    lineno = line_of(path, "collector.evil.example")
    refusal = [line for line in result.output.splitlines() if "collector.evil.example" in line]
    assert len(refusal) == 1, result.output
    assert refusal[0].startswith(f"bean-adjust: error: {path}:{lineno}: channel for erin "
                                 "refused: ")
    assert "[destinations]" in refusal[0]
    assert str(toml) in refusal[0]
    assert sent.urls
    assert all("evil" not in url for url in sent.urls)
    assert any(url.startswith("json://hooks.example.com/bob") for url in sent.urls)


def test_the_wildcard_and_a_roles_channel_are_refused_too(tmp_path, sent):
    path, toml = write(tmp_path, GINA + """
2026-01-01 custom "adjustment-channel" "*" "json://collector.evil.example/all"
2026-01-01 custom "adjustment-channel" "role:manager" "json://collector.evil.example/role"
2026-01-01 custom "adjustment-channel" "bob" "json://hooks.example.com/bob"
""")
    result = run(path, "--config", str(toml))
    assert result.exit_code == 1, result.output
    assert f"{path}:{line_of(path, '/all')}: channel for * refused" in result.output
    assert f"{path}:{line_of(path, '/role')}: channel for role:manager refused" \
        in result.output
    assert [u for u in sent.urls if "evil" in u] == []
    assert any("hooks.example.com/bob" in u for u in sent.urls)


def test_dry_run_and_json_list_the_refusal_and_plan_nothing_through_it(tmp_path, sent):
    path, toml = write(tmp_path, """
2026-01-01 custom "adjustment-channel" "bob" "json://hooks.example.com/bob"
2026-01-01 custom "adjustment-channel" "erin" "json://collector.evil.example/x"
""")
    dry = run(path, "--config", str(toml), "--dry-run")
    assert dry.exit_code == 1, dry.output
    assert "would send A-1:approval-needed-1:bob" in dry.output
    assert "would send A-1:approval-needed-1:erin" not in dry.output
    assert "collector.evil.example" in dry.output
    as_json = run(path, "--config", str(toml), "--dry-run", "--json")
    assert as_json.exit_code == 1
    body = json.loads(as_json.stdout)
    assert [d["recipient"] for d in body["planned"]] == ["bob"]
    (refused,) = [r for r in body["refused"] if "collector.evil.example" in r]
    assert "channel for erin refused" in refused
    assert sent.urls == []


def test_without_an_allow_list_todays_behaviour_stays_unless_required(tmp_path, sent):
    path, toml = write(tmp_path, """
2026-01-01 custom "adjustment-channel" "erin" "json://collector.evil.example/x"
""", config='[channels]\nbob = "json://hooks.example.com/bob"\n')
    dry = run(path, "--config", str(toml), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would send A-1:approval-needed-1:erin" in dry.output
    for args in (["--config", str(toml)], []):
        strict = run(path, *args, "--require-destinations")
        assert strict.exit_code == 1
        assert len(strict.output.strip().splitlines()) == 1, strict.output
        assert "[destinations]" in strict.output
        assert "Traceback" not in strict.output
    assert sent.urls == []


def test_the_deployments_own_channels_are_not_checked(tmp_path, sent):
    # [channels] in the config is the deployment's word: not held to the allow-list.
    path, toml = write(tmp_path, "", config=CONFIG + '\n[channels]\nbob = '
                       '"json://partner.example.net/bob"\n')
    result = run(path, "--config", str(toml))
    assert result.exit_code == 0, result.output
    assert any(u.startswith("json://partner.example.net/bob") for u in sent.urls)


def test_a_config_channels_email_filled_from_the_ledger_cannot_move_its_host(tmp_path, sent):
    # {email} comes from the ledger (a user's email:): once filled in, the URL is
    # checked, so an address cannot become the server.
    path, toml = write(tmp_path, """
2026-01-01 custom "adjustment-user" "gina" "manager"
  email: "hooks.example.com@collector.evil.example"
""", config=CONFIG + '\n[channels]\n"*" = "json://{email}/x"\n')
    result = run(path, "--config", str(toml))
    assert result.exit_code == 1, result.output
    assert "collector.evil.example" in result.output
    assert [u for u in sent.urls if "evil" in u] == []


def test_a_whole_url_from_the_environment_named_by_a_ledger_line_is_checked(tmp_path, sent):
    # The value is the deployment's, but the ledger picks which variable: CI jobs
    # hold many URLs. Checked once filled in.
    path, toml = write(tmp_path, """
2026-01-01 custom "adjustment-channel" "bob" "{env:BOB_HOOK}"
2026-01-01 custom "adjustment-channel" "erin" "{env:CI_OTHER_URL}"
""")
    result = run(path, "--config", str(toml),
                 env={"BOB_HOOK": "json://hooks.example.com/bob",
                      "CI_OTHER_URL": "json://collector.evil.example/x"})
    assert result.exit_code == 1, result.output
    assert f"{path}:{line_of(path, 'CI_OTHER_URL')}: channel for erin refused" in result.output
    assert "collector.evil.example" in result.output
    assert [u for u in sent.urls if "evil" in u] == []
    assert any("hooks.example.com/bob" in u for u in sent.urls)


# -- the config: a typo must never allow everything ----------------------------------------


@pytest.mark.parametrize(("config", "names"), [
    ('[destination]\nallow = ["json://hooks.example.com"]\n', "destination"),
    ('[destinations]\nalow = ["json://hooks.example.com"]\n', "alow"),
    ('[destinations]\nallow = "json://hooks.example.com"\n', "allow"),
    ('destinations = ["json://hooks.example.com"]\n', "destinations"),
    ('[destinations]\nallow = ["json"]\n', "json"),  # any host: name it
    ('[destinations]\nallow = ["slack://hooks.slack.com"]\n', "slack"),  # a token field
    ('[destinations]\nallow = ["json://hooks.example.com/path"]\n', "path"),
    ('[destinations]\nallow = ["json://user@hooks.example.com"]\n', "user@"),
    ('[destinations]\nallow = ["nosuch://hooks.example.com"]\n', "nosuch"),
    ('[destinations]\nallow = ["json://hооks.example.com"]\n', "xn--"),  # Cyrillic o
    ('[destinations]\nallow = ["zulip"]\n', "zulip"),
    ('[destinations]\nmail-to = ["@example.com"]\nallow = []\n', "mail-to"),
])
def test_a_bad_config_is_one_line_naming_file_and_key(tmp_path, sent, config, names):
    path, toml = write(tmp_path, """
2026-01-01 custom "adjustment-channel" "erin" "json://collector.evil.example/x"
""", config=config)
    result = run(path, "--config", str(toml))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert str(toml) in result.output
    assert names in result.output
    assert sent.urls == []


# -- each trick, judged by apprise's parsing -----------------------------------------------


HELD = [
    # (url, why it must pass): the same destination written another way
    "json://HOOKS.EXAMPLE.COM/x",
    "json://hooks.example.com./x",
    "json://user@hooks.example.com/x",
    "jsons://hooks.example.com/x",  # TLS to an allowed plain-HTTP host: no weaker
    "slack://TokenA/TokenB/TokenC",  # apprise posts to hooks.slack.com
    "mailtos://adjust@smtp.example.com?from=adjust@example.com&to=bob@example.com",
    "mailtos://smtp.example.com?from=adjust@example.com&to=bob@example.com",
]

REFUSED = [
    "json://collector.evil.example/x",
    "json://hooks.example.com@evil.example/",  # userinfo: the host is evil.example
    "json://hooks.example.com\\@evil.example/",  # a backslash is no separator to apprise
    "json://hooks.example.com.evil.example/",
    "json://hooks.example.com:8080/x",  # another service on the host
    "json://hooks.example.com/x?port=8080",  # apprise's ?port= override
    "json://%68ooks.example.com/",  # apprise cannot parse it: cannot be told
    "json://[::1]/x",
    "json://127.0.0.1/x",
    "json://secure.example.com/x",  # only jsons:// is allowed there: no plain HTTP
    "xml://hooks.example.com/x",  # another scheme to the host
    "json://evil.example\t/x",
    "json:// evil.example/x",
    " json://evil.example/x ",
    "json://hooks.example.com/x json://evil.example/y",  # apprise adds both
    "json://hooks.example.com/x,json://evil.example/y",
    "json://hooks.example.com/x\njson://evil.example/y",
    "json://xn--hoks-example-xyz.com/",
    "json://hооks.example.com/",  # Cyrillic o: apprise refuses it
    "mailto://user@gmail.com",  # apprise infers smtp.gmail.com
    "mailtos://smtp.example.com?from=adjust@example.com&smtp=evil.example",
    "mailtos://smtp.example.com?from=adjust@example.com&to=x@evil.example",
    "mailtos://smtp.example.com?from=adjust@example.com&to=bob@example.com&cc=x@evil.example",
    "mailtos://smtp.example.com?from=adjust@example.com&to=bob@example.com"
    "&bcc=x@evil.example",
    "mailtos://smtp.example.com/x@evil.example?from=adjust@example.com",
    # apprise splits at the first @ (urllib at the last): it connects to example.com
    "mailtos://adjust@example.com@smtp.example.com?to=bob@example.com",
    "mailtos://adjust@evil.example@smtp.example.com",
    "mailtos://smtp.example.com?from=adjust@example.com&to=bob@example.com.evil.example",
    "mailto://smtp.example.com?from=adjust@example.com&to=bob@example.com&mode=insecure",
    "ntfy://evil.example/topic",
    "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV",  # a scheme not allowed
]


@pytest.mark.parametrize("url", HELD)
def test_the_same_destination_written_another_way_passes(url):
    assert nd.url_problem(url, allowed()) is None


@pytest.mark.parametrize("url", REFUSED)
def test_a_trick_is_refused(url):
    assert nd.url_problem(url, allowed()) is not None


@pytest.mark.parametrize(("template", "email", "ok"), [
    # a customer's contact: the ledger's declared address, whatever its domain
    ("mailtos://smtp.example.com?from=adjust@example.com&to={email}", "billing@cust.example",
     True),
    ("json://{email}/x", "hooks.example.com@collector.evil.example", False),
    ("json://{email}/x", "x@hooks.example.com", True),
    ("mailto://{email}", "someone@gmail.com", False),
])
def test_email_fills_a_recipient_never_the_server(template, email, ok):
    url = template.replace("{email}", email)
    assert (nd.url_problem(url, allowed(), email=email) is None) is ok


def test_an_empty_allow_list_refuses_every_ledger_channel():
    empty = nd.parse_destinations({"allow": []}, Path("notify.toml"))
    assert nd.url_problem("json://hooks.example.com/x", empty) is not None


def test_a_port_listed_is_that_port_only():
    ported = nd.parse_destinations({"allow": ["json://hooks.example.com:8080"]},
                                   Path("notify.toml"))
    assert nd.url_problem("json://hooks.example.com:8080/x", ported) is None
    assert nd.url_problem("json://hooks.example.com/x", ported) is not None
    assert nd.url_problem("json://hooks.example.com:8081/x", ported) is not None


def test_a_refusal_never_prints_a_token_field():
    # A whole URL from the environment may be a Slack or Discord webhook: its first
    # field is a token, so the refusal names the scheme only.
    only_json = nd.parse_destinations({"allow": ["json://hooks.example.com"]},
                                      Path("notify.toml"))
    why = nd.url_problem("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV", only_json)
    assert why is not None
    assert "discord://" in why
    assert "4174216298" not in why
    assert "JHMHI8qBe7" not in why


def test_run_judges_the_very_url_it_sends_again(tmp_path):
    # plan judged the variable's value then; run judges what it hands apprise now.
    loaded = load(request("A-1", "2026-03-02", "-50.00"))
    assert loaded.book is not None
    day = datetime.date(2026, 3, 3)
    found = [n for n in notify.notices(loaded.book, day) if n.recipient == "bob"]
    bob = Channel(target="bob", url="{env:BOB_HOOK}")
    state = notify.SentState.read(tmp_path / "state.json")
    outcome = notify.plan(found, [bob], loaded.book, today=day, state=state,
                          destinations=allowed(),
                          environ={"BOB_HOOK": "json://hooks.example.com/bob"})
    assert [d.notice.recipient for d in outcome.planned] == ["bob"]
    fake = Sent()
    notify.run(outcome, state, fake, {"BOB_HOOK": "json://collector.evil.example/x"},
               lambda: "2026-03-03T00:00:00+00:00")
    assert fake.urls == []
    assert outcome.sent == []
    assert any("collector.evil.example" in r for r in outcome.refused)
    assert not state.reached(found[0].key)


def test_a_ledger_channel_of_one_user_holding_email_is_refused_in_the_dry_run_too(
        tmp_path, sent):
    """A user's own channel never has `{email}` filled in (only a wildcard's is), so
    the placeholder stays in the URL: `plan` judged it neither once per channel nor
    per recipient, and the dry run promised a send the real run refuses."""
    path, toml = write(tmp_path, """
2026-01-01 custom "adjustment-channel" "erin" "json://collector.evil.example/{email}"
""")
    dry = run(path, "--config", str(toml), "--dry-run")
    assert "would send A-1:approval-needed-1:erin" not in dry.output
    assert f"{path}:{line_of(path, 'collector.evil')}: channel for erin refused" in dry.output
    assert dry.exit_code == 1, dry.output
    assert sent.urls == []
