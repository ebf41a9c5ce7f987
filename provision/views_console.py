"""Console pages of the duty registry (事務) and of the duties each body or department may ask for.

Thin, like the rest of the console (audit/views_console.py): a form checks the shape, a service
in provision.services_registry authorises, validates, writes and logs, and the page shows the
service's message next to the field it names.
"""

import re

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from audit.models import ClientKind, IdentityState, MachineClient
from audit.views_console import _history as auditlog_history
from audit.views_support import add_domain_error, permissions_for, staff_view
from jukinet.errors import DomainError
from provision.forms_console import ClientDutiesForm, DutyFilterForm, DutyForm
from provision.models import DUTY_CODE_PATTERN, FILES, Duty, ProvisionItem
from provision.services_registry import client_duties_set, duty_create, duty_sort_key, duty_update

_FILE_LABELS = dict(FILES)
_ITEM_LABELS = dict(ProvisionItem.choices)
_CODE = re.compile(DUTY_CODE_PATTERN)
_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")


def _context(request: HttpRequest, **extra) -> dict:
    return {"can": permissions_for(request.user), **extra}


def _labelled(duty: Duty) -> Duty:
    duty.file_labels = "・".join(_FILE_LABELS.get(f, f) for f in duty.files)
    duty.item_labels = "・".join(_ITEM_LABELS.get(i, i) for i in duty.items)
    return duty


def _duty_or_404(code: str) -> Duty:
    # Anything that is not a duty code (a NUL byte, a 5,000-character path) never reaches the database.
    if not _CODE.fullmatch(code):
        raise Http404("事務が見つかりません。")
    return _labelled(get_object_or_404(Duty, code=code))


def _sorted(duties) -> list[Duty]:
    return sorted((_labelled(d) for d in duties), key=lambda d: duty_sort_key(d.code))


# --- The registry ------------------------------------------------------------------------------


@require_GET
@staff_view("duty.view")
def duty_list(request: HttpRequest) -> HttpResponse:
    """Every duty (a few dozen rows: no paging), and the bodies and departments with theirs."""
    form = DutyFilterForm(request.GET or None)
    duties, status = None, 200
    if not request.GET or form.is_valid():
        data = form.cleaned_data if request.GET else {}
        queryset = Duty.objects.all()
        if data.get("table"):
            queryset = queryset.filter(code__startswith=f"{data['table']}-")
        if data.get("file"):
            queryset = queryset.filter(files__contains=[data["file"]])
        if data.get("active"):
            queryset = queryset.filter(active=data["active"] == "yes")
        duties = _sorted(queryset)
    else:
        status = 400
    clients = list(
        MachineClient.objects.filter(kind=ClientKind.BODY).exclude(state=IdentityState.REVOKED).order_by("client_id")
    )
    holders: dict[str, int] = {}
    for client in clients:
        for code in client.duty_codes:
            holders[code] = holders.get(code, 0) + 1
    for duty in duties or []:
        duty.holder_count = holders.get(duty.code, 0)
    context = _context(request, form=form, duties=duties, clients=clients)
    return render(request, "provision/console_duty_list.html", context, status=status)


@require_GET
@staff_view("duty.view")
def duty_detail(request: HttpRequest, duty_code: str) -> HttpResponse:
    duty = _duty_or_404(duty_code)
    holders = MachineClient.objects.filter(duty_codes__contains=[duty.code]).order_by("client_id")
    context = _context(request, duty=duty, holders=holders, history=auditlog_history(duty))
    return render(request, "provision/console_duty_detail.html", context)


@require_http_methods(["GET", "POST"])
@staff_view("duty.manage")
def duty_new(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = DutyForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                duty = duty_create(actor=request.user, **form.values())
            except DomainError as exc:
                add_domain_error(form, exc)
                status = exc.status
            else:
                messages.success(request, f"事務 {duty.code} を登録しました。")
                return redirect("console_duty", duty_code=duty.code)
    else:
        form = DutyForm(initial={"items": [ProvisionItem.JUMINHYO_CODE], "active": True})
    return render(request, "provision/console_duty_form.html", _context(request, form=form, duty=None), status=status)


@require_http_methods(["GET", "POST"])
@staff_view("duty.manage")
def duty_edit(request: HttpRequest, duty_code: str) -> HttpResponse:
    duty = _duty_or_404(duty_code)
    status = 200
    if request.method == "POST":
        form = DutyForm(request.POST, editing=True)
        status = 400
        if form.is_valid():
            try:
                duty_update(actor=request.user, code=duty.code, **form.values())
            except DomainError as exc:
                add_domain_error(form, exc)
                status = exc.status
            else:
                messages.success(request, f"事務 {duty.code} を更新しました。")
                return redirect("console_duty", duty_code=duty.code)
    else:
        fields = ("name", "legal_basis", "recipient", "files", "items", "my_number_allowed", "active")
        form = DutyForm(initial={name: getattr(duty, name) for name in fields}, editing=True)
    return render(request, "provision/console_duty_form.html", _context(request, form=form, duty=duty), status=status)


# --- A client's duties -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_view("duty.manage")
def client_duties(request: HttpRequest, client_id: str) -> HttpResponse:
    """Check the duties an executive body or department may ask for (active duties only)."""
    if not _CLIENT_ID.fullmatch(client_id):
        raise Http404("機械クライアントが見つかりません。")
    client = get_object_or_404(MachineClient, client_id=client_id)
    duties = _sorted(Duty.objects.filter(active=True))
    status = 200
    if request.method == "POST":
        form = ClientDutiesForm(request.POST, duties=duties)
        status = 400
        if form.is_valid():
            try:
                client_duties_set(actor=request.user, client=client, codes=form.cleaned_data["codes"])
            except DomainError as exc:
                add_domain_error(form, exc)
                status = exc.status
            else:
                messages.success(request, f"{client.client_id} の事務を更新しました。")
                return redirect("console_client_duties", client_id=client.client_id)
        selected = set(request.POST.getlist("codes"))
    else:
        form = ClientDutiesForm(duties=duties)
        selected = set(client.duty_codes)
    active_codes = {d.code for d in duties}
    context = _context(
        request,
        client=client,
        form=form,
        duties=duties,
        selected=selected,
        # Held but no longer grantable (deactivated or removed from the registry): saving drops them.
        stale=[code for code in client.duty_codes if code not in active_codes],
        is_body=client.kind == ClientKind.BODY,
        history=auditlog_history(client),
    )
    return render(request, "provision/console_client_duties.html", context, status=status)
