"""The staff pages of 整合性確認: the checks, one check's progress and its differences (50 a page,
by kind), the JSON status the progress script polls; who may see what (the role, and the file
duty for the differences); every view of differences logged; the sweep's erasure after
CONSISTENCY_KEEP_DAYS on a moved clock."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from consistency_sets import HONNIN_COLUMNS, csv_body, honnin_row
from django.db import connection
from people import make_resident, my_number_for, next_code

from audit.models import AccessLogEntry
from audit.services import client_issue_direct
from jukinet import consistency as services
from jukinet import consistency_stage
from jukinet.errors import NotFound
from jukinet.models import ConsistencyCheck, ConsistencyDifference

MISSING_HERE = 57  # more than one page of 50


def receive(cs, rows) -> ConsistencyCheck:
    body = io.BytesIO(csv_body(rows, HONNIN_COLUMNS))
    return services.consistency_receive(file="honnin", client=cs.client, read=body.read, content_length=0)


@pytest.fixture
def cs(db):
    return client_issue_direct(kind="cs", name="川越市CS", municipality_code="112011")


@pytest.fixture
def done_check(cs):
    """A compared check: 3 matched, 1 different (address), 57 missing here, 1 missing there (59 lines)."""
    people = [make_resident(municipality_code="112011", my_number=my_number_for(100 + i)) for i in range(5)]
    rows = [honnin_row(p, my_number_for(100 + i)) for i, p in enumerate(people)]
    rows[1]["address"] = "埼玉県川越市大字笠幡１番地"
    del rows[4]
    for i in range(MISSING_HERE):
        rows.append(honnin_row(people[0], None, juminhyo_code=next_code(), name=f"新規　{i}"))
    check = receive(cs, rows)
    assert services.consistency_compare(check_id=check.check_id) == "done"
    check.refresh_from_db()
    check.people = people
    return check


@pytest.mark.django_db
def test_the_list_shows_each_check_with_its_state_progress_and_counts(staff_client, done_check):
    response = staff_client("gyomu").get("/consistency/")
    assert response.status_code == 200
    text = response.content.decode()
    assert done_check.check_id in text and "完了" in text and "川越市" in text
    assert '<progress max="1" value="1.0000"' in text
    assert f'<td data-field="missing_here">{MISSING_HERE}</td>' in text
    assert AccessLogEntry.objects.filter(action="consistency.view", outcome="ok").exists()


@pytest.mark.django_db
def test_a_check_page_shows_the_differences_fifty_a_page_and_filtered_by_kind(staff_client, done_check):
    client = staff_client("gyomu")
    url = f"/consistency/{done_check.check_id}/"
    first = client.get(url).content.decode()
    assert "59件" in first and "1/2ページ" in first
    assert first.count("<tr>\n    <td>") == 50
    second = client.get(url, {"page": 2}).content.decode()
    assert second.count("<tr>\n    <td>") == 9
    different = client.get(url, {"kind": "different"}).content.decode()
    assert done_check.people[1].juminhyo_code in different and "住所" in different and "1件" in different
    there = client.get(url, {"kind": "missing_there"}).content.decode()
    assert done_check.people[4].juminhyo_code in there
    views = AccessLogEntry.objects.filter(action="consistency.differences_view", target_code=done_check.check_id)
    assert views.count() == 4 and all("件" in v.detail for v in views)
    # Codes, kinds and item names only: no name, no address, no 個人番号 on the page.
    for page in (first, second, different, there):
        assert "佐藤" not in page and "元町" not in page and my_number_for(101) not in page


@pytest.mark.django_db
def test_a_bad_kind_is_a_form_error_not_a_crash(staff_client, done_check):
    response = staff_client("gyomu").get(f"/consistency/{done_check.check_id}/", {"kind": "<script>"})
    assert response.status_code == 400
    assert "正しく選択してください" in response.content.decode() or "選択" in response.content.decode()


@pytest.mark.django_db
def test_an_operator_without_the_file_duty_sees_the_counts_but_not_the_differences(staff_client, done_check):
    client = staff_client("gyomu", duties=["fuhyo"])
    url = f"/consistency/{done_check.check_id}/"
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "担当ではないため" in text and done_check.people[1].juminhyo_code not in text
    assert f'<td data-field="missing_here">{MISSING_HERE}</td>' in text
    asked = client.get(url, {"kind": "different"})
    assert asked.status_code == 403 and done_check.people[1].juminhyo_code not in asked.content.decode()
    assert AccessLogEntry.objects.filter(
        action="consistency.differences_view", outcome="refused", actor=client.operator.login_id
    ).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["kaiji", "teikyo", "auditor", "secadmin"])
def test_other_roles_are_refused_and_the_refusal_is_logged(staff_client, done_check, role):
    client = staff_client(role)
    for url in ("/consistency/", f"/consistency/{done_check.check_id}/", f"/consistency/{done_check.check_id}/status"):
        assert client.get(url).status_code == 403, url
    assert AccessLogEntry.objects.filter(actor=client.operator.login_id, outcome="refused").count() == 3


@pytest.mark.django_db
def test_a_sysadmin_sees_the_checks(staff_client, done_check):
    assert staff_client("sysadmin").get(f"/consistency/{done_check.check_id}/").status_code == 200


@pytest.mark.django_db
def test_the_status_view_answers_the_progress_script_in_json(staff_client, done_check):
    client = staff_client("gyomu")
    status = client.get(f"/consistency/{done_check.check_id}/status").json()
    assert status["state"] == "done" and status["state_label"] == "完了" and status["progress"] == 1.0
    assert status["counts"]["missing_here"] == MISSING_HERE
    assert client.get("/consistency/C20261101-SAMPLE00/status").status_code == 404
    assert client.get("/consistency/C20261101-SAMPLE00/").status_code == 404


@pytest.mark.django_db
def test_a_check_being_compared_offers_a_reload_link_and_the_progress_script(staff_client, cs):
    resident = make_resident(municipality_code="112011", my_number=my_number_for(7))
    check = receive(cs, [honnin_row(resident, my_number_for(7))])
    text = staff_client("gyomu").get(f"/consistency/{check.check_id}/").content.decode()
    assert "受付済" in text and "再読み込み" in text and "data-check-live" in text
    assert "/static/jukinet/consistency.js" in text
    assert "相違はありません" not in text  # no differences before the comparison


# --- The functions the large-output mechanism calls -----------------------------------------------


@pytest.mark.django_db
def test_the_differences_csv_and_count_for_the_large_output_mechanism(done_check, cs):
    lines = list(services.consistency_differences_csv(done_check.check_id))
    text = "".join(lines)
    assert text.splitlines()[0] == "juminhyo_code,kind,items,counterpart_code,note"
    assert services.consistency_differences_count(done_check.check_id) == len(text.splitlines()) - 1 == 59
    assert f"{done_check.people[1].juminhyo_code},different,address,," in text
    with pytest.raises(NotFound):
        services.consistency_differences_count("C20261101-SAMPLE00")
    resident = make_resident(municipality_code="112011")
    pending = receive(cs, [honnin_row(resident, None)])
    with pytest.raises(services.CheckNotDone):
        services.consistency_differences_csv(pending.check_id)


# --- Retention of the staged rows and of the differences -------------------------------------------


def stage_exists(check: ConsistencyCheck) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [consistency_stage.table_name(check.pk)])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_staged_rows_go_when_the_comparison_ends_and_the_differences_after_the_keep_days(done_check, settings):
    assert not stage_exists(done_check)
    settings.CONSISTENCY_KEEP_DAYS = 30
    finished = done_check.finished_at
    with time_machine.travel(finished + dt.timedelta(days=29), tick=False):
        assert services.consistency_sweep()["erased"] == 0
    assert ConsistencyDifference.objects.filter(consistency_check=done_check).count() == 59
    with time_machine.travel(finished + dt.timedelta(days=30, minutes=1), tick=False):
        assert services.consistency_sweep()["erased"] == 1
        assert services.consistency_sweep()["erased"] == 0  # once
    assert not ConsistencyDifference.objects.filter(consistency_check=done_check).exists()
    done_check.refresh_from_db()
    assert done_check.erased_at is not None and done_check.counts["missing_here"] == MISSING_HERE  # the record stays
    entry = AccessLogEntry.objects.get(action="consistency.erase", target_code=done_check.check_id)
    assert "59件" in entry.detail and entry.actor == "consistency-sweep"
    with pytest.raises(services.CheckErased):
        services.consistency_differences_csv(done_check.check_id)


@pytest.mark.django_db
def test_the_sweep_drops_a_staging_table_left_behind_and_fails_a_check_whose_staged_rows_were_lost(cs, done_check):
    # A staging table of a finished check (as a crash between two statements could leave).
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {consistency_stage.table_name(done_check.pk)} (line integer)")
    resident = make_resident(municipality_code="112011")
    pending = receive(cs, [honnin_row(resident, None)])
    assert services.consistency_sweep()["dropped"] == 1
    assert not stage_exists(done_check) and stage_exists(pending)
    # An unlogged staging table is emptied by a crash: the comparison fails the check, asking again.
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {consistency_stage.table_name(pending.pk)}")
    assert services.consistency_compare(check_id=pending.check_id) == "failed"
    pending.refresh_from_db()
    assert pending.error_code == "E_CHECK_STAGE_LOST" and not stage_exists(pending)


@pytest.mark.django_db
def test_the_list_and_the_differences_page_do_not_query_per_row(staff_client, done_check, cs):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    client = staff_client("gyomu")

    def queries(url: str) -> int:
        with CaptureQueriesContext(db) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    one = queries("/consistency/")
    for n in range(3):
        resident = make_resident(municipality_code="112011")
        receive(cs, [honnin_row(resident, None, name=f"追加　{n}")])
    assert queries("/consistency/") == one
    detail = f"/consistency/{done_check.check_id}/"
    assert queries(detail) == queries(detail + "?kind=missing_here")
