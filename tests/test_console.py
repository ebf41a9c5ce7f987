"""The admin console (/console/): applications, issuance shown once, revocation, immediate
suspension, the removal history, the grant review, refusals and hostile input.

Everything goes through the Django test client on an enrolled terminal, with a session that
passed password and TOTP, against the real PostgreSQL test database.
"""

import datetime as dt
import re

import django_otp
import pytest
from auditlog.registry import auditlog
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import (
    AccessLogEntry,
    ApplicationState,
    GrantReview,
    IdApplication,
    IdentityState,
    MachineClient,
    Operator,
    RemovalRecord,
    Terminal,
)
from audit.services import client_authenticate, terminal_enrol, terminal_register_direct, totp_secret_base32

PASSWORD = "Test-Passw0rd!x"
SECRET = re.compile(r'<span class="secret">([^<]+)</span>')


# --- Fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def terminal_credential(db) -> str:
    issued = terminal_register_direct(name="管理端末", place="本庁舎3階 情報政策課")
    _terminal, credential = terminal_enrol(code=issued.enrolment_code)
    return credential


@pytest.fixture
def new_operator(db):
    counter = iter(range(1, 100_000))

    def make(*roles: str, login_id: str | None = None, **fields) -> Operator:
        n = next(counter)
        operator = Operator(
            login_id=login_id or f"c{n:03d}{roles[0]}",
            staff_number=fields.pop("staff_number", f"K{n:05d}"),
            full_name=fields.pop("full_name", f"試験 太郎{n}"),
            department=fields.pop("department", "情報政策課"),
            roles=list(roles),
            duties=fields.pop("duties", ["honnin"]),
            state=fields.pop("state", IdentityState.ACTIVE),
            must_change_password=False,
            **fields,
        )
        operator.set_password(PASSWORD)
        operator.save()
        return operator

    return make


@pytest.fixture
def browser(terminal_credential):
    """``browser(operator)`` → a client on the enrolled terminal, logged in with password and TOTP."""

    def open_as(operator: Operator, **client_kwargs) -> Client:
        client = Client(**client_kwargs)
        client.cookies[settings.TERMINAL_COOKIE_NAME] = terminal_credential
        client.force_login(operator, backend="django.contrib.auth.backends.ModelBackend")
        device = TOTPDevice.objects.filter(user=operator).first() or TOTPDevice.objects.create(
            user=operator, name="test", confirmed=True
        )
        session = client.session
        session[django_otp.DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return open_as


@pytest.fixture
def sysadmin(new_operator):
    return new_operator("sysadmin", login_id="sys01", full_name="山田 システム", staff_number="100001")


@pytest.fixture
def secadmin(new_operator):
    return new_operator("secadmin", login_id="sec01", full_name="佐藤 セキュリティ", staff_number="100002")


@pytest.fixture
def sys_browser(browser, sysadmin):
    return browser(sysadmin)


@pytest.fixture
def sec_browser(browser, secadmin):
    return browser(secadmin)


def applicant(**overrides) -> dict:
    """The written form's applicant: a section head, not one of the administrators."""
    return {
        "applicant_name": "鈴木 課長",
        "applicant_staff_number": "200001",
        "applicant_department": "市町村課",
        "applied_on": timezone.localdate().isoformat(),
        "reason": "4月1日付け配置換えのため",
        **overrides,
    }


def operator_application(**overrides) -> dict:
    return (
        applicant(
            login_id="tanaka01",
            staff_number="300001",
            full_name="田中 花子",
            department="市町村課",
            roles=["gyomu"],
            duties=["honnin", "fuhyo"],
        )
        | overrides
    )


def text(response) -> str:
    return response.content.decode()


def counts() -> tuple[int, ...]:
    return (
        IdApplication.objects.count(),
        Operator.objects.count(),
        Terminal.objects.count(),
        MachineClient.objects.count(),
        RemovalRecord.objects.count(),
        GrantReview.objects.count(),
    )


def file_operator_application(client: Client, **overrides) -> IdApplication:
    response = client.post("/console/applications/new/operator/", operator_application(**overrides))
    assert response.status_code == 302, text(response)
    return IdApplication.objects.latest("id")


# --- Who may see what --------------------------------------------------------------------------


def console_urls(operator: Operator, application: IdApplication, review: GrantReview) -> list[str]:
    terminal = Terminal.objects.order_by("id").first()
    return [
        "/console/",
        "/console/operators/",
        f"/console/operators/{operator.login_id}/",
        "/console/terminals/",
        f"/console/terminals/{terminal.terminal_id}/",
        "/console/clients/",
        "/console/applications/",
        "/console/applications/new/operator/",
        "/console/applications/new/terminal/",
        "/console/applications/new/client/",
        f"/console/applications/{application.pk}/",
        "/console/removals/",
        "/console/reviews/",
        f"/console/reviews/{review.pk}/",
    ]


@pytest.mark.django_db
def test_a_sysadmin_and_a_secadmin_see_the_console_pages_their_roles_allow(
    sys_browser, sec_browser, sysadmin, secadmin
):
    application = file_operator_application(sec_browser)
    review = GrantReview.objects.create(period_label="2026年度上期", snapshot={}, created_by=sysadmin)
    for url in console_urls(secadmin, application, review):
        expected = 200
        assert sys_browser.get(url).status_code == expected, url
        if url.startswith("/console/reviews/"):
            expected = 403  # grant_review.manage: system administrators only
        assert sec_browser.get(url).status_code == expected, url
    # 失効届 is the security administrator's form.
    revoke_url = f"/console/applications/revoke/operator/{sysadmin.login_id}/"
    assert sec_browser.get(revoke_url).status_code == 200
    assert sys_browser.get(revoke_url).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["gyomu", "auditor", "kaiji", "teikyo"])
def test_other_roles_get_403_on_every_console_page_and_the_refusal_is_logged(
    role, new_operator, browser, sec_browser, sysadmin
):
    application = file_operator_application(sec_browser)
    review = GrantReview.objects.create(period_label="2026年度上期", snapshot={}, created_by=sysadmin)
    outsider = new_operator(role)
    client = browser(outsider)
    before = counts()
    for url in [
        *console_urls(sysadmin, application, review),
        f"/console/applications/revoke/operator/{sysadmin.login_id}/",
    ]:
        response = client.get(url)
        if role == "auditor" and url == "/console/removals/":
            assert response.status_code == 200  # removal_history.view: the auditor reads the history
            continue
        if role == "auditor" and url.startswith("/console/reviews/"):
            assert response.status_code == 200  # grant_review.view: the auditor reads the reviews
            continue
        assert response.status_code == 403, url
        assert "この操作を行う権限がありません" in text(response)
    posts = [
        ("/console/applications/new/operator/", operator_application()),
        (f"/console/applications/{application.pk}/approve/", {}),
        (f"/console/applications/{application.pk}/reject/", {"reject-note": "不備"}),
        (f"/console/operators/{sysadmin.login_id}/suspend/", {"suspend-reason": "不正利用"}),
        (f"/console/operators/{sysadmin.login_id}/reinstate/", {"reinstate-reason": "誤り"}),
        (f"/console/applications/revoke/operator/{sysadmin.login_id}/", applicant()),
        ("/console/reviews/create", {"period": "2026年度"}),
        (f"/console/reviews/{review.pk}/sign-off/", {"findings": "問題なし"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert counts() == before
    application.refresh_from_db()
    assert application.state == ApplicationState.FILED
    refusals = AccessLogEntry.objects.filter(actor=outsider.login_id, outcome="refused")
    assert refusals.filter(action="console.view").exists()
    assert refusals.filter(action="application.decide").exists()
    assert refusals.filter(action="identity.suspend").exists()


@pytest.mark.django_db
def test_a_browser_without_a_session_is_sent_to_login(terminal_credential):
    client = Client()
    client.cookies[settings.TERMINAL_COOKIE_NAME] = terminal_credential
    response = client.get("/console/")
    assert response.status_code == 302 and response.url.startswith("/login")


@pytest.mark.django_db
def test_a_post_without_the_csrf_token_is_refused(browser, secadmin):
    client = browser(secadmin, enforce_csrf_checks=True)
    before = counts()
    assert client.post("/console/applications/new/operator/", operator_application()).status_code == 403
    assert counts() == before


# --- Issuing an operator ID --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_filed_operator_application_is_issued_by_a_sysadmin_and_the_secrets_are_shown_once(
    sec_browser, sys_browser, secadmin
):
    form = sec_browser.get("/console/applications/new/operator/")
    assert form.status_code == 200
    page = text(form)
    assert 'name="applicant_name"' in page and "autofocus" in page
    assert '<label for="id_applicant_name">申請者氏名</label>' in page
    assert 'name="csrfmiddlewaretoken"' in page

    application = file_operator_application(sec_browser)
    assert application.state == ApplicationState.FILED and application.filed_by == secadmin
    assert not Operator.objects.filter(login_id="tanaka01").exists()

    # The security administrator files but cannot issue.
    assert sec_browser.post(f"/console/applications/{application.pk}/approve/").status_code == 403

    detail = sys_browser.get(f"/console/applications/{application.pk}/")
    assert "承認（発効）" in text(detail) and "田中 花子" in text(detail)

    response = sys_browser.post(f"/console/applications/{application.pk}/approve/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = text(response)
    password, totp_groups = SECRET.findall(page)
    assert "<svg" in page
    operator = Operator.objects.get(login_id="tanaka01")
    assert operator.state == IdentityState.ACTIVE and operator.must_change_password
    assert operator.roles == ["gyomu"] and operator.duties == ["fuhyo", "honnin"]
    assert operator.check_password(password)
    device = TOTPDevice.objects.get(user=operator)
    assert totp_groups.replace(" ", "") == totp_secret_base32(device)
    assert all(len(group) == 4 for group in totp_groups.split(" ")[:-1])
    application.refresh_from_db()
    assert application.state == ApplicationState.APPROVED and application.operator == operator

    # Once: a second approval is a conflict and shows nothing secret; the secret is nowhere else.
    again = sys_browser.post(f"/console/applications/{application.pk}/approve/")
    assert again.status_code == 409 and "処理済み" in text(again)
    assert password not in text(again)
    for url in ("/console/", f"/console/applications/{application.pk}/", "/console/operators/tanaka01/"):
        assert password not in text(sys_browser.get(url))
    logged = " ".join(AccessLogEntry.objects.values_list("detail", flat=True))
    assert password not in logged and totp_groups.replace(" ", "") not in logged

    # The new operator can sign in with what was handed over.
    client = Client()
    client.cookies[settings.TERMINAL_COOKIE_NAME] = sys_browser.cookies[settings.TERMINAL_COOKIE_NAME].value
    assert client.post("/login", {"login_id": "tanaka01", "password": password}).status_code == 302
    token = TOTP(device.bin_key, device.step, device.t0, device.digits).token()
    assert client.post("/login/otp", {"token": f"{token:06d}"}).status_code == 302


@pytest.mark.django_db
def test_a_sysadmin_cannot_approve_an_application_they_signed_themselves(sec_browser, sys_browser, sysadmin):
    application = file_operator_application(sec_browser, applicant_staff_number=sysadmin.staff_number)
    response = sys_browser.post(f"/console/applications/{application.pk}/approve/")
    assert response.status_code == 403
    assert "申請者本人・対象者本人はこの届出を処理できません。" in text(response)
    application.refresh_from_db()
    assert application.state == ApplicationState.FILED
    assert not Operator.objects.filter(login_id="tanaka01").exists()
    assert AccessLogEntry.objects.filter(
        actor=sysadmin.login_id, action="application.approve", outcome="refused"
    ).exists()


@pytest.mark.django_db
def test_a_sysadmin_rejects_an_application_with_a_reason(sec_browser, sys_browser):
    application = file_operator_application(sec_browser)
    empty = sys_browser.post(f"/console/applications/{application.pk}/reject/", {"reject-note": "   "})
    assert empty.status_code == 400 and "必須" in text(empty)
    response = sys_browser.post(f"/console/applications/{application.pk}/reject/", {"reject-note": "所属長印なし"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == ApplicationState.REJECTED and application.decision_note == "所属長印なし"
    assert sys_browser.post(f"/console/applications/{application.pk}/approve/").status_code == 409
    assert not Operator.objects.filter(login_id="tanaka01").exists()


@pytest.mark.django_db
def test_the_application_list_filters_by_state_kind_and_subject(sec_browser, sys_browser):
    application = file_operator_application(sec_browser)
    assert f"#{application.pk}" in text(sys_browser.get("/console/applications/?state=filed&subject_kind=operator"))
    assert f"#{application.pk}" not in text(sys_browser.get("/console/applications/?subject_kind=terminal"))
    none = text(sys_browser.get("/console/applications/?kind=revoke"))
    assert f"#{application.pk}" not in none and "該当する届出はありません。" in none
    bad = sys_browser.get("/console/applications/?state=nonsense")
    assert bad.status_code == 400 and "状態の選択が正しくありません。" in text(bad)


# --- Suspension, reinstatement, revocation --------------------------------------------------------


@pytest.mark.django_db
def test_a_secadmin_suspends_an_operator_at_once_and_their_next_request_is_logged_out(
    new_operator, browser, sec_browser, sys_browser, secadmin
):
    victim = new_operator("gyomu", login_id="misuse01")
    victim_browser = browser(victim)
    assert victim_browser.get("/").status_code == 200

    # The system administrator cannot suspend; the security administrator can.
    assert sys_browser.post("/console/operators/misuse01/suspend/", {"suspend-reason": "不正"}).status_code == 403
    no_reason = sec_browser.post("/console/operators/misuse01/suspend/", {"suspend-reason": ""})
    assert no_reason.status_code == 400 and "必須" in text(no_reason)
    victim.refresh_from_db()
    assert victim.state == IdentityState.ACTIVE

    response = sec_browser.post("/console/operators/misuse01/suspend/", {"suspend-reason": "目的外照会の疑い"})
    assert response.status_code == 302 and response.url == "/console/operators/misuse01/"
    victim.refresh_from_db()
    assert victim.state == IdentityState.SUSPENDED
    record = RemovalRecord.objects.get(subject_id="misuse01")
    assert record.action == "suspend" and record.executed_by == secadmin

    after = victim_browser.get("/")
    assert after.status_code == 302 and after.url.startswith("/login")

    detail = text(sec_browser.get("/console/operators/misuse01/"))
    assert "停止中" in detail and "目的外照会の疑い" in detail
    if auditlog.contains(Operator):
        assert "変更履歴" in detail

    # Reinstatement is the system administrator's.
    assert sec_browser.post("/console/operators/misuse01/reinstate/", {"reinstate-reason": "誤り"}).status_code == 403
    assert (
        sys_browser.post(
            "/console/operators/misuse01/reinstate/", {"reinstate-reason": "調査の結果問題なし"}
        ).status_code
        == 302
    )
    victim.refresh_from_db()
    assert victim.state == IdentityState.ACTIVE
    assert list(RemovalRecord.objects.filter(subject_id="misuse01").values_list("action", flat=True)) == [
        "reinstate",
        "suspend",
    ]


@pytest.mark.django_db
def test_a_secadmin_cannot_suspend_themselves_or_an_inactive_id(new_operator, sec_browser, secadmin):
    response = sec_browser.post(f"/console/operators/{secadmin.login_id}/suspend/", {"suspend-reason": "試験"})
    assert response.status_code == 409 and "自分自身のIDは停止できません。" in text(response)
    new_operator("gyomu", login_id="gone01", state=IdentityState.REVOKED)
    response = sec_browser.post("/console/operators/gone01/suspend/", {"suspend-reason": "試験"})
    assert response.status_code == 409 and "有効なIDだけを停止できます。" in text(response)
    assert not RemovalRecord.objects.exists()
    assert sec_browser.post("/console/operators/nobody/suspend/", {"suspend-reason": "試験"}).status_code == 404


@pytest.mark.django_db
def test_a_revocation_filed_by_the_secadmin_is_executed_by_a_sysadmin_and_kept_in_the_history(
    new_operator, browser, sec_browser, sys_browser, secadmin, sysadmin, terminal_credential
):
    leaver = new_operator("gyomu", login_id="retire01")
    leaver_browser = browser(leaver)

    form = sec_browser.get("/console/applications/revoke/operator/retire01/")
    assert form.status_code == 200 and secadmin.full_name in text(form)  # prefilled with the filer
    response = sec_browser.post("/console/applications/revoke/operator/retire01/", applicant(reason="3月31日付け退職"))
    assert response.status_code == 302
    application = IdApplication.objects.get(kind="revoke")
    assert application.operator == leaver and application.state == ApplicationState.FILED
    leaver.refresh_from_db()
    assert leaver.state == IdentityState.ACTIVE  # nothing happens until the system administrator acts

    response = sys_browser.post(f"/console/applications/{application.pk}/approve/")
    assert response.status_code == 302 and response.url == f"/console/applications/{application.pk}/"
    leaver.refresh_from_db()
    assert leaver.state == IdentityState.REVOKED
    record = RemovalRecord.objects.get(application=application)
    assert (record.action, record.requested_by, record.executed_by) == ("revoke", secadmin, sysadmin)
    assert leaver_browser.get("/").status_code == 302

    history = sys_browser.get("/console/removals/")
    assert history.status_code == 200
    assert "retire01" in text(history) and "3月31日付け退職" in text(history)
    assert "retire01" in text(sec_browser.get("/console/removals/?subject_kind=operator&action=revoke"))
    assert "retire01" not in text(sec_browser.get("/console/removals/?subject_kind=terminal"))
    # The auditor reads it too; nothing on the page deletes or edits.
    auditor_browser = browser(new_operator("auditor"))
    page = text(auditor_browser.get("/console/removals/"))
    assert (
        "retire01" in page and '<form method="post"' not in page.split("<main", 1)[1].split('<div id="screen-lock"')[0]
    )

    # A second 失効届 for a revoked ID is refused with the service's message, nothing written.
    before = counts()
    again = sec_browser.post("/console/applications/revoke/operator/retire01/", applicant())
    assert again.status_code == 409 and "既に失効しています" in text(again)
    assert counts() == before


@pytest.mark.django_db
def test_a_revocation_form_for_an_unknown_id_is_404(sec_browser):
    assert sec_browser.get("/console/applications/revoke/operator/nobody/").status_code == 404
    assert sec_browser.get("/console/applications/revoke/spaceship/x/").status_code == 404
    assert sec_browser.get("/console/applications/new/spaceship/").status_code == 404


# --- Terminals and machine clients -------------------------------------------------------------


@pytest.mark.django_db
def test_a_terminal_application_is_issued_and_the_enrolment_code_shown_once(sec_browser, sys_browser):
    response = sec_browser.post(
        "/console/applications/new/terminal/", applicant(name="窓口2番", place="本庁舎1階 住民課")
    )
    assert response.status_code == 302
    application = IdApplication.objects.get(subject_kind="terminal")
    response = sys_browser.post(f"/console/applications/{application.pk}/approve/")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    page = text(response)
    [code] = SECRET.findall(page)
    assert "/terminal/enroll" in page
    terminal = Terminal.objects.get(name="窓口2番")
    assert terminal.state == IdentityState.APPLIED
    assert code not in text(sys_browser.get(f"/console/terminals/{terminal.terminal_id}/"))

    # The new terminal's browser enrols with the code.
    new_browser = Client()
    assert new_browser.post("/terminal/enroll", {"code": code}).status_code == 200
    terminal.refresh_from_db()
    assert terminal.state == IdentityState.ACTIVE

    # Suspension and reinstatement work for terminals as for operators.
    url = f"/console/terminals/{terminal.terminal_id}/"
    assert sec_browser.post(url + "suspend/", {"suspend-reason": "盗難"}).status_code == 302
    terminal.refresh_from_db()
    assert terminal.state == IdentityState.SUSPENDED
    assert new_browser.get("/login").status_code == 403
    assert sys_browser.post(url + "reinstate/", {"reinstate-reason": "発見"}).status_code == 302
    assert "端末名" in text(sys_browser.get(url))


@pytest.mark.django_db
def test_a_cs_client_application_shows_the_token_once_and_the_token_works(sec_browser, sys_browser):
    data = applicant(kind="cs", name="川越市CS", municipality_code="112011", duty_codes="")
    assert sec_browser.post("/console/applications/new/client/", data).status_code == 302
    application = IdApplication.objects.get(subject_kind="client")
    response = sys_browser.post(f"/console/applications/{application.pk}/approve/")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    [token] = SECRET.findall(text(response))
    client = client_authenticate(token)
    assert client is not None and client.municipality_code == "112011"
    assert token not in text(sys_browser.get(f"/console/clients/{client.client_id}/"))
    assert token not in " ".join(AccessLogEntry.objects.values_list("detail", flat=True))

    assert (
        sec_browser.post(f"/console/clients/{client.client_id}/suspend/", {"suspend-reason": "漏えい"}).status_code
        == 302
    )
    assert client_authenticate(token) is None


@pytest.mark.django_db
def test_a_body_client_application_takes_comma_separated_duty_codes(sec_browser, sys_browser):
    data = applicant(kind="body", name="教育委員会", municipality_code="", duty_codes="6-1, 6-5、6-1")
    assert sec_browser.post("/console/applications/new/client/", data).status_code == 302
    application = IdApplication.objects.get(subject_kind="client")
    assert application.particulars["duty_codes"] == ["6-1", "6-5"]
    assert sys_browser.post(f"/console/applications/{application.pk}/approve/").status_code == 200
    assert MachineClient.objects.get(name="教育委員会").duty_codes == ["6-1", "6-5"]


# --- The grant review --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_grant_review_is_created_shown_as_tables_and_signed_off(new_operator, sys_browser, sec_browser, sysadmin):
    new_operator("gyomu", login_id="clerk01", full_name="高橋 一郎")
    assert sec_browser.post("/console/reviews/create", {"period": "2026年度上期"}).status_code == 403
    empty = sys_browser.post("/console/reviews/create", {"period": ""})
    assert empty.status_code == 400 and not GrantReview.objects.exists()

    response = sys_browser.post("/console/reviews/create", {"period": "2026年度上期"})
    assert response.status_code == 302
    review = GrantReview.objects.get()
    page = text(sys_browser.get(f"/console/reviews/{review.pk}/"))
    assert "clerk01" in page and "高橋 一郎" in page and "業務担当者" in page and "本人確認情報" in page
    assert Terminal.objects.get(name="管理端末").terminal_id in page  # the terminal this test runs on
    assert "jukinet/pages/console-review.css" in page  # its @media print rules
    assert "確認結果を記録して承認" in page
    assert "2026年度上期" in text(sys_browser.get("/console/reviews/"))

    response = sys_browser.post(f"/console/reviews/{review.pk}/sign-off/", {"findings": "異動者2名の失効を確認。"})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.signed_off_by == sysadmin and review.findings == "異動者2名の失効を確認。"
    again = sys_browser.post(f"/console/reviews/{review.pk}/sign-off/", {"findings": "上書き"})
    assert again.status_code == 409 and "既に承認済み" in text(again)
    review.refresh_from_db()
    assert review.findings == "異動者2名の失効を確認。"
    assert sys_browser.get("/console/reviews/999999/").status_code == 404


# --- Hostile input ------------------------------------------------------------------------------

LONG = "長" * 10_000


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"full_name": LONG}, "full_name", "100 文字以下"),
        ({"applicant_name": LONG}, "applicant_name", "100 文字以下"),
        ({"reason": LONG}, "reason", "500 文字以下"),
        ({"login_id": LONG}, "login_id", "32 文字以下"),
        ({"full_name": "田中\x07花子"}, "full_name", "制御文字"),
        ({"department": "市町村課\n総務係"}, "department", "改行"),
        ({"full_name": "田中\u202e子花"}, "full_name", "制御文字"),
        ({"reason": "配置換え\x00"}, "reason", ""),
        ({"roles": ["not-a-role"]}, "roles", "役割の選択が正しくありません。"),
        ({"roles": []}, "roles", "役割を1つ以上選んでください。"),
        ({"duties": ["kokuho"]}, "duties", "担当ファイルの選択が正しくありません。"),
        ({"applied_on": "2026-13-45"}, "applied_on", "日付を「2026-04-01」の形式で入力してください。"),
        ({"applied_on": "yesterday"}, "applied_on", "日付を"),
        ({"applied_on": (timezone.localdate() + dt.timedelta(days=3)).isoformat()}, "applied_on", "未来の日付"),
        ({"login_id": "田中"}, "login_id", "ログインIDは半角英数字"),
        ({"staff_number": "職員-1"}, "staff_number", "職員番号は半角英数字"),
        ({"applicant_staff_number": "<b>"}, "applicant_staff_number", "申請者の職員番号を半角英数字で"),
        ({"applicant_name": ""}, "applicant_name", "必須"),
    ],
)
def test_a_hostile_operator_application_is_refused_in_japanese_without_writing(sec_browser, overrides, field, message):
    before = counts()
    response = sec_browser.post("/console/applications/new/operator/", operator_application(**overrides))
    assert response.status_code == 400
    assert message in text(response)
    assert field in response.context["form"].errors  # shown next to its field
    assert counts() == before


@pytest.mark.django_db
def test_a_login_id_or_staff_number_already_taken_is_refused_next_to_the_field(sec_browser, secadmin):
    before = counts()
    response = sec_browser.post("/console/applications/new/operator/", operator_application(login_id=secadmin.login_id))
    assert response.status_code == 400 and "このログインIDは既に使われています" in text(response)
    response = sec_browser.post(
        "/console/applications/new/operator/", operator_application(staff_number=secadmin.staff_number)
    )
    assert response.status_code == 400 and "この職員には有効なIDが既にあります（1人1ID）。" in text(response)
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "cs", "name": "架空市CS", "municipality_code": "123456"}, "検査用数字が正しくありません"),
        ({"kind": "cs", "name": "架空市CS", "municipality_code": "abcdef"}, "半角数字だけで入力してください"),
        ({"kind": "cs", "name": "架空市CS", "municipality_code": "1234567"}, "6 文字以下"),
        ({"kind": "body", "name": "教育委員会", "duty_codes": "drop table"}, "事務コードを「6-1」の形式で"),
        ({"kind": "body", "name": "教育委員会", "duty_codes": ""}, "事務コードを「6-1」の形式で"),
        ({"kind": "robot", "name": "x"}, "クライアント種別の選択が正しくありません。"),
        ({"kind": "cs", "name": "", "municipality_code": "112011"}, "必須"),
    ],
)
def test_a_bad_client_application_is_refused_in_japanese(sec_browser, data, message):
    before = counts()
    response = sec_browser.post("/console/applications/new/client/", applicant(**data))
    assert response.status_code == 400
    assert message in text(response)
    assert counts() == before


@pytest.mark.django_db
def test_a_script_in_a_name_is_stored_as_text_and_escaped_everywhere(sec_browser, sys_browser):
    script = "<script>alert(1)</script>"
    application = file_operator_application(sec_browser, full_name=f"田中{script}", applicant_name=script)
    assert application.particulars["full_name"] == f"田中{script}"
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    pages = [text(sys_browser.get(url)) for url in ("/console/", "/console/applications/")]
    pages.append(text(sys_browser.post(f"/console/applications/{application.pk}/approve/")))
    for url in (f"/console/applications/{application.pk}/", "/console/operators/", "/console/operators/tanaka01/"):
        pages.append(text(sys_browser.get(url)))
    review = sys_browser.post("/console/reviews/create", {"period": "2026年度"})
    pages.append(text(sys_browser.get(review.url)))
    for page in pages:
        assert script not in page
        assert escaped in page


@pytest.mark.django_db
def test_a_hostile_suspension_reason_is_refused_without_writing(new_operator, sec_browser):
    new_operator("gyomu", login_id="target01")
    for reason in ("x" * 10_000, "理由\x1b[31m", ""):
        response = sec_browser.post("/console/operators/target01/suspend/", {"suspend-reason": reason})
        assert response.status_code == 400
    assert not RemovalRecord.objects.exists()
    assert Operator.objects.get(login_id="target01").state == IdentityState.ACTIVE


# The console answers 404, but StaffAccessMiddleware then logs "HTTP 404 GET <path>" and
# PostgreSQL refuses a NUL byte in the log's text: until audit.access_log strips it, a 500.


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "status"),
    [
        pytest.param("/console/operators/a%00b/", 404),
        pytest.param("/console/terminals/%00/", 404),
        ("/console/clients/%E2%80%AEx/", 404),
        ("/console/clients/a%07b/", 404),
        pytest.param("/console/applications/revoke/operator/a%00/", 404),
        ("/console/operators/" + "x" * 5000 + "/", 404),
        ("/console/operators/?page=zz", 200),
        ("/console/operators/?state=%00", 400),
        ("/console/applications/?kind=%00&subject_kind=<script>", 400),
        ("/console/removals/?subject_kind=" + "x" * 10_000, 400),
    ],
)
def test_a_hostile_path_or_filter_is_refused_cleanly(sec_browser, url, status):
    response = sec_browser.get(url)
    assert response.status_code == status
    assert "<script>" not in text(response).split("<main", 1)[-1]


@pytest.mark.django_db
def test_a_hostile_subject_id_in_a_post_is_404_and_writes_nothing(sec_browser):
    before = counts()
    assert sec_browser.post("/console/operators/a%00b/suspend/", {"suspend-reason": "x"}).status_code == 404
    assert sec_browser.post("/console/applications/revoke/operator/a%00/", applicant()).status_code == 404
    assert counts() == before


# --- Lists stay a fixed number of queries ------------------------------------------------------


@pytest.fixture
def thirty_of_everything(new_operator, secadmin):
    operators = [new_operator("gyomu", last_login=timezone.now()) for _ in range(30)]
    Terminal.objects.bulk_create(
        [Terminal(terminal_id=f"TX{n:04d}", name=f"端末{n}", place="本庁舎", state="active") for n in range(30)]
    )
    MachineClient.objects.bulk_create(
        [
            MachineClient(client_id=f"BODY-{n:02d}", kind="body", name=f"部署{n}", token_hash=f"{n:064x}")
            for n in range(30)
        ]
    )
    IdApplication.objects.bulk_create(
        [
            IdApplication(
                kind="revoke",
                subject_kind="operator",
                applicant_name="鈴木 課長",
                applicant_staff_number="200001",
                applicant_department="市町村課",
                applied_on=timezone.localdate(),
                reason="異動",
                particulars={"subject_id": op.login_id},
                operator=op,
                filed_by=secadmin,
            )
            for op in operators
        ]
    )
    RemovalRecord.objects.bulk_create(
        [
            RemovalRecord(
                subject_kind="operator",
                subject_id=op.login_id,
                action="suspend",
                reason="試験",
                requested_by=secadmin,
                executed_by=secadmin,
            )
            for op in operators
        ]
    )
    return operators


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/console/",
        "/console/operators/",
        "/console/terminals/",
        "/console/clients/",
        "/console/applications/",
        "/console/removals/",
        "/console/reviews/",
    ],
)
def test_list_pages_take_a_fixed_number_of_queries(
    url, thirty_of_everything, sys_browser, django_assert_max_num_queries
):
    sys_browser.get(url)  # warm the session and content-type caches
    with django_assert_max_num_queries(16):
        response = sys_browser.get(url)
    assert response.status_code == 200
