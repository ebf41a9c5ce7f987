"""What the retention erasure did: runs and their counts, and when the next rows expire."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit import access_log
from audit.views_support import staff_view
from jukinet.retention import COUNT_LABELS, erasure_run_get, erasure_runs, next_expiries


@require_GET
@staff_view("erasure.view")
def erasure_list(request: HttpRequest) -> HttpResponse:
    access_log.log_event(action="erasure.view", detail="保存期間経過による消去の記録一覧")
    context = {
        "runs": erasure_runs(),
        "next_expiries": next_expiries(),
        "years": settings.HISTORY_RETENTION_YEARS,
        "notice_days": settings.NOTICE_PAYLOAD_KEEP_DAYS,
    }
    return render(request, "retention/list.html", context)


@require_GET
@staff_view("erasure.view")
def erasure_detail(request: HttpRequest, run_pk: int) -> HttpResponse:
    run = erasure_run_get(run_pk)
    if run is None:
        raise Http404
    access_log.log_event(action="erasure.view", target_code=f"erasure:{run.pk}", detail="消去処理の詳細")
    rows = [(COUNT_LABELS.get(key, key), value) for key, value in (run.counts or {}).items()]
    return render(request, "retention/detail.html", {"run": run, "rows": rows})
