"""Staff pages of the consistency check (整合性確認): the checks, one check's progress and its
differences. Thin: jukinet/consistency.py checks the permission and the file duty and logs
every read; the pages show codes, counts and item names, never a value and never a 個人番号.

The CSV of a check's differences is not offered here: it is a large output, handed out through
the prior-approval mechanism (docs/approvals.md), which calls
``jukinet.consistency.consistency_differences_csv``.
"""

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.views_support import staff_view
from jukinet import consistency as services
from jukinet.errors import InvalidInput, NotFound, PermissionRefused
from jukinet.models import ConsistencyState, DifferenceKind
from jukinet.selectors_notices import municipality_name

LIVE_STATES = (ConsistencyState.RECEIVED, ConsistencyState.COMPARING)


class DifferenceFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label="相違の種別",
        required=False,
        choices=[("", "すべて"), *DifferenceKind.choices],
        widget=forms.Select(attrs={"autofocus": True}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _decorate(check) -> None:
    check.municipality_name = municipality_name(check.municipality_code)
    check.live = check.state in LIVE_STATES
    check.status = services.consistency_status(check)
    check.percent = round(check.status["progress"] * 100)


def _check(request: HttpRequest, check_id: str, *, log: bool = True):
    try:
        return services.check_for_staff(operator=request.user, check_id=check_id, log=log)
    except NotFound:
        raise Http404("整合性確認が見つかりません。") from None


@require_GET
@staff_view("consistency.view")
def check_list(request: HttpRequest) -> HttpResponse:
    page = services.checks_page(operator=request.user, page=request.GET.get("page"))
    page.object_list = list(page.object_list)
    for check in page.object_list:
        _decorate(check)
    return render(request, "consistency/list.html", {"page": page, "query": ""})


@require_GET
@staff_view("consistency.view")
def check_detail(request: HttpRequest, check_id: str) -> HttpResponse:
    check = _check(request, check_id)
    _decorate(check)
    spec = services.SPECS[check.file]
    form = DifferenceFilterForm(request.GET or None)
    differences, message, status = None, "", 200
    asked = "kind" in request.GET or "page" in request.GET
    if check.state == ConsistencyState.DONE and check.erased_at is None:
        if not services.may_see_differences(request.user, check):
            message = f"{spec.label}ファイルの担当ではないため、相違の一覧は表示しません。"
            if asked:  # an explicit request for the list: refused and logged
                try:
                    services.differences_page(operator=request.user, check=check, kind="", page=1)
                except PermissionRefused as exc:
                    message, status = exc.message, 403
        elif request.GET and not form.is_valid():
            status = 400
        else:
            kind = form.cleaned_data.get("kind", "") if request.GET else ""
            try:
                differences = services.differences_page(
                    operator=request.user, check=check, kind=kind, page=request.GET.get("page")
                )
            except InvalidInput as exc:
                message, status = exc.message, 400
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "check": check,
        "item_labels": [spec.label_of(name) for name in check.items],
        "form": form,
        "page": differences,
        "message": message,
        "query": query.urlencode(),
        "large_output_rows": settings.LARGE_OUTPUT_ROWS,
    }
    return render(request, "consistency/detail.html", context, status=status)


@require_GET
@staff_view("consistency.view")
def check_status(request: HttpRequest, check_id: str) -> JsonResponse:
    """What consistency.js polls: state, progress and counts (no personal data; not logged)."""
    try:
        check = services.check_for_staff(operator=request.user, check_id=check_id, log=False)
    except NotFound:
        return JsonResponse({"error": {"code": "E_NOT_FOUND", "message": "整合性確認が見つかりません。"}}, status=404)
    status = services.consistency_status(check)
    status["state_label"] = check.get_state_display()
    return JsonResponse(status, json_dumps_params={"ensure_ascii": False})
