"""整合性確認: a 1.3 M-row municipality set, posted through the HTTP stack and compared by a worker.

    .venv/bin/python bench/consistency.py [--municipality 111007] [--rows 1300000] [--seed 1]

Against the development database (the synthetic prefecture, bench/load.py). The default CS is
さいたま市 (111007): its residents are registered in its ten wards, which together hold about
1.3 M rows — the municipality set DESIGN.md §8 means. What the script does, in order:

1. Builds the CS's set from the file itself (current rows of the municipality, every honnin
   column, the 個人番号 decrypted with the development keyring) into a CSV under var/, and
   perturbs it, seeded: rows with a different address, name, 旧氏 or 個人番号, rows dropped
   (missing there), rows whose code is replaced by a fresh one (missing on both sides, paired by
   4情報), and synthetic rows with fresh codes (missing here) — also as many as it takes to
   reach ``--rows`` when the municipality has fewer current rows. It prints exactly what it did.
2. The machine's own limit, beside the figure: a bare ``COPY … (FORMAT csv)`` of the same file
   into a temporary table of text columns, and the bare comparison SQL on it (one statement per
   kind, without the 個人番号, which only the application can hash).
3. Starts gunicorn (1 sync worker) and a Celery worker (solo pool) on a private Redis database
   of their own, issues a bench CS client, POSTs the file streamed (Content-Length set, read in
   1 MiB pieces), waits until the check is done, and prints the total seconds (upload + compare),
   the phases, the counts against what it planted, and the peak RSS (VmHWM) of the web worker
   process and of the Celery worker. Aims: under 60 s and under 500 MB.
4. Cleans up: deletes its check (and with it the differences), drops a staging table if one is
   left, revokes and deletes the bench client, removes the CSV. The access-log entries stay (the
   log is append-only).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings")

import django

django.setup()

import httpx
import psycopg
from django.conf import settings
from django.db import connection

from audit.models import MachineClient
from audit.services import client_issue_direct
from honnin.consistency import SPEC
from honnin.my_number import open_my_number
from jukinet import consistency_stage
from jukinet.codes import generate_juminhyo_code, generate_my_number
from jukinet.consistency import municipality_scope
from jukinet.crypto import get_keyring
from jukinet.models import ConsistencyCheck
from jukinet.selectors_notices import municipality_name

VENV_BIN = Path(sys.executable).parent
AIM_SECONDS = 60.0
AIM_MB = 500.0
COLUMNS = [c.name for c in SPEC.columns]
BENCH_REDIS_DB = 13
CHUNK = 1024 * 1024
PERTURB = {  # kind → how many rows
    "address": 1000,
    "name": 300,
    "former_surname": 200,
    "my_number": 500,
    "dropped": 1000,  # missing there
    "code_changed": 200,  # missing on both sides, pairable by 4情報
    "extra": 1000,  # missing here
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_broker() -> str:
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis+socket://"):
        return f"{url.split('?', 1)[0]}?virtual_host={BENCH_REDIS_DB}"
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(url)._replace(path=f"/{BENCH_REDIS_DB}"))


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set size, as the kernel counts it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return float("nan")


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


# --- 1. The CS's set -------------------------------------------------------------------------------


def build_set(path: Path, scope: list[str], rows_wanted: int, rng: random.Random) -> tuple[dict, int]:
    """Write the CS's CSV; return what was planted (kind → count) and the number of data rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM honnin_resident WHERE municipality_code = ANY(%s) AND NOT deleted", [scope]
        )
        current = cursor.fetchone()[0]
    if current < 1000:
        raise SystemExit(f"only {current} current rows in {scope}: load the synthetic prefecture first")
    extra = max(PERTURB["extra"], rows_wanted - current + PERTURB["dropped"])
    picks = rng.sample(range(current), sum(v for k, v in PERTURB.items() if k not in ("extra",)))
    plan: dict[int, str] = {}
    at = 0
    for kind in ("address", "name", "former_surname", "my_number", "dropped", "code_changed"):
        for index in picks[at : at + PERTURB[kind]]:
            plan[index] = kind
        at += PERTURB[kind]
    fresh = iter(fresh_codes(extra + PERTURB["code_changed"], rng))
    keyring = get_keyring()
    select = ", ".join(
        ["juminhyo_code", *(c.here_column if c.name != "my_number" else "my_number" for c in SPEC.columns[1:])]
    )
    planted = dict.fromkeys(PERTURB, 0)
    written = 0
    template = None
    with open(path, "w", encoding="utf-8", newline="") as f, connection.chunked_cursor() as cursor:
        out = csv.writer(f, lineterminator="\r\n")
        out.writerow(COLUMNS)
        cursor.execute(
            f"SELECT {select} FROM honnin_resident WHERE municipality_code = ANY(%s) AND NOT deleted",
            [scope],
        )
        index = 0
        while batch := cursor.fetchmany(20000):
            for values in batch:
                row = dict(zip(COLUMNS, values, strict=True))
                blob = row["my_number"]
                row["my_number"] = open_my_number(row["juminhyo_code"], bytes(blob), keyring=keyring) if blob else ""
                kind = plan.get(index)
                index += 1
                if template is None:
                    template = dict(row)
                if kind == "dropped":
                    planted[kind] += 1
                    continue
                if kind == "address":
                    row["address"] = row["address"][:240] + "（相違）"
                elif kind == "name":
                    row["name"] = row["name"][:110] + "（相違）"
                elif kind == "former_surname":
                    row["former_surname"] = (row["former_surname"] or "") + "旧"
                elif kind == "my_number":
                    row["my_number"] = generate_my_number(rng)
                elif kind == "code_changed":
                    row["juminhyo_code"] = next(fresh)
                if kind:
                    planted[kind] += 1
                out.writerow([_cell(row[c]) for c in COLUMNS])
                written += 1
        for n in range(extra):
            row = dict(template, juminhyo_code=next(fresh), name=f"架空　{n}", my_number="")
            out.writerow([_cell(row[c]) for c in COLUMNS])
            written += 1
        planted["extra"] = extra
    return {"current rows of the municipality": current, **planted}, written


def fresh_codes(n: int, rng: random.Random) -> list[str]:
    """n distinct valid 住民票コード that the file does not hold (≈ 1 in 1,400 random ones does)."""
    codes: set[str] = set()
    while len(codes) < n:
        wanted = {generate_juminhyo_code(rng) for _ in range(n - len(codes))} - codes
        with connection.cursor() as cursor:
            cursor.execute("SELECT juminhyo_code FROM honnin_resident WHERE juminhyo_code = ANY(%s)", [sorted(wanted)])
            wanted -= {row[0] for row in cursor.fetchall()}
        codes |= wanted
    return sorted(codes, key=lambda _: rng.random())


def _cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# --- 2. The machine's limit -------------------------------------------------------------------------


def bare_limits(path: Path, scope: list[str]) -> dict[str, float]:
    params = {**connection.get_connection_params()}
    columns = ", ".join(f"{c} text" for c in COLUMNS)
    text_items = [c.name for c in SPEC.columns[1:] if c.name not in ("my_number",)]
    casts = {c.name: f"t.{c.name}::{c.sql_type}" for c in SPEC.columns}
    differs = " OR ".join(f"{casts[n]} IS DISTINCT FROM r.{n}" for n in text_items)
    result = {}
    with psycopg.connect(**params, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE bench_set ({columns})")
        started = time.perf_counter()
        with open(path, "rb") as f, cursor.copy("COPY bench_set FROM STDIN (FORMAT csv, HEADER true)") as copy:
            while data := f.read(CHUNK):
                copy.write(data)
        result["bare COPY (FORMAT csv) into a temp table"] = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute("ANALYZE bench_set")
        cursor.execute(
            f"SELECT count(*) FILTER (WHERE r.juminhyo_code IS NULL),"
            f" count(*) FILTER (WHERE r.juminhyo_code IS NOT NULL AND ({differs}))"
            f" FROM bench_set t LEFT JOIN honnin_resident r ON r.juminhyo_code = t.juminhyo_code"
            f" AND r.municipality_code = ANY(%s) AND NOT r.deleted",
            [scope],
        )
        cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM honnin_resident r WHERE r.municipality_code = ANY(%s) AND NOT r.deleted"
            " AND NOT EXISTS (SELECT 1 FROM bench_set t WHERE t.juminhyo_code = r.juminhyo_code)",
            [scope],
        )
        cursor.fetchone()
        result["bare comparison SQL (join + anti-join, no 個人番号)"] = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_set")
    return result


# --- 3. Through the HTTP stack -----------------------------------------------------------------------


def start(name: str, argv: list[str], env: dict) -> subprocess.Popen:
    log = open(ROOT / "var" / f"bench-consistency-{name}.log", "w")  # noqa: SIM115 - lives with the process
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def wait_http(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited at start: see var/bench-consistency-web.log")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer")


def wait_worker(app, hostname: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the Celery worker exited at start: see var/bench-consistency-worker.log")
        if any(hostname.split("@")[0] in name for reply in app.control.ping(timeout=1.0) for name in reply):
            return
    raise SystemExit("the Celery worker did not answer a ping")


def file_chunks(path: Path):
    with open(path, "rb") as f:
        while data := f.read(CHUNK):
            yield data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--municipality", default="111007", help="the CS (さいたま市 by default: its ten wards)")
    parser.add_argument("--rows", type=int, default=1_300_000, help="rows in the CS's set (at least)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    scope = sorted(municipality_scope(args.municipality))
    path = ROOT / "var" / f"bench-consistency-{os.getpid()}.csv"
    print(
        f"CS: {municipality_name(args.municipality)} ({args.municipality}); rows of municipalities {', '.join(scope)}"
    )

    started = time.perf_counter()
    planted, rows = build_set(path, scope, args.rows, rng)
    size = path.stat().st_size
    print(f"set built in {time.perf_counter() - started:.1f} s: {rows:,} rows, {size / 1e6:,.1f} MB → {path.name}")
    for kind, count in planted.items():
        print(f"  {kind:34s} {count:>10,}")

    limits = bare_limits(path, scope)

    broker = bench_broker()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jukinet.settings",
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "JUKINET_CONSISTENCY_MAX_BYTES": str(max(size * 2, settings.CONSISTENCY_MAX_BYTES)),
    }
    port = free_port()
    hostname = f"bench-consistency-{os.getpid()}@%h"
    web = start(
        "web",
        [str(VENV_BIN / "gunicorn"), "jukinet.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--timeout", "900"],
        env,
    )  # fmt: skip
    worker = start(
        "worker",
        [str(VENV_BIN / "celery"), "-A", "jukinet", "worker", "--pool", "solo", "--loglevel", "INFO",
         "--hostname", hostname],
        env,
    )  # fmt: skip
    issued = client_issue_direct(
        kind="cs", name="bench CS（bench/consistency.py）", municipality_code=args.municipality
    )
    check_id = None
    try:
        from jukinet.celery import app

        app.conf.broker_url = broker
        wait_http(f"http://127.0.0.1:{port}/healthz", web)
        wait_worker(app, hostname, worker)
        web_worker = children(web.pid)[0]
        headers = {
            "Authorization": f"Bearer {issued.token}",
            "Content-Type": "text/csv",
            "Content-Length": str(size),
        }
        url = f"http://127.0.0.1:{port}/api/cs/v1/honnin/consistency"
        t0 = time.perf_counter()
        answer = httpx.post(url, content=file_chunks(path), headers=headers, timeout=900)
        t_upload = time.perf_counter() - t0
        if answer.status_code != 202:
            raise SystemExit(f"upload refused: {answer.status_code} {answer.text[:300]}")
        check_id = answer.json()["check_id"]
        progress_seen = set()
        while True:
            check = ConsistencyCheck.objects.get(check_id=check_id)
            progress_seen.add(round(check.progress, 2))
            if check.state in ("done", "failed"):
                break
            if time.perf_counter() - t0 > 1800:
                raise SystemExit("timed out waiting for the comparison")
            time.sleep(0.1)
        total = time.perf_counter() - t0
        if check.state != "done":
            raise SystemExit(f"the check failed: {check.error_code} {check.error_message}")
        compare = (check.finished_at - check.started_at).total_seconds()
        web_mb, worker_mb = peak_rss_mb(web_worker), peak_rss_mb(worker.pid)
    finally:
        stop(web)
        stop(worker)
        cleanup(check_id, issued.client, path)

    print(f"\nupload (POST → 202, {size / 1e6:,.0f} MB streamed) : {t_upload:7.1f} s  {rows / t_upload:>10,.0f} rows/s")
    print(f"comparison in the worker (started → done)  : {compare:7.1f} s  progress seen: {len(progress_seen)} values")
    print(f"total, upload + comparison                 : {total:7.1f} s   (aim < {AIM_SECONDS:.0f} s)")
    print(f"peak RSS of the web worker process         : {web_mb:7.1f} MB  (aim < {AIM_MB:.0f} MB)")
    print(f"peak RSS of the Celery worker              : {worker_mb:7.1f} MB  (aim < {AIM_MB:.0f} MB)")
    for label, seconds in limits.items():
        print(f"machine limit: {label:52s}: {seconds:7.1f} s")
    counts = check.counts
    print("counts:", ", ".join(f"{k} {counts.get(k, 0):,}" for k in ("matched", "different", "missing_here",
                                                                      "missing_there", "code_differs")))  # fmt: skip
    expected_different = planted["address"] + planted["name"] + planted["former_surname"] + planted["my_number"]
    print(
        f"planted: different {expected_different:,}, missing here {planted['extra'] + planted['code_changed']:,}, "
        f"missing there {planted['dropped'] + planted['code_changed']:,}, code differs ≤ {planted['code_changed']:,}"
    )


def cleanup(check_id: str | None, client: MachineClient, path: Path) -> None:
    if check_id:
        check = ConsistencyCheck.objects.filter(check_id=check_id).first()
        if check is not None:
            consistency_stage.drop(check.pk)
            check.delete()  # the differences go with it (ON DELETE CASCADE in the ORM)
    try:
        MachineClient.objects.filter(pk=client.pk).delete()
    except Exception as exc:  # an audit rule may keep clients: then revoke it and say so
        MachineClient.objects.filter(pk=client.pk).update(
            state="revoked", token_hash="revoked-" + secrets.token_hex(28)
        )
        print(f"note: bench client {client.client_id} revoked, left in place ({type(exc).__name__})")
    path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
