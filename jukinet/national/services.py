"""Writes of the national mock: recording forwarded notices, setting the injected fault.

Input checking lives here too (the views only parse JSON and map errors to responses), so
that the same rules hold whichever way a notice arrives.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from fuhyo.models import FuhyoChangeReason
from honnin.models import ChangeReason
from jukinet.codes import CodeError, validate_juminhyo_code, validate_my_number
from jukinet.crypto import get_keyring
from jukinet.errors import DomainError, InvalidInput
from jukinet.national.models import FaultMode, FaultSetting, NationalFile

MAX_NOTICES = 1000  # per request (API.md §1 and §4)
MAX_DELAY_MS = 120_000
MAX_FAULT_SECONDS = 24 * 60 * 60
NOTICE_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
CHANGE_REASONS = {
    NationalFile.HONNIN: frozenset(ChangeReason.values),
    NationalFile.FUHYO: frozenset(FuhyoChangeReason.values),
}


class UnknownFile(DomainError):
    code = "E_UNKNOWN_FILE"
    status = 404
    message = "ファイルの指定が正しくありません（honnin または fuhyo）。"


class TooManyNotices(DomainError):
    code = "E_TOO_MANY_NOTICES"
    status = 413
    message = "1回に送信できる通知は1,000件までです。"


class MyNumberNotAllowed(DomainError):
    code = "E_MY_NUMBER_NOT_ALLOWED"
    status = 400
    message = "附票本人確認情報では個人番号を扱えません。"


def parse_date(value: Any) -> dt.date | None:
    """A ``YYYY-MM-DD`` date, or None (Python 3.11's fromisoformat alone also takes ``20261120``)."""
    if not isinstance(value, str) or not DATE_RE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def check_file(file: str) -> str:
    if file not in NationalFile.values:
        raise UnknownFile()
    return file


# --- Notices ----------------------------------------------------------------------------


@dataclass
class _Row:
    notice_id: str
    juminhyo_code: str
    update_seq: int
    change_reason: str
    changed_on: dt.date
    payload: str  # JSON text, without the 個人番号
    my_number_index: bytes | None
    count: int = 1


@dataclass
class NoticeResult:
    acked: list[str] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"acked": self.acked, "rejected": self.rejected}


def _reject(notice_id: str, code: str, message: str, field_name: str) -> dict:
    return {"notice_id": notice_id, "error": {"code": code, "message": message, "field": field_name}}


def _parse_notice(file: str, notice: dict, notice_id: str) -> _Row | dict:
    """A checked row, or a ``rejected`` entry (a bad item refuses its notice, not the batch)."""
    try:
        code = validate_juminhyo_code(notice.get("juminhyo_code"))
    except CodeError as exc:
        return _reject(notice_id, exc.code, exc.message, "juminhyo_code")
    seq = notice.get("update_seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= 2**31 - 1:
        return _reject(notice_id, "E_UPDATE_SEQ", "更新順番号は1以上の整数で指定してください。", "update_seq")
    reason = notice.get("change_reason")
    if not isinstance(reason, str) or reason not in CHANGE_REASONS[file]:
        return _reject(notice_id, "E_CHANGE_REASON", "異動事由が正しくありません。", "change_reason")
    changed_on = parse_date(notice.get("changed_on"))
    if changed_on is None:
        return _reject(notice_id, "E_CHANGED_ON", "異動年月日はYYYY-MM-DD形式で指定してください。", "changed_on")
    record = notice.get("record", {})
    if record is None:
        record = {}
    if not isinstance(record, dict):
        return _reject(notice_id, "E_RECORD", "記録項目（record）はオブジェクトで指定してください。", "record")

    # The 個人番号 may travel at the top level or inside the record; either way it is kept
    # only as its HMAC index, never in clear.
    numbers = [n for n in (notice.get("my_number"), record.get("my_number")) if n not in (None, "")]
    index = None
    if numbers:
        if file == NationalFile.FUHYO:
            return _reject(notice_id, MyNumberNotAllowed.code, MyNumberNotAllowed.message, "my_number")
        try:
            checked = {validate_my_number(n) for n in numbers}
        except CodeError as exc:
            return _reject(notice_id, exc.code, exc.message, "my_number")
        if len(checked) != 1:
            return _reject(notice_id, "E_MY_NUMBER_MISMATCH", "個人番号が2か所で異なっています。", "my_number")
        index = get_keyring().index(checked.pop())
    stored = {k: v for k, v in notice.items() if k != "my_number"}
    stored["record"] = {k: v for k, v in record.items() if k != "my_number"}
    stored["has_my_number"] = index is not None
    payload = json.dumps(stored, ensure_ascii=False, sort_keys=True)
    if "\\u0000" in payload:  # PostgreSQL text and jsonb cannot hold U+0000
        return _reject(notice_id, "E_RECORD", "記録項目に使用できない文字（NUL）が含まれています。", "record")
    return _Row(
        notice_id=notice_id,
        juminhyo_code=code,
        update_seq=seq,
        change_reason=reason,
        changed_on=changed_on,
        payload=payload,
        my_number_index=index,
    )


def parse_notices(file: str, body: Any) -> tuple[list[_Row], list[dict]]:
    """Structural errors refuse the whole request (400/413); content errors refuse one notice."""
    if not isinstance(body, dict) or not isinstance(body.get("notices"), list):
        raise InvalidInput("notices（通知の配列）を指定してください。", code="E_NOTICES_REQUIRED", field="notices")
    notices = body["notices"]
    if len(notices) > MAX_NOTICES:
        raise TooManyNotices()
    rows: dict[str, _Row] = {}
    rejected: list[dict] = []
    for i, notice in enumerate(notices):
        if not isinstance(notice, dict):
            raise InvalidInput("通知はオブジェクトで指定してください。", code="E_NOTICE_TYPE", field=f"notices[{i}]")
        notice_id = notice.get("notice_id")
        if not isinstance(notice_id, str) or not NOTICE_ID_RE.match(notice_id):
            raise InvalidInput(
                "通知IDは64文字以内の半角英数字と記号（. _ : -）で指定してください。",
                code="E_NOTICE_ID",
                field=f"notices[{i}].notice_id",
            )
        if notice_id in rows:
            rows[notice_id].count += 1  # one statement cannot touch one row twice: count it here
            continue
        parsed = _parse_notice(file, notice, notice_id)
        if isinstance(parsed, dict):
            rejected.append(parsed)
        else:
            rows[notice_id] = parsed
    return list(rows.values()), rejected


_INSERT = """
INSERT INTO national_received_notice AS r (
    file, notice_id, juminhyo_code, update_seq, change_reason, changed_on, payload,
    my_number_index, received_at, last_received_at, receive_count, mismatch_count)
SELECT %(file)s, t.notice_id, t.juminhyo_code, t.update_seq, t.change_reason, t.changed_on,
       t.payload::jsonb, t.my_number_index, %(now)s, %(now)s, t.n, 0
FROM unnest(%(ids)s::text[], %(codes)s::text[], %(seqs)s::bigint[], %(reasons)s::text[],
            %(dates)s::date[], %(payloads)s::text[], %(indexes)s::bytea[], %(counts)s::int[])
     WITH ORDINALITY AS t(notice_id, juminhyo_code, update_seq, change_reason, changed_on, payload,
                          my_number_index, n, ord)
ORDER BY t.ord
ON CONFLICT (file, notice_id) DO UPDATE SET
    receive_count = r.receive_count + EXCLUDED.receive_count,
    last_received_at = EXCLUDED.last_received_at,
    mismatch_count = r.mismatch_count + CASE WHEN r.payload = EXCLUDED.payload THEN 0 ELSE 1 END
"""


@transaction.atomic
def notices_record(*, file: str, rows: list[_Row]) -> list[str]:
    """Insert or count the arrival of each notice, in one set-based statement; returns the acked ids."""
    if not rows:
        return []
    with connection.cursor() as cursor:
        # Sequence values are taken in insert order but become visible in commit order; one
        # writer per file at a time makes the two the same, so a reader paging through
        # ``received?since=<seq>`` never passes a row that commits later with a smaller seq.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"national.notices.{file}"])
        cursor.execute(
            _INSERT,
            {
                "file": file,
                "now": timezone.now(),
                "ids": [r.notice_id for r in rows],
                "codes": [r.juminhyo_code for r in rows],
                "seqs": [r.update_seq for r in rows],
                "reasons": [r.change_reason for r in rows],
                "dates": [r.changed_on for r in rows],
                "payloads": [r.payload for r in rows],
                "indexes": [r.my_number_index for r in rows],
                "counts": [r.count for r in rows],
            },
        )
    return [r.notice_id for r in rows]


# --- Faults -----------------------------------------------------------------------------


def _number(body: dict, name: str, *, low: float, high: float, integer: bool) -> float | int:
    value = body.get(name, 0)
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        kind = "整数" if integer else "数値"
        raise InvalidInput(f"{name}は{low:g}以上{high:g}以下の{kind}で指定してください。", code="E_FAULT", field=name)
    return value


@transaction.atomic
def faults_set(*, body: Any) -> FaultSetting:
    """``{"mode": "down"|"slow"|"flaky"|"ok", "rate": 0..1, "delay_ms": n, "seconds": n?}``.

    ``seconds`` (optional, an addition to API.md) returns the mock to "ok" by itself after
    that long, so a test can simulate an outage of known length.
    """
    if not isinstance(body, dict) or body.get("mode") not in FaultMode.values:
        raise InvalidInput(
            "modeは down, slow, flaky, ok のいずれかで指定してください。", code="E_FAULT_MODE", field="mode"
        )
    rate = float(_number(body, "rate", low=0, high=1, integer=False))
    delay_ms = int(_number(body, "delay_ms", low=0, high=MAX_DELAY_MS, integer=True))
    seconds = body.get("seconds")
    until = None
    if seconds is not None:
        seconds = _number(body, "seconds", low=0, high=MAX_FAULT_SECONDS, integer=False)
        until = timezone.now() + dt.timedelta(seconds=seconds)
    setting, _ = FaultSetting.objects.update_or_create(
        pk=1, defaults={"mode": body["mode"], "rate": rate, "delay_ms": delay_ms, "until": until}
    )
    return setting
