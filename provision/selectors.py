"""Reads of provision: the duty registry, a client's duties, and matching a lookup (API.md §3).

Matching reads each file through its own rows and search selectors; ``provision`` may read
both files (it is not one of them), but never hands anything of one to the other except
through ``fuhyo.services_my_number`` (DESIGN.md §5).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import QuerySet

from audit.models import ClientKind, IdentityState, MachineClient
from fuhyo.models import FuhyoRecord, FuhyoStatus
from fuhyo.selectors import records_search
from honnin.models import Resident
from honnin.selectors import resident_get_by_my_number, residents_search
from jukinet.four_info import Conditions
from provision.models import Duty, ProvisionItem

# At most this many persons in one answer; more matches set ``truncated``.
MAX_RESULTS = 100

# What each file can give at all. The assessment lists, for the 附票 file, 住民票コード・氏名・
# 住所・生年月日・性別 (and the 個人番号 where 番号法 allows): no 異動事由 or 異動年月日.
FILE_ITEMS: dict[str, tuple[str, ...]] = {
    "honnin": tuple(ProvisionItem.values),
    "fuhyo": ("juminhyo_code", "name", "name_kana", "birth_date", "sex", "address"),
}


# --- The registry ---------------------------------------------------------------------------


def _in_law_order(duty: Duty) -> tuple:
    # "5-2" before "5-13": the table, then the item numbers as numbers.
    table, *numbers = duty.code.split("-")
    return (table, *(int(n) for n in numbers))


def duties_list(*, include_inactive: bool = False) -> list[Duty]:
    rows = Duty.objects.all() if include_inactive else Duty.objects.filter(active=True)
    return sorted(rows, key=_in_law_order)


def duty_get(*, code: str) -> Duty | None:
    return Duty.objects.filter(code=code).first()


def duty_codes_unregistered(codes: Iterable[str]) -> list[str]:
    """The codes among ``codes`` that are not active duties of the registry, in the given order."""
    codes = [str(c) for c in codes]
    active = set(Duty.objects.filter(code__in=codes, active=True).values_list("code", flat=True))
    return [c for c in codes if c not in active]


def duties_of_client(*, client: MachineClient) -> list[Duty]:
    """The active registered duties among the client's permitted codes (none for a 市町村CS)."""
    if client.kind != ClientKind.BODY or not client.duty_codes:
        return []
    return sorted(Duty.objects.filter(code__in=client.duty_codes, active=True), key=_in_law_order)


def duty_items(*, duty: Duty, file: str) -> tuple[str, ...]:
    """The items this duty may be given from this file, in the API's order."""
    return tuple(item for item in FILE_ITEMS[file] if item in duty.items)


def client_not_active_by_token(token: str) -> MachineClient | None:
    """A revoked or suspended client presenting its old token (for the refused record).

    The hash is audit.services.client_authenticate's (SHA-256 of the token);
    tests/test_provision_lookup.py fails if the two drift apart.
    """
    if not token or len(token) > 200:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    return MachineClient.objects.filter(token_hash=digest).exclude(state=IdentityState.ACTIVE).first()


# --- Matching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    rows: list
    truncated: bool = False


def _limited(rows: QuerySet) -> Match:
    found = list(rows[: MAX_RESULTS + 1])
    return Match(found[:MAX_RESULTS], len(found) > MAX_RESULTS)


def lookup_match(
    *,
    file: str,
    by: str,
    juminhyo_code: str = "",
    my_number: str = "",
    conditions: Conditions | None = None,
    include_removed: bool = False,
) -> Match:
    """This prefecture's rows for one lookup (keys already checked by the service).

    ``include_removed``: 消除者 of honnin are answered (flagged by their 異動事由) only when the
    duty is given the 異動事由; removed 附票 records are never answered (the 附票 items carry
    no 異動事由 to tell them apart). A 住民票コード matches the current code only: the former
    code of a person who had theirs changed is not followed (docs/provision.md).
    """
    if file == "honnin":
        if by == "juminhyo_code":
            rows = Resident.objects.filter(juminhyo_code=juminhyo_code)
            if not include_removed:
                rows = rows.filter(deleted=False)
            return _limited(rows.order_by("juminhyo_code"))
        if by == "my_number":
            resident = resident_get_by_my_number(my_number=my_number)
            if resident is None or (resident.deleted and not include_removed):
                return Match([])
            return Match([resident])
        if conditions is None:
            raise ValueError("a 4情報 lookup needs its conditions")
        return _limited(residents_search(conditions=replace(conditions, include_removed=include_removed)))
    if by == "juminhyo_code":
        rows = FuhyoRecord.objects.filter(juminhyo_code=juminhyo_code, status=FuhyoStatus.CURRENT)
        return _limited(rows.order_by("juminhyo_code"))
    if conditions is None or by != "four_info":
        raise ValueError("a fuhyo lookup is by 住民票コード or 4情報")
    return _limited(records_search(conditions=replace(conditions, include_removed=False)))


def result_item(row: Any, items: Iterable[str]) -> dict:
    """One result of API.md §3 with only the given items (values as the API writes them)."""
    values = {
        "juminhyo_code": row.juminhyo_code,
        "name": row.name,
        "name_kana": row.name_kana,
        "birth_date": row.birth_date.isoformat(),
        "sex": row.sex,
        "address": row.address,
        "change_reason": row.change_reason,
        "changed_on": row.changed_on.isoformat(),
    }
    return {item: values[item] for item in items}
