"""Birth-date input for searches: 和暦 (「昭和60年3月」「S60.3.1」「平成元年」) or 西暦
(「1985-03-01」「1985/3」「19850301」「1985」), as an exact day, a month or a year.

The result is a closed date range, so a search can ask ``birth_date BETWEEN start AND end``
on the (birth_date, sex) and (name_seion, birth_date) indexes.
"""

import calendar
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

# Era, first day; an era's year 1 starts on its first day (元年), the previous era ends the day before.
ERAS = {
    "明治": ("M", dt.date(1868, 1, 25)),
    "大正": ("T", dt.date(1912, 7, 30)),
    "昭和": ("S", dt.date(1926, 12, 25)),
    "平成": ("H", dt.date(1989, 1, 8)),
    "令和": ("R", dt.date(2019, 5, 1)),
}
_BY_LETTER = {letter: (name, start) for name, (letter, start) in ERAS.items()}
_ORDER = list(ERAS)

_WAREKI = re.compile(
    r"^(?P<era>明治|大正|昭和|平成|令和|[MTSHR])\s*(?P<year>元|\d{1,2})(?:年|[./-])?"
    r"(?:\s*(?P<month>\d{1,2})(?:月|[./-])?(?:\s*(?P<day>\d{1,2})日?)?)?$",
    re.IGNORECASE,
)
_SEIREKI = re.compile(r"^(?P<year>\d{4})(?:年|[./-])?(?:(?P<month>\d{1,2})(?:月|[./-])?(?:(?P<day>\d{1,2})日?)?)?$")
_COMPACT = re.compile(r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})$")


class BirthDateError(ValueError):
    code = "E_BIRTH_DATE"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DateRange:
    start: dt.date
    end: dt.date
    precision: str  # "day", "month" or "year"


def _range(year: int, month: int | None, day: int | None) -> DateRange:
    try:
        if month is None:
            return DateRange(dt.date(year, 1, 1), dt.date(year, 12, 31), "year")
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return DateRange(dt.date(year, month, 1), dt.date(year, month, last), "month")
        day_ = dt.date(year, month, day)
        return DateRange(day_, day_, "day")
    except (ValueError, calendar.IllegalMonthError):
        raise BirthDateError("存在しない日付です。月日を確認してください。") from None


def _era_end(name: str) -> dt.date | None:
    index = _ORDER.index(name)
    if index + 1 == len(_ORDER):
        return None
    return ERAS[_ORDER[index + 1]][1] - dt.timedelta(days=1)


def parse_birth_date(text: str, *, today: dt.date | None = None) -> DateRange:
    """Parse what an operator typed; raise BirthDateError with a Japanese message."""
    if not isinstance(text, str):
        raise BirthDateError("生年月日を文字で入力してください。")
    value = unicodedata.normalize("NFKC", text).strip().replace(" ", "")
    if not value or len(value) > 20:
        raise BirthDateError("生年月日は「昭和60年3月1日」「S60.3.1」「1985-03-01」のように入力してください。")
    today = today or dt.date.today()
    match = _WAREKI.match(value)
    if match:
        era = match["era"]
        name, era_start = _BY_LETTER[era.upper()] if len(era) == 1 else (era, ERAS[era][1])
        era_year = 1 if match["year"] == "元" else int(match["year"])
        if era_year < 1:
            raise BirthDateError("和暦の年は1（元年）以上です。")
        month = int(match["month"]) if match["month"] else None
        day = int(match["day"]) if match["day"] else None
        result = _range(era_start.year + era_year - 1, month, day)
        era_end = _era_end(name)
        # Clip to the era: 昭和64年 is 1989-01-01..07, 平成31年4月 ends on the 30th …
        start = max(result.start, era_start)
        end = min(result.end, era_end) if era_end else result.end
        if start > end:
            raise BirthDateError(f"{name}{match['year']}年{month or ''}{'月' if month else ''}は存在しません。")
        result = DateRange(start, end, result.precision)
    else:
        match = _SEIREKI.match(value) or _COMPACT.match(value)
        if not match:
            raise BirthDateError("生年月日は「昭和60年3月1日」「S60.3.1」「1985-03-01」のように入力してください。")
        month = int(match["month"]) if match["month"] else None
        day = int(match["day"]) if match["day"] else None
        result = _range(int(match["year"]), month, day)
    if result.start > today:
        raise BirthDateError("未来の生年月日は指定できません。")
    if result.end < dt.date(1868, 1, 1):
        raise BirthDateError("明治より前の生年月日は指定できません。")
    return result


def to_wareki(day: dt.date) -> str:
    """A date as printed on forms: 「昭和60年3月1日」 (元年 for the first year)."""
    for name in reversed(_ORDER):
        start = ERAS[name][1]
        if day >= start:
            year = day.year - start.year + 1
            return f"{name}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    return f"{day.year}年{day.month}月{day.day}日"
