"""The one kana normalisation: 清音化かな氏名 (``name_seion``) and every name query.

Stored keys and query keys must come from the same function, or a search silently misses;
so the bulk loader, the update-notice handler and the search form all call :func:`seion_key`.
The rules follow 住民記録システム標準仕様書 §2.1.2 (検索文字入力: カナ氏名の曖昧検索) as the
project reads it; where that text leaves a choice open, the choice is stated here.

Rules, in the order they are applied (the order is what makes the key idempotent,
``seion_key(seion_key(x)) == seion_key(x)`` for every string — a property test holds it):

1. Width and script, one ``str.translate``:
   hiragana → katakana (jaconv's table: ぁ-ゖ, ゔ, ゝゞ); half-width katakana → full-width
   (jaconv's table); ASCII letters, digits and symbols → full-width, letters upper-cased
   (ａ and a both → Ａ). Spaces of every width, tabs, line breaks and zero-width spaces
   are removed, and so are the middle dots ・ ･ (foreign names are written both with and
   without them). Long-vowel marks and the whole dash family (ー ｰ ― － ‐ ‑ - ‒ – — ─ −
   ﹣ ⁃) are removed, as the standard says to ignore them; a dash typed for ー must not make
   a difference either. Note that this makes 「サトー」 → サト, not サトオ. Voiced marks in every form (ﾞ ゛ U+3099,
   ﾟ ゜ U+309A) are unified to the combining ones so that step 2 sees one spelling.
2. Voiced marks: the letters whose voiced form does not de-voice back to themselves compose
   first — ウ/チ/ツ/ワ/ヰ/ヱ/ヲ + ゛ → ヴ/ヂ/ヅ/ヷ/ヸ/ヹ/ヺ (so ｳﾞ, う゛ and ヴ agree, and ﾂﾞ
   ends as ス like ヅ); every other mark is dropped — the base letter is already the 清音 the
   key wants (ｶﾞ → カ).
3. ヴ + small vowel: ヴァ ヴィ ヴェ ヴォ → バ ビ ベ ボ, and 清音化 makes them ハ ヒ ヘ ホ.
   This runs before small kana are enlarged, or ヴァ would become フア.
4. 清音化 and letter merging, one ``str.translate``:
   voiced and semi-voiced → plain (ガ→カ, パ→ハ …); ヂ → シ and ヅ → ス (the standard reads
   them as ジ and ズ, then de-voices); ヴ → フ (ブ de-voiced); ヷ ヸ ヹ ヺ → ハ ヒ ヘ ホ;
   small → large (ァィゥェォ → アイウエオ, ッ → ツ, ャュョ → ヤユヨ, ヮ → ワ, ヵヶ → カケ,
   and the Ainu small kana ㇰ-ㇿ); ヲ → オ, ヰ → イ, ヱ → エ; ワ and ハ alike, canonical
   **ハ** (ワ → ハ, because は is read わ in older spellings such as イハ/イワ); ヾ → ヽ.
5. Kana iteration marks: ヽ after a katakana repeats it (みすゞ → ミスス); a mark with
   nothing to repeat stays.
6. オ段 + ウ: a ウ right after an オ段 kana (オ コ ソ ト ノ ホ モ ヨ ロ, after steps 1-4) is
   read as オ, and so is a run of them (コウウ → コオオ). A ウ can only follow something from
   the second character on, so a leading ウ stays (ウメ). 「サトウ」「サトオ」 both give
   サトオ; 「キョウコ」 gives キヨオコ.

Everything that is not kana is kept as it is (kanji, Latin letters beyond ASCII, emoji…),
apart from the ASCII/full-width alignment of step 1, so the function never raises on a str.

Spaces are removed before rule 6, so it also applies across the boundary between surname
and given name (「サトオ ウメ」 → サトオオメ). A key of a part of a name is therefore not
always a substring of the key of the whole name: store and query whole names, or key each
part separately on both sides.

Speed matters: the bulk load keys 7.3 M names. The two translations do the per-character
work in C; the regular expressions run only when their trigger characters are present.
"""

from __future__ import annotations

import re

from jaconv import conv_table

__all__ = ["normalize_width", "seion_key"]

_COMBINING_VOICED = "\u3099"
_COMBINING_SEMI_VOICED = "\u309a"

_SPACES = (
    " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_MIDDLE_DOTS = "・･·"
# ASCII '-' is handled with the dashes rather than as a symbol to widen.
_LONG_VOWELS_AND_DASHES = "ーｰ―－‐‑-‒–—─−﹣⁃"


def _width_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    table.update(conv_table.H2K_TABLE)  # hiragana → katakana
    table.update(conv_table.H2Z_ALL)  # half-width ASCII, digits, katakana → full-width
    for code in range(ord("ａ"), ord("ｚ") + 1):  # full-width lower case → upper case
        table[code] = chr(code - 0x20)
    for code in range(ord("a"), ord("z") + 1):
        table[code] = chr(code - 0x20 + 0xFEE0)
    for mark in "ﾞ゛" + _COMBINING_VOICED:
        table[ord(mark)] = _COMBINING_VOICED
    for mark in "ﾟ゜" + _COMBINING_SEMI_VOICED:
        table[ord(mark)] = _COMBINING_SEMI_VOICED
    for char in _SPACES + _MIDDLE_DOTS + _LONG_VOWELS_AND_DASHES:
        table[ord(char)] = None
    return table


_SEION_PAIRS = {
    # 濁音・半濁音 → 清音
    "ガ": "カ", "ギ": "キ", "グ": "ク", "ゲ": "ケ", "ゴ": "コ",
    "ザ": "サ", "ジ": "シ", "ズ": "ス", "ゼ": "セ", "ゾ": "ソ",
    "ダ": "タ", "ヂ": "シ", "ヅ": "ス", "デ": "テ", "ド": "ト",
    "バ": "ハ", "ビ": "ヒ", "ブ": "フ", "ベ": "ヘ", "ボ": "ホ",
    "パ": "ハ", "ピ": "ヒ", "プ": "フ", "ペ": "ヘ", "ポ": "ホ",
    "ヴ": "フ", "ヷ": "ハ", "ヸ": "ヒ", "ヹ": "ヘ", "ヺ": "ホ",
    # 小書き → 大書き
    "ァ": "ア", "ィ": "イ", "ゥ": "ウ", "ェ": "エ", "ォ": "オ",
    "ッ": "ツ", "ャ": "ヤ", "ュ": "ユ", "ョ": "ヨ", "ヮ": "ハ", "ヵ": "カ", "ヶ": "ケ",
    "ㇰ": "ク", "ㇱ": "シ", "ㇲ": "ス", "ㇳ": "ト", "ㇴ": "ヌ", "ㇵ": "ハ", "ㇶ": "ヒ", "ㇷ": "フ",
    "ㇸ": "ヘ", "ㇹ": "ホ", "ㇺ": "ム", "ㇻ": "ラ", "ㇼ": "リ", "ㇽ": "ル", "ㇾ": "レ", "ㇿ": "ロ",
    # 同音の統合
    "ヲ": "オ", "ヰ": "イ", "ヱ": "エ", "ワ": "ハ",
    "ヾ": "ヽ",
}  # fmt: skip

_WIDTH = str.maketrans(_width_table())
_SEION = str.maketrans(_SEION_PAIRS)

_MARK_RE = re.compile(f"([ウチツワヰヱヲ]){_COMBINING_VOICED}|[{_COMBINING_VOICED}{_COMBINING_SEMI_VOICED}]")
_VOICED_BY_BASE = {"ウ": "ヴ", "チ": "ヂ", "ツ": "ヅ", "ワ": "ヷ", "ヰ": "ヸ", "ヱ": "ヹ", "ヲ": "ヺ"}
_V_DIGRAPH_RE = re.compile("ヴ([ァィェォ])")
_V_DIGRAPH = {"ァ": "ハ", "ィ": "ヒ", "ェ": "ヘ", "ォ": "ホ"}
_ITERATION_RE = re.compile("([ァ-ヺ])(ヽ+)")
_O_ROW_U_RE = re.compile("([オコソトノホモヨロ])(ウ+)")


def _compose_mark(match: re.Match[str]) -> str:
    base = match.group(1)
    return _VOICED_BY_BASE[base] if base else ""


def _repeat(match: re.Match[str]) -> str:
    return match.group(1) * (len(match.group(2)) + 1)


def _u_as_o(match: re.Match[str]) -> str:
    return match.group(1) + "オ" * len(match.group(2))


def normalize_width(text: str) -> str:
    """Rule 1 alone: full-width katakana, upper-case full-width ASCII, no spaces, dashes or ー.

    Voiced marks stay (as combining marks), so this is not a search key; it is exposed for
    callers that want the width/script alignment without 清音化.
    """
    return text.translate(_WIDTH)


def seion_key(text: str) -> str:
    """The 清音化 search key of a name (see the module docstring for the rules and their order)."""
    key = text.translate(_WIDTH)
    if _COMBINING_VOICED in key or _COMBINING_SEMI_VOICED in key:
        key = _MARK_RE.sub(_compose_mark, key)
    if "ヴ" in key:
        key = _V_DIGRAPH_RE.sub(lambda m: _V_DIGRAPH[m.group(1)], key)
    key = key.translate(_SEION)
    if "ヽ" in key:
        key = _ITERATION_RE.sub(_repeat, key)
    if "ウ" in key:
        key = _O_ROW_U_RE.sub(_u_as_o, key)
    return key
