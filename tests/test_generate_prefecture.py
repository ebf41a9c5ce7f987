"""The synthetic prefecture (jukinet/synth, manage.py generate_prefecture) and jukinet/gaiji.py."""

import csv
import datetime as dt
from collections import Counter

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from fuhyo.models import FuhyoHistory, FuhyoRecord
from honnin.models import Resident, ResidentHistory
from honnin.my_number import my_number_context
from jukinet.codes import validate_juminhyo_code, validate_lg_code, validate_my_number
from jukinet.crypto import get_keyring
from jukinet.gaiji import count_gaiji, gaiji_chars, is_gaiji
from jukinet.kana import seion_key
from jukinet.synth import generator
from jukinet.synth.generator import CHUNK_ROWS, NotEmptyError, load_prefecture
from tests.celery_connections import drop_celery_connections

AS_OF = dt.date(2025, 6, 1)
N = 2000

# Everything but the ciphertext (random nonces) must repeat for the same seed.
RESIDENT_FIELDS = [f.attname for f in Resident._meta.concrete_fields if f.attname != "my_number"]
HISTORY_FIELDS = [f.attname for f in ResidentHistory._meta.concrete_fields if f.attname != "my_number"]
FUHYO_FIELDS = [f.attname for f in FuhyoRecord._meta.concrete_fields]
FUHYO_HISTORY_FIELDS = [f.attname for f in FuhyoHistory._meta.concrete_fields]


def _load(residents=N, seed=5, **kwargs):
    from jukinet.celery import app

    # The load forks worker processes: no Celery channel of an earlier test may be inherited
    # (tests/celery_connections.py says why that hangs).
    drop_celery_connections(app)
    kwargs.setdefault("workers", 1)
    kwargs.setdefault("as_of", AS_OF)
    return load_prefecture(residents=residents, seed=seed, **kwargs)


def _snapshot():
    return (
        list(Resident.objects.order_by("id").values_list(*RESIDENT_FIELDS)),
        list(ResidentHistory.objects.order_by("id").values_list(*HISTORY_FIELDS)),
        list(FuhyoRecord.objects.order_by("id").values_list(*FUHYO_FIELDS)),
        list(FuhyoHistory.objects.order_by("id").values_list(*FUHYO_HISTORY_FIELDS)),
    )


@pytest.fixture
def loaded(db):
    return _load()


# --- gaiji ------------------------------------------------------------------------------


@pytest.mark.parametrize("ch", ["髙", "﨑", "𠮷", "德", "濵", "栁", "\ue000", "\uf8ff", "①", "㈱", "ｱ", "\U000f0001"])
def test_characters_outside_jis_x_0208_are_gaiji(ch):
    assert is_gaiji(ch)


@pytest.mark.parametrize(
    "ch", ["高", "崎", "吉", "徳", "邊", "齋", "ア", "あ", "ヴ", "　", "A", "1", "１", "〜", "～", "－", "−"]
)
def test_jis_x_0208_characters_are_not_gaiji(ch):
    assert not is_gaiji(ch)


def test_count_gaiji_counts_every_occurrence():
    assert count_gaiji("") == 0
    assert count_gaiji("佐藤　太郎") == 0
    assert count_gaiji("髙橋　﨑𠮷\ue000") == 4
    assert gaiji_chars("山﨑　德子") == ["﨑", "德"]


# --- identifiers --------------------------------------------------------------------------


def test_the_row_permutation_is_a_bijection():
    keys = generator._feistel_keys(1, "test")
    assert sorted(generator._permute(x, keys, 10, 100) for x in range(1000)) == list(range(1000))


# --- the load -----------------------------------------------------------------------------


def test_the_load_writes_the_asked_number_of_residents_and_a_matching_fuhyo_file(loaded):
    assert Resident.objects.count() == N == loaded.residents
    assert ResidentHistory.objects.count() == loaded.history
    assert FuhyoRecord.objects.count() == loaded.fuhyo
    assert 0.005 * N <= loaded.fuhyo <= 0.03 * N


def test_every_code_is_valid_and_unique(loaded):
    municipalities = {row["code6"] for row in csv.DictReader(settings.MUNICIPALITIES_CSV.open(encoding="utf-8"))}
    keyring = get_keyring()
    codes, numbers, indexes = set(), set(), set()
    for code, muni, oaza, blob, index in Resident.objects.values_list(
        "juminhyo_code", "municipality_code", "oaza_code", "my_number", "my_number_index"
    ):
        validate_juminhyo_code(code)
        validate_lg_code(muni)
        assert muni in municipalities
        assert muni != "111007"  # さいたま市 residents are registered in a ward
        assert len(oaza) == 7 and oaza.isdigit()
        number = keyring.decrypt(blob, context=my_number_context(code))
        validate_my_number(number)
        assert keyring.index(number) == bytes(index)
        codes.add(code)
        numbers.add(number)
        indexes.add(bytes(index))
    assert len(codes) == len(numbers) == len(indexes) == N


def test_gaiji_counts_flags_and_sequences_agree_with_the_text(loaded):
    rows = list(Resident.objects.all()) + list(ResidentHistory.objects.all())
    for r in rows:
        assert r.name_gaiji_count == count_gaiji(r.name)
        assert r.address_gaiji_count == count_gaiji(r.address)
        assert r.former_surname_gaiji_count == count_gaiji(r.former_surname)
        assert r.gaiji_flag == bool(r.name_gaiji_count or r.address_gaiji_count or r.former_surname_gaiji_count)
        assert (r.name_gaiji_seq >= 1) == (r.name_gaiji_count > 0)
        assert (r.address_gaiji_seq >= 1) == (r.address_gaiji_count > 0)
        assert (r.former_surname_gaiji_seq >= 1) == (r.former_surname_gaiji_count > 0)
    for f in list(FuhyoRecord.objects.all()) + list(FuhyoHistory.objects.all()):
        assert f.name_gaiji_count == count_gaiji(f.name)
        assert f.address_gaiji_count == count_gaiji(f.address)
        assert f.last_address_gaiji_count == count_gaiji(f.last_address)
        expected = "".join(
            "1" if n else "0" for n in (f.name_gaiji_count, f.address_gaiji_count, f.last_address_gaiji_count)
        )
        assert f.gaiji_pattern == expected
        assert f.gaiji_flag == (expected != "000")


def test_some_names_and_addresses_hold_gaiji(db):
    # A larger load, so that shares of a fraction of a percent are measurable.
    result = _load(residents=20_000, seed=3)
    named = Resident.objects.filter(name_gaiji_count__gt=0).count() / result.residents
    addressed = Resident.objects.filter(address_gaiji_count__gt=0).count() / result.residents
    assert 0.003 <= named <= 0.012
    assert 0.0005 <= addressed <= 0.008
    assert Resident.objects.filter(name__regex="[\ue000-\uf8ff]").exists()


def test_names_are_written_as_the_search_expects(loaded):
    for r in Resident.objects.all():
        surname, given = r.name.split("\u3000")
        kana_surname, kana_given = r.name_kana.split("\u3000")
        assert surname and given and kana_surname and kana_given
        assert r.name_seion == seion_key(r.name_kana)
        if r.former_surname:
            assert r.former_surname != surname
            assert r.former_name_seion == seion_key(r.former_surname_kana + kana_given)
        else:
            assert r.former_name_seion == "" and r.former_surname_kana == ""
        assert "\t" not in r.name + r.address and "\\" not in r.name + r.address


def test_shares_of_removed_people_history_and_former_surnames_are_plausible(loaded):
    removed = Resident.objects.filter(deleted=True)
    assert 0.015 * N <= removed.count() <= 0.05 * N
    assert set(removed.values_list("change_reason", flat=True)) <= {"死亡", "転出", "職権消除", "国籍喪失"}
    assert not removed.exclude(retention_flag="1").exists()
    assert not Resident.objects.filter(deleted=False).exclude(retention_flag="0").exists()
    with_history = Resident.objects.filter(update_seq__gt=1).count()
    assert 0.06 * N <= with_history <= 0.15 * N
    women = Resident.objects.filter(sex="2").count()
    assert 0.01 * women <= Resident.objects.exclude(former_surname="").count() <= 0.08 * women
    assert 0.45 <= women / N <= 0.56


def test_update_seq_counts_the_history_and_dates_are_ordered(loaded):
    history = Counter(ResidentHistory.objects.values_list("resident_id", flat=True))
    for r in Resident.objects.all():
        assert r.update_seq == 1 + history.get(r.id, 0)
        assert r.birth_date <= r.changed_on <= r.notified_on <= AS_OF
        assert r.stamped_at.date() <= AS_OF + dt.timedelta(days=1)
        assert dt.date(1920, 1, 1) <= r.birth_date
    for h in ResidentHistory.objects.select_related("resident"):
        assert h.juminhyo_code == h.resident.juminhyo_code
        assert h.update_seq < h.resident.update_seq
        assert h.stamped_at <= h.superseded_at
        superseded = h.superseded_at.astimezone(dt.timezone(dt.timedelta(hours=9))).date()
        assert h.retain_until.year == superseded.year + settings.HISTORY_RETENTION_YEARS
        assert (h.retain_until.month, h.retain_until.day) in {(superseded.month, superseded.day), (2, 28)}


def test_every_fuhyo_person_is_a_removed_honnin_person_who_moved_abroad(loaded):
    municipalities = {row["code6"] for row in csv.DictReader(settings.MUNICIPALITIES_CSV.open(encoding="utf-8"))}
    for f in FuhyoRecord.objects.all():
        r = Resident.objects.get(juminhyo_code=f.juminhyo_code)
        assert r.deleted and r.change_reason == "転出"
        assert (f.name, f.name_kana, f.name_seion, f.birth_date, f.sex) == (
            r.name,
            r.name_kana,
            r.name_seion,
            r.birth_date,
            r.sex,
        )
        assert f.last_address == r.address
        assert f.address_municipality_code == r.municipality_code
        assert f.managing_municipality_code in municipalities
        assert not f.address.startswith(settings.PREFECTURE_NAME)
        if f.update_seq == 1:
            assert (f.status, f.notice_kind, f.change_reason) == ("0", "1", "国外転出")
        assert f.changed_on <= AS_OF
    for h in FuhyoHistory.objects.select_related("record"):
        assert h.juminhyo_code == h.record.juminhyo_code and h.update_seq < h.record.update_seq


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(db):
    _load(seed=11)
    first = _snapshot()
    _load(seed=11, replace=True)
    assert _snapshot() == first
    _load(seed=12, replace=True)
    assert _snapshot()[0] != first[0]


def test_chunks_do_not_depend_on_each_other(db):
    plan = generator.build_plan(residents=CHUNK_ROWS * 3, seed=4, as_of=AS_OF)

    def without_cipher(text):
        return [line.split("\t")[:10] + line.split("\t")[11:] for line in text.splitlines()]

    late_first = generator.generate_chunk(plan, 2)
    generator.generate_chunk(plan, 0)
    again = generator.generate_chunk(plan, 2)
    assert without_cipher(late_first.residents) == without_cipher(again.residents)
    assert late_first.fuhyo == again.fuhyo


@pytest.mark.slow
def test_the_result_does_not_depend_on_the_number_of_workers(transactional_db):
    residents = CHUNK_ROWS * 2 + 500
    _load(residents=residents, seed=9, workers=2)
    two = _snapshot()
    _load(residents=residents, seed=9, workers=1, replace=True)
    assert _snapshot() == two
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'honnin_resident'")
        present = {row[0] for row in cursor.fetchall()}
    assert {i.name for i in Resident._meta.indexes} <= present
    assert {"honnin_one_current_row_per_code", "honnin_my_number_index_unique"} <= present


def test_indexes_and_sequences_are_in_place_after_a_load(loaded):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'honnin_resident'")
        present = {row[0] for row in cursor.fetchall()}
    assert {i.name for i in Resident._meta.indexes} <= present
    assert {"honnin_one_current_row_per_code", "honnin_my_number_index_unique"} <= present
    # The application's next insert must not collide with an explicit id of the load.
    assert Resident.objects.order_by("-id").first().id == N
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('honnin_resident', 'id'))")
        assert cursor.fetchone()[0] == N + 1


def test_a_load_refuses_files_that_already_hold_data(loaded):
    with pytest.raises(NotEmptyError):
        _load(residents=10)
    with pytest.raises(CommandError, match="--replace"):
        call_command("generate_prefecture", residents=10, seed=1, workers=1)
    assert Resident.objects.count() == N


def test_the_command_replaces_the_files_when_asked(loaded):
    call_command("generate_prefecture", residents=30, seed=2, workers=1, replace=True, as_of=AS_OF)
    assert Resident.objects.count() == 30
