"""整合性確認 through a real Celery worker: a set posted to the API is compared by the worker, for
both files; a comparison left in "comparing" (its worker gone) is resumed by the sweep and
writes nothing twice; waking a finished check again changes nothing.

The worker is a `celery worker` subprocess on pytest-django's test database, consuming a queue
of this module's own (``consistency.*`` tasks are routed there while the module runs), so no
other test run's worker can take — or hand us — a check.
"""

from __future__ import annotations

import time

import pytest
from consistency_sets import FUHYO_COLUMNS, HONNIN_COLUMNS, csv_body, fuhyo_row, honnin_row
from people import make_fuhyo, make_resident, my_number_for, next_code

from audit.models import AccessLogEntry
from audit.services import client_issue_direct
from jukinet import consistency as services
from jukinet import consistency_compare
from jukinet.models import ConsistencyCheck, ConsistencyDifference
from tests.worker_fixtures import private_worker, worker_env

URL = "/api/cs/v1/{file}/consistency"


@pytest.fixture(scope="module")
def consistency_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real Celery worker (solo pool) on a private queue, for this module's checks."""
    with django_db_blocker.unblock():
        env = worker_env()
    log_dir = tmp_path_factory.mktemp("consistency-worker")
    with private_worker("consistency-test", ["consistency.*"], log_dir, env=env) as proc:
        yield proc


def wait_for(check_id: str, state: str = "done", seconds: float = 60) -> ConsistencyCheck:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        check = ConsistencyCheck.objects.get(check_id=check_id)
        if check.state == state:
            return check
        time.sleep(0.2)
    raise AssertionError(f"check {check_id} is {check.state}, not {state}, after {seconds} s")


@pytest.fixture
def cs(transactional_db):
    return client_issue_direct(kind="cs", name="川越市CS", municipality_code="112011")


def post(client, cs, body: bytes, file: str = "honnin"):
    response = client.post(
        URL.format(file=file), data=body, content_type="text/csv", HTTP_AUTHORIZATION=f"Bearer {cs.token}"
    )
    assert response.status_code == 202, response.content
    return response.json()["check_id"]


def kawagoe_set(size: int = 40) -> tuple[list[dict], dict]:
    """``size`` residents of 川越市; the CS's copy changes a few of them (see the counts)."""
    rows, people = [], []
    for i in range(size):
        number = my_number_for(20_000 + i)
        fields = {"former_surname": "鈴木", "former_surname_kana": "スズキ"} if i == 3 else {}
        if i == 4:
            fields["name"] = "\ue001田　花子"  # a 外字 in the Private Use Area
        resident = make_resident(municipality_code="112011", my_number=number, **fields)
        people.append((resident, number))
        rows.append(honnin_row(resident, number))
    rows[1]["address"] = "埼玉県川越市脇田町１番"  # different: address
    rows[2]["my_number"] = my_number_for(29_999)  # different: my_number
    rows[3]["former_surname"] = "佐藤"  # different: 旧氏
    rows[4]["name"] = "\ue002田　花子"  # different: another 外字
    del rows[5]  # missing there
    rows.append(honnin_row(people[0][0], None, juminhyo_code=next_code(), name="新井　一"))  # missing here
    expected = {"matched": size - 5, "different": 4, "missing_here": 1, "missing_there": 1, "code_differs": 0}
    return rows, expected


def test_a_honnin_set_posted_to_the_api_is_compared_by_a_real_worker(client, cs, consistency_worker):
    rows, expected = kawagoe_set()
    check_id = post(client, cs, csv_body(rows, HONNIN_COLUMNS))
    check = wait_for(check_id)
    assert check.counts == expected
    assert check.progress == 1.0 and check.slices_done == consistency_compare.SLICES
    items = dict(ConsistencyDifference.objects.filter(kind="different").values_list("juminhyo_code", "items"))
    assert sorted(map(tuple, items.values())) == [("address",), ("former_surname",), ("my_number",), ("name",)]
    assert services.consistency_differences_count(check_id) == 6
    actors = set(AccessLogEntry.objects.filter(target_code=check_id).values_list("action", "actor"))
    assert ("consistency.done", "consistency-worker") in actors


def test_a_fuhyo_set_is_compared_by_a_real_worker(client, cs, consistency_worker):
    records = [make_fuhyo(managing_municipality_code="112011") for _ in range(5)]
    rows = [fuhyo_row(r) for r in records[1:]]
    rows[0]["address"] = "アメリカ合衆国ハワイ州ホノルル市"
    check_id = post(client, cs, csv_body(rows, FUHYO_COLUMNS), file="fuhyo")
    check = wait_for(check_id)
    assert check.counts == {"matched": 3, "different": 1, "missing_here": 0, "missing_there": 1, "code_differs": 0}


def test_the_sweep_resumes_a_check_left_comparing_and_nothing_is_written_twice(
    client, cs, consistency_worker, monkeypatch
):
    rows, expected = kawagoe_set(60)
    # The wake-up message is lost: nothing queues the comparison.
    monkeypatch.setattr(services, "wake_on_commit", lambda *args, **kwargs: None)
    check_id = post(client, cs, csv_body(rows, HONNIN_COLUMNS))
    assert ConsistencyCheck.objects.get(check_id=check_id).state == "received"

    # A worker (this process) compares three slices and dies on the fourth.
    real_slice = consistency_compare.compare_slice

    def dying(cursor, **kwargs):
        if kwargs["k"] == 3:
            raise KeyboardInterrupt("the worker dies here")
        return real_slice(cursor, **kwargs)

    monkeypatch.setattr(consistency_compare, "compare_slice", dying)
    with pytest.raises(KeyboardInterrupt):
        services.consistency_compare(check_id=check_id)
    monkeypatch.setattr(consistency_compare, "compare_slice", real_slice)
    left = ConsistencyCheck.objects.get(check_id=check_id)
    assert left.state == "comparing" and left.slices_done == 3 and 0 < left.progress < 1
    written = ConsistencyDifference.objects.filter(consistency_check=left).count()

    # The beat sweeper finds it orphaned (nobody holds its lock) and the real worker resumes it.
    assert services.consistency_sweep()["woken"] == 1
    check = wait_for(check_id)
    assert check.counts == expected
    codes = list(ConsistencyDifference.objects.filter(consistency_check=check).values_list("juminhyo_code", flat=True))
    assert len(codes) == len(set(codes)) == 6 >= written
    resumed = AccessLogEntry.objects.get(action="consistency.resume", target_code=check_id)
    assert "3/20" in resumed.detail

    # Waking it again (a redelivered message, another sweep) changes nothing.
    from jukinet.tasks import wake
    from jukinet.tasks_consistency import consistency_compare as compare_task

    wake(compare_task, check_id)
    assert services.consistency_sweep()["woken"] == 0
    time.sleep(1.0)
    again = ConsistencyCheck.objects.get(check_id=check_id)
    assert (again.state, again.counts, again.finished_at) == ("done", expected, check.finished_at)
    assert ConsistencyDifference.objects.filter(consistency_check=check).count() == 6
