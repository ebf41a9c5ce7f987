"""Monthly statistics (audit/statistics.py, /statistics/): counts, the page, the CSV, the log.

Rows are created directly (ProvisionRecord is append-only: created, never updated). Months
are relative to today, because a month after the current one is refused.
"""

import csv
import datetime as dt
import io
import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit import statistics
from audit.models import AccessLogEntry, MachineClient
from disclosure.models import CorrectionRequest, DisclosureRequest, Inquiry, ProvisionStatusRequest
from jukinet.models import InboxNotice
from provision.models import Duty, ProvisionRecord

_serial = itertools.count(1)
TOKYO = dt.timezone(dt.timedelta(hours=9))


def months_back(n: int) -> dt.date:
    """The first day of the month ``n`` months before this one (local time)."""
    return statistics._add_months(timezone.localdate().replace(day=1), -n)


def at(month: dt.date, day: int = 15, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(month.year, month.month, day, hour, minute, tzinfo=TOKYO)


def period(first_back: int, last_back: int) -> statistics.Period:
    return statistics.Period(first=months_back(first_back), last=months_back(last_back))


def notice(
    *, file="honnin", state="applied", reason="転入", municipality="112011", decided_at, **fields
) -> InboxNotice:
    n = next(_serial)
    return InboxNotice(
        file=file,
        notice_id=f"stat-{n}",
        receipt=f"stat-receipt-{n}",
        client_id=f"cs-{municipality}",
        municipality_code=municipality,
        juminhyo_code=fields.pop("juminhyo_code", ""),
        update_seq=1,
        change_reason=reason,
        state=state,
        decided_at=decided_at,
        **fields,
    )


def provision(*, occurred_at, client_id="body-kyoiku", client_name="教育委員会", duty="J-901", outcome="provided"):
    n = next(_serial)
    provided = outcome == "provided"
    return ProvisionRecord(
        provision_id=f"STAT{n:06d}",
        occurred_at=occurred_at,
        client_id=client_id,
        client_name=client_name,
        duty_code=duty,
        file="honnin",
        by="code" if provided else "",
        target_codes=["70000000019"] if provided else [],
        items_given=["juminhyo_code"] if provided else [],
        outcome=outcome,
    )


DESK = {
    "file": "honnin",
    "channel": "counter",
    "received_by": "desk01",
    "requester_name": "統計 花子",
    "relation": "self",
    "id_document": "driver_license",
}
SUBJECT = {
    "subject_name": "統計　花子",
    "subject_name_kana": "トウケイ　ハナコ",
    "subject_birth_date": dt.date(1980, 1, 1),
    "subject_sex": "2",
    "subject_address": "埼玉県川越市元町一丁目１番１号",
}


def table(tables, key) -> statistics.Table:
    return next(t for t in tables if t.key == key)


def row(tbl, label, detail="") -> statistics.Row:
    return next(r for r in tbl.rows if r.label == label and r.detail == detail)


@pytest.fixture
def duties(db):
    Duty.objects.create(
        code="J-901", name="統計試験の事務", legal_basis="試験条例第1条", files=["honnin"], items=["juminhyo_code"]
    )
    Duty.objects.create(
        code="J-902", name="統計試験の別の事務", legal_basis="試験条例第2条", files=["honnin"], items=["juminhyo_code"]
    )


@pytest.fixture
def clients(db):
    MachineClient.objects.create(
        client_id="body-kyoiku", kind="body", name="教育委員会（現在の名称）", token_hash="a" * 64
    )
    MachineClient.objects.create(client_id="body-zeimu", kind="body", name="税務局", token_hash="b" * 64)


# --- Counting ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_updates_are_counted_by_month_reason_and_municipality_for_each_file():
    m2, m1 = months_back(2), months_back(1)
    InboxNotice.objects.bulk_create(
        [
            *(notice(reason="転入", decided_at=at(m2)) for _ in range(3)),
            *(notice(reason="転居", municipality="112089", decided_at=at(m2)) for _ in range(2)),
            notice(reason="死亡", decided_at=at(m1)),
            *(notice(state="rejected", reason="転入", decided_at=at(m1)) for _ in range(4)),
            *(notice(file="fuhyo", reason="附票記載", municipality="112089", decided_at=at(m1)) for _ in range(5)),
        ]
    )
    tables = statistics.update_tables(period(2, 1))

    honnin_reason = table(tables, "updates_honnin_reason")
    assert row(honnin_reason, "転入").counts == [3, 0]  # rejected notices are not updates
    assert row(honnin_reason, "転居").counts == [2, 0]
    assert row(honnin_reason, "死亡").counts == [0, 1]
    assert honnin_reason.month_totals == [5, 1] and honnin_reason.total == 6

    outcome = table(tables, "updates_honnin_outcome")
    assert row(outcome, "反映").counts == [5, 1]
    assert row(outcome, "エラー").counts == [0, 4]

    municipality = table(tables, "updates_honnin_municipality")
    assert row(municipality, "川越市", "反映").counts == [3, 1]
    assert row(municipality, "川越市", "エラー").counts == [0, 4]
    assert row(municipality, "所沢市", "反映").counts == [2, 0]
    assert row(municipality, "所沢市", "反映").code == "112089"
    assert all(r.total for r in municipality.rows)  # a municipality without notices has no row

    fuhyo_reason = table(tables, "updates_fuhyo_reason")
    assert row(fuhyo_reason, "附票記載").counts == [0, 5]
    assert fuhyo_reason.total == 5
    assert "転入" not in [r.label for r in fuhyo_reason.rows]  # each file has its own 異動事由
    assert row(table(tables, "updates_fuhyo_municipality"), "所沢市", "反映").counts == [0, 5]


@pytest.mark.django_db
def test_the_month_of_an_update_is_the_japanese_month_of_its_processing():
    m2, m1 = months_back(2), months_back(1)
    last_day = (m1 - dt.timedelta(days=1)).day
    InboxNotice.objects.bulk_create(
        [
            # 00:30 on the 1st in Tokyo is still the previous month in UTC: Tokyo's month counts.
            notice(decided_at=at(m2, day=last_day, hour=23, minute=30)),
            notice(decided_at=at(m1, day=1, hour=0, minute=30)),
            # The 異動年月日 does not decide the month: only the processing date does.
            notice(decided_at=at(m1), changed_on=m2),
        ]
    )
    counts = row(table(statistics.update_tables(period(2, 1)), "updates_honnin_reason"), "転入").counts
    assert counts == [1, 2]


@pytest.mark.django_db
def test_notices_outside_the_period_and_notices_still_waiting_are_not_counted():
    m3, m2, m1 = months_back(3), months_back(2), months_back(1)
    InboxNotice.objects.bulk_create(
        [
            notice(decided_at=at(m3)),
            notice(decided_at=at(m1)),
            notice(state="pending", decided_at=None),
            notice(state="held", decided_at=None),
            notice(decided_at=at(m2)),
        ]
    )
    tables = statistics.update_tables(period(2, 2))
    assert table(tables, "updates_honnin_outcome").total == 1


@pytest.mark.django_db
def test_provisions_are_counted_by_recipient_duty_and_outcome(duties, clients):
    m2, m1 = months_back(2), months_back(1)
    ProvisionRecord.objects.bulk_create(
        [
            *(provision(occurred_at=at(m2)) for _ in range(3)),
            provision(occurred_at=at(m1), outcome="not_found"),
            provision(occurred_at=at(m1), client_id="body-zeimu", client_name="税務局", duty="J-902"),
            provision(occurred_at=at(m1), client_id="body-zeimu", client_name="税務局", duty="9-9", outcome="refused"),
            # A batch whose recipient is not a machine client: named as recorded.
            provision(occurred_at=at(m1), client_id="", client_name="福祉部（一括提供）"),
        ]
    )
    tables = statistics.provision_tables(period(2, 1))

    outcome = table(tables, "provisions_outcome")
    assert row(outcome, "提供").counts == [3, 2]
    assert row(outcome, "該当なし").counts == [0, 1]
    assert row(outcome, "拒否").counts == [0, 1]
    assert outcome.total == 7

    client = table(tables, "provisions_client")
    # A client is named by its current registered name.
    assert row(client, "教育委員会（現在の名称）", "提供").counts == [3, 0]
    assert row(client, "教育委員会（現在の名称）", "該当なし").counts == [0, 1]
    assert row(client, "教育委員会（現在の名称）", "提供").code == "body-kyoiku"
    assert row(client, "税務局", "提供").counts == [0, 1]
    assert row(client, "税務局", "拒否").counts == [0, 1]
    assert row(client, "福祉部（一括提供）", "提供").counts == [0, 1]
    assert client.total == 7

    duty = table(tables, "provisions_duty")
    assert row(duty, "統計試験の事務", "提供").counts == [3, 1]
    assert row(duty, "統計試験の事務", "該当なし").counts == [0, 1]
    assert row(duty, "統計試験の別の事務", "提供").code == "J-902"
    assert row(duty, "（登録のない事務コード）", "拒否").code == "9-9"


@pytest.mark.django_db
def test_disclosures_corrections_and_inquiries_are_counted_by_month_received():
    m2, m1 = months_back(2), months_back(1)
    n = itertools.count(1)
    DisclosureRequest.objects.create(request_no=f"S開示{next(n)}", received_on=m2, **DESK, **SUBJECT)
    DisclosureRequest.objects.create(
        request_no=f"S開示{next(n)}", received_on=m2, state="decided", decision="disclose", **DESK, **SUBJECT
    )
    DisclosureRequest.objects.create(
        request_no=f"S開示{next(n)}",
        received_on=m1,
        state="decided",
        decision="non_disclose",
        decision_reason="試験",
        **DESK,
        **SUBJECT,
    )
    ProvisionStatusRequest.objects.create(
        request_no=f"S状況{next(n)}", received_on=m1, period_from=m2, period_to=m1, **DESK
    )
    common = {"juminhyo_code": "70000000019", "item": "address", "requested_value": "試験"}
    CorrectionRequest.objects.create(request_no=f"S訂正{next(n)}", received_on=m1, kind="correct", **common, **DESK)
    CorrectionRequest.objects.create(
        request_no=f"S訂正{next(n)}",
        received_on=m1,
        kind="delete",
        state="investigating",
        municipality_code="112011",
        asked_on=m1,
        **common,
        **DESK,
    )
    inquiry = {"received_by": "desk01", "channel": "phone", "inquirer_kind": "resident", "subject": "試験"}
    Inquiry.objects.create(inquiry_no=f"S問{next(n)}", received_at=at(m2), **inquiry)
    Inquiry.objects.create(
        inquiry_no=f"S問{next(n)}",
        received_at=at(m1),
        answer="回答",
        answered_by="desk01",
        answered_at=at(m1),
        **inquiry,
    )
    Inquiry.objects.create(inquiry_no=f"S問{next(n)}", received_at=at(months_back(3)), **inquiry)  # outside

    received, breakdown = statistics.disclosure_tables(period(2, 1))
    assert row(received, "開示請求").counts == [2, 1]
    assert row(received, "提供状況の開示請求").counts == [0, 1]
    assert row(received, "訂正等の申出").counts == [0, 2]
    assert row(received, "問合せ").counts == [1, 1]
    assert row(breakdown, "開示請求", "状態: 受付").counts == [1, 0]
    assert row(breakdown, "開示請求", "状態: 決定済み").counts == [1, 1]
    assert row(breakdown, "開示請求", "決定: 開示").counts == [1, 0]
    assert row(breakdown, "開示請求", "決定: 不開示").counts == [0, 1]
    assert row(breakdown, "提供状況の開示請求", "交付済み").counts == [0, 0]
    assert row(breakdown, "訂正等の申出", "種類: 訂正").counts == [0, 1]
    assert row(breakdown, "訂正等の申出", "種類: 削除").counts == [0, 1]
    assert row(breakdown, "訂正等の申出", "状態: 調査中（市町村に照会）").counts == [0, 1]
    assert row(breakdown, "問合せ", "回答済み").counts == [0, 1]


def test_a_chart_stacks_the_largest_rows_and_folds_the_rest_into_others():
    months = [dt.date(2025, 1, 1), dt.date(2025, 2, 1)]
    rows = [statistics.Row(code="", label=f"事由{i}", counts=[i, 10 * i]) for i in range(1, 11)]
    tbl = statistics.Table(key="t", title="試験", file="", label_header="事由", months=months, rows=rows)
    chart = statistics.build_chart(tbl)
    assert [s.label for s in chart.series][-1] == "その他" and len(chart.series) == statistics.CHART_SERIES
    assert chart.others == 3  # 事由1〜3 are folded
    assert chart.series[-1].total == 1 + 2 + 3 + 10 + 20 + 30
    # Bars are drawn to scale: February's stack is 10× January's, and the axis tops at a round 1,000.
    january, february = chart.bars
    assert january.total == 55 and february.total == 550
    height = sum(s.height for s in february.segments)
    assert height == pytest.approx(180 * 550 / 1000, abs=0.1)
    assert chart.ticks[-1].label == "1,000"
    assert (
        statistics.build_chart(statistics.Table(key="e", title="空", file="", label_header="-", months=months, rows=[]))
        is None
    )


# --- The page and the CSV ---------------------------------------------------------------------------


def form_data(**changes) -> dict:
    data = {
        "from_month": f"{months_back(2):%Y-%m}",
        "to_month": f"{months_back(1):%Y-%m}",
        "sections": list(statistics.SECTIONS),
        "purpose": "月次報告（市町村課）",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def produced(action="statistics.produce"):
    return AccessLogEntry.objects.filter(action=action, outcome="ok")


@pytest.mark.django_db
def test_the_form_offers_the_last_twelve_months_and_asks_for_the_purpose(staff_client):
    response = staff_client("gyomu").get("/statistics/")
    assert response.status_code == 200
    html = response.content.decode()
    this_month = timezone.localdate().replace(day=1)
    assert f'value="{statistics._add_months(this_month, -11):%Y-%m}"' in html
    assert f'value="{this_month:%Y-%m}"' in html
    assert 'type="month"' in html and "autofocus" in html
    assert "作業内容" in html
    assert not produced().exists()  # showing the empty form is not statistical work


@pytest.mark.django_db
def test_producing_the_page_shows_tables_and_charts_and_logs_the_period_sections_and_purpose(staff_client):
    m2 = months_back(2)
    InboxNotice.objects.bulk_create(
        [notice(decided_at=at(m2), juminhyo_code="70000000019", record={"name": "秘密　太郎"}) for _ in range(7)]
    )
    client = staff_client("auditor")
    response = client.post("/statistics/", form_data())
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and "<title" in html and 'role="img"' in html
    assert "異動事由別の更新件数" in html and "提供先別の件数" in html and "受付件数" in html
    assert f"{m2.year}年{m2.month}月 転入: 7件" in html  # the bar's own title
    assert 'class="stats-table"' in html
    # Counts only: the person behind the notices never reaches the page.
    assert "70000000019" not in html and "秘密" not in html
    entry = produced().get()
    assert entry.actor == client.operator.login_id
    assert f"{m2:%Y-%m}..{months_back(1):%Y-%m}" in entry.detail
    assert "updates,provisions,disclosures" in entry.detail
    assert "月次報告（市町村課）" in entry.detail


@pytest.mark.django_db
def test_only_the_chosen_sections_are_produced_and_logged(staff_client):
    response = staff_client("sysadmin").post("/statistics/", form_data(sections=["provisions"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "提供先別の件数" in html and "異動事由別の更新件数" not in html
    assert "集計 provisions " in produced().get().detail


@pytest.mark.django_db
def test_a_missing_purpose_is_refused_with_a_message_and_nothing_is_logged_as_produced(staff_client):
    client = staff_client("gyomu")
    for purpose in (None, "", "   ", "\u3000"):
        response = client.post("/statistics/", form_data(purpose=purpose))
        assert response.status_code == 400
        html = response.content.decode()
        assert "作業内容（統計を作成する目的）を入力してください。" in html
        assert "E_STATS_PURPOSE_REQUIRED" in html
        assert "<svg" not in html
    response = client.post("/statistics/export", form_data(purpose="", section="updates"))
    assert response.status_code == 400 and "E_STATS_PURPOSE_REQUIRED" in response.content.decode()
    assert not produced().exists() and not produced("statistics.export").exists()


@pytest.mark.django_db
def test_the_csv_is_utf8_with_a_bom_and_japanese_headers_and_its_export_is_logged(staff_client, duties, clients):
    m2, m1 = months_back(2), months_back(1)
    ProvisionRecord.objects.bulk_create([provision(occurred_at=at(m2)), provision(occurred_at=at(m1))])
    client = staff_client("gyomu")
    response = client.post("/statistics/export", form_data(section="provisions"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition == f'attachment; filename="jukinet-statistics-provisions-{m2:%Y%m}-{m1:%Y%m}.csv"'
    assert disposition.isascii()
    body = response.content
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == [
        "集計表",
        "ファイル",
        "分類",
        "コード",
        "名称",
        "内訳",
        f"{m2.year}年{m2.month}月",
        f"{m1.year}年{m1.month}月",
        "合計",
    ]
    assert ["提供先別の件数", "", "提供先", "body-kyoiku", "教育委員会（現在の名称）", "提供", "1", "1", "2"] in rows
    assert ["事務別の件数", "", "事務", "J-901", "統計試験の事務", "提供", "1", "1", "2"] in rows
    assert {r[0] for r in rows[1:]} == {"提供・移転の件数（結果別）", "提供先別の件数", "事務別の件数"}
    entry = produced("statistics.export").get()
    assert "集計 provisions " in entry.detail and "月次報告（市町村課）" in entry.detail
    assert not produced().exists()


@pytest.mark.django_db
def test_a_name_that_looks_like_a_formula_is_defused_in_the_csv(staff_client, duties):
    ProvisionRecord.objects.bulk_create(
        [provision(occurred_at=at(months_back(1)), client_id="", client_name='=HYPERLINK("http://x")')]
    )
    response = staff_client("gyomu").post("/statistics/export", form_data(section="provisions"))
    text = response.content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and ',"=HYPERLINK' not in text


@pytest.mark.django_db
def test_every_section_exports_and_the_update_csv_names_the_files_and_municipalities(staff_client):
    InboxNotice.objects.bulk_create([notice(decided_at=at(months_back(1)), municipality="112089")])
    client = staff_client("sysadmin")
    for section in statistics.SECTIONS:
        response = client.post("/statistics/export", form_data(section=section))
        assert response.status_code == 200, section
    text = client.post("/statistics/export", form_data(section="updates")).content.decode("utf-8-sig")
    assert "本人確認情報,市町村,112089,所沢市,反映,0,1,1" in text


HOSTILE = [
    ({"from_month": "2025-13"}, "E_STATS_MONTH", "開始月は「2025-04」のように年と月で入力してください。"),
    ({"from_month": "1999-12"}, "E_STATS_MONTH_RANGE", "開始月は2000年1月から今月までの範囲で入力してください。"),
    ({"to_month": "2099-01"}, "E_STATS_MONTH_RANGE", "終了月は2000年1月から今月までの範囲で入力してください。"),
    ({"from_month": "2025-01'; DROP TABLE x;--"}, "E_STATS_MONTH", "年と月で入力してください。"),
    ({"from_month": "x" * 10_000}, "E_STATS_MONTH", "年と月で入力してください。"),
    ({"to_month": ""}, "E_STATS_MONTH_REQUIRED", "終了月を入力してください"),
    ({"from_month": "2025-\x0001"}, "E_STATS_MONTH", "年と月で入力してください。"),
    ({"from_month": None, "to_month": None}, "E_STATS_MONTH_REQUIRED", "開始月を入力してください"),
    ({"purpose": "目的\x00"}, "E_STATS_PURPOSE", "制御文字を含めずに入力してください。"),
    ({"purpose": "目的\x1b[31m"}, "E_STATS_PURPOSE", "制御文字を含めずに入力してください。"),
    ({"purpose": "あ" * 201}, "E_STATS_PURPOSE", "作業内容は200文字以内"),
    ({"purpose": "個人番号 123456789018 の件"}, "E_STATS_PURPOSE_DIGITS", "長い数字を含めないでください。"),
    ({"purpose": "住民票コード７０００００００００１９"}, "E_STATS_PURPOSE_DIGITS", "長い数字を含めないでください。"),
    ({"sections": []}, "E_STATS_SECTION", "集計する項目を1つ以上選んでください。"),
    ({"sections": ["updates", "<script>"]}, "E_STATS_SECTION", "集計する項目の指定が正しくありません。"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("changes", "code", "message"), HOSTILE)
def test_bad_input_gets_a_400_with_a_japanese_message_and_an_error_code(staff_client, changes, code, message):
    client = staff_client("gyomu")
    for path, extra in (("/statistics/", {}), ("/statistics/export", {"section": "updates"})):
        if "sections" in changes and path.endswith("export") and changes["sections"] == []:
            continue  # an export is of the section of its button, whatever the checkboxes say
        response = client.post(path, form_data(**changes, **extra))
        assert response.status_code == 400, path
        html = response.content.decode()
        assert code in html and message in html, path
        assert "<script>" not in html
    assert not produced().exists() and not produced("statistics.export").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"from_month": f"{months_back(1):%Y-%m}", "to_month": f"{months_back(2):%Y-%m}"}, "E_STATS_PERIOD_ORDER"),
        ({"from_month": f"{months_back(24):%Y-%m}", "to_month": f"{months_back(0):%Y-%m}"}, "E_STATS_PERIOD_TOO_LONG"),
    ],
)
def test_a_period_backwards_or_longer_than_24_months_is_refused(staff_client, changes, code):
    response = staff_client("gyomu").post("/statistics/", form_data(**changes))
    assert response.status_code == 400 and code in response.content.decode()
    assert not produced().exists()


@pytest.mark.django_db
def test_a_period_of_24_months_in_full_width_digits_is_accepted(staff_client):
    first = months_back(23)
    full_width = f"{first:%Y-%m}".translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    response = staff_client("gyomu").post(
        "/statistics/", form_data(from_month=full_width, to_month=f"{months_back(0):%Y-%m}")
    )
    assert response.status_code == 200
    assert "（24か月）" in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_export_section_is_refused(staff_client):
    client = staff_client("gyomu")
    for section in (None, "", "../../etc/passwd", "updates\x00"):
        response = client.post("/statistics/export", form_data(section=section))
        assert response.status_code == 400
        assert "出力する集計を選んでください。" in response.content.decode()
        assert "E_STATS_SECTION" in response.content.decode()
    assert not produced("statistics.export").exists()


@pytest.mark.django_db
def test_markup_in_the_purpose_is_shown_as_text_and_logged_as_written(staff_client):
    purpose = '<script>alert(1)</script>"><img src=x>'
    response = staff_client("gyomu").post("/statistics/", form_data(purpose=purpose))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert(1)" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert purpose in produced().get().detail


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["sysadmin", "gyomu", "auditor"])
def test_system_administrators_business_staff_and_auditors_may_produce_statistics(staff_client, role):
    client = staff_client(role)
    assert client.get("/statistics/").status_code == 200
    assert client.post("/statistics/", form_data()).status_code == 200
    assert client.post("/statistics/export", form_data(section="disclosures")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["kaiji", "teikyo", "secadmin"])
def test_the_desk_provision_staff_and_security_administrators_are_refused_and_the_refusal_logged(staff_client, role):
    client = staff_client(role)
    for method, path, data in (
        ("get", "/statistics/", None),
        ("post", "/statistics/", form_data()),
        ("post", "/statistics/export", form_data(section="updates")),
    ):
        before = AccessLogEntry.objects.filter(actor=client.operator.login_id, outcome="refused").count()
        response = getattr(client, method)(path, data) if data else getattr(client, method)(path)
        assert response.status_code == 403
        assert AccessLogEntry.objects.filter(actor=client.operator.login_id, outcome="refused").count() == before + 1
    assert not produced().exists() and not produced("statistics.export").exists()


@pytest.mark.django_db
def test_the_service_refuses_an_operator_whose_role_does_not_permit_statistics(make_operator):
    from jukinet.errors import PermissionRefused

    request = statistics.statistics_request(
        from_month=f"{months_back(1):%Y-%m}", to_month=f"{months_back(1):%Y-%m}", sections=["updates"], purpose="試験"
    )
    with pytest.raises(PermissionRefused):
        statistics.statistics_produce(operator=make_operator("kaiji"), request=request)
    with pytest.raises(PermissionRefused):
        statistics.statistics_export(operator=make_operator("teikyo"), request=request, section="updates")


def _seed(size: int, month: dt.date) -> None:
    reasons = ["転入", "転居", "死亡", "出生"]
    municipalities = ["112011", "112089", "111007"]
    InboxNotice.objects.bulk_create(
        [
            notice(
                reason=reasons[i % 4],
                municipality=municipalities[i % 3],
                state="rejected" if i % 7 == 0 else "applied",
                decided_at=at(month, day=1 + i % 27),
            )
            for i in range(size)
        ]
    )
    ProvisionRecord.objects.bulk_create(
        [
            provision(occurred_at=at(month), outcome="provided" if i % 3 else "not_found", duty="J-901")
            for i in range(size)
        ]
    )
    Inquiry.objects.bulk_create(
        [
            Inquiry(
                inquiry_no=f"SQ{next(_serial)}",
                received_at=at(month),
                received_by="desk01",
                channel="phone",
                inquirer_kind="resident",
                subject="試験",
            )
            for _ in range(size)
        ]
    )


@pytest.mark.django_db
def test_the_number_of_queries_of_the_page_does_not_grow_with_the_data(
    staff_client, duties, clients, django_assert_max_num_queries
):
    client = staff_client("gyomu")
    _seed(5, months_back(2))
    with CaptureQueriesContext(connection) as small:
        assert client.post("/statistics/", form_data()).status_code == 200
    _seed(400, months_back(1))
    with CaptureQueriesContext(connection) as large, django_assert_max_num_queries(len(small.captured_queries)):
        response = client.post("/statistics/", form_data())
    assert response.status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
    # Two queries for the updates, four for the provisions (two counts, two names), four for the desk.
    counting = [q["sql"] for q in large.captured_queries if re.search(r"GROUP BY|COUNT\(", q["sql"])]
    assert len(counting) == 2 + 2 + 4
