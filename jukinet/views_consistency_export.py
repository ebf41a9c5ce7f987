"""The 「相違一覧をCSVで出力」 button of a consistency check's staff page.

audit.exports decides: small outputs download at once (logged), large ones become a request
for a system administrator's prior approval and the page of the export is shown.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from audit.exports import approval_requested_message, output_or_request
from audit.views_support import forbidden, staff_view
from jukinet.downloads import csv_attachment
from jukinet.errors import DomainError


@require_POST
@staff_view("consistency.view")
def differences_export(request: HttpRequest, check_id: str) -> HttpResponse:
    check_id = check_id[:40]
    try:
        output = output_or_request(
            operator=request.user,
            kind="consistency_differences",
            params={"check_id": check_id},
            summary=f"整合性確認 {check_id} の相違一覧",
            target_code=check_id,
        )
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        if exc.status == 403:
            return forbidden(request, exc.message)
        messages.error(request, exc.message)
        return redirect("consistency_detail", check_id=check_id)
    if output.export is not None:
        messages.info(request, approval_requested_message(output))
        return redirect("export_detail", export_id=output.export.export_id)
    # check_id passed the check-id pattern in the authorisation above: safe in a file name.
    return csv_attachment(output.lines, f"consistency-differences-{check_id}.csv")
