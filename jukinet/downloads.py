"""One way to answer with a CSV file: streamed, an attachment, never cached (personal data)."""

from collections.abc import Iterable

from django.http import StreamingHttpResponse


def csv_attachment(lines: Iterable[str] | Iterable[bytes], filename: str) -> StreamingHttpResponse:
    """``filename`` must be ASCII built by the caller from codes (never from user input)."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
