"""Printing a record or a result list: a server-rendered PDF, with a reason, in the ledger."""

import datetime as dt
import io
import re
from urllib.parse import unquote

import pytest
from pdfminer.high_level import extract_text

from audit.models import AccessLogEntry
from jukinet.models import PrintRecord
from tests.people import make_resident, my_number_for, number_in

pytestmark = pytest.mark.django_db

SEARCH = {"purpose": "inquiry", "name_kana": "さとう", "sex": "1"}


@pytest.fixture
def taro():
    return make_resident(name="佐藤　太郎", name_kana="サトウ　タロウ", my_number=my_number_for(7))


def _search_id(client, **fields) -> str:
    response = client.post("/honnin/search/", {**SEARCH, **fields})
    assert response.status_code == 200
    return re.search(r'data-replace-url="[^"]*\?s=([^"]+)"', response.content.decode()).group(1)


def _grant(client) -> tuple[str, str]:
    body = client.post("/honnin/search/", SEARCH).content.decode()
    path, token = re.search(r'href="(/honnin/records/\d+/)\?g=([^"]+)"', body).groups()
    return path, unquote(token)


def test_a_record_prints_as_a_pdf_with_its_serial_and_is_recorded(staff_client, taro):
    client = staff_client("gyomu")
    path, token = _grant(client)
    response = client.post(path + "print/", {"g": token, "reason": "問合せへの回答", "with_history": "on"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    text = extract_text(io.BytesIO(response.content))
    record = PrintRecord.objects.get()
    assert record.serial in text and "佐藤" in text and "昭和60年3月1日" in text and "履歴" in text
    assert not number_in(text, my_number_for(7))  # the 個人番号 is never printed from the record view
    assert record.serial in response["Content-Disposition"] and "佐藤" not in response["Content-Disposition"]
    assert record.target_codes == [taro.juminhyo_code] and record.actor == client.operator.login_id
    assert record.pages >= 1 and record.reason == "問合せへの回答" and record.purpose == "inquiry"
    assert AccessLogEntry.objects.filter(action="record.print", target_code=taro.juminhyo_code).exists()


def test_a_print_without_a_reason_prints_nothing(staff_client, taro):
    client = staff_client("gyomu")
    path, token = _grant(client)
    response = client.post(path + "print/", {"g": token, "reason": "  "})
    assert response.status_code == 400 and "理由を入力してください" in response.content.decode()
    assert not PrintRecord.objects.exists()
    assert not AccessLogEntry.objects.filter(action="record.print").exists()


def test_a_print_needs_a_grant_from_a_search(staff_client, taro):
    response = staff_client("gyomu").post(f"/honnin/records/{taro.pk}/print/", {"g": "forged", "reason": "確認"})
    assert response.status_code == 400 and not PrintRecord.objects.exists()


def test_a_result_list_prints_every_match(staff_client, taro):
    make_resident(name="佐藤　三郎", name_kana="サトウ　サブロウ", birth_date=dt.date(1950, 1, 1))
    client = staff_client("kaiji")
    response = client.post("/honnin/search/print/", {"s": _search_id(client), "print_reason": "開示請求の本人確認"})
    assert response.status_code == 200
    text = extract_text(io.BytesIO(response.content))
    assert "佐藤" in text and "三郎" in text and "太郎" in text and "該当 2件" in text
    record = PrintRecord.objects.get()
    assert record.kind == "result_list" and record.record_count == 2


def test_a_result_list_print_needs_a_reason_and_a_narrow_search(staff_client, taro):
    client = staff_client("gyomu")
    assert client.post("/honnin/search/print/", {"s": _search_id(client)}).status_code == 400
    unknown = client.post("/honnin/search/print/", {"s": "made-up", "print_reason": "確認"})
    assert unknown.status_code == 400 and "もう一度検索してから印刷してください" in unknown.content.decode()
    assert not PrintRecord.objects.exists()


@pytest.mark.parametrize("role", ["auditor", "sysadmin", "teikyo"])
def test_roles_that_may_not_print(staff_client, taro, role):
    response = staff_client(role).post("/honnin/search/print/", {"s": "any", "print_reason": "確認"})
    assert response.status_code == 403 and not PrintRecord.objects.exists()
