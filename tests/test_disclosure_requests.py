"""開示請求 at the desk (disclosure/services.py, selectors.py and the pages): the whole flow for both
files, the 突合 and its outcomes, a mismatch needing the desk's decision, 不開示 needing a reason,
what is logged (and what never is), refusals for other roles, and hostile input on every form.
"""

import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.utils import timezone
from pdfminer.high_level import extract_text

from audit import context
from audit.models import AccessLogEntry
from disclosure import services
from disclosure.models import DisclosureRequest, DisclosureState, MatchResult
from disclosure.selectors import MatchStatus, record_match
from jukinet.codes import juminhyo_code_check_digit
from jukinet.errors import Conflict, InvalidInput, PermissionRefused
from jukinet.models import PrintRecord
from tests.people import make_fuhyo, make_resident, my_number_for, number_in

pytestmark = pytest.mark.django_db

NAME, KANA, ADDRESS = "山田　太郎", "ヤマダ　タロウ", "埼玉県川越市元町一丁目１番１号"
BIRTH = dt.date(1985, 3, 1)
MY_NUMBER = my_number_for(4242)


# --- Helpers (the other disclosure test modules use them too) ------------------------------------


@pytest.fixture
def taro():
    return make_resident(name=NAME, name_kana=KANA, birth_date=BIRTH, sex="1", address=ADDRESS, my_number=MY_NUMBER)


@pytest.fixture
def hanako():
    return make_fuhyo(
        name="佐藤　花子", name_kana="サトウ　ハナコ", birth_date=dt.date(1990, 1, 1), sex="2",
        address="アメリカ合衆国カリフォルニア州ロサンゼルス市",
    )  # fmt: skip


@pytest.fixture
def desk(staff_client):
    return staff_client("kaiji")


def form_data(**overrides) -> dict:
    """A request as the desk types it from the request form (of 山田太郎, across the counter)."""
    return {
        "channel": "counter",
        "received_on": timezone.localdate().isoformat(),
        "relation": "self",
        "requester_name": "",
        "agent_basis": "",
        "id_document": "driver_license",
        "id_document_note": "運転免許証 第123456号",
        "subject_name": NAME,
        "subject_name_kana": "やまだ たろう",
        "subject_birth_date": "昭和60年3月1日",
        "subject_sex": "1",
        "subject_address": "埼玉県川越市元町1丁目1番1号",
        "subject_juminhyo_code": "",
        **overrides,
    }


def fuhyo_data(**overrides) -> dict:
    return form_data(
        **{
            "subject_name": "佐藤 花子",
            "subject_name_kana": "サトウ ハナコ",
            "subject_birth_date": "1990-01-01",
            "subject_sex": "2",
            "subject_address": "アメリカ合衆国カリフォルニア州ロサンゼルス市",
            **overrides,
        }
    )


def register(client, file: str = "honnin", **overrides) -> DisclosureRequest:
    data = form_data(**overrides) if file == "honnin" else fuhyo_data(**overrides)
    response = client.post(f"/disclosure/requests/new/{file}/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    row = DisclosureRequest.objects.order_by("-id").first()
    assert response["Location"] == f"/disclosure/requests/{row.pk}/match/"
    return row


def confirm(client, row, **data):
    return client.post(f"/disclosure/requests/{row.pk}/match/", data)


def pdf_text(data: bytes) -> str:
    return extract_text(io.BytesIO(data))


def details(**filters) -> list[str]:
    return list(AccessLogEntry.objects.filter(**filters).order_by("id").values_list("detail", flat=True))


def no_personal_data_in_the_log(*secrets: str) -> None:
    for entry in AccessLogEntry.objects.all():
        for secret in secrets:
            assert secret not in entry.detail, (entry.action, entry.detail)
        assert not number_in(entry.detail, MY_NUMBER), entry.action


# --- The whole flow ------------------------------------------------------------------------------


def test_a_clerk_serves_a_honnin_disclosure_request_end_to_end(desk, taro):
    home = desk.get("/disclosure/")
    assert home.status_code == 200
    assert 'href="/disclosure/requests/new/honnin/"' in home.content.decode()

    row = register(desk, subject_juminhyo_code="", include_history="on")
    assert re.fullmatch(rf"開示{timezone.localdate().year}-\d{{6}}", row.request_no)
    assert row.state == DisclosureState.RECEIVED and row.requester_name == NAME  # 本人: the subject's name
    assert row.subject_birth_date == BIRTH and row.include_history

    page = desk.get(f"/disclosure/requests/{row.pk}/match/")
    text = page.content.decode()
    assert page.status_code == 200 and "全項目一致" in text and taro.juminhyo_code in text
    view = AccessLogEntry.objects.get(action="record.view", target_code=taro.juminhyo_code)
    assert view.duty == "disclosure" and row.request_no in view.detail and "突合" in view.detail
    assert AccessLogEntry.objects.filter(action="record.search", detail__contains=row.request_no).count() == 1

    settled = confirm(desk, row, candidate=taro.juminhyo_code)
    assert settled.status_code == 302 and settled["Location"] == f"/disclosure/requests/{row.pk}/decide/"
    row.refresh_from_db()
    assert row.state == DisclosureState.MATCHED and row.match_result == MatchResult.MATCHED
    assert row.matched_code == taro.juminhyo_code and row.matched_by == desk.operator.login_id

    decided = desk.post(f"/disclosure/requests/{row.pk}/decide/", {"decision": "disclose"})
    assert decided.status_code == 302
    row.refresh_from_db()
    assert row.state == DisclosureState.DECIDED and row.decision == "disclose" and row.decided_on

    # Not issued before both forms are printed.
    desk.post(f"/disclosure/requests/{row.pk}/issue/")
    row.refresh_from_db()
    assert row.state == DisclosureState.DECIDED

    detail = desk.get(f"/disclosure/requests/{row.pk}/").content.decode()
    assert 'target="_blank"' in detail and "開示請求への対応" in detail and "手数料は無料です" in detail

    notice = desk.post(f"/disclosure/requests/{row.pk}/print/notice/", {"reason": "開示請求への対応"})
    assert notice.status_code == 200 and notice["Content-Type"] == "application/pdf"
    assert "no-store" in notice["Cache-Control"]
    notice_text = pdf_text(notice.content)
    assert "本人確認情報開示決定通知書" in notice_text and row.request_no in notice_text
    assert "手数料は無料です" in notice_text and not number_in(notice_text, MY_NUMBER)

    disclosed = desk.post(f"/disclosure/requests/{row.pk}/print/record/", {"reason": "開示請求への対応"})
    assert disclosed.status_code == 200
    disclosed_text = pdf_text(disclosed.content)
    assert "開示する本人確認情報" in disclosed_text and number_in(disclosed_text, MY_NUMBER)

    issued = desk.post(f"/disclosure/requests/{row.pk}/issue/")
    assert issued.status_code == 302
    row.refresh_from_db()
    assert row.state == DisclosureState.ISSUED and row.issued_at is not None

    prints = list(PrintRecord.objects.order_by("id"))
    assert [p.kind for p in prints] == ["disclosure_notice", "disclosure_record"]
    assert all(p.purpose == "disclosure" and p.target_codes == [taro.juminhyo_code] for p in prints)
    assert all(p.reason == "開示請求への対応" and p.actor == desk.operator.login_id for p in prints)

    actions = list(
        AccessLogEntry.objects.filter(action__startswith="disclosure.")
        .exclude(action="disclosure.view")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "disclosure.register",
        "disclosure.match",
        "disclosure.decide",
        "disclosure.print",
        "disclosure.print",
        "disclosure.issue",
    ]
    assert all(row.request_no in d for d in details(action__startswith="disclosure.", target_file="honnin"))
    # The pages that show the request are reads of it, logged too.
    assert details(action="disclosure.view", target_file="honnin") == [f"受付番号 {row.request_no}"]
    assert details(action="disclosure.view", target_file="")[0].startswith("窓口 本日0件")
    assert "個人番号 記載" in details(action="disclosure.print")[1]
    assert AccessLogEntry.objects.filter(action="record.print").count() == 2
    no_personal_data_in_the_log("山田", "ヤマダ", "やまだ", "元町", "1985", "昭和60")


def test_a_clerk_serves_a_fuhyo_disclosure_request_end_to_end(desk, hanako):
    row = register(desk, "fuhyo", subject_juminhyo_code=hanako.juminhyo_code)
    assert desk.get(f"/disclosure/requests/{row.pk}/match/").status_code == 200
    # Found by the 住民票コード: no 4情報 search was needed.
    assert not AccessLogEntry.objects.filter(action="record.search").exists()
    assert confirm(desk, row, candidate=hanako.juminhyo_code).status_code == 302
    assert desk.post(f"/disclosure/requests/{row.pk}/decide/", {"decision": "disclose"}).status_code == 302
    notice = desk.post(f"/disclosure/requests/{row.pk}/print/notice/", {"reason": "開示請求への対応"})
    assert "附票本人確認情報開示決定通知書" in pdf_text(notice.content)
    disclosed = desk.post(f"/disclosure/requests/{row.pk}/print/record/", {"reason": "開示請求への対応"})
    text = pdf_text(disclosed.content)
    assert "開示する附票本人確認情報" in text and "個人番号" not in text and "ロサンゼルス" in text
    assert desk.post(f"/disclosure/requests/{row.pk}/issue/").status_code == 302
    row.refresh_from_db()
    assert row.state == DisclosureState.ISSUED
    assert [p.file for p in PrintRecord.objects.all()] == ["fuhyo", "fuhyo"]


def test_the_requests_are_numbered_by_year_without_gaps(desk, taro):
    first, second = register(desk), register(desk)
    year = timezone.localdate().year
    assert int(second.request_no.split("-")[1]) == int(first.request_no.split("-")[1]) + 1
    assert first.request_no.startswith(f"開示{year}-")


def test_a_legal_agent_needs_the_basis_and_is_named_on_the_notice(desk, taro):
    missing = desk.post("/disclosure/requests/new/honnin/", form_data(relation="agent", requester_name="山田　花子"))
    assert missing.status_code == 400 and "法定代理人の資格" in missing.content.decode()
    row = register(desk, relation="agent", requester_name="山田　花子", agent_basis="親権者")
    assert row.requester_name == "山田　花子" and row.agent_basis == "親権者"
    confirm(desk, row, candidate=taro.juminhyo_code)
    desk.post(f"/disclosure/requests/{row.pk}/decide/", {"decision": "disclose"})
    text = pdf_text(desk.post(f"/disclosure/requests/{row.pk}/print/notice/", {"reason": "交付"}).content)
    assert "山田 花子 様" in text.replace("\u3000", " ") and "法定代理人・親権者" in text


# --- The 突合 ------------------------------------------------------------------------------------


def test_a_mismatch_needs_the_explicit_check_and_a_reason_and_is_logged(desk, taro):
    row = register(desk, subject_address="埼玉県さいたま市浦和区高砂三丁目１５番１号")
    page = desk.get(f"/disclosure/requests/{row.pk}/match/").content.decode()
    assert "一部不一致" in page and "不一致: 住所" in page and "高砂" in page

    unticked = confirm(desk, row, candidate=taro.juminhyo_code, match_note="転居届の前の住所")
    assert unticked.status_code == 400
    assert (
        'id="id_accept_mismatch_error"' in unticked.content.decode()
        and "住所が一致しません" in unticked.content.decode()
    )
    no_note = confirm(desk, row, candidate=taro.juminhyo_code, accept_mismatch="on", match_note="  ")
    assert no_note.status_code == 400 and 'id="id_match_note_error"' in no_note.content.decode()
    row.refresh_from_db()
    assert row.state == DisclosureState.RECEIVED and not AccessLogEntry.objects.filter(action="disclosure.match")

    note = "転居の届出前の新住所を記載。運転免許証で同一人と確認"
    assert confirm(desk, row, candidate=taro.juminhyo_code, accept_mismatch="on", match_note=note).status_code == 302
    row.refresh_from_db()
    assert row.match_result == MatchResult.MISMATCH_ACCEPTED and row.match_note == note
    entry = AccessLogEntry.objects.get(action="disclosure.match")
    assert entry.target_code == taro.juminhyo_code and "不一致 住所" in entry.detail and "転居" not in entry.detail
    assert "一部不一致" in desk.get(f"/disclosure/requests/{row.pk}/").content.decode()


def test_the_match_compares_kana_and_names_by_the_file_key_and_the_address_by_width(taro):
    outcome = record_match(
        "honnin",
        name_kana="ﾔﾏﾀﾞ ﾀﾛｳ",  # half-width: the 清音化 key of ヤマダ　タロウ
        name="山田太郎",
        birth_date=BIRTH,
        sex="1",
        address="埼玉県川越市元町１丁目1番1号",
        reference="開示2026-000099",
    )
    assert outcome.status == MatchStatus.MATCHED and outcome.candidate.juminhyo_code == taro.juminhyo_code
    differs = record_match("honnin", name_kana=KANA, name=NAME, birth_date=BIRTH, sex="1", address="東京都千代田区")
    assert differs.status == MatchStatus.DIFFERS and differs.candidate.differing == ("住所",)


def test_a_code_on_the_request_is_compared_and_an_earlier_code_still_finds_the_person(taro):
    old = "7999999999" + juminhyo_code_check_digit("7999999999")
    taro.former_juminhyo_code = old
    taro.save()
    by_old = record_match("honnin", name_kana=KANA, name=NAME, birth_date=BIRTH, sex="1", address=ADDRESS,
                          juminhyo_code=old)  # fmt: skip
    assert by_old.status == MatchStatus.DIFFERS and by_old.candidate.differing == ("住民票コード",)
    # A valid code of nobody: the 4情報 still find the person, and the code is the difference.
    nobody = "7888888888" + juminhyo_code_check_digit("7888888888")
    by_info = record_match("honnin", name_kana=KANA, name=NAME, birth_date=BIRTH, sex="1", address=ADDRESS,
                           juminhyo_code=nobody)  # fmt: skip
    assert by_info.status == MatchStatus.DIFFERS and by_info.candidate.juminhyo_code == taro.juminhyo_code


def test_several_candidates_are_shown_and_the_desk_picks_one(desk, taro):
    twin = make_resident(
        name="山田　太朗", name_kana=KANA, birth_date=BIRTH, sex="1", address="埼玉県熊谷市宮町二丁目４７番地１"
    )
    row = register(desk, subject_name="山田　大郎", subject_address="埼玉県所沢市並木一丁目１番地の１")
    page = desk.get(f"/disclosure/requests/{row.pk}/match/").content.decode()
    assert "候補が複数あります" in page and taro.juminhyo_code in page and twin.juminhyo_code in page
    assert AccessLogEntry.objects.filter(action="record.view", detail__contains=row.request_no).count() == 2
    chosen = confirm(desk, row, candidate=twin.juminhyo_code, accept_mismatch="on", match_note="免許証の氏名で確認")
    assert chosen.status_code == 302
    row.refresh_from_db()
    assert row.matched_code == twin.juminhyo_code and row.match_result == MatchResult.MISMATCH_ACCEPTED


def test_a_candidate_that_was_not_shown_is_refused(desk, taro):
    other = make_resident(name="鈴木　一郎", name_kana="スズキ　イチロウ")
    row = register(desk)
    for candidate in (other.juminhyo_code, "'; DROP TABLE disclosure_disclosurerequest; --", "", "\x00"):
        response = confirm(desk, row, candidate=candidate)
        assert response.status_code == 400 and "突合する記録を候補から選んでください" in response.content.decode()
    row.refresh_from_db()
    assert row.state == DisclosureState.RECEIVED


def test_not_found_leads_to_a_refusal_with_its_reason_and_the_right_of_review(desk):
    row = register(desk)
    page = desk.get(f"/disclosure/requests/{row.pk}/match/").content.decode()
    assert "該当なし" in page and 'name="not_found"' in page
    assert confirm(desk, row, not_found="1").status_code == 302
    row.refresh_from_db()
    assert row.match_result == MatchResult.NOT_FOUND and row.matched_code == ""

    form = desk.get(f"/disclosure/requests/{row.pk}/decide/").content.decode()
    assert 'value="disclose"' not in form  # only 不開示 is offered
    refused = desk.post(f"/disclosure/requests/{row.pk}/decide/", {"decision": "disclose"})
    assert refused.status_code == 400
    no_reason = desk.post(f"/disclosure/requests/{row.pk}/decide/", {"decision": "non_disclose", "decision_reason": ""})
    assert no_reason.status_code == 400 and "不開示の理由を入力してください" in no_reason.content.decode()
    reason = "請求に係る本人確認情報が記録されていないため。"
    assert (
        desk.post(
            f"/disclosure/requests/{row.pk}/decide/", {"decision": "non_disclose", "decision_reason": reason}
        ).status_code
        == 302
    )

    notice = desk.post(f"/disclosure/requests/{row.pk}/print/notice/", {"reason": "開示請求への対応"})
    text = pdf_text(notice.content)
    assert "本人確認情報不開示決定通知書" in text and "記録されていないため" in text
    assert "審査請求" in text and "3か月以内" in text and "手数料は無料です" in text
    # Nothing to disclose: the disclosed-information form is refused, and not required for 交付.
    assert desk.post(f"/disclosure/requests/{row.pk}/print/record/", {"reason": "x"}).status_code == 409
    assert desk.post(f"/disclosure/requests/{row.pk}/issue/").status_code == 302
    row.refresh_from_db()
    assert row.state == DisclosureState.ISSUED
    assert PrintRecord.objects.get().target_codes == []


def test_not_found_cannot_be_claimed_while_there_are_candidates(desk, taro):
    row = register(desk)
    response = confirm(desk, row, not_found="1")
    assert response.status_code == 400 and "候補の記録があります" in response.content.decode()


# --- 決定 ----------------------------------------------------------------------------------------


def test_a_refusal_needs_a_reason_and_the_decision_follows_the_match(desk, taro):
    row = register(desk)
    # Not yet matched: the decision page sends the desk back.
    assert desk.get(f"/disclosure/requests/{row.pk}/decide/").status_code == 302
    confirm(desk, row, candidate=taro.juminhyo_code)
    response = desk.post(f"/disclosure/requests/{row.pk}/decide/", {"decision": "non_disclose"})
    assert response.status_code == 400 and 'id="id_decision_reason_error"' in response.content.decode()
    reason = "住民基本台帳法の規定により開示しないこととされている情報に該当するため。"
    desk.post(f"/disclosure/requests/{row.pk}/decide/", {"decision": "non_disclose", "decision_reason": reason})
    row.refresh_from_db()
    assert row.decision == "non_disclose" and row.decision_reason == reason
    assert "開示しないこととされている" not in AccessLogEntry.objects.get(action="disclosure.decide").detail
    # 不開示: the disclosed information is never printed.
    assert desk.post(f"/disclosure/requests/{row.pk}/print/record/", {"reason": "x"}).status_code == 409
    assert "不開示" in AccessLogEntry.objects.get(action="disclosure.decide").detail


def test_steps_out_of_order_are_refused_with_nothing_written(desk, taro):
    row = register(desk)
    assert desk.post(f"/disclosure/requests/{row.pk}/print/notice/", {"reason": "x"}).status_code == 409
    assert desk.post(f"/disclosure/requests/{row.pk}/issue/").status_code == 302  # back with a message
    row.refresh_from_db()
    assert row.state == DisclosureState.RECEIVED and not PrintRecord.objects.exists()
    assert desk.post(f"/disclosure/requests/{row.pk}/withdraw/").status_code == 302
    row.refresh_from_db()
    assert row.state == DisclosureState.WITHDRAWN
    assert desk.get(f"/disclosure/requests/{row.pk}/match/").status_code == 302
    assert confirm(desk, row, candidate=taro.juminhyo_code).status_code == 302  # redirected: not received
    row.refresh_from_db()
    assert row.state == DisclosureState.WITHDRAWN and row.match_result == ""
    assert AccessLogEntry.objects.get(action="disclosure.withdraw").detail == f"受付番号 {row.request_no}; 取下げ"


def test_the_services_refuse_the_next_step_from_the_wrong_state(make_operator, taro):
    clerk = make_operator("kaiji")
    with context.acting(actor_kind="operator", actor=clerk.login_id, terminal="T1"):
        row = services.disclosure_register(
            operator=clerk, file="honnin", channel="counter", received_on=timezone.localdate(),
            requester_name=NAME, relation="self", id_document="driver_license", subject_name=NAME,
            subject_name_kana=KANA, subject_birth_date=BIRTH, subject_sex="1", subject_address=ADDRESS,
        )  # fmt: skip
        with pytest.raises(Conflict):
            services.disclosure_decide(operator=clerk, request_id=row.pk, decision="disclose")
        with pytest.raises(Conflict):
            services.disclosure_issue(operator=clerk, request_id=row.pk)
        services.disclosure_match_confirm(operator=clerk, request_id=row.pk, juminhyo_code=taro.juminhyo_code)
        with pytest.raises(Conflict):
            services.disclosure_match_confirm(operator=clerk, request_id=row.pk, juminhyo_code=taro.juminhyo_code)
        with pytest.raises(InvalidInput):
            services.disclosure_decide(operator=clerk, request_id=row.pk, decision="bogus")


# --- Lists ---------------------------------------------------------------------------------------


def test_the_home_and_the_list_show_open_requests_and_filter(desk, taro, hanako):
    honnin = register(desk)
    fuhyo = register(desk, "fuhyo")
    DisclosureRequest.objects.filter(pk=fuhyo.pk).update(state="withdrawn")
    home = desk.get("/disclosure/").content.decode()
    assert honnin.request_no in home and fuhyo.request_no in home  # received today
    open_list = desk.get("/disclosure/requests/").content.decode()
    assert honnin.request_no in open_list and fuhyo.request_no not in open_list
    everything = desk.get("/disclosure/requests/?state=all").content.decode()
    assert honnin.request_no in everything and fuhyo.request_no in everything
    by_file = desk.get("/disclosure/requests/?state=all&file=fuhyo").content.decode()
    assert fuhyo.request_no in by_file and honnin.request_no not in by_file
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    later = desk.get(f"/disclosure/requests/?state=all&received_from={tomorrow}").content.decode()
    assert honnin.request_no not in later
    for bad in (
        "state=bogus",
        "received_from=2026-13-45",
        "file=x",
        f"received_from={tomorrow}&received_to=2020-01-01",
    ):
        assert desk.get(f"/disclosure/requests/?{bad}").status_code == 400, bad


def test_the_menu_offers_the_desk_to_the_disclosure_clerk_only(staff_client):
    assert 'href="/disclosure/"' in staff_client("kaiji").get("/").content.decode()
    assert 'href="/disclosure/"' not in staff_client("gyomu").get("/").content.decode()


# --- Who may --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["gyomu", "sysadmin", "auditor", "teikyo", "secadmin"])
def test_other_roles_are_refused_and_the_refusal_is_logged(staff_client, taro, role):
    client = staff_client(role)
    row = DisclosureRequest.objects.create(
        request_no="開示2026-900001", file="honnin", channel="counter", received_on=timezone.localdate(),
        received_by="x", requester_name=NAME, relation="self", id_document="driver_license", subject_name=NAME,
        subject_name_kana=KANA, subject_birth_date=BIRTH, subject_sex="1", subject_address=ADDRESS,
    )  # fmt: skip
    for method, path, data in [
        ("get", "/disclosure/", None),
        ("post", "/disclosure/requests/new/honnin/", form_data()),
        ("get", f"/disclosure/requests/{row.pk}/match/", None),
        ("post", f"/disclosure/requests/{row.pk}/match/", {"candidate": taro.juminhyo_code}),
        ("post", f"/disclosure/requests/{row.pk}/print/notice/", {"reason": "x"}),
    ]:
        response = getattr(client, method)(path, data) if data else getattr(client, method)(path)
        assert response.status_code == 403, (role, path)
    refused = AccessLogEntry.objects.filter(actor=client.operator.login_id, outcome="refused")
    assert refused.count() == 5 and all(e.action == "disclosure.desk" for e in refused)
    assert not AccessLogEntry.objects.filter(action="record.view").exists()
    assert DisclosureRequest.objects.count() == 1


def test_a_clerk_without_the_file_duty_is_refused_by_the_service_and_it_is_logged(staff_client, hanako):
    client = staff_client("kaiji", duties=["honnin"])
    response = client.post("/disclosure/requests/new/fuhyo/", fuhyo_data())
    assert response.status_code == 403
    entry = AccessLogEntry.objects.get(action="disclosure.register")
    assert entry.outcome == "refused" and entry.detail == "E_FILE_DUTY" and entry.target_file == "fuhyo"
    assert not DisclosureRequest.objects.exists()
    # The home offers only the files of the clerk's duties.
    assert "/disclosure/requests/new/fuhyo/" not in client.get("/disclosure/").content.decode()


def test_the_services_themselves_refuse_another_role_and_log_it(make_operator, taro):
    clerk, colleague = make_operator("kaiji"), make_operator("gyomu")
    with context.acting(actor_kind="operator", actor=clerk.login_id):
        row = services.disclosure_register(
            operator=clerk, file="honnin", channel="counter", received_on=timezone.localdate(),
            requester_name=NAME, relation="self", id_document="driver_license", subject_name=NAME,
            subject_name_kana=KANA, subject_birth_date="S60.3.1", subject_sex="1", subject_address=ADDRESS,
        )  # fmt: skip
    with context.acting(actor_kind="operator", actor=colleague.login_id):
        with pytest.raises(PermissionRefused):
            services.disclosure_match(operator=colleague, request_id=row.pk)
        with pytest.raises(PermissionRefused):
            services.disclosure_match_confirm(operator=colleague, request_id=row.pk, juminhyo_code=taro.juminhyo_code)
    refused = AccessLogEntry.objects.filter(actor=colleague.login_id, outcome="refused")
    assert [e.action for e in refused] == ["disclosure.match", "disclosure.match"]
    assert not AccessLogEntry.objects.filter(action="record.view").exists()


# --- Hostile input ---------------------------------------------------------------------------------

HOSTILE_REGISTRATIONS = [
    ({"subject_name": "山" * 61}, "subject_name", "60文字以内"),
    ({"subject_name": "山田\x00太郎"}, "subject_name", "制御文字"),
    ({"subject_name": "山田\u202e太郎"}, "subject_name", "見えない文字"),
    (
        {"subject_name_kana": "'; DROP TABLE disclosure_disclosurerequest; --"},
        "subject_name_kana",
        "ひらがな・カタカナ",
    ),
    ({"subject_name_kana": "ヤ"}, "subject_name_kana", "2文字以上"),
    ({"subject_birth_date": "令和99年13月"}, "subject_birth_date", ""),
    ({"subject_birth_date": "令和99年1月1日"}, "subject_birth_date", "未来"),
    ({"subject_birth_date": "昭和64年1月8日"}, "subject_birth_date", "存在しません"),
    ({"subject_birth_date": "1985-02-30"}, "subject_birth_date", "存在しない日付"),
    ({"subject_birth_date": "1985-03"}, "subject_birth_date", "年月日まで"),
    ({"subject_birth_date": "<script>"}, "subject_birth_date", ""),
    ({"subject_sex": "3"}, "subject_sex", ""),
    ({"subject_address": "埼" * 256}, "subject_address", "255文字以内"),
    ({"subject_address": "川越市\n元町"}, "subject_address", "改行"),
    ({"subject_juminhyo_code": "12345678900"}, "subject_juminhyo_code", "検査用数字"),
    ({"subject_juminhyo_code": "１２３４５６７８９０１"}, "subject_juminhyo_code", "半角"),
    ({"subject_juminhyo_code": "1' OR '1'='1"}, "subject_juminhyo_code", ""),
    ({"received_on": (dt.date.today() + dt.timedelta(days=2)).isoformat()}, "received_on", "未来"),
    ({"received_on": "2026-13-45"}, "received_on", ""),
    ({"channel": "fax"}, "channel", ""),
    ({"id_document": "x" * 500}, "id_document", ""),
    ({"id_document_note": "番号 123456789012"}, "id_document_note", "個人番号"),
    ({"requester_name": "x" * 121}, "requester_name", ""),
    ({"relation": "self", "agent_basis": "親権者"}, "agent_basis", ""),
]


@pytest.mark.parametrize(("overrides", "field", "message"), HOSTILE_REGISTRATIONS)
def test_hostile_input_on_the_request_form_is_refused_next_to_its_field(desk, overrides, field, message):
    response = desk.post("/disclosure/requests/new/honnin/", form_data(**overrides))
    assert response.status_code == 400
    text = response.content.decode()
    assert f'id="id_{field}_error"' in text, text[:4000]
    assert message in text
    assert not DisclosureRequest.objects.exists()
    # The cursor is put on the wrong field.
    assert re.search(
        rf'<(input|select|textarea)[^>]*(autofocus[^>]*id="id_{field}"|id="id_{field}"[^>]*autofocus)', text
    )


def test_sql_like_and_markup_text_is_stored_and_shown_literally(desk, taro):
    name = "'); DROP TABLE disclosure_disclosurerequest; -- <b>"
    row = register(desk, subject_name=name, requester_name="<script>alert(1)</script>", relation="self")
    assert row.subject_name == name
    page = desk.get(f"/disclosure/requests/{row.pk}/").content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM disclosure_disclosurerequest")
        assert cursor.fetchone()[0] == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"accept_mismatch": "on", "match_note": "x" * 301}, "match_note"),
        ({"accept_mismatch": "on", "match_note": "確認\x07済み"}, "match_note"),
        ({"accept_mismatch": "on", "match_note": "個人番号 1234 5678 9012 で確認"}, "match_note"),
    ],
)
def test_hostile_input_on_the_match_form(desk, taro, data, field):
    row = register(desk, subject_address="東京都千代田区")
    response = confirm(desk, row, candidate=taro.juminhyo_code, **data)
    assert response.status_code == 400 and f'id="id_{field}_error"' in response.content.decode()
    row.refresh_from_db()
    assert row.state == DisclosureState.RECEIVED


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"decision": "bogus"}, "decision"),
        ({"decision": "non_disclose", "decision_reason": "理" * 501}, "decision_reason"),
        ({"decision": "non_disclose", "decision_reason": "理由\u200bあり"}, "decision_reason"),
        ({"decision": "non_disclose", "decision_reason": "\x00"}, "decision_reason"),
    ],
)
def test_hostile_input_on_the_decision_form(desk, taro, data, field):
    row = register(desk)
    confirm(desk, row, candidate=taro.juminhyo_code)
    response = desk.post(f"/disclosure/requests/{row.pk}/decide/", data)
    assert response.status_code == 400 and f'id="id_{field}_error"' in response.content.decode()
    row.refresh_from_db()
    assert row.state == DisclosureState.MATCHED


@pytest.mark.parametrize("reason", ["", "   ", "理" * 201, "改行\nあり", "\u202e逆順", "\x00"])
def test_a_print_without_a_usable_reason_prints_nothing(desk, taro, reason):
    row = register(desk)
    confirm(desk, row, candidate=taro.juminhyo_code)
    desk.post(f"/disclosure/requests/{row.pk}/decide/", {"decision": "disclose"})
    for form in ("notice", "record"):
        response = desk.post(f"/disclosure/requests/{row.pk}/print/{form}/", {"reason": reason})
        assert response.status_code == 400 and "印刷の理由" in response.content.decode()
    assert not PrintRecord.objects.exists() and not AccessLogEntry.objects.filter(action="disclosure.print").exists()


def test_unknown_requests_and_files_are_not_found(desk):
    assert desk.get("/disclosure/requests/999999/").status_code == 404
    assert desk.get("/disclosure/requests/new/other/").status_code == 404
    assert desk.post("/disclosure/requests/999999/print/notice/", {"reason": "x"}).status_code == 404
    assert desk.get("/disclosure/requests/99999999999999999999/").status_code == 404


def test_every_desk_page_answers_the_clerk_without_a_server_error(desk, taro):
    row = register(desk)
    for path in ["/disclosure/", "/disclosure/requests/", "/disclosure/provision-status/",
                 "/disclosure/requests/new/honnin/", "/disclosure/requests/new/fuhyo/",
                 "/disclosure/provision-status/new/honnin/", f"/disclosure/requests/{row.pk}/",
                 f"/disclosure/requests/{row.pk}/match/"]:  # fmt: skip
        response = desk.get(path)
        assert response.status_code == 200, path
        assert "autofocus" in response.content.decode(), path
