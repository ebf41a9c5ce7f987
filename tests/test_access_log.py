"""The access log: append-only in the database, chained by one sealer, verified end to end.

Tampering is done the way a DBA would: plain SQL with ``session_replication_role = replica``
(which skips the append-only triggers; the test database user is a superuser).
"""

import base64
import hashlib
import json
import os
import stat
import threading
from datetime import UTC
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction

from audit import context, log_chain
from audit.access_log import log_event
from audit.models import AccessLogEntry, ChainHead, Operator, RemovalRecord, Role, SubjectKind

GENESIS = "0" * 64


@pytest.fixture(autouse=True)
def _head_key_and_copy(tmp_path, settings, monkeypatch):
    """The chain-head key and the heads copy live in a throwaway directory, never var/."""
    settings.AUDIT_HEAD_KEY_FILE = str(tmp_path / "keys" / "audit-head.key")
    settings.AUDIT_HEADS_FILE = str(tmp_path / "audit-heads.jsonl")
    monkeypatch.delenv(log_chain.HEAD_KEY_ENV, raising=False)
    return tmp_path


def make_entries(count: int, *, actor: str = "op-yamada") -> list[AccessLogEntry]:
    with context.acting(actor_kind="operator", actor=actor, terminal="T-001", remote_addr="10.0.0.5"):
        return [
            log_event(action="search", target_file="honnin", target_code=f"{i:011d}", duty="D01", detail=f"検索 {i}")
            for i in range(count)
        ]


def sealed_chain() -> list[AccessLogEntry]:
    return list(AccessLogEntry.objects.filter(seal_seq__isnull=False).order_by("seal_seq"))


def independent_hash(prev_hash: str, e: AccessLogEntry) -> str:
    """The documented format, computed without log_chain's helpers."""
    payload = {
        "id": e.id,
        "occurred_at": e.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_kind": e.actor_kind,
        "actor": e.actor,
        "terminal": e.terminal,
        "action": e.action,
        "target_file": e.target_file,
        "target_code": e.target_code,
        "duty": e.duty,
        "outcome": e.outcome,
        "detail": e.detail,
        "request_id": e.request_id,
        "remote_addr": e.remote_addr,
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest()


def as_dba(sql: str, params=None) -> None:
    """Run SQL past the triggers, as a superuser could."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("SET LOCAL session_replication_role = origin")


def refused(sql: str, params=None) -> str:
    with pytest.raises(DatabaseError) as info, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(info.value)


def problem_ids(problems) -> set[int]:
    return {i for p in problems for i in p.entry_ids}


# --- sealing ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_logged_entries_are_sealed_in_id_order_with_chained_hashes():
    entries = make_entries(5)
    assert all(e.seal_seq is None and e.entry_hash == "" for e in AccessLogEntry.objects.all())

    assert log_chain.seal_pending() == 5

    chain = sealed_chain()
    assert [e.id for e in chain] == [e.id for e in entries]
    assert [e.seal_seq for e in chain] == [1, 2, 3, 4, 5]
    prev = GENESIS
    for e in chain:
        assert e.prev_hash == prev
        assert e.entry_hash == independent_hash(prev, e)
        assert e.sealed_at is not None
        prev = e.entry_hash


@pytest.mark.django_db
def test_sealing_is_idempotent_and_continues_the_chain():
    make_entries(3)
    log_chain.seal_pending()
    before = [(e.id, e.seal_seq, e.entry_hash, e.sealed_at) for e in sealed_chain()]

    assert log_chain.seal_pending() == 0
    assert [(e.id, e.seal_seq, e.entry_hash, e.sealed_at) for e in sealed_chain()] == before

    make_entries(2)
    assert log_chain.seal_pending(batch_size=1) == 2  # several batches in one run
    chain = sealed_chain()
    assert [e.seal_seq for e in chain] == [1, 2, 3, 4, 5]
    assert chain[3].prev_hash == chain[2].entry_hash
    assert log_chain.verify_chain().ok


@pytest.mark.django_db
def test_an_entry_committed_late_with_a_lower_id_gets_a_later_seal_seq():
    entries = make_entries(3)
    log_chain.seal_pending()
    # A transaction that drew its id before the others but committed after they were sealed.
    late = AccessLogEntry.objects.create(
        id=entries[0].id - 1,
        occurred_at=entries[0].occurred_at,
        actor_kind="operator",
        actor="op-late",
        action="view",
        outcome="ok",
    )

    assert log_chain.seal_pending() == 1
    late.refresh_from_db()
    assert late.seal_seq == 4
    assert log_chain.verify_chain().ok


@pytest.mark.django_db
def test_a_sealer_waits_its_turn_while_another_holds_the_lock():
    make_entries(2)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [log_chain.SEALER_LOCK_KEY])
        assert log_chain.seal_pending() == 0
        assert AccessLogEntry.objects.filter(seal_seq__isnull=True).count() == 2
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [log_chain.SEALER_LOCK_KEY])
    finally:
        other.close()
    assert log_chain.seal_pending() == 2


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sealers_never_seal_an_entry_twice():
    make_entries(60)
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    counts: list[int] = []

    def sealer():
        try:
            start.wait()
            sealed = 0
            while AccessLogEntry.objects.filter(seal_seq__isnull=True).exists():
                sealed += log_chain.seal_pending(batch_size=5, max_batches=1)
            counts.append(sealed)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sealer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert sum(counts) == 60
    assert sorted(AccessLogEntry.objects.values_list("seal_seq", flat=True)) == list(range(1, 61))
    assert log_chain.verify_chain().ok


@pytest.mark.django_db
def test_the_seal_task_seals_pending_entries():
    from audit import tasks

    make_entries(2)
    assert tasks.seal_log() == 2
    assert {e["task"] for e in tasks.BEAT_SCHEDULE.values()} == {"audit.seal_log", "audit.publish_chain_head"}


# --- the database refuses changes ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("sealed", [False, True])
def test_the_database_refuses_deleting_an_entry(sealed):
    entry = make_entries(1)[0]
    if sealed:
        log_chain.seal_pending()

    message = refused("DELETE FROM audit_accesslogentry WHERE id = %s", [entry.id])
    assert "append-only" in message and "操作記録は削除できません" in message
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLogEntry.objects.filter(id=entry.id).delete()
    assert AccessLogEntry.objects.filter(id=entry.id).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("sealed", [False, True])
def test_the_database_refuses_changing_an_entry(sealed):
    entry = make_entries(1)[0]
    if sealed:
        log_chain.seal_pending()

    assert "操作記録は変更できません" in refused(
        "UPDATE audit_accesslogentry SET detail = 'x' WHERE id = %s", [entry.id]
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLogEntry.objects.filter(id=entry.id).update(outcome="refused")
    entry.refresh_from_db()
    assert entry.detail == "検索 0" and entry.outcome == "ok"


@pytest.mark.django_db
def test_the_database_allows_only_the_sealing_itself():
    entry = make_entries(1)[0]
    # Sealing while changing the content is refused.
    refused(
        "UPDATE audit_accesslogentry SET seal_seq = 1, prev_hash = %s, entry_hash = %s, sealed_at = now(),"
        " actor = 'someone-else' WHERE id = %s",
        [GENESIS, "a" * 64, entry.id],
    )
    log_chain.seal_pending()
    # A sealed entry cannot be resealed, moved or unsealed.
    refused("UPDATE audit_accesslogentry SET seal_seq = 7 WHERE id = %s", [entry.id])
    refused("UPDATE audit_accesslogentry SET entry_hash = %s WHERE id = %s", ["b" * 64, entry.id])
    refused("UPDATE audit_accesslogentry SET seal_seq = NULL WHERE id = %s", [entry.id])
    entry.refresh_from_db()
    assert entry.seal_seq == 1


@pytest.mark.django_db
def test_the_database_refuses_inserting_a_ready_sealed_entry():
    refused(
        "INSERT INTO audit_accesslogentry (occurred_at, actor_kind, actor, terminal, action, target_file,"
        " target_code, duty, outcome, detail, request_id, remote_addr, seal_seq, prev_hash, entry_hash, sealed_at)"
        " VALUES (now(), 'operator', 'x', '', 'view', '', '', '', 'ok', '', '', '', 1, %s, %s, now())",
        [GENESIS, "c" * 64],
    )


@pytest.mark.django_db
def test_removal_records_and_chain_heads_cannot_be_changed_or_deleted():
    admin = Operator.objects.create(
        login_id="sys-admin", staff_number="S1", full_name="管理 太郎", department="情報", roles=[Role.SYSADMIN]
    )
    sec = Operator.objects.create(
        login_id="sec-admin", staff_number="S2", full_name="保安 花子", department="情報", roles=[Role.SECADMIN]
    )
    record = RemovalRecord.objects.create(
        subject_kind=SubjectKind.OPERATOR,
        subject_id="op-yamada",
        action=RemovalRecord.Action.SUSPEND,
        reason="調査のため",
        requested_by=sec,
        executed_by=admin,
    )
    assert "append-only" in refused("UPDATE audit_removalrecord SET reason = 'x' WHERE id = %s", [record.id])
    refused("DELETE FROM audit_removalrecord WHERE id = %s", [record.id])
    with pytest.raises(DatabaseError), transaction.atomic():
        record.delete()

    head = log_chain.publish_chain_head()
    refused("UPDATE audit_chainhead SET entry_hash = %s WHERE id = %s", ["d" * 64, head.id])
    refused("DELETE FROM audit_chainhead WHERE id = %s", [head.id])
    assert RemovalRecord.objects.get(id=record.id).reason == "調査のため"


@pytest.mark.django_db
def test_a_personal_number_in_the_detail_is_redacted():
    entry = log_event(action="view", detail="照会 個人番号123456789012 の件")
    entry.refresh_from_db()
    assert "123456789012" not in entry.detail
    assert "[個人番号秘匿]" in entry.detail


# --- verification -------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_intact_chain_verifies_in_chunks():
    make_entries(7)
    log_chain.seal_pending()
    log_chain.publish_chain_head()

    report = log_chain.verify_chain(chunk_size=2)  # keyset pagination across several chunks
    assert report.ok
    assert report.checked == 7 and report.last_seal_seq == 7
    assert report.heads_checked == 1
    assert report.problems == [] and report.warnings == []


@pytest.mark.django_db
def test_unsealed_entries_are_reported_as_unsealed_not_as_tampering():
    make_entries(3)
    log_chain.seal_pending()
    late = make_entries(2)

    report = log_chain.verify_chain()
    assert report.ok
    assert report.checked == 3 and report.unsealed == 2
    assert report.oldest_unsealed_id == late[0].id


@pytest.mark.django_db
def test_an_altered_entry_is_named():
    entries = make_entries(5)
    log_chain.seal_pending()
    victim = entries[2]
    as_dba("UPDATE audit_accesslogentry SET detail = '検索なし' WHERE id = %s", [victim.id])

    report = log_chain.verify_chain()
    assert not report.ok
    assert [p.entry_ids for p in report.altered] == [(victim.id,)]
    assert report.altered[0].seal_seqs == (3,)
    assert f"記録ID {victim.id}" in report.altered[0].message_ja
    assert report.removed == [] and report.reordered == []


@pytest.mark.django_db
def test_a_removed_entry_is_named_by_its_seal_seq_and_neighbours():
    entries = make_entries(5)
    log_chain.seal_pending()
    as_dba("DELETE FROM audit_accesslogentry WHERE id = %s", [entries[2].id])

    report = log_chain.verify_chain()
    assert not report.ok
    [problem] = report.removed
    assert problem.seal_seqs == (3,)
    assert problem.entry_ids == (entries[1].id, entries[3].id)
    assert "連番 3" in problem.message_ja
    assert report.altered == [] and report.reordered == []


@pytest.mark.django_db
def test_removing_the_end_of_the_chain_is_caught_by_the_published_head():
    entries = make_entries(4)
    log_chain.publish_chain_head()
    as_dba("DELETE FROM audit_accesslogentry WHERE id = %s", [entries[-1].id])

    report = log_chain.verify_chain()
    assert not report.ok
    [problem] = report.head_problems
    assert problem.seal_seqs == (4,)
    assert "末尾が削除" in problem.message_ja


@pytest.mark.django_db
def test_reordered_entries_are_detected_with_their_ids():
    entries = make_entries(6)
    log_chain.seal_pending()
    a, b = entries[1], entries[4]  # seal_seq 2 and 5
    # Move the two sealed rows into each other's place (the unique seal_seq needs a detour).
    as_dba("UPDATE audit_accesslogentry SET seal_seq = -1 WHERE id = %s", [a.id])
    as_dba("UPDATE audit_accesslogentry SET seal_seq = 2 WHERE id = %s", [b.id])
    as_dba("UPDATE audit_accesslogentry SET seal_seq = 5 WHERE id = %s", [a.id])

    report = log_chain.verify_chain()
    assert not report.ok
    assert report.reordered
    assert {a.id, b.id} <= problem_ids(report.reordered)
    first = report.reordered[0]
    assert first.seal_seqs == (2,) and b.id in first.entry_ids
    assert f"記録ID {entries[3].id}" in first.message_ja  # where b really belongs: after seal_seq 4


@pytest.mark.django_db
def test_swapped_contents_of_two_entries_are_detected_with_their_ids():
    entries = make_entries(5, actor="op-a")
    a, b = entries[1], entries[3]
    log_chain.seal_pending()
    as_dba(
        "UPDATE audit_accesslogentry AS e SET detail = o.detail, target_code = o.target_code"
        " FROM audit_accesslogentry AS o WHERE (e.id, o.id) IN ((%s, %s), (%s, %s))",
        [a.id, b.id, b.id, a.id],
    )

    report = log_chain.verify_chain()
    assert not report.ok
    assert problem_ids(report.altered) == {a.id, b.id}


@pytest.mark.django_db
def test_a_rewritten_and_rehashed_chain_is_caught_by_the_published_head():
    entries = make_entries(6)
    log_chain.publish_chain_head()
    victim = entries[2]
    # The attacker changes one entry and recomputes every hash after it.
    as_dba("UPDATE audit_accesslogentry SET detail = '改ざん' WHERE id = %s", [victim.id])
    prev = AccessLogEntry.objects.get(seal_seq=2).entry_hash
    for e in AccessLogEntry.objects.filter(seal_seq__gte=3).order_by("seal_seq").values(*log_chain._WALK_FIELDS):
        digest = log_chain.entry_digest(prev, e)
        as_dba("UPDATE audit_accesslogentry SET prev_hash = %s, entry_hash = %s WHERE id = %s", [prev, digest, e["id"]])
        prev = digest

    # The chain alone is consistent again; only the signed head shows the rewrite.
    report = log_chain.verify_chain()
    assert report.altered == [] and report.removed == [] and report.reordered == []
    assert not report.ok
    [problem] = report.head_problems
    assert problem.seal_seqs == (6,) and problem.entry_ids == (entries[5].id,)
    assert "連番 1〜6" in problem.message_ja

    # Removing the head from the database does not help: the copy outside it remains.
    as_dba("DELETE FROM audit_chainhead")
    assert log_chain.verify_chain().ok  # nothing left inside the database to compare with
    report = log_chain.verify_chain(extra_heads=log_chain.read_heads_file())
    assert not report.ok
    assert any("データベースから消えています" in p.message_ja for p in report.head_problems)
    assert any(p.entry_ids == (entries[5].id,) for p in report.head_problems)


@pytest.mark.django_db
def test_a_forged_head_is_detected_by_its_signature():
    make_entries(3)
    log_chain.publish_chain_head()
    forged_hash = "e" * 64
    as_dba(
        "INSERT INTO audit_chainhead (published_at, seal_seq, entry_hash, signature, key_id)"
        " SELECT now(), 3, %s, %s, key_id FROM audit_chainhead LIMIT 1",
        [forged_hash, "f" * 64],
    )
    report = log_chain.verify_chain()
    assert not report.ok
    assert any("署名が正しくありません" in p.message_ja for p in report.head_problems)


@pytest.mark.django_db
def test_the_command_reports_an_intact_chain(capsys):
    make_entries(3)
    log_chain.seal_pending()
    make_entries(1)
    call_command("verify_audit_log")
    out = capsys.readouterr().out
    assert "操作記録の連鎖は正常です（3件、未封印1件）" in out


@pytest.mark.django_db
def test_the_command_seals_first_when_asked(capsys):
    make_entries(2)
    call_command("verify_audit_log", "--seal-first")
    assert "操作記録の連鎖は正常です（2件、未封印0件）" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_command_fails_and_names_the_tampered_entry(capsys):
    entries = make_entries(4)
    log_chain.seal_pending()
    as_dba("UPDATE audit_accesslogentry SET actor = 'nobody' WHERE id = %s", [entries[1].id])

    with pytest.raises(CommandError) as info:
        call_command("verify_audit_log")
    assert "改ざん" in str(info.value)
    assert f"記録ID {entries[1].id}" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_command_reads_the_heads_copy_outside_the_database(capsys):
    entries = make_entries(2)
    call_command("publish_audit_head")
    assert "連鎖の先頭を公開しました：連番 2" in capsys.readouterr().out
    as_dba("DELETE FROM audit_chainhead")
    as_dba("DELETE FROM audit_accesslogentry WHERE id = %s", [entries[1].id])

    with pytest.raises(CommandError):
        call_command("verify_audit_log")
    assert "連番 2" in capsys.readouterr().out


# --- the chain head and its key -----------------------------------------------------------


@pytest.mark.django_db
def test_publishing_a_head_creates_a_private_development_key_and_a_copy_outside_the_database(settings):
    make_entries(2)
    head = log_chain.publish_chain_head()

    assert head.seal_seq == 2
    assert head.entry_hash == AccessLogEntry.objects.get(seal_seq=2).entry_hash
    key_path = settings.AUDIT_HEAD_KEY_FILE
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    key = base64.b64decode(Path(key_path).read_text(encoding="ascii"))
    assert head.key_id == hashlib.sha256(key).hexdigest()[:8]
    assert head.signature == log_chain.sign_head(key, 2, head.entry_hash)

    [line] = log_chain.read_heads_file()
    assert (line["seal_seq"], line["entry_hash"], line["signature"]) == (2, head.entry_hash, head.signature)

    again = log_chain.publish_chain_head()  # same key reused
    assert again.key_id == head.key_id


@pytest.mark.django_db
def test_an_empty_log_publishes_the_genesis_head():
    head = log_chain.publish_chain_head()
    assert (head.seal_seq, head.entry_hash) == (0, GENESIS)
    assert log_chain.verify_chain().ok


@pytest.mark.django_db
def test_the_head_key_may_come_from_the_environment(monkeypatch, settings):
    key = os.urandom(32)
    monkeypatch.setenv(log_chain.HEAD_KEY_ENV, base64.b64encode(key).decode())
    head = log_chain.publish_chain_head()
    assert head.key_id == hashlib.sha256(key).hexdigest()[:8]
    assert not os.path.exists(settings.AUDIT_HEAD_KEY_FILE)


@pytest.mark.django_db
def test_production_refuses_to_publish_without_a_key(settings):
    settings.PRODUCTION = True
    with pytest.raises(log_chain.HeadKeyError):
        log_chain.publish_chain_head()
    assert not os.path.exists(settings.AUDIT_HEAD_KEY_FILE)
    assert ChainHead.objects.count() == 0
    with pytest.raises(CommandError):
        call_command("publish_audit_head")


@pytest.mark.django_db
def test_verification_without_the_key_warns_but_still_compares_the_heads(settings):
    make_entries(2)
    log_chain.publish_chain_head()
    os.remove(settings.AUDIT_HEAD_KEY_FILE)

    report = log_chain.verify_chain()
    assert report.ok
    assert any("署名鍵がありません" in w for w in report.warnings)
    assert not os.path.exists(settings.AUDIT_HEAD_KEY_FILE)  # verification never creates a key
