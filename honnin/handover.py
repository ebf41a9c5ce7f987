"""The only door between the honnin file and the fuhyo side (DESIGN.md §5).

The assessment allows one access from the 附票都道府県サーバ to the 都道府県サーバ: to obtain the
個人番号 of a 国外転出者 by 住民票コード, for a duty where 番号法 permits it, into a temporary
area apart from the 附票 database (住基法第30条の44の6第3項). This module is that access and
nothing else. ``fuhyo.services_my_number`` is its one caller, and pyproject.toml's import
contracts plus tests/test_boundaries.py fail the build if any other module of ``fuhyo`` imports
``honnin``, if anything but that module imports this one, or if ``honnin`` imports ``fuhyo``.

The caller has already checked the duty (provision.services); this door checks nothing about
who asks, so it must not gain a second caller.
"""

from honnin.models import Resident
from honnin.my_number import open_my_number
from jukinet.codes import validate_juminhyo_code


def my_number_for_fuhyo(juminhyo_code: str) -> str | None:
    """The 個人番号 of the person with this 住民票コード, or None when honnin holds none.

    A 国外転出者's honnin row is usually 消除 (転出); it keeps its 個人番号 until its retention
    ends, which is exactly the row this door is for, so the 消除 flag is not a filter here.
    """
    code = validate_juminhyo_code(juminhyo_code)
    blob = Resident.objects.filter(juminhyo_code=code).values_list("my_number", flat=True).first()
    if blob is None:
        return None
    return open_my_number(code, blob)
