"""Thirty-sixth round of attacks: intake, automation and history, as an insider who writes files.

alice, an accountant with commit rights but no approval power over big amounts,
wants money out or a decision rewritten, with `bean-check` and `bean-adjust
check --since BASE` both clean: through the CSV import, templates, schedules and
automation rules, through how the files of a ledger are laid out in git, and
through cancelling and reversing. A test whose docstring says "Hole:" failed on
the code it was written against (the fix is named in the commit that added it);
the others held and add coverage no earlier test had.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from repos import BOOK, REQUEST_2, Repo, check, findings

from ledgers import load

IDENTITY = BOOK.replace('"alice" "agent"\n', '"alice" "agent"\n  git: "alice@example.com"\n') + """
2026-01-01 custom "adjustment-policy" "credit:goodwill"
  git-identity: "required"
"""
"""The history tests' book, alice with her git e-mail, goodwill credits under
`git-identity`: each new decision on ADJ-2 must be committed by the user it names."""


def _approval(text: str, adj_id: str = "ADJ-2") -> str:
    """bob's approval of `adj_id` as a tool writes it: bound by its digest to `text`."""
    digest = load(text, base=False).book.adjustments[adj_id].digest
    return (f'\n2026-03-06 custom "adjustment" "{adj_id}" "approve"\n  by: "bob"\n'
            f'  at: "2026-03-06T10:00:00+00:00"\n  digest: "{digest}"\n')


# -- history: git-identity reads the lines git blames ---------------------------------------


@pytest.mark.parametrize("mark", ["\x0c", "\u2028", "\r", "\x85"])
def test_a_line_break_python_sees_in_a_comment_does_not_hide_an_edited_digest(
        tmp_path: Path, mark: str) -> None:
    """Hole: alice filed a 40 USD goodwill credit and bob approved it (his commit, his
    digest). She then raised it to 900 USD and wrote the new digest into bob's
    approval; git blames that line on her, so `git-identity` must refuse it. With a
    form feed (or U+2028, a lone CR, NEL) in a comment above, the decision's lines
    were counted with `str.splitlines`, which breaks there too while Beancount and
    git do not: the line read as the approval's second was another, the entry ended
    at its first line, and only bob's header line was blamed. The past was
    "intact" and 900 USD booked on a 40 USD approval."""
    repo = Repo(tmp_path / "repo")
    repo.commit(IDENTITY + REQUEST_2)
    repo.commit(IDENTITY + REQUEST_2 + _approval(IDENTITY + REQUEST_2), email="bob@example.com")
    raised = REQUEST_2.replace("40.00", "900.00")
    repo.commit(IDENTITY + raised.replace("\n2026-03-05", f"\n; filed{mark}again\n2026-03-05")
                + _approval(IDENTITY + raised))
    loaded = load(repo.ledger.read_text(), base=False)
    assert loaded.balance("Assets:Receivable:Customers") == -950   # the plugin books it
    result = check(repo, "HEAD~2")
    [line] = findings(result, "git-identity")
    assert repo.at('"ADJ-2" "approve"') in line, result.output
    assert "alice@example.com" in line
    assert result.exit_code == 1
