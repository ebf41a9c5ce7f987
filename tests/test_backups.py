"""Encrypted backups, restore, contractor files and the backup register pages (docs/backups.md).

Real PostgreSQL: ``manage.py backup`` dumps the test database with pg_dump through the envelope,
``manage.py restore`` loads it into a new database with pg_restore; the tests compare and drop it.
"""

import csv
import datetime as dt
import hashlib
import io
import os
import secrets
import stat
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from people import make_fuhyo, make_resident, my_number_for

from audit import backups
from audit.contractor_files import COLUMNS, seal_for_contractor
from audit.models import AccessLogEntry, BackupRecord, StoredFileKind
from jukinet import envelope


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory):
    """A throwaway key pair: the public half is what the system uses, the private half the test's."""
    directory = tmp_path_factory.mktemp("backup-keys")
    key = envelope.generate_private_key(3072)
    (directory / "backup-public.pem").write_bytes(envelope.public_key_pem(key.public_key()))
    (directory / "backup-private.pem").write_bytes(envelope.private_key_pem(key))
    return key, directory


@pytest.fixture(scope="module")
def other_private_key(tmp_path_factory):
    path = tmp_path_factory.mktemp("other-key") / "other-private.pem"
    path.write_bytes(envelope.private_key_pem(envelope.generate_private_key(3072)))
    return path


@pytest.fixture(autouse=True)
def _backup_settings(key_pair, tmp_path, settings):
    settings.BACKUP_PUBLIC_KEY_FILE = str(key_pair[1] / "backup-public.pem")
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.CONTRACTOR_FILE_DIR = tmp_path / "contractor-files"


@pytest.fixture
def private_key_file(key_pair) -> Path:
    return key_pair[1] / "backup-private.pem"


@pytest.fixture
def sysadmin(make_operator):
    return make_operator("sysadmin", login_id="bk-admin")


def _maintenance():
    return psycopg.connect(**backups.libpq_params(dbname="postgres"), autocommit=True)


def _databases_like(prefix: str) -> list[str]:
    with _maintenance() as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix + "%"]).fetchall()
    return [r[0] for r in rows]


def _drop(name: str) -> None:
    with _maintenance() as conn:
        backups.drop_database(conn, name)


def _table_digest(dbname: str, table: str) -> tuple[int, str]:
    with psycopg.connect(**backups.libpq_params(dbname=dbname)) as conn:
        count, digest = conn.execute(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM {table} t"
        ).fetchone()
    return count, digest


def _backup(**options) -> BackupRecord:
    call_command("backup", stdout=io.StringIO(), **options)
    return BackupRecord.objects.filter(kind=StoredFileKind.BACKUP).order_by("-pk").first()


def _path(record: BackupRecord) -> Path:
    return Path(record.location) / record.file_name


# --- Backup and restore ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_a_new_database_with_the_same_rows(sysadmin, private_key_file):
    for n in range(25):
        make_resident(my_number=my_number_for(9000 + n), name=f"復元　試験{n}")
    make_fuhyo()
    record = _backup(operator=sysadmin.login_id, note="週次バックアップ")
    path = _path(record)

    # The register entry describes the encrypted file exactly.
    assert record.created_by == "bk-admin" and record.note == "週次バックアップ"
    assert record.scope == f"データベース全体（{connection.settings_dict['NAME']}）"
    assert record.size_bytes == path.stat().st_size
    assert record.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record.key_fingerprint == envelope.fingerprint_text(envelope.load_private_key(private_key_file).public_key())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(envelope.MAGIC)
    assert "復元".encode() not in path.read_bytes()  # nothing readable in the file
    assert not list(path.parent.glob(".*.partial"))
    created = AccessLogEntry.objects.get(action="backup.create")
    assert created.actor == "bk-admin" and created.target_code == f"backup:{record.pk}"

    target = f"rt_{secrets.token_hex(4)}"
    try:
        call_command("restore", str(path), private_key=str(private_key_file), database=target, stdout=io.StringIO())
        source = connection.settings_dict["NAME"]
        for table in ("honnin_resident", "fuhyo_record", "audit_operator"):
            assert _table_digest(target, table) == _table_digest(source, table), table
        assert _table_digest(target, "honnin_resident")[0] == 25
        assert _databases_like(f"{target}_restore_") == []  # the staging name is gone
        restored = AccessLogEntry.objects.get(action="backup.restore", outcome="ok")
        assert restored.target_code == f"backup:{record.pk}" and target in restored.detail

        # The target now holds data: a second restore is refused unless --force, which replaces it.
        with pytest.raises(CommandError, match="E_BACKUP_TARGET_NOT_EMPTY"):
            call_command("restore", str(path), private_key=str(private_key_file), database=target)
        call_command(
            "restore", str(path), private_key=str(private_key_file), database=target, force=True, stdout=io.StringIO()
        )
        assert _table_digest(target, "honnin_resident")[0] == 25
    finally:
        _drop(target)


@pytest.mark.django_db
def test_the_default_target_is_the_running_database_which_is_never_overwritten_without_force(private_key_file):
    record = _backup()
    with pytest.raises(CommandError, match="空ではありません"):
        call_command("restore", str(_path(record)), private_key=str(private_key_file))
    assert AccessLogEntry.objects.filter(action="backup.restore", outcome="refused").exists()
    assert _databases_like(f"{connection.settings_dict['NAME']}_restore_") == []


@pytest.mark.django_db
def test_the_register_is_append_only(sysadmin):
    record = _backup(operator=sysadmin.login_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        BackupRecord.objects.filter(pk=record.pk).update(note="書き換え")
    with pytest.raises(IntegrityError), transaction.atomic():
        BackupRecord.objects.filter(pk=record.pk).delete()
    assert BackupRecord.objects.get(pk=record.pk).note == ""


@pytest.mark.django_db
def test_a_file_that_does_not_match_its_register_entry_is_refused_before_anything(private_key_file):
    record = _backup()
    path = _path(record)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.write_bytes(bytes(data))
    target = f"rt_{secrets.token_hex(4)}"
    with pytest.raises(CommandError, match="E_BACKUP_CHECKSUM"):
        call_command("restore", str(path), private_key=str(private_key_file), database=target)
    assert _databases_like(target) == []
    refusal = AccessLogEntry.objects.get(action="backup.restore", outcome="refused")
    assert "E_BACKUP_CHECKSUM" in refusal.detail


@pytest.mark.django_db
def test_a_file_unknown_to_the_register_needs_the_checksum_from_a_copy_of_the_register(private_key_file, tmp_path):
    record = _backup()
    stray = tmp_path / "stray.dump.jkenc"
    stray.write_bytes(_path(record).read_bytes())
    with pytest.raises(CommandError, match="E_BACKUP_NOT_REGISTERED"):
        call_command("restore", str(stray), private_key=str(private_key_file), database="rt_never")
    with pytest.raises(CommandError, match="E_BACKUP_CHECKSUM"):
        call_command("restore", str(stray), private_key=str(private_key_file), database="rt_never", sha256="0" * 64)
    with pytest.raises(CommandError, match="E_BACKUP_SHA256"):
        call_command("restore", str(stray), private_key=str(private_key_file), database="rt_never", sha256="xyz")
    assert _databases_like("rt_never") == []


@pytest.mark.django_db
def test_the_wrong_private_key_is_refused_and_no_database_is_left_behind(other_private_key):
    record = _backup()
    target = f"rt_{secrets.token_hex(4)}"
    with pytest.raises(CommandError, match="E_ENVELOPE_KEY_MISMATCH"):
        call_command("restore", str(_path(record)), private_key=str(other_private_key), database=target)
    assert _databases_like(target) == []


@pytest.mark.django_db
@pytest.mark.parametrize("damage", ["tampered_last_chunk", "truncated"])
def test_a_file_that_fails_decryption_part_way_leaves_no_half_restored_database(
    private_key_file, tmp_path, damage, monkeypatch
):
    # Small chunks: the dump spans many, so pg_restore has received data before the failure.
    monkeypatch.setattr(backups, "CHUNK_SIZE", 16 * 1024)
    record = _backup()
    data = bytearray(_path(record).read_bytes())
    assert len(data) > 4 * backups.CHUNK_SIZE
    if damage == "truncated":
        data = data[: len(data) - 100]
    else:
        data[-20] ^= 0x01
    damaged = tmp_path / f"damaged-{damage}.jkenc"
    damaged.write_bytes(bytes(data))
    target = f"rt_{secrets.token_hex(4)}"
    digest = hashlib.sha256(bytes(data)).hexdigest()
    with pytest.raises(CommandError, match="E_ENVELOPE_TAMPERED"):
        call_command("restore", str(damaged), private_key=str(private_key_file), database=target, sha256=digest)
    assert _databases_like(target) == []
    failed = AccessLogEntry.objects.get(action="backup.restore", outcome="failed")
    assert "E_ENVELOPE_TAMPERED" in failed.detail


@pytest.mark.django_db
def test_the_database_password_goes_to_pg_dump_in_its_environment_never_on_argv(monkeypatch):
    seen = {}
    real_popen = backups.subprocess.Popen

    def spy(command, *args, env=None, **kwargs):
        seen["argv"], seen["env"] = list(command), dict(env or {})
        return real_popen(command, *args, env=env, **kwargs)

    monkeypatch.setitem(connection.settings_dict, "PASSWORD", "pw-Secret-123")
    monkeypatch.setattr(backups.subprocess, "Popen", spy)
    out = io.StringIO()
    call_command("backup", stdout=out)  # the dev cluster trusts its socket: the password is not checked
    assert seen["env"]["PGPASSWORD"] == "pw-Secret-123"
    assert not any("pw-Secret-123" in part for part in seen["argv"])
    assert "pw-Secret-123" not in out.getvalue()
    assert not AccessLogEntry.objects.filter(detail__contains="pw-Secret").exists()


@pytest.mark.django_db
def test_a_failing_pg_dump_leaves_no_file_and_no_register_entry(tmp_path, monkeypatch, settings):
    major = backups.server_major()
    fake = tmp_path / "bin" / "pg_dump"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) {major}.99"; exit 0; fi\n'
        "head -c 3000000 /dev/zero\n"
        'echo "pg_dump: error: connection lost 123456789012" >&2\n'
        "exit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("JUKINET_PG_BINDIR", str(fake.parent))
    with pytest.raises(CommandError, match="E_BACKUP_DUMP") as caught:
        call_command("backup")
    assert "123456789012" not in str(caught.value)  # a 12-digit run is redacted from the message
    assert not BackupRecord.objects.exists()
    assert not list(Path(settings.BACKUP_DIR).iterdir())
    failed = AccessLogEntry.objects.get(action="backup.create")
    assert failed.outcome == "failed" and "E_BACKUP_DUMP" in failed.detail and "123456789012" not in failed.detail


@pytest.mark.django_db
def test_without_the_public_key_no_backup_is_made_and_the_message_says_what_to_do(settings, tmp_path):
    settings.BACKUP_PUBLIC_KEY_FILE = str(tmp_path / "absent.pem")
    with pytest.raises(CommandError, match="make_backup_keys"):
        call_command("backup")
    assert not BackupRecord.objects.exists()


@pytest.mark.django_db
def test_only_an_active_system_administrator_may_be_named_as_the_operator(make_operator):
    gyomu = make_operator("gyomu", login_id="bk-gyomu")
    with pytest.raises(CommandError, match="E_FORBIDDEN"):
        call_command("backup", operator=gyomu.login_id)
    with pytest.raises(CommandError, match="E_OPERATOR_UNKNOWN"):
        call_command("backup", operator="nobody-here")
    assert not BackupRecord.objects.exists()
    refusals = AccessLogEntry.objects.filter(action="backup.create", outcome="refused")
    assert {e.actor for e in refusals} == {"bk-gyomu", "nobody-here"}


def test_the_pg_tools_match_the_server_major_version_or_fail_clearly(db):
    major = backups.server_major()
    assert backups._tool_major(backups.find_pg_tool("pg_dump", major)) == major
    assert backups._tool_major(backups.find_pg_tool("pg_restore", major)) == major
    with pytest.raises(backups.BackupFailed, match="JUKINET_PG_BINDIR") as caught:
        backups.find_pg_tool("pg_dump", 99)
    assert caught.value.code == "E_BACKUP_NO_PG_TOOLS"


def test_make_backup_keys_writes_a_pair_once_and_then_does_nothing(tmp_path, settings):
    settings.BACKUP_PUBLIC_KEY_FILE = str(tmp_path / "keys" / "backup-public.pem")
    call_command("make_backup_keys", stdout=io.StringIO())
    public, private = tmp_path / "keys" / "backup-public.pem", tmp_path / "keys" / "backup-private.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = envelope.load_private_key(private)
    assert envelope.fingerprint(envelope.load_public_key(public)) == envelope.fingerprint(key.public_key())
    before = (public.read_bytes(), private.read_bytes())
    out = io.StringIO()
    call_command("make_backup_keys", stdout=out)
    assert "何もしません" in out.getvalue()
    assert (public.read_bytes(), private.read_bytes()) == before


# --- Contractor files ------------------------------------------------------------------------------


def _open(record: BackupRecord, private_key) -> list[dict]:
    with _path(record).open("rb") as source:
        text = b"".join(envelope.open_stream(source, private_key)).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.django_db
def test_a_contractor_file_holds_the_current_set_of_one_municipality_sealed(sysadmin, key_pair, other_private_key):
    first = make_resident(
        my_number=my_number_for(7001), name="𠮷田　太郎", former_surname="山田", former_surname_kana="ヤマダ"
    )
    second = make_resident(my_number=my_number_for(7002), name="鈴木　花子", sex="2")
    make_resident(my_number=my_number_for(7003), deleted=True, change_reason="転出")  # 消除者: not in the set
    make_resident(my_number=my_number_for(7004), municipality_code="112089")  # another municipality
    out = io.StringIO()
    call_command(
        "contractor_file",
        municipality="112011",
        file="honnin",
        recipient="株式会社委託先",
        operator=sysadmin.login_id,
        stdout=out,
    )
    record = BackupRecord.objects.get(kind=StoredFileKind.CONTRACTOR)
    assert record.recipient == "株式会社委託先" and record.created_by == "bk-admin"
    assert "112011" in record.scope and "個人番号を含む" in record.scope
    raw = _path(record).read_bytes()
    assert record.sha256 == hashlib.sha256(raw).hexdigest() and record.size_bytes == len(raw)
    assert stat.S_IMODE(_path(record).stat().st_mode) == 0o600
    assert my_number_for(7001).encode() not in raw and "鈴木".encode() not in raw

    rows = _open(record, key_pair[0])
    assert list(rows[0].keys()) == list(COLUMNS["honnin"])
    assert [r["juminhyo_code"] for r in rows] == sorted([first.juminhyo_code, second.juminhyo_code])
    by_code = {r["juminhyo_code"]: r for r in rows}
    assert by_code[first.juminhyo_code]["my_number"] == my_number_for(7001)
    assert by_code[first.juminhyo_code]["name"] == "𠮷田　太郎"
    assert by_code[first.juminhyo_code]["former_surname_kana"] == "ヤマダ"
    assert by_code[second.juminhyo_code]["birth_date"] == "1985-03-01"
    assert by_code[second.juminhyo_code]["sex"] == "2"

    # Without the private key it cannot be read.
    with pytest.raises(envelope.KeyMismatch):
        _open(record, envelope.load_private_key(other_private_key))

    entry = AccessLogEntry.objects.get(action="contractor_file.create")
    assert entry.actor == "bk-admin" and entry.target_code == f"backup:{record.pk}" and entry.target_file == "honnin"
    assert "2件" in entry.detail and "株式会社委託先" in entry.detail
    assert my_number_for(7001) not in entry.detail and "鈴木" not in entry.detail


@pytest.mark.django_db
def test_a_fuhyo_contractor_file_has_the_fuhyo_items_and_no_my_number(key_pair):
    kept = make_fuhyo(managing_municipality_code="112011")
    make_fuhyo(managing_municipality_code="112011", status="1", notice_kind="3", change_reason="死亡")
    make_fuhyo(managing_municipality_code="112089")
    call_command("contractor_file", municipality="112011", file="fuhyo", recipient="委託先", stdout=io.StringIO())
    record = BackupRecord.objects.get(kind=StoredFileKind.CONTRACTOR)
    assert record.created_by == "system" and "個人番号" not in record.scope
    rows = _open(record, key_pair[0])
    assert [r["juminhyo_code"] for r in rows] == [kept.juminhyo_code]
    assert "my_number" not in rows[0] and rows[0]["managing_municipality_code"] == "112011"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "options, code",
    [
        ({"municipality": "112012", "file": "honnin", "recipient": "委託先"}, "E_CONTRACTOR_MUNICIPALITY"),
        ({"municipality": "131016", "file": "honnin", "recipient": "委託先"}, "E_CONTRACTOR_MUNICIPALITY"),
        ({"municipality": "11201１", "file": "honnin", "recipient": "委託先"}, "E_CONTRACTOR_MUNICIPALITY"),
        ({"municipality": "112011", "file": "honnin", "recipient": "  "}, "E_CONTRACTOR_RECIPIENT"),
        ({"municipality": "112011", "file": "honnin", "recipient": "委\x00託"}, "E_BACKUP_TEXT"),
        ({"municipality": "112011", "file": "honnin", "recipient": "委" * 101}, "E_BACKUP_TEXT"),
    ],
)
def test_bad_contractor_file_requests_are_refused_with_a_code_and_nothing_written(options, code, settings):
    make_resident(my_number=my_number_for(7100))
    with pytest.raises(CommandError, match=code):
        call_command("contractor_file", **options)
    assert not BackupRecord.objects.exists()
    directory = Path(settings.CONTRACTOR_FILE_DIR)
    assert not directory.exists() or not list(directory.iterdir())


@pytest.mark.django_db
def test_seal_for_contractor_seals_any_lines_for_other_producers(key_pair):
    lines = ["juminhyo_code,kind\n", *[f"{70000000000 + n},different\n" for n in range(5000)]]
    record = seal_for_contractor(lines=iter(lines), scope="整合性確認の差分 C1", recipient="委託先", created_by="bk")
    with _path(record).open("rb") as source:
        assert b"".join(envelope.open_stream(source, key_pair[0])).decode() == "".join(lines)
    assert "5000件" in AccessLogEntry.objects.get(action="contractor_file.create").detail


# --- The register pages ------------------------------------------------------------------------------


def _registered(kind=StoredFileKind.BACKUP, content=b"backup bytes " * 1000) -> BackupRecord:
    from django.conf import settings

    name = backups.new_file_name("jukinet-backup", ".dump")
    written = backups.seal_to_file([content], directory=Path(settings.BACKUP_DIR), file_name=name)
    return backups.register_sealed_file(
        kind=kind,
        path=Path(settings.BACKUP_DIR) / name,
        written=written,
        scope="データベース全体（試験）",
        created_by="bk-admin",
        recipient="委託先" if kind == StoredFileKind.CONTRACTOR else "",
        action="backup.create",
        detail=name,
    )


@pytest.mark.django_db
def test_a_system_administrator_sees_the_register_and_a_missing_file_shows_as_missing(staff_client):
    present, gone = _registered(), _registered(kind=StoredFileKind.CONTRACTOR)
    _path(gone).unlink()
    client = staff_client("sysadmin")
    page = client.get("/backups/").content.decode()
    assert present.sha256 in page and present.key_fingerprint in page and present.file_name in page
    assert "ファイルなし" in page and "委託先" in page
    assert client.get("/backups/?kind=contractor").content.decode().count("ファイルなし") >= 1
    assert client.get("/backups/?kind=bogus").status_code == 400
    detail = client.get(f"/backups/{gone.pk}/").content.decode()
    assert "ファイルなし" in detail and "disabled" in detail
    assert client.get("/backups/999999/").status_code == 404


@pytest.mark.django_db
def test_a_system_administrator_copies_the_encrypted_file_with_a_reason_and_the_copy_is_logged(staff_client):
    record = _registered()
    client = staff_client("sysadmin")
    response = client.post(f"/backups/{record.pk}/copy", {"reason": "週次の媒体保管（金庫）"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body == _path(record).read_bytes() and hashlib.sha256(body).hexdigest() == record.sha256
    assert record.file_name in response["Content-Disposition"] and response["Cache-Control"] == "no-store"
    copy = AccessLogEntry.objects.get(action="backup.copy", outcome="ok")
    assert copy.actor == client.operator.login_id and copy.target_code == f"backup:{record.pk}"
    assert "週次の媒体保管（金庫）" in copy.detail
    assert "週次の媒体保管" in client.get(f"/backups/{record.pk}/").content.decode()  # the copy history


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["", "   ", "理" * 201, "改行\x00入り"])
def test_a_copy_without_a_proper_reason_is_refused_with_a_message(staff_client, reason):
    record = _registered()
    response = staff_client("sysadmin").post(f"/backups/{record.pk}/copy", {"reason": reason})
    assert response.status_code == 400
    assert "理由" in response.content.decode() or "ヌル" in response.content.decode()
    assert not AccessLogEntry.objects.filter(action="backup.copy", outcome="ok").exists()


@pytest.mark.django_db
def test_copying_a_file_that_is_gone_answers_404_and_logs_the_refusal(staff_client):
    record = _registered()
    _path(record).unlink()
    response = staff_client("sysadmin").post(f"/backups/{record.pk}/copy", {"reason": "遠隔地保管"})
    assert response.status_code == 404
    assert "保管場所にありません" in response.content.decode()
    refusal = AccessLogEntry.objects.get(action="backup.copy")
    assert refusal.outcome == "refused" and "E_BACKUP_FILE_MISSING" in refusal.detail


@pytest.mark.django_db
def test_a_file_changed_on_disk_is_not_copied(staff_client):
    record = _registered()
    with _path(record).open("ab") as f:
        f.write(b"x")
    response = staff_client("sysadmin").post(f"/backups/{record.pk}/copy", {"reason": "遠隔地保管"})
    assert response.status_code == 409
    assert not AccessLogEntry.objects.filter(action="backup.copy", outcome="ok").exists()


@pytest.mark.django_db
def test_an_auditor_reads_the_register_but_cannot_copy(staff_client):
    record = _registered()
    client = staff_client("auditor")
    assert client.get("/backups/").status_code == 200
    detail = client.get(f"/backups/{record.pk}/")
    assert detail.status_code == 200 and "複製する" not in detail.content.decode()
    assert client.post(f"/backups/{record.pk}/copy", {"reason": "見たい"}).status_code == 403
    refusal = AccessLogEntry.objects.get(action="backup.copy")
    assert refusal.outcome == "refused" and refusal.actor == client.operator.login_id


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["gyomu", "kaiji", "teikyo", "secadmin"])
def test_other_roles_are_refused_the_register_and_the_refusal_is_logged(staff_client, role):
    record = _registered()
    client = staff_client(role)
    assert client.get("/backups/").status_code == 403
    assert client.get(f"/backups/{record.pk}/").status_code == 403
    assert client.post(f"/backups/{record.pk}/copy", {"reason": "x"}).status_code == 403
    assert AccessLogEntry.objects.filter(actor=client.operator.login_id, outcome="refused").count() == 3


@pytest.mark.django_db
def test_the_register_page_does_not_grow_its_queries_with_the_entries(staff_client, django_assert_max_num_queries):
    client = staff_client("sysadmin")
    for _ in range(3):
        _registered()
    with django_assert_max_num_queries(14) as few:  # incl. the media checks and the overdue test
        client.get("/backups/")
    for _ in range(10):
        _registered()
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/backups/")


def test_backup_file_names_carry_no_personal_data_and_sort_by_time():
    name = backups.new_file_name("jukinet-backup", ".dump")
    assert name.startswith("jukinet-backup-") and name.endswith(".dump.jkenc")
    stamp = name.split("-")[2]
    assert dt.datetime.strptime(stamp, "%Y%m%d") and os.sep not in name


@pytest.mark.parametrize("file", ["honnin", "fuhyo"])
def test_contractor_files_use_the_columns_of_the_consistency_check_set(file):
    import importlib

    spec = importlib.import_module(f"{file}.consistency").SPEC
    assert set(COLUMNS[file]) == {column.name for column in spec.columns}
    assert COLUMNS[file][0] == "juminhyo_code"
