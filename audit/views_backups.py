"""The backup register (記録簿) pages: the list, one entry, and the logged copy of its encrypted file.

システム管理者 and 監査担当 read the register (``backup.register``); only a system administrator
copies a file off the server (``backup.copy``), giving a reason, and every copy is an access-log
entry. A copy is the sealed file byte for byte: nobody here can read it (docs/backups.md).
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit import access_log
from audit.backups import backup_copies, backup_copy, backup_get, backup_register, file_state
from audit.forms import CopyReasonForm
from audit.forms_backups import MediaCheckForm, RegisterFilterForm
from audit.media_checks import media_check_candidates, media_check_overdue, media_check_record, media_checks_recent
from audit.models import BackupRecord
from audit.permissions import permitted
from audit.views_support import add_domain_error, staff_view
from jukinet.errors import DomainError, PermissionRefused

PAGE_SIZE = 50


def _decorate(record: BackupRecord) -> BackupRecord:
    record.state = file_state(record)
    return record


@require_GET
@staff_view("backup.register")
def register_list(request: HttpRequest) -> HttpResponse:
    form = RegisterFilterForm(request.GET or None)
    kind = form.cleaned_data["kind"] if form.is_bound and form.is_valid() else ""
    if form.is_bound and not form.is_valid():
        return render(request, "backups/list.html", {"form": form, "page": None, "query": ""}, status=400)
    page = Paginator(backup_register(kind=kind), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [_decorate(r) for r in page.object_list]
    access_log.log_event(action="backup.register", detail=f"記録簿の一覧 種別={kind or 'すべて'}")
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "media_checks": media_checks_recent(),
        "media_check_overdue": media_check_overdue(),
        "can_media_check": permitted(request.user, "backup.media_check"),
    }
    return render(request, "backups/list.html", context)


def _render_detail(
    request: HttpRequest, record: BackupRecord, form: CopyReasonForm | None = None, status: int = 200, error: str = ""
) -> HttpResponse:
    context = {
        "record": _decorate(record),
        "form": form or CopyReasonForm(),
        "can_copy": permitted(request.user, "backup.copy"),
        "copies": backup_copies(record)[:50],
        "error": error,
    }
    return render(request, "backups/detail.html", context, status=status)


def _record_or_404(backup_pk: int) -> BackupRecord:
    record = backup_get(pk=backup_pk)
    if record is None:
        raise Http404("記録簿にその番号はありません。")
    return record


@require_GET
@staff_view("backup.register")
def register_detail(request: HttpRequest, backup_pk: int) -> HttpResponse:
    record = _record_or_404(backup_pk)
    access_log.log_event(action="backup.register", target_code=f"backup:{record.pk}", detail=record.file_name)
    return _render_detail(request, record)


@require_POST
@staff_view("backup.copy")
def register_copy(request: HttpRequest, backup_pk: int) -> HttpResponse:
    record = _record_or_404(backup_pk)
    form = CopyReasonForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, record, form, status=400)
    try:
        handle = backup_copy(operator=request.user, record=record, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        outcome = "権限なし" if isinstance(exc, PermissionRefused) else "複製できません"
        access_log.log_refusal(
            action="backup.copy", target_code=f"backup:{record.pk}", detail=f"{outcome} {exc.code} {exc.message}"
        )
        if exc.field in form.fields:
            add_domain_error(form, exc)
            return _render_detail(request, record, form, status=exc.status)
        return _render_detail(request, record, form, status=exc.status, error=exc.message)
    response = FileResponse(
        handle, as_attachment=True, filename=record.file_name, content_type="application/octet-stream"
    )
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@staff_view("backup.media_check")
def media_check(request: HttpRequest) -> HttpResponse:
    """The weekly check of the register against the vault: tick what was found, with a witness."""
    candidates = list(media_check_candidates()[:500])
    if request.method == "GET":
        return render(request, "backups/media_check.html", {"form": MediaCheckForm(candidates=candidates)})
    form = MediaCheckForm(request.POST, candidates=candidates)
    if form.is_valid():
        try:
            check = media_check_record(
                operator=request.user,
                confirmed=form.cleaned_data["confirmed"],
                witness=form.cleaned_data["witness"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            return render(request, "backups/media_check.html", {"form": form}, status=exc.status)
        if check.missing:
            messages.error(request, f"照合を記録しました。見当たらない媒体が{len(check.missing)}件あります。")
        else:
            messages.success(request, f"照合を記録しました（{len(check.confirmed)}件を確認）。")
        return redirect("backups")
    return render(request, "backups/media_check.html", {"form": form}, status=400)
