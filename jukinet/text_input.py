"""One rule for the short texts operators type beside an action: a reason, a note, a witness.

They go into ledgers and the access log and are read back by auditors, so they must read the
same on the screen as in the record: one line of visible text, trimmed, within a length.
Control characters (a line break, NUL) and invisible format characters (bidi overrides,
zero-width spaces) are refused rather than silently dropped.
"""

import unicodedata

from jukinet.errors import InvalidInput

_INVISIBLE = ("Cc", "Cf", "Cs")
# A reason given for an action (a print, a copy): long enough for "who, where to, why".
REASON_MAX = 200


def clean_line(value: object, *, label: str, field: str, limit: int, code: str, required: bool = True) -> str:
    """The trimmed text, or InvalidInput naming ``label`` (a Japanese noun) with ``code``."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        if required:
            raise InvalidInput(f"{label}を入力してください。", code=code, field=field)
        return ""
    if len(text) > limit:
        raise InvalidInput(f"{label}は{limit}文字以内で入力してください。", code=code, field=field)
    if any(unicodedata.category(ch) in _INVISIBLE for ch in text):
        raise InvalidInput(f"{label}に改行・制御文字は使えません。", code=code, field=field)
    return text
