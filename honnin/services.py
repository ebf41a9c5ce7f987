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
from jukinet.notice_states import notice_applied, notice_hold, notice_reject, retain_until

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


def notices_apply_person(juminhyo_code: str, notices: list[InboxNotice]) -> None:
    """Apply one person's claimed notices in 更新順番号 order (the caller holds the transaction
    and an advisory lock on the person). Each notice ends applied, rejected or held."""
    now = timezone.now()
    keyring = get_keyring()
    for notice in sorted(notices, key=lambda n: (n.update_seq, n.id)):
        code_change = notice.change_reason == ChangeReason.CODE_HENKO
        lookup = notice.record.get("former_juminhyo_code") if code_change else juminhyo_code
        current = Resident.objects.select_for_update().filter(juminhyo_code=lookup).first()
        if current is None and notice.change_reason not in ENTRY_REASONS:
            notice_hold(notice, now)  # its entry (a lower number) may still be on the way
            continue
        if current is not None and notice.update_seq <= current.update_seq:
            notice_reject(notice, E_SEQ_BACKWARDS.reject("update_seq"), now)
            continue
        if current is not None and notice.update_seq > current.update_seq + 1:
            notice_hold(notice, now)
            continue
        my_number = None
        owner_id = None
        if notice.my_number is not None:
            my_number = keyring.decrypt(
                bytes(notice.my_number), context=inbox_my_number_context(notice.file, notice.notice_id)
            )
            owners = Resident.objects.filter(my_number_index=keyring.index(my_number))
            owner_id = owners.values_list("pk", flat=True).first()
        try:
            check_logic(
                reason=notice.change_reason,
                record=notice.record,
                items_sent=notice.record.keys(),
                current=current,
                cs_municipality=notice.municipality_code,
                my_number_owner_id=owner_id,
            )
            if code_change and Resident.objects.filter(juminhyo_code=juminhyo_code).exists():
                raise E_CODE_EXISTS.reject("juminhyo_code")
        except NoticeRejected as error:
            notice_reject(notice, error, now)
            continue
        _apply(notice, current, juminhyo_code, my_number, keyring, now)


def _apply(notice, current, juminhyo_code, my_number, keyring, now) -> None:
    if current is None:
        resident = Resident(juminhyo_code=juminhyo_code)
    else:
        ResidentHistory.objects.bulk_create([_history_from(current, now)])
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
    resident.save()
    sealed_for_outbox = None
    if resident.my_number is not None:
        plain = open_my_number(resident.juminhyo_code, resident.my_number, keyring=keyring)
        sealed_for_outbox = keyring.encrypt(plain, context=outbox_my_number_context(notice.file, notice.notice_id))
    OutboxNotice.objects.create(
        file=notice.file,
        notice_id=notice.notice_id,
        juminhyo_code=resident.juminhyo_code,
        update_seq=resident.update_seq,
        payload=_outbox_payload(resident, notice),
        my_number=sealed_for_outbox,
    )
    notice_applied(notice, now)
