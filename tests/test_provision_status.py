"""提供状況の開示 (disclosure/services.py, the provision-status pages and 様式第5号): a resident's
provisions and transfers within a period, from the provision records — the right ones, and
nothing outside the period, of another person, of another file, or that gave nothing.
"""

import datetime as dt
import io

import pytest
from django.utils import timezone
from pdfminer.high_level import extract_text

from audit.models import AccessLogEntry
from disclosure.models import MatchResult, ProvisionStatusRequest
from jukinet.models import PrintRecord
from provision.models import Duty, ProvisionRecord
from tests.people import make_resident, next_code
from tests.test_disclosure_requests import ADDRESS, BIRTH, KANA, MY_NUMBER, NAME, form_data

pytestmark = pytest.mark.django_db

PERIOD_FROM, PERIOD_TO = dt.date(2025, 4, 1), dt.date(2026, 3, 31)


@pytest.fixture
def taro():
    return make_resident(name=NAME, name_kana=KANA, birth_date=BIRTH, sex="1", address=ADDRESS, my_number=MY_NUMBER)


@pytest.fixture
def desk(staff_client):
    return staff_client("kaiji")


@pytest.fixture
def duties():
    transfer = Duty.objects.create(
        code="5-901", name="試験のための県税の賦課徴収に関する事務", legal_basis="試験 別表第五",
        recipient="総務部 税務課", files=["honnin"], items=["juminhyo_code", "name", "address"],
    )  # fmt: skip
    provision = Duty.objects.create(
        code="6-901", name="試験のための特別支援学校への就学奨励に関する事務", legal_basis="試験 別表第六",
        recipient="教育委員会", files=["honnin", "fuhyo"], items=["juminhyo_code", "name", "birth_date"],
        my_number_allowed=True,
    )  # fmt: skip
    return transfer, provision


_ids = iter(range(1, 10_000))


def _at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour, minute), timezone.get_current_timezone())


def provided(code: str, when: dt.datetime, *, client_name: str, duty: str = "6-901", file: str = "honnin", **fields):
    return ProvisionRecord.objects.create(
        provision_id=f"PV-TEST-{next(_ids):05d}",
        occurred_at=when,
        client_id="body-test",
        client_name=client_name,
        duty_code=duty,
        file=file,
        by="juminhyo_code",
        target_codes=[code],
        items_given=fields.pop("items_given", ["juminhyo_code", "name", "birth_date"]),
        outcome=fields.pop("outcome", "provided"),
        source="prefecture",
        **fields,
    )


def status_data(**overrides) -> dict:
    return form_data(**{"period_from": PERIOD_FROM.isoformat(), "period_to": PERIOD_TO.isoformat(), **overrides})


def register(client, **overrides) -> ProvisionStatusRequest:
    response = client.post("/disclosure/provision-status/new/honnin/", status_data(**overrides))
    assert response.status_code == 302, response.content.decode()[:3000]
    row = ProvisionStatusRequest.objects.order_by("-id").first()
    assert response["Location"] == f"/disclosure/provision-status/{row.pk}/match/"
    return row


def test_the_list_holds_exactly_the_residents_provisions_within_the_period(desk, taro, duties):
    other = make_resident(name="鈴木　一郎", name_kana="スズキ　イチロウ")
    code = taro.juminhyo_code
    # Inside the period (its first minute and its last day, Japan time): listed, oldest first.
    provided(
        code,
        _at(PERIOD_FROM, 0, 0),
        client_name="先頭の提供先",
        duty="5-901",
        items_given=["juminhyo_code", "name", "address"],
    )
    provided(code, _at(PERIOD_TO, 23, 59), client_name="末尾の提供先", my_number_given=True)
    # With others in one request (a batch row names several codes): listed too.
    ProvisionRecord.objects.create(
        provision_id="PV-TEST-MULTI", occurred_at=_at(dt.date(2025, 10, 1)), client_name="一括の提供先",
        duty_code="6-901", file="honnin", target_codes=[other.juminhyo_code, code], items_given=["juminhyo_code"],
        outcome="provided",
    )  # fmt: skip
    # Outside the period, another person, another file, nothing given: never listed.
    provided(code, _at(PERIOD_FROM - dt.timedelta(days=1), 23, 59), client_name="期間前の提供先")
    provided(code, _at(PERIOD_TO + dt.timedelta(days=1), 0, 0), client_name="期間後の提供先")
    provided(other.juminhyo_code, _at(dt.date(2025, 6, 1)), client_name="他人の提供先")
    provided(code, _at(dt.date(2025, 6, 1)), client_name="附票の提供先", file="fuhyo")
    provided(code, _at(dt.date(2025, 6, 2)), client_name="拒否の提供先", outcome="refused", items_given=[])
    provided(code, _at(dt.date(2025, 6, 3)), client_name="該当なしの提供先", outcome="not_found", items_given=[])

    row = register(desk, subject_juminhyo_code=code)
    page = desk.get(f"/disclosure/provision-status/{row.pk}/match/")
    assert page.status_code == 200 and "全項目一致" in page.content.decode()
    assert desk.post(f"/disclosure/provision-status/{row.pk}/match/", {"candidate": code}).status_code == 302
    row.refresh_from_db()
    assert row.juminhyo_code == code and row.match_result == MatchResult.MATCHED

    # Not issued before the list is printed.
    desk.post(f"/disclosure/provision-status/{row.pk}/issue/")
    row.refresh_from_db()
    assert row.issued_at is None

    response = desk.post(f"/disclosure/provision-status/{row.pk}/print/", {"reason": "開示請求への対応"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    # Words wrap inside the table's cells: compare without the line breaks.
    text = "".join(extract_text(io.BytesIO(response.content)).split())
    assert "本人確認情報の提供状況について" in text and row.request_no in text and "手数料は無料です" in text
    for listed in ("先頭の提供先", "末尾の提供先", "一括の提供先"):
        assert listed in text
    for absent in ("期間前", "期間後", "他人の提供先", "附票の提供先", "拒否の提供先", "該当なしの提供先", "鈴木"):
        assert absent not in text
    assert text.index("先頭の提供先") < text.index("一括の提供先") < text.index("末尾の提供先")
    assert "3件" in text and "令和7年4月1日から令和8年3月31日まで" in text
    assert "試験のための県税の賦課徴収に関する事務" in text and "移転" in text
    assert "5-901" in text and "住民票コード・氏名・住所" in text
    # Whether the 個人番号 was given, one cell per provision (the column reads top to bottom).
    assert "なしなしあり" in text
    assert MY_NUMBER not in text  # the 個人番号 itself is never on this form

    printed = PrintRecord.objects.get()
    assert printed.kind == "provision_status" and printed.target_codes == [code] and printed.purpose == "disclosure"
    entry = AccessLogEntry.objects.get(action="disclosure.print")
    assert (
        entry.detail.startswith(f"受付番号 {row.request_no}; 様式第5号; 印刷番号 {printed.serial}")
        and "3件" in entry.detail
    )

    assert desk.post(f"/disclosure/provision-status/{row.pk}/issue/").status_code == 302
    row.refresh_from_db()
    assert row.issued_at is not None
    assert list(
        AccessLogEntry.objects.filter(action__startswith="provision_status.")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["provision_status.register", "provision_status.match", "provision_status.issue"]
    for entry in AccessLogEntry.objects.all():
        assert "山田" not in entry.detail and "元町" not in entry.detail


def test_a_period_without_provisions_says_so(desk, taro):
    row = register(desk)
    desk.post(f"/disclosure/provision-status/{row.pk}/match/", {"candidate": taro.juminhyo_code})
    text = extract_text(io.BytesIO(desk.post(f"/disclosure/provision-status/{row.pk}/print/", {"reason": "x"}).content))
    assert "提供・移転した記録はありません" in text and "0件" in text


def test_a_mismatch_needs_a_reason_and_not_found_ends_the_request(desk, taro):
    row = register(desk, subject_address="東京都千代田区霞が関二丁目１番２号")
    refused = desk.post(f"/disclosure/provision-status/{row.pk}/match/", {"candidate": taro.juminhyo_code})
    assert refused.status_code == 400 and "住所が一致しません" in refused.content.decode()
    note = "住民票の写しで同一人と確認"
    accepted = desk.post(
        f"/disclosure/provision-status/{row.pk}/match/",
        {"candidate": taro.juminhyo_code, "accept_mismatch": "on", "match_note": note},
    )
    assert accepted.status_code == 302
    row.refresh_from_db()
    assert row.match_result == MatchResult.MISMATCH_ACCEPTED and row.match_note == note
    assert "住民票の写し" not in AccessLogEntry.objects.get(action="provision_status.match").detail

    nobody = register(desk, subject_name="存在　しない", subject_name_kana="ソンザイ　シナイ")
    assert desk.post(f"/disclosure/provision-status/{nobody.pk}/match/", {"not_found": "1"}).status_code == 302
    nobody.refresh_from_db()
    assert nobody.match_result == MatchResult.NOT_FOUND and nobody.juminhyo_code == ""
    assert desk.post(f"/disclosure/provision-status/{nobody.pk}/print/", {"reason": "x"}).status_code == 409
    assert "突合で終わりました" in desk.get(f"/disclosure/provision-status/{nobody.pk}/").content.decode()
    assert not PrintRecord.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"period_from": "2026-03-31", "period_to": "2025-04-01"}, "period_to"),
        ({"period_to": (dt.date.today() + dt.timedelta(days=3)).isoformat()}, "period_to"),
        ({"period_from": "1999-01-01"}, "period_from"),
        ({"period_from": "令和99年13月"}, "period_from"),
        ({"period_to": ""}, "period_to"),
        ({"subject_birth_date": "令和99年13月"}, "subject_birth_date"),
        ({"subject_juminhyo_code": "12345678900"}, "subject_juminhyo_code"),
        ({"subject_name": "x" * 5000}, "subject_name"),
        ({"subject_name_kana": "' OR 1=1 --"}, "subject_name_kana"),
    ],
)
def test_hostile_input_on_the_provision_status_form(desk, overrides, field):
    response = desk.post("/disclosure/provision-status/new/honnin/", status_data(**overrides))
    assert response.status_code == 400 and f'id="id_{field}_error"' in response.content.decode()
    assert not ProvisionStatusRequest.objects.exists()


def test_other_roles_cannot_reach_the_provision_status_pages(staff_client, taro):
    client = staff_client("teikyo")
    assert client.get("/disclosure/provision-status/").status_code == 403
    assert client.post("/disclosure/provision-status/new/honnin/", status_data()).status_code == 403
    assert AccessLogEntry.objects.filter(actor=client.operator.login_id, outcome="refused").count() == 2
    assert not ProvisionStatusRequest.objects.exists()


def test_the_list_filters_by_state(desk, taro):
    open_row = register(desk)
    done = register(desk)
    desk.get("/disclosure/")  # the registration's message is shown (and gone)
    ProvisionStatusRequest.objects.filter(pk=done.pk).update(match_result="not_found")
    listed = desk.get("/disclosure/provision-status/").content.decode()
    assert open_row.request_no in listed and done.request_no not in listed
    assert done.request_no in desk.get("/disclosure/provision-status/?state=not_found").content.decode()
    assert desk.get("/disclosure/provision-status/?state=nonsense").status_code == 400


def test_a_code_that_is_someone_elses_is_a_difference_not_a_match(desk, taro):
    stranger = next_code()
    row = register(desk, subject_juminhyo_code=stranger)
    page = desk.get(f"/disclosure/provision-status/{row.pk}/match/").content.decode()
    # The code belongs to nobody: the 4情報 find 山田太郎, and the code is the item that differs.
    assert "不一致: 住民票コード" in page and taro.juminhyo_code in page
