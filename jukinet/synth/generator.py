"""The synthetic prefecture: residents of the honnin file and the matching fuhyo file, bulk-loaded.

``load_prefecture(residents=N, seed=S)`` writes N people into ``honnin_resident`` (and their
earlier versions into ``honnin_resident_history``) and the people among them who moved
abroad into ``fuhyo_record`` / ``fuhyo_history``, with ``COPY``. docs/synthetic-data.md has
the shares and the measured rates.

Determinism. Row ``i`` (0-based) of the load belongs to chunk ``i // CHUNK_ROWS``; each chunk
draws from its own ``random.Random`` seeded from (S, chunk), so the data depend on N, S and
the reference date only, not on how many worker processes share the chunks. Ids are
explicit and derived from the row number (resident ``i+1``; its history ``4(i+1)+j``; a fuhyo
record takes its resident's id), so they are deterministic too. Only the 個人番号 ciphertext
differs between runs (AES-GCM with random nonces).

Uniqueness. The 住民票コード of row ``i`` is ``P(i)`` plus its check digit, where ``P`` is a
keyed Feistel permutation of [0, 10^10) (additive rounds on two base-10^5 halves, keys from
the seed); the 個人番号 is the same with a permutation of [0, 10^11) (halves 10^5 × 10^6).
A permutation maps distinct row numbers to distinct values, so both are unique over the
whole load without a set of 7.3 M strings, and they look random.

Fuhyo interpretation. A fuhyo person is a honnin person removed with 異動事由 転出 (国外転出):
same 住民票コード, name, birth date, sex. ``address`` is the address abroad;
``last_address`` is the last domestic address (the honnin row's address);
``address_municipality_code`` is the municipality of that last domestic address (the one
that handled the 国外転出: a person abroad has no municipality of residence, and that is the
code the 附票 carries for 国外転出者); ``managing_municipality_code`` is the 附票を管理する
市町村 (the 本籍地), a municipality of the prefecture — the last one for most, another for
some.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import math
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction

from honnin.my_number import my_number_context  # the AES-GCM associated data of a honnin row
from jukinet.codes import juminhyo_code_check_digit, my_number_check_digit
from jukinet.crypto import Keyring, get_keyring
from jukinet.gaiji import count_gaiji
from jukinet.kana import seion_key
from jukinet.synth import addresses, names

__all__ = [
    "CHUNK_ROWS",
    "LoadResult",
    "NotEmptyError",
    "generate_chunk",
    "load_prefecture",
]

CHUNK_ROWS = 10_000
FIRST_BIRTH_YEAR = 1920

# Shares (of all residents unless said otherwise); docs/synthetic-data.md explains them.
P_REMOVED = 0.03  # 消除者
P_CHANGED = 0.075  # living people with 1-3 later versions (転居, 氏名の変更)
P_FORMER_SURNAME = 0.04  # 旧氏, among women aged 25 and over
P_FUHYO_HISTORY = 0.05  # among fuhyo people: a later address abroad
P_FUHYO_REMOVED = 0.03  # among fuhyo people: 附票 消除
REMOVAL_REASONS_UNDER_75 = (("転出*", 0.58), ("死亡", 0.15), ("転出", 0.20), ("職権消除", 0.05), ("国籍喪失", 0.02))
REMOVAL_REASONS_75_AND_OVER = (("死亡", 0.90), ("転出*", 0.04), ("転出", 0.05), ("職権消除", 0.01))
# "転出*" is 転出 abroad (国外転出): honnin says 転出, and the person gets a fuhyo row.

# Births in Japan by year (thousands; 1944-1946 estimated), interpolated linearly between points.
_BIRTHS = {
    1920: 2025, 1925: 2086, 1930: 2085, 1935: 2191, 1940: 2116, 1943: 2254, 1944: 2150, 1945: 1900,
    1946: 1906, 1947: 2679, 1948: 2682, 1949: 2697, 1950: 2338, 1951: 2138, 1952: 2005, 1953: 1868,
    1955: 1731, 1957: 1567, 1960: 1606, 1963: 1660, 1965: 1824, 1966: 1361, 1967: 1936, 1968: 1872,
    1970: 1934, 1971: 2001, 1972: 2039, 1973: 2092, 1974: 2030, 1975: 1901, 1977: 1755, 1980: 1577,
    1985: 1432, 1990: 1222, 1995: 1187, 2000: 1191, 2005: 1063, 2010: 1071, 2015: 1006, 2016: 977,
    2017: 946, 2018: 918, 2019: 865, 2020: 841, 2021: 812, 2022: 771, 2023: 727, 2024: 686, 2025: 660,
}  # fmt: skip
_MALE_AT_BIRTH = 0.512


class NotEmptyError(Exception):
    """The files already hold data and ``replace`` was not asked for."""


# --- columns (checked against the models at load time) ------------------------------------

RESIDENT_COLUMNS = (
    "id", "juminhyo_code", "name", "name_gaiji_count", "name_kana", "name_seion", "birth_date", "sex",
    "address", "address_gaiji_count", "my_number", "my_number_index", "change_reason", "changed_on",
    "retention_flag", "municipality_code", "oaza_code", "operator_id", "terminal_id", "stamped_at",
    "notified_on", "gaiji_flag", "deleted", "update_seq", "name_gaiji_seq", "address_gaiji_seq",
    "former_surname", "former_surname_gaiji_count", "former_surname_kana", "former_surname_gaiji_seq",
    "former_name_seion", "former_juminhyo_code",
)  # fmt: skip
HISTORY_EXTRA_COLUMNS = ("superseded_at", "retain_until")
RESIDENT_HISTORY_COLUMNS = (*RESIDENT_COLUMNS, "resident_id", *HISTORY_EXTRA_COLUMNS)
FUHYO_COLUMNS = (
    "id", "juminhyo_code", "former_juminhyo_code", "name", "name_gaiji_count", "name_kana", "name_seion",
    "birth_date", "sex", "address_municipality_code", "address", "address_gaiji_count", "last_address",
    "last_address_gaiji_count", "changed_on", "managing_municipality_code", "status", "notice_kind",
    "gaiji_flag", "gaiji_pattern", "change_reason", "update_seq", "stamped_at",
)  # fmt: skip
FUHYO_HISTORY_COLUMNS = (*FUHYO_COLUMNS, "record_id", *HISTORY_EXTRA_COLUMNS)


def _models():
    from fuhyo.models import FuhyoHistory, FuhyoRecord
    from honnin.models import Resident, ResidentHistory

    return (
        (Resident, RESIDENT_COLUMNS),
        (ResidentHistory, RESIDENT_HISTORY_COLUMNS),
        (FuhyoRecord, FUHYO_COLUMNS),
        (FuhyoHistory, FUHYO_HISTORY_COLUMNS),
    )


def _check_columns() -> None:
    for model, columns in _models():
        expected = {f.column for f in model._meta.concrete_fields}
        if expected != set(columns):
            raise RuntimeError(
                f"{model._meta.db_table}: the generator's columns differ from the model "
                f"(missing {sorted(expected - set(columns))}, unknown {sorted(set(columns) - expected)})"
            )


# --- the plan: everything precomputed once and shared by the chunks ----------------------


def _births(year: int) -> float:
    if year in _BIRTHS:
        return float(_BIRTHS[year])
    years = sorted(_BIRTHS)
    if year > years[-1]:
        return float(_BIRTHS[years[-1]])
    i = bisect.bisect_left(years, year)
    y0, y1 = years[i - 1], years[i]
    return _BIRTHS[y0] + (_BIRTHS[y1] - _BIRTHS[y0]) * (year - y0) / (y1 - y0)


def _survival(age: float, male: bool) -> float:
    # Gompertz, fitted roughly to Japanese life tables (S(80) ≈ 0.64 men / 0.80 women).
    return math.exp(-(0.00002 if male else 0.00001) * (math.exp(0.125 * age) - 1.0))


def _cumulative(weights: Iterable[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _feistel_keys(seed: int, purpose: str) -> tuple[int, int, int, int]:
    digest = hashlib.sha256(f"jukinet-synth:{seed}:{purpose}".encode()).digest()
    return tuple(int.from_bytes(digest[i : i + 8], "big") | 1 for i in range(0, 32, 8))  # type: ignore[return-value]


def _permute(x: int, keys: tuple[int, int, int, int], lo_mod: int, hi_mod: int) -> int:
    """A bijection of [0, lo_mod*hi_mod): four additive Feistel rounds (each one invertible)."""
    hi, lo = divmod(x, lo_mod)
    k0, k1, k2, k3 = keys
    hi = (hi + (((lo + 0x9E37) * k0) >> 23)) % hi_mod
    lo = (lo + (((hi + 0x79B9) * k1) >> 23)) % lo_mod
    hi = (hi + (((lo + 0x7F4A) * k2) >> 23)) % hi_mod
    lo = (lo + (((hi + 0x7C15) * k3) >> 23)) % lo_mod
    return hi * lo_mod + lo


def juminhyo_code_for_row(row: int, keys: tuple[int, int, int, int]) -> str:
    first10 = f"{_permute(row, keys, 10**5, 10**5):010d}"
    return first10 + juminhyo_code_check_digit(first10)


def my_number_for_row(row: int, keys: tuple[int, int, int, int]) -> str:
    first11 = f"{_permute(row, keys, 10**6, 10**5):011d}"
    return first11 + my_number_check_digit(first11)


_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_KANJI_DIGITS = ("", "一", "二", "三", "四", "五", "六", "七", "八", "九")


@dataclass(slots=True)
class _Place:
    """One address slot: a 大字 or one 丁目 of a town, with everything the rows need."""

    prefix: str  # 埼玉県 + municipality + town (+ 丁目)
    oaza_code: str
    gaiji_count: int
    chome_style: bool  # X丁目Y番Z号 (True) or NNN番地 (False)


@dataclass(slots=True)
class _Muni:
    code: str
    places: list[_Place]
    place_cum: list[float]
    operators: tuple[str, ...]
    terminals: tuple[str, ...]


@dataclass
class Plan:
    residents: int
    seed: int
    as_of: dt.date
    keyring: Keyring
    munis: list[_Muni] = field(default_factory=list)
    muni_cum: list[float] = field(default_factory=list)
    year_cum: list[float] = field(default_factory=list)
    year_start: list[int] = field(default_factory=list)  # ordinal of 1 Jan (or as_of span) per year index
    year_days: list[int] = field(default_factory=list)
    year_p_male: list[float] = field(default_factory=list)
    year_era: list[int] = field(default_factory=list)  # index into given tables
    surnames: list[tuple[str, str, int]] = field(default_factory=list)
    surname_cum: list[float] = field(default_factory=list)
    given: list[tuple[str, str, int]] = field(default_factory=list)
    given_tables: list[tuple[list[int], list[float]]] = field(default_factory=list)  # [era*2 + female]
    date_base: int = 0
    dates: list[str] = field(default_factory=list)
    times: list[str] = field(default_factory=list)
    fullwidth: list[str] = field(default_factory=list)
    foreign: list[tuple[str, int]] = field(default_factory=list)
    code_keys: tuple[int, int, int, int] = (1, 1, 1, 1)
    number_keys: tuple[int, int, int, int] = (1, 1, 1, 1)
    retention_years: int = 150
    lz4_wal: bool = False  # whether this session may SET wal_compression = lz4 (see _tune)

    @property
    def chunks(self) -> int:
        return (self.residents + CHUNK_ROWS - 1) // CHUNK_ROWS


def build_plan(*, residents: int, seed: int, as_of: dt.date, keyring: Keyring | None = None) -> Plan:
    plan = Plan(residents=residents, seed=seed, as_of=as_of, keyring=keyring or get_keyring())
    plan.retention_years = settings.HISTORY_RETENTION_YEARS
    prefecture = settings.PREFECTURE_NAME
    plan.fullwidth = [str(i).translate(_FULLWIDTH) for i in range(10000)]

    municipalities = addresses.read_municipalities(settings.MUNICIPALITIES_CSV)
    for index, m in enumerate(municipalities):
        places: list[_Place] = []
        weights: list[float] = []
        for town in m.towns:
            base = f"{prefecture}{m.name}{town.name}"
            if town.chome:
                for chome in range(1, town.chome + 1):
                    places.append(
                        _Place(
                            f"{base}{_KANJI_DIGITS[chome]}丁目", f"{town.number:04d}{chome:03d}", town.gaiji_count, True
                        )
                    )
                    weights.append(town.weight / town.chome)
            else:
                places.append(_Place(base, f"{town.number:04d}000", town.gaiji_count, False))
                weights.append(town.weight)
        plan.munis.append(
            _Muni(
                code=m.code,
                places=places,
                place_cum=_cumulative(weights),
                operators=tuple(f"OP{index + 1:02d}{j:02d}" for j in range(1, 7)),
                terminals=tuple(f"TM{m.code}-{j:02d}" for j in range(1, 4)),
            )
        )
    plan.muni_cum = _cumulative(m.population for m in municipalities)

    # Birth years: births of the year times survival to today's age; sex by the same.
    weights = []
    for year in range(FIRST_BIRTH_YEAR, as_of.year + 1):
        age = as_of.year - year + 0.5
        start = dt.date(year, 1, 1).toordinal()
        end = min(dt.date(year, 12, 31), as_of).toordinal()
        span = end - start + 1
        male = _births(year) * _MALE_AT_BIRTH * _survival(age, True)
        female = _births(year) * (1 - _MALE_AT_BIRTH) * _survival(age, False)
        weights.append((male + female) * span / 365.0)
        plan.year_start.append(start)
        plan.year_days.append(span)
        plan.year_p_male.append(male / (male + female))
        plan.year_era.append(names.ERA_START_YEARS.index(names.era_of(year)))
    plan.year_cum = _cumulative(weights)

    plan.surnames = [(n.kanji, n.kana, count_gaiji(n.kanji)) for n in names.surnames()]
    plan.surname_cum = _cumulative(n.weight for n in names.surnames())
    given_index: dict[tuple[str, str], int] = {}
    for era in names.ERA_START_YEARS:
        for sex in ("1", "2"):
            ids, ws = [], []
            for n in names.given_names(era, sex):
                key = (n.kanji, n.kana)
                if key not in given_index:
                    given_index[key] = len(plan.given)
                    plan.given.append((n.kanji, n.kana, count_gaiji(n.kanji)))
                ids.append(given_index[key])
                ws.append(n.weight)
            plan.given_tables.append((ids, _cumulative(ws)))

    plan.date_base = dt.date(FIRST_BIRTH_YEAR, 1, 1).toordinal()
    last = as_of.toordinal() + 1
    plan.dates = [dt.date.fromordinal(o).isoformat() for o in range(plan.date_base, last + 1)]
    # Office hours 08:30-17:15 JST, to the second.
    plan.times = [f" {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+09" for s in range(30600, 62100)]

    for region, cities in addresses.FOREIGN_PLACES:
        for city in cities:
            place = region + city
            plan.foreign.append((place, count_gaiji(place)))
    plan.code_keys = _feistel_keys(seed, "juminhyo_code")
    plan.number_keys = _feistel_keys(seed, "my_number")
    return plan


# --- one chunk ----------------------------------------------------------------------------


@dataclass
class Chunk:
    index: int
    residents: str
    history: str
    fuhyo: str
    fuhyo_history: str
    counts: tuple[int, int, int, int]


_STR = [str(i) for i in range(100)]


def _plus_years(iso: str, years: int) -> str:
    year = int(iso[:4]) + years
    rest = iso[4:]
    if rest == "-02-29" and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        rest = "-02-28"
    return f"{year:04d}{rest}"


def generate_chunk(plan: Plan, index: int) -> Chunk:
    """Rows ``[index*CHUNK_ROWS, …)`` as COPY text for the four tables."""
    rng = random.Random(f"jukinet-synth:{plan.seed}:{index}")  # noqa: S311 - synthetic data, not security
    r = rng.random
    first = index * CHUNK_ROWS
    last = min(plan.residents, first + CHUNK_ROWS)

    bisect_right = bisect.bisect_right
    munis, muni_cum, muni_total = plan.munis, plan.muni_cum, plan.muni_cum[-1]
    year_cum, year_total = plan.year_cum, plan.year_cum[-1]
    year_start, year_days, year_p_male, year_era = plan.year_start, plan.year_days, plan.year_p_male, plan.year_era
    surnames, surname_cum, surname_total = plan.surnames, plan.surname_cum, plan.surname_cum[-1]
    given, given_tables = plan.given, plan.given_tables
    dates, date_base, times, n_times = plan.dates, plan.date_base, plan.times, len(plan.times)
    fw = plan.fullwidth
    foreign, n_foreign = plan.foreign, len(plan.foreign)
    streets, n_streets = addresses.FOREIGN_STREETS, len(addresses.FOREIGN_STREETS)
    as_of = plan.as_of.toordinal()
    as_of_year = plan.as_of.year
    retention = plan.retention_years
    keyring = plan.keyring
    encrypt, index_of = keyring.encrypt, keyring.index
    code_keys, number_keys = plan.code_keys, plan.number_keys
    strs = _STR

    name_cache: dict[tuple[int, int], tuple[str, str, str, int]] = {}

    def full_name(si: int, gi: int) -> tuple[str, str, str, int]:
        key = (si, gi)
        try:
            return name_cache[key]
        except KeyError:
            sk, sr, sg = surnames[si]
            gk, gr, gg = given[gi]
            kana = f"{sr}\u3000{gr}"
            value = name_cache[key] = (f"{sk}\u3000{gk}", kana, seion_key(kana), sg + gg)
            return value

    def pick_surname() -> int:
        return bisect_right(surname_cum, r() * surname_total)

    def pick_place(muni: _Muni) -> tuple[str, str, int]:
        cum = muni.place_cum
        place = muni.places[bisect_right(cum, r() * cum[-1])]
        if place.chome_style:
            address = f"{place.prefix}{fw[1 + int(r() * 30)]}番{fw[1 + int(r() * 25)]}号"
        elif r() < 0.6:
            address = f"{place.prefix}{fw[1 + int(r() * 2500)]}番地"
        else:
            address = f"{place.prefix}{fw[1 + int(r() * 2500)]}番地{fw[1 + int(r() * 20)]}"
        return address, place.oaza_code, place.gaiji_count

    def notify(day: int) -> tuple[int, str]:
        notified = min(day + int(r() * 15), as_of)
        return notified, dates[notified - date_base] + times[int(r() * n_times)]

    def foreign_address() -> tuple[str, int]:
        place, gaiji = foreign[int(r() * n_foreign)]
        return f"{place}{streets[int(r() * n_streets)]}{fw[1 + int(r() * 9999)]}番", gaiji

    res_lines: list[str] = []
    hist_lines: list[str] = []
    fuhyo_lines: list[str] = []
    fuhyo_hist_lines: list[str] = []

    for row in range(first, last):
        rid = row + 1
        rid_s = str(rid)
        muni = munis[bisect_right(muni_cum, r() * muni_total)]
        yi = bisect_right(year_cum, r() * year_total)
        birth = year_start[yi] + int(r() * year_days[yi])
        birth_iso = dates[birth - date_base]
        age = as_of_year - FIRST_BIRTH_YEAR - yi
        female = r() >= year_p_male[yi]
        sex = "2" if female else "1"
        ids, cum = given_tables[year_era[yi] * 2 + female]
        gi = ids[bisect_right(cum, r() * cum[-1])]
        si = pick_surname()

        code = juminhyo_code_for_row(row, code_keys)
        number = my_number_for_row(row, number_keys)
        blob = "\\\\x" + encrypt(number, context=my_number_context(code)).hex()
        digest = "\\\\x" + index_of(number).hex()

        # Events: entry, then later versions, then perhaps removal.
        x = r()
        if x < (0.85 if age < 10 else 0.5 if age < 20 else 0.2):
            reason, day = "出生", birth
        else:
            y = r()
            reason = "転入" if y < 0.996 else "帰化" if y < 0.998 else "職権記載"
            day = birth + int((as_of - birth) * (1.0 - r() * r()))
        removed = r() < P_REMOVED
        if removed:
            y = r()
            n_changes = 0 if y < 0.8 else 1 if y < 0.95 else 2
        elif r() < P_CHANGED:
            y = r()
            n_changes = 1 if y < 0.7 else 2 if y < 0.92 else 3
        else:
            n_changes = 0

        # 旧氏 and 氏名の変更: the surname drawn above is the current one; a maiden one is drawn apart.
        maiden = -1
        has_former = False
        if female and age >= 25 and r() < P_FORMER_SURNAME:
            maiden, has_former = pick_surname(), True
        renamed_at = -1  # index of the change that is 氏名の変更
        if n_changes and female and age >= 20 and r() < 0.25:
            renamed_at = int(r() * n_changes)
            if maiden < 0:
                maiden = pick_surname()
                has_former = r() < 0.5
        while maiden == si:
            maiden = pick_surname()

        address, oaza, addr_gaiji = pick_place(muni)
        current_name = full_name(si, gi)
        name = full_name(maiden, gi) if renamed_at >= 0 else current_name
        former = ("", "", 0, "")
        if has_former and renamed_at < 0:
            fk, fr, fg = surnames[maiden]
            former = (fk, fr, fg, seion_key(f"{fr}\u3000{given[gi][1]}"))
        notified, stamped = notify(day)
        operators, terminals = muni.operators, muni.terminals
        seq = 1
        retention_flag, deleted = "0", "f"
        events = n_changes + removed
        fuhyo_abroad = False
        removal_stamped = ""
        removal_day = 0
        for step in range(events):
            # The version so far becomes history when the next one arrives.
            is_removal = step == n_changes
            room = as_of - notified - 1
            if room > 0:
                next_day = notified + 1 + int(r() * room / (events - step))
                next_notified, next_stamped = notify(next_day)
            elif is_removal:
                next_day = next_notified = as_of
                next_stamped = dates[as_of - date_base] + " 17:30:00+09"
            else:
                continue
            ngc, agc, fgc = name[3], addr_gaiji, former[2]
            hist_lines.append(
                "\t".join(
                    (
                        str(rid * 4 + step),
                        code,
                        name[0],
                        strs[ngc],
                        name[1],
                        name[2],
                        birth_iso,
                        sex,
                        address,
                        strs[agc],
                        blob,
                        digest,
                        reason,
                        dates[day - date_base],
                        "0",
                        muni.code,
                        oaza,
                        operators[int(r() * 6)],
                        terminals[int(r() * 3)],
                        stamped,
                        dates[notified - date_base],
                        "t" if ngc or agc or fgc else "f",
                        "f",
                        strs[seq],
                        "1" if ngc else "0",
                        "1" if agc else "0",
                        former[0],
                        strs[fgc],
                        former[1],
                        "1" if fgc else "0",
                        former[3],
                        "",  # former_juminhyo_code
                        rid_s,
                        next_stamped,
                        _plus_years(next_stamped[:10], retention),
                    )
                )
            )
            seq += 1
            day, notified, stamped = next_day, next_notified, next_stamped
            if is_removal:
                reason = _pick(REMOVAL_REASONS_UNDER_75 if age < 75 else REMOVAL_REASONS_75_AND_OVER, r())
                if reason == "転出*":
                    reason, fuhyo_abroad = "転出", True
                retention_flag, deleted = "1", "t"
                removal_stamped, removal_day = stamped, day
            elif step == renamed_at:
                reason = "氏名の変更"
                name = current_name
                if has_former:
                    fk, fr, fg = surnames[maiden]
                    former = (fk, fr, fg, seion_key(f"{fr}\u3000{given[gi][1]}"))
            else:
                reason = "転居"
                address, oaza, addr_gaiji = pick_place(muni)

        ngc, agc, fgc = name[3], addr_gaiji, former[2]
        res_lines.append(
            "\t".join(
                (
                    rid_s,
                    code,
                    name[0],
                    strs[ngc],
                    name[1],
                    name[2],
                    birth_iso,
                    sex,
                    address,
                    strs[agc],
                    blob,
                    digest,
                    reason,
                    dates[day - date_base],
                    retention_flag,
                    muni.code,
                    oaza,
                    operators[int(r() * 6)],
                    terminals[int(r() * 3)],
                    stamped,
                    dates[notified - date_base],
                    "t" if ngc or agc or fgc else "f",
                    deleted,
                    strs[seq],
                    "1" if ngc else "0",
                    "1" if agc else "0",
                    former[0],
                    strs[fgc],
                    former[1],
                    "1" if fgc else "0",
                    former[3],
                    "",  # former_juminhyo_code: no 住民票コードの変更 is generated
                )
            )
        )

        if fuhyo_abroad:
            # 本籍地: mostly where the person last lived, otherwise anywhere in the prefecture.
            managing = muni.code if r() < 0.6 else munis[bisect_right(muni_cum, r() * muni_total)].code
            abroad, abroad_gaiji = foreign_address()
            f_reason, f_status, f_kind, f_seq = "国外転出", "0", "1", 1
            f_day, f_stamped = removal_day, removal_stamped
            f_steps = []
            if r() < P_FUHYO_HISTORY:
                f_steps.append("住所の変更")
            if r() < P_FUHYO_REMOVED:
                f_steps.append("消除")
            for step, kind in enumerate(f_steps):
                room = as_of - f_day
                if room <= 0:
                    break
                next_day = f_day + 1 + int(r() * (room - 1) / (len(f_steps) - step)) if room > 1 else as_of
                next_stamped = dates[next_day - date_base] + times[int(r() * n_times)]
                fuhyo_hist_lines.append(
                    _fuhyo_line(
                        rid * 4 + step,
                        code,
                        name,
                        birth_iso,
                        sex,
                        muni.code,
                        abroad,
                        abroad_gaiji,
                        address,
                        addr_gaiji,
                        dates[f_day - date_base],
                        managing,
                        f_status,
                        f_kind,
                        f_reason,
                        f_seq,
                        f_stamped,
                        strs,
                    )
                    + f"\t{rid_s}\t{next_stamped}\t{_plus_years(next_stamped[:10], retention)}"
                )
                f_seq += 1
                f_day, f_stamped = next_day, next_stamped
                if kind == "住所の変更":
                    abroad, abroad_gaiji = foreign_address()
                    f_reason, f_kind = "住所の変更", "2"
                else:
                    f_reason = "死亡" if r() < 0.5 else "附票消除" if r() < 0.7 else "職権消除"
                    f_status, f_kind = "1", "3"
            fuhyo_lines.append(
                _fuhyo_line(
                    rid,
                    code,
                    name,
                    birth_iso,
                    sex,
                    muni.code,
                    abroad,
                    abroad_gaiji,
                    address,
                    addr_gaiji,
                    dates[f_day - date_base],
                    managing,
                    f_status,
                    f_kind,
                    f_reason,
                    f_seq,
                    f_stamped,
                    strs,
                )
            )

    return Chunk(
        index=index,
        residents=_joined(res_lines),
        history=_joined(hist_lines),
        fuhyo=_joined(fuhyo_lines),
        fuhyo_history=_joined(fuhyo_hist_lines),
        counts=(len(res_lines), len(hist_lines), len(fuhyo_lines), len(fuhyo_hist_lines)),
    )


def _pick(table: tuple[tuple[str, float], ...], y: float) -> str:
    for value, share in table:
        y -= share
        if y < 0:
            return value
    return table[-1][0]


def _joined(lines: list[str]) -> str:
    return "\n".join(lines) + "\n" if lines else ""


def _fuhyo_line(
    fid,
    code,
    name,
    birth_iso,
    sex,
    muni_code,
    abroad,
    abroad_gaiji,
    last,
    last_gaiji,
    changed,
    managing,
    status,
    kind,
    reason,
    seq,
    stamped,
    strs,
) -> str:
    ngc = name[3]
    pattern = ("1" if ngc else "0") + ("1" if abroad_gaiji else "0") + ("1" if last_gaiji else "0")
    return "\t".join(
        (
            str(fid),
            code,
            "",
            name[0],
            strs[ngc],
            name[1],
            name[2],
            birth_iso,
            sex,
            muni_code,
            abroad,
            strs[abroad_gaiji],
            last,
            strs[last_gaiji],
            changed,
            managing,
            status,
            kind,
            "f" if pattern == "000" else "t",
            pattern,
            reason,
            strs[seq],
            stamped,
        )
    )


# --- loading ------------------------------------------------------------------------------

TABLES = ("honnin_resident", "honnin_resident_history", "fuhyo_record", "fuhyo_history")
_TABLE_COLUMNS = dict(
    zip(TABLES, (RESIDENT_COLUMNS, RESIDENT_HISTORY_COLUMNS, FUHYO_COLUMNS, FUHYO_HISTORY_COLUMNS), strict=True)
)


def copy_chunk(cursor, chunk: Chunk) -> None:
    """COPY one chunk's text into the four tables (parents before children for the FKs)."""
    for table, text in zip(TABLES, (chunk.residents, chunk.history, chunk.fuhyo, chunk.fuhyo_history), strict=True):
        if not text:
            continue
        columns = ", ".join(_TABLE_COLUMNS[table])
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            copy.write(text.encode())


@dataclass
class LoadResult:
    residents: int = 0
    history: int = 0
    fuhyo: int = 0
    fuhyo_history: int = 0
    seconds_rows: float = 0.0
    seconds_indexes: float = 0.0
    seconds_analyze: float = 0.0
    seconds_total: float = 0.0
    workers: int = 1

    def add(self, counts: tuple[int, int, int, int]) -> None:
        self.residents += counts[0]
        self.history += counts[1]
        self.fuhyo += counts[2]
        self.fuhyo_history += counts[3]


class Progress:
    """Rows done / total, rate and ETA on a stream, at most once a second."""

    def __init__(self, total: int, stream: TextIO | None, interval: float = 1.0) -> None:
        self.total, self.stream, self.interval = total, stream, interval
        self.started = self.last = time.monotonic()

    def update(self, done: int, *, force: bool = False) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        eta = (self.total - done) / rate if rate > 0 else 0.0
        self.stream.write(
            f"本人確認情報 {done:,} / {self.total:,} 行  {rate:,.0f} 行/秒  "
            f"経過 {_mmss(elapsed)}  残り約 {_mmss(eta)}\n"
        )
        self.stream.flush()

    def note(self, message: str) -> None:
        if self.stream is not None:
            self.stream.write(message + "\n")
            self.stream.flush()


def _mmss(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 60}分{seconds % 60:02d}秒"


def _table_has_rows(cursor, table: str) -> bool:
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")  # noqa: S608 - table names are constants
    return cursor.fetchone()[0]


def _deferred_indexes():
    """(model, index or unique constraint) from the models' Meta: dropped for the load, built after.

    Building a B-tree from sorted data once is far cheaper than millions of random inserts
    (measured: COPY into honnin_resident runs at about 29k rows/s with every index, 65k
    with only the unique ones, 120k with only the primary key). The unique constraints go
    too: the generator makes 住民票コード and 個人番号 unique by construction, and adding the
    constraints back verifies it. The primary keys stay (the history FKs need them).
    """
    from django.db.models import UniqueConstraint

    for model, _columns in _models():
        for index in model._meta.indexes:
            yield model, index
        for constraint in model._meta.constraints:
            if isinstance(constraint, UniqueConstraint):
                yield model, constraint


def _existing_indexes(cursor, table: str) -> set[str]:
    # A unique constraint is backed by an index of the same name, so this lists both kinds.
    cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s", [table])
    return {row[0] for row in cursor.fetchall()}


def _drop_deferred_indexes() -> None:
    from django.db.models import Index

    with connection.cursor() as cursor, connection.schema_editor(atomic=False) as editor:
        for model, item in _deferred_indexes():
            if item.name in _existing_indexes(cursor, model._meta.db_table):
                if isinstance(item, Index):
                    editor.remove_index(model, item)
                else:
                    editor.remove_constraint(model, item)


def _create_deferred_indexes() -> None:
    from django.db.models import Index

    with connection.cursor() as cursor, connection.schema_editor(atomic=False) as editor:
        for model, item in _deferred_indexes():
            if item.name not in _existing_indexes(cursor, model._meta.db_table):
                if isinstance(item, Index):
                    editor.add_index(model, item)
                else:
                    editor.add_constraint(model, item)


def _prepare(replace: bool) -> None:
    with connection.cursor() as cursor:
        if replace:
            cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
        else:
            filled = [t for t in TABLES if _table_has_rows(cursor, t)]
            if filled:
                raise NotEmptyError(
                    f"本人確認情報ファイル・附票本人確認情報ファイルに既にデータがあります（{', '.join(filled)}）。"
                    "置き換える場合は --replace を指定してください。"
                )
    _drop_deferred_indexes()


@contextmanager
def _foreign_keys_checked_now(cursor):
    """Runs the history tables' deferred FK checks now, and defers them again afterwards.

    Django creates foreign keys DEFERRABLE INITIALLY DEFERRED; when the rows were COPYed in
    this same transaction (one worker), their pending checks would make CREATE INDEX refuse
    ("pending trigger events").
    """
    cursor.execute(
        "SELECT quote_ident(conname) FROM pg_constraint WHERE contype = 'f' AND condeferred"
        " AND conrelid = ANY (%s::regclass[])",
        [list(TABLES)],
    )
    names = ", ".join(row[0] for row in cursor.fetchall())
    if names:
        cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
    try:
        yield
    finally:
        if names:
            cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")


def _finish(plan: Plan, result: LoadResult, progress: Progress) -> None:
    started = time.monotonic()
    progress.note("索引を作成しています…")
    with transaction.atomic(), connection.cursor() as cursor:
        _tune(cursor, plan)
        with _foreign_keys_checked_now(cursor):
            _create_deferred_indexes()
        for table in TABLES:
            # The ids were given explicitly; the next one the application takes must follow them.
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE(max(id), 1), count(*) > 0) FROM {table}",  # noqa: S608
                [table],
            )
    result.seconds_indexes = time.monotonic() - started
    started = time.monotonic()
    progress.note("統計情報を更新しています（ANALYZE）…")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(TABLES)}")
    result.seconds_analyze = time.monotonic() - started


def _can_use_lz4_wal() -> bool:
    """Whether wal_compression can be switched to lz4 here (a superuser setting, a build option)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL wal_compression = lz4")
    except DatabaseError:
        return False
    return True


def _tune(cursor, plan: Plan) -> None:
    """Transaction-local settings for bulk writing.

    synchronous_commit off: a lost last chunk after a crash only means running the load
    again. wal_compression lz4: the dev cluster compresses full-page images with pglz, which
    made the index builds take 1.6 times as long on 2 cores (measured: 11.6 s against 8.0 s
    for 1 M rows); lz4 keeps the WAL small at a fraction of the CPU.
    """
    cursor.execute("SET LOCAL synchronous_commit = off")
    if plan.lz4_wal:
        cursor.execute("SET LOCAL wal_compression = lz4")


# Worker processes inherit the plan through fork.
_WORKER_PLAN: Plan | None = None


def _forget_inherited_connections() -> None:
    """In a forked worker: drop every database connection object inherited from the parent
    without closing it (closing would end the parent's session on the shared socket)."""
    for conn in connections.all(initialized_only=True):
        conn.connection = None
        conn.in_atomic_block = False
        conn.savepoint_ids = []
        conn.needs_rollback = False


def _worker_chunk(index: int) -> tuple[int, tuple[int, int, int, int]]:
    assert _WORKER_PLAN is not None
    chunk = generate_chunk(_WORKER_PLAN, index)
    with transaction.atomic(), connection.cursor() as cursor:
        _tune(cursor, _WORKER_PLAN)
        copy_chunk(cursor, chunk)
    return index, chunk.counts


def load_prefecture(
    *,
    residents: int,
    seed: int = 1,
    workers: int | None = None,
    replace: bool = False,
    as_of: dt.date | None = None,
    progress_stream: TextIO | None = None,
    keyring: Keyring | None = None,
) -> LoadResult:
    """Generate and load the synthetic prefecture (module docstring); returns counts and timings.

    With one worker everything runs on the caller's connection, inside the caller's
    transaction if there is one. With more, the workers commit chunk by chunk on their own
    connections, so the caller must not be inside a transaction.
    """
    global _WORKER_PLAN
    if residents < 1:
        raise ValueError("residents must be at least 1")
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    workers = max(1, workers)
    _check_columns()
    from django.utils import timezone

    plan = build_plan(residents=residents, seed=seed, as_of=as_of or timezone.localdate(), keyring=keyring)
    workers = min(workers, plan.chunks)
    if workers > 1 and connection.in_atomic_block:
        raise RuntimeError("a multi-process load cannot run inside a transaction; use workers=1")
    result = LoadResult(workers=workers)
    progress = Progress(residents, progress_stream)
    started = time.monotonic()

    if workers == 1:
        with transaction.atomic():
            plan.lz4_wal = _can_use_lz4_wal()
            _prepare(replace)
            with connection.cursor() as cursor:
                _tune(cursor, plan)
                for index in range(plan.chunks):
                    chunk = generate_chunk(plan, index)
                    copy_chunk(cursor, chunk)
                    result.add(chunk.counts)
                    progress.update(result.residents)
            progress.update(result.residents, force=True)
            result.seconds_rows = time.monotonic() - started
            _finish(plan, result, progress)
    else:
        plan.lz4_wal = _can_use_lz4_wal()
        with transaction.atomic():
            _prepare(replace)
        connections.close_all()  # no connection may cross the fork
        _WORKER_PLAN = plan
        try:
            context = multiprocessing.get_context("fork")
            with context.Pool(workers, initializer=_forget_inherited_connections) as pool:
                for _index, counts in pool.imap_unordered(_worker_chunk, range(plan.chunks)):
                    result.add(counts)
                    progress.update(result.residents)
                pool.close()
                pool.join()
        except BaseException:
            # Leave the schema whole even when the load stopped half-way.
            _create_deferred_indexes()
            raise
        finally:
            _WORKER_PLAN = None
        progress.update(result.residents, force=True)
        result.seconds_rows = time.monotonic() - started
        _finish(plan, result, progress)
    result.seconds_total = time.monotonic() - started
    progress.note(
        f"完了: 本人確認情報 {result.residents:,} 行（履歴 {result.history:,} 行）、"
        f"附票本人確認情報 {result.fuhyo:,} 行（履歴 {result.fuhyo_history:,} 行）、"
        f"{result.seconds_total:.1f} 秒（行 {result.seconds_rows:.1f} / 索引 {result.seconds_indexes:.1f} / "
        f"ANALYZE {result.seconds_analyze:.1f}）"
    )
    return result


def main_for_profiling(argv: list[str] | None = None) -> None:  # pragma: no cover - a developer tool
    """``python -m jukinet.synth.generator N``: generate N rows without a database, for profiling."""
    import django

    django.setup()
    n = int((argv or sys.argv[1:] or ["50000"])[0])
    plan = build_plan(residents=n, seed=1, as_of=dt.date(2026, 1, 1))
    started = time.monotonic()
    for index in range(plan.chunks):
        generate_chunk(plan, index)
    elapsed = time.monotonic() - started
    print(f"{n:,} rows generated in {elapsed:.2f} s ({n / elapsed:,.0f} rows/s, one process)")


if __name__ == "__main__":  # pragma: no cover
    main_for_profiling()
