"""The lines of one entry as Beancount and git blame count them, for `git-identity`:
every line a decision spans is the decision's, whoever wrote it.
"""

from __future__ import annotations

from pathlib import Path


def entry_lines(path: Path, lineno: int) -> list[int]:
    """The line numbers of the directive starting at `lineno`: it and every indented line
    after it, comments included (metadata may follow an indented comment, and on a
    custom entry a key written again there silently replaces the first one)."""
    try:
        # Lines as Beancount and git blame count them, at "\n" only: `splitlines` also
        # breaks at a form feed, U+2028 or a lone "\r" (in a comment above), and then
        # read another line as the entry's next one, leaving its later lines unjudged.
        text = path.read_bytes().decode("utf-8", errors="replace").split("\n")
    except OSError:
        return [lineno]
    return entry_span(text, lineno)


def entry_span(text: list[str], lineno: int) -> list[int]:
    """`entry_lines` of a text already split at "\\n" (a file as REV held it)."""
    lines = [lineno]
    # A string may hold a line break (the writer writes a comment's as it is): the
    # lines it spans are the entry's whatever they start with, and so are the
    # indented lines after it (a `digest:` written there replaces the first one).
    inside = lineno <= len(text) and string_open(text[lineno - 1], inside=False)
    for number in range(lineno + 1, len(text) + 1):
        line = text[number - 1]
        if not inside and (not line.strip() or not line[:1].isspace()):
            break
        lines.append(number)
        inside = string_open(line, inside=inside)
    return lines


def string_open(line: str, *, inside: bool) -> bool:
    """Whether a Beancount string is still open at the end of `line` (`inside`: one
    was open at its start): `"` opens and closes one, `\\` escapes the next
    character in it, and `;` outside one starts a comment."""
    escaped = False
    for char in line:
        if inside:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                inside = False
        elif char == '"':
            inside = True
        elif char == ";":
            break
    return inside
