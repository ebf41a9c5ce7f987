"""Update notices per second, from the CS request to the national acknowledgement.

    .venv/bin/python bench/notices.py --notices 20000

Starts its own web server (gunicorn), Celery worker and national mock (mTLS) against the
development database (make up's; it needs residents: `make up` once, or generate_prefecture),
sends 転居 notices for existing residents of one municipality through the real HTTP stack
in requests of 1,000, and waits until the national mock has acknowledged every one. Beside
the figure it prints the machine's bare single-row write rate (one INSERT per transaction
in autocommit), which bounds any design that commits each notice on its own.

The notices change the residents' addresses in the development database (history is kept).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings")

import django

django.setup()

import httpx
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from audit.services import client_issue_direct
from honnin.models import Resident
from jukinet.gaiji import count_gaiji
from jukinet.models import InboxNotice, OutboxNotice

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bare_single_row_rate(seconds: float = 5.0) -> float:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_single (id bigserial primary key, notice_id text, payload jsonb)")
    connection.set_autocommit(True)
    count = 0
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("INSERT INTO bench_single (notice_id, payload) VALUES (%s, %s)", [f"n{count}", "{}"])
            count += 1
        cursor.execute("DROP TABLE bench_single")
    return count / seconds


def start(name: str, argv: list[str], env: dict) -> subprocess.Popen:
    log = open(ROOT / "var" / f"bench-{name}.log", "w")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_http(url: str, **kwargs) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2, **kwargs)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notices", type=int, default=20000)
    parser.add_argument("--municipality", default="112038", help="the CS sending (川口市 by default)")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    args = parser.parse_args()

    call_command("make_dev_pki", verbosity=0)
    pki = Path(settings.VAR_DIR) / "pki"
    residents = list(
        Resident.objects.filter(municipality_code=args.municipality, deleted=False)
        .order_by("id")
        .values_list("juminhyo_code", "update_seq", "address")[: args.notices]
    )
    if len(residents) < args.notices:
        raise SystemExit(f"only {len(residents)} residents in {args.municipality}: load a bigger prefecture")
    token = client_issue_direct(kind="cs", name="bench CS", municipality_code=args.municipality).token
    stamp = int(time.time())
    notices = [
        {
            "notice_id": f"bench-{stamp}-{i}",
            "juminhyo_code": code,
            "update_seq": seq + 1,
            "change_reason": "転居",
            "changed_on": "2026-11-20",
            "record": {"address": address[:200] + "（転居）", "address_gaiji_count": count_gaiji(address[:200])},
        }
        for i, (code, seq, address) in enumerate(residents)
    ]
    ids = [n["notice_id"] for n in notices]

    web_port, national_port = free_port(), free_port()
    env = {
        **os.environ,
        "JUKINET_NATIONAL_URL": f"https://localhost:{national_port}",
        "DATABASE_CONN_MAX_AGE": "60",
    }
    procs = [
        start(
            "web",
            [str(VENV_BIN / "gunicorn"), "jukinet.wsgi", "--bind", f"127.0.0.1:{web_port}", "--workers", "2"],
            env,
        ),
        start(
            "national",
            [
                str(VENV_BIN / "gunicorn"),
                "jukinet.national.wsgi",
                "--bind",
                f"127.0.0.1:{national_port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--certfile",
                str(pki / "national.crt"),
                "--keyfile",
                str(pki / "national.key"),
                "--ca-certs",
                str(pki / "ca.crt"),
                "--cert-reqs",
                "2",
                "--env",
                "DJANGO_SETTINGS_MODULE=jukinet.settings_national",
                "--env",
                "JUKINET_NATIONAL_LISTENER=mtls",
            ],
            env,
        ),
        start(
            "worker",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "jukinet",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                str(args.workers),
                "--hostname",
                f"bench-{stamp}@%h",
            ],
            env,
        ),
    ]
    try:
        wait_http(f"http://127.0.0.1:{web_port}/healthz")
        time.sleep(3)  # let the worker connect to the broker
        url = f"http://127.0.0.1:{web_port}/api/cs/v1/honnin/notices"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        chunks = [notices[i : i + 1000] for i in range(0, len(notices), 1000)]
        t0 = time.monotonic()
        with httpx.Client(timeout=120) as http, ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(lambda c: http.post(url, content=json.dumps({"notices": c}), headers=headers), chunks)
            )
        t_intake = time.monotonic() - t0
        if any(a.status_code != 202 for a in answers):
            raise SystemExit(f"intake failed: {[a.status_code for a in answers]} (see var/bench-web.log)")
        rejected = sum(len(a.json().get("rejected", [])) for a in answers)
        if any(a.status_code != 202 for a in answers) or rejected:
            raise SystemExit(f"intake failed: {[a.status_code for a in answers]} rejected={rejected}")
        applied_at = None
        while True:
            applied = InboxNotice.objects.filter(file="honnin", notice_id__in=ids, state="applied").count()
            if applied_at is None and applied == len(ids):
                applied_at = time.monotonic() - t0
            done = OutboxNotice.objects.filter(file="honnin", notice_id__in=ids, state="done").count()
            if done == len(ids):
                break
            if time.monotonic() - t0 > 1800:
                raise SystemExit(f"timed out: applied {applied}, acknowledged {done} of {len(ids)}")
            time.sleep(0.5)
        total = time.monotonic() - t0
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)

    bare = bare_single_row_rate()
    print(f"notices                      : {len(ids):,} (転居, one CS, requests of 1,000)")
    print(f"intake (all 202s)            : {t_intake:8.2f} s  {len(ids) / t_intake:10,.0f} notices/s")
    print(f"applied (current+history+out): {applied_at:8.2f} s  {len(ids) / applied_at:10,.0f} notices/s")
    print(f"CS request → national ack    : {total:8.2f} s  {len(ids) / total:10,.0f} notices/s   (aim ≥ 1,000/s)")
    print(f"bare single-row writes       :             {bare:10,.0f} rows/s (one INSERT per commit)")


if __name__ == "__main__":
    main()
