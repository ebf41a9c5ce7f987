"""The duty registry (事務): its seed, ``list_duties``, ``issue_client --duties`` checked against
it, and ``GET /api/provision/v1/duties`` (API.md §3).

Run alone: ``TOX_PARALLEL_ENV=prov .venv/bin/python -m pytest -q tests/test_provision_duties.py``
"""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from audit.models import AccessLogEntry, MachineClient
from audit.services import client_issue_direct
from provision.duty_seed import SEED_DUTIES, seed_if_empty
from provision.models import Duty

pytestmark = pytest.mark.django_db

URL = "/api/provision/v1/duties"


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- The seed -----------------------------------------------------------------------------------


def test_the_registry_starts_with_the_two_duties_the_assessment_names():
    tax = Duty.objects.get(code="5-13")
    assert tax.name == "地方税の賦課徴収又は地方税に関する調査に関する事務"
    assert tax.is_transfer and tax.my_number_allowed and tax.active
    assert "別表第五" in tax.legal_basis and "第30条の15第1項" in tax.legal_basis
    assert tax.files == ["honnin", "fuhyo"]
    assert tax.items == [
        "juminhyo_code",
        "name",
        "name_kana",
        "birth_date",
        "sex",
        "address",
        "change_reason",
        "changed_on",
    ]
    school = Duty.objects.get(code="6-1")
    assert school.name == "教育委員会における特別支援学校への就学のため必要な経費の支弁に関する事務"
    assert not school.is_transfer and school.my_number_allowed
    assert "別表第六" in school.legal_basis and "第30条の15第2項" in school.legal_basis
    assert school.recipient == "教育委員会"


def test_the_seed_has_real_entries_of_both_tables_and_fewer_for_the_fuhyo_file():
    seeded = {d["code"] for d in SEED_DUTIES}
    assert set(Duty.objects.values_list("code", flat=True)) >= seeded
    assert 8 <= len(seeded) <= 12
    assert {c.split("-")[0] for c in seeded} == {"5", "6"}
    fuhyo = {d["code"] for d in SEED_DUTIES if "fuhyo" in d["files"]}
    assert fuhyo == {"5-13", "6-1"}
    assert all(d["legal_basis"].startswith("住民基本台帳法第30条の15") for d in SEED_DUTIES)
    # Some duties may not have the 個人番号, and some are given fewer items.
    assert any(not d["my_number_allowed"] for d in SEED_DUTIES)
    assert any("change_reason" not in d["items"] for d in SEED_DUTIES)


def test_an_emptied_registry_is_seeded_again_but_a_kept_one_is_left_alone():
    Duty.objects.filter(code="6-3").delete()
    assert seed_if_empty(Duty) == 0
    assert not Duty.objects.filter(code="6-3").exists()
    Duty.objects.all().delete()
    assert seed_if_empty(Duty) == len(SEED_DUTIES)
    assert Duty.objects.count() == len(SEED_DUTIES)


# --- list_duties ------------------------------------------------------------------------------------


def test_list_duties_csv_has_the_header_of_api_md_and_one_row_per_active_duty():
    Duty.objects.filter(code="6-3").update(active=False)
    out, _ = run("list_duties", "--format", "csv")
    lines = out.splitlines()
    assert lines[0] == "code,name,legal_basis,my_number_allowed"
    rows = list(csv.DictReader(io.StringIO(out)))
    by_code = {r["code"]: r for r in rows}
    assert "6-3" not in by_code
    assert by_code["5-13"]["name"] == "地方税の賦課徴収又は地方税に関する調査に関する事務"
    assert by_code["5-13"]["my_number_allowed"] == "true"
    assert by_code["6-8"]["my_number_allowed"] == "false"
    assert "別表第六" in by_code["6-1"]["legal_basis"]
    assert len(rows) == Duty.objects.filter(active=True).count()
    codes = [r["code"] for r in rows]
    assert codes.index("5-2") < codes.index("5-13") < codes.index("6-1")  # the law's order, not text order
    out, _ = run("list_duties", "--format", "csv", "--include-inactive")
    assert "6-3," in out


def test_list_duties_reads_well_by_default():
    Duty.objects.filter(code="6-3").update(active=False)
    out, _ = run("list_duties", "--include-inactive")
    assert "5-13  地方税の賦課徴収又は地方税に関する調査に関する事務" in out
    assert "根拠: 住民基本台帳法第30条の15第1項" in out
    assert "（停止中）" in out
    assert "個人番号: 可" in out and "個人番号: 不可" in out


# --- issue_client checks the codes against the registry -------------------------------------------------


def test_issue_client_takes_registered_duties():
    out, _ = run("issue_client", "--kind", "body", "--name", "教育委員会", "--duties", "6-1,6-5")
    assert len(out.strip()) >= 40  # the token, shown once
    assert MachineClient.objects.get(name="教育委員会").duty_codes == ["6-1", "6-5"]


@pytest.mark.parametrize("duties", ["6-1,6-99", "6-99", "J-1", "5-13,5-999"])
def test_issue_client_refuses_codes_not_in_the_registry(duties):
    with pytest.raises(CommandError, match="事務の登録簿にない") as caught:
        run("issue_client", "--kind", "body", "--name", "教育委員会", "--duties", duties)
    assert "E_DUTY_NOT_REGISTERED" in str(caught.value)
    assert not MachineClient.objects.filter(name="教育委員会").exists()


def test_issue_client_refuses_an_inactive_duty():
    Duty.objects.filter(code="6-5").update(active=False)
    with pytest.raises(CommandError, match="6-5"):
        run("issue_client", "--kind", "body", "--name", "教育委員会", "--duties", "6-1,6-5")


def test_issue_client_still_refuses_malformed_codes_with_the_format_message():
    with pytest.raises(CommandError, match="「6-1」の形式"):
        run("issue_client", "--kind", "body", "--name", "教育委員会", "--duties", "drop table")


# --- GET /api/provision/v1/duties ----------------------------------------------------------------


def get(client, token):
    return client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_body_sees_its_own_active_registered_duties_only(client):
    board = client_issue_direct(kind="body", name="教育委員会", duty_codes=["6-1", "6-3", "6-5"])
    client_issue_direct(kind="body", name="税務局", duty_codes=["5-13"])
    Duty.objects.filter(code="6-5").update(active=False)
    response = get(client, board.token)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    duties = response.json()["duties"]
    assert [d["code"] for d in duties] == ["6-1", "6-3"]
    first = duties[0]
    assert set(first) >= {"code", "name", "legal_basis", "my_number_allowed"}
    assert first["my_number_allowed"] is True and duties[1]["my_number_allowed"] is False
    assert first["files"] == ["honnin", "fuhyo"]
    assert first["name"] == "教育委員会における特別支援学校への就学のため必要な経費の支弁に関する事務"


def test_a_cs_is_refused_the_duty_list_and_the_refusal_is_logged(client):
    cs = client_issue_direct(kind="cs", name="川越市CS", municipality_code="112011")
    response = get(client, cs.token)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "E_CLIENT_NOT_PERMITTED"
    assert AccessLogEntry.objects.filter(
        action="provision.duties", outcome="refused", actor=cs.client.client_id
    ).exists()


def test_revoked_unknown_and_missing_credentials_get_401(client):
    board = client_issue_direct(kind="body", name="教育委員会", duty_codes=["6-1"])
    MachineClient.objects.filter(pk=board.client.pk).update(state="revoked")
    for response in (get(client, board.token), get(client, "nope"), client.get(URL)):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "E_UNAUTHENTICATED"


def test_the_duty_list_is_read_only(client):
    board = client_issue_direct(kind="body", name="教育委員会", duty_codes=["6-1"])
    response = client.post(URL, data="{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {board.token}")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "E_METHOD_NOT_ALLOWED"
