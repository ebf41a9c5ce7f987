"""Staff pages of the log review (ログの点検) for 監査担当: the index of the six reports, one
report's findings for a period, and marking a finding reviewed. The rules live in
audit/log_review.py; docs/log-review.md. Viewing and marking are logged.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from audit import log_review
from audit.forms_review import MarkForm, PeriodForm
from audit.permissions import permitted
from audit.views_support import staff_view
from jukinet.errors import DomainError, NotFound


def _period_form(data) -> PeriodForm:
    form = PeriodForm(data)
    form.is_valid()
    return form


def _report_or_404(name: str) -> log_review.Report:
    try:
        return log_review.report_get(name)
    except NotFound as exc:
        raise Http404(exc.message) from None


@require_GET
@staff_view("log_review.view")
def review_index(request: HttpRequest) -> HttpResponse:
    form = _period_form(request.GET)
    if form.errors:
        return render(request, "review/index.html", {"form": form, "results": None}, status=400)
    period = form.period
    results = log_review.all_reports(period)
    shown = sum(len(r.findings) for r in results)
    unreviewed = sum(len(r.unreviewed) for r in results)
    log_review.log_view(report="index", period=period, shown=shown, unreviewed=unreviewed)
    context = {"form": form, "results": results, "period": period, "query": urlencode(period.as_query())}
    return render(request, "review/index.html", context)


def _render_report(
    request: HttpRequest,
    report: log_review.Report,
    form: PeriodForm,
    *,
    mark_form: MarkForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {"form": form, "report": report, "result": None, "mark_form": mark_form, "error": error}
    if form.errors:
        return render(request, "review/report.html", context, status=400 if status == 200 else status)
    period = form.period
    result = log_review.report_findings(report.name, period)
    only_unreviewed = bool(form.cleaned_data.get("unreviewed"))
    findings = result.unreviewed if only_unreviewed else result.findings
    log_review.log_view(report=report.name, period=period, shown=len(findings), unreviewed=len(result.unreviewed))
    context.update(
        {
            "result": result,
            "findings": findings,
            "only_unreviewed": only_unreviewed,
            "period": period,
            "can_mark": permitted(request.user, "log_review.mark"),
            "failed_key": mark_form.data.get("finding_key", "") if mark_form is not None else "",
        }
    )
    return render(request, "review/report.html", context, status=status)


@require_GET
@staff_view("log_review.view")
def review_report(request: HttpRequest, report: str) -> HttpResponse:
    spec = _report_or_404(report)
    return _render_report(request, spec, _period_form(request.GET))


@require_POST
@staff_view("log_review.mark")
def review_mark_view(request: HttpRequest, report: str) -> HttpResponse:
    spec = _report_or_404(report)
    mark_form = MarkForm(request.POST)
    valid = mark_form.is_valid()
    # Back to the page the mark was made on (its period); a bad period falls back to the default.
    period_data = {k: request.POST.get(k, "") for k in ("since", "until") if request.POST.get(k)}
    if request.POST.get("unreviewed") in ("True", "on", "1"):
        period_data["unreviewed"] = "on"
    page_form = _period_form(period_data)
    if page_form.errors:
        page_form = _period_form({})
    if not valid:
        return _render_report(request, spec, page_form, mark_form=mark_form, status=400)
    data = mark_form.cleaned_data
    try:
        log_review.review_mark(
            operator=request.user, report=spec.name, finding_key=data["finding_key"], note=data["note"]
        )
    except DomainError as exc:
        # A refusal was logged by the service itself.
        if exc.field in mark_form.fields:
            mark_form.add_error(exc.field, exc.message)
            return _render_report(request, spec, page_form, mark_form=mark_form, status=exc.status)
        return _render_report(request, spec, page_form, mark_form=mark_form, error=exc.message, status=exc.status)
    messages.success(request, "指摘を確認済みにしました。")
    query = {**page_form.period.as_query(), **({"unreviewed": "on"} if period_data.get("unreviewed") else {})}
    return HttpResponseRedirect(f"{reverse('log_review_report', args=[spec.name])}?{urlencode(query)}")
