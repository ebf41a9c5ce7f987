"""外字: characters outside JIS X 0208, counted for the 外字数 items of both files.

DESIGN.md §3: text is stored as Unicode, a 外字 as its Unicode code point where one exists
(髙 U+9AD9, 﨑 U+FA11, 𠮷 U+20BB7 …) and otherwise as a Private Use Area code point. The 外字数
columns, the 外字フラグ and the fuhyo 外字パターン must agree with the text; every writer
(the bulk loader, the update-notice handler, tests) counts with :func:`count_gaiji`.

What counts as 外字 here:

* a character that cannot be encoded in ISO-2022-JP, i.e. outside ASCII/JIS X 0201 Roman
  and JIS X 0208 — the IBM/NEC extensions of cp932 (① ㈱ Ⅰ 髙 﨑) are 外字, and so are
  half-width katakana (JIS X 0201 kana, not JIS X 0208) and a variation selector
  (葛 + U+E0100 counts one 外字, for the selector);
* any Private Use Area character (BMP U+E000–U+F8FF, planes 15 and 16), which the test
  above already catches, listed explicitly so the rule does not hang on a codec detail;
* except the handful of JIS X 0208 characters that Microsoft's mapping sends to other
  code points than the JIS one Python's codec uses (～ for 〜, － for −, ∥ for ‖, ￠ ￡ ￢,
  — for ―): they are the same JIS X 0208 cells, so text typed on Windows must not gain
  外字 it does not have.
"""

from __future__ import annotations

__all__ = ["count_gaiji", "gaiji_chars", "is_gaiji", "is_private_use"]

# JIS X 0208 cells whose Microsoft (cp932) code point differs from the JIS mapping.
_JIS_X_0208_ALTERNATES = frozenset("\uff5e\u2225\uff0d\uffe0\uffe1\uffe2\u2014")

_cache: dict[str, bool] = {}


def is_private_use(ch: str) -> bool:
    code = ord(ch)
    return 0xE000 <= code <= 0xF8FF or 0xF0000 <= code <= 0x10FFFD


def _classify(ch: str) -> bool:
    if is_private_use(ch):
        return True
    if ch in _JIS_X_0208_ALTERNATES:
        return False
    try:
        ch.encode("iso2022_jp")
    except UnicodeEncodeError:
        return True
    return False


def is_gaiji(ch: str) -> bool:
    """True when ``ch`` (one character) is outside JIS X 0208 (see the module docstring)."""
    try:
        return _cache[ch]
    except KeyError:
        if len(ch) != 1:
            raise ValueError("is_gaiji takes exactly one character") from None
        result = _cache[ch] = _classify(ch)
        return result


def count_gaiji(text: str) -> int:
    """Number of 外字 characters in ``text`` (each occurrence counts)."""
    if text.isascii():
        return 0
    try:
        # The common case, no 外字 at all, in one C call. No PUA character survives this encode.
        text.encode("iso2022_jp")
    except UnicodeEncodeError:
        return sum(1 for ch in text if is_gaiji(ch))
    return 0


def gaiji_chars(text: str) -> list[str]:
    """The 外字 characters of ``text`` in order, for messages and reports."""
    return [ch for ch in text if is_gaiji(ch)]
