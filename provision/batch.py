"""Batch provision (一括提供): submit → prior approval → run → encrypted result → recorded outputs.

DESIGN.md §4.3 and §9, docs/batch-provision.md. The batch is a row with a state; Celery only
wakes the runner (provision/tasks_batches.py), and the beat sweeper re-queues a batch left
behind (a lost message, a killed worker).

Restartable run: the rows are matched in chunks; each chunk's provision records and the new
``rows_done`` commit in one transaction, so a worker killed mid-batch leaves whole chunks
behind and the next run resumes at ``rows_done`` — no row is recorded twice (``provision_id``
is ``<batch_id>-<row>``, unique, and the records are append-only anyway). The result file is
written last, from the records (which person each row matched) and the people's items read
then, so writing it is a pure function of committed rows and simply starts over if killed.
One runner per batch: a session advisory lock, which PostgreSQL releases when a killed
worker's connection goes, so "running and the lock is free" means orphaned.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import access_log, context
from audit.approvals import approval_request
from audit.models import ApprovalState, MachineClient, Operator, OutputApproval
from audit.permissions import ensure_permitted
from jukinet.crypto import DecryptionError, KeyringError, get_keyring
from jukinet.errors import Conflict, InvalidInput, PermissionRefused
from jukinet.tasks import wake, wake_on_commit
from provision import batch_selectors as selectors
from provision.batch_csv import (
    OUTCOME_LABELS,
    ResultWriter,
    RowCondition,
    RowError,
    encrypt_zip,
    header_of,
    iter_rows,
    make_password,
    parse_row,
    read_conditions,
    result_columns,
)
from provision.models import (
    DUTY_CODE_PATTERN,
    FILES,
    BatchJob,
    BatchOutput,
    BatchState,
    Duty,
    Outcome,
    ProvisionRecord,
    Source,
)

logger = logging.getLogger(__name__)

CHUNK_ROWS = 5000
ITEMS_CHUNK = 10000
BATCH_ID = re.compile(r"^B[0-9]{8}-[0-9A-Z]{8}$")
_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
FILE_LABELS = dict(FILES)

NOT_FOUND_CODE = "E_NOT_FOUND"
NOT_FOUND_MESSAGE = "この都道府県のファイルに該当する方がいません（一括提供では全国サーバへは照会しません）。"
MATCH_ERRORS = {
    "E_ROW_MULTIPLE_MATCHES": "条件に該当する方が複数います。住民票コードで照会してください。",
    "E_ROW_CHANGED": "照会の後に記録が変更されたため、この行は提供できませんでした。個別に照会してください。",
}


class DutyNotPermitted(PermissionRefused):
    code = "E_DUTY_NOT_PERMITTED"
    message = "この事務は、この提供先に登録されていないか、このファイルには使えません。"


class MyNumberNotPermitted(PermissionRefused):
    code = "E_MY_NUMBER_NOT_PERMITTED"
    message = "この事務では個人番号を提供できません。"


class BatchNotReady(Conflict):
    code = "E_BATCH_NOT_READY"
    message = "この一括提供の結果はまだできていません。"


class PasswordAlreadyShown(InvalidInput):
    code = "E_PASSWORD_SHOWN"
    message = "パスワードは表示済みです。もう一度表示するには理由を入力してください（理由とともに記録されます）。"


# --- Submission ------------------------------------------------------------------------------


def _new_batch_id() -> str:
    return f"B{timezone.localdate():%Y%m%d}-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def _conditions_context(batch_id: str) -> str:
    return f"provision.batch.conditions|{batch_id}"


def _password_context(batch_id: str) -> str:
    return f"provision.batch.password|{batch_id}"


def _refuse(*, exc: PermissionRefused, file: str, duty_code: str, client: MachineClient | None, operator: str) -> None:
    """A refused submission leaves a refused provision record and a log entry, then raises."""
    with transaction.atomic():
        ProvisionRecord.objects.create(
            provision_id=f"R{uuid.uuid4().hex}",
            occurred_at=timezone.now(),
            client_id=client.client_id if client else "",
            client_name=client.name if client else "",
            operator=operator,
            duty_code=duty_code[:16],
            file=file,
            outcome=Outcome.REFUSED,
            error_code=exc.code,
        )
        access_log.log_refusal(action="batch.submit", target_file=file, duty=duty_code[:40], detail=exc.message)
    raise exc


def batch_submit(
    *,
    file: str,
    duty_code: str,
    data: bytes,
    client: MachineClient | None,
    include_my_number: bool = False,
    charset: str | None = None,
    operator: Operator | None = None,
) -> BatchJob:
    """Accept a conditions file for ``client`` (the recipient), store it encrypted, ask approval.

    ``operator`` is the 提供担当 when the batch is entered on the staff page; otherwise the
    client itself submitted it through the API.
    """
    if file not in FILE_LABELS:
        raise InvalidInput("ファイルは honnin または fuhyo です。", code="E_UNKNOWN_FILE", field="file")
    if operator is not None:
        ensure_permitted(operator, "batch.submit")
    if not re.fullmatch(DUTY_CODE_PATTERN, duty_code or ""):
        raise InvalidInput(
            "事務コードは「6-1」「5-13」「J-2」のように指定してください。", code="E_DUTY_CODE", field="duty_code"
        )
    login = operator.login_id if operator is not None else ""
    duty = selectors.duty_permitted(client=client, duty_code=duty_code, file=file)
    if duty is None:
        _refuse(exc=DutyNotPermitted(field="duty_code"), file=file, duty_code=duty_code, client=client, operator=login)
    if include_my_number and not duty.my_number_allowed:
        _refuse(
            exc=MyNumberNotPermitted(field="include_my_number"),
            file=file,
            duty_code=duty_code,
            client=client,
            operator=login,
        )
    if include_my_number and file != "honnin":
        # The fuhyo side holds a 個人番号 only in its temporary area, one provision at a time
        # (DESIGN.md §4.3): a file of thousands is not that. The single lookup serves it.
        raise InvalidInput(
            "附票本人確認情報の一括提供では個人番号を提供できません。個別の照会（lookup）を使ってください。",
            code="E_BATCH_FUHYO_MY_NUMBER",
            field="include_my_number",
        )
    conditions = read_conditions(data, charset)  # 400/413 here: nothing stored
    batch_id = _new_batch_id()
    requested_by = login or client.client_id
    with transaction.atomic():
        batch = BatchJob.objects.create(
            batch_id=batch_id,
            file=file,
            duty_code=duty.code,
            client_id=client.client_id,
            recipient=client.name,
            submitted_by=login,
            submitted_at=timezone.now(),
            include_my_number=include_my_number,
            conditions=get_keyring().encrypt(conditions.text, context=_conditions_context(batch_id)),
            row_count=conditions.row_count,
        )
        summary = (
            f"{FILE_LABELS[file]} 事務 {duty.code} 提供先 {client.name}（{client.client_id}） "
            f"{conditions.row_count:,}件" + ("・個人番号を含む" if include_my_number else "")
        )
        batch.approval = approval_request(
            kind="batch_provision",
            subject=batch_id,
            summary=summary,
            row_count=conditions.row_count,
            requested_by=requested_by,
        )
        batch.save(update_fields=["approval"])
        access_log.log_event(
            action="batch.submit",
            target_file=file,
            target_code=batch_id,
            duty=duty.code,
            detail=f"{conditions.row_count}件 {conditions.encoding} 提供先 {client.client_id}"
            + (" 個人番号を含む" if include_my_number else ""),
        )
    return batch


def batch_approval_decided(approval: OutputApproval) -> None:
    """audit.approvals calls this inside the deciding transaction (KINDS["batch_provision"])."""
    batch = BatchJob.objects.select_for_update().filter(approval=approval).first()
    if batch is None or batch.state != BatchState.AWAITING_APPROVAL:
        return
    if approval.state == ApprovalState.APPROVED:
        batch.state = BatchState.APPROVED
        batch.save(update_fields=["state"])
        access_log.log_event(
            action="batch.approved", target_file=batch.file, target_code=batch.batch_id, duty=batch.duty_code
        )
        from provision.tasks_batches import batch_run as batch_run_task

        wake_on_commit(batch_run_task, batch.batch_id)
    else:
        batch.state = BatchState.REJECTED
        batch.finished_at = timezone.now()
        batch.save(update_fields=["state", "finished_at"])
        access_log.log_event(
            action="batch.rejected", target_file=batch.file, target_code=batch.batch_id, duty=batch.duty_code
        )


# --- The run ---------------------------------------------------------------------------------


@contextmanager
def _run_lock(batch_id: str) -> Iterator[bool]:
    """One runner per batch, held for the whole run; released by PostgreSQL if the worker dies."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [f"provision.batch:{batch_id}"])
        got = cursor.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            try:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [f"provision.batch:{batch_id}"]
                    )
            except Exception:  # the connection is gone, and the lock with it
                logger.warning("could not release the run lock of batch %s", batch_id)


def batch_is_orphaned(batch_id: str) -> bool:
    """Running (or approved) with nobody holding its run lock: a killed worker or a lost message."""
    with _run_lock(batch_id) as got:
        return got


def _chunks(rows: Iterator, size: int) -> Iterator[list]:
    while chunk := list(islice(rows, size)):
        yield chunk


def batch_run(*, batch_id: str) -> str:
    """Run (or resume) an approved batch to its result. Returns the state it ends in."""
    batch = BatchJob.objects.filter(batch_id=batch_id).first()
    if batch is None or batch.state not in (BatchState.APPROVED, BatchState.RUNNING):
        return batch.state if batch else "missing"
    with context.acting(actor_kind="system", actor="batch-worker"), _run_lock(batch_id) as got:
        if not got:
            return "busy"  # another worker runs it
        # Claim (approved → running); a resumed run finds it running already.
        if BatchJob.objects.filter(pk=batch.pk, state=BatchState.APPROVED).update(
            state=BatchState.RUNNING, started_at=timezone.now()
        ):
            access_log.log_event(
                action="batch.start", target_file=batch.file, target_code=batch_id, duty=batch.duty_code
            )
        batch.refresh_from_db()
        if batch.state != BatchState.RUNNING:
            return batch.state
        client = selectors.client_get(client_id=batch.client_id)
        duty = selectors.duty_permitted(client=client, duty_code=batch.duty_code, file=batch.file)
        if duty is None or (batch.include_my_number and not duty.my_number_allowed):
            return _fail(batch, "提供先の事務の登録が承認後に変更されたため、実行しませんでした。")
        try:
            text = get_keyring().decrypt(bytes(batch.conditions), context=_conditions_context(batch_id))
        except (DecryptionError, KeyringError):
            return _fail(batch, "検索条件を復号できませんでした（鍵を確認してください）。")
        columns = header_of(text)
        if batch.rows_done:
            access_log.log_event(
                action="batch.resume",
                target_file=batch.file,
                target_code=batch_id,
                detail=f"{batch.rows_done}行目から再開",
            )
        for chunk in _chunks(iter_rows(text, start=batch.rows_done), CHUNK_ROWS):
            _process_chunk(batch, duty, columns, chunk)
        _finish(batch, duty, text, columns)
        return BatchState.DONE


def _fail(batch: BatchJob, message: str) -> str:
    with transaction.atomic():
        BatchJob.objects.filter(pk=batch.pk, state=BatchState.RUNNING).update(
            state=BatchState.FAILED, finished_at=timezone.now(), error_message=message
        )
        access_log.log_event(
            action="batch.failed", outcome="failed", target_file=batch.file, target_code=batch.batch_id, detail=message
        )
    return BatchState.FAILED


def _match(
    batch: BatchJob, duty: Duty, parsed: list[RowCondition | RowError]
) -> dict[int, tuple[str, str, list[str], bool]]:
    """row_number → (outcome, error_code, target codes, 個人番号 given)."""
    give_number = batch.include_my_number
    removed = selectors.answers_removed(duty, batch.file)
    out: dict[int, tuple[str, str, list[str], bool]] = {}
    by_code = [p for p in parsed if isinstance(p, RowCondition) and p.by == "juminhyo_code"]
    by_number = [p for p in parsed if isinstance(p, RowCondition) and p.by == "my_number"]
    by_four = [p for p in parsed if isinstance(p, RowCondition) and p.by == "four_info"]
    present = selectors.codes_present(
        file=batch.file, codes=sorted({p.juminhyo_code for p in by_code}), include_removed=removed
    )
    if by_number:
        keyring = get_keyring()
        indexes = {p.row_number: keyring.index(p.my_number) for p in by_number}
        code_of = selectors.codes_by_my_number_index(indexes=sorted(set(indexes.values())))
        present_numbered = selectors.codes_present(
            file=batch.file, codes=sorted(set(code_of.values())), include_removed=removed
        )
    four = selectors.four_info_matches(file=batch.file, conditions=by_four, include_removed=removed) if by_four else {}
    four_codes = sorted({codes[0] for codes in four.values() if len(codes) == 1})
    present_four = selectors.codes_present(file=batch.file, codes=four_codes, include_removed=removed)
    for p in parsed:
        if isinstance(p, RowError):
            out[p.row_number] = (Outcome.FAILED, p.code, [], False)
            continue
        if p.by == "juminhyo_code":
            code, holds = p.juminhyo_code, present.get(p.juminhyo_code)
        elif p.by == "my_number":
            code = code_of.get(indexes[p.row_number])
            holds = present_numbered.get(code) if code else None
        else:
            codes = four[p.row_number]
            if len(codes) > 1:
                out[p.row_number] = (Outcome.FAILED, "E_ROW_MULTIPLE_MATCHES", [], False)
                continue
            code = codes[0] if codes else None
            holds = present_four.get(code) if code else None
        if code is None or holds is None:
            out[p.row_number] = (Outcome.NOT_FOUND, NOT_FOUND_CODE, [], False)
        else:
            out[p.row_number] = (Outcome.PROVIDED, "", [code], bool(give_number and holds))
    return out


_COPY_COLUMNS = (
    "provision_id",
    "occurred_at",
    "client_id",
    "client_name",
    "operator",
    "duty_code",
    "file",
    "by",
    "target_codes",
    "items_given",
    "my_number_given",
    "source",
    "outcome",
    "error_code",
    "batch_id",
    "row_number",
)


def _process_chunk(batch: BatchJob, duty: Duty, columns: tuple[str, ...], chunk: list[tuple[int, list[str]]]) -> None:
    prefecture = settings.PREFECTURE_NAME if batch.file == "honnin" else ""
    parsed = [parse_row(columns, number, fields, file=batch.file, prefecture=prefecture) for number, fields in chunk]
    matched = _match(batch, duty, parsed)
    items = selectors.duty_items(duty, batch.file)
    now = timezone.now()
    counts = {key: batch.counts.get(key, 0) for key in ("provided", "not_found", "failed")}
    rows = []
    for p in parsed:
        outcome, error_code, codes, number_given = matched[p.row_number]
        counts[outcome] += 1
        provided = outcome == Outcome.PROVIDED
        rows.append(
            (
                f"{batch.batch_id}-{p.row_number:06d}",
                now,
                batch.client_id,
                batch.recipient,
                batch.submitted_by,
                batch.duty_code,
                batch.file,
                p.by,
                codes,
                items if provided else [],
                number_given,
                Source.PREFECTURE if provided else "",
                outcome,
                error_code,
                batch.pk,
                p.row_number,
            )
        )
    first, last = chunk[0][0], chunk[-1][0]
    with transaction.atomic():
        # Only the run that read rows_done may advance it: a second runner (which the lock
        # should already have kept out) would update nothing and roll back its records.
        advanced = BatchJob.objects.filter(pk=batch.pk, state=BatchState.RUNNING, rows_done=first - 1).update(
            rows_done=last, counts=counts
        )
        if advanced != 1:
            raise Conflict("一括提供の進捗が他の処理と競合しました。", code="E_BATCH_RACE")
        # COPY: 100,000 records in about a second, where per-row INSERTs take half a minute.
        copy_sql = f"COPY provision_provisionrecord ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
    batch.rows_done = last
    batch.counts = counts


def _finish(batch: BatchJob, duty: Duty, text: str, columns: tuple[str, ...]) -> None:
    """Write the result CSV from the committed records, encrypt it, seal the password."""
    records = selectors.batch_records(batch=batch)
    if len(records) != batch.row_count:
        raise Conflict("一括提供の記録の件数が行数と一致しません。", code="E_BATCH_RECORDS")
    items = selectors.duty_items(duty, batch.file)
    with_number = batch.include_my_number and duty.my_number_allowed
    provided = sorted({codes[0] for _, outcome, _, codes, _ in records if outcome == Outcome.PROVIDED})
    people: dict[str, dict] = {}
    for start in range(0, len(provided), ITEMS_CHUNK):
        people.update(
            selectors.items_by_codes(
                file=batch.file, codes=provided[start : start + ITEMS_CHUNK], items=items, with_my_number=with_number
            )
        )
    prefecture = settings.PREFECTURE_NAME if batch.file == "honnin" else ""
    writer = ResultWriter(result_columns(items, with_number))
    keyring = get_keyring()
    from honnin.my_number import open_my_number

    for (number, fields), (_row_number, outcome, error_code, codes, number_given) in zip(
        iter_rows(text), records, strict=True
    ):
        parsed = parse_row(columns, number, fields, file=batch.file, prefecture=prefecture)
        line: list[object] = [number, parsed.row_id]
        person = people.get(codes[0]) if codes else None
        if outcome == Outcome.PROVIDED and person is not None:
            line += [OUTCOME_LABELS["provided"], "", "", *[person.get(i, "") for i in items]]
            if with_number:
                blob = person.get("my_number")
                line.append(
                    open_my_number(person["juminhyo_code"], bytes(blob), keyring=keyring)
                    if number_given and blob
                    else ""
                )
        else:
            if outcome == Outcome.PROVIDED:
                error_code, label = "E_ROW_CHANGED", OUTCOME_LABELS["failed"]
            else:
                label = OUTCOME_LABELS.get(outcome, OUTCOME_LABELS["failed"])
            if outcome == Outcome.NOT_FOUND:
                message = NOT_FOUND_MESSAGE
            elif isinstance(parsed, RowError) and parsed.code == error_code:
                message = parsed.message
            else:
                message = MATCH_ERRORS.get(error_code, "この行は処理できませんでした。")
            line += [label, error_code, message, *[""] * len(items)]
            if with_number:
                line.append("")
        writer.write(line)
    content = writer.getvalue()
    password = make_password()
    archive = encrypt_zip(content, inner_name=f"{batch.batch_id}-result.csv", password=password)
    digest = hashlib.sha256(archive).hexdigest()
    with transaction.atomic():
        done = BatchJob.objects.filter(pk=batch.pk, state=BatchState.RUNNING).update(
            state=BatchState.DONE,
            finished_at=timezone.now(),
            result=archive,
            result_sha256=digest,
            result_password=keyring.encrypt(password, context=_password_context(batch.batch_id)),
        )
        if done:
            access_log.log_event(
                action="batch.done",
                target_file=batch.file,
                target_code=batch.batch_id,
                duty=batch.duty_code,
                detail=" ".join(f"{k}={v}" for k, v in sorted(batch.counts.items())) + f" sha256={digest[:16]}",
            )


def batches_sweep() -> list[str]:
    """Beat: wake the runner for approved batches and for running ones nobody runs. Idempotent:
    waking a batch that is running elsewhere is answered "busy" by the lock."""
    woken = []
    from provision.tasks_batches import batch_run as batch_run_task

    for state in (BatchState.APPROVED, BatchState.RUNNING):
        for batch_id in selectors.batches_in_state(state):
            if batch_is_orphaned(batch_id):
                woken.append(batch_id)
                wake(batch_run_task, batch_id)
    return woken


# --- Handing over the result -----------------------------------------------------------------


def batch_status(batch: BatchJob) -> dict:
    counts = batch.counts or {}
    return {
        "batch_id": batch.batch_id,
        "file": batch.file,
        "duty_code": batch.duty_code,
        "state": batch.state,
        "progress": round(batch.progress, 4) if batch.state != BatchState.DONE else 1.0,
        "counts": {key: counts.get(key, 0) for key in ("provided", "not_found", "failed")},
        "row_count": batch.row_count,
        "rows_done": batch.rows_done,
        "submitted_at": batch.submitted_at.isoformat() if batch.submitted_at else None,
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
        "result_sha256": batch.result_sha256 or None,
    }


def _ensure_done(batch: BatchJob) -> None:
    if batch.state == BatchState.REJECTED:
        raise Conflict("この一括提供は却下されたため、結果はありません。", code="E_BATCH_REJECTED")
    if batch.state == BatchState.FAILED:
        raise Conflict("この一括提供は失敗したため、結果はありません。", code="E_BATCH_FAILED")
    # provision_batch_done_has_result: a done batch holds its archive and sealed password.
    if batch.state != BatchState.DONE or not batch.result_sha256:
        raise BatchNotReady()


def batch_result_output(*, batch: BatchJob, operator: Operator | None = None) -> bytes:
    """Hand over the encrypted result: one BatchOutput and one log entry per handing-over.

    ``operator``: a 提供担当 downloading it on the staff page; otherwise the client (the current
    actor) downloads its own batch through the API.
    """
    if operator is not None:
        ensure_permitted(operator, "batch.result")
    _ensure_done(batch)
    actor = context.current()
    with transaction.atomic():
        BatchOutput.objects.create(
            batch=batch,
            at=timezone.now(),
            actor_kind="operator" if operator is not None else "client",
            actor=operator.login_id if operator is not None else (actor.actor or batch.client_id),
            recipient=batch.recipient,
            rows=batch.row_count,
            sha256=batch.result_sha256,
        )
        access_log.log_event(
            action="batch.output",
            target_file=batch.file,
            target_code=batch.batch_id,
            duty=batch.duty_code,
            detail=f"{batch.row_count}行 提供先 {batch.client_id} sha256={batch.result_sha256[:16]}",
        )
    return bytes(batch.result)


def batch_password_reveal(*, batch: BatchJob, operator: Operator, reason: str = "") -> str:
    """The archive password, for the 提供担当 to hand over by another channel.

    Shown once; a second showing needs a reason, and both are logged (docs/batch-provision.md).
    """
    ensure_permitted(operator, "batch.result")
    reason = (reason or "").strip()
    if len(reason) > 200:
        raise InvalidInput("理由は200文字以内で入力してください。", code="E_REASON", field="reason")
    with transaction.atomic():
        locked = BatchJob.objects.select_for_update().defer("conditions", "result").get(pk=batch.pk)
        _ensure_done(locked)
        again = locked.password_shown_at is not None
        if again and not reason:
            raise PasswordAlreadyShown(field="reason")
        if not again:
            locked.password_shown_at = timezone.now()
            locked.save(update_fields=["password_shown_at"])
        access_log.log_event(
            action="batch.password_reshow" if again else "batch.password_show",
            target_file=locked.file,
            target_code=locked.batch_id,
            detail=f"再表示の理由: {reason}" if again else "初回表示",
        )
        return get_keyring().decrypt(bytes(locked.result_password), context=_password_context(locked.batch_id))
