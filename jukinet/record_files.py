"""The two files as the staff pages see them: how to search, fetch and show each.

The search, record, print pages are one set of views for both files (jukinet/views_records.py);
what differs — the model, the items and their order, how 消除 is flagged, whether a 個人番号
exists — is stated here, once per file. The apps stay apart (tests/test_boundaries.py): this
module reads each through its own selectors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.http import Http404
from django.utils import timezone

from fuhyo import selectors as fuhyo_selectors
from fuhyo.models import FuhyoHistory, FuhyoRecord, FuhyoStatus
from honnin import selectors as honnin_selectors
from honnin.models import Resident, ResidentHistory
from jukinet.gaiji import count_gaiji
from jukinet.selectors_notices import municipality_name
from jukinet.wareki import to_wareki


@dataclass(frozen=True)
class Item:
    label: str
    value: str
    gaiji: int = 0  # 外字 in the value (shown beside it)
    changed: bool = False  # differs from the next newer version (history only)


@dataclass(frozen=True)
class RecordFile:
    key: str
    label: str
    model: type[models.Model]
    history_model: type[models.Model]
    search: Callable
    get: Callable
    history: Callable
    item_fields: tuple[str, ...]  # the record view, in this order
    history_fields: tuple[str, ...]  # the columns of the history table
    has_my_number: bool
    has_former_name: bool
    address_prefecture: str  # added to an address prefix typed without it ("" = none)

    def history_labels(self) -> list[str]:
        return [str(self.history_model._meta.get_field(name).verbose_name) for name in self.history_fields]

    def is_removed(self, row) -> bool:
        if self.key == "honnin":
            return bool(row.deleted)
        return row.status == FuhyoStatus.REMOVED


def _files() -> dict[str, RecordFile]:
    return {
        "honnin": RecordFile(
            key="honnin",
            label="本人確認情報",
            model=Resident,
            history_model=ResidentHistory,
            search=lambda conditions: honnin_selectors.residents_search(conditions=conditions),
            get=lambda pk: honnin_selectors.resident_get(pk=pk),
            history=lambda row: honnin_selectors.resident_history(resident=row),
            item_fields=(
                "juminhyo_code", "former_juminhyo_code", "name", "name_kana", "former_surname",
                "former_surname_kana", "birth_date", "sex", "address", "municipality_code", "oaza_code",
                "change_reason", "changed_on", "notified_on", "deleted", "retention_flag", "update_seq",
                "gaiji_flag", "name_gaiji_seq", "address_gaiji_seq", "former_surname_gaiji_seq",
                "operator_id", "terminal_id", "stamped_at",
            ),
            history_fields=("update_seq", "change_reason", "changed_on", "name", "name_kana", "birth_date",
                            "sex", "address", "former_surname", "superseded_at", "retain_until"),
            has_my_number=True,
            has_former_name=True,
            address_prefecture=settings.PREFECTURE_NAME,
        ),
        "fuhyo": RecordFile(
            key="fuhyo",
            label="附票本人確認情報",
            model=FuhyoRecord,
            history_model=FuhyoHistory,
            search=lambda conditions: fuhyo_selectors.records_search(conditions=conditions),
            get=lambda pk: fuhyo_selectors.record_get(pk=pk),
            history=lambda row: fuhyo_selectors.record_history(record=row),
            item_fields=(
                "juminhyo_code", "former_juminhyo_code", "name", "name_kana", "birth_date", "sex",
                "address", "address_municipality_code", "last_address", "managing_municipality_code",
                "status", "notice_kind", "change_reason", "changed_on", "update_seq", "gaiji_flag",
                "gaiji_pattern", "stamped_at",
            ),
            history_fields=("update_seq", "change_reason", "changed_on", "name", "name_kana", "birth_date",
                            "sex", "address", "last_address", "superseded_at", "retain_until"),
            has_my_number=False,
            has_former_name=False,
            address_prefecture="",
        ),
    }  # fmt: skip


def record_file(key: str) -> RecordFile:
    files = _files()
    if key not in files:
        raise Http404
    return files[key]


# --- How values are shown (pages and printed forms alike) ----------------------------------

_MUNICIPALITY_FIELDS = {"municipality_code", "address_municipality_code", "managing_municipality_code"}
_GAIJI_COUNT_FIELDS = {
    "name": "name_gaiji_count",
    "address": "address_gaiji_count",
    "former_surname": "former_surname_gaiji_count",
    "last_address": "last_address_gaiji_count",
}


# Items whose change the history table marks (not the bookkeeping columns).
_COMPARED = {"name", "name_kana", "birth_date", "sex", "address", "last_address", "former_surname"}


def show_date(value: dt.date | None) -> str:
    if value is None:
        return ""
    return f"{to_wareki(value)}（{value.isoformat()}）"


def show_value(row, name: str) -> str:
    field = row._meta.get_field(name)
    value = getattr(row, name)
    if value is None or value == "":
        return ""
    if field.choices:
        return str(getattr(row, f"get_{name}_display")())
    if isinstance(value, bool):
        return "あり" if value else "なし"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return show_date(value)
    if name in _MUNICIPALITY_FIELDS:
        return f"{value} {municipality_name(value)}"
    return str(value)


def items_of(row, names: tuple[str, ...], *, newer=None) -> list[Item]:
    items = []
    for name in names:
        value = show_value(row, name)
        count_field = _GAIJI_COUNT_FIELDS.get(name)
        gaiji = getattr(row, count_field, 0) if count_field and hasattr(row, count_field) else 0
        # The stored count is the record's; a value without a stored count is counted here.
        gaiji = gaiji or (count_gaiji(value) if name in _GAIJI_COUNT_FIELDS else 0)
        changed = (
            newer is not None
            and name in _COMPARED
            and hasattr(newer, name)
            and getattr(newer, name) != getattr(row, name)
        )
        items.append(Item(str(row._meta.get_field(name).verbose_name), value, gaiji, changed))
    return items


def history_items(rows: list, current, names: tuple[str, ...]) -> list[list[Item]]:
    """Each earlier version, with the items that the next newer version changed marked."""
    result, newer = [], current
    for row in rows:
        result.append(items_of(row, names, newer=newer))
        newer = row
    return result
