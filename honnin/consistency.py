"""The honnin file's consistency-check set (整合性確認, API.md §2, docs/consistency.md).

The CSV items are the update notice's ``record`` items (honnin/rules.py) plus the 住民票コード;
the columns marked required must be in the header, the others are compared when present.
The 個人番号 is compared through its HMAC index (honnin/my_number.py): never staged in clear.
"""

from honnin.models import Resident
from jukinet.consistency_spec import (
    CODE,
    CODE_OR_EMPTY,
    COUNT,
    DATE,
    DIGITS,
    MY_NUMBER,
    SCOPE,
    SEX,
    TEXT,
    Column,
    FileSpec,
)


def _label(name: str) -> str:
    return str(Resident._meta.get_field(name).verbose_name)


SPEC = FileSpec(
    file="honnin",
    label="本人確認情報",
    columns=(
        Column("juminhyo_code", _label("juminhyo_code"), CODE, required=True, compared=False),
        Column("name", _label("name"), TEXT, required=True, max_length=120),
        Column("name_kana", _label("name_kana"), TEXT, required=True, max_length=120),
        Column("birth_date", _label("birth_date"), DATE, required=True),
        Column("sex", _label("sex"), SEX, required=True),
        Column("address", _label("address"), TEXT, required=True, max_length=255),
        # For a designated city's CS, any of its wards (they are the residents' municipalities).
        Column("municipality_code", _label("municipality_code"), SCOPE, required=True),
        Column("my_number", "個人番号", MY_NUMBER, required=True),
        Column("name_gaiji_count", _label("name_gaiji_count"), COUNT),
        Column("address_gaiji_count", _label("address_gaiji_count"), COUNT),
        Column("oaza_code", _label("oaza_code"), DIGITS, max_length=12),
        Column("name_gaiji_seq", _label("name_gaiji_seq"), COUNT),
        Column("address_gaiji_seq", _label("address_gaiji_seq"), COUNT),
        Column("former_surname", _label("former_surname"), TEXT, max_length=60, allow_empty=True),
        Column("former_surname_gaiji_count", _label("former_surname_gaiji_count"), COUNT),
        Column("former_surname_kana", _label("former_surname_kana"), TEXT, max_length=60, allow_empty=True),
        Column("former_surname_gaiji_seq", _label("former_surname_gaiji_seq"), COUNT),
        Column("former_juminhyo_code", _label("former_juminhyo_code"), CODE_OR_EMPTY),
    ),
    table=Resident._meta.db_table,
    scope_column="municipality_code",
    current="NOT r.deleted",
    removed="r.deleted",
)
