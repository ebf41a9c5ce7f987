"""Staff pages of the inquiry log (問合せ), for 開示窓口担当 and 業務担当者 (``inquiry.log``).

Thin: the rules and the log entries of registering and answering are in
disclosure/services_inquiries.py. The list shows no inquirer's name and no answer text; the
detail does, and each view is logged.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.shortcuts import render as django_render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit import access_log
from audit.permissions import permitted
from audit.views_support import add_domain_error, forbidden, staff_view
from disclosure import selectors_inquiries as selectors
from disclosure import services_inquiries as services
from disclosure.forms_inquiries import AnswerForm, InquiryFilterForm, InquiryRegisterForm
from disclosure.models import Inquiry
from jukinet.errors import DomainError, PermissionRefused
from jukinet.purposes import Purpose

ACTION = "inquiry.log"


def render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    # The desk clerks come here from the disclosure desk and go back to it; 業務担当者 have no desk.
    context["desk_link"] = permitted(request.user, "disclosure.desk")
    return django_render(request, template, context, status=status)


@never_cache
@require_GET
@staff_view(ACTION)
def inquiry_list(request: HttpRequest) -> HttpResponse:
    form = InquiryFilterForm(request.GET or None)
    page, status = None, 200
    if not request.GET or form.is_valid():
        inquiry_filter = form.to_filter() if request.GET else selectors.InquiryFilter()
        page = Paginator(selectors.inquiry_list(inquiry_filter), selectors.PAGE_SIZE).get_page(request.GET.get("page"))
        access_log.log_event(
            action="inquiry.view", duty=Purpose.INQUIRY.value, detail=f"一覧 {inquiry_filter.describe()}"
        )
    else:
        status = 400
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "disclosure/inquiry_list.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@staff_view(ACTION)
def inquiry_new(request: HttpRequest) -> HttpResponse:
    initial = {}
    follows = request.GET.get("follows", "")
    if request.method == "GET" and follows and len(follows) <= 20:
        earlier = Inquiry.objects.filter(inquiry_no=follows).only("inquiry_no", "file", "juminhyo_code").first()
        if earlier is not None:
            initial = {"follows_no": earlier.inquiry_no, "file": earlier.file, "juminhyo_code": earlier.juminhyo_code}
    form = InquiryRegisterForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                inquiry = services.inquiry_register(operator=request.user, **form.cleaned_data)
            except DomainError as exc:
                if isinstance(exc, PermissionRefused):
                    return forbidden(request, exc.message)
                add_domain_error(form, exc)
            else:
                answered = "（回答も記録しました）" if inquiry.answer else ""
                messages.success(request, f"問合せを記録しました（受付番号 {inquiry.inquiry_no}）{answered}。")
                return redirect("inquiry_detail", inquiry_pk=inquiry.pk)
    return render(request, "disclosure/inquiry_new.html", {"form": form}, status=status)


def _get(inquiry_pk: int) -> Inquiry:
    inquiry = selectors.inquiry_get(pk=inquiry_pk)
    if inquiry is None:
        raise Http404("問合せが見つかりません。")
    return inquiry


def _detail(request: HttpRequest, inquiry: Inquiry, *, form: AnswerForm | None = None, status: int = 200):
    access_log.log_event(
        action="inquiry.view",
        target_file=inquiry.file,
        target_code=inquiry.juminhyo_code,
        duty=Purpose.INQUIRY.value,
        detail=inquiry.inquiry_no,
    )
    follow_ups = list(inquiry.follow_ups.order_by("received_at", "id").only("id", "inquiry_no", "received_at"))
    context = {"inquiry": inquiry, "form": form or AnswerForm(), "follow_ups": follow_ups}
    return render(request, "disclosure/inquiry_detail.html", context, status=status)


@never_cache
@require_GET
@staff_view(ACTION)
def inquiry_detail(request: HttpRequest, inquiry_pk: int) -> HttpResponse:
    return _detail(request, _get(inquiry_pk))


@never_cache
@require_POST
@staff_view(ACTION)
def inquiry_answer(request: HttpRequest, inquiry_pk: int) -> HttpResponse:
    inquiry = _get(inquiry_pk)
    form = AnswerForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.inquiry_answer(operator=request.user, inquiry_id=inquiry.pk, answer=form.cleaned_data["answer"])
        except DomainError as exc:
            if isinstance(exc, PermissionRefused):
                return forbidden(request, exc.message)
            add_domain_error(form, exc)
            status = exc.status
            inquiry = _get(inquiry_pk)
        else:
            messages.success(request, f"回答を記録しました（{inquiry.inquiry_no}）。")
            return redirect("inquiry_detail", inquiry_pk=inquiry.pk)
    return _detail(request, inquiry, form=form, status=status)
