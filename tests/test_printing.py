"""jukinet/printing.py and the print ledger: every print is recorded, with a reason, for good."""

import io
import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from pdfminer.high_level import extract_text

from audit import context
from audit.models import AccessLogEntry
from jukinet import pdf, printing
from jukinet.errors import InvalidInput, PermissionRefused
from jukinet.models import PrintRecord

NAME = "髙﨑 花子"
CODES = ["12345678906", "23456789014"]


def _print(**overrides) -> tuple[PrintRecord, bytes]:
    arguments = {
        "kind": "result_list",
        "file": "honnin",
        "target_codes": CODES,
        "reason": "  開示請求（受付番号 R8-0012）への対応  ",
        "title": "本人確認情報 検索結果一覧",
        "form_number": "住基-検2",
        "blocks": [pdf.Table(["住民票コード", "氏名"], [[code, NAME] for code in CODES])],
        **overrides,
    }
    with context.acting(actor_kind="operator", actor="op-printer", terminal="TM0042", request_id="r-1"):
        return printing.print_document(**arguments)


@pytest.mark.django_db
def test_a_print_is_recorded_with_who_what_when_why_and_how_many_pages():
    before = timezone.now()
    record, data = _print(purpose="disclosure")
    record.refresh_from_db()
    assert re.fullmatch(rf"P{timezone.localtime(record.printed_at).year}-\d{{7}}", record.serial)
    assert record.serial.endswith(f"{record.id:07d}")
    assert record.printed_at >= before
    assert record.actor == "op-printer" and record.terminal == "TM0042"
    assert record.kind == "result_list" and record.file == "honnin"
    assert record.target_codes == CODES and record.record_count == 2
    assert record.reason == "開示請求（受付番号 R8-0012）への対応"  # stripped
    assert record.purpose == "disclosure"
    assert record.pages == 1 and record.gaiji_marked == 0

    text = extract_text(io.BytesIO(data))
    assert f"印刷番号 {record.serial}" in text and NAME in text

    entry = AccessLogEntry.objects.get(action="record.print")
    assert entry.actor == "op-printer" and entry.terminal == "TM0042"
    assert entry.target_file == "honnin" and entry.target_code == CODES[0]
    assert entry.duty == "disclosure"
    assert record.serial in entry.detail and "1ページ" in entry.detail and "2件" in entry.detail
    # Never a name, never the reason's free text.
    assert NAME not in entry.detail and "受付番号" not in entry.detail


@pytest.mark.django_db
def test_each_print_gets_its_own_increasing_serial_and_the_log_duty_defaults_to_the_kind():
    first, _ = _print()
    second, _ = _print(kind="record", target_codes=CODES[:1], blocks=[pdf.KeyValues([("氏名", NAME)])])
    assert first.serial != second.serial and second.id > first.id
    assert list(AccessLogEntry.objects.filter(action="record.print").values_list("duty", flat=True).order_by("id")) == [
        "result_list",
        "record",
    ]


@pytest.mark.django_db
def test_the_count_of_geta_is_kept_in_the_ledger():
    record, _ = _print(blocks=[pdf.KeyValues([("氏名", "\U00020bb7田 \ue000子")])])
    assert record.gaiji_marked == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reason",
    ["", "   ", None, "x" * 201, "一行目\n二行目", "NUL\x00", "見えない\u202e文字"],
    ids=["empty", "blank", "none", "too-long", "newline", "nul", "bidi"],
)
def test_a_print_without_a_usable_reason_is_refused_and_nothing_is_written(reason):
    with pytest.raises(InvalidInput) as caught:
        _print(reason=reason)
    assert caught.value.code == "E_PRINT_REASON" and caught.value.field == "reason"
    assert "理由" in caught.value.message
    assert not PrintRecord.objects.exists()
    assert not AccessLogEntry.objects.filter(action="record.print").exists()


@pytest.mark.django_db
def test_a_reason_of_exactly_200_characters_is_accepted():
    record, _ = _print(reason="理" * 200)
    assert len(record.reason) == 200


@pytest.mark.django_db
def test_a_print_nobody_can_be_asked_about_is_refused():
    with pytest.raises(PermissionRefused):
        printing.print_document(
            kind="record", file="honnin", target_codes=CODES[:1], reason="確認", title="t", form_number="", blocks=[]
        )
    assert not PrintRecord.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [{"target_codes": ["1234"]}, {"target_codes": ["1234567890a"]}, {"kind": "poster"}, {"file": "other"}],
    ids=["short-code", "letter-in-code", "kind", "file"],
)
def test_bad_arguments_are_programming_errors(overrides):
    with pytest.raises(ValueError):
        _print(**overrides)
    assert not PrintRecord.objects.exists()


@pytest.mark.django_db
def test_a_print_that_cannot_render_leaves_no_record_and_no_log(settings, tmp_path):
    settings.PDF_FONT_FILE = str(tmp_path / "missing.ttf")
    with pytest.raises(pdf.PdfConfigurationError):
        _print()
    assert not PrintRecord.objects.exists()
    assert not AccessLogEntry.objects.filter(action="record.print").exists()


@pytest.mark.django_db
def test_the_database_refuses_to_change_or_delete_a_print_record():
    record, _ = _print()
    attempts = [
        lambda: PrintRecord.objects.filter(pk=record.pk).update(pages=0),
        lambda: PrintRecord.objects.filter(pk=record.pk).update(reason="書き換え"),
        lambda: PrintRecord.objects.filter(pk=record.pk).delete(),
        lambda: record.delete(),
    ]

    def raw_update():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE jukinet_printrecord SET actor = 'someone-else'")

    def raw_delete():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM jukinet_printrecord")

    record.pages = 99
    attempts += [record.save, raw_update, raw_delete]
    for attempt in attempts:
        with pytest.raises(IntegrityError), transaction.atomic():
            attempt()
    record.refresh_from_db()
    assert record.pages == 1 and record.actor == "op-printer"


# --- The ledger page ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["sysadmin", "auditor"])
def test_system_administrators_and_auditors_read_the_ledger_without_names(staff_client, role):
    record, _ = _print()
    client = staff_client(role)
    response = client.get("/prints/")
    assert response.status_code == 200
    page = response.content.decode()
    for shown in (record.serial, "op-printer", "TM0042", "検索結果一覧の印刷", "本人確認情報", record.reason):
        assert shown in page
    assert NAME not in page and CODES[0] not in page
    entry = AccessLogEntry.objects.get(action="print.ledger.view")
    assert entry.actor == client.operator.login_id and entry.outcome == "ok"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["gyomu", "kaiji", "teikyo", "secadmin"])
def test_other_roles_cannot_read_the_ledger_and_the_refusal_is_logged(staff_client, role):
    _print()
    client = staff_client(role)
    response = client.get("/prints/")
    assert response.status_code == 403
    assert "P20" not in response.content.decode()
    assert AccessLogEntry.objects.filter(actor=client.operator.login_id, action="print.ledger", outcome="refused")
    assert not AccessLogEntry.objects.filter(action="print.ledger.view").exists()


@pytest.mark.django_db
def test_the_ledger_needs_a_login(client):
    response = client.get("/prints/")
    assert response.status_code in (302, 403)
    assert "P20" not in response.content.decode()


@pytest.mark.django_db
def test_the_ledger_is_get_only(staff_client):
    assert staff_client("auditor").post("/prints/").status_code == 405


@pytest.mark.django_db
def test_the_ledger_filters_by_operator_and_date(staff_client):
    mine, _ = _print()
    with context.acting(actor_kind="operator", actor="op-other", terminal="TM0001"):
        theirs, _ = printing.print_document(
            kind="record",
            file="fuhyo",
            target_codes=CODES[1:],
            reason="問合せ対応",
            title="t",
            form_number="",
            blocks=[],
        )
    client = staff_client("auditor")
    page = client.get("/prints/", {"actor": "op-other"}).content.decode()
    assert theirs.serial in page and mine.serial not in page
    today = timezone.localdate().isoformat()
    page = client.get("/prints/", {"since": today, "until": today}).content.decode()
    assert theirs.serial in page and mine.serial in page
    page = client.get("/prints/", {"until": "2020-01-01"}).content.decode()
    assert theirs.serial not in page and "該当する印刷記録はありません" in page


@pytest.mark.django_db
def test_the_ledger_pages_in_a_fixed_number_of_queries(staff_client, django_assert_max_num_queries, monkeypatch):
    from jukinet import views_prints

    monkeypatch.setattr(views_prints, "PAGE_SIZE", 3)
    for _ in range(7):
        _print()
    client = staff_client("sysadmin")
    with django_assert_max_num_queries(20):
        first = client.get("/prints/").content.decode()
    assert "1/3ページ" in first
    last = client.get("/prints/", {"page": "3"}).content.decode()
    assert last.count("<code>P20") == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"actor": "<script>alert(1)</script>"},
        {"actor": "x" * 5000},
        {"since": "2026-13-45"},
        {"since": "2026-11-02", "until": "2026-11-01"},
        {"until": "9999-12-31"},
        {"since": "0001-01-01"},
        {"actor": "' OR 1=1 --"},
    ],
    ids=["script", "oversized", "bad-date", "reversed", "last-day", "first-day", "sql"],
)
def test_hostile_filters_get_a_japanese_error_not_a_500(staff_client, query):
    response = staff_client("auditor").get("/prints/", query)
    assert response.status_code == 400
    page = response.content.decode()
    assert "<script>alert(1)</script>" not in page
    assert re.search(r"入力|日付|終了日", page)
