"""Prior approval of large data outputs (大量のデータ出力の事前承認): services and selectors.

One mechanism for every kind of large output (issue 6: batch provision; issue 8: exports and
dumps). Whoever wants to output asks (:func:`approval_request`); a system administrator who is
not the requester decides once (:func:`approval_decide`); the kind's handler, named in
:data:`KINDS`, moves its subject (a BatchJob, an export …) in the same transaction, so an
approval and its effect commit or roll back together. The database refuses a decision by the
requester too (``audit_approval_not_self``). Every step is logged; a summary never holds
personal data (what, for whom, how many rows).

A new kind adds one entry to :data:`KINDS` (a dotted path, resolved when a decision is made,
so this module imports no app above it). docs/approvals.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from audit import access_log
from audit.models import ApprovalState, Operator, OutputApproval
from audit.permissions import ensure_permitted
from jukinet.errors import Conflict, InvalidInput, NotFound, PermissionRefused

SUMMARY_MAX = 300
NOTE_MAX = 300


@dataclass(frozen=True)
class ApprovalKind:
    label: str
    # Called as handler(approval) inside the deciding transaction, after the state changed.
    on_decided: str
    # The staff page of the subject: a URL name taking the subject as its one argument.
    subject_url: str = ""


KINDS: dict[str, ApprovalKind] = {
    "batch_provision": ApprovalKind(
        label="一括提供",
        on_decided="provision.batch.batch_approval_decided",
        subject_url="provision_batch_detail",
    ),
    "export": ApprovalKind(
        label="大量データ出力",
        on_decided="audit.exports.export_approval_decided",
        subject_url="export_detail",
    ),
}


class ApprovalSelfDecision(PermissionRefused):
    code = "E_APPROVAL_SELF"
    message = "自分が申請した出力を自分で承認・却下することはできません。別のシステム管理者が決裁してください。"


class ApprovalAlreadyDecided(Conflict):
    code = "E_APPROVAL_DECIDED"
    message = "この申請はすでに決裁されています。"


def kind_label(kind: str) -> str:
    spec = KINDS.get(kind)
    return spec.label if spec else kind


# --- Services --------------------------------------------------------------------------------


def approval_request(*, kind: str, subject: str, summary: str, row_count: int, requested_by: str) -> OutputApproval:
    """Ask for approval of one output. Call inside the transaction that creates the subject."""
    if kind not in KINDS:
        raise InvalidInput("出力の種別が登録されていません。", code="E_APPROVAL_KIND")
    summary = summary.strip()
    if not summary or len(summary) > SUMMARY_MAX or not subject or not requested_by or row_count < 0:
        raise InvalidInput("承認申請の内容が正しくありません。", code="E_APPROVAL_REQUEST")
    with transaction.atomic():
        approval = OutputApproval.objects.create(
            kind=kind,
            subject=subject,
            summary=summary,
            row_count=row_count,
            requested_by=requested_by,
            requested_at=timezone.now(),
        )
        access_log.log_event(
            action="approval.request",
            target_code=f"approval:{approval.pk}",
            detail=f"{kind_label(kind)} {subject} {row_count}件 申請者 {requested_by}",
        )
    return approval


def approval_decide(
    *, approval: OutputApproval | int, operator: Operator, approve: bool, note: str = ""
) -> OutputApproval:
    """A system administrator approves or rejects a pending request, once.

    Raises PermissionRefused (not a system administrator, or the requester), Conflict (already
    decided) or InvalidInput (a rejection without a reason, a note too long). The caller logs a
    refusal after this transaction has rolled back (views do).
    """
    ensure_permitted(operator, "approval.decide")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"理由・条件は{NOTE_MAX}文字以内で入力してください。", code="E_APPROVAL_NOTE", field="note")
    if not approve and not note:
        raise InvalidInput("却下する場合は理由を入力してください。", code="E_APPROVAL_NOTE", field="note")
    pk = approval.pk if isinstance(approval, OutputApproval) else approval
    with transaction.atomic():
        # The row lock serialises two administrators deciding at once: the second sees the first's decision.
        locked = OutputApproval.objects.select_for_update().filter(pk=pk).first()
        if locked is None:
            raise NotFound("承認申請が見つかりません。", code="E_APPROVAL_NOT_FOUND")
        if locked.state != ApprovalState.PENDING:
            raise ApprovalAlreadyDecided()
        if locked.requested_by == operator.login_id:
            raise ApprovalSelfDecision()
        locked.state = ApprovalState.APPROVED if approve else ApprovalState.REJECTED
        locked.decided_by = operator.login_id
        locked.decided_at = timezone.now()
        locked.decision_note = note
        locked.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
        access_log.log_event(
            action="approval.approve" if approve else "approval.reject",
            target_code=f"approval:{locked.pk}",
            detail=f"{kind_label(locked.kind)} {locked.subject} {locked.row_count}件"
            + (f" 理由・条件: {note}" if note else ""),
        )
        handler = KINDS.get(locked.kind)
        if handler is not None:
            import_string(handler.on_decided)(locked)
    return locked


# --- Selectors -------------------------------------------------------------------------------


def approvals_pending() -> QuerySet[OutputApproval]:
    return OutputApproval.objects.filter(state=ApprovalState.PENDING).order_by("requested_at", "pk")


def approvals_decided() -> QuerySet[OutputApproval]:
    return OutputApproval.objects.exclude(state=ApprovalState.PENDING).order_by("-decided_at", "-pk")


def approval_get(*, pk: int) -> OutputApproval | None:
    return OutputApproval.objects.filter(pk=pk).first()


def approval_subject_url(approval: OutputApproval) -> str:
    """The staff page of what the approval is about ("" when its kind has none)."""
    from django.urls import NoReverseMatch, reverse

    spec = KINDS.get(approval.kind)
    if spec is None or not spec.subject_url:
        return ""
    try:
        return reverse(spec.subject_url, args=[approval.subject])
    except NoReverseMatch:
        return ""
