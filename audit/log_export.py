"""The access log as CSV: one definition for the direct download and the approved export.

An export's ``params`` are the log viewer's filter fields as typed plus ``before`` (the moment
it was asked for), so the file holds what the asker saw then, however late it is produced.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator

from django.db.models import QuerySet

from audit.forms_log import LogFilterForm
from audit.models import AccessLogEntry
from audit.selectors import access_log_entries
from jukinet.errors import InvalidInput

EXPORT_COLUMNS = [
    "id",
    "occurred_at",
    "actor_kind",
    "actor",
    "terminal",
    "action",
    "target_file",
    "target_code",
    "duty",
    "outcome",
    "detail",
    "request_id",
    "seal_seq",
    "entry_hash",
]
FILTER_FIELDS = ("actor", "terminal", "action", "target", "outcome", "since", "until")


def log_export_params(data: dict, *, before: dt.datetime) -> dict:
    """The filter as typed (strings only, so it round-trips through JSON) and the cut-off."""
    params = {name: str(data.get(name) or "") for name in FILTER_FIELDS}
    params["before"] = before.isoformat()
    return params


def _entries(params: dict) -> QuerySet[AccessLogEntry]:
    form = LogFilterForm({name: params.get(name, "") for name in FILTER_FIELDS})
    if not form.is_valid():
        raise InvalidInput("出力条件が正しくありません。", code="E_EXPORT_PARAMS")
    entries = access_log_entries(form.to_filter())
    if params.get("before"):
        entries = entries.filter(occurred_at__lt=dt.datetime.fromisoformat(params["before"]))
    return entries


def log_export_count(params: dict) -> int:
    return _entries(params).count()


class _Echo:
    def write(self, value):
        return value


def log_export_lines(params: dict) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # BOM so that spreadsheet software reads the UTF-8 correctly
    yield writer.writerow(EXPORT_COLUMNS)
    for entry in _entries(params).order_by("id").values_list(*EXPORT_COLUMNS).iterator(chunk_size=2000):
        yield writer.writerow(entry)
