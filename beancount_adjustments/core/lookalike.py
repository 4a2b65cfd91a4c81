"""User names that read as another: invisible characters and look-alike letters.

A decision names its user by `by:`; a second user line "b\\u043eb" (Cyrillic o)
would read as bob on every page. The reader refuses names holding format
characters (Unicode category Cf: zero-width spaces and joiners, the byte
order mark, the soft hyphen, bidirectional marks), and the replay warns at
a user line whose `skeleton` equals another user's. The skeleton is NFKC,
casefold, then a small map of Cyrillic and Greek letters drawn like Latin
ones (a subset of Unicode's confusables, enough for names typed on the
keyboards that mix them; no dependency).
"""

from __future__ import annotations

import unicodedata

_LOOKALIKES = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "г": "r", "һ": "h", "і": "i", "ї": "i",
    "ј": "j", "к": "k", "м": "m", "н": "h", "о": "o", "п": "n", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l",
    "ь": "b",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ϲ": "c", "ω": "w", "μ": "u",
    # Latin look-alikes of Latin letters and digits
    "ı": "i", "ȷ": "j", "ɡ": "g", "0": "o", "1": "l",
})


def invisible(text: str) -> str | None:
    """The first format (Cf) character in `text`, as `U+200B ZERO WIDTH SPACE`, or None."""
    for char in text:
        if unicodedata.category(char) == "Cf":
            return f"U+{ord(char):04X} {unicodedata.name(char, 'format character')}"
    return None


def skeleton(name: str) -> str:
    """What `name` looks like: equal skeletons read as the same name."""
    return unicodedata.normalize("NFKC", name).casefold().translate(_LOOKALIKES)
