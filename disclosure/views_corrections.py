"""Staff pages of the correction requests (訂正・追加・削除の申出), for 開示窓口担当.

Thin: every rule and every log entry of a step is in disclosure/services_corrections.py. A
refused step shows the service's message next to the field it concerns (or above the step's
form) on the request's own page; nothing is written. Pages that show the request are
``Cache-Control: no-store`` and each view of one is logged.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit import access_log
from audit.views_support import add_domain_error, forbidden, staff_view
from disclosure import desk_input
from disclosure import selectors_corrections as selectors
from disclosure import services_corrections as services
from disclosure.forms_corrections import (
    CorrectedForm,
    CorrectionFilterForm,
    CorrectionRegisterForm,
    InvestigateForm,
    NotCorrectedForm,
    PrintForm,
)
from disclosure.models import CorrectionRequest, CorrectionState, DisclosureRequest, DisclosureState
from jukinet.errors import DomainError, PermissionRefused
from jukinet.pdf import PdfConfigurationError
from jukinet.purposes import Purpose
from jukinet.selectors_notices import municipality_name

ACTION = "disclosure.desk"
PAGE_SIZE = 50


def _refused(request: HttpRequest, exc: DomainError) -> HttpResponse | None:
    """A refusal that is not about the form: the 403 page. None for the others."""
    if isinstance(exc, PermissionRefused):
        return forbidden(request, exc.message)
    return None


# --- List -------------------------------------------------------------------------------------


@never_cache
@require_GET
@staff_view(ACTION)
def correction_list(request: HttpRequest) -> HttpResponse:
    form = CorrectionFilterForm(request.GET or None)
    page, status = None, 200
    if not request.GET or form.is_valid():
        data = form.cleaned_data if request.GET else {}
        rows = selectors.correction_list(
            files=list(request.user.duties or []), state=data.get("state", ""), file=data.get("file", "")
        )
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = list(page.object_list)
        for row in page.object_list:
            row.item_label = selectors.item_label(row.file, row.item)
        access_log.log_event(
            action="correction.view",
            duty=Purpose.CORRECTION.value,
            detail=f"一覧 状態 {data.get('state') or '未完了'} ファイル {data.get('file') or 'すべて'}",
        )
    else:
        status = 400
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "disclosure/correction_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
        status=status,
    )


# --- Register ---------------------------------------------------------------------------------


def _file_for(request: HttpRequest) -> str:
    """The file of a new request: as asked (?file=), else the operator's first file duty."""
    asked = request.POST.get("file") or request.GET.get("file")
    if asked in desk_input.FILE_KEYS:
        return asked
    duties = [key for key in desk_input.FILE_KEYS if key in (request.user.duties or [])]
    return duties[0] if duties else desk_input.FILE_KEYS[0]


def _from_disclosure(number: str) -> dict | None:
    """Initial values from a disclosure request already matched (a correction usually follows one)."""
    if not number or len(number) > 20:
        return None
    disclosure = (
        DisclosureRequest.objects.filter(request_no=number)
        .exclude(state__in=[DisclosureState.RECEIVED, DisclosureState.WITHDRAWN])
        .exclude(matched_code="")
        .first()
    )
    if disclosure is None:
        return None
    return {
        "file": disclosure.file,
        "disclosure_no": disclosure.request_no,
        "juminhyo_code": disclosure.matched_code,
        "requester_name": disclosure.requester_name,
        "relation": disclosure.relation,
        "agent_basis": disclosure.agent_basis,
    }


@never_cache
@require_http_methods(["GET", "POST"])
@staff_view(ACTION)
def correction_new(request: HttpRequest) -> HttpResponse:
    initial = _from_disclosure(request.GET.get("disclosure", "")) if request.method == "GET" else None
    file = initial.pop("file") if initial else _file_for(request)
    form = CorrectionRegisterForm(request.POST if request.method == "POST" else None, file=file, initial=initial or {})
    status = 200
    if request.method == "POST":
        status = 400
        if request.POST.get("file") not in desk_input.FILE_KEYS:
            # The page always sends its file: anything else is not a form this server rendered.
            form.is_valid()
            form.add_error(None, "ファイルの指定が正しくありません。画面を開き直してください。")
        elif form.is_valid():
            try:
                correction = services.correction_register(operator=request.user, **form.service_arguments())
            except DomainError as exc:
                refused = _refused(request, exc)
                if refused:
                    return refused
                add_domain_error(form, exc)
            else:
                messages.success(request, f"訂正等の申出を受け付けました（受付番号 {correction.request_no}）。")
                return redirect("correction_detail", correction_pk=correction.pk)
    context = {
        "form": form,
        "file": file,
        "file_label": desk_input.FILE_LABELS[file],
        "other_files": [(key, label) for key, label in desk_input.FILE_LABELS.items() if key != file],
    }
    return render(request, "disclosure/correction_new.html", context, status=status)


# --- One request and its next step ---------------------------------------------------------------


def _get(correction_pk: int) -> CorrectionRequest:
    correction = selectors.correction_get(pk=correction_pk)
    if correction is None:
        raise Http404("訂正等の申出が見つかりません。")
    return correction


def _candidates(correction: CorrectionRequest) -> list:
    if correction.state != CorrectionState.INVESTIGATING:
        return []
    notices = list(selectors.notice_candidates(correction))
    for notice in notices:
        notice.municipality_name = municipality_name(notice.municipality_code)
        applied = timezone.localtime(notice.decided_at).strftime("%Y-%m-%d %H:%M") if notice.decided_at else "-"
        notice.choice_label = (
            f"{notice.notice_id}（{notice.municipality_name} {notice.change_reason or '-'}・"
            f"異動日 {notice.changed_on or '-'}・反映 {applied}）"
        )
    return notices


def _detail(request: HttpRequest, correction: CorrectionRequest, *, forms: dict | None = None, status: int = 200):
    forms = forms or {}
    candidates = _candidates(correction)
    default_municipality = services.default_municipality(correction)
    context = {
        "correction": correction,
        "file_label": desk_input.FILE_LABELS[correction.file],
        "item_label": selectors.item_label(correction.file, correction.item),
        "municipality_name": municipality_name(correction.municipality_code) if correction.municipality_code else "",
        "default_municipality": default_municipality,
        "default_municipality_name": municipality_name(default_municipality) if default_municipality else "",
        "candidates": candidates,
        "investigate_form": forms.get("investigate")
        or InvestigateForm(initial={"municipality_code": default_municipality}),
        "corrected_form": forms.get("corrected") or CorrectedForm(candidates=candidates),
        "not_corrected_form": forms.get("not_corrected") or NotCorrectedForm(),
        "print_form": forms.get("print")
        or PrintForm(initial={"print_reason": f"訂正等の申出の結果通知（{correction.request_no}）"}),
        "closed": correction.state in (CorrectionState.CORRECTED, CorrectionState.NOT_CORRECTED),
    }
    # A step refused because the request moved on meanwhile (another clerk, a stale page): its
    # form is no longer on the page, so its message goes above everything.
    shown = {
        CorrectionState.RECEIVED: {"investigate"},
        CorrectionState.INVESTIGATING: {"corrected", "not_corrected"},
    }.get(correction.state, {"print"})
    context["stale_errors"] = [
        message for name, form in forms.items() if name not in shown for message in form.errors.get("__all__", [])
    ]
    if not forms:
        # The cursor waits in the form of the next step (after an error, in the wrong field).
        next_form = {
            CorrectionState.RECEIVED: "investigate_form",
            CorrectionState.INVESTIGATING: "corrected_form" if candidates else "",
        }.get(correction.state, "print_form")
        if next_form:
            form = context[next_form]
            form._focus(next(iter(form.fields)))
    access_log.log_event(
        action="correction.view",
        target_file=correction.file,
        target_code=correction.juminhyo_code,
        duty=Purpose.CORRECTION.value,
        detail=correction.request_no,
    )
    return render(request, "disclosure/correction_detail.html", context, status=status)


@never_cache
@require_GET
@staff_view(ACTION)
def correction_detail(request: HttpRequest, correction_pk: int) -> HttpResponse:
    correction = _get(correction_pk)
    try:
        desk_input.ensure_desk(
            request.user,
            purpose=Purpose.CORRECTION.value,
            log_action="correction.view",
            file=correction.file,
            target_code=correction.juminhyo_code,
        )
    except PermissionRefused as exc:
        return forbidden(request, exc.message)
    return _detail(request, correction)


def _step(request: HttpRequest, correction_pk: int, name: str, form, call) -> HttpResponse:
    """Run one step: the form's shape, then the service; back to the page with the message."""
    correction = _get(correction_pk)
    if form.is_valid():
        try:
            call(form.cleaned_data)
        except DomainError as exc:
            refused = _refused(request, exc)
            if refused:
                return refused
            add_domain_error(form, exc)
            status = exc.status
        else:
            return redirect("correction_detail", correction_pk=correction_pk)
    else:
        status = 400
    return _detail(request, correction, forms={name: form}, status=status)


@never_cache
@require_POST
@staff_view(ACTION)
def correction_investigate(request: HttpRequest, correction_pk: int) -> HttpResponse:
    def call(data):
        services.correction_investigate(
            operator=request.user,
            correction_id=correction_pk,
            municipality_code=data["municipality_code"],
            asked_on=data["asked_on"],
        )
        messages.success(request, "市町村への照会を記録しました（調査中）。")

    return _step(request, correction_pk, "investigate", InvestigateForm(request.POST), call)


@never_cache
@require_POST
@staff_view(ACTION)
def correction_corrected(request: HttpRequest, correction_pk: int) -> HttpResponse:
    correction = _get(correction_pk)

    def call(data):
        services.correction_close_corrected(
            operator=request.user, correction_id=correction_pk, notice_id=data["notice_id"]
        )
        messages.success(request, "訂正済みとして完了しました。結果通知書を印刷してください。")

    form = CorrectedForm(request.POST, candidates=_candidates(correction))
    return _step(request, correction_pk, "corrected", form, call)


@never_cache
@require_POST
@staff_view(ACTION)
def correction_not_corrected(request: HttpRequest, correction_pk: int) -> HttpResponse:
    def call(data):
        services.correction_close_not_corrected(
            operator=request.user, correction_id=correction_pk, reason=data["reason"]
        )
        messages.success(request, "訂正しないこととして完了しました。結果通知書を印刷してください。")

    return _step(request, correction_pk, "not_corrected", NotCorrectedForm(request.POST), call)


@never_cache
@require_POST
@staff_view(ACTION)
def correction_print(request: HttpRequest, correction_pk: int) -> HttpResponse:
    correction = _get(correction_pk)
    form = PrintForm(request.POST)
    if not form.is_valid():
        return _detail(request, correction, forms={"print": form}, status=400)
    try:
        record, data = services.correction_print_notice(
            operator=request.user, correction_id=correction_pk, reason=form.cleaned_data["print_reason"]
        )
    except DomainError as exc:
        refused = _refused(request, exc)
        if refused:
            return refused
        if exc.field == "reason":
            exc.field = "print_reason"
        add_domain_error(form, exc)
        return _detail(request, correction, forms={"print": form}, status=exc.status)
    except PdfConfigurationError as exc:
        return render(
            request, "records/error.html", {"message": exc.message, "code": "E_PRINT_UNAVAILABLE"}, status=503
        )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{record.serial}.pdf"'
    return response
