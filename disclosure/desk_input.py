"""Checks shared by the desk's correction and inquiry services: free text, the requester, numbers.

Every check raises ``InvalidInput`` with a Japanese message and the name of the form field it
concerns, so the pages show it next to that field. Free text may hold names and addresses (it
is what the resident said), but never a 個人番号: the desk works without it (docs/operators.md),
and a 12-digit run in a note is refused rather than stored.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from django.db import connection
from django.utils import timezone

from audit import access_log
from audit.permissions import ensure_permitted
from disclosure.models import FILES, Channel, IdDocument, Relation
from jukinet.codes import CodeError, validate_juminhyo_code
from jukinet.errors import InvalidInput, PermissionRefused

FILE_KEYS = tuple(key for key, _ in FILES)
FILE_LABELS = dict(FILES)
EARLIEST_DATE = dt.date(2000, 1, 1)

# A 個人番号 written as 12 digits (half or full width), or in groups of four.
_MY_NUMBER_SHAPE = re.compile(
    r"(?<![0-9０-９])(?:[0-9０-９]{12}|[0-9０-９]{4}[ 　-][0-9０-９]{4}[ 　-][0-9０-９]{4})(?![0-9０-９])"
)


def text(value: object, *, field: str, label: str, max_length: int, required: bool, multiline: bool = False) -> str:
    """One item of free text: stripped, within its length, visible characters only.

    ``multiline`` keeps line breaks (CR LF becomes LF) and turns tabs into spaces; otherwise a
    line break is refused like any other control character. Invisible format characters (bidi
    overrides, zero-width spaces) are refused: what is printed and shown must read as stored.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{label}を文字で入力してください。", code="E_TEXT", field=field)
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if multiline:
        value = value.replace("\t", " ")
    if not value:
        if required:
            raise InvalidInput(f"{label}を入力してください。", code="E_REQUIRED", field=field)
        return ""
    if len(value) > max_length:
        raise InvalidInput(f"{label}は{max_length}文字以内で入力してください。", code="E_TOO_LONG", field=field)
    allowed = "\n" if multiline else ""
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") and ch not in allowed for ch in value):
        message = (
            "制御文字・見えない文字は使えません。" if multiline else "改行・タブ・制御文字・見えない文字は使えません。"
        )
        raise InvalidInput(f"{label}に{message}", code="E_CONTROL_CHARACTERS", field=field)
    if _MY_NUMBER_SHAPE.search(value):
        raise InvalidInput(
            f"{label}に個人番号（12桁の数字）は記入しないでください。", code="E_MY_NUMBER_IN_TEXT", field=field
        )
    return value


def choice(value: object, *, field: str, label: str, choices: dict[str, str] | list[str] | tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidInput(f"{label}を選んでください。", code="E_CHOICE", field=field)
    return value


def file_key(value: object, *, field: str = "file") -> str:
    return choice(value, field=field, label="ファイル", choices=FILE_KEYS)


def juminhyo_code(value: object, *, field: str = "juminhyo_code", required: bool = True) -> str:
    if not required and (value is None or (isinstance(value, str) and not value.strip())):
        return ""
    try:
        return validate_juminhyo_code(value)
    except CodeError as exc:
        raise InvalidInput(exc.message, code=exc.code, field=field) from None


def past_date(value: object, *, field: str, label: str, not_before: dt.date | None = None) -> dt.date:
    """A date on or before today (Japan time) and not before ``not_before`` (or 2000-01-01)."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidInput(f"{label}を入力してください。", code="E_DATE", field=field)
    if value > timezone.localdate():
        raise InvalidInput(f"{label}に未来の日付は指定できません。", code="E_DATE_FUTURE", field=field)
    earliest = not_before or EARLIEST_DATE
    if value < earliest:
        raise InvalidInput(
            f"{label}は{earliest.year}年{earliest.month}月{earliest.day}日以降の日付にしてください。",
            code="E_DATE_TOO_EARLY",
            field=field,
        )
    return value


def requester(
    *,
    channel: object,
    received_on: object,
    requester_name: object,
    relation: object,
    agent_basis: object,
    id_document: object,
    id_document_note: object,
) -> dict:
    """The fields of ``DeskRequest`` (who asked, how, how their identity was checked), checked."""
    data = {
        "channel": choice(channel, field="channel", label="受付方法", choices=Channel.values),
        "received_on": past_date(received_on, field="received_on", label="受付日"),
        "requester_name": text(
            requester_name, field="requester_name", label="申出者氏名", max_length=120, required=True
        ),
        "relation": choice(relation, field="relation", label="申出者と本人の関係", choices=Relation.values),
        "id_document": choice(id_document, field="id_document", label="本人確認の方法", choices=IdDocument.values),
        "id_document_note": text(
            id_document_note, field="id_document_note", label="本人確認の記録", max_length=200, required=False
        ),
    }
    basis = text(agent_basis, field="agent_basis", label="法定代理人の資格", max_length=100, required=False)
    if data["relation"] == Relation.LEGAL_AGENT and not basis:
        raise InvalidInput(
            "法定代理人の資格（親権者・成年後見人など）を入力してください。", code="E_AGENT_BASIS", field="agent_basis"
        )
    if data["relation"] == Relation.SELF and basis:
        raise InvalidInput(
            "本人からの申出では法定代理人の資格は入力しません。", code="E_AGENT_BASIS", field="agent_basis"
        )
    data["agent_basis"] = basis
    # Copies sent by post and an electronic signature are how identity is checked at a distance;
    # across the counter the document itself is shown.
    if (data["id_document"] == IdDocument.COPY_BY_POST) != (data["channel"] == Channel.POST):
        raise InvalidInput(
            "郵送の申出は「本人確認書類の写し（郵送）と住民票の写し」で確認します（郵送以外では選べません）。",
            code="E_ID_DOCUMENT",
            field="id_document",
        )
    if (data["id_document"] == IdDocument.ELECTRONIC_SIGNATURE) != (data["channel"] == Channel.ONLINE):
        raise InvalidInput(
            "電子申請は「電子署名（公的個人認証）」で確認します（電子申請以外では選べません）。",
            code="E_ID_DOCUMENT",
            field="id_document",
        )
    return data


def next_number(*, table: str, column: str, prefix: str) -> str:
    """The next number of the year: ``{prefix}{year}-{n:06d}``, e.g. 「問2026-000001」.

    Numbers count from 1 each year (Japan time) without gaps. Two clerks registering at the same
    moment would read the same maximum; a transaction-scoped advisory lock per table makes the
    second wait until the first has committed (call this inside the transaction that inserts).
    """
    year = timezone.localdate().year
    head = f"{prefix}{year}-"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"jukinet.number.{table}"])
        # Table and column are this module's callers' constants, never user input.
        cursor.execute(
            f"SELECT max({column}) FROM {table} WHERE {column} LIKE %s",  # noqa: S608
            [head.replace("%", r"\%").replace("_", r"\_") + "%"],
        )
        last = cursor.fetchone()[0]
    n = int(last[len(head) :]) + 1 if last else 1
    return f"{head}{n:06d}"


DESK_ACTION = "disclosure.desk"


def ensure_desk(operator, *, purpose: str, log_action: str, file: str = "", target_code: str = "") -> None:
    """Role and file duty of every desk step (requests, matches, prints, corrections); a refusal
    is logged here, with the step's purpose, outside any transaction of the caller's."""
    try:
        ensure_permitted(operator, DESK_ACTION)
        if file and file not in (operator.duties or []):
            raise PermissionRefused(f"{FILE_LABELS[file]}ファイルの担当ではありません。", code="E_FILE_DUTY")
    except PermissionRefused as exc:
        access_log.log_refusal(
            action=log_action, target_file=file, target_code=target_code, duty=purpose, detail=exc.code
        )
        raise
