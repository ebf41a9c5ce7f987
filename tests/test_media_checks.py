"""The weekly check of the backup register against the vault (週次の媒体照合): a system
administrator ticks what was found with a witness; missing media need a note; append-only;
logged; the register page warns when a week has passed."""

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.media_checks import media_check_overdue
from audit.models import AccessLogEntry, BackupRecord, MediaCheck


def _record(kind="backup", n=1) -> BackupRecord:
    return BackupRecord.objects.create(
        kind=kind,
        file_name=f"jukinet-backup-{n}.dump.jkenc",
        location="/srv/backups",
        scope="データベース全体" if kind == "backup" else "honnin 112011 現存者",
        recipient="" if kind == "backup" else "委託先株式会社",
        size_bytes=1000 + n,
        sha256=f"{n:064x}",
        key_fingerprint="ab:cd",
        created_by="admin",
        created_at=timezone.now(),
    )


@pytest.fixture
def register(db):
    return [_record(n=1), _record(n=2), _record(kind="contractor", n=3)]


@pytest.mark.django_db
def test_the_form_lists_the_backups_and_not_the_contractor_files(staff_client, register):
    page = staff_client("sysadmin").get("/backups/media-check").content.decode()
    assert register[0].file_name in page and register[1].file_name in page
    assert register[2].file_name not in page


@pytest.mark.django_db
def test_every_backup_found_is_recorded_and_logged(staff_client, register):
    client = staff_client("sysadmin")
    response = client.post(
        "/backups/media-check", {"confirmed": [register[0].pk, register[1].pk], "witness": "委託先 保管 太郎"}
    )
    assert response.status_code == 302 and response["Location"] == "/backups/"
    check = MediaCheck.objects.get()
    assert check.confirmed == sorted([register[0].pk, register[1].pk]) and check.missing == []
    assert check.checked_by == client.operator.login_id
    entry = AccessLogEntry.objects.get(action="backup.media_check")
    assert entry.outcome == "ok" and "確認2件 不明0件" in entry.detail
    page = client.get("/backups/").content.decode()
    assert "委託先 保管 太郎" in page and "7日を過ぎています" not in page


@pytest.mark.django_db
def test_a_missing_medium_needs_a_note_and_is_recorded_as_missing(staff_client, register):
    client = staff_client("sysadmin")
    refused = client.post("/backups/media-check", {"confirmed": [register[0].pk], "witness": "委託先 保管 太郎"})
    assert refused.status_code == 400 and "見当たらない媒体があります" in refused.content.decode()
    assert not MediaCheck.objects.exists()
    client.post(
        "/backups/media-check",
        {"confirmed": [register[0].pk], "witness": "委託先 保管 太郎", "note": "捜索中。セキュリティ管理者へ報告"},
    )
    check = MediaCheck.objects.get()
    assert check.missing == [register[1].pk]
    entry = AccessLogEntry.objects.get(action="backup.media_check")
    assert entry.outcome == "failed" and f"#{register[1].pk}" in entry.detail


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"witness": ""},
        {"witness": "x" * 101},
        {"witness": "立会\x00者"},
        {"witness": "立会者", "confirmed": ["999999"]},
        {"witness": "立会者", "confirmed": ["not-a-number"]},
        {"witness": "立会者", "note": "n" * 501},
    ],
    ids=["no-witness", "long-witness", "nul", "unknown-record", "not-a-number", "long-note"],
)
def test_bad_input_is_refused_with_a_message_and_nothing_written(staff_client, register, data):
    response = staff_client("sysadmin").post("/backups/media-check", data)
    assert response.status_code == 400
    assert not MediaCheck.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["auditor", "gyomu", "secadmin"])
def test_only_a_system_administrator_records_a_check(staff_client, register, role):
    client = staff_client(role)
    assert client.post("/backups/media-check", {"witness": "立会者"}).status_code == 403
    assert AccessLogEntry.objects.filter(action="backup.media_check", outcome="refused").exists()
    assert not MediaCheck.objects.exists()


@pytest.mark.django_db
def test_the_auditor_sees_the_checks_on_the_register(staff_client, register):
    MediaCheck.objects.create(checked_at=timezone.now(), checked_by="admin", witness="立会 花子", confirmed=[1])
    page = staff_client("auditor").get("/backups/").content.decode()
    assert "立会 花子" in page and "照合を記録する" not in page


@pytest.mark.django_db
def test_a_check_cannot_be_changed_or_removed(register):
    check = MediaCheck.objects.create(checked_at=timezone.now(), checked_by="admin", witness="立会 花子")
    with pytest.raises(IntegrityError), transaction.atomic():
        MediaCheck.objects.filter(pk=check.pk).update(witness="別人")
    with pytest.raises(IntegrityError), transaction.atomic():
        MediaCheck.objects.filter(pk=check.pk).delete()


@pytest.mark.django_db
def test_the_register_warns_after_a_week_without_a_check(staff_client, register):
    assert media_check_overdue()  # backups exist, never checked
    checked = timezone.now()
    MediaCheck.objects.create(
        checked_at=checked, checked_by="admin", witness="立会", confirmed=[r.pk for r in register[:2]]
    )
    assert not media_check_overdue(checked + dt.timedelta(days=7))
    with time_machine.travel(checked + dt.timedelta(days=8), tick=False):
        assert media_check_overdue()
        assert "7日を過ぎています" in staff_client("sysadmin").get("/backups/").content.decode()
