"""Provision and transfer (提供・移転): lookups, their refusals and their records (API.md §3).

Every request that reaches a lookup endpoint from a known client leaves exactly one
:class:`~provision.models.ProvisionRecord` — provided, not found, refused or failed — and one
access-log entry (action ``provision.lookup``) beside it, in the same transaction. Neither
ever holds a value: the record says which items were given and whose 住民票コード, the log
says the same in words. A 個人番号 reaches only the response.

The order of the checks (docs/provision.md): the client's kind → the request's shape → the
duty (registered for the client, active, serving this file) → ``include_my_number`` and ``by``
→ the keys. A request failing any of them is refused with its own stable code and nothing but
the refused record and its log entry is written.

A lookup is answered from this prefecture's file; only when nothing matches there is the
national server asked (``"source": "national"``). No transaction is held across that call.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import access_log
from audit.models import AccessLogEntry, ClientKind, MachineClient
from fuhyo.services_my_number import (
    RedeliveryUnavailable,
    my_number_temporary_redeliver,
    my_number_temporary_store,
)
from honnin.selectors import resident_my_number
from jukinet import national_client
from jukinet.codes import (
    CodeError,
    is_valid_juminhyo_code,
    is_valid_my_number,
    validate_juminhyo_code,
    validate_my_number,
)
from jukinet.errors import DomainError, InvalidInput, PermissionRefused
from jukinet.four_info import (
    MIN_ADDRESS_CHARS,
    MIN_KANA_KEY,
    Conditions,
    SearchTooBroad,
    address_prefix,
    build_conditions,
)
from provision import selectors
from provision.models import DUTY_CODE_PATTERN, FILES, Duty, Outcome, ProvisionRecord, Source

ACTION_LOOKUP = "provision.lookup"
ACTION_REDELIVER = "provision.redeliver"
ACTION_DUTIES = "provision.duties"
BY_KINDS = ("juminhyo_code", "my_number", "four_info")
BY_REDELIVERY = "redelivery"
FILE_LABELS = dict(FILES)
FOUR_INFO_FIELDS = ("name_kana", "name", "birth_date", "sex", "address")
PROVISION_ID = re.compile(r"^P[0-9]{14}-[0-9a-f]{12}$")
_DUTY_CODE = re.compile(DUTY_CODE_PATTERN)
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# Longer than any field may be (the four_info module's limits are lower): refused before the
# characters are even looked at.
_RAW_TEXT_LIMIT = 1000

_LOG_OUTCOME = {
    Outcome.PROVIDED: AccessLogEntry.Outcome.OK,
    Outcome.NOT_FOUND: AccessLogEntry.Outcome.OK,
    Outcome.REFUSED: AccessLogEntry.Outcome.REFUSED,
    Outcome.FAILED: AccessLogEntry.Outcome.FAILED,
}


# --- Domain errors (API.md's error shape through jukinet.api.exception_handler) ------------


class ClientNotPermitted(PermissionRefused):
    code = "E_CLIENT_NOT_PERMITTED"
    message = "提供・移転を受けられるのは、登録された執行機関・部署のクライアントだけです。"


class DutyNotPermitted(PermissionRefused):
    code = "E_DUTY_NOT_PERMITTED"
    message = "この事務はこのクライアントに許可されていません。"


class MyNumberNotPermitted(PermissionRefused):
    code = "E_MY_NUMBER_NOT_PERMITTED"
    message = "この事務では個人番号を提供できません（個人番号による照会もできません）。"


class FourInfoTooBroad(InvalidInput):
    code = "E_FOUR_INFO_TOO_BROAD"
    message = (
        "4情報による照会には、氏名（かな2文字以上または漢字）に加えて、生年月日（年月日）"
        "または住所（市区町村名以下3文字以上）を指定してください。"
    )


class NationalServerUnavailable(DomainError):
    code = "E_NATIONAL_UNAVAILABLE"
    status = 503
    message = "この都道府県のファイルに該当がなく、全国サーバに接続できませんでした。時間をおいて再度照会してください。"


class NationalServerRejected(DomainError):
    code = "E_NATIONAL_REJECTED"
    status = 502
    message = "全国サーバが照会を受け付けませんでした。照会内容を確認してください。"


# --- What a checked request and an answer are ------------------------------------------------


@dataclass(frozen=True)
class LookupRequest:
    duty: Duty
    file: str
    by: str
    items: tuple[str, ...]
    include_my_number: bool
    include_removed: bool
    juminhyo_code: str = ""
    my_number: str = field(default="", repr=False)
    conditions: Conditions | None = field(default=None, repr=False)
    national_four_info: dict | None = field(default=None, repr=False)


@dataclass
class LookupAnswer:
    provision_id: str
    source: str
    results: list[dict]
    truncated: bool = False
    redelivery_until: dt.datetime | None = None

    def as_dict(self) -> dict:
        data: dict[str, Any] = {
            "provision_id": self.provision_id,
            "source": self.source,
            "results": self.results,
            "truncated": self.truncated,
        }
        if self.redelivery_until is not None:
            data["redelivery_until"] = timezone.localtime(self.redelivery_until).isoformat()
        return data


@dataclass
class RedeliveryAnswer:
    provision_id: str
    redelivery_of: str
    results: list[dict] = field(repr=False)
    redelivery_until: dt.datetime

    def as_dict(self) -> dict:
        return {
            "provision_id": self.provision_id,
            "redelivery_of": self.redelivery_of,
            "source": Source.PREFECTURE,
            "results": self.results,
            "redelivery_until": timezone.localtime(self.redelivery_until).isoformat(),
        }


def new_provision_id() -> str:
    """``P`` + local time to the second + 48 random bits: sortable, and not guessable."""
    random_part = secrets.token_hex(6)
    while random_part.isdigit():
        # Twelve digits alone would look like a 個人番号 to the log's redaction filter, and the
        # provision id would be blanked out of its own log entry.
        random_part = secrets.token_hex(6)
    return f"P{timezone.localtime():%Y%m%d%H%M%S}-{random_part}"


# --- Records ---------------------------------------------------------------------------------


def _write(
    *,
    action: str,
    provision_id: str,
    client: MachineClient,
    file: str,
    outcome: str,
    duty_code: str = "",
    by: str = "",
    target_codes: list[str] | tuple[str, ...] = (),
    items_given: list[str] | tuple[str, ...] = (),
    my_number_given: bool = False,
    source: str = "",
    error_code: str = "",
    note: str = "",
) -> ProvisionRecord:
    """The provision record and its access-log entry, committed together."""
    with transaction.atomic():
        record = ProvisionRecord.objects.create(
            provision_id=provision_id,
            occurred_at=timezone.now(),
            client_id=client.client_id,
            client_name=client.name[:100],
            duty_code=duty_code,
            file=file,
            by=by,
            target_codes=list(target_codes),
            items_given=list(items_given),
            my_number_given=my_number_given,
            source=source,
            outcome=outcome,
            error_code=error_code[:40],
        )
        parts = [
            f"提供ID {provision_id}",
            f"結果 {Outcome(outcome).label}",
            f"照会キー {by or '-'}",
            f"件数 {len(target_codes) if outcome == Outcome.PROVIDED else 0}",
            f"項目 {','.join(items_given) or '-'}",
            f"個人番号 {'提供' if my_number_given else 'なし'}",
            f"提供元 {source or '-'}",
        ]
        if error_code:
            parts.append(f"エラー {error_code}")
        if note:
            parts.append(note)
        access_log.log_event(
            action=action,
            outcome=_LOG_OUTCOME[outcome],
            target_file=file,
            target_code=target_codes[0] if len(target_codes) == 1 else "",
            duty=duty_code,
            detail=" / ".join(parts),
        )
    return record


def _asked(data: Any) -> dict:
    """What a refused record may say about the request: only values of a checked shape."""
    if not isinstance(data, dict):
        return {"duty_code": "", "by": "", "target_codes": []}
    duty_code = data.get("duty_code")
    by = data.get("by")
    code = data.get("juminhyo_code")
    return {
        "duty_code": duty_code if isinstance(duty_code, str) and _DUTY_CODE.fullmatch(duty_code) else "",
        "by": by if isinstance(by, str) and by in BY_KINDS else "",
        # A 住民票コード asked for is the target even when refused or not found (never a 個人番号).
        "target_codes": [code] if by == "juminhyo_code" and is_valid_juminhyo_code(code) else [],
    }


def provision_refuse(
    *, client: MachineClient, file: str, data: Any, error: DomainError, action: str = ACTION_LOOKUP
) -> str:
    """Record a refused request (its own transaction); returns the provision id."""
    provision_id = new_provision_id()
    asked = _asked(data)
    _write(
        action=action,
        provision_id=provision_id,
        client=client,
        file=file,
        outcome=Outcome.REFUSED,
        error_code=error.code,
        **asked,
    )
    return provision_id


# --- Checks ----------------------------------------------------------------------------------


def duty_check(*, client: MachineClient, file: str, code: Any) -> Duty:
    """The duty if it is registered for this client, active and serves this file; else refused.

    The one rule for single lookups and batches (provision/batch_selectors.duty_permitted).
    """
    if not isinstance(code, str) or not _DUTY_CODE.fullmatch(code):
        raise InvalidInput(
            "duty_code（事務コード）を「6-1」「5-13」のように指定してください。", code="E_DUTY_CODE", field="duty_code"
        )
    duty = selectors.duty_get(code=code)
    if duty is None or code not in (client.duty_codes or []):
        raise DutyNotPermitted(f"事務「{code}」はこのクライアントに許可されていません。", field="duty_code")
    if not duty.active:
        raise DutyNotPermitted(f"事務「{code}」は現在停止されています。", field="duty_code")
    if file not in duty.files:
        raise DutyNotPermitted(f"事務「{code}」では{FILE_LABELS[file]}を提供できません。", field="duty_code")
    return duty


def _key(validate, value: Any, field_name: str) -> str:
    try:
        return validate(value)
    except CodeError as exc:  # its message never holds the value
        raise InvalidInput(exc.message, code=exc.code, field=field_name) from None


def _plain_text(value: Any, name: str) -> str:
    field_name = f"four_info.{name}"
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field_name} は文字列で指定してください。", code="E_FOUR_INFO", field=field_name)
    if len(value) > _RAW_TEXT_LIMIT:
        raise InvalidInput(f"{field_name} が長すぎます。", code="E_TOO_LONG", field=field_name)
    # Control and format characters (bidi overrides, zero-width) and lone surrogates: no name,
    # address or date holds them, and a surrogate cannot even be stored or compared.
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in value):
        raise InvalidInput(
            f"{field_name} に改行・タブ・制御文字は使えません。", code="E_CONTROL_CHAR", field=field_name
        )
    return value.strip()


def _four_info(value: Any, file: str) -> tuple[Conditions, dict]:
    """Typed 4情報 → the staff search's conditions, under the stricter provision rule.

    Narrowness for a machine lookup: a name (かな 2 文字以上, or 漢字 exact) AND either a whole
    birth date or an address of at least 3 characters past the prefecture name. Sex never
    narrows enough on its own; a lookup without a name is refused.
    """
    if not isinstance(value, dict):
        raise InvalidInput(
            "four_info（4情報）をオブジェクトで指定してください。", code="E_FOUR_INFO", field="four_info"
        )
    typed = {name: _plain_text(value.get(name), name) for name in FOUR_INFO_FIELDS}
    if typed["birth_date"]:
        try:
            if not _ISO_DATE.fullmatch(typed["birth_date"]):
                raise ValueError
            dt.date.fromisoformat(typed["birth_date"])
        except ValueError:
            raise InvalidInput(
                "four_info.birth_date は YYYY-MM-DD 形式の日付で指定してください。",
                code="E_BIRTH_DATE",
                field="four_info.birth_date",
            ) from None
    if typed["sex"] not in ("", "1", "2"):
        raise InvalidInput(
            'four_info.sex は "1"（男）または "2"（女）で指定してください。', code="E_SEX", field="four_info.sex"
        )
    prefecture = settings.PREFECTURE_NAME if file == "honnin" else ""
    try:
        conditions = build_conditions(
            name_kana=typed["name_kana"],
            name=typed["name"],
            birth_date=typed["birth_date"],
            sex=typed["sex"],
            address=typed["address"],
            prefecture=prefecture,
        )
    except SearchTooBroad:
        raise FourInfoTooBroad(field="four_info") from None
    except InvalidInput as exc:
        where = f"four_info.{exc.field}" if exc.field else "four_info"
        raise InvalidInput(exc.message, code=exc.code, field=where) from None
    named = len(conditions.kana_key) >= MIN_KANA_KEY or bool(conditions.kanji_names)
    whole_birth_date = conditions.birth is not None and conditions.birth.precision == "day"
    address_narrows = len(conditions.address) - len(prefecture) >= MIN_ADDRESS_CHARS
    if not (named and (whole_birth_date or address_narrows)):
        raise FourInfoTooBroad(field="four_info")
    national = {
        "name_kana": typed["name_kana"],
        "name": typed["name"],
        "birth_date": typed["birth_date"],
        "sex": typed["sex"],
        "address": address_prefix(typed["address"]) if typed["address"] else "",
    }
    return conditions, {k: v for k, v in national.items() if v}


def _check(*, client: MachineClient, file: str, data: Any, parse_error: DomainError | None) -> LookupRequest:
    if client.kind != ClientKind.BODY:
        raise ClientNotPermitted()
    if parse_error is not None:
        raise parse_error
    if not isinstance(data, dict):
        raise InvalidInput("要求はJSONのオブジェクトで送ってください。", code="E_REQUEST_SHAPE")
    duty = duty_check(client=client, file=file, code=data.get("duty_code"))
    include = data.get("include_my_number", False)
    if include is None:
        include = False
    if not isinstance(include, bool):
        raise InvalidInput(
            "include_my_number は true または false で指定してください。",
            code="E_INCLUDE_MY_NUMBER",
            field="include_my_number",
        )
    by = data.get("by")
    if not isinstance(by, str) or by not in BY_KINDS:
        raise InvalidInput(
            "by は juminhyo_code・my_number・four_info のいずれかで指定してください。", code="E_QUERY_BY", field="by"
        )
    if by == "my_number" and file == "fuhyo":
        raise InvalidInput(
            "附票本人確認情報は個人番号では照会できません。住民票コードまたは4情報で照会してください。",
            code="E_MY_NUMBER_KEY_ON_FUHYO",
            field="by",
        )
    if include and not duty.my_number_allowed:
        raise MyNumberNotPermitted(field="include_my_number")
    if by == "my_number" and not duty.my_number_allowed:
        # Searching by 個人番号 is itself a use of it (番号法): only for duties that may have it.
        raise MyNumberNotPermitted(field="by")
    items = selectors.duty_items(duty=duty, file=file)
    common = {
        "duty": duty,
        "file": file,
        "by": by,
        "items": items,
        "include_my_number": include,
        # 消除者 only where the 異動事由 tells the receiver so (honnin; docs/provision.md).
        "include_removed": file == "honnin" and "change_reason" in items,
    }
    if by == "juminhyo_code":
        return LookupRequest(**common, juminhyo_code=_key(validate_juminhyo_code, data.get("juminhyo_code"), by))
    if by == "my_number":
        return LookupRequest(**common, my_number=_key(validate_my_number, data.get("my_number"), by))
    conditions, national = _four_info(data.get("four_info"), file)
    return LookupRequest(**common, conditions=conditions, national_four_info=national)


# --- The lookup ------------------------------------------------------------------------------


def provision_lookup(
    *, client: MachineClient, file: str, data: Any, parse_error: DomainError | None = None
) -> LookupAnswer:
    """API.md §3 ``POST /api/provision/v1/{file}/lookup`` for one authenticated client.

    ``parse_error`` is what the view met reading the body (too large, not JSON …): it is
    raised, and recorded, after the client's kind was checked, like any other refusal.
    """
    try:
        request = _check(client=client, file=file, data=data, parse_error=parse_error)
    except DomainError as exc:
        provision_refuse(client=client, file=file, data=data, error=exc)
        raise
    provision_id = new_provision_id()
    answer = _answer_here(provision_id=provision_id, client=client, request=request)
    if answer is not None:
        return answer
    return _answer_from_national(provision_id=provision_id, client=client, request=request)


def _answer_here(*, provision_id: str, client: MachineClient, request: LookupRequest) -> LookupAnswer | None:
    with transaction.atomic():
        match = selectors.lookup_match(
            file=request.file,
            by=request.by,
            juminhyo_code=request.juminhyo_code,
            my_number=request.my_number,
            conditions=request.conditions,
            include_removed=request.include_removed,
        )
        if not match.rows:
            return None
        results, given, until = [], False, None
        for row in match.rows:
            item = selectors.result_item(row, request.items)
            if request.include_my_number:
                number = None
                if request.file == "honnin":
                    number = resident_my_number(resident=row)
                else:
                    handed = my_number_temporary_store(provision_id=provision_id, juminhyo_code=row.juminhyo_code)
                    if handed is not None:
                        number, until = handed.my_number, handed.expires_at
                item["my_number"] = number
                given = given or number is not None
            results.append(item)
        _write(
            action=ACTION_LOOKUP,
            provision_id=provision_id,
            client=client,
            file=request.file,
            outcome=Outcome.PROVIDED,
            duty_code=request.duty.code,
            by=request.by,
            target_codes=[r.juminhyo_code for r in match.rows],
            items_given=request.items,
            my_number_given=given,
            source=Source.PREFECTURE,
            note="件数上限で打切り" if match.truncated else "",
        )
    return LookupAnswer(provision_id, Source.PREFECTURE, results, match.truncated, until)


def _national_payload(request: LookupRequest) -> dict:
    # The 附票全国サーバ gives no 個人番号: a fuhyo lookup never asks it for one.
    payload: dict[str, Any] = {
        "by": request.by,
        "include_my_number": request.include_my_number and request.file == "honnin",
    }
    if request.by == "juminhyo_code":
        payload["juminhyo_code"] = request.juminhyo_code
    elif request.by == "my_number":
        payload["my_number"] = request.my_number
    else:
        payload["four_info"] = request.national_four_info
    return payload


def _national_results(body: dict, request: LookupRequest) -> tuple[list[dict], bool]:
    """The national answer reduced to what the duty may be given; malformed → unavailable."""
    raw = body.get("results")
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise national_client.NationalUnavailable("malformed answer (no results list)")
    results = []
    for entry in raw[: selectors.MAX_RESULTS]:
        if not is_valid_juminhyo_code(entry.get("juminhyo_code")):
            raise national_client.NationalUnavailable("malformed answer (a result without a valid code)")
        item = {name: entry.get(name) if isinstance(entry.get(name), str) else None for name in request.items}
        if request.include_my_number:
            number = entry.get("my_number") if request.file == "honnin" else None
            item["my_number"] = number if is_valid_my_number(number) else None
        results.append(item)
    return results, bool(body.get("truncated")) or len(raw) > selectors.MAX_RESULTS


def _answer_from_national(*, provision_id: str, client: MachineClient, request: LookupRequest) -> LookupAnswer:
    record = {
        "action": ACTION_LOOKUP,
        "provision_id": provision_id,
        "client": client,
        "file": request.file,
        "duty_code": request.duty.code,
        "by": request.by,
        "source": Source.NATIONAL,
    }
    asked_codes = [request.juminhyo_code] if request.juminhyo_code else []
    try:
        body = national_client.query(request.file, _national_payload(request))
        results, truncated = _national_results(body, request)
    except national_client.NationalUnavailable as exc:
        _write(**record, outcome=Outcome.FAILED, target_codes=asked_codes, error_code=NationalServerUnavailable.code)
        raise NationalServerUnavailable() from exc
    except national_client.NationalRejected as exc:
        _write(**record, outcome=Outcome.FAILED, target_codes=asked_codes, error_code=NationalServerRejected.code)
        raise NationalServerRejected() from exc
    if not results:
        _write(**record, outcome=Outcome.NOT_FOUND, target_codes=asked_codes)
        return LookupAnswer(provision_id, Source.NATIONAL, [], truncated)
    given = any(item.get("my_number") for item in results)
    _write(
        **record,
        outcome=Outcome.PROVIDED,
        target_codes=[item["juminhyo_code"] for item in results],
        items_given=request.items,
        my_number_given=given,
    )
    return LookupAnswer(provision_id, Source.NATIONAL, results, truncated)


def provision_refuse_inactive_client(*, client: MachineClient, file: str, data: Any) -> None:
    """A revoked or suspended client's request: 401 to it, a refused record for the file."""
    provision_refuse(client=client, file=file, data=data, error=DomainError(code="E_CLIENT_NOT_ACTIVE"))


# --- Redelivery of a fuhyo 個人番号 (docs/provision.md) -------------------------------------


def provision_redeliver(*, client: MachineClient, file: str, provision_id: str) -> RedeliveryAnswer:
    """Hand the 個人番号 of an earlier fuhyo lookup over again, within its window.

    The same client only, while its duty still permits the 個人番号; each redelivery is a
    provision of its own (a record and a log entry naming the original provision id).
    """
    new_id = new_provision_id()
    duty_code = ""
    try:
        if client.kind != ClientKind.BODY:
            raise ClientNotPermitted()
        original = None
        if file == "fuhyo" and PROVISION_ID.fullmatch(provision_id):
            original = ProvisionRecord.objects.filter(
                provision_id=provision_id,
                client_id=client.client_id,
                file="fuhyo",
                outcome=Outcome.PROVIDED,
                my_number_given=True,
            ).first()
        if original is None:
            raise RedeliveryUnavailable()
        duty_code = original.duty_code
        duty = duty_check(client=client, file=file, code=duty_code)
        if not duty.my_number_allowed:
            raise MyNumberNotPermitted()
        with transaction.atomic():
            handed = my_number_temporary_redeliver(provision_id=provision_id)
            _write(
                action=ACTION_REDELIVER,
                provision_id=new_id,
                client=client,
                file=file,
                outcome=Outcome.PROVIDED,
                duty_code=duty_code,
                by=BY_REDELIVERY,
                target_codes=[h.juminhyo_code for h in handed],
                items_given=["juminhyo_code"],
                my_number_given=True,
                source=Source.PREFECTURE,
                note=f"再提供元 {provision_id}",
            )
    except DomainError as exc:
        _write(
            action=ACTION_REDELIVER,
            provision_id=new_id,
            client=client,
            file=file,
            outcome=Outcome.REFUSED,
            duty_code=duty_code,
            by=BY_REDELIVERY,
            error_code=exc.code,
        )
        raise
    return RedeliveryAnswer(
        provision_id=new_id,
        redelivery_of=provision_id,
        results=[{"juminhyo_code": h.juminhyo_code, "my_number": h.my_number} for h in handed],
        redelivery_until=min(h.expires_at for h in handed),
    )


# --- The client's duties ---------------------------------------------------------------------


def client_duties(*, client: MachineClient) -> list[Duty]:
    """``GET /api/provision/v1/duties``; a 市町村CS is refused (and the refusal logged)."""
    if client.kind != ClientKind.BODY:
        access_log.log_refusal(action=ACTION_DUTIES, detail="執行機関・部署以外のクライアント")
        raise ClientNotPermitted()
    return selectors.duties_of_client(client=client)
