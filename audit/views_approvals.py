"""Staff pages of the prior approval of large outputs (大量のデータ出力の事前承認).

The list (pending first, then decided) and one request's page are for system administrators,
提供担当 and auditors (``approval.view``); only a system administrator decides
(``approval.decide``), never on their own request (audit.approvals says so, the database too).
The pages show what, for whom and how many rows: never personal data. docs/approvals.md.
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from audit import access_log
from audit.approvals import (
    NOTE_MAX,
    approval_decide,
    approval_get,
    approval_subject_url,
    approvals_decided,
    approvals_pending,
    kind_label,
)
from audit.forms import JapaneseForm
from audit.models import ApprovalState, OutputApproval
from audit.permissions import permitted
from audit.views_support import add_domain_error, staff_view
from jukinet.errors import DomainError, PermissionRefused

PAGE_SIZE = 50


class DecisionForm(JapaneseForm):
    # No default: approving takes a deliberate choice (arrow keys in the group), never a stray Enter.
    decision = forms.ChoiceField(
        label="決裁",
        choices=[("approve", "承認する"), ("reject", "却下する")],
        widget=forms.RadioSelect,
        error_messages={"required": "承認するか却下するかを選んでください。"},
    )
    note = forms.CharField(
        label="理由・条件",
        max_length=NOTE_MAX,
        required=False,
        help_text="却下するときは必須です。承認の条件（受け渡し方法など）があれば記入します。",
        widget=forms.TextInput(attrs={"class": "wide", "autocomplete": "off"}),
    )


def _decorate(approval: OutputApproval) -> OutputApproval:
    approval.kind_label = kind_label(approval.kind)
    approval.subject_url = approval_subject_url(approval)
    return approval


@require_GET
@staff_view("approval.view")
def approval_list(request: HttpRequest) -> HttpResponse:
    pending = [_decorate(a) for a in approvals_pending()]
    page = Paginator(approvals_decided(), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [_decorate(a) for a in page.object_list]
    access_log.log_event(action="approval.view", detail=f"一覧 承認待ち{len(pending)}件")
    return render(request, "approvals/list.html", {"pending": pending, "page": page})


def _render_detail(
    request: HttpRequest,
    approval: OutputApproval,
    form: DecisionForm | None = None,
    status: int = 200,
    error: str = "",
) -> HttpResponse:
    own = approval.requested_by == request.user.login_id
    can_decide = permitted(request.user, "approval.decide") and approval.state == ApprovalState.PENDING and not own
    context = {
        "approval": _decorate(approval),
        "form": form or DecisionForm(),
        "can_decide": can_decide,
        "own_request": own and approval.state == ApprovalState.PENDING,
        "error": error,
    }
    return render(request, "approvals/detail.html", context, status=status)


@require_GET
@staff_view("approval.view")
def approval_detail(request: HttpRequest, pk: int) -> HttpResponse:
    approval = approval_get(pk=pk)
    if approval is None:
        raise Http404("承認申請が見つかりません。")
    access_log.log_event(action="approval.view", target_code=f"approval:{approval.pk}", detail=approval.subject)
    return _render_detail(request, approval)


@require_POST
@staff_view("approval.decide")
def approval_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    approval = approval_get(pk=pk)
    if approval is None:
        raise Http404("承認申請が見つかりません。")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, approval, form, status=400)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        decided = approval_decide(
            approval=approval, operator=request.user, approve=approve, note=form.cleaned_data["note"]
        )
    except DomainError as exc:
        if isinstance(exc, PermissionRefused):
            access_log.log_refusal(
                action="approval.decide", target_code=f"approval:{approval.pk}", detail=f"{exc.code} {exc.message}"
            )
        approval.refresh_from_db()
        if exc.field in form.fields:
            add_domain_error(form, exc)
            return _render_detail(request, approval, form, status=exc.status)
        return _render_detail(request, approval, form, status=exc.status, error=exc.message)
    messages.success(
        request,
        f"{kind_label(decided.kind)} {decided.subject} を{'承認' if approve else '却下'}しました。",
    )
    return redirect("approval_detail", pk=decided.pk)
