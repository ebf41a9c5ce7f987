"""The access log viewer for 監査担当 and system administrators: filter, page, export.

It shows codes and actions, never names or 個人番号 (the log holds neither). Viewing and
exporting the log are themselves logged.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit import access_log
from audit.exports import approval_requested_message, output_or_request
from audit.forms_log import LogFilterForm
from audit.log_export import log_export_params
from audit.selectors import LogFilter, access_log_entries
from audit.views_support import add_domain_error, staff_view
from jukinet.downloads import csv_attachment
from jukinet.errors import DomainError

PAGE_SIZE = 100


def _filter_from(request: HttpRequest) -> tuple[LogFilterForm, LogFilter | None]:
    form = LogFilterForm(request.GET or None)
    if not request.GET:
        return form, LogFilter()
    if form.is_valid():
        return form, form.to_filter()
    return form, None


@require_GET
@staff_view("audit_log.view")
def log_list(request: HttpRequest) -> HttpResponse:
    form, log_filter = _filter_from(request)
    page = None
    if log_filter is not None:
        paginator = Paginator(access_log_entries(log_filter), PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        access_log.log_event(action="audit_log.view", detail=log_filter.describe()[:500])
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/log.html", {"form": form, "page": page, "query": query.urlencode()})


@require_GET
@staff_view("audit_log.export")
def log_export(request: HttpRequest) -> HttpResponse:
    """Small exports download at once; a large data output (大量のデータ出力) becomes a request
    for a system administrator's prior approval (audit.exports decides which)."""
    form, log_filter = _filter_from(request)
    if log_filter is None:
        return render(request, "audit/log.html", {"form": form, "page": None, "query": ""}, status=400)
    params = log_export_params(form.cleaned_data if request.GET else {}, before=timezone.now())
    try:
        output = output_or_request(
            operator=request.user, kind="audit_log", params=params, summary=log_filter.describe()[:200]
        )
    except DomainError as exc:
        add_domain_error(form, exc)
        return render(request, "audit/log.html", {"form": form, "page": None, "query": ""}, status=exc.status)
    if output.export is not None:
        messages.info(request, approval_requested_message(output))
        return redirect("export_detail", export_id=output.export.export_id)
    return csv_attachment(output.lines, f"access-log-{timezone.localtime():%Y%m%d-%H%M%S}.csv")
