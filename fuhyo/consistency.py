"""The fuhyo file's consistency-check set (整合性確認, API.md §2, docs/consistency.md).

The CSV items are the fuhyo update notice's ``record`` items (fuhyo/rules.py) plus the
住民票コード. There is no 個人番号 in this file (DESIGN.md §3): a header naming ``my_number`` is
refused. Rows belong to the CS that manages the 附票 (附票管理市町村コード).

This module imports nothing from ``honnin`` (DESIGN.md §5).
"""

from fuhyo.models import FuhyoRecord
from jukinet.consistency_spec import CODE, CODE_OR_EMPTY, COUNT, DATE, LG_CODE, SCOPE, SEX, TEXT, Column, FileSpec


def _label(name: str) -> str:
    return str(FuhyoRecord._meta.get_field(name).verbose_name)


SPEC = FileSpec(
    file="fuhyo",
    label="附票本人確認情報",
    columns=(
        Column("juminhyo_code", _label("juminhyo_code"), CODE, required=True, compared=False),
        Column("name", _label("name"), TEXT, required=True, max_length=120),
        Column("name_kana", _label("name_kana"), TEXT, required=True, max_length=120),
        Column("birth_date", _label("birth_date"), DATE, required=True),
        Column("sex", _label("sex"), SEX, required=True),
        Column("address_municipality_code", _label("address_municipality_code"), LG_CODE, required=True),
        Column("address", _label("address"), TEXT, required=True, max_length=255),
        Column("last_address", _label("last_address"), TEXT, required=True, max_length=255, allow_empty=True),
        Column("managing_municipality_code", _label("managing_municipality_code"), SCOPE, required=True),
        Column("name_gaiji_count", _label("name_gaiji_count"), COUNT),
        Column("address_gaiji_count", _label("address_gaiji_count"), COUNT),
        Column("last_address_gaiji_count", _label("last_address_gaiji_count"), COUNT),
        Column("former_juminhyo_code", _label("former_juminhyo_code"), CODE_OR_EMPTY),
    ),
    table=FuhyoRecord._meta.db_table,
    scope_column="managing_municipality_code",
    current="r.status = '0'",
    removed="r.status = '1'",
)
