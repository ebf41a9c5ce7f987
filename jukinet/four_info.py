"""4情報 search conditions for both files: what an operator typed → one checked set of conditions.

The search pages of ``honnin`` and ``fuhyo`` and the result-list print read the same
conditions, so the normalisation and the narrowness rule live here once (docs/search.md):

* かな氏名 — any mix of hiragana, katakana, half-width and spaces; keyed with
  :func:`jukinet.kana.seion_key` (the key the files store) and matched as a **prefix** of the
  stored key, so a surname alone finds every given name and a full name narrows further.
  With ``include_former`` the key also matches 旧氏 + given name (honnin only).
* 漢字氏名 — exact, or prefix on request. The file stores 「鈴木　和子」 with a full-width
  space; input with a space of any width is aligned to it, and input without one is tried at
  every split point (``鈴木和子`` → 「鈴　木和子」「鈴木　和子」「鈴木和　子」 and 「鈴木和子」), so the
  search stays on the plain index on ``name``.
* 生年月日 — 和暦 or 西暦, a day, a month or a year (:mod:`jukinet.wareki`).
* 性別, and 住所 as a prefix (digits and letters aligned to the full width the file stores;
  for ``honnin`` the prefecture name is added when the operator leaves it out).

Narrowness (a fishing search is refused): a name (かな 2 文字以上, 漢字 1 文字以上 exact or
2 文字以上 prefix) plus at least one of 生年月日・性別・住所; or, without a name, a whole
birth date (年月日) plus 性別 or 住所. An address only narrows from 3 characters past the
prefecture name. Beyond :data:`MAX_HITS` matches the list is not shown at all.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import jaconv
from django.db.models import Q

from jukinet.errors import InvalidInput
from jukinet.kana import seion_key
from jukinet.wareki import BirthDateError, DateRange, parse_birth_date

MAX_HITS = 1000
NAME_MAX_LENGTH = 60
ADDRESS_MAX_LENGTH = 120
MIN_KANA_KEY = 2
MIN_ADDRESS_CHARS = 3

TOO_BROAD_MESSAGE = (
    "検索条件が広すぎます。氏名（かな2文字以上または漢字）に加えて生年月日・性別・住所のいずれかを、"
    "または生年月日（年月日）に加えて性別か住所を指定してください。"
)

# Characters no name or address holds; they are refused rather than silently dropped.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"[\s\u3000]+")


class SearchTooBroad(InvalidInput):
    code = "E_SEARCH_TOO_BROAD"
    message = TOO_BROAD_MESSAGE


@dataclass(frozen=True)
class Conditions:
    kana_key: str = ""
    include_former: bool = False
    kanji_names: tuple[str, ...] = ()
    kanji_prefix: bool = False
    birth: DateRange | None = None
    sex: str = ""
    address: str = ""
    include_removed: bool = False

    def describe(self) -> str:
        """Which kinds of condition were used, for the access log (never the values)."""
        parts = []
        if self.kana_key:
            parts.append("かな氏名" + ("（旧氏含む）" if self.include_former else ""))
        if self.kanji_names:
            parts.append("漢字氏名" + ("（前方一致）" if self.kanji_prefix else ""))
        if self.birth:
            parts.append({"day": "生年月日", "month": "生年月", "year": "生年"}[self.birth.precision])
        if self.sex:
            parts.append("性別")
        if self.address:
            parts.append("住所")
        if self.include_removed:
            parts.append("消除者含む")
        return "・".join(parts)


def _clean_text(value: str, *, field: str, label: str, max_length: int) -> str:
    value = (value or "").strip()
    if len(value) > max_length:
        raise InvalidInput(f"{label}は{max_length}文字以内で入力してください。", code="E_TOO_LONG", field=field)
    if _CONTROL.search(value):
        raise InvalidInput(f"{label}に使えない制御文字が含まれています。", code="E_CONTROL_CHAR", field=field)
    return value


def kanji_name_variants(text: str) -> tuple[str, ...]:
    """The spellings of a typed kanji name as the file stores it (surname, U+3000, given name)."""
    parts = [p for p in _SPACES.split(text.strip()) if p]
    if not parts:
        return ()
    if len(parts) > 1:
        return ("\u3000".join(parts),)
    word = parts[0]
    return (word, *(f"{word[:i]}\u3000{word[i:]}" for i in range(1, len(word))))


def address_prefix(text: str, *, prefecture: str = "") -> str:
    """Align an address prefix to the stored form: full-width digits and letters, no spaces."""
    value = _SPACES.sub("", unicodedata.normalize("NFKC", text))
    value = jaconv.h2z(value, kana=True, ascii=True, digit=True)
    if prefecture and value and not value.startswith(prefecture):
        value = prefecture + value
    return value


def build_conditions(
    *,
    name_kana: str = "",
    name: str = "",
    kanji_prefix: bool = False,
    include_former: bool = False,
    birth_date: str = "",
    sex: str = "",
    address: str = "",
    include_removed: bool = False,
    prefecture: str = "",
) -> Conditions:
    """Check and normalise typed conditions; raise InvalidInput (with the field) or SearchTooBroad."""
    name_kana = _clean_text(name_kana, field="name_kana", label="かな氏名", max_length=NAME_MAX_LENGTH)
    name = _clean_text(name, field="name", label="漢字氏名", max_length=NAME_MAX_LENGTH)
    birth_text = _clean_text(birth_date, field="birth_date", label="生年月日", max_length=20)
    address = _clean_text(address, field="address", label="住所", max_length=ADDRESS_MAX_LENGTH)

    kana_key = seion_key(name_kana) if name_kana else ""
    if name_kana and not re.fullmatch(r"[ァ-ヶヽ]+", kana_key):
        raise InvalidInput("かな氏名はひらがな・カタカナで入力してください。", code="E_KANA", field="name_kana")
    birth = None
    if birth_text:
        try:
            birth = parse_birth_date(birth_text)
        except BirthDateError as exc:
            raise InvalidInput(exc.message, code=exc.code, field="birth_date") from None
    if sex not in ("", "1", "2"):
        raise InvalidInput("性別は男・女・指定なしから選んでください。", code="E_SEX", field="sex")
    address_key = address_prefix(address, prefecture=prefecture) if address else ""

    conditions = Conditions(
        kana_key=kana_key,
        include_former=include_former and bool(kana_key),
        kanji_names=kanji_name_variants(name),
        kanji_prefix=kanji_prefix and bool(name),
        birth=birth,
        sex=sex,
        address=address_key,
        include_removed=include_removed,
    )
    check_narrow(conditions, prefecture=prefecture)
    return conditions


def check_narrow(conditions: Conditions, *, prefecture: str = "") -> None:
    named = len(conditions.kana_key) >= MIN_KANA_KEY or (
        conditions.kanji_names
        and (not conditions.kanji_prefix or len(conditions.kanji_names[0].replace("\u3000", "")) >= 2)
    )
    address_narrows = len(conditions.address) - (len(prefecture) if prefecture else 0) >= MIN_ADDRESS_CHARS
    others = bool(conditions.birth) + bool(conditions.sex) + address_narrows
    if named and others:
        return
    if conditions.birth and conditions.birth.precision == "day" and (conditions.sex or address_narrows):
        return
    raise SearchTooBroad()


def conditions_q(conditions: Conditions, *, former_field: str | None = None) -> Q:
    """The WHERE clause shared by both files (each file adds its own 消除 filter).

    Every shape stays on an index of docs/search.md: name_seion / former_name_seion prefix
    (varchar_pattern_ops), name (exact or pattern_ops prefix), (birth_date, sex), address prefix.
    """
    q = Q()
    if conditions.kana_key:
        kana = Q(name_seion__startswith=conditions.kana_key)
        if conditions.include_former and former_field:
            # The 旧氏 index is partial (WHERE former_name_seion <> ''); the planner cannot
            # infer that from LIKE, so the arm states it, or the OR falls back to a Seq Scan.
            kana |= Q(**{f"{former_field}__startswith": conditions.kana_key}) & ~Q(**{former_field: ""})
        q &= kana
    if conditions.kanji_names:
        if conditions.kanji_prefix:
            names = Q()
            for variant in conditions.kanji_names:
                names |= Q(name__startswith=variant)  # Django escapes % and _
            q &= names
        else:
            q &= Q(name__in=conditions.kanji_names)
    if conditions.birth:
        if conditions.birth.start == conditions.birth.end:
            q &= Q(birth_date=conditions.birth.start)
        else:
            q &= Q(birth_date__range=(conditions.birth.start, conditions.birth.end))
    if conditions.sex:
        q &= Q(sex=conditions.sex)
    if conditions.address:
        q &= Q(address__startswith=conditions.address)
    return q
