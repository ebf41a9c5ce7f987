"""The weekly check of the backup register against the media in the vault (週次の媒体照合).

The assessment: backup media are managed with a register and kept in a vault; 「週次で管理簿と
保管庫の媒体をチェックし、チェックリストに記入」. A system administrator, with a witness (the
contractor who stores the media, for instance), ticks every backup of the register found in the
vault; what is not ticked is recorded as missing, and a missing medium needs a note saying what
was done. One append-only ``MediaCheck`` per check, logged (docs/backups.md).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit import access_log
from audit.models import BackupRecord, MediaCheck, Operator, StoredFileKind
from audit.permissions import ensure_permitted
from jukinet.errors import InvalidInput
from jukinet.text_input import clean_line

WITNESS_MAX = 100
NOTE_MAX = 500
# The register is expected to be checked every week; the page warns after this.
CHECK_INTERVAL = dt.timedelta(days=7)


def media_check_candidates() -> QuerySet[BackupRecord]:
    """The backups that should be in the vault (contractor files go to the contractor instead)."""
    return BackupRecord.objects.filter(kind=StoredFileKind.BACKUP).order_by("-created_at", "-pk")


def media_check_record(*, operator: Operator, confirmed: list[int], witness: str, note: str = "") -> MediaCheck:
    ensure_permitted(operator, "backup.media_check")
    witness = clean_line(witness, label="立会者", field="witness", limit=WITNESS_MAX, code="E_MEDIA_WITNESS")
    note = clean_line(note, label="備考", field="note", limit=NOTE_MAX, code="E_MEDIA_NOTE", required=False)
    with transaction.atomic():
        expected = set(media_check_candidates().values_list("pk", flat=True))
        ticked = set(confirmed)
        if ticked - expected:
            raise InvalidInput("記録簿にないバックアップが選ばれています。", code="E_MEDIA_UNKNOWN", field="confirmed")
        missing = sorted(expected - ticked)
        if missing and not note:
            raise InvalidInput(
                "見当たらない媒体があります。備考に状況と対応（捜索・報告先など）を入力してください。",
                code="E_MEDIA_NOTE",
                field="note",
            )
        check = MediaCheck.objects.create(
            checked_at=timezone.now(),
            checked_by=operator.login_id,
            witness=witness,
            confirmed=sorted(ticked),
            missing=missing,
            note=note,
        )
        access_log.log_event(
            action="backup.media_check",
            target_code=f"media_check:{check.pk}",
            outcome="ok" if not missing else "failed",
            detail=f"確認{len(ticked)}件 不明{len(missing)}件" + (f" 不明: {_numbers(missing)}" if missing else ""),
        )
    return check


def _numbers(pks: list[int]) -> str:
    return ",".join(f"#{pk}" for pk in pks)


def media_checks_recent(limit: int = 10) -> list[MediaCheck]:
    return list(MediaCheck.objects.all()[:limit])


def media_check_overdue(now: dt.datetime | None = None) -> bool:
    last = MediaCheck.objects.order_by("-checked_at").values_list("checked_at", flat=True).first()
    if last is None:
        return media_check_candidates().exists()
    return (now or timezone.now()) - last > CHECK_INTERVAL
