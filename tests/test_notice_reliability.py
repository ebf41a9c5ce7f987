"""Reliability of the update-notice pipeline end to end, with every part real: PostgreSQL
(pytest-django's test database), Redis, a Celery worker process (prefork) and the national
mock (gunicorn, mutual TLS).

A CS sends notices through the API; the worker applies them and forwards them. Each test
breaks something on the way — notices out of order, the same batch twice, the worker killed
with SIGKILL in the middle of a batch, the national server down / slow / flaky, Redis
restarted — and then checks, after recovery, that every accepted notice was applied exactly
once and received by the mock exactly once, in 更新順番号 order per person.

Redis is a private server for this module (``scripts/devservices.py``'s ``redis_start`` /
``redis_stop`` on a throwaway ``var`` directory): the shared development Redis is not
restarted under the feet of a running ``make up`` or another test run, and no other test
worker on the shared test broker can take (or hand us) a task.

Run alone with a private test database:
``TOX_PARALLEL_ENV=reliab .venv/bin/python -m pytest tests/test_notice_reliability.py -q``
Worker logs: ``var/test-reliability-worker-*.log``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import celery
import pytest
from django.db import connection
from django.db.models import Count
from national_fixtures import NationalServer, subprocess_database_url

from audit.services import client_issue_direct
from honnin.models import Resident, ResidentHistory
from jukinet import national_client
from jukinet.codes import generate_juminhyo_code, generate_my_number
from jukinet.models import InboxNotice, InboxState, OutboxNotice, OutboxState
from tests.celery_connections import drop_celery_connections

ROOT = Path(__file__).resolve().parent.parent
MUNICIPALITY = "112011"
MAX_PER_REQUEST = 1000
_worker_numbers = itertools.count(1)

pytestmark = pytest.mark.slow


# --- A private Redis, started and stopped by scripts/devservices.py -------------------------


def _load_devservices():
    spec = importlib.util.spec_from_file_location("devservices_for_reliability", ROOT / "scripts" / "devservices.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class PrivateRedis:
    devservices: object
    var: Path

    @property
    def socket(self) -> Path:
        return self.devservices.redis_paths()[1]

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    def start(self) -> None:
        saved = os.environ.pop("REDIS_URL", None)  # redis_start() would reuse a configured Redis
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self.devservices.redis_start()
        finally:
            if saved is not None:
                os.environ["REDIS_URL"] = saved

    def stop(self) -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            self.devservices.redis_stop()
        assert not self.running(), "the private Redis did not stop"

    def running(self) -> bool:
        return self.devservices.redis_ping(self.socket)

    def flushall(self) -> None:
        import redis

        client = redis.Redis(unix_socket_path=str(self.socket))
        try:
            client.flushall()
        finally:
            client.close()


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory):
    devservices = _load_devservices()
    devservices.VAR = tmp_path_factory.mktemp("reliab-var")  # redis_paths() → VAR/redis/redis.sock
    server = PrivateRedis(devservices, devservices.VAR)
    assert len(str(server.socket)) < 100, "the Unix socket path is too long for the kernel"
    server.start()
    try:
        yield server
    finally:
        if server.running():
            server.stop()


# --- This process's Celery app on the private Redis ------------------------------------------


@contextlib.contextmanager
def celery_app_on(broker_url: str):
    from jukinet.celery import app

    saved = {"broker_url": app.conf.broker_url, "result_backend": app.conf.result_backend}
    drop_celery_connections(app)
    app.conf.update(broker_url=broker_url, result_backend=broker_url)
    try:
        yield app
    finally:
        drop_celery_connections(app)
        app.conf.update(saved)


# --- Notices ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    code: str
    my_number: str


def make_people(n: int, seed: int) -> list[Person]:
    rng = random.Random(seed)
    codes: set[str] = set()
    numbers: set[str] = set()
    people = []
    while len(people) < n:
        code, number = generate_juminhyo_code(rng), generate_my_number(rng)
        if code in codes or number in numbers:
            continue
        codes.add(code)
        numbers.add(number)
        people.append(Person(code, number))
    return people


def entry(person: Person, k: int) -> dict:
    return {
        "notice_id": f"{MUNICIPALITY}-{person.code}-0001",
        "juminhyo_code": person.code,
        "update_seq": 1,
        "change_reason": "転入",
        "changed_on": "2026-11-01",
        "record": {
            "name": "佐藤　太郎",
            "name_kana": "サトウ　タロウ",
            "birth_date": "1985-03-01",
            "sex": "1" if k % 2 else "2",
            "address": f"埼玉県川越市元町一丁目{k % 50 + 1}番{k % 7 + 1}号",
            "municipality_code": MUNICIPALITY,
            "oaza_code": "0001001",
            "my_number": person.my_number,
        },
        "operator_id": "OP0101",
        "terminal_id": "TM112011-01",
    }


def tenkyo(person: Person, seq: int, k: int) -> dict:
    return {
        "notice_id": f"{MUNICIPALITY}-{person.code}-{seq:04d}",
        "juminhyo_code": person.code,
        "update_seq": seq,
        "change_reason": "転居",
        "changed_on": f"2026-11-{10 + seq:02d}",
        "record": {"address": f"埼玉県川越市新富町{seq}丁目{k % 30 + 1}番{seq}号"},
    }


@dataclass
class NoticeSet:
    """For each person: 転入 (1), then 転居 (2) and 転居 (3)."""

    people: list[Person]
    by_seq: dict[int, list[dict]]

    @property
    def all(self) -> list[dict]:
        return [n for seq in sorted(self.by_seq) for n in self.by_seq[seq]]

    @property
    def ids(self) -> list[str]:
        return [n["notice_id"] for n in self.all]


def notice_set(n: int, seed: int) -> NoticeSet:
    people = make_people(n, seed)
    return NoticeSet(
        people=people,
        by_seq={
            1: [entry(p, k) for k, p in enumerate(people)],
            2: [tenkyo(p, 2, k) for k, p in enumerate(people)],
            3: [tenkyo(p, 3, k) for k, p in enumerate(people)],
        },
    )


def chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# --- The pipeline: a worker process, the API, the checks ---------------------------------------


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    log: io.TextIOBase
    log_path: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the main process and its pool children (one process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _process_group_alive(self.proc.pid):
            assert time.monotonic() < deadline, f"pool processes of {self.name} survived SIGKILL"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # warm shutdown
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever is left of the pool
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.log.close()


def _process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Zombies of the killed pool still count for killpg(…, 0): look at /proc for live ones.
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def _advisory_key(key: str) -> tuple[int, int]:
    """(classid, objid) of ``pg_advisory_xact_lock(hashtext(key))`` as pg_locks shows it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT hashtext(%s)::bigint", [key])
        value = cursor.fetchone()[0]
    return (value >> 32) & 0xFFFFFFFF, value & 0xFFFFFFFF


def advisory_locks_held(only: str | None = None, exclude: tuple[str, ...] = ()) -> int:
    """Advisory locks other sessions hold in the test database: a batch transaction is open
    (the apply step holds one per person, the forwarder one per file)."""
    sql = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    params: list = []
    if only is not None:
        sql += " AND (classid::text::bigint, objid::text::bigint, objsubid) = (%s, %s, 1)"
        params += list(_advisory_key(only))
    for key in exclude:
        sql += " AND (classid::text::bigint, objid::text::bigint) <> (%s, %s)"
        params += list(_advisory_key(key))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


FORWARD_LOCKS = ("forward:honnin", "forward:fuhyo")


@dataclass
class Pipeline:
    national: NationalServer
    redis: PrivateRedis
    app: object
    client: object
    token: str
    env: dict
    workers: list[Worker] = field(default_factory=list)
    sweep_errors: list[str] = field(default_factory=list)
    # Play the process supervisor (compose's ``restart: unless-stopped``): a worker that died
    # is replaced while waiting. Off unless a test says so, so that no death goes unnoticed.
    supervise: bool = False
    restarts: int = 0

    # --- the worker ---

    @property
    def worker(self) -> Worker:
        return self.workers[-1]

    def start_worker(self, timeout: float = 60) -> Worker:
        n = next(_worker_numbers)
        name = f"reliab{os.getpid()}-{n}@localhost"
        log_path = ROOT / "var" / f"test-reliability-worker-{n}.log"
        log = open(log_path, "w")  # noqa: SIM115 - closed by Worker.stop
        argv = [
            *(sys.executable, "-m", "celery", "-A", "jukinet", "worker"),
            *("--pool", "prefork", "--concurrency", "2", "-Q", "celery"),
            *("--loglevel", "INFO", "--hostname", name, "--without-mingle", "--without-gossip"),
        ]
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        worker = Worker(name, proc, log, log_path)
        self.workers.append(worker)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not worker.alive():
                raise RuntimeError(f"the worker exited at start: see {log_path}")
            if self.ping(worker):
                return worker
            time.sleep(0.2)
        raise RuntimeError(f"the worker did not answer a ping within {timeout:.0f} s: see {log_path}")

    def ping(self, worker: Worker, timeout: float = 1.0) -> bool:
        try:
            replies = self.app.control.ping(destination=[worker.name], timeout=timeout)
        except self.app.connection_for_write().connection_errors:
            # A pooled connection from before a Redis restart (broadcasts are not retried).
            drop_celery_connections(self.app)
            return False
        return any(worker.name in reply for reply in replies)

    # --- the CS side ---

    def send(self, notices: list[dict], file: str = "honnin") -> dict:
        """POST the notices as the CS (one request per 1,000); the merged answer."""
        answer: dict = {"accepted": [], "rejected": []}
        for part in chunks(notices, MAX_PER_REQUEST):
            response = self.client.post(
                f"/api/cs/v1/{file}/notices",
                data=json.dumps({"notices": part}, ensure_ascii=False),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {self.token}",
            )
            assert response.status_code == 202, response.content[:500]
            body = response.json()
            answer["accepted"] += body["accepted"]
            answer["rejected"] += body["rejected"]
        return answer

    def send_all_accepted(self, notices: list[dict], file: str = "honnin") -> dict:
        answer = self.send(notices, file)
        assert answer["rejected"] == [], answer["rejected"][:3]
        assert [a["notice_id"] for a in answer["accepted"]] == [n["notice_id"] for n in notices]
        return answer

    # --- waiting and checking ---

    def sweep(self) -> None:
        """The beat sweeper's body, in this process (re-queues work whose wake-up was lost)."""
        from jukinet.tasks import notices_sweep

        try:
            notices_sweep()
        except Exception as exc:  # e.g. Redis is down: beat would just try again on its next beat
            self.sweep_errors.append(f"{type(exc).__name__}: {exc}"[:200])

    def progress(self, ids: list[str], file: str = "honnin") -> dict:
        inbox = dict(
            InboxNotice.objects.filter(file=file, notice_id__in=ids)
            .values_list("state")
            .annotate(n=Count("id"))
            .values_list("state", "n")
        )
        done = OutboxNotice.objects.filter(file=file, notice_id__in=ids, state=OutboxState.DONE).count()
        return {"inbox": inbox, "outbox_done": done, "total": len(ids)}

    def wait_until_settled(self, ids: list[str], timeout: float = 60, file: str = "honnin") -> float:
        """Poll (running the sweeper each round) until every notice is applied and forwarded."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            if self.supervise and not self.worker.alive():
                self.restarts += 1
                self.start_worker()
            self.sweep()
            progress = self.progress(ids, file)
            rejected = progress["inbox"].get(InboxState.REJECTED, 0)
            if rejected:
                errors = Counter(
                    InboxNotice.objects.filter(file=file, notice_id__in=ids, state=InboxState.REJECTED).values_list(
                        "error_code", flat=True
                    )
                )
                pytest.fail(f"accepted notices were rejected at the apply step: {dict(errors)}")
            applied = progress["inbox"].get(InboxState.APPLIED, 0)
            if applied == len(ids) and progress["outbox_done"] == len(ids):
                return time.monotonic() - started
            if time.monotonic() > deadline:
                pending = OutboxNotice.objects.filter(file=file, state=OutboxState.PENDING)
                detail = list(pending.order_by("id").values("attempts", "next_attempt_at", "last_error")[:3])
                pytest.fail(
                    f"not settled after {timeout:.0f} s: {progress}; first pending outbox rows {detail}; "
                    f"worker alive={self.worker.alive()}; sweep errors {self.sweep_errors[-3:]}; "
                    f"see {self.worker.log_path}"
                )
            time.sleep(0.5)

    def received(self, file: str = "honnin") -> list[dict]:
        records, since = [], None
        while True:
            page = national_client.received(file, since=since, limit=10_000)
            records += page["notices"]
            if not page["more"]:
                return records
            since = page["next_since"]

    def assert_exactly_once_in_order(self, ids: list[str], file: str = "honnin", resends: bool = False) -> dict:
        """Every notice applied once (inbox, history, current row, outbox) and recorded once by the
        mock, arriving in 更新順番号 order per person. ``resends``: a notice may have been sent
        again after a lost answer (``receive_count`` > 1, the mock's dedup at work)."""
        wanted = set(ids)
        assert len(wanted) == len(ids), "the test sent the same id twice in its own list"

        # The national side: one record per notice, nothing missing, nothing extra, in order.
        records = self.received(file)
        arrived = Counter(r["notice_id"] for r in records)
        duplicates = [i for i, c in arrived.items() if c > 1]
        assert not duplicates, f"{len(duplicates)} notices recorded twice by the mock: {duplicates[:5]}"
        missing = wanted - arrived.keys()
        assert not missing, f"{len(missing)} accepted notices never reached the mock: {sorted(missing)[:5]}"
        extra = arrived.keys() - wanted
        assert not extra, f"the mock received notices nobody accepted: {sorted(extra)[:5]}"
        assert all(r["mismatch_count"] == 0 for r in records), "a resend carried different content"
        resent = {r["notice_id"]: r["receive_count"] for r in records if r["receive_count"] != 1}
        if not resends:
            assert not resent, f"notices received more than once without any failure: {list(resent.items())[:5]}"
        arrival_by_person: dict[str, list[int]] = defaultdict(list)
        for r in sorted(records, key=lambda r: r["seq"]):
            arrival_by_person[r["juminhyo_code"]].append(r["update_seq"])
        out_of_order = {c: s for c, s in arrival_by_person.items() if s != sorted(set(s))}
        assert not out_of_order, f"arrival out of 更新順番号 order: {list(out_of_order.items())[:5]}"

        # The prefecture side: each notice applied once.
        inbox = list(
            InboxNotice.objects.filter(file=file, notice_id__in=ids).values(
                "notice_id", "juminhyo_code", "update_seq", "change_reason", "state"
            )
        )
        assert len(inbox) == len(ids)
        states = Counter(n["state"] for n in inbox)
        assert states == {InboxState.APPLIED: len(ids)}, states
        outbox = Counter(OutboxNotice.objects.filter(file=file).values_list("notice_id", flat=True))
        assert set(outbox) == wanted and all(c == 1 for c in outbox.values()), "outbox rows not one per notice"
        assert not OutboxNotice.objects.filter(file=file).exclude(state=OutboxState.DONE).exists()
        seqs: dict[str, list[int]] = defaultdict(list)
        changes: Counter = Counter()
        for n in inbox:
            seqs[n["juminhyo_code"]].append(n["update_seq"])
            if n["change_reason"] != "転入":
                changes[n["juminhyo_code"]] += 1
        assert all(arrival_by_person[c] == sorted(s) for c, s in seqs.items()), "the mock's seqs differ from ours"
        if file == "honnin":
            current = dict(Resident.objects.filter(juminhyo_code__in=seqs).values_list("juminhyo_code", "update_seq"))
            assert current == {c: max(s) for c, s in seqs.items()}, "Resident.update_seq is not the last seq"
            history = Counter(
                ResidentHistory.objects.filter(juminhyo_code__in=seqs).values_list("juminhyo_code", flat=True)
            )
            assert history == +changes, "not one history row per applied change"
        return {"notices": len(ids), "resent": len(resent), "max_receive_count": max(resent.values(), default=1)}


@pytest.fixture
def pipeline(national, transactional_db, private_redis, client):
    """A CS client, a real Celery worker (prefork, 2) and the national mock, on a private Redis."""
    if not private_redis.running():
        private_redis.start()
    private_redis.flushall()  # nothing queued by an earlier test
    from jukinet.settings_test import TEST_REDIS_DB, _other_redis_db

    broker_url = _other_redis_db(private_redis.url, TEST_REDIS_DB)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "JUKINET_", "CELERY_", "DATABASE_", "REDIS_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="jukinet.settings_test",
        DATABASE_URL=subprocess_database_url(),
        DATABASE_CONN_MAX_AGE="0",  # no idle connection may hold the test database at teardown
        REDIS_URL=private_redis.url,
        JUKINET_MODE="development",
        JUKINET_NATIONAL_TIMEOUT_SECONDS="10",
        **national.prefecture_env(),  # the mock's URL, CA, client certificate and the shared keyring
    )
    cs = client_issue_direct(kind="cs", name="川越市CS（信頼性試験）", municipality_code=MUNICIPALITY)
    national_client.set_faults("ok")
    with celery_app_on(broker_url) as app:
        pipe = Pipeline(national=national, redis=private_redis, app=app, client=client, token=cs.token, env=env)
        try:
            pipe.start_worker()
            yield pipe
        finally:
            with contextlib.suppress(national_client.NationalError):
                national_client.set_faults("ok")  # no slow request holds up the warm shutdown
            for worker in pipe.workers:
                worker.stop()


# --- 1. Out of order -------------------------------------------------------------------------


def test_notices_out_of_order_are_applied_and_forwarded_once_in_order(pipeline):
    data = notice_set(240, seed=1)
    rng = random.Random(11)
    # Half the people: every 3, then every 2, then the entries; the other half in any order at all.
    reversed_half = {p.code for p in data.people[::2]}
    backwards = []
    for seq in (3, 2, 1):
        phase = [n for n in data.by_seq[seq] if n["juminhyo_code"] in reversed_half]
        rng.shuffle(phase)
        backwards += phase
    anyhow = [n for n in data.all if n["juminhyo_code"] not in reversed_half]
    rng.shuffle(anyhow)
    sent = []
    for part_a, part_b in itertools.zip_longest(chunks(backwards, 90), chunks(anyhow, 70), fillvalue=[]):
        pipeline.send_all_accepted(part_a + part_b)
        sent += part_a + part_b
    assert sorted(n["notice_id"] for n in sent) == sorted(data.ids)

    pipeline.wait_until_settled(data.ids, timeout=60)
    pipeline.assert_exactly_once_in_order(data.ids)


# --- 2. The same batch twice ---------------------------------------------------------------


def test_the_same_batch_sent_twice_is_applied_and_forwarded_once(pipeline):
    data = notice_set(150, seed=2)
    batch = data.all
    first = pipeline.send_all_accepted(batch)
    second = pipeline.send_all_accepted(batch)
    assert second == first  # the same receipts: the first answer, not a new acceptance

    pipeline.wait_until_settled(data.ids, timeout=60)
    again = pipeline.send_all_accepted(batch)  # once more after everything was applied and forwarded
    assert again == first
    # Give a (wrong) second apply or forward the time to happen before looking.
    pipeline.wait_until_settled(data.ids, timeout=30)
    time.sleep(2)
    pipeline.sweep()
    time.sleep(1)
    pipeline.assert_exactly_once_in_order(data.ids)
    assert InboxNotice.objects.count() == len(data.ids)


# --- 3. The worker killed in the middle of a batch ------------------------------------------


def _kill_when(pipeline: Pipeline, condition, timeout: float, what: str) -> dict:
    deadline = time.monotonic() + timeout
    next_sweep = time.monotonic() + 1
    while time.monotonic() < deadline:
        seen = condition()
        if seen:
            pipeline.worker.kill()
            return seen
        if time.monotonic() > next_sweep:  # a fresh worker gets its work from the sweeper
            pipeline.sweep()
            next_sweep = time.monotonic() + 1
        time.sleep(0.01)
    pytest.fail(f"never saw the worker {what} within {timeout:.0f} s")


def test_a_worker_killed_in_the_middle_of_a_batch_loses_and_doubles_nothing(pipeline):
    data = notice_set(1000, seed=3)
    ids = data.ids
    for seq in (1, 2, 3):
        pipeline.send_all_accepted(data.by_seq[seq])

    def mid_apply():
        # A batch transaction is open (it holds person locks) and some, not all, are applied.
        applied = InboxNotice.objects.filter(state=InboxState.APPLIED).count()
        if 0 < applied < len(ids) and advisory_locks_held(exclude=FORWARD_LOCKS):
            return {"applied": applied}
        return None

    at_kill = _kill_when(pipeline, mid_apply, timeout=40, what="applying")
    after_kill = InboxNotice.objects.filter(state=InboxState.APPLIED).count()
    assert after_kill < len(ids), at_kill  # the killed batch was rolled back, not finished
    # Nothing half-done survived the kill: every applied notice has its outbox row, its
    # current row and (for a change) its history row, and nothing else has any.
    applied = InboxNotice.objects.filter(state=InboxState.APPLIED)
    assert set(OutboxNotice.objects.values_list("notice_id", flat=True)) == set(
        applied.values_list("notice_id", flat=True)
    )
    assert Resident.objects.count() == applied.filter(change_reason="転入").count()
    assert ResidentHistory.objects.count() == applied.exclude(change_reason="転入").count()

    # Kill the next worker while it is sending a batch to a slow national server: the mock
    # records the batch, the worker's transaction dies, the new worker sends it again.
    national_client.set_faults("slow", delay_ms=1500)
    pipeline.start_worker()

    held_since: list[float] = []

    def mid_forward():
        # The forwarder has held its lock long enough to have sent the batch: the mock is in
        # the middle of its delay with the request in hand.
        if not advisory_locks_held(only="forward:honnin"):
            held_since.clear()
            return None
        held_since.append(time.monotonic())
        return {"forwarding": True} if held_since[-1] - held_since[0] > 0.8 else None

    _kill_when(pipeline, mid_forward, timeout=40, what="forwarding")
    national_client.set_faults("ok")
    pipeline.start_worker()
    pipeline.wait_until_settled(ids, timeout=60)
    summary = pipeline.assert_exactly_once_in_order(ids, resends=True)
    assert summary["resent"] > 0, "the batch in flight at the kill should have been sent twice"


# --- 4. The national server down, slow, flaky ------------------------------------------------


def test_the_national_server_down_slow_and_flaky_delays_but_never_loses_or_doubles(pipeline):
    data = notice_set(300, seed=4)
    people = chunks(data.people, 100)
    phases = [
        ("down", {"seconds": 6}),
        ("slow", {"delay_ms": 1200, "seconds": 6}),
        ("flaky", {"rate": 0.5, "seconds": 6}),
    ]
    ids: list[str] = []
    for (mode, options), group in zip(phases, people, strict=True):
        national_client.set_faults(mode, **options)
        codes = {p.code for p in group}
        batch = [n for n in data.all if n["juminhyo_code"] in codes]
        pipeline.send_all_accepted(batch)
        ids += [n["notice_id"] for n in batch]
        end = time.monotonic() + options["seconds"]
        while time.monotonic() < end:  # the fault lasts; the sweeper runs as beat would
            pipeline.sweep()
            time.sleep(1)
    national_client.set_faults("ok")
    failures = OutboxNotice.objects.filter(attempts__gt=0).count()
    assert failures > 0, "the faults should have made the forwarder retry"

    pipeline.wait_until_settled(ids, timeout=60)
    pipeline.assert_exactly_once_in_order(ids, resends=True)


# --- 5. Redis restarted (keep these tests last in the file: they restart the broker) ------------


@contextlib.contextmanager
def redis_down(pipeline: Pipeline):
    """Redis stopped for the block, and started again whatever happens in it."""
    pipeline.redis.stop()
    try:
        yield
    finally:
        if not pipeline.redis.running():
            pipeline.redis.start()


def test_redis_restarted_while_notices_are_applied_loses_and_doubles_nothing(pipeline):
    data = notice_set(300, seed=5)
    ids = data.ids
    pipeline.send_all_accepted(data.by_seq[1] + data.by_seq[2])
    deadline = time.monotonic() + 30
    while InboxNotice.objects.filter(state=InboxState.APPLIED).count() == 0:
        assert time.monotonic() < deadline, "nothing was applied within 30 s"
        time.sleep(0.02)
    with redis_down(pipeline):
        time.sleep(3)  # tasks in progress finish or fail; nothing can be queued meanwhile
    # The worker may die with its broker, at once or a few seconds later (see the next test): a
    # process supervisor starts it again, and what it had in hand must still end applied and
    # forwarded exactly once.
    pipeline.supervise = True
    pipeline.send_all_accepted(data.by_seq[3])  # the API queues its wake-up on the new Redis
    pipeline.wait_until_settled(ids, timeout=60)
    pipeline.assert_exactly_once_in_order(ids)


@pytest.mark.xfail(
    celery.__version__ == "5.7.0",  # a fixed release must pass this test
    strict=True,
    reason=(
        "celery/kombu 5.7.0: when the broker connection is lost while a task is unacknowledged "
        "(acks_late), closing the broken connection restores the unacked messages through a channel "
        "whose transport has no client any more: AttributeError 'NoneType' object has no attribute "
        "'hostname' in kombu/transport/redis.py Channel._connparams escapes ignore_errors() in "
        "Consumer.on_connection_error_after_connected, 'Unrecoverable error', the worker exits 1"
    ),
)
def test_the_worker_survives_a_redis_restart_with_a_task_in_progress(pipeline):
    data = notice_set(20, seed=6)
    national_client.set_faults("slow", delay_ms=4000)  # keeps notices.forward in progress
    pipeline.send_all_accepted(data.by_seq[1])
    deadline = time.monotonic() + 30
    while not advisory_locks_held(only="forward:honnin"):
        assert time.monotonic() < deadline, "the forwarder never started"
        time.sleep(0.02)
    with redis_down(pipeline):
        time.sleep(2)
    national_client.set_faults("ok")
    deadline = time.monotonic() + 40  # the worker retries the broker every 2, 4, 6 … s
    while not pipeline.ping(pipeline.worker):
        assert pipeline.worker.alive(), f"the worker died with its broker: see {pipeline.worker.log_path}"
        assert time.monotonic() < deadline, "the worker did not reconnect to Redis within 40 s"
        time.sleep(0.2)
    ids = [n["notice_id"] for n in data.by_seq[1]]
    pipeline.wait_until_settled(ids, timeout=60)
    pipeline.assert_exactly_once_in_order(ids, resends=True)


def test_notices_sent_while_redis_is_down_are_accepted_at_once_and_applied_later(pipeline):
    data = notice_set(20, seed=7)
    ids = [n["notice_id"] for n in data.by_seq[1]]
    # The wake-up is best effort (jukinet.tasks.wake_on_commit): the rows are committed, and the
    # sweeper queues the work once Redis is back.
    with redis_down(pipeline):
        started = time.monotonic()
        try:
            answer = pipeline.send(data.by_seq[1])
        except Exception as exc:  # the test client re-raises what a server would turn into a 500
            committed = InboxNotice.objects.filter(notice_id__in=ids).count()
            pytest.fail(
                f"the request failed after {time.monotonic() - started:.0f} s with {type(exc).__name__} "
                f"although {committed} of {len(ids)} notices were committed"
            )
        elapsed = time.monotonic() - started
    assert [a["notice_id"] for a in answer["accepted"]] == ids
    assert elapsed < 5, f"the answer took {elapsed:.0f} s"
    pipeline.wait_until_settled(ids, timeout=60)  # the sweeper queues what the API could not
    pipeline.assert_exactly_once_in_order(ids)
