"""Reads for the correction requests (訂正・追加・削除の申出): the list, one request, the items a
request may concern, the record's municipality, and the update notices that may have corrected it.

The record itself is read only for what the workflow needs (does it exist, which municipality
keeps it): never its names or other items, which the desk sees through the record pages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from disclosure.models import CorrectionRequest, CorrectionState
from fuhyo.models import FuhyoRecord
from honnin.models import Resident
from jukinet.models import InboxNotice, InboxState
from jukinet.record_files import record_file

# Items the prefecture itself makes or that only keep the books (清音化, flags, sequence numbers,
# stamps): a resident's request concerns what the municipality recorded, so these are not offered.
# The 個人番号 is not offered either: the desk works without it, and its correction is the
# municipality's (番号法).
_NOT_REQUESTABLE = frozenset(
    {
        "notified_on",
        "deleted",
        "retention_flag",
        "update_seq",
        "gaiji_flag",
        "gaiji_pattern",
        "name_gaiji_seq",
        "address_gaiji_seq",
        "former_surname_gaiji_seq",
        "operator_id",
        "terminal_id",
        "stamped_at",
        "status",
        "notice_kind",
    }
)

OPEN_STATES = (CorrectionState.RECEIVED.value, CorrectionState.INVESTIGATING.value)
NOTICE_FIELDS = (
    "id",
    "file",
    "notice_id",
    "municipality_code",
    "juminhyo_code",
    "update_seq",
    "change_reason",
    "changed_on",
    "state",
    "received_at",
    "decided_at",
)


def item_choices(file: str) -> list[tuple[str, str]]:
    """(field name, label) of the items a request may concern, in the order of the record page."""
    rf = record_file(file)
    return [
        (name, str(rf.model._meta.get_field(name).verbose_name))
        for name in rf.item_fields
        if name not in _NOT_REQUESTABLE
    ]


def item_label(file: str, item: str) -> str:
    return dict(item_choices(file)).get(item, item)


@dataclass(frozen=True)
class RecordRef:
    """What the workflow knows of the record concerned: that it exists, and who keeps it."""

    file: str
    juminhyo_code: str
    municipality_code: str  # honnin: 市町村コード; fuhyo: 附票管理市町村コード


def record_ref(*, file: str, juminhyo_code: str) -> RecordRef | None:
    """The record with this 住民票コード; failing that, the one whose code it was before a
    住民票コードの変更 (the ref then carries the current code)."""
    if file == "honnin":
        model, municipality_field = Resident, "municipality_code"
    elif file == "fuhyo":
        model, municipality_field = FuhyoRecord, "managing_municipality_code"
    else:
        return None
    columns = ("juminhyo_code", municipality_field)
    row = model.objects.filter(juminhyo_code=juminhyo_code).values_list(*columns).first()
    if row is None:
        row = model.objects.filter(former_juminhyo_code=juminhyo_code).values_list(*columns).first()
    if row is None:
        return None
    return RecordRef(file=file, juminhyo_code=row[0], municipality_code=row[1])


def correction_get(*, pk: int) -> CorrectionRequest | None:
    return CorrectionRequest.objects.select_related("disclosure").filter(pk=pk).first()


def correction_list(*, files: list[str], state: str = "", file: str = "") -> QuerySet[CorrectionRequest]:
    """Newest first, of ``files`` (the operator's file duties). ``state`` "" means the open ones
    (受付・調査中), "all" every state."""
    rows = CorrectionRequest.objects.only(
        "id", "request_no", "file", "juminhyo_code", "kind", "item", "state", "received_on", "asked_on",
        "municipality_code", "closed_at",
    )  # fmt: skip
    rows = rows.filter(file__in=files)
    if state == "all":
        pass
    elif state:
        rows = rows.filter(state=state)
    else:
        rows = rows.filter(state__in=OPEN_STATES)
    if file:
        rows = rows.filter(file=file)
    return rows.order_by("-received_on", "-id")


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def notice_candidates(correction: CorrectionRequest) -> QuerySet[InboxNotice]:
    """Update notices that may be the one that corrected the record: applied, of the same file
    and person, received on or after the day the request was received (oldest first).

    The person is the request's 住民票コード, or the old code of a 住民票コードの変更 notice (the
    notice then carries the new code and names the old one in its record). The list names its
    columns: never the record items or the sealed 個人番号.
    """
    code = correction.juminhyo_code
    return (
        InboxNotice.objects.filter(
            Q(juminhyo_code=code) | Q(change_reason="住民票コードの変更", record__former_juminhyo_code=code),
            file=correction.file,
            state=InboxState.APPLIED,
            received_at__gte=_day_start(correction.received_on),
        )
        .only(*NOTICE_FIELDS)
        .order_by("received_at", "id")
    )
