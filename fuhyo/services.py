"""Writes to the fuhyo file.

This module imports nothing from ``honnin`` (DESIGN.md §5; a test checks it).
"""

import datetime as dt

from django.utils import timezone

from fuhyo.models import (
    FUHYO_ENTRY_REASONS,
    FUHYO_REMOVAL_REASONS,
    FuhyoChangeReason,
    FuhyoHistory,
    FuhyoItems,
    FuhyoRecord,
    FuhyoStatus,
    NoticeKind,
)
from fuhyo.rules import E_CODE_EXISTS, GAIJI_ITEMS, check_logic
from jukinet.kana import seion_key
from jukinet.models import InboxNotice, OutboxNotice
from jukinet.notice_rules import E_SEQ_BACKWARDS, NoticeRejected
from jukinet.notice_states import notice_applied, notice_hold, notice_reject, retain_until

# --- Applying update notices (DESIGN.md §4.1) -------------------------------------------

_ITEM_FIELDS = tuple(f.attname for f in FuhyoItems._meta.concrete_fields)
# Not forwarded: the search key is the prefecture's own.
_NOT_FORWARDED = frozenset({"name_seion"})


def _history_from(current: FuhyoRecord, now) -> FuhyoHistory:
    values = {name: getattr(current, name) for name in _ITEM_FIELDS}
    return FuhyoHistory(
        **values, record_id=current.pk, superseded_at=now, retain_until=retain_until(timezone.localdate(now))
    )


def _apply_record(record: FuhyoRecord, items: dict) -> None:
    for name, value in items.items():
        if name == "former_juminhyo_code":
            continue  # set by the 住民票コードの変更 itself, from the row it changes
        if name == "birth_date" and isinstance(value, str):
            value = dt.date.fromisoformat(value)
        setattr(record, name, value)
    record.name_seion = seion_key(record.name_kana)
    record.gaiji_pattern = "".join("1" if getattr(record, count) else "0" for _, count in GAIJI_ITEMS)
    record.gaiji_flag = record.gaiji_pattern != "000"


def _notice_kind(reason: str) -> str:
    if reason in FUHYO_ENTRY_REASONS:
        return NoticeKind.ENTRY
    if reason in FUHYO_REMOVAL_REASONS:
        return NoticeKind.REMOVAL
    return NoticeKind.CHANGE


def _outbox_payload(record: FuhyoRecord, notice: InboxNotice) -> dict:
    items = {name: getattr(record, name) for name in _ITEM_FIELDS if name not in _NOT_FORWARDED}
    for key, value in items.items():
        if isinstance(value, dt.date | dt.datetime):
            items[key] = value.isoformat()
    return {
        "notice_id": notice.notice_id,
        "juminhyo_code": record.juminhyo_code,
        "update_seq": record.update_seq,
        "change_reason": notice.change_reason,
        "changed_on": notice.changed_on.isoformat(),
        "record": items,
    }


def notices_apply_person(juminhyo_code: str, notices: list[InboxNotice]) -> None:
    """Apply one person's claimed notices in 更新順番号 order (the caller holds the transaction
    and an advisory lock on the person). Each notice ends applied, rejected or held."""
    now = timezone.now()
    for notice in sorted(notices, key=lambda n: (n.update_seq, n.id)):
        code_change = notice.change_reason == FuhyoChangeReason.CODE_HENKO
        lookup = notice.record.get("former_juminhyo_code") if code_change else juminhyo_code
        current = FuhyoRecord.objects.select_for_update().filter(juminhyo_code=lookup).first()
        if current is None and notice.change_reason not in FUHYO_ENTRY_REASONS:
            notice_hold(notice, now)  # its entry (a lower number) may still be on the way
            continue
        if current is not None and notice.update_seq <= current.update_seq:
            notice_reject(notice, E_SEQ_BACKWARDS.reject("update_seq"), now)
            continue
        if current is not None and notice.update_seq > current.update_seq + 1:
            notice_hold(notice, now)
            continue
        try:
            check_logic(
                reason=notice.change_reason,
                record=notice.record,
                items_sent=notice.record.keys(),
                current=current,
                cs_municipality=notice.municipality_code,
            )
            if code_change and FuhyoRecord.objects.filter(juminhyo_code=juminhyo_code).exists():
                raise E_CODE_EXISTS.reject("juminhyo_code")
        except NoticeRejected as error:
            notice_reject(notice, error, now)
            continue
        _apply(notice, current, juminhyo_code, now)


def _apply(notice: InboxNotice, current: FuhyoRecord | None, juminhyo_code: str, now) -> None:
    if current is None:
        record = FuhyoRecord(juminhyo_code=juminhyo_code)
    else:
        FuhyoHistory.objects.bulk_create([_history_from(current, now)])
        record = current
    _apply_record(record, notice.record)
    if notice.change_reason == FuhyoChangeReason.CODE_HENKO:
        record.former_juminhyo_code = record.juminhyo_code
        record.juminhyo_code = juminhyo_code
    record.status = FuhyoStatus.REMOVED if notice.change_reason in FUHYO_REMOVAL_REASONS else FuhyoStatus.CURRENT
    record.notice_kind = _notice_kind(notice.change_reason)
    record.change_reason = notice.change_reason
    record.changed_on = notice.changed_on
    record.update_seq = notice.update_seq
    record.stamped_at = now
    record.save()
    OutboxNotice.objects.create(
        file=notice.file,
        notice_id=notice.notice_id,
        juminhyo_code=record.juminhyo_code,
        update_seq=record.update_seq,
        payload=_outbox_payload(record, notice),
        my_number=None,
    )
    notice_applied(notice, now)
