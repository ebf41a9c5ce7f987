"""Writes to the honnin file (update notices arrive with the CS flow; key rotation here)."""

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from honnin.models import (
    ENTRY_REASONS,
    REMOVAL_REASONS,
    ChangeReason,
    HonninItems,
    Resident,
    ResidentHistory,
    RetentionFlag,
)
from honnin.my_number import my_number_context, open_my_number, seal_my_number
from honnin.rules import E_CODE_EXISTS, GAIJI_COUNTED, check_logic
from jukinet.crypto import Keyring, get_keyring
from jukinet.gaiji import count_gaiji
from jukinet.kana import seion_key
from jukinet.models import InboxNotice, OutboxNotice
from jukinet.notice_intake import inbox_my_number_context
from jukinet.notice_outbox import outbox_my_number_context
from jukinet.notice_rules import E_SEQ_BACKWARDS, NoticeRejected
from jukinet.notice_states import notice_hold, notice_reject, retain_until

# Both tables hold sealed numbers; history rows are bound to the code they had then.
_SEALED_TABLES = ("honnin_resident", "honnin_resident_history")


@dataclass
class RekeyResult:
    table: str
    rewritten: int


def _active_prefix(keyring: Keyring) -> bytes:
    key_id = keyring.active_id.encode()
    return bytes([1, len(key_id)]) + key_id


def resident_my_numbers_rekey(*, keyring: Keyring, batch_size: int = 5000) -> list[RekeyResult]:
    """Re-encrypt every sealed 個人番号 not under the active key; resumable and idempotent.

    Each batch commits on its own, so an interrupted run loses nothing and the next run
    picks up the rows still under an old key.
    """
    prefix = _active_prefix(keyring)
    results = []
    for table in _SEALED_TABLES:
        rewritten = 0
        last_id = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                # FOR UPDATE: a concurrent update notice must not be overwritten with a stale blob.
                cursor.execute(
                    f"SELECT id, juminhyo_code, my_number FROM {table} "  # noqa: S608 - fixed table names
                    "WHERE id > %s AND my_number IS NOT NULL "
                    "AND substring(my_number from 1 for %s) <> %s "
                    "ORDER BY id LIMIT %s FOR UPDATE",
                    [last_id, len(prefix), prefix, batch_size],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                updates = []
                for row_id, code, blob in rows:
                    context = my_number_context(code)
                    plain = keyring.decrypt(bytes(blob), context=context)
                    updates.append((keyring.encrypt(plain, context=context), row_id))
                cursor.executemany(f"UPDATE {table} SET my_number = %s WHERE id = %s", updates)  # noqa: S608
                rewritten += len(updates)
                last_id = rows[-1][0]
        results.append(RekeyResult(table=table, rewritten=rewritten))
    return results


# --- Applying update notices (DESIGN.md §4.1) -------------------------------------------


def _history_from(current: Resident, now) -> ResidentHistory:
    values = {f.attname: getattr(current, f.attname) for f in HonninItems._meta.concrete_fields}
    return ResidentHistory(
        **values, resident_id=current.pk, superseded_at=now, retain_until=retain_until(timezone.localdate(now))
    )


def _apply_record(resident: Resident, record: dict) -> None:
    for name, value in record.items():
        if name in ("my_number", "former_juminhyo_code"):
            continue
        if name == "birth_date" and isinstance(value, str):
            value = dt.date.fromisoformat(value)
        setattr(resident, name, value)
    # 外字数 always follow the text that was sent (a stale count must not survive a change).
    for text_field, count_field in GAIJI_COUNTED:
        if text_field in record:
            setattr(resident, count_field, count_gaiji(getattr(resident, text_field)))
    resident.name_seion = seion_key(resident.name_kana)
    if resident.former_surname_kana:
        given = resident.name_kana.replace(" ", "\u3000").split("\u3000", 1)
        resident.former_name_seion = seion_key(resident.former_surname_kana + (given[1] if len(given) > 1 else ""))
    else:
        resident.former_name_seion = ""
    resident.gaiji_flag = bool(
        resident.name_gaiji_count or resident.address_gaiji_count or resident.former_surname_gaiji_count
    )


def _outbox_payload(resident: Resident, notice: InboxNotice) -> dict:
    items = {
        f.attname: getattr(resident, f.attname)
        for f in HonninItems._meta.concrete_fields
        if f.attname not in ("my_number", "my_number_index", "name_seion", "former_name_seion")
    }
    for key, value in items.items():
        if isinstance(value, dt.date | dt.datetime):
            items[key] = value.isoformat()
    return {
        "notice_id": notice.notice_id,
        "juminhyo_code": resident.juminhyo_code,
        "update_seq": resident.update_seq,
        "change_reason": notice.change_reason,
        "changed_on": notice.changed_on.isoformat(),
        "record": items,
    }


class _Batch:
    """What one apply batch writes, collected so that each table gets a few set-based
    statements instead of one statement per notice (DESIGN.md §8: ≥ 1,000 notices/s)."""

    def __init__(self, now):
        self.now = now
        self.keyring = get_keyring()
        self.history: list[ResidentHistory] = []
        self.outbox: list[OutboxNotice] = []
        self.dirty: dict[int, Resident] = {}
        self.applied: list[int] = []
        self.rejected: list[tuple[InboxNotice, NoticeRejected]] = []
        self.held: list[InboxNotice] = []


def notices_apply_batch(groups: dict[str, list[InboxNotice]]) -> None:
    """Apply claimed notices, each person's in 更新順番号 order (the caller holds the
    transaction and an advisory lock on every person in ``groups``). Each notice ends
    applied, rejected or held."""
    batch = _Batch(timezone.now())
    lookups = set(groups)
    for notices in groups.values():
        for notice in notices:
            if notice.change_reason == ChangeReason.CODE_HENKO and notice.record.get("former_juminhyo_code"):
                lookups.add(notice.record["former_juminhyo_code"])
    current_by_code = {
        r.juminhyo_code: r for r in Resident.objects.select_for_update().filter(juminhyo_code__in=lookups)
    }
    numbers = {}
    for notices in groups.values():
        for notice in notices:
            if notice.my_number is not None:
                context = inbox_my_number_context(notice.file, notice.notice_id)
                numbers[notice.pk] = batch.keyring.decrypt(bytes(notice.my_number), context=context)
    index_owner = dict(
        Resident.objects.filter(my_number_index__in=[batch.keyring.index(n) for n in numbers.values()]).values_list(
            "my_number_index", "pk"
        )
    )
    index_owner = {bytes(k): v for k, v in index_owner.items()}
    for code, notices in groups.items():
        for notice in sorted(notices, key=lambda n: (n.update_seq, n.id)):
            _apply_one(batch, notice, code, current_by_code, numbers.get(notice.pk), index_owner)
    _flush(batch)


def notices_apply_person(juminhyo_code: str, notices: list[InboxNotice]) -> None:
    notices_apply_batch({juminhyo_code: notices})


def _apply_one(batch: _Batch, notice, code, current_by_code, my_number, index_owner) -> None:
    code_change = notice.change_reason == ChangeReason.CODE_HENKO
    lookup = notice.record.get("former_juminhyo_code") if code_change else code
    current = current_by_code.get(lookup)
    if current is None and notice.change_reason not in ENTRY_REASONS:
        batch.held.append(notice)  # its entry (a lower number) may still be on the way
        return
    if current is not None and notice.update_seq <= current.update_seq:
        batch.rejected.append((notice, E_SEQ_BACKWARDS.reject("update_seq")))
        return
    if current is not None and notice.update_seq > current.update_seq + 1:
        batch.held.append(notice)
        return
    index = batch.keyring.index(my_number) if my_number is not None else None
    try:
        check_logic(
            reason=notice.change_reason,
            record=notice.record,
            items_sent=notice.record.keys(),
            current=current,
            cs_municipality=notice.municipality_code,
            my_number_owner_id=index_owner.get(index) if index is not None else None,
        )
        if code_change and (code in current_by_code or Resident.objects.filter(juminhyo_code=code).exists()):
            raise E_CODE_EXISTS.reject("juminhyo_code")
    except NoticeRejected as error:
        batch.rejected.append((notice, error))
        return
    resident = _apply(batch, notice, current, code, my_number)
    if code_change:
        current_by_code.pop(lookup, None)
    current_by_code[resident.juminhyo_code] = resident
    if index is not None:
        index_owner[index] = resident.pk


def _apply(batch: _Batch, notice, current, juminhyo_code, my_number) -> Resident:
    keyring, now = batch.keyring, batch.now
    if current is None:
        resident = Resident(juminhyo_code=juminhyo_code)
    else:
        batch.history.append(_history_from(current, now))
        resident = current
    _apply_record(resident, notice.record)
    if notice.change_reason == ChangeReason.CODE_HENKO:
        old_code = resident.juminhyo_code
        resident.former_juminhyo_code = old_code
        resident.juminhyo_code = juminhyo_code
        if resident.my_number is not None:  # the ciphertext is bound to the code: seal it again
            plain = open_my_number(old_code, resident.my_number, keyring=keyring)
            resident.my_number, resident.my_number_index = seal_my_number(juminhyo_code, plain, keyring=keyring)
    if my_number is not None:
        resident.my_number, resident.my_number_index = seal_my_number(juminhyo_code, my_number, keyring=keyring)
    removal = notice.change_reason in REMOVAL_REASONS
    resident.deleted = removal
    resident.retention_flag = RetentionFlag.RETAINED if removal else RetentionFlag.CURRENT
    resident.change_reason = notice.change_reason
    resident.changed_on = notice.changed_on
    resident.update_seq = notice.update_seq
    resident.operator_id = notice.operator_id
    resident.terminal_id = notice.terminal_id
    resident.stamped_at = now
    resident.notified_on = timezone.localdate(now)
    if resident.pk is None:
        # A new person: inserted at once, so that a later notice of theirs in this batch
        # (and its history row) has a row to refer to.
        _flush_history(batch)
        _update_dirty(batch)
        resident.save(force_insert=True)
    else:
        batch.dirty[resident.pk] = resident
        if notice.change_reason == ChangeReason.CODE_HENKO or my_number is not None:
            # Unique columns change: write now, so later rows in the batch see the new value.
            _flush_history(batch)
            _update_dirty(batch)
    sealed_for_outbox = None
    if resident.my_number is not None:
        plain = open_my_number(resident.juminhyo_code, resident.my_number, keyring=keyring)
        sealed_for_outbox = keyring.encrypt(plain, context=outbox_my_number_context(notice.file, notice.notice_id))
    batch.outbox.append(
        OutboxNotice(
            file=notice.file,
            notice_id=notice.notice_id,
            juminhyo_code=resident.juminhyo_code,
            update_seq=resident.update_seq,
            payload=_outbox_payload(resident, notice),
            my_number=sealed_for_outbox,
        )
    )
    batch.applied.append(notice.pk)
    notice.state = "applied"
    return resident


_RESIDENT_COLUMNS = [f for f in HonninItems._meta.concrete_fields]


def _flush_history(batch: _Batch) -> None:
    if batch.history:
        ResidentHistory.objects.bulk_create(batch.history)
        batch.history = []


def _update_dirty(batch: _Batch) -> None:
    if not batch.dirty:
        return
    columns = ", ".join(f'"{f.column}" = %s' for f in _RESIDENT_COLUMNS)
    rows = [
        [f.get_db_prep_save(getattr(r, f.attname), connection) for f in _RESIDENT_COLUMNS] + [pk]
        for pk, r in batch.dirty.items()
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE honnin_resident SET {columns} WHERE id = %s", rows)  # noqa: S608 - model columns
    batch.dirty = {}


def _flush(batch: _Batch) -> None:
    """Write what the batch collected: history, current rows, outbox, and the inbox states."""
    _flush_history(batch)
    _update_dirty(batch)
    OutboxNotice.objects.bulk_create(batch.outbox)
    now = batch.now
    if batch.applied:
        InboxNotice.objects.filter(pk__in=batch.applied).update(state="applied", decided_at=now, held_since=None)
    for notice, error in batch.rejected:
        notice_reject(notice, error, now)
    for notice in batch.held:
        notice_hold(notice, now)
