import csv
import io

import pytest

from audit import access_log, context
from audit.models import AccessLogEntry


def _seed_entries():
    with context.acting(actor_kind="operator", actor="someone", terminal="TM0099"):
        access_log.log_event(action="honnin.search", target_file="honnin", target_code="12345678906", duty="5-1")
        access_log.log_event(action="honnin.view", target_file="honnin", target_code="12345678906")
        access_log.log_refusal(action="honnin.reveal", target_code="23456789014", detail="権限なし")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["auditor", "sysadmin"])
def test_auditors_and_system_administrators_read_the_log(staff_client, role):
    _seed_entries()
    client = staff_client(role)
    page = client.get("/audit/log/", {"target": "12345678906"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "honnin.search" in text and "honnin.view" in text and "honnin.reveal" not in text
    assert AccessLogEntry.objects.filter(action="audit_log.view", actor=client.operator.login_id).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["gyomu", "kaiji", "teikyo", "secadmin"])
def test_other_roles_cannot_read_the_log_and_the_refusal_is_logged(staff_client, role):
    client = staff_client(role)
    assert client.get("/audit/log/").status_code == 403
    assert client.get("/audit/log/export").status_code == 403
    assert AccessLogEntry.objects.filter(actor=client.operator.login_id, outcome="refused").count() == 2


@pytest.mark.django_db
def test_the_export_is_a_csv_of_the_filtered_view_and_is_logged(staff_client):
    _seed_entries()
    client = staff_client("auditor")
    response = client.get("/audit/log/export", {"outcome": "refused", "actor": "someone"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["action"] for r in rows] == ["honnin.reveal"]
    assert AccessLogEntry.objects.filter(action="audit_log.export", outcome="ok").exists()


@pytest.mark.django_db
def test_an_export_above_the_large_output_threshold_asks_for_prior_approval(staff_client, settings):
    settings.LARGE_OUTPUT_ROWS = 1
    _seed_entries()
    client = staff_client("auditor")
    response = client.get("/audit/log/export", {"actor": "someone"})
    assert response.status_code == 302 and response["Location"].startswith("/exports/X")
    assert AccessLogEntry.objects.filter(action="export.request").exists()
    assert not AccessLogEntry.objects.filter(action="audit_log.export", outcome="ok").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"actor": "<script>alert(1)</script>"},
        {"target": "x" * 5000},
        {"since": "2026-13-45"},
        {"since": "2026-11-02", "until": "2026-11-01"},
        {"outcome": "maybe"},
        {"action": "' OR 1=1 --"},
        {"until": "9999-12-31"},
        {"since": "0001-01-01"},
    ],
    ids=["script", "oversized", "bad-date", "reversed", "bad-choice", "sql", "last-day", "first-day"],
)
def test_hostile_filters_get_a_japanese_error_not_a_500(staff_client, query):
    client = staff_client("auditor")
    response = client.get("/audit/log/", query)
    assert response.status_code == 200
    text = response.content.decode()
    assert "<script>alert(1)</script>" not in text
    assert any(m in text for m in ("半角英数字", "日付", "終了日", "正しく", "選択", "範囲"))


@pytest.mark.django_db
def test_the_list_page_does_not_grow_queries_with_rows(staff_client, django_assert_max_num_queries):
    client = staff_client("auditor")
    for _ in range(40):
        _seed_entries()
    with django_assert_max_num_queries(15):
        assert client.get("/audit/log/").status_code == 200
