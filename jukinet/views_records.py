"""Search, record view, 個人番号 reveal and printing, for both files (DESIGN.md §4.2).

Thin: the checks and the log entries are in jukinet/record_access.py. Personal data never
travels in a URL: searches are POSTed (paging too), a record link carries only a signed grant.
Every answer that shows personal data is ``Cache-Control: no-store``.
"""

import secrets

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit import access_log
from audit.views_support import add_domain_error, forbidden, permissions_for, staff_view
from jukinet import record_access
from jukinet.errors import DomainError, PermissionRefused
from jukinet.forms_records import ReasonForm, SearchForm
from jukinet.four_info import MAX_HITS
from jukinet.pdf import PdfConfigurationError
from jukinet.record_files import record_file


def _error_page(request: HttpRequest, exc: DomainError) -> HttpResponse:
    if isinstance(exc, PermissionRefused):
        return forbidden(request, exc.message)
    return render(request, "records/error.html", {"message": exc.message, "code": exc.code}, status=exc.status)


def _record_page(request: HttpRequest, page, *, reveal_form, my_number: str = "", status: int = 200) -> HttpResponse:
    context = {"page": page, "reveal_form": reveal_form, "my_number": my_number, "can": permissions_for(request.user)}
    return render(request, "records/record.html", context, status=status)


def _pdf_response(record, data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{record.serial}.pdf"'
    return response


# Searches are POSTed; the conditions wait in the server-side session under a search id, so no
# name or birth date enters a URL, and the back button and the pager work as GETs of
# ``?s=<id>`` without re-sending a form. Showing a page again runs (and logs) the search again.
_SEARCHES = "record_searches"
_KEEP_SEARCHES = 20
_SEARCH_FIELDS = (
    "purpose", "reference", "name_kana", "include_former", "name", "kanji_prefix", "birth_date", "sex",
    "address", "include_removed",
)  # fmt: skip


def _remember(request: HttpRequest, file: str, form: SearchForm) -> str:
    searches = request.session.get(_SEARCHES, {})
    search_id = secrets.token_urlsafe(9)
    searches[search_id] = {"file": file, "data": {k: request.POST.get(k, "") for k in _SEARCH_FIELDS}}
    request.session[_SEARCHES] = dict(list(searches.items())[-_KEEP_SEARCHES:])
    return search_id


def _recall(request: HttpRequest, file: str, search_id: str) -> dict | None:
    saved = request.session.get(_SEARCHES, {}).get(search_id or "")
    return saved["data"] if saved and saved.get("file") == file else None


def _page_number(text: str | None) -> int:
    return int(text) if text and text.isascii() and text.isdigit() and 0 < len(text) < 6 else 1


@never_cache
@require_http_methods(["GET", "POST"])
@staff_view("record.search")
def search(request: HttpRequest, file: str) -> HttpResponse:
    rf = record_file(file)
    search_id = request.GET.get("s", "")
    if request.method == "POST":
        form = SearchForm(request.POST, record_file=rf)
    else:
        saved = _recall(request, rf.key, search_id) if search_id else None
        form = SearchForm(saved, record_file=rf)
    context = {"file": rf, "form": form, "result": None, "max_hits": MAX_HITS, "search_id": search_id}
    if request.method == "GET" and not form.is_bound:
        if search_id:
            messages.info(request, "検索条件の保存期間が過ぎました。もう一度検索してください。")
        return render(request, "records/search.html", context)
    if not form.is_valid() or form.conditions is None:
        if getattr(form, "error_code", "") == "E_SEARCH_TOO_BROAD":
            access_log.log_refusal(action="record.search", target_file=rf.key, detail="条件不足（広すぎる検索）")
        form.focus_first_error()
        return render(request, "records/search.html", context, status=400)
    if request.method == "POST":
        # Answered at once (one round trip, not POST-303-GET); the page then swaps its history
        # entry for ``?s=<id>`` (records.js), so back, reload and the pager are plain GETs.
        search_id = context["search_id"] = _remember(request, rf.key, form)
        context["result_url"] = f"{reverse('records_search', kwargs={'file': rf.key})}?s={search_id}"
    try:
        context["result"] = record_access.records_search(
            operator=request.user,
            file=rf.key,
            conditions=form.conditions,
            purpose=form.cleaned_data["purpose"],
            reference=form.cleaned_data["reference"],
            page=_page_number(request.GET.get("page")),
        )
    except DomainError as exc:
        if isinstance(exc, PermissionRefused):
            return forbidden(request, exc.message)
        add_domain_error(form, exc)
        return render(request, "records/search.html", context, status=exc.status)
    return render(request, "records/search.html", context)


@never_cache
@require_POST
@staff_view("record.print")
def search_print(request: HttpRequest, file: str) -> HttpResponse:
    rf = record_file(file)
    saved = _recall(request, rf.key, request.POST.get("s", ""))
    if saved is None:
        message = "検索条件の保存期間が過ぎました。もう一度検索してから印刷してください。"
        return render(request, "records/error.html", {"message": message, "code": "E_SEARCH_EXPIRED"}, status=400)
    form = SearchForm(saved, record_file=rf)
    reason_form = ReasonForm({"reason": request.POST.get("print_reason", "")})
    if not form.is_valid() or form.conditions is None or not reason_form.is_valid():
        message = "検索条件に誤りがあります。"
        if reason_form.errors.get("reason"):
            message = reason_form.errors["reason"][0]
        return render(request, "records/error.html", {"message": message, "code": "E_PRINT_INPUT"}, status=400)
    try:
        record, data = record_access.results_print(
            operator=request.user,
            file=rf.key,
            conditions=form.conditions,
            purpose=form.cleaned_data["purpose"],
            reference=form.cleaned_data["reference"],
            reason=reason_form.cleaned_data["reason"],
        )
    except DomainError as exc:
        return _error_page(request, exc)
    except PdfConfigurationError:
        return _print_unavailable(request)
    return _pdf_response(record, data)


@never_cache
@require_GET
@staff_view("record.view")
def record_detail(request: HttpRequest, file: str, pk: int) -> HttpResponse:
    try:
        page = record_access.record_open(operator=request.user, file=file, pk=pk, token=request.GET.get("g", ""))
    except DomainError as exc:
        return _error_page(request, exc)
    return _record_page(request, page, reveal_form=ReasonForm())


@never_cache
@require_POST
@staff_view("my_number.reveal")
def my_number_reveal(request: HttpRequest, file: str, pk: int) -> HttpResponse:
    token = request.POST.get("g", "")
    form = ReasonForm(request.POST)
    if not form.is_valid():
        try:
            page = record_access.record_open(operator=request.user, file=file, pk=pk, token=token, log=False)
        except DomainError as exc:
            return _error_page(request, exc)
        return _record_page(request, page, reveal_form=form, status=400)
    try:
        page, number = record_access.my_number_reveal(
            operator=request.user, file=file, pk=pk, token=token, reason=form.cleaned_data["reason"]
        )
    except DomainError as exc:
        return _error_page(request, exc)
    return _record_page(request, page, reveal_form=ReasonForm(), my_number=number)


@never_cache
@require_POST
@staff_view("record.print")
def record_print(request: HttpRequest, file: str, pk: int) -> HttpResponse:
    token = request.POST.get("g", "")
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "records/error.html",
            {"message": form.errors["reason"][0], "code": "E_REASON_REQUIRED"},
            status=400,
        )
    try:
        record, data = record_access.record_print(
            operator=request.user,
            file=file,
            pk=pk,
            token=token,
            reason=form.cleaned_data["reason"],
            with_history=form.cleaned_data["with_history"],
        )
    except DomainError as exc:
        return _error_page(request, exc)
    except PdfConfigurationError:
        return _print_unavailable(request)
    return _pdf_response(record, data)


def _print_unavailable(request: HttpRequest) -> HttpResponse:
    message = "印刷用フォントが設定されていないため印刷できません。システム管理者に連絡してください。"
    return render(request, "records/error.html", {"message": message, "code": "E_PRINT_UNAVAILABLE"}, status=503)
