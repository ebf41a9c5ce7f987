"""Batch provision (一括提供): 100,000 conditions submitted, approved, answered and encrypted.

    .venv/bin/python bench/batch.py [--rows 100000] [--keep]

Against the development database (the synthetic prefecture: bench/load.py or
generate_prefecture; it prints how many residents it found and works with what is there).
It samples residents for a realistic mix — mostly 住民票コード, some 4情報 and 個人番号, a few
codes not in the file and a few unreadable rows — submits them through the same service the
API calls, has a bench system administrator approve them, and runs the batch **in this
process** by calling ``provision.batch.batch_run``, the service the Celery task calls (so the
figure has no queue latency in it). It prints the wall time of each phase and the total
against DESIGN.md §8's aim (under 120 s), and beside it the machine's own limits: the bare
SQL time of the same lookups, COPY of the same number of records, and encrypting the same
result bytes.

Everything runs in one transaction that is rolled back at the end (provision records are
append-only and could not be removed otherwise); ``--keep`` commits instead. No wake-up is
sent to a running worker either way.
"""

import argparse
import hashlib
import io
import os
import random
import sys
import time
import zlib
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings")

import django

django.setup()

import pyzipper
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection, transaction
from django.utils import timezone

from audit.approvals import approval_decide
from audit.models import IdentityState, MachineClient, Operator
from honnin.my_number import open_my_number
from jukinet import tasks
from jukinet.codes import generate_juminhyo_code
from jukinet.crypto import get_keyring
from provision import batch as services
from provision.batch_csv import make_password
from provision.models import BatchJob, Duty

AIM_SECONDS = 120.0
HEADER = "row_id,juminhyo_code,my_number,name_kana,name,birth_date,sex,address"
ITEMS = ["juminhyo_code", "name", "name_kana", "birth_date", "sex", "address", "change_reason", "changed_on"]


class Rollback(Exception):
    pass


@contextmanager
def timed(label: str, phases: dict):
    start = time.perf_counter()
    yield
    phases[label] = time.perf_counter() - start


def residents_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM honnin_resident")
        return cursor.fetchone()[0]


def sample(total: int, want: int, rng: random.Random) -> list[tuple]:
    percent = min(100.0, want / max(total, 1) * 100 * 1.6)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT setseed({rng.random()})")
        cursor.execute(
            "SELECT juminhyo_code, name, name_kana, birth_date, sex, address, my_number"
            f" FROM honnin_resident TABLESAMPLE BERNOULLI ({percent:.4f}) WHERE NOT deleted LIMIT %s",
            [want],
        )
        rows = cursor.fetchall()
    rng.shuffle(rows)
    return rows


def build_conditions(people: list[tuple], rows: int, rng: random.Random) -> tuple[str, dict]:
    """A realistic mix: 85 % 住民票コード (1 % of all not in the file), 10 % 4情報, 3 % 個人番号, 2 % bad."""
    n_four, n_number, n_bad, n_absent = rows * 10 // 100, rows * 3 // 100, rows * 2 // 100, rows // 100
    n_code = rows - n_four - n_number - n_bad - n_absent
    keyring = get_keyring()
    with_number = [p for p in people if p[6] is not None]
    lines, mix = [HEADER], {}
    it = iter(people)
    for n in range(n_code):
        lines.append(f"C{n},{next(it)[0]},,,,,,")
    for n in range(n_absent):
        lines.append(f"X{n},{generate_juminhyo_code(rng)},,,,,,")
    for n in range(n_four):
        _, name, kana, birth, sex, address, _ = next(it)
        lines.append(f"F{n},,,{kana},{name},{birth.isoformat()},{sex},{address[:9] if n % 3 == 0 else ''}")
    for n in range(n_number):
        person = with_number[n % len(with_number)]
        lines.append(f"N{n},,{open_my_number(person[0], bytes(person[6]), keyring=keyring)},,,,,")
    bad = ["B{n},12345678901,,,,,,", "B{n},,,,,,,", "=cmd|' /C calc'!A{n},,,サトウ,,1985-13-01,,", "B{n},123"]
    for n in range(n_bad):
        lines.append(bad[n % len(bad)].format(n=n))
    mix = {"住民票コード": n_code, "住民票コード（ファイルにない）": n_absent, "4情報": n_four, "個人番号": n_number}
    mix["読めない行"] = n_bad
    body = lines[0] + "\r\n" + "\r\n".join(rng.sample(lines[1:], len(lines) - 1)) + "\r\n"
    return body, mix


def bench_actors() -> tuple[MachineClient, Operator]:
    Duty.objects.update_or_create(
        code="J-999",
        defaults=dict(
            name="ベンチマーク用の事務（試験）",
            legal_basis="ベンチマーク",
            files=["honnin"],
            items=ITEMS,
            my_number_allowed=True,
        ),
    )
    client, _ = MachineClient.objects.update_or_create(
        client_id="bench-batch-body",
        defaults=dict(kind="body", name="ベンチマーク提供先", duty_codes=["J-999"], token_hash="bench-" + "0" * 58),
    )
    admin = Operator.objects.filter(login_id="bench-sysadmin").first()
    if admin is None:
        admin = Operator(
            login_id="bench-sysadmin",
            staff_number="BENCH-SYS",
            full_name="ベンチ 管理者",
            department="ベンチマーク",
            roles=["sysadmin"],
            state=IdentityState.ACTIVE,
            must_change_password=False,
        )
        admin.set_unusable_password()
        admin.save()
    return client, admin


def bare_sql(body: str, batch: BatchJob) -> float:
    """The same lookups as the run, in bare SQL: codes, HMAC indexes, 4情報 joins, items."""
    from provision.batch_csv import RowCondition, header_of, iter_rows, parse_row

    columns = header_of(body)
    parsed = [parse_row(columns, n, f, file="honnin", prefecture="埼玉県") for n, f in iter_rows(body)]
    good = [p for p in parsed if isinstance(p, RowCondition)]
    keyring = get_keyring()
    codes = [p.juminhyo_code for p in good if p.by == "juminhyo_code"]
    indexes = [keyring.index(p.my_number) for p in good if p.by == "my_number"]
    four = [p for p in good if p.by == "four_info"]
    start = time.perf_counter()
    found = []
    with connection.cursor() as cursor:
        for i in range(0, len(codes), services.CHUNK_ROWS):
            cursor.execute(
                "SELECT juminhyo_code FROM honnin_resident WHERE juminhyo_code = ANY(%s)",
                [codes[i : i + services.CHUNK_ROWS]],
            )
            found += [r[0] for r in cursor.fetchall()]
        cursor.execute("SELECT juminhyo_code FROM honnin_resident WHERE my_number_index = ANY(%s)", [indexes])
        found += [r[0] for r in cursor.fetchall()]
        for i in range(0, len(four), services.CHUNK_ROWS):
            part = four[i : i + services.CHUNK_ROWS]
            cursor.execute(
                "SELECT c.n, r.juminhyo_code FROM unnest(%s::int[], %s::text[], %s::date[]) AS c(n, seion, birth)"
                " JOIN honnin_resident r ON r.name_seion = c.seion AND r.birth_date = c.birth",
                [[p.row_number for p in part], [p.kana_key for p in part], [p.birth_date for p in part]],
            )
            found += [r[1] for r in cursor.fetchall()]
        found = sorted(set(found))
        for i in range(0, len(found), services.ITEMS_CHUNK):
            cursor.execute(
                f"SELECT {', '.join(ITEMS)}, my_number FROM honnin_resident WHERE juminhyo_code = ANY(%s)",
                [found[i : i + services.ITEMS_CHUNK]],
            )
            cursor.fetchall()
    return time.perf_counter() - start


def copy_rate(rows: int) -> float:
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_copy (LIKE provision_provisionrecord"
            " INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)"
        )
        with cursor.cursor.copy(
            "COPY bench_copy (provision_id, occurred_at, client_id, client_name, operator, duty_code, file, by,"
            " target_codes, items_given, my_number_given, source, outcome, error_code, row_number) FROM STDIN"
        ) as copy:
            now = timezone.now()
            fixed = ("c", "n", "", "J-999", "honnin", "juminhyo_code", ["12345678906"], ITEMS, False, "prefecture")
            fixed += ("provided", "")
            for n in range(rows):
                copy.write_row((f"bench-{n}", now, *fixed, n))
        cursor.execute("DROP TABLE bench_copy")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="commit the batch and its records")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tasks.wake = lambda *a, **k: None  # the batch runs here, not in a running worker

    total_residents = residents_count()
    print(f"honnin_resident: {total_residents:,} residents in the development database")
    if total_residents < args.rows:
        print("  (fewer residents than conditions: codes repeat)")
    phases: dict[str, float] = {}
    with timed("sample residents", phases):
        people = sample(total_residents, args.rows, rng)
        while len(people) < args.rows:
            people += people[: args.rows - len(people)]
    with timed("write the conditions CSV", phases):
        body, mix = build_conditions(people, args.rows, rng)
    data = body.encode()
    print(
        f"conditions: {args.rows:,} rows, {len(data) / 1e6:.1f} MB — " + ", ".join(f"{k} {v:,}" for k, v in mix.items())
    )

    inner: dict[str, float] = {"match + record (COPY)": 0.0, "result CSV + AES-256 ZIP": 0.0}
    original_chunk, original_finish = services._process_chunk, services._finish

    def chunk(*a, **k):
        start = time.perf_counter()
        original_chunk(*a, **k)
        inner["match + record (COPY)"] += time.perf_counter() - start

    def finish(*a, **k):
        start = time.perf_counter()
        original_finish(*a, **k)
        inner["result CSV + AES-256 ZIP"] += time.perf_counter() - start

    services._process_chunk, services._finish = chunk, finish
    try:
        with transaction.atomic():
            client, admin = bench_actors()
            with timed("submit (check, encrypt, store, ask approval)", phases):
                batch = services.batch_submit(
                    file="honnin", duty_code="J-999", data=data, client=client, include_my_number=True
                )
            with timed("approve (bench system administrator)", phases):
                approval_decide(approval=batch.approval, operator=admin, approve=True, note="ベンチマーク")
            with timed("run (in process: provision.batch.batch_run)", phases):
                state = services.batch_run(batch_id=batch.batch_id)
            batch.refresh_from_db()
            with timed("output (download recorded)", phases):
                archive = services.batch_result_output(batch=batch)
            assert state == "done", state
            counts = batch.counts
            if not args.keep:
                raise Rollback
    except Rollback:
        pass
    finally:
        services._process_chunk, services._finish = original_chunk, original_finish

    aimed = [k for k in phases if k.startswith(("submit", "approve", "run", "output"))]
    total = sum(phases[k] for k in aimed)
    print(f"\nresult: {counts}  archive {len(archive) / 1e6:.1f} MB  ({'kept' if args.keep else 'rolled back'})")
    print(f"\n{'phase':<52}{'wall s':>9}")
    for key, seconds in phases.items():
        mark = "" if key in aimed else "  (preparation, not counted)"
        print(f"{key:<52}{seconds:>9.2f}{mark}")
        if key.startswith("run"):
            for sub, value in inner.items():
                print(f"  {sub:<50}{value:>9.2f}")
    verdict = "within" if total < AIM_SECONDS else "OVER"
    print(
        f"{'total (submit → approved → answered → encrypted)':<52}{total:>9.2f}  aim < {AIM_SECONDS:.0f} s: {verdict}"
    )

    # The machine's own limits, for the same work.
    print("\nthe machine's limit for the same work:")
    sql = bare_sql(body, batch)
    print(f"{'  bare SQL of the same lookups and item reads':<52}{sql:>9.2f}")
    copy_s = copy_rate(args.rows)
    print(f"{f'  COPY of {args.rows:,} provision-record rows':<52}{copy_s:>9.2f}")
    plain = _result_bytes(archive, batch)
    start = time.perf_counter()
    AESGCM(AESGCM.generate_key(256)).encrypt(os.urandom(12), plain, None)
    gcm = time.perf_counter() - start
    start = time.perf_counter()
    deflated = zlib.compress(plain, 6)
    deflate = time.perf_counter() - start
    start = time.perf_counter()
    out = io.BytesIO()
    with pyzipper.AESZipFile(out, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as zf:
        zf.setpassword(make_password().encode())
        zf.writestr("x.csv", plain)
    zipped = time.perf_counter() - start
    print(f"{f'  AES-256-GCM of the {len(plain) / 1e6:.1f} MB result CSV':<52}{gcm:>9.2f}")
    print(f"{'  deflate of the same bytes (zlib level 6)':<52}{deflate:>9.2f}  → {len(deflated) / 1e6:.1f} MB")
    print(f"{'  AES-256 ZIP of the same bytes (pyzipper)':<52}{zipped:>9.2f}")
    print(f"{'  SHA-256 of the archive':<52}{_sha_time(archive):>9.3f}")


def _result_bytes(archive: bytes, batch: BatchJob) -> bytes:
    """The result CSV itself (decrypted from the archive just made) for the encryption figures."""
    from provision.batch import _password_context  # the bench opens the sealed password directly
    from provision.batch_csv import decrypt_zip

    password = get_keyring().decrypt(bytes(batch.result_password), context=_password_context(batch.batch_id))
    return next(iter(decrypt_zip(archive, password=password).values()))


def _sha_time(archive: bytes) -> float:
    start = time.perf_counter()
    hashlib.sha256(archive).hexdigest()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
