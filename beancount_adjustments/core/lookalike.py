"""Names that read as another: invisible characters and look-alike letters.

A decision names its user by `by:`; a second user line "b\\u043eb" (Cyrillic o)
would read as bob on every page, and a credit to customer "\\u0441ust_123"
(Cyrillic c) as one to cust_123. The reader refuses user names holding format
characters (Unicode category Cf: zero-width spaces and joiners, the byte
order mark, the soft hyphen, bidirectional marks), and the replay warns at
a user or customer line whose name shares a `skeletons` key with another's.
Characters that draw nothing but are not Cf (a combining grapheme joiner, a
variation selector, the Hangul filler) are refused alike.
A skeleton is NFKC without those invisible characters, blanks around the name
(and runs of them inside it, one), trailing full stops and underscores,
casefold, then a small map of Cyrillic and Greek letters drawn like Latin ones
(a subset of Unicode's confusables, enough for names typed on the keyboards that
mix them; no dependency).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

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


_BLANK_RANGES = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
    (0x2800, 0x2800), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0),
    (0xE0000, 0xE0FFF),
)
"""Characters that draw nothing but are not format (Cf) ones: the combining grapheme
joiner, the Hangul and Mongolian fillers and selectors, the Khmer inherent vowels,
the variation selectors, the braille blank and the tag plane (Unicode's
Default_Ignorable_Code_Point outside Cf, and U+2800)."""


def _hidden(char: str) -> bool:
    """Whether `char` draws nothing in a name (a format character or a blank one)."""
    if unicodedata.category(char) == "Cf":
        return True
    point = ord(char)
    return any(low <= point <= high for low, high in _BLANK_RANGES)


def invisible(text: str) -> str | None:
    """The first character in `text` that draws nothing (format or blank, see
    `_BLANK_RANGES`), as `U+200B ZERO WIDTH SPACE`, or None."""
    if text.isascii():  # no ASCII character is a format one; every request asks
        return None
    for char in text:
        if _hidden(char):
            return f"U+{ord(char):04X} {unicodedata.name(char, 'invisible character')}"
    return None


@functools.lru_cache(maxsize=4096)  # the replay asks about the same few user names
def skeletons(name: str) -> frozenset[str]:
    """What `name` looks like: two names sharing a skeleton read as the same name.

    A capital I is drawn as a small l in most fonts, and reads as i once case is
    set aside: a name holding one has both skeletons ("cust_I23" reads as
    "cust_l23" and as "cust_i23")."""
    # NFKC leaves ASCII as it is, and no ASCII character is an invisible one.
    plain = name if name.isascii() else "".join(
        char for char in unicodedata.normalize("NFKC", name) if not _hidden(char))
    # A trailing "_" vanishes into a link's underline, a trailing "." reads as the
    # sentence's full stop: "ADJ-1_" and "ADJ-1." read as ADJ-1. A page draws no
    # blank around a name and one between its words: "bob " and " bob" read as bob,
    # "bob  smith" as "bob smith" (NFKC has made no-break and ideographic spaces
    # plain ones).
    plain = " ".join(plain.split()).rstrip("._ ") or plain
    found = {plain.casefold().translate(_LOOKALIKES)}
    if "I" in plain:
        found.add(plain.replace("I", "l").casefold().translate(_LOOKALIKES))
    return frozenset(found)


def reads_as(name: str, other: str) -> bool:
    """Whether `name` reads as `other`, a different name."""
    return name != other and not skeletons(name).isdisjoint(skeletons(other))


def spelled(name: str) -> str:
    """" (written '\\u0441ust_123')" for a name holding other than ASCII, else "": how
    a message shows the letters a look-alike hides."""
    return "" if name.isascii() else f" (written {name!a})"


def lookalikes(items: Iterable[T], name: Callable[[T], str]) -> Iterator[tuple[T, T]]:
    """(item, the first earlier item whose name reads as its own, different, name),
    for each item of `items` (in their order) that has one."""
    first: dict[str, T] = {}
    for item in items:
        own = name(item)
        found = skeletons(own)
        keys = sorted(found) if len(found) > 1 else found
        earlier = next((first[key] for key in keys
                        if key in first and name(first[key]) != own), None)
        if earlier is not None:
            yield item, earlier
        for key in keys:
            first.setdefault(key, item)
