"""Update notices for the honnin file: the CS endpoint, the format and logic rules, and the
apply step (current row, history, outbox in one transaction; held gaps; idempotence)."""

import datetime as dt
import json

import pytest

from audit.models import AccessLogEntry
from audit.services import client_issue_direct
from honnin.models import Resident, ResidentHistory
from honnin.selectors import resident_my_number
from jukinet.models import InboxNotice, OutboxNotice
from jukinet.notice_apply import inbox_apply_batch, inbox_release_held

CODE = "12345678903"
NUMBER = "983205673214"


@pytest.fixture
def cs(db):
    issued = client_issue_direct(kind="cs", name="川越市CS", municipality_code="112011")
    return issued


@pytest.fixture
def api(client, cs):
    def post(notices, file="honnin", token=None, **extra):
        return client.post(
            f"/api/cs/v1/{file}/notices",
            data=json.dumps({"notices": notices}) if not isinstance(notices, str | bytes) else notices,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {cs.token if token is None else token}",
            **extra,
        )

    return post


def entry(seq=1, notice_id=None, code=CODE, **record):
    return {
        "notice_id": notice_id or f"112011-{code}-{seq:04d}",
        "juminhyo_code": code,
        "update_seq": seq,
        "change_reason": "転入",
        "changed_on": "2026-11-01",
        "record": {
            "name": "佐藤　太郎",
            "name_kana": "サトウ　タロウ",
            "birth_date": "1985-03-01",
            "sex": "1",
            "address": "埼玉県川越市元町一丁目1番1号",
            "municipality_code": "112011",
            "oaza_code": "0001001",
            "my_number": NUMBER,
            **record,
        },
        "operator_id": "OP0101",
        "terminal_id": "TM112011-01",
    }


def change(seq, reason, notice_id=None, code=CODE, **record):
    return {
        "notice_id": notice_id or f"112011-{code}-{seq:04d}",
        "juminhyo_code": code,
        "update_seq": seq,
        "change_reason": reason,
        "changed_on": "2026-11-20",
        "record": record,
    }


def apply_all():
    while inbox_apply_batch(file="honnin"):
        pass
    if inbox_release_held(file="honnin"):
        apply_all()


def state(notice_id):
    notice = InboxNotice.objects.get(file="honnin", notice_id=notice_id)
    return notice.state, notice.error_code


@pytest.mark.django_db
def test_an_entry_is_received_applied_and_queued_for_the_national_server(api):
    response = api([entry()])
    assert response.status_code == 202
    body = response.json()
    assert [a["notice_id"] for a in body["accepted"]] == ["112011-12345678903-0001"] and body["rejected"] == []
    inbox = InboxNotice.objects.get()
    assert inbox.my_number is not None and NUMBER not in json.dumps(inbox.record)
    apply_all()
    resident = Resident.objects.get(juminhyo_code=CODE)
    assert resident.name_seion == "サトオタロオ" and resident.update_seq == 1 and not resident.deleted
    assert resident_my_number(resident=resident) == NUMBER
    outbox = OutboxNotice.objects.get()
    assert outbox.notice_id == inbox.notice_id and outbox.payload["record"]["name"] == "佐藤　太郎"
    assert NUMBER not in json.dumps(outbox.payload)
    assert state(inbox.notice_id) == ("applied", "")


@pytest.mark.django_db
def test_the_status_endpoint_answers_the_cs(api, client, cs):
    api([entry()])
    apply_all()
    response = client.get("/api/cs/v1/honnin/notices/112011-12345678903-0001", HTTP_AUTHORIZATION=f"Bearer {cs.token}")
    assert response.json() == {
        "notice_id": "112011-12345678903-0001",
        "state": "applied",
        "error": None,
        "forwarded": False,
    }


@pytest.mark.django_db
def test_the_same_notice_id_again_returns_the_first_answer_and_changes_nothing(api):
    first = api([entry()]).json()
    again = api([entry(name="別人　花子")]).json()
    assert first == again
    assert InboxNotice.objects.count() == 1
    apply_all()
    assert Resident.objects.get().name == "佐藤　太郎"


@pytest.mark.django_db
def test_a_new_entry_for_a_current_person_is_rejected(api):
    api([entry(1), entry(2, notice_id="dup-entry")])
    apply_all()
    assert state("dup-entry") == ("rejected", "E_ALREADY_PRESENT")


@pytest.mark.django_db
def test_a_tenkyo_that_changes_the_name_is_rejected_and_a_proper_one_is_applied(api):
    api([entry(1)])
    apply_all()
    api([change(2, "転居", notice_id="bad-tenkyo", address="埼玉県川越市新富町2丁目", name="佐藤　次郎")])
    apply_all()
    assert state("bad-tenkyo") == ("rejected", "E_TENKYO_SCOPE")
    # The rejected notice did not consume its number: the corrected one reuses 2.
    api([change(2, "転居", notice_id="good-tenkyo", address="埼玉県川越市新富町2丁目")])
    apply_all()
    assert state("good-tenkyo") == ("applied", "")
    resident = Resident.objects.get()
    assert resident.address == "埼玉県川越市新富町2丁目" and resident.update_seq == 2
    history = ResidentHistory.objects.get()
    assert history.address == "埼玉県川越市元町一丁目1番1号" and history.update_seq == 1
    assert history.retain_until.year - dt.date.today().year >= 149


@pytest.mark.django_db
def test_removing_a_removed_person_is_rejected(api):
    api([entry(1), change(2, "死亡"), change(3, "死亡", notice_id="again")])
    apply_all()
    resident = Resident.objects.get()
    assert resident.deleted and resident.retention_flag == "1"
    assert state("again") == ("rejected", "E_ALREADY_REMOVED")


@pytest.mark.django_db
def test_a_backwards_update_seq_is_rejected(api):
    api([entry(1), change(2, "転居", address="埼玉県川越市脇田町")])
    apply_all()
    api([change(2, "転居", notice_id="late-two", address="埼玉県川越市連雀町")])
    apply_all()
    assert state("late-two") == ("rejected", "E_SEQ_BACKWARDS")


@pytest.mark.django_db
def test_a_gap_is_held_until_the_missing_notice_arrives(api):
    api([entry(1)])
    apply_all()
    api([change(3, "転居", notice_id="three", address="埼玉県川越市三番町")])
    apply_all()
    assert state("three") == ("held", "")
    api([change(2, "転居", notice_id="two", address="埼玉県川越市二番町")])
    apply_all()
    assert state("two") == ("applied", "") and state("three") == ("applied", "")
    assert Resident.objects.get().address == "埼玉県川越市三番町"
    assert list(OutboxNotice.objects.order_by("id").values_list("update_seq", flat=True)) == [1, 2, 3]


@pytest.mark.django_db
def test_a_long_hold_raises_one_alert(api, settings):
    from jukinet.notice_apply import inbox_hold_alerts

    settings.NOTICE_HOLD_ALERT_SECONDS = 0
    api([entry(1)])
    apply_all()
    api([change(5, "転居", notice_id="far", address="埼玉県川越市五番町")])
    apply_all()
    assert inbox_hold_alerts(file="honnin") == 1
    assert inbox_hold_alerts(file="honnin") == 0
    assert AccessLogEntry.objects.filter(action="notice.hold_alert", target_code=CODE).count() == 1


@pytest.mark.django_db
def test_a_cs_cannot_update_another_municipalitys_resident(api, client):
    api([entry(1)])
    apply_all()
    other = client_issue_direct(kind="cs", name="熊谷市CS", municipality_code="112020")
    response = api([change(2, "転居", notice_id="kumagaya", address="埼玉県熊谷市")], token=other.token)
    assert response.status_code == 202
    apply_all()
    assert state("kumagaya") == ("rejected", "E_OTHER_MUNICIPALITY")


@pytest.mark.django_db
def test_a_move_inside_the_prefecture_meets_through_the_update_seq(api, client):
    api([entry(1)])
    apply_all()
    kumagaya = client_issue_direct(kind="cs", name="熊谷市CS", municipality_code="112020")
    # The new municipality's 転入 (seq 3) arrives before the old one's 転出 (seq 2): it waits.
    moved_in = entry(3, notice_id="kumagaya-in", municipality_code="112020", address="埼玉県熊谷市本町1丁目")
    api([moved_in], token=kumagaya.token)
    apply_all()
    assert state("kumagaya-in") == ("held", "")
    api([change(2, "転出", notice_id="kawagoe-out")])
    apply_all()
    assert state("kawagoe-out") == ("applied", "") and state("kumagaya-in") == ("applied", "")
    resident = Resident.objects.get()
    assert resident.municipality_code == "112020" and not resident.deleted and resident.update_seq == 3


@pytest.mark.django_db
def test_a_code_change_keeps_the_link_to_the_old_code(api):
    api([entry(1)])
    apply_all()
    new_code = "23456789013"
    api([change(2, "住民票コードの変更", notice_id="new-code", code=new_code, former_juminhyo_code=CODE)])
    apply_all()
    assert state("new-code") == ("applied", "")
    resident = Resident.objects.get()
    assert resident.juminhyo_code == new_code and resident.former_juminhyo_code == CODE
    assert resident_my_number(resident=resident) == NUMBER  # re-sealed for the new code
    assert ResidentHistory.objects.get().juminhyo_code == CODE


@pytest.mark.django_db
def test_a_my_number_already_recorded_for_someone_else_is_rejected(api):
    api([entry(1), entry(1, notice_id="twin", code="23456789013")])
    apply_all()
    assert state("twin") == ("rejected", "E_MY_NUMBER_DUPLICATE")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("notice", "code"),
    [
        (entry(change_reason_unused=1), "E_ITEM_NOT_ALLOWED"),
        (entry(name_seion="サトオ"), "E_ITEM_NOT_ALLOWED"),
        ({**entry(), "change_reason": "引越し"}, "E_UNKNOWN_REASON"),
        ({**entry(), "juminhyo_code": "12345678901"}, "E_JUMINHYO_CODE"),
        ({**entry(), "juminhyo_code": "１２３４５６７８９０６"}, "E_JUMINHYO_CODE"),
        (entry(my_number="983205673215"), "E_ITEM_VALUE"),
        (entry(municipality_code="112020"), "E_WRONG_MUNICIPALITY"),
        (entry(municipality_code="112019"), "E_ITEM_VALUE"),
        ({**entry(), "update_seq": 0}, "E_UPDATE_SEQ"),
        ({**entry(), "update_seq": "1"}, "E_UPDATE_SEQ"),
        ({**entry(), "changed_on": "2999-01-01"}, "E_DATE"),
        ({**entry(), "changed_on": "2026-02-30"}, "E_DATE"),
        (entry(sex="3"), "E_ITEM_VALUE"),
        (entry(name="x" * 10_000), "E_ITEM_VALUE"),
        (entry(name="佐藤\x00太郎"), "E_ITEM_VALUE"),
        (entry(name=["佐藤"]), "E_ITEM_VALUE"),
        (entry(name="髙橋　一郎"), "E_GAIJI_COUNT"),
        ({**entry(), "record": "not an object"}, "E_NOTICE_SHAPE"),
        ({k: v for k, v in entry().items() if k != "changed_on"}, "E_DATE"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_format_errors_are_answered_at_once_per_notice(api, notice, code):
    good = entry(1, notice_id="good-one", code="23456789013", my_number="621498320257")
    body = api([notice, good]).json()
    assert [r["error"]["code"] for r in body["rejected"]] == [code]
    message = body["rejected"][0]["error"]["message"]
    assert message and NUMBER not in message and not message.isascii()
    assert [a["notice_id"] for a in body["accepted"]] == ["good-one"]
    apply_all()
    assert Resident.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{not json", 400, "E_MALFORMED_JSON"),
        ('{"notices": "x"}', 400, "E_NOTICE_SHAPE"),
        ('{"notices": []}', 400, "E_NOTICE_SHAPE"),
        ("[1, 2]", 400, "E_NOTICE_SHAPE"),
        ("\udcff".encode("utf-8", "surrogatepass"), 400, "E_MALFORMED_JSON"),
        ("佐藤".encode("shift_jis"), 400, "E_MALFORMED_JSON"),
    ],
)
def test_malformed_bodies_get_a_4xx_with_a_stable_code(api, body, status, code):
    response = api(body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert InboxNotice.objects.count() == 0


@pytest.mark.django_db
def test_more_than_1000_notices_or_10_mb_are_refused_with_413(api):
    response = api([entry(1, notice_id=f"n{i}") for i in range(1001)])
    assert response.status_code == 413 and response.json()["error"]["code"] == "E_TOO_MANY_NOTICES"
    big = json.dumps({"notices": [entry(1, name="あ" * 100)], "pad": "x" * (11 * 1024 * 1024)})
    response = api(big)
    assert response.status_code == 413 and response.json()["error"]["code"] == "E_TOO_LARGE"
    assert InboxNotice.objects.count() == 0


@pytest.mark.django_db
def test_unknown_revoked_and_non_cs_clients_are_refused(api, cs, client):
    from audit.models import MachineClient

    assert api([entry()], token="not-a-token").status_code == 401
    assert api([entry()], token="").status_code == 401
    body = client_issue_direct(kind="body", name="教育委員会", duty_codes=["6-1"])
    refused = api([entry()], token=body.token)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "E_FORBIDDEN"
    MachineClient.objects.filter(pk=cs.client.pk).update(state="revoked")
    assert api([entry()]).status_code == 401
    assert InboxNotice.objects.count() == 0
    assert AccessLogEntry.objects.filter(outcome="refused", action__startswith="api.").count() >= 3


@pytest.mark.django_db
def test_a_staff_session_cannot_use_the_machine_endpoint(staff_client):
    client = staff_client("sysadmin")
    response = client.post("/api/cs/v1/honnin/notices", data="{}", content_type="application/json")
    assert response.status_code == 401


@pytest.mark.django_db
def test_an_unknown_file_is_404(api):
    assert api([entry()], file="other").status_code == 404


@pytest.mark.django_db
def test_no_my_number_reaches_the_access_log(api):
    api([entry()])
    apply_all()
    for entry_ in AccessLogEntry.objects.all():
        assert NUMBER not in f"{entry_.detail}{entry_.target_code}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("record", "code"),
    [
        ({"bad\x00key": "x"}, "E_ITEM_NOT_ALLOWED"),
        ({"name": "佐藤\udcff", "name_gaiji_count": 1}, "E_ITEM_VALUE"),
        ({"name_kana": "ー・ー"}, "E_ITEM_VALUE"),
        ({"address_gaiji_count": 0}, "E_ITEM_MISSING"),
    ],
    ids=["nul-key", "lone-surrogate", "kana-without-letters", "count-without-text"],
)
def test_hostile_items_never_reach_the_database_as_a_500(api, record, code):
    body = api([change(1, "職権修正", **record)]).json()
    assert body["rejected"][0]["error"]["code"] == code
    assert "\x00" not in json.dumps(body)


@pytest.mark.django_db
def test_a_tenkyo_with_an_unchanged_birth_date_and_a_plain_address_resets_the_gaiji_count(api):
    api([entry(1, address="埼玉県川越市𠮷田1番地", address_gaiji_count=1)])
    apply_all()
    assert Resident.objects.get().address_gaiji_count == 1
    api([change(2, "転居", notice_id="plain", address="埼玉県川越市元町2丁目", birth_date="1985-03-01")])
    apply_all()
    assert state("plain") == ("applied", "")
    resident = Resident.objects.get()
    assert resident.address_gaiji_count == 0 and not resident.gaiji_flag
