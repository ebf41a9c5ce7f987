"""Reads of the honnin file."""

from honnin.models import Resident
from honnin.my_number import my_number_index, open_my_number
from jukinet.codes import validate_my_number


def resident_get_by_my_number(*, my_number: str) -> Resident | None:
    """Exact look-up through the HMAC index; the number itself is never in a query."""
    normalised = validate_my_number(my_number)
    return Resident.objects.filter(my_number_index=my_number_index(normalised)).first()


def resident_my_number(*, resident: Resident) -> str | None:
    """Decrypt a resident's 個人番号. Callers log the reveal as its own action."""
    if resident.my_number is None:
        return None
    return open_my_number(resident.juminhyo_code, resident.my_number)
