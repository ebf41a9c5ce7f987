"""The shape of a consistency-check set (整合性確認, API.md §2), shared by both files.

Each file states its own columns (``honnin/consistency.py``, ``fuhyo/consistency.py``): the CSV
item name (the same as in an update notice's ``record``), the kind of value, whether the header
must hold it, and the column of the file it is compared with. This module turns one cell into
what the staging table's ``COPY`` takes (text format), fast enough for a million rows, or raises
:class:`BadCell` — which names the column and never the value.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from jukinet.codes import juminhyo_code_digit_ok, lg_code_check_digit, my_number_digit_ok

# Kinds of cell.
CODE = "code"  # 住民票コード: 11 ASCII digits with a correct check digit
CODE_OR_EMPTY = "code_or_empty"  # 旧住民票コード: empty, or as CODE
TEXT = "text"  # a name or an address: at most max_length characters
DATE = "date"  # YYYY-MM-DD, not in the future
SEX = "sex"  # "1" or "2"
COUNT = "count"  # 外字数・外字変更連番: digits (empty = 0)
LG_CODE = "lg_code"  # 全国地方公共団体コード: 6 digits with a correct check digit
SCOPE = "scope"  # LG_CODE that must be the sending CS's own municipality (else a refusal)
DIGITS = "digits"  # 大字・字コード: digits or empty
MY_NUMBER = "my_number"  # 個人番号: empty, or 12 digits with a check digit → its HMAC index

SQL_TYPES = {
    CODE: "text",
    CODE_OR_EMPTY: "text",
    TEXT: "text",
    DATE: "date",
    SEX: "text",
    COUNT: "bigint",
    LG_CODE: "text",
    SCOPE: "text",
    DIGITS: "text",
    MY_NUMBER: "bytea",
}

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COPY_NULL = "\\N"


@dataclass(frozen=True)
class Column:
    name: str  # the CSV header name (the notice's record item)
    label: str  # Japanese, for pages and messages
    kind: str
    required: bool = False  # the header must hold it
    max_length: int = 0  # TEXT / DIGITS
    allow_empty: bool = False  # TEXT
    here: str = ""  # the file's column compared with it ("" = the same name)
    compared: bool = True  # juminhyo_code is the key, not an item

    @property
    def stage(self) -> str:
        """The staging table's column (the 個人番号 is staged as its HMAC index only)."""
        return "my_number_index" if self.kind == MY_NUMBER else self.name

    @property
    def here_column(self) -> str:
        return self.here or self.stage

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]


@dataclass(frozen=True)
class FileSpec:
    file: str
    label: str
    columns: tuple[Column, ...]
    table: str  # the current rows of the file
    scope_column: str  # the municipality a row belongs to (the CS's own)
    current: str  # SQL condition on ``r``: a current (not 消除) row
    removed: str  # SQL condition on ``r``: a 消除 row

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def label_of(self, name: str) -> str:
        column = self.column(name)
        return column.label if column else name


class BadCell(Exception):
    """A cell that cannot be staged: the column and a Japanese reason, never the value."""

    def __init__(self, column: Column, reason: str, *, refusal: bool = False):
        super().__init__(column.name)
        self.column, self.reason, self.refusal = column, reason, refusal


def _digits(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isdigit()


def converter(column: Column, *, scope: frozenset[str], index: Callable[[str], bytes]) -> Callable[[str], str]:
    """A function: one CSV cell → its COPY text. ``index`` is the keyring's HMAC for a 個人番号."""
    kind, label = column.kind, column.label

    def bad(reason: str, **kw) -> BadCell:
        return BadCell(column, reason, **kw)

    if kind in (CODE, CODE_OR_EMPTY):
        optional = kind == CODE_OR_EMPTY

        def code(value: str) -> str:
            if optional and not value:
                return value
            if not _digits(value, 11) or not juminhyo_code_digit_ok(value):
                raise bad(f"{label}が正しくありません（11桁の半角数字、検査数字を含む）。")
            return value

        return code
    if kind == TEXT:
        limit, empty_ok = column.max_length, column.allow_empty

        def text(value: str) -> str:
            if len(value) > limit:
                raise bad(f"{label}が長すぎます（{limit}文字まで）。")
            if not value and not empty_ok:
                raise bad(f"{label}が空です。")
            # COPY's text format: backslash is its escape (tabs and newlines never get this far).
            return value.replace("\\", "\\\\") if "\\" in value else value

        return text
    if kind == DATE:
        today = timezone.localdate()
        valid: set[str] = set()  # at most one entry per day since 1850

        def date(value: str) -> str:
            if value in valid:
                return value
            if not _DATE.fullmatch(value):
                raise bad(f"{label}は YYYY-MM-DD の形式で指定してください。")
            try:
                parsed = dt.date.fromisoformat(value)
            except ValueError:
                raise bad(f"{label}が存在しない日付です。") from None
            if parsed > today or parsed.year < 1850:
                raise bad(f"{label}が範囲外です（未来の日付、1850年より前）。")
            valid.add(value)
            return value

        return date
    if kind == SEX:

        def sex(value: str) -> str:
            if value != "1" and value != "2":
                raise bad(f'{label}は "1"（男）または "2"（女）で指定してください。')
            return value

        return sex
    if kind == COUNT:

        def count(value: str) -> str:
            if value == "0":
                return value
            if not value:
                return "0"
            if len(value) > 9 or not value.isascii() or not value.isdigit():
                raise bad(f"{label}は0以上の整数で指定してください。")
            return value

        return count
    if kind in (LG_CODE, SCOPE):
        own = kind == SCOPE
        valid = set() if not own else set(scope)  # scope codes come from the municipality list

        def lg(value: str) -> str:
            if value in valid:
                return value
            if not _digits(value, 6) or lg_code_check_digit(value[:5]) != value[5]:
                raise bad(f"{label}が正しくありません（6桁の全国地方公共団体コード）。")
            if own:
                raise bad(f"{label}が送信元の市町村CSの市町村ではありません。", refusal=True)
            if len(valid) < 10_000:
                valid.add(value)
            return value

        return lg
    if kind == DIGITS:
        limit = column.max_length

        def digits(value: str) -> str:
            if value and (len(value) > limit or not value.isascii() or not value.isdigit()):
                raise bad(f"{label}は{limit}桁以内の半角数字で指定してください。")
            return value

        return digits
    if kind == MY_NUMBER:

        def my_number(value: str) -> str:
            if not value:
                return _COPY_NULL
            if not _digits(value, 12) or not my_number_digit_ok(value):
                raise bad(f"{label}が正しくありません（12桁の半角数字、検査用数字を含む）。")
            # Only the keyed hash is staged: the number itself is never written anywhere.
            return "\\\\x" + index(value).hex()

        return my_number
    raise ValueError(f"unknown column kind {kind!r}")
