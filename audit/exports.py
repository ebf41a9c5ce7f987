"""Large data outputs from staff pages (大量のデータ出力): ask, approve, produce, copy, erase.

The assessment: 「大量のデータ出力に際しては、事前にシステム管理者に届出を行い、システム管理者
の承認を得る」「システム管理者が操作を行う」. So an output of more than
settings.LARGE_OUTPUT_ROWS rows from a staff page never streams to the asker's browser:

1. the asker files a request (:func:`export_request`): an ``ExportFile`` and an
   ``OutputApproval`` of kind ``export`` in one transaction (the same approval mechanism as
   batch provision, audit.approvals);
2. another system administrator approves or rejects it on /approvals/; the approval's handler
   (:func:`export_approval_decided`) moves the export and wakes a worker on commit;
3. the worker writes the file (:func:`export_produce`) into settings.EXPORT_DIR (mode 0600,
   written under a temporary name, checksummed, renamed), claimed with a conditional UPDATE;
4. only a system administrator copies it off the server (:func:`export_copy`), giving a
   reason; every copy is an access-log entry;
5. the sweep (:func:`exports_sweep`) produces exports a lost message left behind and erases
   files ``EXPORT_KEEP_HOURS`` after they were produced.

What an export contains is named by its kind in :data:`EXPORT_KINDS` (dotted paths resolved
when used, so this module imports no app above audit). docs/approvals.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from audit import access_log, approvals
from audit.backups import file_sha256
from audit.models import ApprovalState, ExportFile, ExportState, Operator, OutputApproval
from audit.permissions import ensure_permitted
from jukinet.errors import Conflict, InvalidInput, NotFound
from jukinet.text_input import REASON_MAX, clean_line

logger = logging.getLogger(__name__)

_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# A produce left in "producing" this long without a file is retried by the sweep.
_PRODUCE_STALE = dt.timedelta(minutes=30)
_LOCK_CLASS = 0x0E78  # advisory-lock namespace of export production


@dataclass(frozen=True)
class ExportKind:
    label: str
    # The permission needed to ask for this output (audit.permissions).
    request_action: str
    # Dotted paths: count(params) -> int; lines(params) -> Iterator[str] (the file's text,
    # header first); authorize(params, operator) -> None, raising PermissionRefused (optional).
    count: str
    lines: str
    # The access-log action of an output small enough to go at once.
    direct_action: str
    authorize: str = ""
    file_prefix: str = "export"


EXPORT_KINDS: dict[str, ExportKind] = {
    "audit_log": ExportKind(
        label="操作記録のCSV出力",
        request_action="audit_log.export",
        count="audit.log_export.log_export_count",
        lines="audit.log_export.log_export_lines",
        direct_action="audit_log.export",
        file_prefix="access-log",
    ),
    "consistency_differences": ExportKind(
        label="整合性確認の差異一覧",
        request_action="consistency.view",
        count="jukinet.consistency_exports.differences_count",
        lines="jukinet.consistency_exports.differences_lines",
        direct_action="consistency.differences_export",
        authorize="jukinet.consistency_exports.differences_authorize",
        file_prefix="consistency-differences",
    ),
}


class ExportNotReady(Conflict):
    code = "E_EXPORT_NOT_READY"
    message = "この出力はまだ作成されていないか、すでに消去されています。"


class ExportFileMissing(NotFound):
    code = "E_EXPORT_FILE_MISSING"
    message = "出力ファイルが見つからないか、内容が作成時と一致しません。システム管理者に連絡してください。"


def kind_spec(kind: str) -> ExportKind:
    spec = EXPORT_KINDS.get(kind)
    if spec is None:
        raise InvalidInput("出力の種別が登録されていません。", code="E_EXPORT_KIND")
    return spec


def _resolve(path: str) -> Callable:
    return import_string(path)


def needs_approval(row_count: int) -> bool:
    """Whether an output of this many rows is a large data output (settings.LARGE_OUTPUT_ROWS)."""
    return row_count > settings.LARGE_OUTPUT_ROWS


def _new_export_id() -> str:
    return f"X{timezone.localdate():%Y%m%d}-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


# --- Services --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    """What a staff page does with an output: stream ``lines`` now, or show ``export``."""

    row_count: int
    lines: Iterator[str] | None = None
    export: ExportFile | None = None


def output_or_request(*, operator: Operator, kind: str, params: dict, summary: str, target_code: str = "") -> Output:
    """The rule of every staff-page output: up to settings.LARGE_OUTPUT_ROWS rows go at once
    (logged under the kind's ``direct_action``); more become a request for prior approval."""
    spec = _checked(operator, kind, params)
    row_count = _resolve(spec.count)(params)
    if needs_approval(row_count):
        return Output(row_count=row_count, export=_request(spec, kind, operator, params, summary, row_count))
    access_log.log_event(action=spec.direct_action, target_code=target_code, detail=f"{row_count}件 {summary}")
    return Output(row_count=row_count, lines=_resolve(spec.lines)(params))


def approval_requested_message(output: Output) -> str:
    """What the asker reads when an output became a request for prior approval."""
    return (
        f"{output.row_count:,}件は大量のデータ出力にあたるため、システム管理者の事前承認を申請しました"
        f"（{output.export.export_id}）。承認後、システム管理者がファイルを複製して受け渡します。"
    )


def export_request(*, operator: Operator, kind: str, params: dict, summary: str) -> ExportFile:
    """File a request for a large output; a system administrator other than the asker decides."""
    spec = _checked(operator, kind, params)
    return _request(spec, kind, operator, params, summary, _resolve(spec.count)(params))


def _checked(operator: Operator, kind: str, params: dict) -> ExportKind:
    spec = kind_spec(kind)
    ensure_permitted(operator, spec.request_action)
    if spec.authorize:
        _resolve(spec.authorize)(params, operator)
    return spec


def _request(spec: ExportKind, kind: str, operator: Operator, params: dict, summary: str, row_count: int) -> ExportFile:
    with transaction.atomic():
        export = ExportFile.objects.create(
            export_id=_new_export_id(),
            kind=kind,
            params=params,
            summary=summary[:300],
            row_count=row_count,
            requested_by=operator.login_id,
            requested_at=timezone.now(),
        )
        export.approval = approvals.approval_request(
            kind="export",
            subject=export.export_id,
            summary=f"{spec.label}: {summary}"[:300],
            row_count=row_count,
            requested_by=operator.login_id,
        )
        export.save(update_fields=["approval"])
        access_log.log_event(
            action="export.request",
            target_code=f"export:{export.export_id}",
            detail=f"{spec.label} {row_count}件 {summary}",
        )
    return export


def export_approval_decided(approval: OutputApproval) -> None:
    """audit.approvals calls this inside the deciding transaction."""
    export = ExportFile.objects.select_for_update().filter(export_id=approval.subject).first()
    if export is None or export.state != ExportState.AWAITING:
        return
    if approval.state == ApprovalState.APPROVED:
        export.state = ExportState.PRODUCING
        export.save(update_fields=["state"])
        from audit.tasks import exports_produce
        from jukinet.tasks import wake_on_commit

        wake_on_commit(exports_produce, export.export_id)
    else:
        export.state = ExportState.REJECTED
        export.save(update_fields=["state"])


def export_produce(*, export_id: str) -> str:
    """Write an approved export's file. Idempotent: a second run finds it produced and returns."""
    export = ExportFile.objects.filter(export_id=export_id).first()
    if export is None or export.state != ExportState.PRODUCING:
        return export.state if export else "missing"
    # One writer per export: a sweep's retry must not replace a file whose checksum is recorded.
    with _produce_lock(export.pk) as mine:
        if not mine:
            return ExportState.PRODUCING
        export.refresh_from_db()
        if export.state != ExportState.PRODUCING:
            return export.state
        return _write(export)


@contextmanager
def _produce_lock(pk: int) -> Iterator[bool]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_CLASS, pk])
        mine = bool(cursor.fetchone()[0])
    try:
        yield mine
    finally:
        if mine:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_CLASS, pk])


def _write(export: ExportFile) -> str:
    export_id = export.export_id
    spec = kind_spec(export.kind)
    directory = Path(settings.EXPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = directory / f"{spec.file_prefix}-{export.export_id}.csv"
    temporary = final.with_suffix(f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    size = 0
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            for text in _resolve(spec.lines)(export.params):
                chunk = text.encode("utf-8")
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, final)
    except Exception as exc:
        temporary.unlink(missing_ok=True)
        ExportFile.objects.filter(pk=export.pk, state=ExportState.PRODUCING).update(
            state=ExportState.FAILED, error=f"作成に失敗しました（{type(exc).__name__}）"
        )
        access_log.log_event(
            action="export.produce", outcome="error", target_code=f"export:{export_id}", detail=type(exc).__name__
        )
        logger.exception("export %s failed", export_id)
        return ExportState.FAILED
    now = timezone.now()
    # Conditional: a sweep that raced us to the same export finishes only once.
    done = ExportFile.objects.filter(pk=export.pk, state=ExportState.PRODUCING).update(
        state=ExportState.READY,
        file_path=str(final),
        size_bytes=size,
        sha256=digest.hexdigest(),
        produced_at=now,
        expires_at=now + dt.timedelta(hours=settings.EXPORT_KEEP_HOURS),
    )
    if done:
        access_log.log_event(
            action="export.produce",
            target_code=f"export:{export_id}",
            detail=f"{spec.label} {export.row_count}件 {size}バイト",
        )
    return ExportState.READY


def export_copy(*, export: ExportFile, operator: Operator, reason: str) -> Path:
    """A system administrator copies a produced file off the server: checked, then logged."""
    ensure_permitted(operator, "export.copy")
    reason = clean_line(reason, label="複製の理由", field="reason", limit=REASON_MAX, code="E_EXPORT_REASON")
    if export.state != ExportState.READY or not export.file_path:
        raise ExportNotReady()
    path = Path(export.file_path)
    if not path.is_file() or file_sha256(path) != (export.size_bytes, export.sha256):
        raise ExportFileMissing()
    copies = access_log_copies(export) + 1
    access_log.log_event(
        action="export.copy",
        target_code=f"export:{export.export_id}",
        detail=f"{copies}回目の複製 {export.row_count}件 理由: {reason}",
    )
    return path


def exports_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Beat: produce approved exports a lost message left behind; erase expired files."""
    from audit.tasks import exports_produce
    from jukinet.tasks import wake

    now = now or timezone.now()
    # One approved a while ago and still without a file lost its message or its worker; a fresh
    # one may still be in a worker's hands (producing twice is harmless, only wasteful).
    stale = ExportFile.objects.filter(state=ExportState.PRODUCING, approval__decided_at__lt=now - _PRODUCE_STALE)
    woken = 0
    for export_id in stale.values_list("export_id", flat=True):
        wake(exports_produce, export_id)
        woken += 1
    erased = 0
    for export in ExportFile.objects.filter(state=ExportState.READY, expires_at__lte=now):
        erased += export_erase(export=export)
    return {"woken": woken, "erased": erased}


def export_erase(*, export: ExportFile) -> int:
    """Remove an export's file and mark it erased (the row and its log stay)."""
    if export.file_path:
        Path(export.file_path).unlink(missing_ok=True)
    changed = ExportFile.objects.filter(pk=export.pk, state=ExportState.READY).update(state=ExportState.ERASED)
    if changed:
        access_log.log_event(
            action="export.erase", target_code=f"export:{export.export_id}", detail="保存期限経過によるファイル消去"
        )
    return changed


# --- Selectors -------------------------------------------------------------------------------


def exports_all() -> QuerySet[ExportFile]:
    return ExportFile.objects.select_related("approval").order_by("-requested_at", "-pk")


def export_get(*, export_id: str) -> ExportFile | None:
    return ExportFile.objects.select_related("approval").filter(export_id=export_id).first()


def access_log_copies(export: ExportFile) -> int:
    from audit.models import AccessLogEntry

    return AccessLogEntry.objects.filter(
        action="export.copy", target_code=f"export:{export.export_id}", outcome="ok"
    ).count()
