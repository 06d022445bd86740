r"""Text from a run directory, made safe to print: one plain, printable line.

A run directory is untrusted (shared, downloaded, hand-edited), and its logs hold agents' words,
so whatever ``societas show`` and ``societas view`` print from it goes through `one_line`
first. It keeps every character a reader should see and shows the others as visible escapes:

* a line feed becomes ``⏎``, so a multi-line speech stays on its one line (a fake
  ``step 99 · exile`` heading cannot start a line of its own);
* TAB and CR become ``\t`` and ``\r``; every other control character (C0, DEL, C1,
  ESC included) becomes ``\xNN``, so no escape sequence (clear screen, cursor moves, OSC 8
  links, terminal queries) reaches the terminal;
* bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069, and the marks U+200E,
  U+200F, U+061C), line and paragraph separators and lone surrogates become ``\uNNNN``.

The result is plain text, not markup: print it as a `rich.text.Text` (or with
``markup=False``), never inside a markup string.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]")
_NAMED = {"\n": "⏎", "\t": "\\t", "\r": "\\r"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(value: object) -> str:
    """`value` (``str(value)`` when it is not a string) as one printable line of plain text."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_visible, text)
