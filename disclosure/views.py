"""Staff pages of the disclosure desk (開示窓口担当): 開示請求 and 提供状況の開示 (docs/disclosure.md).

Thin: the rules, the 突合 and the log entries are in disclosure/services.py and selectors.py;
a page shows a service's message next to the field it names. Personal data never travels in a
URL (the request's number does, its id in the path), and every answer is ``no-store``. The
forms are printed as PDFs the server renders (in a new tab), each one a row of the print ledger.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit import access_log
from audit.views_support import add_domain_error, forbidden, staff_view
from disclosure import desk_input, selectors, services
from disclosure.forms import (
    DecideForm,
    DisclosureRegisterForm,
    MatchForm,
    PrintForm,
    ProvisionStatusRegisterForm,
    RequestFilterForm,
    StatusFilterForm,
)
from disclosure.models import DisclosureRequest, DisclosureState, MatchResult
from jukinet.errors import DomainError, PermissionRefused
from jukinet.pdf import PdfConfigurationError

ACTION = "disclosure.desk"
LIST_LIMIT = 200
PURPOSE = services.PURPOSE


def _log_view(action: str, detail: str, *, file: str = "", code: str = "") -> None:
    """A page that shows requests (the subject as written) is a read of personal data: logged."""
    access_log.log_event(action=action, target_file=file, target_code=code, duty=PURPOSE, detail=detail)


def _file_or_404(file: str) -> str:
    if file not in desk_input.FILE_KEYS:
        raise Http404("ファイルが見つかりません。")
    return file


def _describe(data: dict) -> str:
    """The filter of a list, for the log (states, dates and a file: no personal data)."""
    parts = [f"状態 {data.get('state') or '未完了'}"]
    if data.get("received_from") or data.get("received_to"):
        parts.append(f"受付日 {data.get('received_from') or ''}〜{data.get('received_to') or ''}")
    if data.get("file"):
        parts.append(f"ファイル {data['file']}")
    return "・".join(parts)


def _error_page(request: HttpRequest, exc: DomainError) -> HttpResponse:
    if isinstance(exc, PermissionRefused):
        return forbidden(request, exc.message)
    return render(request, "records/error.html", {"message": exc.message, "code": exc.code}, status=exc.status)


def _pdf(printed, data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{printed.serial}.pdf"'
    return response


def _print_unavailable(request: HttpRequest) -> HttpResponse:
    message = "印刷用フォントが設定されていないため印刷できません。システム管理者に連絡してください。"
    return render(request, "records/error.html", {"message": message, "code": "E_PRINT_UNAVAILABLE"}, status=503)


def _print(request: HttpRequest, service, **ids) -> HttpResponse:
    """A form printed in a new tab: the PDF, or an error page there."""
    form = PrintForm(request.POST)
    if not form.is_valid():
        message = form.errors["reason"][0]
        return render(request, "records/error.html", {"message": message, "code": "E_PRINT_REASON"}, status=400)
    try:
        printed, data = service(operator=request.user, reason=form.cleaned_data["reason"], **ids)
    except DomainError as exc:
        return _error_page(request, exc)
    except PdfConfigurationError:
        return _print_unavailable(request)
    return _pdf(printed, data)


# --- The desk's home ----------------------------------------------------------------------------


@never_cache
@require_GET
@staff_view(ACTION)
def home(request: HttpRequest) -> HttpResponse:
    todays, still_open = selectors.disclosures_open()
    statuses_open = selectors.provision_statuses_open()
    _log_view("disclosure.view", f"窓口 本日{len(todays)}件; 未完了{len(still_open)}件; 提供状況{len(statuses_open)}件")
    context = {
        "todays": todays,
        "still_open": still_open,
        "statuses_open": statuses_open,
        "files": [(key, label) for key, label in desk_input.FILE_LABELS.items() if key in (request.user.duties or [])],
    }
    return render(request, "disclosure/home.html", context)


# --- Lists and registration, shared by 開示請求 and 提供状況の開示 ------------------------------------


def _disclosure_or_404(pk: int):
    row = selectors.disclosure_get(pk=pk)
    if row is None:
        raise Http404("開示請求が見つかりません。")
    return row


def _request_list(request: HttpRequest, form_class, list_rows, log_action: str, template: str) -> HttpResponse:
    """A filtered list of one kind of desk request (open ones by default), logged as viewed."""
    form = form_class(request.GET or None)
    rows, status = [], 200
    if not request.GET or form.is_valid():
        data = form.cleaned_data if request.GET else {}
        state = data.get("state", "")
        rows = list(
            list_rows(
                state="" if state in ("", "all") else state,
                open_only=state == "",
                received_from=data.get("received_from"),
                received_to=data.get("received_to"),
                file=data.get("file", ""),
            )[: LIST_LIMIT + 1]
        )
        _log_view(log_action, f"一覧 {_describe(data)}; 件数 {min(len(rows), LIST_LIMIT)}")
    else:
        status = 400
    context = {"form": form, "rows": rows[:LIST_LIMIT], "more": len(rows) > LIST_LIMIT, "limit": LIST_LIMIT}
    return render(request, template, context, status=status)


def _request_new(request: HttpRequest, file: str, form_class, register, *, kind: str, done: str, next_page):
    """Register one kind of desk request; on success on to its 突合 page."""
    file = _file_or_404(file)
    form = form_class(request.POST or None, file=file)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                row = register(operator=request.user, **form.service_arguments())
            except DomainError as exc:
                if isinstance(exc, PermissionRefused):
                    return forbidden(request, exc.message)
                add_domain_error(form, exc)
            else:
                messages.success(request, done.format(no=row.request_no))
                return next_page(row)
    context = {"form": form, "file": file, "file_label": desk_input.FILE_LABELS[file], "kind": kind}
    return render(request, "disclosure/request_new.html", context, status=status)


# --- 開示請求 ------------------------------------------------------------------------------------


@never_cache
@require_GET
@staff_view(ACTION)
def disclosure_list(request: HttpRequest) -> HttpResponse:
    return _request_list(
        request, RequestFilterForm, selectors.disclosure_list, "disclosure.view", "disclosure/request_list.html"
    )


@never_cache
@require_http_methods(["GET", "POST"])
@staff_view(ACTION)
def disclosure_new(request: HttpRequest, file: str) -> HttpResponse:
    return _request_new(
        request,
        file,
        DisclosureRegisterForm,
        services.disclosure_register,
        kind="disclosure",
        done="開示請求を受け付けました（受付番号 {no}）。記録と突合してください。",
        next_page=lambda row: redirect("disclosure_match", disclosure_pk=row.pk),
    )


@never_cache
@require_GET
@staff_view(ACTION)
def disclosure_detail(request: HttpRequest, disclosure_pk: int) -> HttpResponse:
    row = _disclosure_or_404(disclosure_pk)
    _log_view("disclosure.view", f"受付番号 {row.request_no}", file=row.file, code=row.matched_code)
    context = {
        "row": row,
        "print_form": PrintForm(),
        "may_print_record": selectors.disclosure_may_print_record(row),
        "steps": _steps(row),
    }
    return render(request, "disclosure/request_detail.html", context)


def _steps(row) -> list[tuple[str, str]]:
    order = [DisclosureState.RECEIVED, DisclosureState.MATCHED, DisclosureState.DECIDED, DisclosureState.ISSUED]
    if row.state == DisclosureState.WITHDRAWN:
        return [(state.label, "done") for state in order[:1]] + [(DisclosureState.WITHDRAWN.label, "current")]
    index = order.index(row.state)
    return [(state.label, "done" if i < index else "current" if i == index else "") for i, state in enumerate(order)]


@never_cache
@require_http_methods(["GET", "POST"])
@staff_view(ACTION)
def disclosure_match(request: HttpRequest, disclosure_pk: int) -> HttpResponse:
    row = _disclosure_or_404(disclosure_pk)
    if row.state != DisclosureState.RECEIVED:
        messages.info(
            request, f"この請求は突合済みです（{row.get_match_result_display() or row.get_state_display()}）。"
        )
        return redirect("disclosure_detail", disclosure_pk=row.pk)
    return _match(
        request,
        row,
        show=lambda: services.disclosure_match(operator=request.user, request_id=row.pk),
        confirm=lambda **kw: services.disclosure_match_confirm(operator=request.user, request_id=row.pk, **kw),
        done=lambda settled: redirect("disclosure_decide", disclosure_pk=settled.pk),
        back=reverse("disclosure_detail", kwargs={"disclosure_pk": row.pk}),
    )


def _match(request, row, *, show, confirm, done, back: str) -> HttpResponse:
    """The match page of either kind of request: show the candidates (a logged read), settle."""
    status, error = 200, None
    if request.method == "POST":
        # The service checks every value (the candidate against the records as they are now).
        try:
            settled = confirm(
                juminhyo_code=request.POST.get("candidate", ""),
                accept_mismatch=request.POST.get("accept_mismatch", "") in ("on", "true", "1"),
                note=request.POST.get("match_note", ""),
                not_found="not_found" in request.POST,
            )
        except DomainError as exc:
            if isinstance(exc, PermissionRefused):
                return forbidden(request, exc.message)
            status, error = exc.status, exc
        else:
            messages.success(request, f"突合の結果を記録しました（{settled.get_match_result_display()}）。")
            return done(settled)
    try:
        row, outcome = show()
    except DomainError as exc:
        return _error_page(request, exc)
    form = MatchForm(request.POST if error else None, outcome=outcome)
    if error is not None:
        form.is_valid()
        add_domain_error(form, error)
    # The cursor goes where the desk has to act: a wrong field, else the next decision.
    focus = next((name for name in ("match_note", "accept_mismatch", "candidate") if name in form.errors), None)
    focus = focus or {"several": "candidate", "differs": "accept_mismatch", "matched": "submit"}.get(
        outcome.status, "not_found"
    )
    context = {
        "row": row,
        "outcome": outcome,
        "form": form,
        "focus": focus,
        "back_url": back,
        "kind_label": row._meta.verbose_name,
        "is_disclosure": isinstance(row, DisclosureRequest),
    }
    return render(request, "disclosure/match.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@staff_view(ACTION)
def disclosure_decide(request: HttpRequest, disclosure_pk: int) -> HttpResponse:
    row = _disclosure_or_404(disclosure_pk)
    if row.state != DisclosureState.MATCHED:
        messages.info(request, f"この請求は「{row.get_state_display()}」です。")
        return redirect("disclosure_detail", disclosure_pk=row.pk)
    not_found = row.match_result == MatchResult.NOT_FOUND
    form = DecideForm(request.POST or None, not_found=not_found)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                row = services.disclosure_decide(
                    operator=request.user,
                    request_id=row.pk,
                    decision=form.cleaned_data["decision"],
                    reason=form.cleaned_data["decision_reason"],
                )
            except DomainError as exc:
                if isinstance(exc, PermissionRefused):
                    return forbidden(request, exc.message)
                add_domain_error(form, exc)
                status = exc.status
            else:
                messages.success(request, f"「{row.get_decision_display()}」と決定しました。通知書を印刷してください。")
                return redirect("disclosure_detail", disclosure_pk=row.pk)
    return render(request, "disclosure/decide.html", {"row": row, "form": form}, status=status)


@never_cache
@require_POST
@staff_view(ACTION)
def disclosure_print_notice(request: HttpRequest, disclosure_pk: int) -> HttpResponse:
    return _print(request, services.disclosure_print_notice, request_id=disclosure_pk)


@never_cache
@require_POST
@staff_view(ACTION)
def disclosure_print_record(request: HttpRequest, disclosure_pk: int) -> HttpResponse:
    return _print(request, services.disclosure_print_record, request_id=disclosure_pk)


def _step(request: HttpRequest, service, done: str, redirect_to: tuple[str, dict]) -> HttpResponse:
    try:
        service(operator=request.user)
    except DomainError as exc:
        if isinstance(exc, PermissionRefused):
            return forbidden(request, exc.message)
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect(redirect_to[0], **redirect_to[1])


@never_cache
@require_POST
@staff_view(ACTION)
def disclosure_issue(request: HttpRequest, disclosure_pk: int) -> HttpResponse:
    _disclosure_or_404(disclosure_pk)
    return _step(
        request,
        lambda operator: services.disclosure_issue(operator=operator, request_id=disclosure_pk),
        "交付済みにしました。",
        ("disclosure_detail", {"disclosure_pk": disclosure_pk}),
    )


@never_cache
@require_POST
@staff_view(ACTION)
def disclosure_withdraw(request: HttpRequest, disclosure_pk: int) -> HttpResponse:
    _disclosure_or_404(disclosure_pk)
    return _step(
        request,
        lambda operator: services.disclosure_withdraw(operator=operator, request_id=disclosure_pk),
        "取下げを記録しました。",
        ("disclosure_detail", {"disclosure_pk": disclosure_pk}),
    )


# --- 提供状況の開示 -------------------------------------------------------------------------------


def _status_or_404(pk: int):
    row = selectors.provision_status_get(pk=pk)
    if row is None:
        raise Http404("提供状況の開示請求が見つかりません。")
    return row


@never_cache
@require_GET
@staff_view(ACTION)
def status_list(request: HttpRequest) -> HttpResponse:
    return _request_list(
        request,
        StatusFilterForm,
        selectors.provision_status_list,
        "provision_status.view",
        "disclosure/status_list.html",
    )


@never_cache
@require_http_methods(["GET", "POST"])
@staff_view(ACTION)
def status_new(request: HttpRequest, file: str) -> HttpResponse:
    return _request_new(
        request,
        file,
        ProvisionStatusRegisterForm,
        services.provision_status_register,
        kind="status",
        done="提供状況の開示請求を受け付けました（受付番号 {no}）。記録と突合してください。",
        next_page=lambda row: redirect("provision_status_match", provision_status_pk=row.pk),
    )


@never_cache
@require_GET
@staff_view(ACTION)
def status_detail(request: HttpRequest, provision_status_pk: int) -> HttpResponse:
    row = _status_or_404(provision_status_pk)
    _log_view("provision_status.view", f"受付番号 {row.request_no}", file=row.file, code=row.juminhyo_code)
    context = {"row": row, "print_form": PrintForm()}
    return render(request, "disclosure/status_detail.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@staff_view(ACTION)
def status_match(request: HttpRequest, provision_status_pk: int) -> HttpResponse:
    row = _status_or_404(provision_status_pk)
    if row.match_result:
        messages.info(request, f"この請求は突合済みです（{row.get_match_result_display()}）。")
        return redirect("provision_status_detail", provision_status_pk=row.pk)
    return _match(
        request,
        row,
        show=lambda: services.provision_status_match(operator=request.user, request_id=row.pk),
        confirm=lambda **kw: services.provision_status_match_confirm(operator=request.user, request_id=row.pk, **kw),
        done=lambda settled: redirect("provision_status_detail", provision_status_pk=settled.pk),
        back=reverse("provision_status_detail", kwargs={"provision_status_pk": row.pk}),
    )


@never_cache
@require_POST
@staff_view(ACTION)
def status_print(request: HttpRequest, provision_status_pk: int) -> HttpResponse:
    return _print(request, services.provision_status_print, request_id=provision_status_pk)


@never_cache
@require_POST
@staff_view(ACTION)
def status_issue(request: HttpRequest, provision_status_pk: int) -> HttpResponse:
    _status_or_404(provision_status_pk)
    return _step(
        request,
        lambda operator: services.provision_status_issue(operator=operator, request_id=provision_status_pk),
        "交付済みにしました。",
        ("provision_status_detail", {"provision_status_pk": provision_status_pk}),
    )
