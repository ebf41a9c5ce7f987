"""Retention erasure (docs/retention.md): how fast the daily run erases, on the real file.

    .venv/bin/python bench/retention.py [--today 2175-01-01]

Against the development database (the synthetic prefecture). It moves the run's 基準日 far
enough ahead that a large part of the synthetic history and 消除者 has passed its period,
runs ``jukinet.retention.retention_erase_expired`` (the service the beat task calls: committed
batches of 5,000, the notice payload windows, the ErasureRun row and the log entry) inside one
outer transaction, and rolls everything back at the end, so the database is unchanged. Each
batch is a savepoint inside that transaction instead of its own commit; the figure is the
DELETE work itself.

Beside it, the machine's own limit: one bare ``DELETE … WHERE retain_until < …`` of the same
history rows in a single statement (also rolled back).
"""

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings")

import django

django.setup()

from django.db import connection, transaction

from honnin.models import Resident, ResidentHistory
from jukinet.retention import retention_erase_expired


class _Rollback(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--today", default="2175-01-01", help="the run's 基準日 (YYYY-MM-DD)")
    args = parser.parse_args()
    today = dt.date.fromisoformat(args.today)
    residents = Resident.objects.count()
    history = ResidentHistory.objects.count()
    print(f"database: {residents:,} honnin rows, {history:,} history rows; 基準日 {today}")

    result = {}
    try:
        with transaction.atomic():
            started = time.perf_counter()
            run = retention_erase_expired(today=today)
            result["seconds"] = time.perf_counter() - started
            result["run"] = run
            raise _Rollback
    except _Rollback:
        pass
    run = result["run"]
    if run is None:
        print("another retention run holds the lock; try again later")
        return 1
    seconds = result["seconds"]
    print(f"retention run (rolled back)      : {seconds:8.1f} s  {run.total:,} rows  {run.total / seconds:,.0f} rows/s")
    for key, value in run.counts.items():
        print(f"  {key:<30} {value:>12,}")

    limit = {}
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute("DELETE FROM honnin_resident_history WHERE retain_until < %s", [today])
            limit["rows"] = cursor.rowcount
            limit["seconds"] = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass
    rate = limit["rows"] / limit["seconds"] if limit["seconds"] else 0
    print(
        f"machine limit: one bare DELETE of the history rows: {limit['seconds']:8.1f} s  "
        f"{limit['rows']:,} rows  {rate:,.0f} rows/s (rolled back)"
    )
    ours = run.counts.get("honnin_history", 0)
    if ours != limit["rows"]:
        print(f"MISMATCH: the run erased {ours:,} history rows, the bare DELETE {limit['rows']:,}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
