"""The one rule for text entering the engine from a model (or any backend).

Model output is untrusted: it may hold lone UTF-16 surrogates (which no UTF-8 writer accepts),
terminal escape sequences, or line separators that a prompt template would not expect. Every
reply is cleaned once, where it enters the engine, by `clean_model_text`:

* a lone surrogate (U+D800–U+DFFF) becomes U+FFFD, the replacement character;
* every line break (CR LF, CR, VT, FF, NEL U+0085, U+2028, U+2029) becomes LF;
* every other control character (C0 but TAB and LF, DEL, C1) is removed, so an escape
  sequence loses its ESC and is left as plain text.

Text that needs none of this (almost all of it) is returned as is, after one regex search.
"""

from __future__ import annotations

import re

_SUSPECT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_LINE_BREAK = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_clean(text: str) -> bool:
    """Whether `clean_model_text` would leave `text` as it is."""
    return _SUSPECT.search(text) is None


def clean_model_text(text: str) -> str:
    """`text` with lone surrogates replaced, line breaks made LF and other controls removed."""
    if _SUSPECT.search(text) is None:
        return text
    text = _SURROGATE.sub("\ufffd", text)
    text = _LINE_BREAK.sub("\n", text)
    return _CONTROL.sub("", text)
