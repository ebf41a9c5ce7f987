"""The access log viewer for 監査担当 and system administrators: filter, page, export.

It shows codes and actions, never names or 個人番号 (the log holds neither). Viewing and
exporting the log are themselves logged.
"""

import csv

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit import access_log
from audit.forms_log import LogFilterForm
from audit.selectors import LogFilter, access_log_entries
from audit.views_support import staff_view

PAGE_SIZE = 100
# Beyond this a filtered export is "large data output" and needs prior approval (issue 8).
EXPORT_LIMIT = 50_000
EXPORT_COLUMNS = [
    "id",
    "occurred_at",
    "actor_kind",
    "actor",
    "terminal",
    "action",
    "target_file",
    "target_code",
    "duty",
    "outcome",
    "detail",
    "request_id",
    "seal_seq",
    "entry_hash",
]


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
    form, log_filter = _filter_from(request)
    if log_filter is None:
        return render(request, "audit/log.html", {"form": form, "page": None, "query": ""}, status=400)
    entries = access_log_entries(log_filter)
    count = entries.count()
    if count > EXPORT_LIMIT:
        access_log.log_refusal(action="audit_log.export", detail=f"{count}件: 上限超過 {log_filter.describe()}"[:500])
        form.add_error(None, f"出力件数が{EXPORT_LIMIT:,}件を超えます（{count:,}件）。条件を絞ってください。")
        return render(request, "audit/log.html", {"form": form, "page": None, "query": ""}, status=400)
    access_log.log_event(action="audit_log.export", detail=f"{count}件 {log_filter.describe()}"[:500])

    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())

    def rows():
        yield "\ufeff"  # BOM so that spreadsheet software reads the UTF-8 correctly
        yield writer.writerow(EXPORT_COLUMNS)
        for entry in entries.values_list(*EXPORT_COLUMNS).iterator(chunk_size=2000):
            yield writer.writerow(entry)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
