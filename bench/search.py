"""4情報 search: the query plans, the bare SQL time and the time through the HTTP stack.

    .venv/bin/python bench/search.py [--iterations 100] [--seed 1] [--allow-small]

Against the development database of the settings, which must hold the full prefecture
(``bench/load.py --residents 7300000``; ``--allow-small`` runs on fewer rows, for trying the
script out). Nothing in the files is changed; the searches are logged like any other.

1. Targets: real rows, drawn with ``TABLESAMPLE SYSTEM … REPEATABLE (seed)`` (one row per
   sampled page), turned into what an operator types for each search shape (SHAPES below).
   The typed form goes through the real ``SearchForm`` (build_conditions, the narrowness rule)
   and the real selectors, exactly like the page.
2. Plans: the two statements a search page runs (jukinet/record_access.py: the COUNT capped at
   MAX_HITS + 1, then one page of PAGE_SIZE rows, only when 1..MAX_HITS matched), captured as
   the ORM sends them, EXPLAIN (ANALYZE, BUFFERS)ed for every target; the scan nodes of the
   first target are printed with a tally of the plan shapes over all targets. A Seq Scan on
   honnin_resident or fuhyo_record, or an index read with no bound on its leading column (a
   whole index in place of the table), is flagged and makes the script exit 1 at the end.
3. Bare SQL: the same statements and parameters over a plain psycopg connection with
   client-side binding (as Django's backend sends them), one target after another.
4. HTTP: gunicorn (2 workers, the project's settings) on a free loopback port; a bench
   operator (login id ``bench-search``, 業務担当者, both file duties) and an enrolled terminal
   made through audit.services; the login a browser does (GET /login, POST the password,
   POST the TOTP code, terminal cookie); then each search as a browser sends it: POST
   /<file>/search/, answered with the result page (one round trip). One client, sequential.
   Every answer must be 200 and show the result line (件（かな順） / 該当する記録はありません /
   件を超えました), and the count shown must equal the bare SQL count. The operator and the
   terminal are deleted at the end (left in place, and said so, if the database refuses).
5. A table per shape: hits, bare SQL p50/p95 (count + page), HTTP p50/p95 (the search POST at
   the client), gunicorn's own time for them (its access log, var/bench-search-web.log), the
   ratio of the p95s; and the aims of DESIGN.md §8: p95 under 50 ms through the HTTP stack, at
   most 3× the bare SQL time. docs/search.md has the figures and how to read them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings")

import django

django.setup()

import httpx
import jaconv
import psycopg
from django.conf import settings
from django.db import connection

from audit.models import Operator, Terminal
from audit.services import operator_create_demo, terminal_enrol, terminal_register_direct
from jukinet.forms_records import SearchForm
from jukinet.four_info import MAX_HITS
from jukinet.record_access import LIST_FIELDS, PAGE_SIZE
from jukinet.record_files import RecordFile, record_file
from jukinet.selectors_notices import municipality_names
from jukinet.wareki import to_wareki

logging.getLogger("httpx").setLevel(logging.WARNING)

VENV_BIN = Path(sys.executable).parent
FULL_PREFECTURE = 7_000_000
LOGIN_ID = "bench-search"
TABLES = ("honnin_resident", "fuhyo_record")
ACCESS_TAG = "BENCH-ACCESS"
RESULT_TEXT = re.compile(r"(\d+)件（かな順）|(該当する記録はありません)|(件を超えました)")
AIM_P95_MS = 50.0
AIM_RATIO = 3.0


# --- Search shapes: what an operator types, from one real row ------------------------------


def hira(kana: str) -> str:
    """Katakana as stored (with U+3000) → hiragana with an ASCII space, as typed."""
    return jaconv.kata2hira(kana).replace("\u3000", " ")


def surname(text: str) -> str:
    return text.split("\u3000")[0]


def given(text: str) -> str:
    return text.split("\u3000")[-1]


def municipality_typed(row: dict) -> str | None:
    """The municipality part of the address (e.g. 「川口市」), typed without the prefecture."""
    name = municipality_names().get(row["municipality_code"], "")
    if name and row["address"].startswith(settings.PREFECTURE_NAME + name):
        return name
    return None


def shape_a(row: dict) -> dict | None:
    return {"name_kana": hira(row["name_kana"]), "birth_date": row["birth_date"].isoformat()}


def shape_b(row: dict) -> dict | None:
    return {
        "name_kana": surname(row["name_kana"]),
        "birth_date": row["birth_date"].strftime("%Y-%m"),
        "sex": row["sex"],
    }


def shape_c(row: dict) -> dict | None:
    return {"name": row["name"].replace("\u3000", ""), "birth_date": str(row["birth_date"].year)}


def shape_d(row: dict) -> dict | None:
    town = municipality_typed(row)
    if town is None or "\u3000" not in row["name"] or len(surname(row["name"])) < 2:
        return None
    return {"name": surname(row["name"]), "kanji_prefix": "on", "address": town}


def shape_e(row: dict) -> dict | None:
    town = municipality_typed(row)
    return {"birth_date": to_wareki(row["birth_date"]), "address": town} if town else None


def shape_f(row: dict) -> dict | None:
    if not row["former_surname_kana"]:
        return None
    typed = f"{hira(row['former_surname_kana'])} {hira(given(row['name_kana']))}"
    return {"name_kana": typed, "sex": row["sex"], "include_former": "on"}


def shape_g(row: dict) -> dict | None:
    return {"name_kana": row["name_kana"], "birth_date": f"{row['birth_date'].year}年"}


def shape_h(row: dict) -> dict | None:
    return {**shape_b(row), "include_former": "on"}


@dataclass
class Shape:
    key: str
    label: str
    file: str
    typed: object  # row → form fields, or None when the row does not fit the shape
    sample_where: str = ""  # narrows the rows drawn (e.g. only those with a 旧氏)


SHAPES = [
    Shape("a", "かな氏名（ひらがな・空白あり）+ 生年月日", "honnin", shape_a),
    Shape("b", "かな氏 + 生年月 + 性別", "honnin", shape_b),
    Shape("c", "漢字氏名（空白なし）+ 生年", "honnin", shape_c),
    Shape("d", "漢字氏 前方一致 + 住所（市区町村）", "honnin", shape_d),
    Shape("e", "生年月日（和暦）+ 住所（市区町村）", "honnin", shape_e),
    Shape("f", "旧氏かな + 名 + 性別（旧氏でも検索）", "honnin", shape_f, "former_name_seion <> ''"),
    Shape("g", "附票: かな氏名 + 生年", "fuhyo", shape_g),
    # (b) as the page sends it by default: 「旧氏でも検索する」 starts ticked.
    Shape("h", "(b) + 旧氏でも検索（画面の既定）", "honnin", shape_h),
]


# --- Targets -------------------------------------------------------------------------------

_ROW_COLUMNS = {
    "honnin_resident": "name, name_kana, birth_date, sex, address, municipality_code, former_surname_kana",
    "fuhyo_record": "name, name_kana, birth_date, sex, address, address_municipality_code, ''",
}
_CURRENT = {"honnin_resident": "NOT deleted", "fuhyo_record": "status = '0'"}
_KEYS = ("name", "name_kana", "birth_date", "sex", "address", "municipality_code", "former_surname_kana")


def sample_rows(table: str, *, wanted: int, seed: int, where: str = "") -> list[dict]:
    """At most one row per sampled page (pages, not rows, are what SYSTEM draws), in a seeded order."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpages FROM pg_class WHERE relname = %s", [table])
        pages = max(1, cursor.fetchone()[0])
    percent = min(100.0, 100.0 * 8 * wanted / pages)
    condition = _CURRENT[table] + (f" AND {where}" if where else "")
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT (ctid::text::point)[0]::bigint, {_ROW_COLUMNS[table]} "
                f"FROM {table} TABLESAMPLE SYSTEM (%s) REPEATABLE (%s) WHERE {condition}",
                [percent, seed],
            )
            fetched = cursor.fetchall()
        by_page: dict[int, list] = {}
        for page, *values in fetched:
            by_page.setdefault(page, []).append(dict(zip(_KEYS, values, strict=True)))
        if len(by_page) >= 2 * wanted or percent >= 100.0:
            break
        percent = min(100.0, percent * 4)
    rng = random.Random(seed)
    rows = [rng.choice(by_page[page]) for page in sorted(by_page)]
    rng.shuffle(rows)
    return rows


@dataclass
class Target:
    typed: dict
    count_sql: tuple[str, list]
    page_sql: tuple[str, list]
    hits: int = 0  # capped at MAX_HITS + 1, like the page


@dataclass
class ShapeRun:
    shape: Shape
    targets: list[Target] = field(default_factory=list)
    plans: Counter = field(default_factory=Counter)
    full_reads: Counter = field(default_factory=Counter)
    skipped: int = 0
    sql_ms: list[float] = field(default_factory=list)
    http_ms: list[float] = field(default_factory=list)
    get_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)  # gunicorn's time for the POST + the GET
    mismatches: list[str] = field(default_factory=list)


def form_data(typed: dict) -> dict:
    return {"purpose": "disclosure", "reference": "bench", **typed}


def orm_statements(rf: RecordFile, conditions) -> tuple[int, tuple[str, list], tuple[str, list]]:
    """The count and the page statements as jukinet/record_access.records_search sends them."""
    matches = rf.search(conditions)
    captured: list[tuple[str, list]] = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, list(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        total = matches.order_by()[: MAX_HITS + 1].count()
    fields = (*LIST_FIELDS, *(("deleted",) if rf.key == "honnin" else ("status",)))
    sql, params = matches.only(*fields)[0:PAGE_SIZE].query.sql_with_params()
    return total, captured[-1], (sql, list(params))


def build_targets(run: ShapeRun, rows: list[dict], wanted: int) -> None:
    rf = record_file(run.shape.file)
    for row in rows:
        if len(run.targets) >= wanted:
            return
        typed = run.shape.typed(row)
        if typed is None:
            run.skipped += 1
            continue
        form = SearchForm(form_data(typed), record_file=rf)
        if not form.is_valid() or form.conditions is None:
            run.skipped += 1  # e.g. a one-character surname is too broad for a prefix search
            continue
        total, count_sql, page_sql = orm_statements(rf, form.conditions)
        run.targets.append(Target(typed, count_sql, page_sql, total))


# --- Plans -----------------------------------------------------------------------------------


def runs_page(hits: int) -> bool:
    return 0 < hits <= MAX_HITS


def explain(sql: str, params: list) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        value = cursor.fetchone()[0]
    return (json.loads(value) if isinstance(value, str) else value)[0]


def scan_nodes(node: dict) -> list[dict]:
    found = [node] if "Scan" in node["Node Type"] else []
    for child in node.get("Plans", []):
        found += scan_nodes(child)
    return found


def signature(plan: dict) -> str:
    parts = []
    for node in scan_nodes(plan["Plan"]):
        target = node.get("Index Name") or node.get("Relation Name") or ""
        parts.append(f"{node['Node Type']} {target}".strip())
    return " + ".join(parts)


def describe_node(node: dict) -> str:
    on = node.get("Index Name") or node.get("Relation Name") or ""
    cond = node.get("Index Cond") or node.get("Recheck Cond") or ""
    extra = f"  filter {node['Filter']}" if node.get("Filter") else ""
    return (
        f"{node['Node Type']} on {on}: rows {node.get('Actual Rows', 0)} x{node.get('Actual Loops', 1)}, "
        f"buffers hit {node.get('Shared Hit Blocks', 0)} read {node.get('Shared Read Blocks', 0)}"
        + (f"\n          cond {cond}" if cond else "")
        + (f"\n         {extra}" if extra else "")
    )


def leading_columns() -> dict[str, str]:
    """Index name → its first key column, for the indexes of both files."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, a.attname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] "
            "WHERE x.indrelid IN (%s::regclass, %s::regclass)",
            list(TABLES),
        )
        return dict(cursor.fetchall())


def full_reads(plan: dict, leading: dict[str, str]) -> list[str]:
    """Seq Scans of a file, and index scans with no bound on the index's leading column."""
    found = []
    for node in scan_nodes(plan["Plan"]):
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in TABLES:
            found.append(f"Seq Scan on {node['Relation Name']}")
        index = node.get("Index Name")
        if index in leading and leading[index] not in (node.get("Index Cond") or ""):
            found.append(f"{index} read whole (no bound on {leading[index]})")
    return found


def check_plans(run: ShapeRun, leading: dict[str, str]) -> None:
    print(f"\n({run.shape.key}) {run.shape.label} — {run.shape.file}, {len(run.targets)} targets")
    for i, target in enumerate(run.targets):
        statements = [("count", target.count_sql)]
        if runs_page(target.hits):
            statements.append(("page", target.page_sql))
        for kind, (sql, params) in statements:
            plan = explain(sql, params)
            run.plans[f"{kind}: {signature(plan)}"] += 1
            run.full_reads.update(full_reads(plan, leading))
            if i == 0:
                print(f"  first target, {kind} ({plan['Execution Time']:.2f} ms, {target.hits} hits):")
                for node in scan_nodes(plan["Plan"]):
                    print(f"    {describe_node(node)}")
    print("  plan shapes over all targets:")
    for text, n in run.plans.most_common():
        print(f"    {n:4d} × {text}")
    for text, n in run.full_reads.items():
        print(f"  !! {n} × {text}")


# --- Bare SQL --------------------------------------------------------------------------------


def bare_connection() -> psycopg.Connection:
    params = {**connection.get_connection_params(), "cursor_factory": psycopg.ClientCursor}
    return psycopg.connect(**params, autocommit=True)


def bare_search(cursor, target: Target) -> float:
    started = time.perf_counter()
    cursor.execute(*target.count_sql)
    hits = cursor.fetchone()[0]
    if runs_page(hits):
        cursor.execute(*target.page_sql)
        cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def schedule(runs: list[ShapeRun], iterations: int) -> list[tuple[ShapeRun, Target]]:
    """Round-robin over the shapes, each cycling through its targets (the same order for both)."""
    return [(run, run.targets[i % len(run.targets)]) for i in range(iterations) for run in runs if run.targets]


# --- The HTTP stack --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_web(port: int) -> subprocess.Popen:
    log = open(ROOT / "var" / "bench-search-web.log", "w")  # noqa: SIM115 - lives as long as the process
    argv = [
        str(VENV_BIN / "gunicorn"), "jukinet.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
        "--timeout", "120", "--access-logfile", "-",
        # The server's own time per request (microseconds), tagged with the shape of a timed search.
        "--access-logformat", f"{ACCESS_TAG} %(m)s %({{x-bench}}i)s %(s)s %(D)s",
    ]  # fmt: skip
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "jukinet.settings"}
    # Its own process group: stop_web ends the master and its workers together, whatever happens.
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_web(proc: subprocess.Popen) -> None:
    """SIGINT (gunicorn's quick shutdown) to its process group; SIGKILL if it has not ended in 15 s."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def wait_http(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited at start: see var/bench-search-web.log")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer")


_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_of(response: httpx.Response) -> str:
    match = _CSRF.search(response.text)
    if not match:
        raise SystemExit(f"no CSRF token in {response.request.url} ({response.status_code})")
    return match[1]


@dataclass
class BenchIdentity:
    operator: Operator
    terminal: Terminal
    credential: str
    password: str


def bench_identity() -> BenchIdentity:
    """The bench operator (業務担当者, both files) and a terminal, through audit.services."""
    password = secrets.token_urlsafe(18)
    operator = operator_create_demo(
        login_id=LOGIN_ID,
        roles=["gyomu"],
        password=password,
        full_name="ベンチマーク（bench/search.py）",
        totp_key=secrets.token_hex(20),
    )
    issued = terminal_register_direct(name="bench-search（bench/search.py）", place="ベンチマーク")
    terminal, credential = terminal_enrol(code=issued.enrolment_code)
    return BenchIdentity(operator, terminal, credential, password)


def remove_identity(identity: BenchIdentity) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    try:
        TOTPDevice.objects.filter(user=identity.operator).delete()
        Operator.objects.filter(pk=identity.operator.pk).delete()
        Terminal.objects.filter(pk=identity.terminal.pk).delete()
    except Exception as exc:  # an audit rule may keep identities: then say what is left
        print(
            f"note: bench operator {LOGIN_ID} and terminal {identity.terminal.terminal_id} left in place "
            f"({type(exc).__name__}: {exc})"
        )


def login(http: httpx.Client, identity: BenchIdentity) -> None:
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    http.cookies.set(settings.TERMINAL_COOKIE_NAME, identity.credential)
    page = http.get("/login")
    answer = http.post(
        "/login",
        data={"login_id": LOGIN_ID, "password": identity.password, "next": "", "csrfmiddlewaretoken": csrf_of(page)},
    )
    if answer.status_code != 302 or not answer.headers["location"].endswith("/login/otp"):
        raise SystemExit(f"password step failed: {answer.status_code}")
    page = http.get("/login/otp")
    device = TOTPDevice.objects.get(user=identity.operator)
    token = f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"
    answer = http.post("/login/otp", data={"token": token, "csrfmiddlewaretoken": csrf_of(page)})
    if answer.status_code != 302:
        raise SystemExit(f"TOTP step failed: {answer.status_code}")


def http_search(
    http: httpx.Client, csrf: dict, run: ShapeRun, target: Target, *, tag: str = "-"
) -> tuple[float, float, int]:
    """POST the form: the answer carries the result page (one round trip); (total ms, same, hits)."""
    path = f"/{run.shape.file}/search/"
    data = {**form_data(target.typed), "csrfmiddlewaretoken": csrf[run.shape.file]}
    headers = {"X-Bench": tag}
    started = time.perf_counter()
    page = http.post(path, data=data, headers=headers)
    done = time.perf_counter()
    match = RESULT_TEXT.search(page.text) if page.status_code == 200 else None
    if match is None:
        raise SystemExit(f"({run.shape.key}) POST {path} answered {page.status_code} without a result line")
    hits = int(match[1]) if match[1] else (0 if match[2] else MAX_HITS + 1)
    return (done - started) * 1000, (done - started) * 1000, hits


def server_times(runs: list[ShapeRun]) -> None:
    """gunicorn's own time for each timed search POST (var/bench-search-web.log), per shape."""
    posts: dict[str, list[float]] = {}
    gets: dict[str, list[float]] = {}
    for line in (ROOT / "var" / "bench-search-web.log").read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == ACCESS_TAG and parts[2] != "-":
            (posts if parts[1] == "POST" else gets).setdefault(parts[2], []).append(int(parts[4]) / 1000)
    for run in runs:
        key = run.shape.key
        run.server_ms = posts.get(key, [])


# --- Report ----------------------------------------------------------------------------------


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def hits_text(hits: list[int]) -> str:
    median = statistics.median_low(hits)
    return f">{MAX_HITS}" if median > MAX_HITS else str(median)


def report(runs: list[ShapeRun]) -> tuple[float, float]:
    print("\n== Timings (ms) ==")
    for run in runs:
        print(f"  ({run.shape.key}) {run.shape.label} [{run.shape.file}]")
    head = ("shape", "n", "hits", ">1000", "0", "SQL p50", "SQL p95", "HTTP p50", "HTTP p95", "srv p95", "ratio")
    widths = (7, 5, 6, 6, 4, 8, 8, 9, 9, 8, 7)
    print("".join(f"{h:>{w}}" for h, w in zip(head, widths, strict=True)))

    def line(label: str, n: int, hits: str, over: str, zero: str, sql, http, server) -> None:
        cells = (
            label, str(n), hits, over, zero, f"{pct(sql, 50):.2f}", f"{pct(sql, 95):.2f}", f"{pct(http, 50):.2f}",
            f"{pct(http, 95):.2f}", f"{pct(server, 95):.2f}", f"{pct(http, 95) / pct(sql, 95):.2f}",
        )  # fmt: skip
        print("".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)))

    for run in runs:
        hits = [t.hits for t in run.targets]
        over, zero = sum(h > MAX_HITS for h in hits), sum(h == 0 for h in hits)
        line(f"({run.shape.key})", len(run.sql_ms), hits_text(hits), str(over), str(zero),
             run.sql_ms, run.http_ms, run.server_ms)  # fmt: skip
    all_sql = [v for run in runs for v in run.sql_ms]
    all_http = [v for run in runs for v in run.http_ms]
    all_server = [v for run in runs for v in run.server_ms]
    line("all", len(all_sql), "", "", "", all_sql, all_http, all_server)
    print(
        "SQL = count + page (the page only for 1..1000 hits) over plain psycopg; HTTP = the search POST at the "
        "client; srv = gunicorn's own time for that POST; ratio = HTTP p95 / SQL p95; hits = median "
        f"(capped at {MAX_HITS + 1}); >1000 and 0 = targets with that outcome (n each way)"
    )
    p95_http = pct(all_http, 95)
    return p95_http, p95_http / pct(all_sql, 95)


# --- Main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=100, help="timed searches per shape (each way)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the sample and the order")
    parser.add_argument("--allow-small", action="store_true", help="run on fewer than 7 M residents")
    args = parser.parse_args()
    # Ctrl-C and SIGTERM end the run through the finally blocks (gunicorn stopped, operator removed),
    # also when the shell started the script in the background with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM honnin_resident")
        residents = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM fuhyo_record")
        fuhyo = cursor.fetchone()[0]
    print(
        f"machine: {os.cpu_count()} CPUs; database {connection.settings_dict['NAME']} "
        f"(PostgreSQL {connection.pg_version // 10000}); {dt.datetime.now():%Y-%m-%d %H:%M}"
    )
    print(f"honnin_resident: {residents:,} rows; fuhyo_record: {fuhyo:,} rows")
    if residents < FULL_PREFECTURE and not args.allow_small:
        print(f"needs the full prefecture (≥ {FULL_PREFECTURE:,}): bench/load.py --residents 7300000, or --allow-small")
        return 2

    # 1. Targets.
    wanted = max(1, args.iterations)
    runs = [ShapeRun(shape) for shape in SHAPES]
    samples: dict[tuple[str, str], list[dict]] = {}
    for run in runs:
        table = record_file(run.shape.file).model._meta.db_table
        key = (table, run.shape.sample_where)
        if key not in samples:
            samples[key] = sample_rows(table, wanted=wanted * 3, seed=args.seed, where=run.shape.sample_where)
        rows = samples[key][:]
        random.Random(f"{args.seed}-{run.shape.key}").shuffle(rows)
        build_targets(run, rows, wanted)
        over = sum(t.hits > MAX_HITS for t in run.targets)
        print(
            f"targets ({run.shape.key}): {len(run.targets)} from {len(samples[key]):,} sampled rows "
            f"({run.shape.file}; {run.skipped} rows did not fit the shape); {over} over {MAX_HITS} hits"
        )

    # 2. Plans.
    print("\n== Plans: EXPLAIN (ANALYZE, BUFFERS) of the ORM's count and page statements ==")
    leading = leading_columns()
    for run in runs:
        check_plans(run, leading)
    seq_scans = sum(sum(run.full_reads.values()) for run in runs)

    # 3. Bare SQL: one untimed pass over every target (a warm cache for both ways), then timed.
    plan = schedule(runs, args.iterations)
    with bare_connection() as conn, conn.cursor() as cursor:
        for run in runs:
            for target in run.targets:
                bare_search(cursor, target)
        for run, target in plan:
            run.sql_ms.append(bare_search(cursor, target))

    # 4. HTTP.
    port = free_port()
    identity = web = None
    failed = False
    try:
        identity = bench_identity()
        web = start_web(port)
        wait_http(f"http://127.0.0.1:{port}/healthz", web)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            login(http, identity)
            csrf = {}
            for file in ("honnin", "fuhyo"):
                page = http.get(f"/{file}/search/")
                if page.status_code != 200:
                    raise SystemExit(f"GET /{file}/search/ answered {page.status_code} after login")
                csrf[file] = csrf_of(page)
            for run, target in schedule(runs, 10):  # warm-up: both workers, every shape
                http_search(http, csrf, run, target)
            for run, target in plan:
                total_ms, get_ms, shown = http_search(http, csrf, run, target, tag=run.shape.key)
                run.http_ms.append(total_ms)
                run.get_ms.append(get_ms)
                if shown != target.hits:
                    run.mismatches.append(f"{target.typed}: page {shown}, SQL {target.hits}")
            page = http.get("/honnin/search/")
            http.post("/logout", data={"csrfmiddlewaretoken": csrf_of(page)})
    except BaseException:
        failed = True
        raise
    finally:
        if web is not None:
            stop_web(web)
        if identity is not None:
            remove_identity(identity)
        if failed:
            print("stopped: gunicorn ended, bench operator removed")
    server_times(runs)

    # 5. Report.
    p95_http, ratio = report(runs)
    met = "met" if p95_http < AIM_P95_MS else "NOT met"
    print(f"aim p95 < {AIM_P95_MS:.0f} ms through HTTP: {met} ({p95_http:.1f} ms)")
    print(f"aim HTTP p95 ≤ {AIM_RATIO:.0f}× bare SQL p95: {'met' if ratio <= AIM_RATIO else 'NOT met'} ({ratio:.2f}×)")
    mismatches = [m for run in runs for m in run.mismatches]
    for text in mismatches[:10]:
        print(f"!! count shown differs: {text}")
    if seq_scans:
        print(
            f"!! {seq_scans} scan(s) read a whole file or a whole index (Seq Scan or no leading bound; see the plans)"
        )
    return 1 if seq_scans or mismatches else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
