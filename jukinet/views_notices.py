"""Status pages of the update notices for system administrators and 業務担当者.

What was received from each municipality and in which state it is, which notices are held or
were refused and why, and what still waits for the national server. The pages show codes,
states and reasons only: never the record items and never a 個人番号. Every view is logged.
"""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit import access_log
from audit.views_support import staff_view
from jukinet import selectors_notices as selectors
from jukinet.forms_notices import NoticeFilterForm
from jukinet.models import InboxNotice, InboxState, NoticeFile
from jukinet.notice_rules import NOTICE_ID

PAGE_SIZE = 100


def _decorate(notices, now) -> None:
    """Add what the templates show beside the stored columns: names, links, long holds."""
    hold_limit = settings.NOTICE_HOLD_ALERT_SECONDS
    for notice in notices:
        notice.municipality_name = selectors.municipality_name(notice.municipality_code)
        # Stored ids always match NOTICE_ID (intake refuses others); a row that does not gets
        # no link rather than breaking the page.
        notice.detail_url = (
            reverse("notices_detail", args=[notice.file, notice.notice_id])
            if NOTICE_ID.fullmatch(notice.notice_id)
            else ""
        )
        notice.long_hold = (
            notice.state == InboxState.HELD
            and notice.held_since is not None
            and (now - notice.held_since).total_seconds() > hold_limit
        )


@require_GET
@staff_view("notice.monitor")
def overview(request: HttpRequest) -> HttpResponse:
    files = selectors.inbox_counts()
    backlog = selectors.outbox_backlog()
    access_log.log_event(action="notice.view", detail="更新通知の状況（概要）")
    context = {
        "files": files,
        "backlog": backlog,
        "states": InboxState.choices,
        "alert_minutes": settings.OUTBOX_BACKLOG_ALERT_SECONDS // 60,
        "alert_seconds": settings.OUTBOX_BACKLOG_ALERT_SECONDS,
        "grand_total": sum(f.total for f in files),
    }
    return render(request, "notices/overview.html", context)


@require_GET
@staff_view("notice.monitor")
def notice_list(request: HttpRequest) -> HttpResponse:
    form = NoticeFilterForm(request.GET or None)
    page, status = None, 200
    if not request.GET or form.is_valid():
        notice_filter = form.to_filter() if request.GET else selectors.NoticeFilter()
        page = Paginator(selectors.inbox_notices(notice_filter), PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = list(page.object_list)
        _decorate(page.object_list, timezone.now())
        access_log.log_event(action="notice.view", detail=f"一覧 {notice_filter.describe()}")
    else:
        status = 400
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "notices/list.html", context, status=status)


@require_GET
@staff_view("notice.monitor")
def notice_detail(request: HttpRequest, file: str, notice_id: str) -> HttpResponse:
    # Anything that is not a file name or a notice id never reaches the database.
    if file not in NoticeFile.values or not NOTICE_ID.fullmatch(notice_id):
        raise Http404("通知が見つかりません。")
    notice: InboxNotice | None = selectors.inbox_notice(file=file, notice_id=notice_id)
    if notice is None:
        raise Http404("通知が見つかりません。")
    _decorate([notice], timezone.now())
    outbox = selectors.outbox_notice(file=file, notice_id=notice_id)
    access_log.log_event(
        action="notice.view",
        target_file=file,
        target_code=notice.juminhyo_code,
        detail=f"通知 {notice_id}",
    )
    return render(request, "notices/detail.html", {"notice": notice, "outbox": outbox})
