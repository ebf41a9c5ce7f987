"""Batch provision (一括提供) end to end: API submit → a system administrator's approval → a real
Celery worker runs it → progress → the AES-256 ZIP result, opened here with pyzipper and checked
row by row → every output recorded. Also: duties not permitted, a rejected batch that never
runs, the staff pages of 提供担当, and a run killed midway that resumes without recording any
row twice.

The worker is a `celery worker` subprocess on pytest-django's test database with this module's
keyring (its log in the test's throwaway directory), consuming a queue of its own
(``provision.*`` tasks are routed there while the module runs), so no other test run's worker
can take — or hand us — a batch.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from people import make_fuhyo, make_resident, my_number_for, next_code

from audit.approvals import approval_decide
from audit.models import AccessLogEntry, OutputApproval
from audit.services import client_issue_direct
from jukinet import crypto
from provision import batch as services
from provision.batch_csv import decrypt_zip
from provision.models import BatchJob, BatchOutput, Duty, ProvisionRecord
from tests.worker_fixtures import private_worker, worker_env

ROOT = Path(__file__).resolve().parent.parent
HEADER = "row_id,juminhyo_code,my_number,name_kana,name,birth_date,sex,address"


# --- One keyring for the module (the worker process must hold the same keys) ----------------


@pytest.fixture(scope="module")
def module_keyring(tmp_path_factory):
    path = tmp_path_factory.mktemp("batch-keys") / "field-keys.json"
    keyring = crypto.Keyring.generate("b1")
    crypto.write_keyring_file(path, keyring)
    return path, keyring


@pytest.fixture(autouse=True)
def _test_keyring(module_keyring, settings, monkeypatch):
    """Overrides tests/conftest.py's per-test keyring with the module's one."""
    path, _ = module_keyring
    settings.FIELD_KEYS_FILE = str(path)
    settings.AUDIT_HEAD_KEY_FILE = str(path.parent / "audit-head.key")
    settings.AUDIT_HEADS_FILE = str(path.parent / "audit-heads.jsonl")
    monkeypatch.delenv("JUKINET_FIELD_KEYS", raising=False)
    crypto.get_keyring.cache_clear()
    yield path
    crypto.get_keyring.cache_clear()


def _worker_env(keyring: crypto.Keyring) -> dict:
    return worker_env(JUKINET_FIELD_KEYS=keyring.to_json())


@pytest.fixture(scope="module")
def batch_worker(django_db_setup, django_db_blocker, module_keyring, tmp_path_factory):
    """A real Celery worker (solo pool) on a private queue, for this module's batches."""
    with django_db_blocker.unblock():
        env = _worker_env(module_keyring[1])
    log_dir = tmp_path_factory.mktemp("batch-worker")
    with private_worker("batch-test", ["provision.*"], log_dir, env=env) as proc:
        yield proc


# --- Data -------------------------------------------------------------------------------------


ITEMS_ALL = ["juminhyo_code", "name", "name_kana", "birth_date", "sex", "address", "change_reason", "changed_on"]


def _duties():
    # Test-only duties of their own (the seeded registry may change under the tests).
    Duty.objects.update_or_create(
        code="J-911",
        defaults=dict(
            name="一括提供の試験の事務（個人番号可）",
            legal_basis="試験条例第1条",
            files=["honnin", "fuhyo"],
            items=ITEMS_ALL,
            my_number_allowed=True,
        ),
    )
    Duty.objects.update_or_create(
        code="J-912",
        defaults=dict(
            name="一括提供の試験の事務（氏名と住所のみ）",
            legal_basis="試験条例第2条",
            files=["honnin"],
            items=["juminhyo_code", "name", "address"],
            my_number_allowed=False,
        ),
    )


@pytest.fixture
def body(db):
    _duties()
    return client_issue_direct(kind="body", name="税務局", duty_codes=["J-911", "J-912"])


@pytest.fixture
def sysadmin(make_operator):
    return make_operator("sysadmin", login_id="batch-approver")


def _post(client, token, text: str, *, file="honnin", query="duty_code=J-911"):
    return client.post(
        f"/api/provision/v1/{file}/batches?{query}",
        data=text.encode(),
        content_type="text/csv",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def _get(client, token, path: str):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def _result_rows(batch: BatchJob, password: str) -> list[dict]:
    files = decrypt_zip(bytes(batch.result), password=password)
    assert list(files) == [f"{batch.batch_id}-result.csv"]
    data = files[f"{batch.batch_id}-result.csv"]
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _wait_done(client, token, batch_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        status = _get(client, token, f"/api/provision/v1/honnin/batches/{batch_id}").json()
        seen.append(status["progress"])
        if status["state"] in ("done", "failed", "rejected"):
            status["seen_progress"] = seen
            return status
        time.sleep(0.2)
    pytest.fail(f"batch {batch_id} did not finish within {timeout} s: {status}")


# --- The whole flow with a real worker ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_batch_runs_from_api_submit_to_the_decrypted_result(client, body, sysadmin, make_operator, batch_worker):
    number = my_number_for(501)
    with_number = make_resident(my_number=number, name="山田　一郎", name_kana="ヤマダ　イチロウ")
    plain = make_resident(name="佐藤　太郎", name_kana="サトウ　タロウ", birth_date=dt.date(1985, 3, 1), sex="1")
    twin_a = make_resident(name="鈴木　花子", name_kana="スズキ　ハナコ", birth_date=dt.date(1990, 1, 1), sex="2")
    make_resident(name="鈴木　花子", name_kana="スズキ　ハナコ", birth_date=dt.date(1990, 1, 1), sex="2")
    removed = make_resident(name="高橋　次郎", name_kana="タカハシ　ジロウ", deleted=True, change_reason="死亡")
    absent = next_code()
    text = "\r\n".join(
        [
            HEADER,
            f"A01,{with_number.juminhyo_code},,,,,,",  # 提供 with the 個人番号
            f"A02,,{number},,,,,",  # by 個人番号
            "A03,,,さとう　たろう,,1985-03-01,1,",  # by 4情報 (hiragana, no address)
            "A04,,,スズキ　ハナコ,鈴木　花子,1990-01-01,2,",  # two people: not given
            f"A05,{absent},,,,,,",  # 該当なし
            "A06,12345678901,,,,,,",  # check digit wrong
            f"A07,{plain.juminhyo_code},,サトウ,,,,",  # two kinds of key in one row
            f"=cmd|' /C calc'!A0,{plain.juminhyo_code},,,,,,",  # formula in row_id
            f"A09,{removed.juminhyo_code},,,,,,",  # 消除者: given with its 異動事由
            "A10,,,,,,,",  # no key
            f"A11,{plain.juminhyo_code},",  # too few fields
        ]
    )
    response = _post(client, body.token, text, query="duty_code=J-911&include_my_number=true")
    assert response.status_code == 202, response.content
    batch_id = response.json()["batch_id"]
    assert response.json()["state"] == "awaiting_approval" and response.json()["row_count"] == 11
    assert (
        _get(client, body.token, f"/api/provision/v1/honnin/batches/{batch_id}").json()["state"] == "awaiting_approval"
    )
    # Nothing runs before the approval, whatever the sweeper does.
    services.batches_sweep()
    time.sleep(0.5)
    batch = BatchJob.objects.get(batch_id=batch_id)
    assert batch.state == "awaiting_approval" and not ProvisionRecord.objects.filter(batch=batch).exists()

    approval_decide(approval=batch.approval, operator=sysadmin, approve=True, note="受け渡しは暗号化媒体で")
    status = _wait_done(client, body.token, batch_id)
    assert status["state"] == "done", status
    assert status["progress"] == 1.0 and status["rows_done"] == 11
    assert status["counts"] == {"provided": 5, "not_found": 1, "failed": 5}

    # The result file, through the API; its password is not in any response.
    result = _get(client, body.token, f"/api/provision/v1/honnin/batches/{batch_id}/result")
    assert result.status_code == 200 and result["Content-Type"] == "application/zip"
    assert result["Content-Disposition"] == f'attachment; filename="{batch_id}-result.zip"'
    batch.refresh_from_db()
    assert result.content == bytes(batch.result) and result["X-Content-SHA256"] == batch.result_sha256
    teikyo = make_operator("teikyo")
    password = services.batch_password_reveal(batch=batch, operator=teikyo)
    assert password.encode() not in result.content
    assert len(password) == 20
    with pytest.raises(RuntimeError):  # the archive does not open without the password
        decrypt_zip(bytes(batch.result), password="wrong-password-000000")

    rows = {row["row_id"]: row for row in _result_rows(batch, password)}
    assert [r["row_number"] for r in _result_rows(batch, password)] == [str(n) for n in range(1, 12)]
    a01 = rows["A01"]
    assert a01["outcome"] == "提供" and a01["juminhyo_code"] == with_number.juminhyo_code
    assert a01["name"] == "山田　一郎" and a01["my_number"] == number
    assert rows["A02"]["outcome"] == "提供" and rows["A02"]["juminhyo_code"] == with_number.juminhyo_code
    assert rows["A03"]["outcome"] == "提供" and rows["A03"]["juminhyo_code"] == plain.juminhyo_code
    assert rows["A03"]["my_number"] == ""  # the person holds none
    assert rows["A04"]["outcome"] == "エラー" and rows["A04"]["error_code"] == "E_ROW_MULTIPLE_MATCHES"
    assert rows["A04"]["juminhyo_code"] == "" and twin_a.juminhyo_code not in str(rows["A04"])
    assert rows["A05"]["outcome"] == "該当なし" and rows["A05"]["error_code"] == "E_NOT_FOUND"
    assert rows["A06"]["outcome"] == "エラー" and rows["A06"]["error_code"] == "E_JUMINHYO_CODE_CHECK_DIGIT"
    assert "検査用数字" in rows["A06"]["error_message"]
    assert rows["A07"]["error_code"] == "E_ROW_MIXED_KEYS"
    assert "'=cmd|' /C calc'!A0" in rows  # neutralised for spreadsheets
    assert rows["'=cmd|' /C calc'!A0"]["outcome"] == "提供"
    assert rows["A09"]["outcome"] == "提供" and rows["A09"]["change_reason"] == "死亡"
    assert rows["A10"]["error_code"] == "E_ROW_NO_KEY"
    assert rows["A11"]["error_code"] == "E_ROW_FIELDS"

    # One provision record per row, never the values; the 個人番号 flag where it was given.
    records = list(ProvisionRecord.objects.filter(batch=batch).order_by("row_number"))
    assert [r.row_number for r in records] == list(range(1, 12))
    assert Counter(r.outcome for r in records) == {"provided": 5, "not_found": 1, "failed": 5}
    assert records[0].my_number_given and records[0].target_codes == [with_number.juminhyo_code]
    assert records[0].items_given == ITEMS_ALL and records[0].client_id == body.client.client_id
    assert not records[2].my_number_given
    assert records[3].target_codes == [] and records[3].error_code == "E_ROW_MULTIPLE_MATCHES"
    # One output recorded for the one download, to whom and how many rows.
    output = BatchOutput.objects.get(batch=batch)
    assert (output.actor_kind, output.actor, output.recipient, output.rows) == (
        "client",
        body.client.client_id,
        "税務局",
        11,
    )
    assert output.sha256 == batch.result_sha256
    actions = list(AccessLogEntry.objects.filter(target_code=batch_id).values_list("action", flat=True))
    for action in (
        "batch.submit",
        "batch.approved",
        "batch.start",
        "batch.done",
        "batch.output",
        "batch.password_show",
    ):
        assert action in actions, action
    assert not AccessLogEntry.objects.filter(detail__contains=number).exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_takes_a_batch_approved_on_the_staff_page_and_the_teikyo_hands_it_over(
    staff_client, body, batch_worker
):
    from tests.conftest import verify_session

    people = [make_resident() for _ in range(30)]
    browser = staff_client("teikyo")
    teikyo = browser.operator
    upload = io.BytesIO(
        ("row_id,juminhyo_code\r\n" + "".join(f"r{n},{p.juminhyo_code}\r\n" for n, p in enumerate(people))).encode(
            "cp932"
        )
    )
    upload.name = "conditions.csv"
    response = browser.post(
        "/provision/batches/new",
        {"recipient": body.client.client_id, "duty_code": "J-912", "file": "honnin", "conditions": upload},
    )
    assert response.status_code == 302, response.content.decode()
    batch = BatchJob.objects.get()
    assert response["Location"] == f"/provision/batches/{batch.batch_id}/"
    assert batch.submitted_by == teikyo.login_id and batch.client_id == body.client.client_id
    assert batch.approval.requested_by == teikyo.login_id
    page = browser.get(response["Location"])
    assert page.status_code == 200 and "承認待ち" in page.content.decode()
    assert 'data-batch-status-url="/provision/batches/status"' in page.content.decode()

    # A system administrator decides on the approvals page (keyboard: radio, note, one button).
    approver = staff_client("sysadmin")
    listing = approver.get("/approvals/").content.decode()
    assert batch.batch_id in listing and "承認待ち（1件）" in listing
    decided = approver.post(f"/approvals/{batch.approval.pk}/decide", {"decision": "approve", "note": ""})
    assert decided.status_code == 302
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        if batch.state == "done":
            break
        time.sleep(0.2)
    assert batch.state == "done"
    status = approver.get(f"/provision/batches/status?ids={batch.batch_id}").json()["batches"][batch.batch_id]
    assert status["progress"] == 1.0 and status["counts"]["provided"] == 30 and status["state_label"] == "完了"

    # Back to the 提供担当: the download is an output; the password is shown once.
    verify_session(browser, teikyo)
    download = browser.post(f"/provision/batches/{batch.batch_id}/result")
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert download["Cache-Control"] == "no-store"
    shown = browser.post(f"/provision/batches/{batch.batch_id}/password", {"reason": ""})
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    password = shown.context["password"]
    rows = _result_rows(batch, password)
    assert [r["juminhyo_code"] for r in rows] == [p.juminhyo_code for p in people]
    assert list(rows[0]) == [
        "row_number",
        "row_id",
        "outcome",
        "error_code",
        "error_message",
        "juminhyo_code",
        "name",
        "address",
    ]
    again = browser.post(f"/provision/batches/{batch.batch_id}/password", {"reason": ""})
    assert again.status_code == 400 and "E_PASSWORD_SHOWN" not in again.content.decode()
    assert "理由" in again.content.decode()
    reshow = browser.post(
        f"/provision/batches/{batch.batch_id}/password", {"reason": "提供先が控えを紛失したため電話で再連絡"}
    )
    assert reshow.status_code == 200 and reshow.context["password"] == password
    log = AccessLogEntry.objects.filter(target_code=batch.batch_id)
    assert log.filter(action="batch.password_show", actor=teikyo.login_id).count() == 1
    assert log.filter(action="batch.password_reshow", detail__contains="紛失").count() == 1
    assert not log.filter(detail__contains=password).exists()
    output = BatchOutput.objects.get(batch=batch)
    assert (output.actor_kind, output.actor, output.rows) == ("operator", teikyo.login_id, 30)
    detail = browser.get(f"/provision/batches/{batch.batch_id}/").content.decode()
    assert teikyo.login_id in detail and "表示済み" in detail


# --- Refusals ------------------------------------------------------------------------------------


def test_a_duty_not_registered_for_the_client_is_refused_with_a_record(client, body):
    Duty.objects.update_or_create(
        code="J-913",
        defaults=dict(name="登録外の事務", legal_basis="試験条例第3条", files=["honnin"], items=["juminhyo_code"]),
    )
    response = _post(client, body.token, f"row_id,juminhyo_code\n1,{next_code()}\n", query="duty_code=J-913")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "E_DUTY_NOT_PERMITTED"
    record = ProvisionRecord.objects.get()
    assert (record.outcome, record.duty_code, record.client_id, record.error_code) == (
        "refused",
        "J-913",
        body.client.client_id,
        "E_DUTY_NOT_PERMITTED",
    )
    assert not BatchJob.objects.exists() and not OutputApproval.objects.exists()
    assert AccessLogEntry.objects.filter(action="batch.submit", outcome="refused").exists()


def test_an_unknown_duty_code_and_a_duty_of_the_other_file_are_refused(client, body):
    for query, file in (("duty_code=J-999", "honnin"), ("duty_code=J-912", "fuhyo")):
        response = _post(client, body.token, f"row_id,juminhyo_code\n1,{next_code()}\n", file=file, query=query)
        assert response.status_code == 403 and response.json()["error"]["code"] == "E_DUTY_NOT_PERMITTED"
    assert ProvisionRecord.objects.filter(outcome="refused").count() == 2


def test_the_my_number_under_a_duty_that_does_not_allow_it_is_refused(client, body):
    response = _post(
        client, body.token, f"row_id,juminhyo_code\n1,{next_code()}\n", query="duty_code=J-912&include_my_number=true"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "E_MY_NUMBER_NOT_PERMITTED"
    assert ProvisionRecord.objects.get().outcome == "refused"


def test_the_my_number_is_not_given_in_a_fuhyo_batch(client, body):
    response = _post(
        client,
        body.token,
        f"row_id,juminhyo_code\n1,{next_code()}\n",
        file="fuhyo",
        query="duty_code=J-911&include_my_number=1",
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "E_BATCH_FUHYO_MY_NUMBER"


def test_a_municipal_cs_may_not_submit_a_batch(client, body):
    cs = client_issue_direct(kind="cs", name="川越市CS", municipality_code="112011")
    response = _post(client, cs.token, f"row_id,juminhyo_code\n1,{next_code()}\n")
    assert response.status_code == 403
    assert not BatchJob.objects.exists()


def test_a_client_sees_only_its_own_batches(client, body):
    batch_id = _post(client, body.token, f"row_id,juminhyo_code\n1,{next_code()}\n").json()["batch_id"]
    other = client_issue_direct(kind="body", name="教育委員会", duty_codes=["J-911"])
    for path in (f"/api/provision/v1/honnin/batches/{batch_id}", f"/api/provision/v1/honnin/batches/{batch_id}/result"):
        assert _get(client, other.token, path).status_code == 404
    assert _get(client, body.token, f"/api/provision/v1/fuhyo/batches/{batch_id}").status_code == 404
    assert _get(client, body.token, "/api/provision/v1/honnin/batches/../../etc").status_code == 404
    not_ready = _get(client, body.token, f"/api/provision/v1/honnin/batches/{batch_id}/result")
    assert not_ready.status_code == 409 and not_ready.json()["error"]["code"] == "E_BATCH_NOT_READY"


def test_a_rejected_batch_never_runs(client, body, sysadmin):
    make_resident(juminhyo_code=(code := next_code()))
    batch_id = _post(client, body.token, f"row_id,juminhyo_code\n1,{code}\n").json()["batch_id"]
    batch = BatchJob.objects.get(batch_id=batch_id)
    approval_decide(approval=batch.approval, operator=sysadmin, approve=False, note="提供先の申請書が未着")
    batch.refresh_from_db()
    assert batch.state == "rejected" and batch.finished_at is not None
    assert services.batch_run(batch_id=batch_id) == "rejected"
    assert services.batches_sweep() == []
    batch.refresh_from_db()
    assert batch.state == "rejected" and batch.rows_done == 0 and batch.result is None
    assert not ProvisionRecord.objects.filter(batch=batch).exists()
    result = _get(client, body.token, f"/api/provision/v1/honnin/batches/{batch_id}/result")
    assert result.status_code == 409 and result.json()["error"]["code"] == "E_BATCH_REJECTED"
    assert _get(client, body.token, f"/api/provision/v1/honnin/batches/{batch_id}").json()["state"] == "rejected"


def test_a_duty_withdrawn_after_approval_stops_the_run(client, body, sysadmin):
    batch_id = _post(client, body.token, f"row_id,juminhyo_code\n1,{next_code()}\n").json()["batch_id"]
    batch = BatchJob.objects.get(batch_id=batch_id)
    approval_decide(approval=batch.approval, operator=sysadmin, approve=True)
    Duty.objects.filter(code="J-911").update(active=False)
    assert services.batch_run(batch_id=batch_id) == "failed"
    batch.refresh_from_db()
    assert batch.state == "failed" and "事務" in batch.error_message
    assert not ProvisionRecord.objects.filter(batch=batch).exists()


# --- In-process runs: progress, fuhyo, chunks -------------------------------------------------


def _approved(client, body, sysadmin, text: str, *, file="honnin", query="duty_code=J-911") -> BatchJob:
    response = _post(client, body.token, text, file=file, query=query)
    assert response.status_code == 202, response.content
    batch = BatchJob.objects.get(batch_id=response.json()["batch_id"])
    approval_decide(approval=batch.approval, operator=sysadmin, approve=True)
    batch.refresh_from_db()
    return batch


def test_a_fuhyo_batch_answers_from_the_fuhyo_file(client, body, sysadmin, make_operator):
    current = make_fuhyo(name="田中　一郎", name_kana="タナカ　イチロウ", birth_date=dt.date(1970, 5, 5), sex="1")
    removed = make_fuhyo(status="1")
    text = "\n".join(
        [
            HEADER,
            f"F1,{current.juminhyo_code},,,,,,",
            "F2,,,タナカ　イチロウ,,1970-05-05,1,",
            f"F3,{removed.juminhyo_code},,,,,,",
            "F4,,400000000017,,,,,",
        ]
    )
    batch = _approved(client, body, sysadmin, text, file="fuhyo")
    assert services.batch_run(batch_id=batch.batch_id) == "done"
    batch.refresh_from_db()
    password = services.batch_password_reveal(batch=batch, operator=make_operator("teikyo"))
    rows = {r["row_id"]: r for r in _result_rows(batch, password)}
    assert rows["F1"]["outcome"] == "提供" and rows["F1"]["address"] == current.address
    assert "change_reason" not in rows["F1"]  # the 附票 file gives no 異動事由 (provision.selectors)
    assert rows["F2"]["juminhyo_code"] == current.juminhyo_code
    assert rows["F3"]["outcome"] == "該当なし"  # removed 附票 records are never answered
    assert rows["F4"]["error_code"] == "E_ROW_MY_NUMBER_FUHYO"


def test_progress_is_committed_chunk_by_chunk(client, body, sysadmin, monkeypatch):
    people = [make_resident() for _ in range(25)]
    text = "row_id,juminhyo_code\n" + "".join(f"{n},{p.juminhyo_code}\n" for n, p in enumerate(people))
    batch = _approved(client, body, sysadmin, text)
    monkeypatch.setattr(services, "CHUNK_ROWS", 10)
    original = services._process_chunk
    calls = []

    def crash_after_two(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt("the worker dies here")
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "_process_chunk", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        services.batch_run(batch_id=batch.batch_id)
    batch.refresh_from_db()
    assert batch.state == "running" and batch.rows_done == 20
    status = _get(client, body.token, f"/api/provision/v1/honnin/batches/{batch.batch_id}").json()
    assert status["progress"] == 0.8 and status["counts"] == {"provided": 20, "not_found": 0, "failed": 0}
    assert ProvisionRecord.objects.filter(batch=batch).count() == 20
    assert services.batch_is_orphaned(batch.batch_id)  # the lock went with the run

    monkeypatch.setattr(services, "_process_chunk", original)
    assert services.batch_run(batch_id=batch.batch_id) == "done"
    numbers = list(ProvisionRecord.objects.filter(batch=batch).values_list("row_number", flat=True))
    assert sorted(numbers) == list(range(1, 26))
    assert AccessLogEntry.objects.filter(action="batch.resume", target_code=batch.batch_id).exists()


def test_a_second_runner_is_kept_out_by_the_lock(client, body, sysadmin):
    batch = _approved(client, body, sysadmin, f"row_id,juminhyo_code\n1,{next_code()}\n")
    key = f"provision.batch:{batch.batch_id}"
    # Hold the run lock from another connection, as a running worker would.
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [key])
        assert services.batch_run(batch_id=batch.batch_id) == "busy"
        assert not services.batch_is_orphaned(batch.batch_id)
        assert services.batches_sweep() == []
    finally:
        other.close()
    deadline = time.monotonic() + 10  # the server ends the closed connection's backend asynchronously
    while not services.batch_is_orphaned(batch.batch_id):
        assert time.monotonic() < deadline, "the lock outlived its connection"
        time.sleep(0.05)


# --- A worker killed mid-batch ------------------------------------------------------------------

_SLOW_RUN = textwrap.dedent(
    """
    import sys, time
    import django
    django.setup()
    from provision import batch as services
    services.CHUNK_ROWS = 20
    original = services._process_chunk
    def slow(*args, **kwargs):
        original(*args, **kwargs)
        print("chunk", flush=True)
        time.sleep(0.4)
    services._process_chunk = slow
    services.batch_run(batch_id=sys.argv[1])
    """
)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_resumes_without_recording_a_row_twice(
    client, body, sysadmin, make_operator, module_keyring, batch_worker, monkeypatch
):
    people = [make_resident() for _ in range(200)]
    text = "row_id,juminhyo_code\n" + "".join(f"k{n},{p.juminhyo_code}\n" for n, p in enumerate(people))
    response = _post(client, body.token, text)
    batch = BatchJob.objects.get(batch_id=response.json()["batch_id"])
    # Approved without a wake-up (as if the message were lost): a process of our own runs it.
    from jukinet import tasks

    with monkeypatch.context() as patched:
        patched.setattr(tasks, "wake", lambda *args, **kwargs: None)
        approval_decide(approval=batch.approval, operator=sysadmin, approve=True)
    runner = subprocess.Popen(
        [sys.executable, "-c", _SLOW_RUN, batch.batch_id],
        cwd=ROOT,
        env=_worker_env(module_keyring[1]),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(3):  # three chunks committed, then SIGKILL in the middle of the fourth's sleep
            line = runner.stdout.readline()
            assert line.startswith("chunk"), line
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
    finally:
        if runner.poll() is None:
            runner.kill()
    batch.refresh_from_db()
    assert batch.state == "running" and 60 <= batch.rows_done < 200
    done_at_kill = batch.rows_done
    assert ProvisionRecord.objects.filter(batch=batch).count() == done_at_kill

    # The beat sweeper finds it orphaned (the killed connection took the lock) and the worker resumes.
    deadline = time.monotonic() + 20
    while not services.batch_is_orphaned(batch.batch_id):  # PostgreSQL notices the dead backend
        assert time.monotonic() < deadline
        time.sleep(0.1)
    from provision.tasks_batches import batches_sweep

    assert batches_sweep() == 1
    status = _wait_done(client, body.token, batch.batch_id)
    assert status["state"] == "done" and status["counts"]["provided"] == 200
    numbers = Counter(ProvisionRecord.objects.filter(batch=batch).values_list("row_number", flat=True))
    assert sorted(numbers) == list(range(1, 201)) and set(numbers.values()) == {1}
    assert AccessLogEntry.objects.filter(action="batch.resume", target_code=batch.batch_id).exists()
    batch.refresh_from_db()
    password = services.batch_password_reveal(batch=batch, operator=make_operator("teikyo"))
    rows = _result_rows(batch, password)
    assert [r["row_id"] for r in rows] == [f"k{n}" for n in range(200)]
    assert all(r["outcome"] == "提供" for r in rows)


def test_a_teikyo_cannot_submit_under_a_duty_the_recipient_does_not_hold(staff_client, body):
    Duty.objects.update_or_create(
        code="J-913",
        defaults=dict(name="登録外の事務", legal_basis="試験条例第3条", files=["honnin"], items=["juminhyo_code"]),
    )
    browser = staff_client("teikyo")
    upload = io.BytesIO(f"row_id,juminhyo_code\r\n1,{next_code()}\r\n".encode())
    upload.name = "conditions.csv"
    response = browser.post(
        "/provision/batches/new",
        {"recipient": body.client.client_id, "duty_code": "J-913", "file": "honnin", "conditions": upload},
    )
    assert response.status_code == 403 and "E_DUTY_NOT_PERMITTED" in response.content.decode()
    record = ProvisionRecord.objects.get()
    assert (record.outcome, record.operator, record.client_id) == (
        "refused",
        browser.operator.login_id,
        body.client.client_id,
    )
    assert not BatchJob.objects.exists()


def test_a_refused_file_on_the_staff_page_is_shown_next_to_the_file(staff_client, body):
    browser = staff_client("teikyo")
    upload = io.BytesIO(b"\x00\x01binary")
    upload.name = "conditions.csv"
    response = browser.post(
        "/provision/batches/new",
        {"recipient": body.client.client_id, "duty_code": "J-911", "file": "honnin", "conditions": upload},
    )
    assert response.status_code == 400 and "E_BATCH_NOT_CSV" in response.content.decode()
    assert not BatchJob.objects.exists()
