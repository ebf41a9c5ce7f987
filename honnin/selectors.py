"""Reads of the honnin file."""

from honnin.models import Resident, ResidentHistory
from honnin.my_number import my_number_index, open_my_number
from jukinet.codes import validate_my_number
from jukinet.four_info import Conditions, conditions_q


def resident_get_by_my_number(*, my_number: str) -> Resident | None:
    """Exact look-up through the HMAC index; the number itself is never in a query."""
    normalised = validate_my_number(my_number)
    return Resident.objects.filter(my_number_index=my_number_index(normalised)).first()


def resident_my_number(*, resident: Resident) -> str | None:
    """Decrypt a resident's 個人番号. Callers log the reveal as its own action."""
    if resident.my_number is None:
        return None
    return open_my_number(resident.juminhyo_code, resident.my_number)


# --- 4情報 search and the record view (DESIGN.md §4.2) ------------------------------------


def residents_search(*, conditions: Conditions):
    """Matching rows in kana order; 消除者 only when the conditions ask for them."""
    rows = Resident.objects.filter(conditions_q(conditions, former_field="former_name_seion"))
    if not conditions.include_removed:
        rows = rows.filter(deleted=False)
    return rows.order_by("name_kana", "birth_date", "juminhyo_code")


def resident_get(*, pk: int) -> Resident | None:
    return Resident.objects.filter(pk=pk).first()


def resident_history(*, resident: Resident) -> list[ResidentHistory]:
    """Earlier versions, newest first (修正前の本人確認情報 still within their retention)."""
    return list(ResidentHistory.objects.filter(resident=resident).order_by("-update_seq", "-superseded_at"))
