"""The statistics page (統計): monthly counts as tables and charts, and per-section CSV.

Producing is a POST: the purpose of the work must not sit in a URL (or a proxy's log). The
service checks the permission again and writes the log entry (audit/statistics.py).
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from audit import access_log, statistics
from audit.forms_statistics import StatisticsExportForm, StatisticsForm
from audit.views_support import add_domain_error, forbidden, staff_view
from jukinet.errors import DomainError, PermissionRefused

TEMPLATE = "statistics/page.html"


def _invalid(request: HttpRequest, form: StatisticsForm) -> HttpResponse:
    form.focus_first_error()
    return render(request, TEMPLATE, {"form": form, "error_codes": form.error_codes()}, status=400)


@require_http_methods(["GET", "POST"])
@staff_view("statistics.produce")
def statistics_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, TEMPLATE, {"form": StatisticsForm()})
    form = StatisticsForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    try:
        result = statistics.statistics_produce(operator=request.user, request=form.request_value)
    except PermissionRefused as exc:
        access_log.log_refusal(action="statistics.produce", detail=exc.message)
        return forbidden(request, exc.message)
    except DomainError as exc:
        add_domain_error(form, exc)
        return _invalid(request, form)
    return render(request, TEMPLATE, {"form": form, "stats": result})


@require_POST
@staff_view("statistics.produce")
def statistics_export(request: HttpRequest) -> HttpResponse:
    form = StatisticsExportForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    try:
        filename, text = statistics.statistics_export(
            operator=request.user, request=form.request_value, section=form.cleaned_data["section"]
        )
    except PermissionRefused as exc:
        access_log.log_refusal(action="statistics.export", detail=exc.message)
        return forbidden(request, exc.message)
    except DomainError as exc:
        add_domain_error(form, exc)
        return _invalid(request, form)
    response = HttpResponse(text.encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
