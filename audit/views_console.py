"""The admin console (管理コンソール) of the system and security administrators.

Thin: a form checks the shape, a service in audit.services authorises, acts and logs, and the
page shows the service's message next to the field it names. What an approval issues (a
one-time password and TOTP secret, an enrolment code, a bearer token) is rendered once in the
response body of the approving POST: never in a URL, a redirect, a message or a log, and the
page is not cached.
"""

import datetime as dt
import re
from dataclasses import dataclass

import segno
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.forms_console import (
    ISSUE_FORMS,
    ApplicationFilterForm,
    ReasonForm,
    RejectForm,
    RemovalFilterForm,
    ReviewCreateForm,
    RevokeForm,
    SignOffForm,
    StateFilterForm,
)
from audit.models import (
    ApplicationKind,
    ApplicationState,
    ClientKind,
    FileDuty,
    GrantReview,
    IdApplication,
    IdentityState,
    MachineClient,
    Operator,
    RemovalRecord,
    Role,
    SubjectKind,
    Terminal,
)
from audit.services import (
    IssuedClient,
    IssuedOperator,
    IssuedTerminal,
    application_approve,
    application_file_issue,
    application_file_revoke,
    application_reject,
    grant_review_create,
    grant_review_sign_off,
    identity_reinstate,
    identity_suspend,
)
from audit.views_support import add_domain_error, permissions_for, staff_view
from jukinet.errors import DomainError

PAGE_SIZE = 50
HISTORY_LIMIT = 100


@dataclass(frozen=True)
class SubjectSpec:
    model: type[Model]
    id_field: str
    label: str
    list_url: str
    detail_url: str
    template: str


SUBJECTS: dict[str, SubjectSpec] = {
    SubjectKind.OPERATOR: SubjectSpec(
        Operator, "login_id", "操作者", "console_operators", "console_operator", "console/operator_detail.html"
    ),
    SubjectKind.TERMINAL: SubjectSpec(
        Terminal, "terminal_id", "端末", "console_terminals", "console_terminal", "console/terminal_detail.html"
    ),
    SubjectKind.CLIENT: SubjectSpec(
        MachineClient,
        "client_id",
        "機械クライアント",
        "console_clients",
        "console_client",
        "console/client_detail.html",
    ),
}

_ROLE_LABELS = dict(Role.choices)
_DUTY_LABELS = dict(FileDuty.choices)
_STATE_LABELS = dict(IdentityState.choices)
_CLIENT_KIND_LABELS = dict(ClientKind.choices)
_LOGENTRY_ACTIONS = {0: "作成", 1: "更新", 2: "削除", 3: "参照"}


def _labels(values, labels: dict) -> str:
    return "・".join(labels.get(v, str(v)) for v in values or [])


def _spec(subject_kind: str) -> SubjectSpec:
    try:
        return SUBJECTS[subject_kind]
    except KeyError:
        raise Http404("対象種別が正しくありません。") from None


# Login IDs, terminal IDs and client IDs are all of this shape; anything else (a NUL byte, a
# 5,000-character path) is not an ID and never reaches the database.
_SUBJECT_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")


def _subject_or_404(spec: SubjectSpec, subject_id: str) -> Model:
    if not _SUBJECT_ID.fullmatch(subject_id):
        raise Http404("対象のIDが見つかりません。")
    return get_object_or_404(spec.model, **{spec.id_field: subject_id})


def _page(request: HttpRequest, queryset: QuerySet):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _context(request: HttpRequest, **extra) -> dict:
    return {"can": permissions_for(request.user), **extra}


# --- Dashboard --------------------------------------------------------------------------------


@require_GET
@staff_view("console.view")
def dashboard(request: HttpRequest) -> HttpResponse:
    active = IdentityState.ACTIVE
    counts = {
        "pending_applications": IdApplication.objects.filter(state=ApplicationState.FILED).count(),
        "active_operators": Operator.objects.filter(state=active).count(),
        "active_terminals": Terminal.objects.filter(state=active).count(),
        "active_clients": MachineClient.objects.filter(state=active).count(),
        "unsigned_reviews": GrantReview.objects.filter(signed_off_at__isnull=True).count(),
    }
    pending = list(
        IdApplication.objects.filter(state=ApplicationState.FILED)
        .select_related("filed_by", "operator", "terminal", "client")
        .order_by("-filed_at", "-id")[:10]
    )
    _with_subject_labels(pending)
    return render(request, "console/dashboard.html", _context(request, counts=counts, pending=pending))


# --- Operators, terminals, clients ------------------------------------------------------------


def _subject_list(request: HttpRequest, subject_kind: str, queryset: QuerySet, template: str) -> HttpResponse:
    form = StateFilterForm(request.GET or None)
    page, status = None, 200
    if not request.GET or form.is_valid():
        state = form.cleaned_data.get("state") if request.GET else ""
        page = _page(request, queryset.filter(state=state) if state else queryset)
        if subject_kind == SubjectKind.OPERATOR:
            for operator in page:
                operator.duty_labels = _labels(operator.duties, _DUTY_LABELS)
    else:
        status = 400
    context = _context(request, form=form, page=page, query=_query_without_page(request), spec=SUBJECTS[subject_kind])
    return render(request, template, context, status=status)


@require_GET
@staff_view("console.view")
def operator_list(request: HttpRequest) -> HttpResponse:
    return _subject_list(
        request, SubjectKind.OPERATOR, Operator.objects.order_by("login_id"), "console/operator_list.html"
    )


@require_GET
@staff_view("console.view")
def terminal_list(request: HttpRequest) -> HttpResponse:
    queryset = Terminal.objects.select_related("enrolled_by").order_by("terminal_id")
    return _subject_list(request, SubjectKind.TERMINAL, queryset, "console/terminal_list.html")


@require_GET
@staff_view("console.view")
def client_list(request: HttpRequest) -> HttpResponse:
    return _subject_list(
        request, SubjectKind.CLIENT, MachineClient.objects.order_by("client_id"), "console/client_list.html"
    )


def _history(subject: Model) -> list[dict]:
    """django-auditlog's field-level history of the subject (nothing if the model is not registered)."""
    if not auditlog.contains(type(subject)):
        return []
    entries = LogEntry.objects.get_for_object(subject).select_related("actor", "content_type")[:HISTORY_LIMIT]
    return [
        {
            "timestamp": entry.timestamp,
            "action": _LOGENTRY_ACTIONS.get(entry.action, str(entry.action)),
            "actor": entry.actor.login_id if entry.actor else "",
            "changes": [(field, " → ".join(map(str, values))) for field, values in entry.changes_display_dict.items()],
        }
        for entry in entries
    ]


def _render_subject(
    request: HttpRequest,
    subject_kind: str,
    subject_id: str,
    *,
    suspend_form: ReasonForm | None = None,
    reinstate_form: ReasonForm | None = None,
    status: int = 200,
) -> HttpResponse:
    spec = _spec(subject_kind)
    subject = _subject_or_404(spec, subject_id)
    applications = (
        IdApplication.objects.filter(**{subject_kind: subject})
        .select_related("filed_by", "decided_by")
        .order_by("-filed_at")
    )
    removals = (
        RemovalRecord.objects.filter(subject_kind=subject_kind, subject_id=subject_id)
        .select_related("requested_by", "executed_by")
        .order_by("-executed_at")
    )
    context = _context(
        request,
        subject=subject,
        subject_kind=subject_kind,
        subject_id=subject_id,
        spec=spec,
        applications=applications,
        removals=removals,
        history=_history(subject),
        suspend_form=suspend_form or ReasonForm(prefix="suspend", autofocus=False),
        reinstate_form=reinstate_form or ReasonForm(prefix="reinstate", autofocus=False),
        suspend_url=reverse(f"{spec.detail_url}_suspend", args=[subject_id]),
        reinstate_url=reverse(f"{spec.detail_url}_reinstate", args=[subject_id]),
        revoke_url=reverse("console_application_revoke", args=[subject_kind, subject_id]),
        pending_revocation=any(
            a.kind == ApplicationKind.REVOKE and a.state == ApplicationState.FILED for a in applications
        ),
    )
    if subject_kind == SubjectKind.OPERATOR:
        context["duty_labels"] = _labels(subject.duties, _DUTY_LABELS)
    return render(request, spec.template, context, status=status)


@require_GET
@staff_view("console.view")
def subject_detail(request: HttpRequest, subject_kind: str, subject_id: str) -> HttpResponse:
    return _render_subject(request, subject_kind, subject_id)


def _suspension_view(request, subject_kind: str, subject_id: str, *, service, prefix: str, done: str):
    """The suspend and reinstate forms: one reason, one service call, the same page on error."""
    spec = _spec(subject_kind)
    _subject_or_404(spec, subject_id)
    form = ReasonForm(request.POST, prefix=prefix, autofocus=False)
    status = 400
    if form.is_valid():
        try:
            service(
                actor=request.user, subject_kind=subject_kind, subject_id=subject_id, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            status = exc.status
        else:
            messages.success(request, f"{spec.label} {subject_id} {done}")
            return redirect(spec.detail_url, subject_id=subject_id)
    return _render_subject(request, subject_kind, subject_id, status=status, **{f"{prefix}_form": form})


@require_POST
@staff_view("identity.suspend")
def subject_suspend(request: HttpRequest, subject_kind: str, subject_id: str) -> HttpResponse:
    """即時停止: the security administrator stops an ID at once; the record stays forever."""
    return _suspension_view(
        request, subject_kind, subject_id, service=identity_suspend, prefix="suspend", done="を停止しました。"
    )


@require_POST
@staff_view("identity.reinstate")
def subject_reinstate(request: HttpRequest, subject_kind: str, subject_id: str) -> HttpResponse:
    return _suspension_view(
        request, subject_kind, subject_id, service=identity_reinstate, prefix="reinstate", done="の停止を解除しました。"
    )


# --- Applications -----------------------------------------------------------------------------

_PARTICULAR_LABELS = {
    "login_id": "ログインID",
    "staff_number": "職員番号",
    "full_name": "氏名",
    "department": "所属",
    "roles": "役割",
    "duties": "担当ファイル",
    "name": "名称",
    "place": "設置場所",
    "kind": "種別",
    "municipality_code": "市町村コード",
    "duty_codes": "許可する事務コード",
    "subject_id": "対象ID",
}


def _particular_rows(particulars: dict) -> list[tuple[str, str]]:
    rows = []
    for key, value in particulars.items():
        if key == "roles":
            value = _labels(value, _ROLE_LABELS)
        elif key == "duties":
            value = _labels(value, _DUTY_LABELS)
        elif key == "kind":
            value = _CLIENT_KIND_LABELS.get(value, value)
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        rows.append((_PARTICULAR_LABELS.get(key, key), value or "-"))
    return rows


def _with_subject_labels(applications) -> None:
    """What each row is about: the issued ID, or the particulars while none exists yet."""
    for application in applications:
        subject = application.operator or application.terminal or application.client
        particulars = application.particulars or {}
        application.subject_label = (
            str(subject)
            if subject
            else (particulars.get("login_id") or particulars.get("name") or particulars.get("subject_id") or "")
        )


@require_GET
@staff_view("console.view")
def application_list(request: HttpRequest) -> HttpResponse:
    form = ApplicationFilterForm(request.GET or None)
    page, status = None, 200
    if not request.GET or form.is_valid():
        filters = {k: v for k, v in (form.cleaned_data if request.GET else {}).items() if v}
        applications = IdApplication.objects.filter(**filters).select_related(
            "filed_by", "decided_by", "operator", "terminal", "client"
        )
        page = _page(request, applications.order_by("-filed_at", "-id"))
        _with_subject_labels(page)
    else:
        status = 400
    context = _context(request, form=form, page=page, query=_query_without_page(request))
    return render(request, "console/application_list.html", context, status=status)


@require_http_methods(["GET", "POST"])
@staff_view("application.file_issue")
def application_new(request: HttpRequest, subject_kind: str) -> HttpResponse:
    """Enter a written 新規発効届 with its particulars; nothing is issued until a decision."""
    spec = _spec(subject_kind)
    form_class = ISSUE_FORMS[subject_kind]
    status = 200
    if request.method == "POST":
        form = form_class(request.POST)
        status = 400
        if form.is_valid():
            try:
                application = application_file_issue(
                    actor=request.user, subject_kind=subject_kind, particulars=form.particulars(), **form.applicant()
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = exc.status
            else:
                messages.success(
                    request, f"新規発効届（{spec.label}）を受け付けました。システム管理者の承認を待ちます。"
                )
                return redirect("console_application", pk=application.pk)
    else:
        form = form_class(initial={"applied_on": timezone.localdate()})
    context = _context(request, form=form, spec=spec, subject_kind=subject_kind)
    return render(request, "console/application_new.html", context, status=status)


@require_http_methods(["GET", "POST"])
@staff_view("application.file_revoke")
def application_revoke(request: HttpRequest, subject_kind: str, subject_id: str) -> HttpResponse:
    """Enter a 失効届 (the security administrator's request); a system administrator executes it."""
    spec = _spec(subject_kind)
    subject = _subject_or_404(spec, subject_id)
    status = 200
    if request.method == "POST":
        form = RevokeForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                application = application_file_revoke(
                    actor=request.user, subject_kind=subject_kind, subject_id=subject_id, **form.applicant()
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = exc.status
            else:
                messages.success(request, f"{spec.label} {subject_id} の失効届を受け付けました。")
                return redirect("console_application", pk=application.pk)
    else:
        user = request.user
        form = RevokeForm(
            initial={
                "applicant_name": user.full_name,
                "applicant_staff_number": user.staff_number,
                "applicant_department": user.department,
                "applied_on": timezone.localdate(),
            }
        )
    context = _context(request, form=form, spec=spec, subject=subject, subject_kind=subject_kind, subject_id=subject_id)
    return render(request, "console/application_revoke.html", context, status=status)


def _render_application(
    request: HttpRequest,
    pk: int,
    *,
    reject_form: RejectForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    application = get_object_or_404(
        IdApplication.objects.select_related("filed_by", "decided_by", "operator", "terminal", "client"), pk=pk
    )
    subject = application.operator or application.terminal or application.client
    subject_url = ""
    if subject is not None:
        spec = SUBJECTS[application.subject_kind]
        subject_url = reverse(spec.detail_url, args=[getattr(subject, spec.id_field)])
    context = _context(
        request,
        application=application,
        particulars=_particular_rows(application.particulars),
        subject=subject,
        subject_url=subject_url,
        reject_form=reject_form or RejectForm(prefix="reject", autofocus=False),
        error=error,
        removal=RemovalRecord.objects.filter(application=application).select_related("executed_by").first(),
    )
    return render(request, "console/application_detail.html", context, status=status)


@require_GET
@staff_view("console.view")
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_application(request, pk)


@require_POST
@staff_view("application.decide")
def application_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    """承認: issue (新規発効届) or execute the revocation (失効届)."""
    application = get_object_or_404(IdApplication, pk=pk)
    try:
        result = application_approve(actor=request.user, application_id=application.pk)
    except DomainError as exc:
        return _render_application(request, pk, error=exc.message, status=exc.status)
    if isinstance(result, RemovalRecord):
        messages.success(request, f"失効を実行しました（{result.subject_id}）。権限削除記録に残しました。")
        return redirect("console_application", pk=pk)
    return _issued_page(request, application, result)


def _issued_page(
    request: HttpRequest, application: IdApplication, issued: IssuedOperator | IssuedTerminal | IssuedClient
) -> HttpResponse:
    """The one and only time the secret is shown: handed over, then gone (only hashes are stored)."""
    if isinstance(issued, IssuedOperator):
        secret = issued.totp_secret
        template = "console/issued_operator.html"
        shown = {
            "operator": issued.operator,
            "one_time_password": issued.one_time_password,
            "totp_secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            # segno writes only path data (no text from the URI), so the markup is safe to inline.
            "qr_svg": mark_safe(segno.make_qr(issued.totp_uri).svg_inline(scale=4)),  # noqa: S308
        }
    elif isinstance(issued, IssuedTerminal):
        template = "console/issued_terminal.html"
        shown = {"terminal": issued.terminal, "enrolment_code": issued.enrolment_code, "expires_at": issued.expires_at}
    else:
        template = "console/issued_client.html"
        shown = {"machine_client": issued.client, "token": issued.token}
    response = render(request, template, _context(request, application=application, **shown))
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@require_POST
@staff_view("application.decide")
def application_reject_view(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(IdApplication, pk=pk)
    form = RejectForm(request.POST, prefix="reject", autofocus=False)
    status = 400
    if form.is_valid():
        try:
            application_reject(actor=request.user, application_id=application.pk, note=form.cleaned_data["note"])
        except DomainError as exc:
            add_domain_error(form, exc)
            status = exc.status
        else:
            messages.success(request, "届出を却下しました。")
            return redirect("console_application", pk=pk)
    return _render_application(request, pk, reject_form=form, status=status)


# --- Removal history (read-only: there is no way to change or delete a record) -----------------


@require_GET
@staff_view("removal_history.view")
def removal_list(request: HttpRequest) -> HttpResponse:
    form = RemovalFilterForm(request.GET or None)
    page, status = None, 200
    if not request.GET or form.is_valid():
        filters = {k: v for k, v in (form.cleaned_data if request.GET else {}).items() if v}
        records = RemovalRecord.objects.filter(**filters).select_related("requested_by", "executed_by")
        page = _page(request, records.order_by("-executed_at", "-id"))
        for record in page:
            record.subject_url = reverse(SUBJECTS[record.subject_kind].detail_url, args=[record.subject_id])
    else:
        status = 400
    context = _context(request, form=form, page=page, query=_query_without_page(request))
    return render(request, "console/removal_list.html", context, status=status)


# --- Grant review (権限付与状況の定期確認) -------------------------------------------------------


def _render_review_list(request: HttpRequest, form: ReviewCreateForm, status: int = 200) -> HttpResponse:
    page = _page(request, GrantReview.objects.select_related("created_by", "signed_off_by").order_by("-created_at"))
    return render(request, "console/review_list.html", _context(request, form=form, page=page), status=status)


@require_GET
@staff_view("grant_review.view")
def review_list(request: HttpRequest) -> HttpResponse:
    return _render_review_list(request, ReviewCreateForm())


@require_POST
@staff_view("grant_review.manage")
def review_create(request: HttpRequest) -> HttpResponse:
    form = ReviewCreateForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            review = grant_review_create(actor=request.user, period_label=form.cleaned_data["period"])
        except DomainError as exc:
            add_domain_error(form, exc)
            status = exc.status
        else:
            messages.success(request, f"権限付与状況（{review.period_label}）を作成しました。")
            return redirect("console_review", pk=review.pk)
    return _render_review_list(request, form, status=status)


def _when(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _snapshot_tables(snapshot: dict) -> dict:
    """The snapshot as it was taken, with codes turned into the labels a reviewer reads."""
    return {
        "operators": [
            {
                **row,
                "role_labels": _labels(row.get("roles"), _ROLE_LABELS),
                "duty_labels": _labels(row.get("duties"), _DUTY_LABELS),
                "state_label": _STATE_LABELS.get(row.get("state"), row.get("state")),
                "last_login_at": _when(row.get("last_login")),
            }
            for row in snapshot.get("operators", [])
        ],
        "terminals": [
            {**row, "state_label": _STATE_LABELS.get(row.get("state"), row.get("state"))}
            for row in snapshot.get("terminals", [])
        ],
        "clients": [
            {
                **row,
                "kind_label": _CLIENT_KIND_LABELS.get(row.get("kind"), row.get("kind")),
                "duty_code_list": ", ".join(row.get("duty_codes") or []),
                "state_label": _STATE_LABELS.get(row.get("state"), row.get("state")),
            }
            for row in snapshot.get("clients", [])
        ],
    }


def _render_review(request: HttpRequest, pk: int, *, form: SignOffForm | None = None, status: int = 200):
    review = get_object_or_404(GrantReview.objects.select_related("created_by", "signed_off_by"), pk=pk)
    context = _context(
        request,
        review=review,
        tables=_snapshot_tables(review.snapshot or {}),
        form=form or SignOffForm(autofocus=False),
    )
    return render(request, "console/review_detail.html", context, status=status)


@require_GET
@staff_view("grant_review.view")
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_review(request, pk)


@require_POST
@staff_view("grant_review.manage")
def review_sign_off(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(GrantReview, pk=pk)
    form = SignOffForm(request.POST, autofocus=False)
    status = 400
    if form.is_valid():
        try:
            grant_review_sign_off(actor=request.user, review_id=review.pk, findings=form.cleaned_data["findings"])
        except DomainError as exc:
            add_domain_error(form, exc)
            status = exc.status
        else:
            messages.success(request, "権限付与状況の確認を承認しました。")
            return redirect("console_review", pk=pk)
    return _render_review(request, pk, form=form, status=status)
