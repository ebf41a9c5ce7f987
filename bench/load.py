"""Benchmark: load the synthetic prefecture and compare with this machine's bare COPY rate.

    .venv/bin/python bench/load.py --residents 7300000

Runs ``generate_prefecture`` (jukinet.synth.generator.load_prefecture) against the
development database of the settings, REPLACING the honnin and fuhyo files' contents (as
``--replace`` does), and prints rows/s and the total time (DESIGN.md §8: under 10 minutes
for 7.3 M). Beside it, the limit of the machine: the same number of rows of the same shape
— one generated chunk, pre-formatted in memory and sent again and again, so no Python
generation — COPYed into a scratch ``UNLOGGED`` table created ``LIKE honnin_resident
INCLUDING DEFAULTS``, which has no indexes and no constraints, once over one connection and
once over as many as the load has workers. The scratch table is dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings")

import django

django.setup()

from django.db import connection, connections

from jukinet.synth import generator

SCRATCH = "bench_copy_scratch"


def _bare_copy(rows: int, streams: int, sample: bytes, sample_rows: int) -> float:
    """Seconds to COPY ``rows`` rows of ``sample`` into the scratch table over ``streams`` connections."""
    columns = ", ".join(generator.RESIDENT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
        cursor.execute(f"CREATE UNLOGGED TABLE {SCRATCH} (LIKE honnin_resident INCLUDING DEFAULTS)")
    shares = [rows // streams + (1 if i < rows % streams else 0) for i in range(streams)]
    errors: list[BaseException] = []

    def send(share: int) -> None:
        try:
            import psycopg

            params = connection.get_connection_params()
            with psycopg.connect(**params, autocommit=True) as conn, conn.cursor() as cursor:
                sent = 0
                while sent < share:
                    count = min(sample_rows, share - sent)
                    data = sample if count == sample_rows else b"".join(sample.splitlines(True)[:count])
                    with cursor.copy(f"COPY {SCRATCH} ({columns}) FROM STDIN") as copy:
                        copy.write(data)
                    sent += count
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=send, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {SCRATCH}")
    if errors:
        raise errors[0]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Load the synthetic prefecture (REPLACES the honnin and fuhyo data of the development "
        "database, like generate_prefecture --replace) and print the rate beside the bare COPY rate."
    )
    parser.add_argument("--residents", type=int, default=7_300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--skip-load", action="store_true", help="only measure the bare COPY rate")
    args = parser.parse_args()
    n = args.residents

    print(f"machine: {os.cpu_count()} CPUs; database {connection.settings_dict['NAME']}")
    if not args.skip_load:
        started = time.monotonic()
        result = generator.load_prefecture(
            residents=n, seed=args.seed, workers=args.workers, replace=True, progress_stream=sys.stderr
        )
        total = time.monotonic() - started
        self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(
            f"load: {n:,} residents (+{result.history:,} history, {result.fuhyo:,} fuhyo, "
            f"{result.fuhyo_history:,} fuhyo history) with {result.workers} workers"
        )
        print(
            f"  total {total:.1f} s = {n / total:,.0f} residents/s overall; "
            f"rows phase {result.seconds_rows:.1f} s ({n / result.seconds_rows:,.0f} rows/s), "
            f"indexes {result.seconds_indexes:.1f} s, ANALYZE {result.seconds_analyze:.1f} s"
        )
        print(f"  peak memory: main process {self_kb / 1024:.0f} MB, largest worker {child_kb / 1024:.0f} MB")
        print(
            f"  target (DESIGN.md §8): under 600 s for 7.3 M -> {'met' if total * 7_300_000 / n < 600 else 'NOT met'}"
        )
        connections.close_all()

    plan = generator.build_plan(residents=generator.CHUNK_ROWS, seed=args.seed, as_of=dt.date.today())
    sample = generator.generate_chunk(plan, 0).residents.encode()
    sample_rows = generator.CHUNK_ROWS
    print(
        f"bare COPY of {n:,} pre-formatted rows ({len(sample) / sample_rows:.0f} bytes/row) into an UNLOGGED scratch "
        "table without indexes or constraints:"
    )
    for streams in sorted({1, max(1, args.workers)}):
        seconds = _bare_copy(n, streams, sample, sample_rows)
        print(f"  {streams} connection(s): {seconds:.1f} s = {n / seconds:,.0f} rows/s")


if __name__ == "__main__":
    main()
