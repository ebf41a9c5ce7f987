"""The 「相違一覧をCSVで出力」 button of a consistency check's staff page.

Small outputs download at once and are logged; above settings.LARGE_OUTPUT_ROWS the request
goes to the large-output approval (audit.exports) and the page of the export is shown.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from audit import access_log
from audit.exports import export_request, needs_approval
from audit.views_support import forbidden, staff_view
from jukinet.consistency_exports import differences_authorize, differences_count, differences_lines
from jukinet.errors import DomainError


@require_POST
@staff_view("consistency.view")
def differences_export(request: HttpRequest, check_id: str) -> HttpResponse:
    params = {"check_id": check_id[:40]}
    try:
        differences_authorize(params, request.user)
        count = differences_count(params)
        if needs_approval(count):
            export = export_request(
                operator=request.user,
                kind="consistency_differences",
                params=params,
                summary=f"整合性確認 {params['check_id']} の相違一覧",
            )
        else:
            export = None
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        if exc.status == 403:
            return forbidden(request, exc.message)
        messages.error(request, exc.message)
        return redirect("consistency_detail", check_id=params["check_id"])
    if export is not None:
        messages.info(
            request,
            f"相違{count:,}件は大量のデータ出力にあたるため、システム管理者の事前承認を申請しました"
            f"（{export.export_id}）。承認後、システム管理者がファイルを複製して受け渡します。",
        )
        return redirect("export_detail", export_id=export.export_id)
    access_log.log_event(
        action="consistency.differences_export", target_code=params["check_id"], detail=f"相違 {count}件をCSVで出力"
    )
    response = StreamingHttpResponse(differences_lines(params), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="consistency-differences-{params["check_id"]}.csv"'
    response["Cache-Control"] = "no-store"
    return response
