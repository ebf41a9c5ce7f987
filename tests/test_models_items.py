"""Every 別添２ item of both files is a column, and the database enforces the structural rules."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from fuhyo.models import FuhyoRecord
from honnin.models import Resident
from honnin.my_number import seal_my_number

# 別添２ (assessment.txt, lines ~1706–1760) → field, as DESIGN.md §3 names them.
HONNIN_ITEMS = {
    "住民票コード": ["juminhyo_code"],
    "漢字氏名": ["name"],
    "外字数（氏名）": ["name_gaiji_count"],
    "ふりがな氏名": ["name_kana"],
    "生年月日": ["birth_date"],
    "性別": ["sex"],
    "住所": ["address"],
    "外字数（住所）": ["address_gaiji_count"],
    "個人番号": ["my_number", "my_number_index"],
    "異動事由": ["change_reason"],
    "異動年月日": ["changed_on"],
    "保存期間フラグ": ["retention_flag"],
    "清音化かな氏名": ["name_seion"],
    "市町村コード": ["municipality_code"],
    "大字・字コード": ["oaza_code"],
    "操作者ＩＤ": ["operator_id"],
    "操作端末ＩＤ": ["terminal_id"],
    "タイムスタンプ": ["stamped_at"],
    "通知を受けた年月日": ["notified_on"],
    "外字フラグ": ["gaiji_flag"],
    "削除フラグ": ["deleted"],
    "更新順番号": ["update_seq"],
    "氏名外字変更連番": ["name_gaiji_seq"],
    "住所外字変更連番": ["address_gaiji_seq"],
    "旧氏　漢字": ["former_surname"],
    "旧氏　外字数": ["former_surname_gaiji_count"],
    "旧氏　ふりがな": ["former_surname_kana"],
    "旧氏　外字変更連番": ["former_surname_gaiji_seq"],
}

FUHYO_ITEMS = {
    "住民票コード": ["juminhyo_code"],
    "氏名　漢字": ["name"],
    "氏名　外字数": ["name_gaiji_count"],
    "氏名　ふりがな": ["name_kana"],
    "生年月日": ["birth_date"],
    "性別": ["sex"],
    "住所　市町村コード": ["address_municipality_code"],
    "住所　漢字": ["address"],
    "住所　外字数": ["address_gaiji_count"],
    "最終住所　漢字": ["last_address"],
    "最終住所　外字数": ["last_address_gaiji_count"],
    "異動年月日": ["changed_on"],
    "旧住民票コード": ["former_juminhyo_code"],
    "附票管理市町村コード": ["managing_municipality_code"],
    "附票本人確認情報状態区分": ["status"],
    "外字フラグ": ["gaiji_flag"],
    "外字パターン": ["gaiji_pattern"],
    "通知区分": ["notice_kind"],
}


def _assessment_items(section_start: str, section_end: str) -> list[str]:
    """Read the numbered items of one 別添２ list straight from the assessment text."""
    candidates = [
        Path(__file__).resolve().parents[2] / "shared" / "reference" / "assessment.txt",
        Path(__file__).resolve().parent / "data" / "bessou2.txt",  # an extract, for a clone without shared/
    ]
    text = next(p for p in candidates if p.exists()).read_text(encoding="utf-8")
    # The heading first appears in the table of contents; the lists follow its body copy.
    body = text[text.index("（１）都道府県知事保存本人確認情報ファイル\n\n１．住民票コード") :]
    body = body[body.index(section_start) : body.index(section_end)]
    return [m.group(1).strip() for m in re.finditer(r"^[０-９]+．(.+)$", body, flags=re.MULTILINE)]


def test_the_item_lists_match_the_assessment():
    assert _assessment_items("（１）", "（２）") == list(HONNIN_ITEMS)
    assert _assessment_items("ア　附票本人確認情報", "イ　その他") == list(FUHYO_ITEMS)


@pytest.mark.parametrize(("model", "items"), [(Resident, HONNIN_ITEMS), (FuhyoRecord, FUHYO_ITEMS)])
def test_every_bessou2_item_is_a_field(model, items):
    names = {f.name for f in model._meta.get_fields()}
    missing = {item: fields for item, fields in items.items() if not set(fields) <= names}
    assert missing == {}


def test_the_fuhyo_file_has_no_my_number_column():
    names = {f.name for f in FuhyoRecord._meta.get_fields()}
    assert not any("my_number" in n for n in names)


def _resident(**overrides) -> Resident:
    now = timezone.now()
    fields = {
        "juminhyo_code": "12345678906",
        "name": "佐藤　太郎",
        "name_kana": "サトウ　タロウ",
        "name_seion": "サトオタロオ",
        "birth_date": dt.date(1985, 3, 1),
        "sex": "1",
        "address": "埼玉県川越市元町一丁目1番1号",
        "change_reason": "転入",
        "changed_on": dt.date(2020, 4, 1),
        "municipality_code": "112011",
        "oaza_code": "0001",
        "stamped_at": now,
        "notified_on": dt.date(2020, 4, 2),
        "update_seq": 1,
    }
    fields.update(overrides)
    return Resident(**fields)


def _must_fail(**overrides):
    with pytest.raises(IntegrityError), transaction.atomic():
        _resident(**overrides).save()


@pytest.mark.django_db
def test_a_valid_resident_row_is_stored():
    _resident().save()
    assert Resident.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [
        {"juminhyo_code": "1234567890"},
        {"juminhyo_code": "1234567890A"},
        {"juminhyo_code": "１２３４５６７８９０６"},
        {"sex": "3"},
        {"sex": "0"},
        {"municipality_code": "11201"},
        {"oaza_code": "12a"},
        {"change_reason": "引越し"},
        {"name_gaiji_count": 1},  # a 外字 without the flag
        {"gaiji_flag": True},  # the flag without a 外字
        {"update_seq": 0},
        {"name_seion": ""},
        {"my_number": b"x" * 40},  # a number without its index
    ],
    ids=lambda o: next(iter(o)),
)
def test_the_database_refuses_structurally_invalid_rows(overrides):
    _must_fail(**overrides)


@pytest.mark.django_db
def test_one_current_row_per_juminhyo_code():
    _resident().save()
    _must_fail()


@pytest.mark.django_db
def test_a_my_number_index_is_unique():
    blob, index = seal_my_number("12345678906", "983205673214")
    _resident(my_number=blob, my_number_index=index).save()
    blob2, index2 = seal_my_number("23456789014", "983205673214")
    _must_fail(juminhyo_code="23456789014", my_number=blob2, my_number_index=index2)


@pytest.mark.django_db
def test_the_search_indexes_exist():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename IN ('honnin_resident', 'fuhyo_record')")
        names = {row[0] for row in cursor.fetchall()}
    assert {
        "honnin_res_seion_birth",
        "honnin_res_birth_sex_seion",
        "honnin_res_name_birth_addr",
        "honnin_res_address_prefix",
        "honnin_res_muni_code",
        "fuhyo_rec_seion_birth",
        "fuhyo_rec_birth_sex",
        "fuhyo_rec_address_prefix",
        "fuhyo_rec_muni_code",
    } <= names


def _fuhyo(**overrides) -> FuhyoRecord:
    fields = {
        "juminhyo_code": "12345678906",
        "name": "佐藤　花子",
        "name_kana": "サトウ　ハナコ",
        "name_seion": "サトオハナコ",
        "birth_date": dt.date(1990, 1, 1),
        "sex": "2",
        "address_municipality_code": "112011",
        "address": "アメリカ合衆国",
        "last_address": "埼玉県川越市元町一丁目1番1号",
        "changed_on": dt.date(2021, 1, 1),
        "managing_municipality_code": "112011",
        "status": "0",
        "notice_kind": "1",
        "change_reason": "国外転出",
        "update_seq": 1,
        "stamped_at": timezone.now(),
    }
    fields.update(overrides)
    return FuhyoRecord(**fields)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [
        {"gaiji_pattern": "100"},  # pattern says 氏名 has 外字, count says no
        {"name_gaiji_count": 1, "gaiji_pattern": "100"},  # the flag is missing
        {"name_gaiji_count": 1, "gaiji_flag": True, "gaiji_pattern": "010"},
        {"status": "9"},
        {"notice_kind": "0"},
        {"former_juminhyo_code": "123"},
    ],
    ids=str,
)
def test_the_fuhyo_table_refuses_inconsistent_rows(overrides):
    with pytest.raises(IntegrityError), transaction.atomic():
        _fuhyo(**overrides).save()


@pytest.mark.django_db
def test_a_fuhyo_row_with_a_consistent_gaiji_pattern_is_stored():
    _fuhyo(name="髙橋　花子", name_gaiji_count=1, gaiji_flag=True, gaiji_pattern="100").save()
    assert FuhyoRecord.objects.get().gaiji_pattern == "100"
