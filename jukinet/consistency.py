"""整合性確認 (DESIGN.md §4.5, API.md §2, docs/consistency.md): services and reads.

A 市町村CS sends its full set for one file as CSV. :func:`consistency_receive` stages it
(jukinet/consistency_stage.py: streamed, checked line by line, COPY into a table of the check's
own) and commits the check row with it before the CS gets its 202; a refused set leaves
nothing. :func:`consistency_compare` (the Celery task's body) claims the check and compares it
slice by slice (jukinet/consistency_compare.py), then drops the staged rows: only the
differences stay, for ``CONSISTENCY_KEEP_DAYS``. :func:`consistency_sweep` (beat) wakes checks
left behind and erases old differences.

Every check received, every refusal, every differences download by a CS and every staff view
of differences is logged (audit/access_log.py); a log line names codes, counts and line
numbers, never a value from the set.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connection, transaction
from django.utils import timezone

from audit import access_log, context
from audit.models import MachineClient, Operator
from audit.permissions import ensure_permitted
from fuhyo.consistency import SPEC as FUHYO_SPEC
from honnin.consistency import SPEC as HONNIN_SPEC
from jukinet import consistency_compare as compare
from jukinet import consistency_stage as stage
from jukinet.consistency_spec import FileSpec
from jukinet.crypto import get_keyring
from jukinet.errors import Conflict, InvalidInput, NotFound, PermissionRefused
from jukinet.models import ConsistencyCheck, ConsistencyDifference, ConsistencyState, DifferenceKind, DifferenceNote
from jukinet.tasks import wake, wake_on_commit

logger = logging.getLogger(__name__)

CHECK_ID = re.compile(r"^C[0-9]{8}-[0-9A-Z]{8}$")
_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
SPECS: dict[str, FileSpec] = {"honnin": HONNIN_SPEC, "fuhyo": FUHYO_SPEC}
PAGE_SIZE = 50
MAX_ATTEMPTS = 5
CSV_COLUMNS = ("juminhyo_code", "kind", "items", "counterpart_code", "note")
CSV_CHUNK = 5000
ACTIVE = (ConsistencyState.RECEIVED, ConsistencyState.COMPARING)
FINAL = (ConsistencyState.DONE, ConsistencyState.FAILED)

CsvRefused = stage.CsvRefused
CsvTooLarge = stage.CsvTooLarge
WrongMunicipality = stage.WrongMunicipality


class CheckNotDone(Conflict):
    code = "E_CHECK_NOT_DONE"
    message = "この整合性確認はまだ完了していません。"


class CheckErased(Conflict):
    code = "E_CHECK_ERASED"
    message = "保存期間を過ぎたため、この整合性確認の相違は消去されました。"


class CheckFailed(Conflict):
    code = "E_CHECK_FAILED"
    message = "この整合性確認は失敗しました。もう一度送信してください。"


def file_spec(file: str) -> FileSpec:
    try:
        return SPECS[file]
    except KeyError:
        raise NotFound("ファイルは honnin または fuhyo です。", code="E_UNKNOWN_FILE") from None


# --- Municipalities --------------------------------------------------------------------------


@functools.cache
def _municipalities() -> dict[str, tuple[str, str]]:
    """code6 → (code5, kind) from settings.MUNICIPALITIES_CSV."""
    with open(settings.MUNICIPALITIES_CSV, encoding="utf-8", newline="") as f:
        return {row["code6"]: (row["code5"], row["kind"]) for row in csv.DictReader(f)}


def municipality_scope(code: str) -> frozenset[str]:
    """The municipality codes a CS answers for: its own, and a designated city's wards.

    Residents of さいたま市 are registered in its wards (jukinet/synth/addresses.py): the
    city's CS sends the set of all ten, a ward's CS (if a ward has one) its own.
    """
    table = _municipalities()
    if table.get(code, ("", ""))[1] != "designated_city":
        return frozenset({code})
    cities = sorted(c5 for c5, kind in table.values() if kind == "designated_city")
    own5 = table[code][0]

    def city_of(ward5: str) -> str | None:
        earlier = [c for c in cities if c < ward5]
        return earlier[-1] if earlier else None

    wards = {c6 for c6, (c5, kind) in table.items() if kind == "ward" and city_of(c5) == own5}
    return frozenset({code, *wards})


# --- Receiving a set ---------------------------------------------------------------------------


def _new_check_id() -> str:
    return f"C{timezone.localdate():%Y%m%d}-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def consistency_receive(
    *, file: str, client: MachineClient, read: Callable[[int], bytes], content_length: int
) -> ConsistencyCheck:
    """Stage the CS's full set and commit the check, or refuse it leaving nothing.

    ``read(n)`` returns the next at most n bytes of the body (the request's own ``read``).
    """
    spec = file_spec(file)
    limit = settings.CONSISTENCY_MAX_BYTES
    if content_length > limit:
        raise CsvTooLarge(f"整合性確認のCSVが大きすぎます（{limit:,}バイトまで）。")
    scope = municipality_scope(client.municipality_code)
    index = get_keyring().index
    who = f"クライアント {client.client_id} 市町村 {client.municipality_code}"
    try:
        with transaction.atomic():
            check = ConsistencyCheck.objects.create(
                check_id=_new_check_id(),
                file=file,
                municipality_code=client.municipality_code,
                client_id=client.client_id,
                row_count=0,
                received_at=timezone.now(),
            )
            staged = stage.load(spec=spec, check_pk=check.pk, read=read, max_bytes=limit, scope=scope, index=index)
            check.row_count, check.byte_count, check.items = staged.rows, staged.bytes, staged.items
            check.save(update_fields=["row_count", "byte_count", "items"])
            access_log.log_event(
                action="consistency.receive",
                target_file=file,
                target_code=check.check_id,
                detail=f"{who} {staged.rows}行 {staged.bytes}バイト 照合項目 {len(staged.items)}",
            )
            from jukinet.tasks_consistency import consistency_compare as compare_task

            wake_on_commit(compare_task, check.check_id)
    except WrongMunicipality as exc:
        access_log.log_refusal(action="consistency.receive", target_file=file, detail=f"{who}: {exc.message}")
        raise
    except (CsvRefused, CsvTooLarge) as exc:
        access_log.log_event(
            action="consistency.receive",
            outcome=access_log.Outcome.FAILED,
            target_file=file,
            detail=f"{who}: {exc.code} {exc.message}",
        )
        raise
    return check


# --- Comparing -----------------------------------------------------------------------------------


def _lock_key(check_id: str) -> str:
    return f"consistency.check:{check_id}"


@contextmanager
def _run_lock(check_id: str) -> Iterator[bool]:
    """One comparer per check, for the whole run; PostgreSQL releases it if the worker dies."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [_lock_key(check_id)])
        got = cursor.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [_lock_key(check_id)])
            except Exception:  # the connection is gone, and the lock with it
                logger.warning("could not release the lock of consistency check %s", check_id)


def check_is_orphaned(check_id: str) -> bool:
    """Received or comparing with nobody holding its lock: a lost message or a killed worker."""
    with _run_lock(check_id) as got:
        return got


def consistency_compare(*, check_id: str) -> str:
    """Compare (or resume comparing) one check to its end. Idempotent; returns the state it ends in."""
    check = ConsistencyCheck.objects.filter(check_id=check_id).first()
    if check is None or check.state not in ACTIVE:
        return check.state if check else "missing"
    with context.acting(actor_kind="system", actor="consistency-worker"), _run_lock(check_id) as got:
        if not got:
            return "busy"  # another worker compares it
        # Claim it (received → comparing); the conditional UPDATE keeps two workers woken for the
        # same check (a redelivered message, the sweeper) from both starting it.
        claimed = ConsistencyCheck.objects.filter(pk=check.pk, state=ConsistencyState.RECEIVED).update(
            state=ConsistencyState.COMPARING, started_at=timezone.now(), attempts=1
        )
        if not claimed:
            ConsistencyCheck.objects.filter(pk=check.pk, state=ConsistencyState.COMPARING).update(
                attempts=check.attempts + 1
            )
        check.refresh_from_db()
        if check.state != ConsistencyState.COMPARING:
            return check.state
        if not claimed:
            access_log.log_event(
                action="consistency.resume",
                target_file=check.file,
                target_code=check_id,
                detail=f"区分 {check.slices_done}/{compare.SLICES} から再開（{check.attempts}回目）",
            )
        if check.attempts > MAX_ATTEMPTS:
            return _fail(check, "E_CHECK_ATTEMPTS", "照合を繰り返し完了できませんでした。もう一度送信してください。")
        if stage.stage_rows(check.pk) != check.row_count:
            return _fail(
                check,
                "E_CHECK_STAGE_LOST",
                "受け付けたデータが失われました（サーバの再起動など）。もう一度送信してください。",
            )
        spec = SPECS[check.file]
        scope = sorted(municipality_scope(check.municipality_code))
        table = stage.table_name(check.pk)
        for k in range(check.slices_done, compare.SLICES):
            with transaction.atomic(), connection.cursor() as cursor:
                found = compare.compare_slice(
                    cursor, spec=spec, stage=table, check_pk=check.pk, items=check.items, scope=scope, k=k
                )
                counts = {key: check.counts.get(key, 0) + found.get(key, 0) for key in compare.COUNT_KEYS}
                progress = (k + 1) / (compare.SLICES + 1)
                # Only the run that read slices_done may advance it (the lock should already keep a
                # second one out); otherwise this slice's differences roll back.
                advanced = ConsistencyCheck.objects.filter(
                    pk=check.pk, state=ConsistencyState.COMPARING, slices_done=k
                ).update(slices_done=k + 1, counts=counts, progress=progress)
                if advanced != 1:
                    raise Conflict("整合性確認の進捗が他の処理と競合しました。", code="E_CHECK_RACE")
            check.slices_done, check.counts = k + 1, counts
        return _finish(check, spec, table)


def _finish(check: ConsistencyCheck, spec: FileSpec, table: str) -> str:
    with transaction.atomic():
        with connection.cursor() as cursor:
            paired = compare.pair_by_four_info(cursor, spec=spec, stage=table, check_pk=check.pk)
        counts = {**check.counts, "code_differs": paired}
        done = ConsistencyCheck.objects.filter(
            pk=check.pk, state=ConsistencyState.COMPARING, slices_done=compare.SLICES
        ).update(state=ConsistencyState.DONE, progress=1.0, counts=counts, finished_at=timezone.now())
        if not done:
            raise Conflict("整合性確認の進捗が他の処理と競合しました。", code="E_CHECK_RACE")
        stage.drop(check.pk)  # the staged personal data goes now: only the differences stay
        access_log.log_event(
            action="consistency.done",
            target_file=check.file,
            target_code=check.check_id,
            detail=" ".join(f"{key}={counts.get(key, 0)}" for key in compare.COUNT_KEYS),
        )
    return ConsistencyState.DONE


def _fail(check: ConsistencyCheck, code: str, message: str) -> str:
    with transaction.atomic():
        ConsistencyDifference.objects.filter(consistency_check=check).delete()
        ConsistencyCheck.objects.filter(pk=check.pk, state__in=ACTIVE).update(
            state=ConsistencyState.FAILED, finished_at=timezone.now(), error_code=code, error_message=message
        )
        stage.drop(check.pk)
        access_log.log_event(
            action="consistency.failed",
            outcome=access_log.Outcome.FAILED,
            target_file=check.file,
            target_code=check.check_id,
            detail=f"{code} {message}",
        )
    return ConsistencyState.FAILED


def consistency_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Beat: wake checks left behind, erase differences past their keep time, drop stray stages.

    Idempotent: waking a check that a worker holds is answered "busy" by its lock.
    """
    now = now or timezone.now()
    from jukinet.tasks_consistency import consistency_compare as compare_task

    woken = 0
    for check_id in ConsistencyCheck.objects.filter(state__in=ACTIVE).values_list("check_id", flat=True):
        if check_is_orphaned(check_id):
            woken += 1
            wake(compare_task, check_id)
    erased = 0
    cutoff = now - dt.timedelta(days=settings.CONSISTENCY_KEEP_DAYS)
    with context.acting(actor_kind="system", actor="consistency-sweep"):
        old = ConsistencyCheck.objects.filter(state__in=FINAL, finished_at__lt=cutoff, erased_at__isnull=True)
        for check in old.only("pk", "check_id", "file"):
            with transaction.atomic():
                deleted, _ = ConsistencyDifference.objects.filter(consistency_check=check).delete()
                ConsistencyCheck.objects.filter(pk=check.pk).update(erased_at=now)
                access_log.log_event(
                    action="consistency.erase",
                    target_file=check.file,
                    target_code=check.check_id,
                    detail=f"保存期間（{settings.CONSISTENCY_KEEP_DAYS}日）経過により相違 {deleted}件を消去",
                )
            erased += 1
        dropped = 0
        for pk in stage.orphaned_tables():
            stage.drop(pk)
            dropped += 1
    return {"woken": woken, "erased": erased, "dropped": dropped}


# --- Reading a check -----------------------------------------------------------------------------


def consistency_status(check: ConsistencyCheck) -> dict:
    counts = check.counts or {}
    return {
        "check_id": check.check_id,
        "file": check.file,
        "municipality_code": check.municipality_code,
        "state": check.state,
        "progress": 1.0 if check.state == ConsistencyState.DONE else round(check.progress, 4),
        "counts": {key: counts.get(key, 0) for key in compare.COUNT_KEYS},
        "row_count": check.row_count,
        "items": list(check.items),
        "received_at": check.received_at.isoformat(),
        "finished_at": check.finished_at.isoformat() if check.finished_at else None,
        "differences_erased": check.erased_at is not None,
        "error": {"code": check.error_code, "message": check.error_message} if check.error_code else None,
    }


def check_of_client(*, file: str, client: MachineClient, check_id: str) -> ConsistencyCheck | None:
    """The client's own check, or None. Another CS's check is refused as not found, and logged."""
    if not CHECK_ID.fullmatch(check_id):
        return None
    check = ConsistencyCheck.objects.filter(check_id=check_id, file=file).first()
    if check is not None and check.client_id != client.client_id:
        access_log.log_refusal(
            action="consistency.status",
            target_file=file,
            target_code=check_id,
            detail=f"他のクライアントの整合性確認 クライアント {client.client_id}",
        )
        return None
    return check


def _ready(check: ConsistencyCheck) -> None:
    if check.state == ConsistencyState.FAILED:
        raise CheckFailed()
    if check.state != ConsistencyState.DONE:
        raise CheckNotDone()
    if check.erased_at is not None:
        raise CheckErased()


def _get(check_id: str) -> ConsistencyCheck:
    check = ConsistencyCheck.objects.filter(check_id=check_id).first() if CHECK_ID.fullmatch(check_id) else None
    if check is None:
        raise NotFound("この整合性確認IDの確認はありません。")
    return check


def consistency_differences_count(check_id: str) -> int:
    """How many lines (besides the header) :func:`consistency_differences_csv` gives.

    Raises NotFound, or a Conflict while the check is not done (or failed, or erased)."""
    check = _get(check_id)
    _ready(check)
    return ConsistencyDifference.objects.filter(consistency_check=check).count()


def consistency_differences_csv(check_id: str) -> Iterator[str]:
    """The differences as CSV lines (header first, CRLF), the same as the API gives the CS.

    Columns: juminhyo_code, kind (missing_here / missing_there / different), items (the
    differing item names, ``;``-separated), counterpart_code (the other side's code with the
    same 4情報), note (removed_here / other_municipality_here). Read in keyset pages, so memory
    stays bounded; the checks happen before the first line is produced.
    """
    check = _get(check_id)
    _ready(check)
    return _csv_lines(check)


def _csv_lines(check: ConsistencyCheck) -> Iterator[str]:
    yield ",".join(CSV_COLUMNS) + "\r\n"
    last = ""
    rows = ConsistencyDifference.objects.filter(consistency_check=check).order_by("juminhyo_code")
    fields = ("juminhyo_code", "kind", "items", "counterpart_code", "note")
    while True:
        page = list(rows.filter(juminhyo_code__gt=last).values_list(*fields)[:CSV_CHUNK])
        if not page:
            return
        # Every value is a code, a fixed word or an item name: nothing to quote, no formula.
        yield "".join(f"{code},{kind},{';'.join(items)},{other},{note}\r\n" for code, kind, items, other, note in page)
        last = page[-1][0]


def consistency_differences_download(*, check: ConsistencyCheck) -> Iterator[str]:
    """The CS's download of its own check's differences (logged before the first line)."""
    _ready(check)
    count = ConsistencyDifference.objects.filter(consistency_check=check).count()
    access_log.log_event(
        action="consistency.differences",
        target_file=check.file,
        target_code=check.check_id,
        detail=f"相違 {count}件を送信元の市町村CSへ",
    )
    return _csv_lines(check)


# --- Staff pages -------------------------------------------------------------------------------


def checks_page(*, operator: Operator, page: str | int | None) -> Page:
    ensure_permitted(operator, "consistency.view")
    checks = ConsistencyCheck.objects.order_by("-received_at", "-id")
    result = Paginator(checks, PAGE_SIZE).get_page(page)
    access_log.log_event(action="consistency.view", detail=f"整合性確認の一覧 {result.number}ページ")
    return result


def check_for_staff(*, operator: Operator, check_id: str, log: bool = True) -> ConsistencyCheck:
    ensure_permitted(operator, "consistency.view")
    check = _get(check_id)
    if log:
        access_log.log_event(action="consistency.view", target_file=check.file, target_code=check.check_id)
    return check


def may_see_differences(operator: Operator, check: ConsistencyCheck) -> bool:
    """Differences name residents: the operator needs the file's duty, like the record search."""
    return check.file in (operator.duties or [])


def differences_page(*, operator: Operator, check: ConsistencyCheck, kind: str, page: str | int | None) -> Page:
    """One page of a check's differences (PAGE_SIZE, by 住民票コード), logged as a read."""
    ensure_permitted(operator, "consistency.view")
    if not may_see_differences(operator, check):
        spec = SPECS[check.file]
        exc = PermissionRefused(f"{spec.label}ファイルの担当ではないため、相違は表示できません。", code="E_FILE_DUTY")
        access_log.log_refusal(
            action="consistency.differences_view", target_file=check.file, target_code=check.check_id,
            detail=exc.message,
        )  # fmt: skip
        raise exc
    if kind and kind not in DifferenceKind.values:
        raise InvalidInput("相違の種別を選び直してください。", code="E_KIND", field="kind")
    rows = ConsistencyDifference.objects.filter(consistency_check=check)
    if kind:
        rows = rows.filter(kind=kind)
    result = Paginator(rows.order_by("juminhyo_code"), PAGE_SIZE).get_page(page)
    result.object_list = list(result.object_list)
    spec = SPECS[check.file]
    for row in result.object_list:
        row.item_labels = [spec.label_of(name) for name in row.items]
        row.note_label = DifferenceNote(row.note).label if row.note else ""
    label = DifferenceKind(kind).label if kind else "すべて"
    access_log.log_event(
        action="consistency.differences_view",
        target_file=check.file,
        target_code=check.check_id,
        detail=f"相違（{label}）{result.number}ページ {len(result.object_list)}件",
    )
    return result
