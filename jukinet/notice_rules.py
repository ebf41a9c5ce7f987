"""Shared shape of the update-notice rules: every check has a stable code and a Japanese
message, and raises ``NoticeRejected``; each file's ``rules.py`` lists its own table.

Two stages: *format* checks run when a notice arrives (the CS gets the answer in its 202);
*logic* checks run when the worker applies the notice against the current row.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from jukinet.codes import CodeError, validate_juminhyo_code, validate_lg_code, validate_my_number


class NoticeRejected(Exception):
    def __init__(self, code: str, message: str, field: str = ""):
        super().__init__(code)
        self.code, self.message, self.field = code, message, field

    def as_error(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return error


@dataclass(frozen=True)
class Rule:
    code: str
    message: str
    stage: str  # "format" or "logic"

    def reject(self, field: str = "", message: str | None = None) -> NoticeRejected:
        return NoticeRejected(self.code, message or self.message, field)


NOTICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Rules both files share.
E_NOTICE_SHAPE = Rule("E_NOTICE_SHAPE", "通知の形式が正しくありません。", "format")
E_NOTICE_ID = Rule("E_NOTICE_ID", "通知IDは半角英数字と - _ . : で64文字以内にしてください。", "format")
E_JUMINHYO_CODE = Rule("E_JUMINHYO_CODE", "住民票コードが正しくありません。", "format")
E_UPDATE_SEQ = Rule("E_UPDATE_SEQ", "更新順番号は1以上の整数で指定してください。", "format")
E_UNKNOWN_REASON = Rule("E_UNKNOWN_REASON", "異動事由が定義されていません。", "format")
E_DATE = Rule("E_DATE", "日付は「YYYY-MM-DD」の形式で、未来でない日付にしてください。", "format")
E_ITEM_NOT_ALLOWED = Rule("E_ITEM_NOT_ALLOWED", "このファイルに通知できない項目が含まれています。", "format")
E_ITEM_MISSING = Rule("E_ITEM_MISSING", "この異動事由に必要な項目がありません。", "format")
E_ITEM_VALUE = Rule("E_ITEM_VALUE", "項目の値が正しくありません。", "format")
E_GAIJI_COUNT = Rule("E_GAIJI_COUNT", "外字数が文字列の内容と一致しません。", "format")
E_WRONG_MUNICIPALITY = Rule("E_WRONG_MUNICIPALITY", "他の市町村の住民についての通知は送信できません。", "format")
E_SEQ_BACKWARDS = Rule("E_SEQ_BACKWARDS", "更新順番号が既に反映された番号以下です（重複または逆行）。", "logic")


def text_item(record: dict, name: str, max_length: int, *, required: bool = False, allow_empty: bool = False) -> str:
    value = record.get(name)
    if value is None:
        if required:
            raise E_ITEM_MISSING.reject(name)
        return ""
    if not isinstance(value, str) or len(value) > max_length or _CONTROL.search(value) or not _utf8(value):
        raise E_ITEM_VALUE.reject(name, f"「{name}」は{max_length}文字以内の文字列で指定してください。")
    if not value.strip() and not allow_empty:
        raise E_ITEM_VALUE.reject(name, f"「{name}」が空です。")
    return value


def _utf8(value: str) -> bool:
    """Lone surrogates (e.g. from a mis-decoded byte) cannot be stored as UTF-8 JSON."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_PLAIN_FIELD = re.compile(r"^[a-z0-9_]{1,30}$")


def field_name(name: object) -> str:
    """A field name safe to echo in an error (never a hostile key sent back or stored)."""
    return f"record.{name}" if isinstance(name, str) and _PLAIN_FIELD.fullmatch(name) else "record"


def int_item(record: dict, name: str, *, default: int = 0, maximum: int = 99_999) -> int:
    value = record.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise E_ITEM_VALUE.reject(name, f"「{name}」は0以上の整数で指定してください。")
    return value


def date_value(value: Any, field: str) -> dt.date:
    if not isinstance(value, str):
        raise E_DATE.reject(field)
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise E_DATE.reject(field) from None
    if len(value) != 10 or parsed > timezone.localdate() or parsed.year < 1850:
        raise E_DATE.reject(field)
    return parsed


def code_value(validator, value: Any, field: str, rule: Rule) -> str:
    try:
        return validator(value)
    except CodeError as exc:
        raise rule.reject(field, exc.message) from None


def juminhyo_code(value: Any, field: str = "juminhyo_code") -> str:
    return code_value(validate_juminhyo_code, value, field, E_JUMINHYO_CODE)


def lg_code(value: Any, field: str) -> str:
    return code_value(validate_lg_code, value, field, E_ITEM_VALUE)


def my_number(value: Any, field: str = "my_number") -> str:
    return code_value(validate_my_number, value, field, E_ITEM_VALUE)


@dataclass
class CleanNotice:
    """A notice that passed its file's format checks, ready for the inbox."""

    notice_id: str
    juminhyo_code: str
    update_seq: int
    change_reason: str
    changed_on: dt.date
    record: dict
    my_number: str | None = None
    operator_id: str = ""
    terminal_id: str = ""
    items_sent: frozenset = field(default_factory=frozenset)


def notice_id_of(raw) -> str:
    """The first checks of every notice: an object with a well-formed ``notice_id``."""
    if not isinstance(raw, dict):
        raise E_NOTICE_SHAPE.reject()
    notice_id = raw.get("notice_id")
    if not isinstance(notice_id, str) or not NOTICE_ID.fullmatch(notice_id):
        raise E_NOTICE_ID.reject("notice_id")
    return notice_id


def envelope(raw: dict) -> tuple:
    """The items every notice carries beside its record: (code, seq, reason, changed_on, record)."""
    code = juminhyo_code(raw.get("juminhyo_code"))
    seq = raw.get("update_seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= 2_000_000_000:
        raise E_UPDATE_SEQ.reject("update_seq")
    reason = raw.get("change_reason")
    if not isinstance(reason, str):
        raise E_UNKNOWN_REASON.reject("change_reason")
    changed_on = date_value(raw.get("changed_on"), "changed_on")
    record = raw.get("record", {})
    if not isinstance(record, dict):
        raise E_NOTICE_SHAPE.reject("record", "record はオブジェクトで指定してください。")
    return code, seq, reason, changed_on, record


def short_text(value, field_name: str) -> str:
    """operator_id / terminal_id: optional, at most 32 printable characters."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 32 or not value.isprintable():
        raise E_ITEM_VALUE.reject(field_name, f"「{field_name}」は32文字以内の文字列で指定してください。")
    return value
