"""Update notices for the fuhyo file: the format and logic rules, and the apply step
(current row, history, outbox in one transaction; held gaps; idempotence), and the
boundary: the fuhyo file never receives a 個人番号 and fuhyo imports nothing of honnin."""

import ast
import datetime as dt
import json
from pathlib import Path

import pytest

from audit.services import client_issue_direct
from fuhyo.models import FuhyoHistory, FuhyoRecord
from fuhyo.rules import RULES
from jukinet.models import InboxNotice, OutboxNotice
from jukinet.notice_apply import inbox_apply_batch, inbox_release_held
from jukinet.notice_intake import notices_receive

CODE = "12345678903"
NEW_CODE = "23456789013"
NUMBER = "983205673214"
FUHYO_DIR = Path(__file__).resolve().parent.parent / "fuhyo"


@pytest.fixture
def cs(db):
    return client_issue_direct(kind="cs", name="試験CS", municipality_code="112011").client


@pytest.fixture
def send(cs):
    def post(*notices, client=None):
        return notices_receive(file="fuhyo", client=client or cs, notices=list(notices))

    return post


def entry(seq=1, notice_id=None, code=CODE, reason="国外転出", **record):
    return {
        "notice_id": notice_id or f"112011-{code}-{seq:04d}",
        "juminhyo_code": code,
        "update_seq": seq,
        "change_reason": reason,
        "changed_on": "2026-11-01",
        "record": {
            "name": "佐藤　太郎",
            "name_kana": "サトウ　タロウ",
            "birth_date": "1985-03-01",
            "sex": "1",
            "address_municipality_code": "112011",
            "address": "アメリカ合衆国",
            "last_address": "埼玉県川越市元町一丁目1番1号",
            "managing_municipality_code": "112011",
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
    while inbox_apply_batch(file="fuhyo"):
        pass
    if inbox_release_held(file="fuhyo"):
        apply_all()


def state(notice_id):
    notice = InboxNotice.objects.get(file="fuhyo", notice_id=notice_id)
    return notice.state, notice.error_code


def accepted_ids(result):
    return [a["notice_id"] for a in result.accepted]


def rejected_codes(result):
    return [r["error"]["code"] for r in result.rejected]


def test_every_rule_has_a_code_a_stage_and_a_japanese_message():
    codes = [rule.code for rule in RULES]
    assert len(codes) == len(set(codes))
    for rule in RULES:
        assert rule.code.startswith("E_") and rule.stage in ("format", "logic") and not rule.message.isascii()
    assert "E_MY_NUMBER_NOT_ALLOWED" in codes


def test_an_entry_creates_the_row_the_outbox_row_and_is_applied(send):
    result = send(entry())
    assert accepted_ids(result) == ["112011-12345678903-0001"] and result.rejected == []
    apply_all()
    record = FuhyoRecord.objects.get(juminhyo_code=CODE)
    assert record.name_seion == "サトオタロオ" and record.update_seq == 1
    assert (record.status, record.notice_kind, record.change_reason) == ("0", "1", "国外転出")
    assert record.gaiji_pattern == "000" and not record.gaiji_flag
    assert record.managing_municipality_code == "112011" and record.last_address.startswith("埼玉県川越市")
    assert record.stamped_at is not None and record.changed_on == dt.date(2026, 11, 1)
    outbox = OutboxNotice.objects.get()
    assert (outbox.file, outbox.notice_id, outbox.juminhyo_code, outbox.update_seq) == (
        "fuhyo",
        "112011-12345678903-0001",
        CODE,
        1,
    )
    assert outbox.my_number is None
    payload = outbox.payload
    assert payload["change_reason"] == "国外転出" and payload["changed_on"] == "2026-11-01"
    assert payload["record"]["name"] == "佐藤　太郎" and payload["record"]["birth_date"] == "1985-03-01"
    assert payload["record"]["notice_kind"] == "1" and payload["record"]["gaiji_pattern"] == "000"
    assert "my_number" not in payload["record"]
    json.dumps(payload)  # JSON-safe
    notice = InboxNotice.objects.get(file="fuhyo")
    assert notice.state == "applied" and notice.decided_at is not None and notice.held_since is None
    assert FuhyoHistory.objects.count() == 0


def test_a_second_entry_for_a_current_person_is_rejected(send):
    send(entry(1), entry(2, notice_id="dup-entry", reason="附票記載"))
    apply_all()
    assert state("dup-entry") == ("rejected", "E_ALREADY_PRESENT")
    assert FuhyoRecord.objects.get().update_seq == 1


def test_removing_a_removed_person_is_rejected_and_a_change_on_one_too(send):
    send(entry(1), change(2, "国外からの転入"), change(3, "死亡", notice_id="again"))
    apply_all()
    record = FuhyoRecord.objects.get()
    assert (record.status, record.notice_kind, record.update_seq) == ("1", "3", 2)
    assert state("again") == ("rejected", "E_ALREADY_REMOVED")
    send(change(3, "住所の変更", notice_id="moved", address="フランス共和国"))
    apply_all()
    assert state("moved") == ("rejected", "E_REMOVED_PERSON")
    # A new entry over a removed row is allowed (the person left the country again).
    send(entry(3, notice_id="left-again"))
    apply_all()
    assert state("left-again") == ("applied", "")
    assert FuhyoRecord.objects.get().status == "0"


def test_a_my_number_is_refused_at_intake_and_nothing_stored_holds_it(send):
    inside = entry(1, notice_id="with-number", my_number=NUMBER)
    outside = {**entry(1, notice_id="with-number-top", code=NEW_CODE), "my_number": NUMBER}
    result = send(inside, outside)
    assert result.accepted == []
    assert rejected_codes(result) == ["E_MY_NUMBER_NOT_ALLOWED", "E_MY_NUMBER_NOT_ALLOWED"]
    error = result.rejected[0]["error"]
    assert error["message"] == "附票本人確認情報ファイルには個人番号を通知できません。"
    assert error["field"] == "record.my_number" and NUMBER not in json.dumps(result.rejected)
    for notice in InboxNotice.objects.filter(file="fuhyo"):
        assert notice.state == "rejected" and notice.error_code == "E_MY_NUMBER_NOT_ALLOWED"
        assert "my_number" not in notice.record and notice.my_number is None
        assert NUMBER not in json.dumps(notice.record) + notice.error_message + notice.error_field
    apply_all()
    assert FuhyoRecord.objects.count() == 0 and OutboxNotice.objects.count() == 0


def test_a_resend_of_a_refused_notice_gets_the_same_refusal(send):
    first = send(entry(1, notice_id="numbered", my_number=NUMBER))
    again = send(entry(1, notice_id="numbered", my_number=NUMBER))
    assert first.rejected == again.rejected and InboxNotice.objects.count() == 1


@pytest.mark.parametrize(
    ("notice", "code"),
    [
        (entry(hobby="囲碁"), "E_ITEM_NOT_ALLOWED"),
        (entry(municipality_code="112011"), "E_ITEM_NOT_ALLOWED"),  # a honnin item
        (entry(name_seion="サトオタロオ"), "E_ITEM_NOT_ALLOWED"),
        (entry(gaiji_flag=False), "E_ITEM_NOT_ALLOWED"),
        (entry(gaiji_pattern="000"), "E_ITEM_NOT_ALLOWED"),
        (entry(status="0"), "E_ITEM_NOT_ALLOWED"),
        (entry(notice_kind="1"), "E_ITEM_NOT_ALLOWED"),
        (entry(stamped_at="2026-11-01T00:00:00+09:00"), "E_ITEM_NOT_ALLOWED"),
        (entry(**{"bad\x00key": 1}), "E_ITEM_NOT_ALLOWED"),
        (entry(former_juminhyo_code=NEW_CODE), "E_ITEM_NOT_ALLOWED"),
        ({**entry(), "change_reason": "転入"}, "E_UNKNOWN_REASON"),  # a honnin reason
        ({**entry(), "change_reason": ["国外転出"]}, "E_UNKNOWN_REASON"),
        ({**entry(), "juminhyo_code": "12345678901"}, "E_JUMINHYO_CODE"),
        ({**entry(), "update_seq": 0}, "E_UPDATE_SEQ"),
        ({**entry(), "update_seq": True}, "E_UPDATE_SEQ"),
        ({**entry(), "changed_on": "2999-01-01"}, "E_DATE"),
        ({**entry(), "changed_on": "2026-02-30"}, "E_DATE"),
        (entry(birth_date="2999-01-01"), "E_DATE"),
        (entry(birth_date="2026-02-30"), "E_DATE"),
        (entry(birth_date=19850301), "E_DATE"),
        (entry(sex="3"), "E_ITEM_VALUE"),
        (entry(sex=1), "E_ITEM_VALUE"),
        (entry(name="x" * 10_000), "E_ITEM_VALUE"),
        (entry(name="佐藤\x00太郎"), "E_ITEM_VALUE"),
        (entry(name=["佐藤"]), "E_ITEM_VALUE"),
        (entry(name="佐藤\ud800"), "E_ITEM_VALUE"),
        (entry(name_kana="ー・ー"), "E_ITEM_VALUE"),
        (entry(name_gaiji_count=-1), "E_ITEM_VALUE"),
        (entry(address_municipality_code="112019"), "E_ITEM_VALUE"),
        (entry(name="髙橋　一郎"), "E_GAIJI_COUNT"),
        (entry(name_gaiji_count=1), "E_GAIJI_COUNT"),
        (entry(last_address="埼玉県川越市﨑町"), "E_GAIJI_COUNT"),
        (entry(managing_municipality_code="112020"), "E_WRONG_MUNICIPALITY"),
        ({**entry(), "record": "not an object"}, "E_NOTICE_SHAPE"),
        ({k: v for k, v in entry().items() if k != "changed_on"}, "E_DATE"),
        ({**entry(), "operator_id": "x" * 100}, "E_ITEM_VALUE"),
        *[
            ({**entry(), "record": {k: v for k, v in entry()["record"].items() if k != missing}}, "E_ITEM_MISSING")
            for missing in entry()["record"]
        ],
        (change(2, "住所の変更", address_gaiji_count=0), "E_ITEM_MISSING"),
        (change(2, "住民票コードの変更"), "E_ITEM_MISSING"),
        (change(2, "住民票コードの変更", former_juminhyo_code=CODE), "E_ITEM_VALUE"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_format_errors_are_answered_at_once_with_a_code_and_a_japanese_message(send, notice, code):
    good = entry(1, notice_id="good-one", code=NEW_CODE)
    result = send(notice, good)
    assert rejected_codes(result) == [code]
    message = result.rejected[0]["error"]["message"]
    assert message and not message.isascii() and "\\u0000" not in json.dumps(result.rejected[0])
    assert accepted_ids(result) == ["good-one"]
    apply_all()
    assert list(FuhyoRecord.objects.values_list("juminhyo_code", flat=True)) == [NEW_CODE]
    assert OutboxNotice.objects.count() == 1


def test_a_backwards_update_seq_is_rejected(send):
    send(entry(1), change(2, "住所の変更", address="フランス共和国"))
    apply_all()
    send(change(2, "住所の変更", notice_id="late-two", address="ドイツ連邦共和国"))
    apply_all()
    assert state("late-two") == ("rejected", "E_SEQ_BACKWARDS")
    assert FuhyoRecord.objects.get().address == "フランス共和国"


def test_a_gap_is_held_until_the_missing_notice_arrives(send):
    send(entry(1))
    apply_all()
    send(change(3, "住所の変更", notice_id="three", address="ドイツ連邦共和国"))
    inbox_apply_batch(file="fuhyo")
    assert state("three") == ("held", "")
    assert InboxNotice.objects.get(notice_id="three").held_since is not None
    assert inbox_release_held(file="fuhyo") == 0  # nothing filled the gap yet
    send(change(2, "住所の変更", notice_id="two", address="フランス共和国"))
    apply_all()
    assert state("two") == ("applied", "")
    assert state("three") == ("applied", "")
    held = InboxNotice.objects.get(notice_id="three")
    assert held.held_since is None and held.decided_at is not None
    record = FuhyoRecord.objects.get()
    assert record.address == "ドイツ連邦共和国" and record.update_seq == 3 and record.notice_kind == "2"
    assert list(OutboxNotice.objects.order_by("id").values_list("update_seq", flat=True)) == [1, 2, 3]
    assert list(FuhyoHistory.objects.order_by("update_seq").values_list("update_seq", flat=True)) == [1, 2]


def test_a_change_before_its_entry_is_held_then_applied(send):
    send(change(2, "住所の変更", notice_id="early", address="フランス共和国"))
    apply_all()
    assert state("early") == ("held", "")
    send(entry(1))
    apply_all()
    assert state("early") == ("applied", "")
    assert FuhyoRecord.objects.get().address == "フランス共和国"


def test_a_cs_cannot_act_for_another_municipality(send):
    send(entry(1))
    apply_all()
    other = client_issue_direct(kind="cs", name="熊谷市CS", municipality_code="112020").client
    # At intake: a record naming another 附票管理市町村.
    refused = send(entry(1, notice_id="kumagaya-entry", code=NEW_CODE), client=other)
    assert rejected_codes(refused) == ["E_WRONG_MUNICIPALITY"]
    # When applied: a change on a person whose 附票 another municipality manages.
    result = send(change(2, "住所の変更", notice_id="kumagaya", address="ドイツ連邦共和国"), client=other)
    assert accepted_ids(result) == ["kumagaya"]
    apply_all()
    assert state("kumagaya") == ("rejected", "E_OTHER_MUNICIPALITY")
    assert FuhyoRecord.objects.get().address == "アメリカ合衆国"


def test_an_address_change_may_not_change_the_name(send):
    send(entry(1))
    apply_all()
    send(change(2, "住所の変更", notice_id="bad", address="フランス共和国", name="佐藤　次郎"))
    apply_all()
    assert state("bad") == ("rejected", "E_CHANGE_SCOPE")
    notice = InboxNotice.objects.get(notice_id="bad")
    assert notice.error_field == "record.name" and not notice.error_message.isascii()
    # The same value as before is no change; the rejected notice did not use up number 2.
    send(
        change(2, "住所の変更", notice_id="good", address="フランス共和国", name="佐藤　太郎", birth_date="1985-03-01")
    )
    apply_all()
    assert state("good") == ("applied", "")
    assert FuhyoRecord.objects.get().address == "フランス共和国"


def test_a_name_change_changes_only_name_items(send):
    send(entry(1))
    apply_all()
    send(change(2, "氏名の変更", notice_id="bad", name="鈴木　太郎", name_kana="スズキ　タロウ", address="ドイツ"))
    apply_all()
    assert state("bad") == ("rejected", "E_CHANGE_SCOPE")
    send(change(2, "氏名の変更", notice_id="good", name="鈴木　太郎", name_kana="スズキ　タロウ"))
    apply_all()
    record = FuhyoRecord.objects.get()
    assert (record.name, record.name_seion, record.notice_kind) == ("鈴木　太郎", "ススキタロオ", "2")


def test_a_code_change_keeps_the_former_code_and_the_history(send):
    send(entry(1))
    apply_all()
    send(change(2, "住民票コードの変更", notice_id="new-code", code=NEW_CODE, former_juminhyo_code=CODE))
    apply_all()
    assert state("new-code") == ("applied", "")
    record = FuhyoRecord.objects.get()
    assert (record.juminhyo_code, record.former_juminhyo_code, record.update_seq) == (NEW_CODE, CODE, 2)
    history = FuhyoHistory.objects.get()
    assert history.juminhyo_code == CODE and history.record_id == record.pk and history.update_seq == 1
    outbox = OutboxNotice.objects.get(notice_id="new-code")
    assert outbox.juminhyo_code == NEW_CODE and outbox.payload["record"]["former_juminhyo_code"] == CODE
    # Later notices go by the new code.
    send(change(3, "住所の変更", notice_id="after", code=NEW_CODE, address="フランス共和国"))
    apply_all()
    assert state("after") == ("applied", "")


def test_a_code_change_to_a_taken_code_is_rejected(send):
    send(entry(1), entry(1, notice_id="other-person", code=NEW_CODE))
    apply_all()
    send(change(2, "住民票コードの変更", notice_id="taken", code=NEW_CODE, former_juminhyo_code=CODE))
    apply_all()
    assert state("taken") == ("rejected", "E_CODE_EXISTS")
    assert FuhyoRecord.objects.get(juminhyo_code=CODE).update_seq == 1


def test_history_rows_are_kept_for_150_years(send):
    send(entry(1), change(2, "住所の変更", address="フランス共和国"))
    apply_all()
    history = FuhyoHistory.objects.get()
    assert history.address == "アメリカ合衆国" and history.update_seq == 1 and history.superseded_at is not None
    today = dt.date.today()
    assert 149 <= history.retain_until.year - today.year <= 150
    assert history.retain_until >= today.replace(year=today.year + 149)


def test_gaiji_pattern_and_flag_follow_the_counts(send):
    send(entry(1, name="髙橋", name_kana="タカハシ", name_gaiji_count=1))
    apply_all()
    record = FuhyoRecord.objects.get()
    assert (record.name_gaiji_count, record.gaiji_pattern, record.gaiji_flag) == (1, "100", True)
    send(change(2, "住所の変更", address="埼玉県川越市﨑町", address_gaiji_count=1))
    apply_all()
    record.refresh_from_db()
    assert (record.gaiji_pattern, record.gaiji_flag) == ("110", True)
    # An address without 外字 and no count sent: the count follows the text back to 0.
    send(change(3, "住所の変更", address="フランス共和国"))
    apply_all()
    record.refresh_from_db()
    assert (record.address_gaiji_count, record.gaiji_pattern) == (0, "100")
    send(change(4, "氏名の変更", name="高橋", name_kana="タカハシ"))
    apply_all()
    record.refresh_from_db()
    assert (record.name_gaiji_count, record.gaiji_pattern, record.gaiji_flag) == (0, "000", False)


def test_the_same_notice_id_again_returns_the_first_answer_and_changes_nothing(send):
    first = send(entry())
    apply_all()
    again = send(entry(name="別人　花子"))
    assert accepted_ids(first) == accepted_ids(again) == ["112011-12345678903-0001"]
    assert first.accepted[0]["receipt"] == again.accepted[0]["receipt"] and again.rejected == []
    apply_all()
    assert InboxNotice.objects.count() == 1 and OutboxNotice.objects.count() == 1
    assert FuhyoRecord.objects.get().name == "佐藤　太郎"
    assert state("112011-12345678903-0001") == ("applied", "")


def test_fuhyo_imports_nothing_from_honnin_but_the_handover():
    """DESIGN.md §5: the one door is honnin.handover, used by the temporary area's service only."""
    allowed = {("fuhyo/services_my_number.py", "honnin.handover")}
    offenders = []
    files = sorted(FUHYO_DIR.rglob("*.py"))
    assert any(path.name == "services.py" for path in files)
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called not in ("import_module", "import_string", "__import__"):
                    continue
                names = [str(node.args[0].value)]
            else:
                continue
            for name in names:
                where = str(path.relative_to(FUHYO_DIR.parent))
                if (name == "honnin" or name.startswith("honnin.")) and (where, name) not in allowed:
                    offenders.append(f"{where}:{node.lineno} {name}")
    assert offenders == []


def test_the_cs_endpoint_takes_fuhyo_notices(db, client):
    issued = client_issue_direct(kind="cs", name="試験CS", municipality_code="112011")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issued.token}"}
    body = json.dumps({"notices": [entry(), entry(1, notice_id="numbered", code=NEW_CODE, my_number=NUMBER)]})
    response = client.post("/api/cs/v1/fuhyo/notices", data=body, content_type="application/json", **auth)
    assert response.status_code == 202
    answer = response.json()
    assert [a["notice_id"] for a in answer["accepted"]] == ["112011-12345678903-0001"]
    assert [r["error"]["code"] for r in answer["rejected"]] == ["E_MY_NUMBER_NOT_ALLOWED"]
    apply_all()
    status = client.get("/api/cs/v1/fuhyo/notices/112011-12345678903-0001", **auth).json()
    assert status == {"notice_id": "112011-12345678903-0001", "state": "applied", "error": None, "forwarded": False}


def test_every_fuhyo_rule_is_documented():
    text = (FUHYO_DIR.parent / "docs" / "notice-rules.md").read_text(encoding="utf-8")
    section = text.split("## 附票本人確認情報ファイル", 1)[1].split("\n## ", 1)[0]
    for rule in RULES:
        assert f"| `{rule.code}` | {rule.stage} |" in section, rule.code
