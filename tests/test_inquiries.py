"""問合せ (disclosure/services_inquiries.py and its pages): every inquiry logged with its answer
and who gave it, answers never edited (a follow-up is a new inquiry), the list and its filters,
hostile input, and refusals for roles without ``inquiry.log``.
"""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit import context
from audit.models import AccessLogEntry
from disclosure import services_inquiries as services
from disclosure.models import Inquiry
from jukinet.errors import Conflict, InvalidInput, PermissionRefused
from tests.people import next_code

pytestmark = pytest.mark.django_db

INQUIRER = "問合　花子"
SUBJECT = "開示請求に必要な本人確認書類を知りたい。"
ANSWER = "運転免許証などの写真付きの書類1点、または健康保険証などの書類2点です。"


def _text(response) -> str:
    return response.content.decode()


def _form(**overrides) -> dict:
    return {
        "channel": "phone",
        "inquirer_kind": "resident",
        "inquirer_name": INQUIRER,
        "file": "",
        "juminhyo_code": "",
        "follows_no": "",
        "received_at": "",
        "subject": SUBJECT,
        "answer": "",
        **overrides,
    }


@pytest.fixture
def as_clerk(make_operator):
    clerk = make_operator("gyomu", login_id="clerk01")
    with context.acting(actor_kind="operator", actor=clerk.login_id, terminal="TM0002"):
        yield clerk


def _register(operator, **overrides) -> Inquiry:
    data = {"channel": "phone", "inquirer_kind": "resident", "subject": SUBJECT, **overrides}
    return services.inquiry_register(operator=operator, **data)


# --- Registered and answered --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["kaiji", "gyomu"])
def test_an_inquiry_is_registered_then_answered_by_the_operator_through_the_pages(staff_client, role):
    client = staff_client(role, login_id=f"{role}-desk")
    assert "/disclosure/inquiries/" in _text(client.get("/"))  # the home menu offers it

    code = next_code()
    response = client.post("/disclosure/inquiries/new/", _form(file="honnin", juminhyo_code=code))
    assert response.status_code == 302, _text(response)
    inquiry = Inquiry.objects.get()
    year = timezone.localdate().year
    assert inquiry.inquiry_no == f"問{year}-000001"
    assert inquiry.received_by == f"{role}-desk" and inquiry.juminhyo_code == code and inquiry.file == "honnin"
    assert inquiry.answer == "" and inquiry.answered_by == "" and inquiry.answered_at is None
    assert abs((timezone.now() - inquiry.received_at).total_seconds()) < 60

    page = client.get(response["Location"])
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    assert INQUIRER in _text(page) and "未回答" in _text(page) and 'id="answer-form"' in _text(page)

    answered = client.post(f"/disclosure/inquiries/{inquiry.pk}/answer/", {"answer": ANSWER})
    assert answered.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.answer == ANSWER and inquiry.answered_by == f"{role}-desk" and inquiry.answered_at is not None
    page = _text(client.get(response["Location"]))
    assert ANSWER in page and "回答者 " + f"{role}-desk" in page and 'id="answer-form"' not in page

    entries = AccessLogEntry.objects.filter(actor=f"{role}-desk", action__startswith="inquiry.").order_by("id")
    assert [e.action for e in entries if e.action != "inquiry.view"] == ["inquiry.register", "inquiry.answer"]
    register = entries.get(action="inquiry.register")
    assert register.target_file == "honnin" and register.target_code == code and register.duty == "inquiry"
    for entry in entries:
        assert INQUIRER not in entry.detail and SUBJECT not in entry.detail and ANSWER not in entry.detail


def test_an_inquiry_answered_at_once_records_the_answer_and_the_answerer(as_clerk):
    inquiry = _register(as_clerk, answer=ANSWER, channel="counter", inquirer_kind="agent")
    assert inquiry.answer == ANSWER and inquiry.answered_by == "clerk01" and inquiry.answered_at is not None
    assert "即時回答" in AccessLogEntry.objects.get(action="inquiry.register").detail


def test_an_answer_once_given_is_not_edited_and_a_follow_up_is_a_new_inquiry(as_clerk, staff_client):
    first = _register(as_clerk, answer=ANSWER)
    with pytest.raises(Conflict) as exc:
        services.inquiry_answer(operator=as_clerk, inquiry_id=first.pk, answer="別の回答")
    assert exc.value.code == "E_INQUIRY_ANSWERED" and "回答は変更できません" in exc.value.message
    assert Inquiry.objects.get(pk=first.pk).answer == ANSWER
    assert not AccessLogEntry.objects.filter(action="inquiry.answer").exists()

    # The database refuses the same, whatever the path.
    for change in ({"answer": "書き換え"}, {"answered_by": "someone"}, {"subject": "別の問合せ"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Inquiry.objects.filter(pk=first.pk).update(**change)
    unanswered = _register(as_clerk)
    with pytest.raises(IntegrityError), transaction.atomic():
        Inquiry.objects.filter(pk=unanswered.pk).update(subject="後から変えた問合せ")

    follow_up = _register(as_clerk, follows_no=first.inquiry_no, subject="前回の回答について追加で確認したい。")
    assert follow_up.follows == first
    assert f"前の問合せ {first.inquiry_no}" in AccessLogEntry.objects.filter(action="inquiry.register").last().detail

    client = staff_client("kaiji", login_id="desk-follow")
    page = _text(client.get(f"/disclosure/inquiries/{first.pk}/"))
    assert follow_up.inquiry_no in page and f"?follows={first.inquiry_no}" in page.replace("%E5%95%8F", "問")
    prefilled = _text(client.get(f"/disclosure/inquiries/new/?follows={first.inquiry_no}"))
    assert f'value="{first.inquiry_no}"' in prefilled
    # Answering an answered inquiry through the page: the message, nothing changed.
    refused = client.post(f"/disclosure/inquiries/{first.pk}/answer/", {"answer": "上書き"})
    assert refused.status_code == 409 and "回答は変更できません" in _text(refused)
    assert Inquiry.objects.get(pk=first.pk).answer == ANSWER


def test_inquiry_numbers_count_up_within_the_year(as_clerk):
    year = timezone.localdate().year
    assert [_register(as_clerk).inquiry_no for _ in range(3)] == [f"問{year}-{n:06d}" for n in (1, 2, 3)]


def test_a_received_time_in_the_past_is_kept(as_clerk):
    earlier = timezone.now() - dt.timedelta(days=2, hours=3)
    assert _register(as_clerk, received_at=earlier).received_at == earlier


# --- Input checks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"channel": "fax"}, "channel", "E_CHOICE"),
        ({"inquirer_kind": "alien"}, "inquirer_kind", "E_CHOICE"),
        ({"subject": " "}, "subject", "E_REQUIRED"),
        ({"subject": "x" * 1001}, "subject", "E_TOO_LONG"),
        ({"subject": "問合せ\x00"}, "subject", "E_CONTROL_CHARACTERS"),
        ({"subject": "番号は１２３４５６７８９０１２です"}, "subject", "E_MY_NUMBER_IN_TEXT"),
        ({"answer": "x" * 2001}, "answer", "E_TOO_LONG"),
        ({"inquirer_name": "名前\u200b"}, "inquirer_name", "E_CONTROL_CHARACTERS"),
        ({"file": "honnin", "juminhyo_code": "12345678901"}, "juminhyo_code", "E_JUMINHYO_CODE_CHECK_DIGIT"),
        ({"juminhyo_code": "VALID"}, "file", "E_FILE_REQUIRED"),
        ({"file": "nope"}, "file", "E_CHOICE"),
        ({"follows_no": "問1999-000001"}, "follows_no", "E_INQUIRY_NOT_FOUND"),
        ({"received_at": "FUTURE"}, "received_at", "E_DATE_FUTURE"),
    ],
)
def test_register_refuses_bad_input_next_to_its_field_and_writes_nothing(as_clerk, overrides, field, code):
    if overrides.get("juminhyo_code") == "VALID":
        overrides["juminhyo_code"] = next_code()
    if overrides.get("received_at") == "FUTURE":
        overrides["received_at"] = timezone.now() + dt.timedelta(days=1)
    with pytest.raises(InvalidInput) as exc:
        _register(as_clerk, **overrides)
    assert (exc.value.field, exc.value.code) == (field, code)
    assert not Inquiry.objects.exists() and not AccessLogEntry.objects.filter(action="inquiry.register").exists()


def test_an_answer_must_say_something(as_clerk):
    inquiry = _register(as_clerk)
    for answer in ("", "  \n ", "回答\x00"):
        with pytest.raises(InvalidInput) as exc:
            services.inquiry_answer(operator=as_clerk, inquiry_id=inquiry.pk, answer=answer)
        assert exc.value.field == "answer"
    assert Inquiry.objects.get().answer == ""


HOSTILE = ["\x00", "<script>alert(1)</script>\x07", "x" * 9000, "\u202e逆順", "\ufeff見えない"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_input_on_the_register_form_gets_japanese_errors_not_a_500(staff_client, hostile):
    client = staff_client("kaiji", login_id="desk-hostile")
    for field in ("channel", "inquirer_kind", "inquirer_name", "file", "juminhyo_code", "follows_no",
                  "received_at", "subject"):  # fmt: skip
        response = client.post("/disclosure/inquiries/new/", _form(**{field: hostile}))
        assert response.status_code == 400, (field, response.status_code)
        assert 'role="alert"' in _text(response) and "<script>alert" not in _text(response)
    response = client.post("/disclosure/inquiries/new/", _form(answer=hostile))
    assert response.status_code == 400
    assert not Inquiry.objects.exists()


@pytest.mark.parametrize("received_at", ["0001-01-01T00:00", "9999-12-31T23:59", "2026-02-30T10:00", "昨日"])
def test_a_hostile_received_time_gets_a_japanese_error(staff_client, received_at):
    response = staff_client("gyomu").post("/disclosure/inquiries/new/", _form(received_at=received_at))
    assert response.status_code == 400 and 'id="id_received_at_error"' in _text(response)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_input_on_the_answer_form_gets_a_japanese_error(staff_client, hostile):
    client = staff_client("gyomu", login_id="clerk-hostile")
    with context.acting(actor_kind="operator", actor="clerk-hostile"):
        inquiry = _register(client.operator)
    response = client.post(f"/disclosure/inquiries/{inquiry.pk}/answer/", {"answer": hostile})
    assert response.status_code == 400 and 'id="id_answer_error"' in _text(response)
    assert Inquiry.objects.get().answer == ""


# --- The list --------------------------------------------------------------------------------------


@pytest.fixture
def logged(make_operator):
    clerk = make_operator("kaiji", login_id="desk-list")
    now = timezone.now()
    with context.acting(actor_kind="operator", actor=clerk.login_id):
        return {
            "phone_open": _register(clerk, channel="phone", received_at=now - dt.timedelta(days=10)),
            "counter_answered": _register(
                clerk, channel="counter", answer=ANSWER, received_at=now - dt.timedelta(days=5)
            ),
            "email_open": _register(clerk, channel="email", inquirer_name=INQUIRER, received_at=now),
        }


def _numbers(response) -> list[str]:
    import re

    return re.findall(r"問\d{4}-\d{6}", _text(response))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["email_open", "counter_answered", "phone_open"]),
        ("?answered=no", ["email_open", "phone_open"]),
        ("?answered=yes", ["counter_answered"]),
        ("?channel=phone", ["phone_open"]),
        ("?since=DAYS-6", ["email_open", "counter_answered"]),
        ("?until=DAYS-6", ["phone_open"]),
        ("?since=DAYS-6&until=DAYS-1&answered=yes&channel=counter", ["counter_answered"]),
    ],
)
def test_the_list_filters_by_date_answer_and_channel(staff_client, logged, query, expected):
    today = timezone.localdate()
    for days in (1, 6):
        query = query.replace(f"DAYS-{days}", (today - dt.timedelta(days=days)).isoformat())
    response = staff_client("gyomu").get(f"/disclosure/inquiries/{query}")
    assert response.status_code == 200
    assert _numbers(response) == [logged[name].inquiry_no for name in expected]


def test_the_list_shows_neither_names_nor_answers_and_is_logged(staff_client, logged, django_assert_max_num_queries):
    client = staff_client("gyomu", login_id="clerk-list")
    with django_assert_max_num_queries(12):
        response = client.get("/disclosure/inquiries/?answered=no")
    assert INQUIRER not in _text(response) and ANSWER not in _text(response)
    entry = AccessLogEntry.objects.filter(actor="clerk-list", action="inquiry.view").get()
    assert "未回答" in entry.detail


@pytest.mark.parametrize(
    "query", ["?since=0001-01-01", "?until=9999-12-31", "?since=2026-13-01", "?answered=maybe", "?channel=%00",
              "?since=2026-05-01&until=2026-04-01"],
)  # fmt: skip
def test_hostile_list_filters_get_a_japanese_form_error(staff_client, query):
    response = staff_client("kaiji").get(f"/disclosure/inquiries/{query}")
    assert response.status_code == 400 and 'role="alert"' in _text(response)


# --- Who may use it ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["teikyo", "sysadmin", "secadmin", "auditor"])
def test_roles_without_the_inquiry_log_are_refused_and_the_refusal_is_logged(staff_client, logged, role):
    client = staff_client(role)
    inquiry = logged["email_open"]
    assert "/disclosure/inquiries/" not in _text(client.get("/"))
    pages = [
        ("get", "/disclosure/inquiries/", {}),
        ("get", "/disclosure/inquiries/new/", {}),
        ("post", "/disclosure/inquiries/new/", _form()),
        ("get", f"/disclosure/inquiries/{inquiry.pk}/", {}),
        ("post", f"/disclosure/inquiries/{inquiry.pk}/answer/", {"answer": ANSWER}),
    ]
    for method, path, data in pages:
        before = AccessLogEntry.objects.filter(actor=client.operator.login_id, outcome="refused").count()
        response = getattr(client, method)(path, data)
        assert response.status_code == 403, (method, path)
        assert INQUIRER not in _text(response) and SUBJECT not in _text(response)
        after = AccessLogEntry.objects.filter(actor=client.operator.login_id, outcome="refused").count()
        assert after == before + 1
    assert Inquiry.objects.count() == 3 and Inquiry.objects.get(pk=inquiry.pk).answer == ""


def test_the_service_refuses_a_role_without_the_inquiry_log_even_when_called_directly(make_operator):
    auditor = make_operator("auditor", login_id="auditor01")
    with context.acting(actor_kind="operator", actor=auditor.login_id), pytest.raises(PermissionRefused):
        _register(auditor)
    assert AccessLogEntry.objects.get(action="inquiry.register").outcome == "refused"
    assert not Inquiry.objects.exists()
