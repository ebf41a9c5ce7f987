"""訂正・追加・削除の申出 (disclosure/services_corrections.py and its pages): the whole workflow for
both files, every illegal transition refused with nothing written, the rules of the notice link,
the notice of the outcome read back from the PDF and rendered, refusals for other roles, and
hostile input on every form.
"""

import datetime as dt
import io
import os
import shutil
import subprocess
import uuid

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from pdfminer.high_level import extract_text
from PIL import Image

from audit import context
from audit.models import AccessLogEntry
from disclosure import services_corrections as services
from disclosure.models import CorrectionRequest, CorrectionState, DisclosureRequest
from disclosure.selectors_corrections import item_choices, notice_candidates
from jukinet.errors import Conflict, InvalidInput, PermissionRefused
from jukinet.models import InboxNotice, InboxState, PrintRecord
from jukinet.wareki import to_wareki
from tests.people import make_fuhyo, make_resident, next_code

pytestmark = pytest.mark.django_db

KAWAGOE, KUMAGAYA, TOKYO_CHIYODA = "112011", "112020", "131016"
REQUESTER = "申出　太郎"
VALUE = "埼玉県川越市元町二丁目２番２号"


# --- Helpers ------------------------------------------------------------------------------------


@pytest.fixture
def desk(make_operator):
    return make_operator("kaiji", login_id="desk01")


@pytest.fixture
def as_desk(desk):
    with context.acting(actor_kind="operator", actor=desk.login_id, terminal="TM0001", request_id="r-1"):
        yield desk


def _requester(**overrides) -> dict:
    return {
        "channel": "counter",
        "received_on": timezone.localdate(),
        "requester_name": REQUESTER,
        "relation": "self",
        "agent_basis": "",
        "id_document": "driver_license",
        "id_document_note": "免許証 第12号",
        **overrides,
    }


def _register(operator, row, *, file="honnin", **overrides) -> CorrectionRequest:
    data = {
        **_requester(),
        "file": file,
        "juminhyo_code": row.juminhyo_code,
        "kind": "correct",
        "item": "address",
        "requested_value": VALUE,
        "requester_reason": "転居の届出が反映されていないため",
        **overrides,
    }
    return services.correction_register(operator=operator, **data)


_notice_serial = iter(range(1, 1_000_000))


def _notice(
    *,
    file: str,
    code: str,
    state: str = InboxState.APPLIED,
    received_at: dt.datetime | None = None,
    municipality: str = KAWAGOE,
    change_reason: str = "職権修正",
    record: dict | None = None,
) -> InboxNotice:
    n = next(_notice_serial)
    notice = InboxNotice.objects.create(
        file=file,
        notice_id=f"CS-{file}-{n:05d}",
        receipt=str(uuid.uuid4()),
        client_id=f"cs-{municipality}",
        municipality_code=municipality,
        juminhyo_code=code,
        update_seq=n + 1,
        change_reason=change_reason,
        changed_on=timezone.localdate(),
        record=record or {"address": VALUE},
        state=state,
        decided_at=timezone.now() if state == InboxState.APPLIED else None,
    )
    if received_at is not None:
        InboxNotice.objects.filter(pk=notice.pk).update(received_at=received_at)
        notice.received_at = received_at
    return notice


def _snapshot(correction: CorrectionRequest) -> dict:
    row = CorrectionRequest.objects.filter(pk=correction.pk).values().get()
    row.pop("updated_at")
    return row


def _logs(action: str | None = None):
    entries = AccessLogEntry.objects.order_by("id")
    return entries.filter(action=action) if action else entries


def _text(response) -> str:
    return response.content.decode()


def _pdf_text(data: bytes) -> str:
    return extract_text(io.BytesIO(data))


@pytest.fixture
def pdftoppm() -> str:
    found = shutil.which("pdftoppm")
    if found is None:
        message = "pdftoppm not found: install poppler-utils (bash scripts/ensure_system_packages.sh test)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def _render(pdftoppm: str, data: bytes, tmp_path) -> list:
    source = tmp_path / "notice.pdf"
    source.write_bytes(data)
    subprocess.run([pdftoppm, "-r", "50", "-png", str(source), str(tmp_path / "page")], check=True, timeout=60)
    pages = sorted(tmp_path.glob("page-*.png"))
    for path in pages:
        with Image.open(path) as image:
            gray = image.convert("L")
            assert 400 <= gray.width <= 420 and 575 <= gray.height <= 595  # A4 at 50 dpi
            assert sum(gray.histogram()[:128]) > 1000, f"{path.name} is (nearly) blank"
            footer = gray.crop((0, int(gray.height * 0.9), gray.width, gray.height))
            assert sum(footer.histogram()[:128]) > 50, f"{path.name} has no footer"
    return pages


# --- The whole workflow -------------------------------------------------------------------------


def test_a_honnin_correction_goes_from_received_to_corrected_and_its_notice_prints(as_desk, pdftoppm, tmp_path):
    resident = make_resident(municipality_code=KAWAGOE)
    correction = _register(as_desk, resident)
    year = timezone.localdate().year
    assert correction.request_no == f"訂正{year}-000001"
    assert correction.state == CorrectionState.RECEIVED and correction.received_by == "desk01"

    # The municipality that keeps the record is the default; the date asked is recorded.
    assert services.default_municipality(correction) == KAWAGOE
    services.correction_investigate(
        operator=as_desk, correction_id=correction.pk, municipality_code=KAWAGOE, asked_on=timezone.localdate()
    )
    correction.refresh_from_db()
    assert correction.state == CorrectionState.INVESTIGATING and correction.asked_on == timezone.localdate()

    notice = _notice(file="honnin", code=resident.juminhyo_code)
    assert [n.notice_id for n in notice_candidates(correction)] == [notice.notice_id]
    services.correction_close_corrected(operator=as_desk, correction_id=correction.pk, notice_id=notice.notice_id)
    correction.refresh_from_db()
    assert correction.state == CorrectionState.CORRECTED
    assert correction.corrected_notice_id == notice.notice_id
    assert correction.corrected_on == timezone.localdate() and correction.closed_by == "desk01"

    record, data = services.correction_print_notice(
        operator=as_desk, correction_id=correction.pk, reason="申出者への結果通知"
    )
    assert data.startswith(b"%PDF-")
    assert record.kind == "correction_notice" and record.purpose == "correction" and record.file == "honnin"
    assert record.target_codes == [resident.juminhyo_code] and record.reason == "申出者への結果通知"
    text = _pdf_text(data)
    for expected in (
        "訂正等の申出に対する結果通知書",
        "様式第4号",
        "埼玉県知事",
        to_wareki(timezone.localdate()),  # issued today, in 和暦
        correction.request_no,
        resident.juminhyo_code,
        "訂正",
        "住所",  # the item's label
        "訂正しました",
        REQUESTER.replace("\u3000", " "),  # ReportLab sets an ideographic space as a space
        record.serial,
        "1 / 1 ページ",
    ):
        assert expected in text, expected
    assert "審査請求" not in text  # only a refusal carries the notice of the right to seek review
    assert len(_render(pdftoppm, data, tmp_path)) == record.pages == 1

    # Every step is logged, with the request number and never a name or the value asked for.
    actions = [e.action for e in _logs().filter(actor="desk01")]
    assert actions == [
        "correction.register",
        "correction.investigate",
        "correction.close",
        "record.print",
        "correction.print",
    ]
    for entry in _logs().filter(actor="desk01"):
        assert entry.outcome == "ok" and entry.target_code == resident.juminhyo_code
        assert REQUESTER not in entry.detail and VALUE not in entry.detail and "転居の届出" not in entry.detail
    assert correction.request_no in _logs("correction.close").get().detail
    assert notice.notice_id in _logs("correction.close").get().detail
    assert record.serial in _logs("correction.print").get().detail


def test_a_fuhyo_correction_is_refused_through_the_pages_and_its_notice_explains_the_right_to_review(
    staff_client, pdftoppm, tmp_path
):
    client = staff_client("kaiji", login_id="desk02")
    row = make_fuhyo(managing_municipality_code=KUMAGAYA)

    page = client.get("/disclosure/corrections/new/?file=fuhyo")
    assert page.status_code == 200 and "附票本人確認情報" in _text(page)
    assert 'value="last_address"' in _text(page) and 'value="former_surname"' not in _text(page)
    response = client.post(
        "/disclosure/corrections/new/",
        {
            "file": "fuhyo",
            **_requester(received_on=timezone.localdate().isoformat(), relation="agent", agent_basis="親権者"),
            "juminhyo_code": row.juminhyo_code,
            "kind": "delete",
            "item": "last_address",
            "requested_value": "最終住所の記載を削除してほしい",
            "requester_reason": "",
        },
    )
    assert response.status_code == 302, _text(response)
    correction = CorrectionRequest.objects.get()
    assert response["Location"] == f"/disclosure/corrections/{correction.pk}/"
    assert correction.file == "fuhyo" and correction.relation == "agent" and correction.agent_basis == "親権者"

    detail = client.get(response["Location"])
    assert detail.status_code == 200 and detail["Cache-Control"].startswith("max-age=0")
    body = _text(detail)
    assert correction.request_no in body and "最終住所" in body and "熊谷市" in body  # the default municipality
    assert f'value="{KUMAGAYA}"' in body

    assert client.post(f"/disclosure/corrections/{correction.pk}/investigate/", {
        "municipality_code": KUMAGAYA, "asked_on": timezone.localdate().isoformat(),
    }).status_code == 302  # fmt: skip
    assert "まだありません" in _text(client.get(response["Location"]))  # no notice yet

    reason = "熊谷市に照会した結果、最終住所の記載は住民基本台帳の記載と一致しており、誤りは確認されなかったため。"
    closed = client.post(f"/disclosure/corrections/{correction.pk}/not-corrected/", {"reason": reason})
    assert closed.status_code == 302
    correction.refresh_from_db()
    assert correction.state == CorrectionState.NOT_CORRECTED and correction.not_corrected_reason == reason

    pdf = client.post(f"/disclosure/corrections/{correction.pk}/print/", {"print_reason": "結果通知"})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    record = PrintRecord.objects.get()
    assert pdf["Content-Disposition"] == f'inline; filename="{record.serial}.pdf"'
    text = "".join(_pdf_text(pdf.content).split())  # wrapped lines rejoined
    for expected in (
        "削除しないこととしました",
        "附票本人確認情報",
        "審査請求",
        "3か月以内",
        "取消しを求める訴え",
        correction.request_no,
    ):
        assert expected in text, expected
    assert "".join(reason.split()) in text
    assert len(_render(pdftoppm, pdf.content, tmp_path)) == record.pages

    actions = list(_logs().filter(actor="desk02", outcome="ok").values_list("action", flat=True))
    for action in ("correction.register", "correction.investigate", "correction.close", "record.print"):
        assert action in actions
    assert "correction.view" in actions


def test_request_numbers_count_up_within_the_year(as_desk):
    resident = make_resident()
    numbers = [_register(as_desk, resident).request_no for _ in range(3)]
    year = timezone.localdate().year
    assert numbers == [f"訂正{year}-000001", f"訂正{year}-000002", f"訂正{year}-000003"]


def test_a_correction_may_follow_a_matched_disclosure_request_of_the_same_record(as_desk):
    resident = make_resident()
    disclosure = DisclosureRequest.objects.create(
        request_no="開2026-000007",
        file="honnin",
        **{k: v for k, v in _requester().items()},
        received_by="desk01",
        subject_name="申出　太郎",
        subject_name_kana="モウシデ　タロウ",
        subject_birth_date=dt.date(1985, 3, 1),
        subject_sex="1",
        subject_address="埼玉県川越市",
        state="decided",
        matched_code=resident.juminhyo_code,
        match_result="matched",
    )
    correction = _register(as_desk, resident, disclosure_no="開2026-000007")
    assert correction.disclosure == disclosure
    assert "開示請求 開2026-000007" in _logs("correction.register").get().detail

    other = make_resident()
    with pytest.raises(InvalidInput) as exc:
        _register(as_desk, other, disclosure_no="開2026-000007")
    assert exc.value.field == "juminhyo_code" and exc.value.code == "E_DISCLOSURE_CODE"
    with pytest.raises(InvalidInput) as exc:
        _register(as_desk, resident, disclosure_no="開2026-999999")
    assert exc.value.field == "disclosure_no"


# --- Illegal transitions: refused, in Japanese, nothing written ------------------------------------


def _at(state: str, operator, resident) -> CorrectionRequest:
    correction = _register(operator, resident)
    if state == "received":
        return correction
    services.correction_investigate(
        operator=operator, correction_id=correction.pk, municipality_code=KAWAGOE, asked_on=timezone.localdate()
    )
    if state == "corrected":
        notice = _notice(file="honnin", code=resident.juminhyo_code)
        services.correction_close_corrected(operator=operator, correction_id=correction.pk, notice_id=notice.notice_id)
    elif state == "not_corrected":
        services.correction_close_not_corrected(operator=operator, correction_id=correction.pk, reason="誤りなし")
    correction.refresh_from_db()
    return correction


def _step(name: str, operator, correction, resident):
    if name == "investigate":
        return services.correction_investigate(
            operator=operator, correction_id=correction.pk, municipality_code=KAWAGOE, asked_on=timezone.localdate()
        )
    if name == "corrected":
        notice = _notice(file="honnin", code=resident.juminhyo_code)
        return services.correction_close_corrected(
            operator=operator, correction_id=correction.pk, notice_id=notice.notice_id
        )
    if name == "not_corrected":
        return services.correction_close_not_corrected(operator=operator, correction_id=correction.pk, reason="理由")
    return services.correction_print_notice(operator=operator, correction_id=correction.pk, reason="通知")


ILLEGAL = [
    ("received", "corrected", "E_CORRECTION_STATE"),
    ("received", "not_corrected", "E_CORRECTION_STATE"),
    ("received", "print", "E_CORRECTION_OPEN"),
    ("investigating", "investigate", "E_CORRECTION_STATE"),
    ("investigating", "print", "E_CORRECTION_OPEN"),
    ("corrected", "investigate", "E_CORRECTION_CLOSED"),
    ("corrected", "corrected", "E_CORRECTION_CLOSED"),
    ("corrected", "not_corrected", "E_CORRECTION_CLOSED"),
    ("not_corrected", "investigate", "E_CORRECTION_CLOSED"),
    ("not_corrected", "corrected", "E_CORRECTION_CLOSED"),
    ("not_corrected", "not_corrected", "E_CORRECTION_CLOSED"),
]


@pytest.mark.parametrize(("state", "step", "code"), ILLEGAL)
def test_every_illegal_transition_is_refused_with_a_japanese_message_and_nothing_written(as_desk, state, step, code):
    resident = make_resident()
    correction = _at(state, as_desk, resident)
    before, log_count, prints = _snapshot(correction), _logs().count(), PrintRecord.objects.count()
    with pytest.raises(Conflict) as exc:
        _step(step, as_desk, correction, resident)
    assert exc.value.code == code
    assert "この申出は" in exc.value.message or "結果通知書" in exc.value.message
    assert _snapshot(correction) == before
    assert _logs().count() == log_count and PrintRecord.objects.count() == prints


def test_an_illegal_transition_through_the_page_shows_the_message_above_the_step(staff_client):
    client = staff_client("kaiji", login_id="desk03")
    resident = make_resident()
    with context.acting(actor_kind="operator", actor="desk03"):
        correction = _at("not_corrected", client.operator, resident)
    # A stale page: the request was closed meanwhile, the clerk presses 「照会を記録する」.
    response = client.post(
        f"/disclosure/corrections/{correction.pk}/investigate/",
        {"municipality_code": KAWAGOE, "asked_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 409
    assert "「訂正しない」で完了しているため" in _text(response)
    assert CorrectionRequest.objects.get().state == CorrectionState.NOT_CORRECTED


def test_the_database_refuses_to_move_a_request_backwards_or_change_a_closed_one(as_desk):
    resident = make_resident()
    investigating = _at("investigating", as_desk, resident)
    closed = _at("corrected", as_desk, resident)
    refusals = [
        lambda: CorrectionRequest.objects.filter(pk=investigating.pk).update(state="received"),
        lambda: CorrectionRequest.objects.filter(pk=investigating.pk).update(municipality_code=KUMAGAYA),
        lambda: CorrectionRequest.objects.filter(pk=investigating.pk).update(requested_value="書き換え"),
        lambda: CorrectionRequest.objects.filter(pk=closed.pk).update(state="investigating"),
        lambda: CorrectionRequest.objects.filter(pk=closed.pk).update(requester_reason="後から"),
        # skipping a state (the check constraints refuse the missing outcome as well)
        lambda: CorrectionRequest.objects.filter(pk=_register(as_desk, resident).pk).update(
            state="not_corrected", not_corrected_reason="x", closed_by="x", closed_at=timezone.now()
        ),
        # closed without saying by whom, or corrected without the notice
        lambda: CorrectionRequest.objects.filter(pk=investigating.pk).update(state="not_corrected"),
        lambda: CorrectionRequest.objects.filter(pk=investigating.pk).update(
            state="corrected", closed_by="x", closed_at=timezone.now()
        ),
    ]
    for refuse in refusals:
        with pytest.raises(IntegrityError), transaction.atomic():
            refuse()
    assert CorrectionRequest.objects.get(pk=investigating.pk).state == "investigating"
    assert CorrectionRequest.objects.get(pk=closed.pk).state == "corrected"


# --- Which notice may close a request as corrected -----------------------------------------------------


def test_only_an_applied_notice_of_the_same_file_and_person_received_since_the_request_qualifies(as_desk):
    resident = make_resident()
    correction = _at("investigating", as_desk, resident)
    code = resident.juminhyo_code
    day_before = timezone.now() - dt.timedelta(days=1)
    wrong = {
        "another file": _notice(file="fuhyo", code=code),
        "another person": _notice(file="honnin", code=next_code()),
        "pending": _notice(file="honnin", code=code, state=InboxState.PENDING),
        "held": _notice(file="honnin", code=code, state=InboxState.HELD),
        "rejected": _notice(file="honnin", code=code, state=InboxState.REJECTED),
        "before the request": _notice(file="honnin", code=code, received_at=day_before),
    }
    right = _notice(file="honnin", code=code)
    assert [n.notice_id for n in notice_candidates(correction)] == [right.notice_id]
    for label, notice in [*wrong.items(), ("unknown", None)]:
        with pytest.raises(InvalidInput) as exc:
            services.correction_close_corrected(
                operator=as_desk, correction_id=correction.pk, notice_id=notice.notice_id if notice else "NO-SUCH"
            )
        assert exc.value.code == "E_NOTICE_NOT_CANDIDATE" and exc.value.field == "notice_id", label
    with pytest.raises(InvalidInput) as exc:
        services.correction_close_corrected(operator=as_desk, correction_id=correction.pk, notice_id="  ")
    assert exc.value.code == "E_NOTICE_REQUIRED"
    assert CorrectionRequest.objects.get(pk=correction.pk).state == "investigating"
    services.correction_close_corrected(operator=as_desk, correction_id=correction.pk, notice_id=right.notice_id)
    assert CorrectionRequest.objects.get(pk=correction.pk).corrected_notice_id == right.notice_id


def test_a_notice_that_changed_the_juminhyo_code_qualifies_through_the_former_code(as_desk):
    resident = make_resident()
    correction = _at("investigating", as_desk, resident)
    new_code = next_code()
    notice = _notice(
        file="honnin",
        code=new_code,
        change_reason="住民票コードの変更",
        record={"former_juminhyo_code": resident.juminhyo_code},
    )
    assert [n.notice_id for n in notice_candidates(correction)] == [notice.notice_id]
    services.correction_close_corrected(operator=as_desk, correction_id=correction.pk, notice_id=notice.notice_id)


def test_the_page_offers_the_candidate_notices_to_choose_by_keyboard(staff_client):
    client = staff_client("kaiji", login_id="desk04")
    resident = make_resident()
    with context.acting(actor_kind="operator", actor="desk04"):
        correction = _at("investigating", client.operator, resident)
    other = _notice(file="honnin", code=next_code())
    right = _notice(file="honnin", code=resident.juminhyo_code)
    body = _text(client.get(f"/disclosure/corrections/{correction.pk}/"))
    assert f'value="{right.notice_id}"' in body and 'type="radio"' in body and "autofocus" in body
    assert other.notice_id not in body
    # A notice id that is not offered is refused next to the choice.
    refused = client.post(f"/disclosure/corrections/{correction.pk}/corrected/", {"notice_id": other.notice_id})
    assert refused.status_code == 400 and "候補にありません" in _text(refused)
    accepted = client.post(f"/disclosure/corrections/{correction.pk}/corrected/", {"notice_id": right.notice_id})
    assert accepted.status_code == 302
    assert CorrectionRequest.objects.get().state == "corrected"


# --- Input checks of the service ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"juminhyo_code": "12345678901"}, "juminhyo_code", "E_JUMINHYO_CODE_CHECK_DIGIT"),
        ({"juminhyo_code": "１２３"}, "juminhyo_code", "E_JUMINHYO_CODE_FULLWIDTH"),
        ({"juminhyo_code": ""}, "juminhyo_code", "E_JUMINHYO_CODE_REQUIRED"),
        ({"item": "my_number"}, "item", "E_CHOICE"),
        ({"item": "last_address"}, "item", "E_CHOICE"),  # a fuhyo item on a honnin request
        ({"item": "stamped_at"}, "item", "E_CHOICE"),  # kept by the prefecture, not a resident's item
        ({"kind": "rewrite"}, "kind", "E_CHOICE"),
        ({"requested_value": "   "}, "requested_value", "E_REQUIRED"),
        ({"requested_value": "x" * 301}, "requested_value", "E_TOO_LONG"),
        ({"requested_value": "正しくは\x00です"}, "requested_value", "E_CONTROL_CHARACTERS"),
        ({"requested_value": "埼玉県\u202e川越市"}, "requested_value", "E_CONTROL_CHARACTERS"),
        ({"requester_reason": "個人番号は123456789012です"}, "requester_reason", "E_MY_NUMBER_IN_TEXT"),
        ({"id_document_note": "番号 1234 5678 9012"}, "id_document_note", "E_MY_NUMBER_IN_TEXT"),
        ({"requester_name": "申出\n太郎"}, "requester_name", "E_CONTROL_CHARACTERS"),
        ({"requester_name": ""}, "requester_name", "E_REQUIRED"),
        ({"relation": "agent"}, "agent_basis", "E_AGENT_BASIS"),
        ({"agent_basis": "親権者"}, "agent_basis", "E_AGENT_BASIS"),  # 本人 with an agent's basis
        ({"channel": "fax"}, "channel", "E_CHOICE"),
        ({"id_document": "copy_by_post"}, "id_document", "E_ID_DOCUMENT"),  # by post only
        ({"channel": "post"}, "id_document", "E_ID_DOCUMENT"),
        ({"received_on": dt.date(2099, 1, 1)}, "received_on", "E_DATE_FUTURE"),
        ({"received_on": dt.date(1999, 12, 31)}, "received_on", "E_DATE_TOO_EARLY"),
        ({"file": "other"}, "file", "E_CHOICE"),
    ],
)
def test_register_refuses_bad_input_next_to_its_field_and_writes_nothing(as_desk, overrides, field, code):
    resident = make_resident()
    with pytest.raises(InvalidInput) as exc:
        _register(as_desk, resident, **overrides)
    assert (exc.value.field, exc.value.code) == (field, code)
    assert exc.value.message.endswith("。") and not exc.value.message.isascii()
    assert not CorrectionRequest.objects.exists() and not _logs("correction.register").exists()


def test_register_refuses_a_code_that_is_not_in_the_file_and_names_the_current_code_after_a_change(as_desk):
    resident = make_resident()
    with pytest.raises(InvalidInput) as exc:
        _register(as_desk, resident, file="fuhyo", item="name")
    assert exc.value.code == "E_RECORD_NOT_FOUND" and "附票本人確認情報ファイルにありません" in exc.value.message
    old_code = next_code()
    moved = make_resident(former_juminhyo_code=old_code)
    with pytest.raises(InvalidInput) as exc:
        services.correction_register(
            operator=as_desk,
            **_requester(),
            file="honnin",
            juminhyo_code=old_code,
            kind="correct",
            item="name",
            requested_value="正",
        )
    assert exc.value.code == "E_CODE_CHANGED" and moved.juminhyo_code in exc.value.message


def test_the_items_offered_are_the_files_own_and_never_the_my_number(db):
    honnin = dict(item_choices("honnin"))
    fuhyo = dict(item_choices("fuhyo"))
    assert {"name", "name_kana", "birth_date", "sex", "address", "former_surname"} <= set(honnin)
    assert {"name", "address", "last_address", "managing_municipality_code"} <= set(fuhyo)
    assert "my_number" not in honnin and "last_address" not in honnin and "former_surname" not in fuhyo
    assert not {"stamped_at", "update_seq", "gaiji_flag", "operator_id"} & (set(honnin) | set(fuhyo))
    assert honnin["name"] == "漢字氏名"


@pytest.mark.parametrize(
    ("municipality", "asked_on", "field", "code"),
    [
        (TOKYO_CHIYODA, None, "municipality_code", "E_MUNICIPALITY"),  # not of the prefecture
        ("112012", None, "municipality_code", "E_MUNICIPALITY"),  # wrong check digit
        ("", None, "municipality_code", "E_MUNICIPALITY"),
        (KAWAGOE, dt.date(2099, 1, 1), "asked_on", "E_DATE_FUTURE"),
        (KAWAGOE, "before", "asked_on", "E_DATE_TOO_EARLY"),  # before the request was received
    ],
)
def test_investigate_needs_a_municipality_of_the_prefecture_and_a_date_since_the_request(
    as_desk, municipality, asked_on, field, code
):
    resident = make_resident()
    correction = _register(as_desk, resident, received_on=timezone.localdate() - dt.timedelta(days=3))
    if asked_on == "before":
        asked_on = correction.received_on - dt.timedelta(days=1)
    before = _snapshot(correction)
    with pytest.raises(InvalidInput) as exc:
        services.correction_investigate(
            operator=as_desk,
            correction_id=correction.pk,
            municipality_code=municipality,
            asked_on=asked_on or timezone.localdate(),
        )
    assert (exc.value.field, exc.value.code) == (field, code)
    assert _snapshot(correction) == before and not _logs("correction.investigate").exists()


def test_not_corrected_needs_a_reason(as_desk):
    correction = _at("investigating", as_desk, make_resident())
    for reason in ("", "   ", "理由\x07", "x" * 501):
        with pytest.raises(InvalidInput) as exc:
            services.correction_close_not_corrected(operator=as_desk, correction_id=correction.pk, reason=reason)
        assert exc.value.field == "reason"
    assert CorrectionRequest.objects.get().state == "investigating"


def test_a_print_needs_a_reason_and_writes_nothing_without_one(staff_client):
    client = staff_client("kaiji", login_id="desk05")
    with context.acting(actor_kind="operator", actor="desk05"):
        correction = _at("not_corrected", client.operator, make_resident())
    response = client.post(f"/disclosure/corrections/{correction.pk}/print/", {"print_reason": "  "})
    assert response.status_code == 400 and "印刷の理由を入力してください" in _text(response)
    assert 'id="id_print_reason_error"' in _text(response)
    response = client.post(f"/disclosure/corrections/{correction.pk}/print/", {"print_reason": "a\nb"})
    assert response.status_code == 400
    assert not PrintRecord.objects.exists() and not _logs("record.print").exists()


# --- Who may do it -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["gyomu", "teikyo", "sysadmin", "secadmin", "auditor"])
def test_other_roles_are_refused_every_correction_page_and_the_refusal_is_logged(staff_client, role):
    client = staff_client(role)
    resident = make_resident()
    correction = CorrectionRequest.objects.create(
        request_no="訂正2026-000100",
        file="honnin",
        **_requester(),
        received_by="someone",
        juminhyo_code=resident.juminhyo_code,
        kind="correct",
        item="address",
        requested_value=VALUE,
    )
    base = f"/disclosure/corrections/{correction.pk}"
    pages = [
        ("get", "/disclosure/corrections/", {}),
        ("get", "/disclosure/corrections/new/", {}),
        ("post", "/disclosure/corrections/new/", {"file": "honnin", "juminhyo_code": resident.juminhyo_code}),
        ("get", f"{base}/", {}),
        ("post", f"{base}/investigate/", {"municipality_code": KAWAGOE, "asked_on": "2026-01-01"}),
        ("post", f"{base}/corrected/", {"notice_id": "x"}),
        ("post", f"{base}/not-corrected/", {"reason": "x"}),
        ("post", f"{base}/print/", {"print_reason": "x"}),
    ]
    for method, path, data in pages:
        before = _logs().filter(actor=client.operator.login_id, outcome="refused").count()
        response = getattr(client, method)(path, data)
        assert response.status_code == 403, (method, path)
        assert VALUE not in _text(response) and REQUESTER not in _text(response)
        assert _logs().filter(actor=client.operator.login_id, outcome="refused").count() == before + 1
    assert CorrectionRequest.objects.get().state == "received"


def test_a_desk_clerk_without_the_file_duty_is_refused_and_the_refusal_is_logged(make_operator):
    clerk = make_operator("kaiji", login_id="desk-honnin", duties=["honnin"])
    row = make_fuhyo()
    with context.acting(actor_kind="operator", actor=clerk.login_id), pytest.raises(PermissionRefused) as exc:
        _register(clerk, row, file="fuhyo", item="name")
    assert exc.value.code == "E_FILE_DUTY"
    refusal = _logs("correction.register").get()
    assert refusal.outcome == "refused" and refusal.actor == "desk-honnin" and refusal.target_file == "fuhyo"
    assert not CorrectionRequest.objects.exists()


def test_a_clerk_without_the_file_duty_neither_lists_nor_opens_that_files_requests(staff_client, make_operator):
    desk = make_operator("kaiji", login_id="desk-both")
    with context.acting(actor_kind="operator", actor=desk.login_id):
        fuhyo = _register(desk, make_fuhyo(), file="fuhyo", item="name")
        honnin = _register(desk, make_resident())
    client = staff_client("kaiji", login_id="desk-honnin-only", duties=["honnin"])
    listed = _text(client.get("/disclosure/corrections/?state=all"))
    assert honnin.request_no in listed and fuhyo.request_no not in listed
    refused = client.get(f"/disclosure/corrections/{fuhyo.pk}/")
    assert refused.status_code == 403 and REQUESTER not in _text(refused)
    entry = _logs("correction.view").filter(actor="desk-honnin-only", outcome="refused").get()
    assert entry.target_file == "fuhyo" and entry.detail == "E_FILE_DUTY"


def test_the_service_refuses_an_operator_without_the_desk_role_even_when_called_directly(make_operator):
    gyomu = make_operator("gyomu", login_id="gyomu01")
    with context.acting(actor_kind="operator", actor=gyomu.login_id), pytest.raises(PermissionRefused):
        _register(gyomu, make_resident())
    assert _logs("correction.register").get().outcome == "refused"


# --- Hostile input on every form of the pages ------------------------------------------------------------

# Each is refused wherever it is typed: NUL, a control character, a bidi override, a runaway paste.
HOSTILE_TEXT = [
    "\x00",
    "<script>alert(1)</script>\x00",
    "x" * 5000,
    "\u202e逆順",
    "名前\x1b[31m",
]


@pytest.mark.parametrize("hostile", HOSTILE_TEXT)
def test_hostile_input_on_the_register_form_gets_japanese_errors_not_a_500(staff_client, hostile):
    client = staff_client("kaiji", login_id="desk06")
    resident = make_resident()
    base = {
        "file": "honnin",
        **_requester(received_on=timezone.localdate().isoformat()),
        "juminhyo_code": resident.juminhyo_code,
        "kind": "correct",
        "item": "address",
        "requested_value": VALUE,
    }
    for field in ("requester_name", "agent_basis", "id_document_note", "disclosure_no", "juminhyo_code",
                  "requested_value", "requester_reason", "kind", "item", "channel", "relation", "id_document",
                  "received_on", "file"):  # fmt: skip
        response = client.post("/disclosure/corrections/new/", {**base, field: hostile})
        assert response.status_code == 400, (field, response.status_code)
        body = _text(response)
        assert "<script>alert(1)" not in body
        assert 'role="alert"' in body, field
    assert not CorrectionRequest.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"municipality_code": "\x00", "asked_on": "2026-01-01"},
        {"municipality_code": KAWAGOE, "asked_on": "0001-01-01"},
        {"municipality_code": KAWAGOE, "asked_on": "9999-12-31"},
        {"municipality_code": KAWAGOE, "asked_on": "2026-02-30"},
        {"municipality_code": "1" * 5000, "asked_on": ""},
        {"municipality_code": "<script>", "asked_on": "昭和"},
    ],
)
def test_hostile_input_on_the_investigate_form_gets_japanese_errors_not_a_500(staff_client, data):
    client = staff_client("kaiji", login_id="desk07")
    with context.acting(actor_kind="operator", actor="desk07"):
        correction = _register(client.operator, make_resident())
    response = client.post(f"/disclosure/corrections/{correction.pk}/investigate/", data)
    assert response.status_code == 400
    assert 'role="alert"' in _text(response) and "<script>" not in _text(response)
    assert CorrectionRequest.objects.get().state == "received"


@pytest.mark.parametrize("hostile", HOSTILE_TEXT)
def test_hostile_input_on_the_closing_and_print_forms_gets_japanese_errors_not_a_500(staff_client, hostile):
    client = staff_client("kaiji", login_id="desk08")
    with context.acting(actor_kind="operator", actor="desk08"):
        correction = _at("investigating", client.operator, make_resident())
    base = f"/disclosure/corrections/{correction.pk}"
    assert client.post(f"{base}/corrected/", {"notice_id": hostile}).status_code == 400
    response = client.post(f"{base}/not-corrected/", {"reason": hostile})
    assert response.status_code == 400 and 'role="alert"' in _text(response)
    assert CorrectionRequest.objects.get().state == "investigating"
    with context.acting(actor_kind="operator", actor="desk08"):
        services.correction_close_not_corrected(operator=client.operator, correction_id=correction.pk, reason="理由")
    assert client.post(f"{base}/print/", {"print_reason": hostile}).status_code == 400
    assert not PrintRecord.objects.exists()


@pytest.mark.parametrize("path", ["/disclosure/corrections/?state=nope", "/disclosure/corrections/?file=%00"])
def test_a_hostile_list_filter_gets_a_form_error(staff_client, path):
    response = staff_client("kaiji").get(path)
    assert response.status_code == 400 and "選択が正しくありません" in _text(response)


def test_text_that_looks_like_sql_is_only_text(as_desk):
    correction = _register(as_desk, make_resident(), requested_value="'; DROP TABLE honnin_resident; --")
    assert CorrectionRequest.objects.get(pk=correction.pk).requested_value == "'; DROP TABLE honnin_resident; --"


def test_text_the_requester_gave_is_shown_escaped(staff_client):
    client = staff_client("kaiji", login_id="desk09")
    with context.acting(actor_kind="operator", actor="desk09"):
        correction = _register(client.operator, make_resident(), requested_value="<b>太字</b> & <script>x</script>")
    body = _text(client.get(f"/disclosure/corrections/{correction.pk}/"))
    assert "&lt;b&gt;太字&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;" in body


# --- The list -------------------------------------------------------------------------------------------


def test_the_list_shows_open_requests_by_default_and_filters_by_state_and_file(
    staff_client, django_assert_max_num_queries
):
    client = staff_client("kaiji", login_id="desk10")
    with context.acting(actor_kind="operator", actor="desk10"):
        open_one = _register(client.operator, make_resident())
        closed = _at("not_corrected", client.operator, make_resident())
        fuhyo = _register(client.operator, make_fuhyo(), file="fuhyo", item="last_address")
    body = _text(client.get("/disclosure/corrections/"))
    assert open_one.request_no in body and fuhyo.request_no in body and closed.request_no not in body
    assert REQUESTER not in body and VALUE not in body  # names and values only on the request's page
    body = _text(client.get("/disclosure/corrections/?state=not_corrected"))
    assert closed.request_no in body and open_one.request_no not in body
    body = _text(client.get("/disclosure/corrections/?state=all&file=fuhyo"))
    assert fuhyo.request_no in body and open_one.request_no not in body and "最終住所" in body
    with django_assert_max_num_queries(12):
        client.get("/disclosure/corrections/?state=all")
