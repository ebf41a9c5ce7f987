"""Staff pages of batch provision (一括提供) for 提供担当 (and system administrators, who watch).

A 提供担当 uploads a conditions file on behalf of a registered body or department (the
recipient) under one of its duties; a system administrator approves it on the approvals page;
the list and the batch's page show the progress (progress.js polls the JSON status); when the
result is ready the 提供担当 downloads the encrypted archive (each download is a recorded
output) and looks at its password once, to hand over by another channel. The same services
as the API (provision/batch.py). The pages show codes, counts and states: never the conditions
or the results.
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit import access_log
from audit.forms import JapaneseForm
from audit.permissions import permitted
from audit.views_support import add_domain_error, permissions_for, staff_view
from jukinet.errors import DomainError, PermissionRefused
from provision import batch as services
from provision import batch_selectors as selectors
from provision.batch_csv import COLUMNS, MAX_BYTES, MAX_ROWS, BatchFileTooLarge
from provision.models import FILES, BatchJob, BatchState

PAGE_SIZE = 50
FINAL_STATES = {BatchState.DONE, BatchState.REJECTED, BatchState.FAILED}


class BatchSubmitForm(JapaneseForm):
    recipient = forms.ChoiceField(label="提供先（執行機関・部署）")
    duty_code = forms.ChoiceField(label="事務")
    file = forms.ChoiceField(label="対象ファイル", choices=FILES)
    include_my_number = forms.BooleanField(
        label="個人番号を含める",
        required=False,
        help_text="個人番号の提供が認められた事務に限ります（本人確認情報のみ）。",
    )
    conditions = forms.FileField(
        label="検索条件ファイル（CSV）",
        help_text=f"UTF-8またはShift_JISのCSV。見出し行の列名: {','.join(COLUMNS)}。"
        f"{MAX_ROWS:,}行・{MAX_BYTES // (1024 * 1024)}MBまで。",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipient"].choices = [("", "選んでください")] + [
            (c.client_id, f"{c.name}（{c.client_id}・事務 {', '.join(c.duty_codes)}）") for c in selectors.recipients()
        ]
        self.fields["duty_code"].choices = [("", "選んでください")] + [
            (d.code, f"{d.code} {d.name[:60]}{'（個人番号可）' if d.my_number_allowed else ''}")
            for d in selectors.duties_active()
        ]
        self.fields["recipient"].widget.attrs["autofocus"] = True


class RevealForm(JapaneseForm):
    reason = forms.CharField(
        label="再表示の理由",
        max_length=200,
        required=False,
        help_text="2回目以降の表示に必要です（理由とともに記録されます）。",
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "wide"}),
    )


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {**context, "can": permissions_for(request.user)}, status=status)


def _batch_or_404(batch_id: str, *, with_blobs: bool = False) -> BatchJob:
    valid = services.BATCH_ID.fullmatch(batch_id)
    batch = selectors.batch_get(batch_id=batch_id, with_blobs=with_blobs) if valid else None
    if batch is None:
        raise Http404("一括提供が見つかりません。")
    return batch


@require_GET
@staff_view("batch.view")
def batch_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.batches_recent(), PAGE_SIZE).get_page(request.GET.get("page"))
    access_log.log_event(action="batch.view", detail=f"一覧 {page.number}ページ")
    return _page(
        request,
        "provision/batch_list.html",
        {"page": page, "final_states": FINAL_STATES},
    )


@require_http_methods(["GET", "POST"])
@staff_view("batch.submit")
def batch_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, "provision/batch_new.html", {"form": BatchSubmitForm()})
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    form = BatchSubmitForm(request.POST, request.FILES)
    if declared > MAX_BYTES + 1024 * 1024:
        form.add_error("conditions", BatchFileTooLarge().message)
        return _page(request, "provision/batch_new.html", {"form": form}, status=413)
    if not form.is_valid():
        return _page(request, "provision/batch_new.html", {"form": form}, status=400)
    upload = form.cleaned_data["conditions"]
    client = selectors.client_get(client_id=form.cleaned_data["recipient"])
    try:
        if upload.size > MAX_BYTES:
            raise BatchFileTooLarge()
        batch = services.batch_submit(
            file=form.cleaned_data["file"],
            duty_code=form.cleaned_data["duty_code"],
            data=upload.read(),
            client=client,
            include_my_number=form.cleaned_data["include_my_number"],
            operator=request.user,
        )
    except DomainError as exc:
        if isinstance(exc, PermissionRefused) and exc.code == "E_FORBIDDEN":
            access_log.log_refusal(action="batch.submit", detail=exc.message)
        field = {"duty_code": "duty_code", "include_my_number": "include_my_number"}.get(exc.field or "", "conditions")
        form.add_error(field, f"{exc.message}（{exc.code}）")
        return _page(request, "provision/batch_new.html", {"form": form}, status=exc.status)
    messages.success(
        request,
        f"一括提供 {batch.batch_id}（{batch.row_count:,}件）を受け付け、システム管理者に承認を申請しました。",
    )
    return redirect("provision_batch_detail", batch_id=batch.batch_id)


@require_GET
@staff_view("batch.view")
def batch_detail(request: HttpRequest, batch_id: str) -> HttpResponse:
    batch = _batch_or_404(batch_id)
    access_log.log_event(action="batch.view", target_file=batch.file, target_code=batch.batch_id)
    return _render_detail(request, batch)


def _render_detail(
    request: HttpRequest, batch: BatchJob, reveal_form: RevealForm | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "batch": batch,
        "status": services.batch_status(batch),
        "outputs": list(selectors.batch_outputs(batch=batch)),
        "final_states": FINAL_STATES,
        "can_result": permitted(request.user, "batch.result"),
        "reveal_form": reveal_form or RevealForm(),
        "duty": selectors.lookup_selectors.duty_get(code=batch.duty_code),
    }
    return _page(request, "provision/batch_detail.html", context, status=status)


@require_GET
@staff_view("batch.view")
def batch_status_json(request: HttpRequest) -> JsonResponse:
    """Progress for the pages' polling (counts and states only; not logged per poll — the page
    that shows them is)."""
    ids = [i for i in request.GET.get("ids", "").split(",") if services.BATCH_ID.fullmatch(i)][:PAGE_SIZE]
    found = {b.batch_id: services.batch_status(b) for b in selectors.batches_by_ids(batch_ids=ids)}
    for status in found.values():
        status["state_label"] = BatchState(status["state"]).label
    response = JsonResponse({"batches": found}, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@staff_view("batch.result")
def batch_download(request: HttpRequest, batch_id: str) -> HttpResponse:
    batch = _batch_or_404(batch_id, with_blobs=True)
    try:
        archive = services.batch_result_output(batch=batch, operator=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("provision_batch_detail", batch_id=batch.batch_id)
    response = HttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{batch.batch_id}-result.zip"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@staff_view("batch.result")
def batch_password(request: HttpRequest, batch_id: str) -> HttpResponse:
    batch = _batch_or_404(batch_id)
    form = RevealForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, batch, form, status=400)
    try:
        password = services.batch_password_reveal(
            batch=batch, operator=request.user, reason=form.cleaned_data["reason"]
        )
    except DomainError as exc:
        add_domain_error(form, exc)
        return _render_detail(request, batch, form, status=exc.status)
    batch.refresh_from_db()
    groups = " ".join(password[i : i + 5] for i in range(0, len(password), 5))
    response = _page(
        request,
        "provision/batch_password.html",
        {"batch": batch, "password": password, "password_groups": groups, "again": bool(form.cleaned_data["reason"])},
    )
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
