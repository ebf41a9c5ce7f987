"""Staff pages of large data outputs (大量のデータ出力): the list, one output, its copy.

Who asked, what, how many rows, the approval and the file's state and checksum: never the
personal data itself. Only a system administrator copies a produced file (``export.copy``),
giving a reason; every copy is logged (audit.exports). docs/approvals.md.
"""

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from audit import access_log
from audit.exports import access_log_copies, export_copy, export_get, exports_all, kind_spec
from audit.forms import CopyReasonForm
from audit.models import ExportFile, ExportState
from audit.permissions import permitted
from audit.views_support import add_domain_error, staff_view
from jukinet.errors import DomainError

PAGE_SIZE = 50


def _decorate(export: ExportFile) -> ExportFile:
    try:
        export.kind_label = kind_spec(export.kind).label
    except DomainError:
        export.kind_label = export.kind
    return export


@require_GET
@staff_view("export.view")
def export_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(exports_all(), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [_decorate(e) for e in page.object_list]
    access_log.log_event(action="export.view", detail="大量データ出力の一覧")
    return render(request, "exports/list.html", {"page": page})


def _render_detail(request: HttpRequest, export: ExportFile, form: CopyReasonForm | None = None, status: int = 200):
    can_copy = permitted(request.user, "export.copy") and export.state == ExportState.READY
    context = {
        "export": _decorate(export),
        "form": form or CopyReasonForm(),
        "can_copy": can_copy,
        "copies": access_log_copies(export),
    }
    return render(request, "exports/detail.html", context, status=status)


@require_GET
@staff_view("export.view")
def export_detail(request: HttpRequest, export_id: str) -> HttpResponse:
    export = export_get(export_id=export_id[:40])
    if export is None:
        raise Http404("出力が見つかりません。")
    access_log.log_event(action="export.view", target_code=f"export:{export.export_id}", detail=export.kind)
    return _render_detail(request, export)


@require_POST
@staff_view("export.copy")
def export_copy_view(request: HttpRequest, export_id: str) -> HttpResponse:
    export = export_get(export_id=export_id[:40])
    if export is None:
        raise Http404("出力が見つかりません。")
    form = CopyReasonForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, export, form, status=400)
    try:
        path = export_copy(export=export, operator=request.user, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        access_log.log_refusal(
            action="export.copy", target_code=f"export:{export.export_id}", detail=f"{exc.code} {exc.message}"
        )
        add_domain_error(form, exc)
        return _render_detail(request, export, form, status=exc.status)
    response = FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type="text/csv")
    response["Cache-Control"] = "no-store"
    return response
