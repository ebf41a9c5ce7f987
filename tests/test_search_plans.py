"""Every 4情報 search shape has an index that can serve it (docs/search.md).

The count and the page statements of each shape are built the way the search page builds them
(SearchForm → jukinet.four_info → the file's selectors → jukinet/record_access.py) and
EXPLAINed with ``enable_seqscan = off``: the planner then takes an index whenever one can
answer the WHERE clause, so a Seq Scan here means no index can (a query shape that fell off
its index, or a missing index). bench/search.py measures the same statements on the full
prefecture.
"""

import datetime as dt
import json

import pytest
from django.db import connection, transaction

from jukinet.forms_records import SearchForm
from jukinet.four_info import MAX_HITS
from jukinet.record_access import LIST_FIELDS, PAGE_SIZE
from jukinet.record_files import record_file
from tests.people import make_fuhyo, make_resident

pytestmark = pytest.mark.django_db

TABLES = {"honnin": "honnin_resident", "fuhyo": "fuhyo_record"}

# What an operator types for each shape of bench/search.py; each finds a row of ``rows`` below.
SHAPES = {
    "a-kana-name-birth-date": ("honnin", {"name_kana": "さとう たろう", "birth_date": "1985-03-01"}),
    "b-kana-surname-month-sex": ("honnin", {"name_kana": "サトウ", "birth_date": "1985-03", "sex": "1"}),
    "c-kanji-name-no-space-year": ("honnin", {"name": "佐藤太郎", "birth_date": "1985"}),
    "d-kanji-prefix-address": ("honnin", {"name": "佐藤", "kanji_prefix": "on", "address": "川越市"}),
    "e-birth-date-address": ("honnin", {"birth_date": "昭和60年3月1日", "address": "川越市"}),
    "f-former-surname-sex": ("honnin", {"name_kana": "すずき はなこ", "sex": "2", "include_former": "on"}),
    "g-fuhyo-kana-year": ("fuhyo", {"name_kana": "さとう はなこ", "birth_date": "1990年"}),
    "a-with-removed": ("honnin", {"name_kana": "さとう たろう", "birth_date": "1985-03-01", "include_removed": "on"}),
    "g-fuhyo-with-removed": ("fuhyo", {"name_kana": "サトウ ハナコ", "birth_date": "1990", "include_removed": "on"}),
}

SURNAMES = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ")]
GIVEN = [("太郎", "タロウ"), ("花子", "ハナコ"), ("一郎", "イチロウ"), ("和子", "カズコ")]
TOWNS = ["埼玉県川越市元町一丁目", "埼玉県川口市本町二丁目", "埼玉県熊谷市宮町一丁目", "埼玉県所沢市日吉町"]


@pytest.fixture
def rows():
    """About two hundred rows of both files, so the planner has statistics (ANALYZEd)."""
    n = 0
    for (surname, surname_kana), (name, name_kana), town in ((s, g, t) for s in SURNAMES for g in GIVEN for t in TOWNS):
        for k in range(2):
            n += 1
            make_resident(
                name=f"{surname}\u3000{name}",
                name_kana=f"{surname_kana}\u3000{name_kana}",
                birth_date=dt.date(1950 + n % 50, 1 + n % 12, 1 + n % 28),
                sex="2" if name in ("花子", "和子") else "1",
                address=f"{town}{k + 1}番{n % 20 + 1}号",
                deleted=n % 17 == 0,
                change_reason="死亡" if n % 17 == 0 else "転入",
                former_surname="鈴木" if n % 9 == 0 else "",
                former_surname_kana="スズキ" if n % 9 == 0 else "",
            )
    make_resident(name="佐藤\u3000太郎", name_kana="サトウ\u3000タロウ", birth_date=dt.date(1985, 3, 1))
    make_resident(
        name="高橋\u3000花子",
        name_kana="タカハシ\u3000ハナコ",
        sex="2",
        former_surname="鈴木",
        former_surname_kana="スズキ",
    )
    for (surname, surname_kana), (name, name_kana) in ((s, g) for s in SURNAMES for g in GIVEN):
        for year in (1960, 1990):
            make_fuhyo(
                name=f"{surname}\u3000{name}",
                name_kana=f"{surname_kana}\u3000{name_kana}",
                birth_date=dt.date(year, 6, 1),
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE honnin_resident")
        cursor.execute("ANALYZE fuhyo_record")


def statements(file: str, typed: dict) -> tuple[int, list[tuple[str, str, list]]]:
    """The count and the page statements of a search, exactly as the ORM sends them."""
    rf = record_file(file)
    form = SearchForm({"purpose": "disclosure", "reference": "", **typed}, record_file=rf)
    assert form.is_valid(), form.errors
    assert form.conditions is not None
    matches = rf.search(form.conditions)
    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, list(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        total = matches.order_by()[: MAX_HITS + 1].count()
    fields = (*LIST_FIELDS, *(("deleted",) if file == "honnin" else ("status",)))
    page_sql, page_params = matches.only(*fields)[0:PAGE_SIZE].query.sql_with_params()
    return total, [("count", *captured[-1]), ("page", page_sql, list(page_params))]


def scan_nodes(node: dict, parent: str = "") -> list[dict]:
    """Every scan of the plan, each with the node type of its parent under ``"parent"``."""
    found = [{**node, "parent": parent}] if "Scan" in node["Node Type"] else []
    for child in node.get("Plans", []):
        found += scan_nodes(child, node["Node Type"])
    return found


def plan_without_seqscan(sql: str, params: list) -> dict:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        value = cursor.fetchone()[0]
    return (json.loads(value) if isinstance(value, str) else value)[0]["Plan"]


def leading_columns(table: str) -> dict[str, str]:
    """Index name → its first key column, for the indexes of ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, a.attname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] "
            "WHERE x.indrelid = %s::regclass",
            [table],
        )
        return dict(cursor.fetchall())


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_search_shape_is_served_by_an_index(rows, shape):
    file, typed = SHAPES[shape]
    table = TABLES[file]
    leading = leading_columns(table)
    total, stmts = statements(file, typed)
    assert 0 < total <= MAX_HITS, "the shape should find the rows made for it"
    for kind, sql, params in stmts:
        nodes = scan_nodes(plan_without_seqscan(sql, params))
        text = "; ".join(f"{n['Node Type']} {n.get('Index Name') or n.get('Relation Name')}" for n in nodes)
        assert not any(n["Node Type"] == "Seq Scan" and n.get("Relation Name") == table for n in nodes), (
            f"{shape} {kind}: Seq Scan on {table} ({text})"
        )
        used = [n for n in nodes if n.get("Index Name") in leading]
        assert used, f"{shape} {kind}: no index of {table} in the plan ({text})"
        bounded = [n for n in used if leading[n["Index Name"]] in (n.get("Index Cond") or "")]
        assert bounded, f"{shape} {kind}: no index read with a bound on its leading column ({text})"
        for node in used:
            # An index that narrows: its condition bounds the leading column. A condition on a
            # later column only (sex in (birth_date, sex)) reads the whole index instead of the table
            # — fatal as the only path or as an arm of an OR (the 旧氏 arm once was); an extra
            # filter ANDed to a bounded path is a tiny-table planner choice, not a table read.
            if node["parent"] == "BitmapAnd":
                continue
            column = leading[node["Index Name"]]
            assert column in (node.get("Index Cond") or ""), (
                f"{shape} {kind}: {node['Index Name']} read without a bound on {column} ({text})"
            )
