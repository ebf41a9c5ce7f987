"""Reads of the fuhyo file: 4情報 search and the record view (DESIGN.md §4.2)."""

from fuhyo.models import FuhyoHistory, FuhyoRecord, FuhyoStatus
from jukinet.four_info import Conditions, conditions_q


def records_search(*, conditions: Conditions):
    """Matching rows in kana order; removed records (状態区分 消除) only when asked for."""
    rows = FuhyoRecord.objects.filter(conditions_q(conditions))
    if not conditions.include_removed:
        rows = rows.filter(status=FuhyoStatus.CURRENT)
    return rows.order_by("name_kana", "birth_date", "juminhyo_code")


def record_get(*, pk: int) -> FuhyoRecord | None:
    return FuhyoRecord.objects.filter(pk=pk).first()


def record_history(*, record: FuhyoRecord) -> list[FuhyoHistory]:
    """Earlier versions, newest first."""
    return list(FuhyoHistory.objects.filter(record=record).order_by("-update_seq", "-superseded_at"))
