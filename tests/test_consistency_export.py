"""A consistency check's differences as CSV from the staff page: small ones at once (logged),
large ones through a system administrator's prior approval (audit.exports), and only for an
operator with the file's duty."""

from __future__ import annotations

import csv
import io

import pytest
from consistency_sets import HONNIN_COLUMNS, csv_body, honnin_row
from people import make_resident, my_number_for, next_code

from audit.approvals import approval_decide
from audit.exports import export_produce
from audit.models import AccessLogEntry, ExportFile
from audit.services import client_issue_direct
from jukinet import consistency as services


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def done_check(db):
    cs = client_issue_direct(kind="cs", name="川越市CS", municipality_code="112011")
    people = [make_resident(municipality_code="112011", my_number=my_number_for(300 + i)) for i in range(3)]
    rows = [honnin_row(p, my_number_for(300 + i)) for i, p in enumerate(people)]
    rows[1]["address"] = "埼玉県川越市大字笠幡１番地"
    for i in range(4):
        rows.append(honnin_row(people[0], None, juminhyo_code=next_code(), name=f"新規　{i}"))
    body = io.BytesIO(csv_body(rows, HONNIN_COLUMNS))
    check = services.consistency_receive(file="honnin", client=cs.client, read=body.read, content_length=0)
    assert services.consistency_compare(check_id=check.check_id) == "done"
    return check


def _rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.django_db
def test_a_small_differences_list_downloads_at_once_and_is_logged(staff_client, done_check, settings):
    settings.LARGE_OUTPUT_ROWS = 100
    client = staff_client("gyomu")
    response = client.post(f"/consistency/{done_check.check_id}/export")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    rows = _rows(response)
    assert len(rows) == 5 and {r["kind"] for r in rows} == {"missing_here", "different"}
    entry = AccessLogEntry.objects.get(action="consistency.differences_export", outcome="ok")
    assert entry.target_code == done_check.check_id and "5件" in entry.detail
    assert not ExportFile.objects.exists()


@pytest.mark.django_db
def test_a_large_differences_list_needs_prior_approval_and_is_copied_by_a_system_administrator(
    staff_client, done_check, settings
):
    settings.LARGE_OUTPUT_ROWS = 2
    client = staff_client("gyomu")
    response = client.post(f"/consistency/{done_check.check_id}/export")
    export = ExportFile.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exports/{export.export_id}/"
    assert export.kind == "consistency_differences" and export.row_count == 5 and export.state == "awaiting"
    assert export.approval.kind == "export" and export.approval.state == "pending"
    assert not AccessLogEntry.objects.filter(action="consistency.differences_export", outcome="ok").exists()
    # Approved by a system administrator (not the requester), produced, and its file holds the list.
    approval_decide(approval=export.approval, operator=_sysadmin(), approve=True, note="市町村課で照合")
    assert export_produce(export_id=export.export_id) == "ready"
    export.refresh_from_db()
    with open(export.file_path, encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5


def _sysadmin():
    from audit.models import IdentityState, Operator

    return Operator.objects.create(
        login_id="export-admin",
        staff_number="S-EXPORT",
        full_name="出力 管理者",
        department="情報政策課",
        roles=["sysadmin"],
        state=IdentityState.ACTIVE,
        must_change_password=False,
    )


@pytest.mark.django_db
def test_an_operator_without_the_file_duty_gets_no_list(staff_client, done_check, settings):
    settings.LARGE_OUTPUT_ROWS = 100
    client = staff_client("gyomu", duties=["fuhyo"])
    response = client.post(f"/consistency/{done_check.check_id}/export")
    assert response.status_code == 403
    assert AccessLogEntry.objects.filter(action="consistency.differences_export", outcome="refused").exists()
    assert not ExportFile.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("check_id", ["C20261101-NOPE0000", "../../etc/passwd", "C" * 300, "%00"])
def test_an_unknown_or_hostile_check_id_is_a_404(staff_client, check_id):
    response = staff_client("gyomu").post(f"/consistency/{check_id}/export")
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["kaiji", "teikyo", "auditor", "secadmin"])
def test_other_roles_are_refused_and_logged(staff_client, done_check, role):
    client = staff_client(role)
    assert client.post(f"/consistency/{done_check.check_id}/export").status_code == 403
    assert AccessLogEntry.objects.filter(actor=client.operator.login_id, outcome="refused").exists()
