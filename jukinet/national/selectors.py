"""Reads of the national mock: national queries, the received-notice listing, the current fault."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F, Q, Value
from django.db.models.functions import Replace
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from jukinet.codes import CodeError, validate_juminhyo_code, validate_my_number
from jukinet.crypto import get_keyring
from jukinet.errors import InvalidInput
from jukinet.kana import seion_key
from jukinet.national.models import FaultMode, FaultSetting, NationalFile, NationalResident, ReceivedNotice
from jukinet.national.services import MyNumberNotAllowed, parse_date

MAX_RESULTS = 100
MAX_RECEIVED_PAGE = 10_000
QUERY_KINDS = ("juminhyo_code", "my_number", "four_info")


def my_number_context(juminhyo_code: str) -> str:
    return f"national.resident|{juminhyo_code}"


# --- Faults -----------------------------------------------------------------------------


def fault_current() -> FaultSetting:
    """The fault in force now (an unsaved "ok" setting when none is, or the last one expired)."""
    setting = FaultSetting.objects.filter(pk=1).first()
    if setting is None or (setting.until is not None and setting.until <= timezone.now()):
        return FaultSetting(mode=FaultMode.OK)
    return setting


# --- Queries ----------------------------------------------------------------------------


def _code(value: Any, validate, field_name: str) -> str:
    try:
        return validate(value)
    except CodeError as exc:
        raise InvalidInput(exc.message, code=exc.code, field=field_name) from None


def _text(info: dict, name: str, max_length: int) -> str:
    value = info.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        raise InvalidInput(
            f"four_info.{name}は{max_length}文字以内の文字列で指定してください。",
            code="E_FOUR_INFO",
            field=f"four_info.{name}",
        )
    return value.strip()


def _four_info_filter(info: Any) -> Q:
    if not isinstance(info, dict):
        raise InvalidInput(
            "four_info（4情報）をオブジェクトで指定してください。", code="E_FOUR_INFO", field="four_info"
        )
    name_kana = _text(info, "name_kana", 120)
    name = _text(info, "name", 120)
    address = _text(info, "address", 255)
    condition = Q()
    if name_kana:
        key = seion_key(name_kana)
        if not key:
            raise InvalidInput("ふりがな氏名が正しくありません。", code="E_FOUR_INFO", field="four_info.name_kana")
        condition &= Q(name_seion=key)
    if name:
        # Spaces between surname and given name are written or not: compare without them.
        condition &= Q(bare_name="".join(name.split()))
    if not (name_kana or name):
        raise InvalidInput(
            "4情報による照会には氏名（ふりがなまたは漢字）が必要です。", code="E_FOUR_INFO_TOO_BROAD", field="four_info"
        )
    others = 0
    if info.get("birth_date") not in (None, ""):
        birth_date = parse_date(info["birth_date"])
        if birth_date is None:
            raise InvalidInput(
                "生年月日はYYYY-MM-DD形式で指定してください。", code="E_FOUR_INFO", field="four_info.birth_date"
            )
        condition &= Q(birth_date=birth_date)
        others += 1
    if info.get("sex") not in (None, ""):
        if info["sex"] not in ("1", "2"):
            raise InvalidInput(
                '性別は "1"（男）または "2"（女）で指定してください。', code="E_FOUR_INFO", field="four_info.sex"
            )
        condition &= Q(sex=info["sex"])
        others += 1
    if address:
        condition &= Q(address__startswith=address)
        others += 1
    if not others:
        raise InvalidInput(
            "氏名のほかに生年月日・性別・住所のいずれかを指定してください。",
            code="E_FOUR_INFO_TOO_BROAD",
            field="four_info",
        )
    return condition


def residents_query(*, file: str, body: Any) -> dict:
    """API.md §4 queries: by 住民票コード, 個人番号 (honnin only) or 4情報; §3's result item shape."""
    if not isinstance(body, dict) or body.get("by") not in QUERY_KINDS:
        raise InvalidInput(
            "by は juminhyo_code, my_number, four_info のいずれかで指定してください。", code="E_QUERY_BY", field="by"
        )
    include = body.get("include_my_number", False)
    if not isinstance(include, bool):
        raise InvalidInput(
            "include_my_number は true または false で指定してください。", code="E_INVALID", field="include_my_number"
        )
    by = body["by"]
    if file == NationalFile.FUHYO and by == "my_number":
        raise MyNumberNotAllowed("附票全国サーバには個人番号で照会できません。", field="by")
    if file == NationalFile.FUHYO and include:
        raise MyNumberNotAllowed("附票全国サーバは個人番号を提供しません。", field="include_my_number")

    rows = NationalResident.objects.filter(file=file)
    if by == "juminhyo_code":
        rows = rows.filter(juminhyo_code=_code(body.get("juminhyo_code"), validate_juminhyo_code, "juminhyo_code"))
    elif by == "my_number":
        number = _code(body.get("my_number"), validate_my_number, "my_number")
        rows = rows.filter(my_number_index=get_keyring().index(number))
    else:
        condition = _four_info_filter(body.get("four_info"))
        rows = rows.annotate(bare_name=Replace(Replace(F("name"), Value(" "), Value("")), Value("　"), Value("")))
        rows = rows.filter(condition)
    found = list(rows.order_by("juminhyo_code")[: MAX_RESULTS + 1])
    keyring = get_keyring() if include else None
    results = []
    for person in found[:MAX_RESULTS]:
        item = {
            "juminhyo_code": person.juminhyo_code,
            "name": person.name,
            "name_kana": person.name_kana,
            "birth_date": person.birth_date.isoformat(),
            "sex": person.sex,
            "address": person.address,
            "change_reason": person.change_reason,
            "changed_on": person.changed_on.isoformat(),
        }
        if keyring is not None and person.my_number is not None:
            item["my_number"] = keyring.decrypt(person.my_number, context=my_number_context(person.juminhyo_code))
        results.append(item)
    return {"results": results, "truncated": len(found) > MAX_RESULTS}


# --- Received notices (test-only) -------------------------------------------------------


def _since_filter(since: str | None) -> Q:
    if since is None or since == "":
        return Q()
    if since.isascii() and since.isdigit():
        return Q(seq__gt=int(since))
    try:
        # An unencoded "+09:00" in a query string arrives as " 09:00".
        moment = parse_datetime(since.replace(" ", "+"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(
            "since は受信順（整数）またはタイムゾーン付きのISO 8601日時で指定してください。",
            code="E_SINCE",
            field="since",
        )
    return Q(received_at__gte=moment)


def notices_received(*, file: str, since: str | None, limit: str | None) -> dict:
    """What arrived, in arrival order; ``next_since`` is the cursor for the next page."""
    if limit in (None, ""):
        size = 1000
    elif limit.isascii() and limit.isdigit() and 1 <= int(limit) <= MAX_RECEIVED_PAGE:
        size = int(limit)
    else:
        raise InvalidInput(
            f"limit は1以上{MAX_RECEIVED_PAGE}以下の整数で指定してください。", code="E_LIMIT", field="limit"
        )
    rows = list(ReceivedNotice.objects.filter(_since_filter(since), file=file).order_by("seq")[: size + 1])
    page = rows[:size]
    notices = [
        {
            "seq": n.seq,
            "notice_id": n.notice_id,
            "juminhyo_code": n.juminhyo_code,
            "update_seq": n.update_seq,
            "change_reason": n.change_reason,
            "changed_on": n.changed_on.isoformat() if n.changed_on else None,
            "received_at": _iso(n.received_at),
            "last_received_at": _iso(n.last_received_at),
            "receive_count": n.receive_count,
            "mismatch_count": n.mismatch_count,
            "payload": n.payload,
        }
        for n in page
    ]
    # Paging on: the last seq listed; with nothing new, a seq cursor stays where it was.
    cursor = int(since) if since and since.isascii() and since.isdigit() else None
    next_since = page[-1].seq if page else cursor
    return {"file": file, "notices": notices, "next_since": next_since, "more": len(rows) > size}


def _iso(moment: dt.datetime) -> str:
    return timezone.localtime(moment).isoformat()
