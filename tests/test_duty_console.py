"""The duty console (issue 6 item 1): system administrators register duties (事務) and give
executive bodies and departments their permitted duties; every change is logged (access log,
old → new) and kept as field-level history (django-auditlog) shown on the page.

Through the Django test client on an enrolled terminal with a password + TOTP session, against
the real PostgreSQL test database. Duty codes here are in the 800s so that they never meet the
registry seeded by the data migration.
"""

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AccessLogEntry, MachineClient
from audit.services import client_issue_direct
from jukinet.errors import InvalidInput, NotFound, PermissionRefused
from provision.models import Duty
from provision.services_registry import client_duties_set, duty_create, duty_sort_key, duty_update

NEW = "/console/duties/new/"


def text(response) -> str:
    return response.content.decode()


def duty_form(**overrides) -> dict:
    data = {
        "code": "J-801",
        "name": "県営住宅の入居者の管理に関する事務",
        "legal_basis": "埼玉県住民基本台帳法施行条例第2条",
        "recipient": "都市整備部住宅課",
        "files": ["honnin"],
        "items": ["juminhyo_code", "name", "address"],
        "active": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def make_duty(code: str, **fields) -> Duty:
    values = {
        "name": f"試験の事務 {code}",
        "legal_basis": "試験条例第1条",
        "files": ["honnin"],
        "items": ["juminhyo_code", "name"],
        "active": True,
        **fields,
    }
    return Duty.objects.update_or_create(code=code, defaults=values)[0]


@pytest.fixture
def sysadmin(staff_client):
    return staff_client("sysadmin")


@pytest.fixture
def body(db):
    make_duty("J-801")  # a client is issued with registered duties only
    return client_issue_direct(kind="body", name="教育委員会", duty_codes=["J-801"]).client


@pytest.fixture
def cs(db):
    return client_issue_direct(kind="cs", name="川越市CS", municipality_code="112011").client


def log_entries(action: str, **filters):
    return AccessLogEntry.objects.filter(action=action, **filters).order_by("id")


# --- Registering and changing duties -----------------------------------------------------------


@pytest.mark.django_db
def test_a_sysadmin_registers_a_duty_and_it_is_logged_with_its_history(sysadmin):
    page = sysadmin.get(NEW)
    assert page.status_code == 200 and "事務の登録" in text(page) and "autofocus" in text(page)

    response = sysadmin.post(NEW, duty_form(my_number_allowed="on"))
    assert response.status_code == 302 and response.url == "/console/duties/J-801/"

    duty = Duty.objects.get(code="J-801")
    assert duty.name == "県営住宅の入居者の管理に関する事務"
    assert duty.files == ["honnin"] and duty.items == ["juminhyo_code", "name", "address"]
    assert duty.my_number_allowed and duty.active and duty.table == "J"

    entry = log_entries("duty.create").get()
    assert entry.actor == sysadmin.operator.login_id and entry.outcome == "ok"
    assert entry.target_code == "J-801" and entry.duty == "J-801"
    assert "条例" in entry.detail and "個人番号可" in entry.detail

    history = LogEntry.objects.get_for_object(duty)
    assert history.count() == 1 and history.get().actor == sysadmin.operator

    detail = text(sysadmin.get("/console/duties/J-801/"))
    assert "事務 J-801 を登録しました。" in detail  # the message after the redirect
    assert "変更履歴" in detail and "作成" in detail and sysadmin.operator.login_id in detail
    assert "この事務を許可されたクライアントはありません。" in detail


@pytest.mark.django_db
def test_a_sysadmin_changes_a_duty_and_the_log_says_old_and_new_but_the_code_stays(sysadmin):
    make_duty("J-802", name="旧い名称の事務")
    form = sysadmin.get("/console/duties/J-802/edit/")
    assert form.status_code == 200 and 'name="code"' not in text(form) and "旧い名称の事務" in text(form)

    response = sysadmin.post(
        "/console/duties/J-802/edit/",
        duty_form(code="J-999", name="新しい名称の事務", files=["honnin", "fuhyo"], items=["juminhyo_code", "name"]),
    )
    assert response.status_code == 302 and response.url == "/console/duties/J-802/"
    duty = Duty.objects.get(code="J-802")
    assert duty.name == "新しい名称の事務" and duty.files == ["honnin", "fuhyo"]
    assert not Duty.objects.filter(code="J-999").exists()  # the code is immutable: a posted one is ignored

    entry = log_entries("duty.update").get()
    assert entry.actor == sysadmin.operator.login_id and entry.duty == "J-802"
    assert "名称: 旧い名称の事務 → 新しい名称の事務" in entry.detail
    assert "ファイル: 本人確認情報 → 本人確認情報・附票本人確認情報" in entry.detail
    assert "根拠" in entry.detail  # legal basis changed too; unchanged fields are not listed
    assert not any(part.startswith("項目") for part in entry.detail.split("; "))

    detail = text(sysadmin.get("/console/duties/J-802/"))
    assert "更新" in detail and "事務の名称: 旧い名称の事務 → 新しい名称の事務" in detail


@pytest.mark.django_db
def test_saving_a_duty_without_a_change_is_an_input_error_and_logs_nothing(sysadmin):
    duty = make_duty("J-803", recipient="", my_number_allowed=False)
    same = {
        "name": duty.name,
        "legal_basis": duty.legal_basis,
        "files": duty.files,
        "items": duty.items,
        "active": "on",
    }
    response = sysadmin.post("/console/duties/J-803/edit/", same)
    assert response.status_code == 400 and "変更された項目がありません。" in text(response)
    assert not log_entries("duty.update").exists()


@pytest.mark.django_db
def test_deactivating_a_duty_is_shown_on_its_page(sysadmin):
    make_duty("J-804")
    response = sysadmin.post(
        "/console/duties/J-804/edit/", duty_form(name="試験の事務 J-804", items=["juminhyo_code", "name"], active=None)
    )
    assert response.status_code == 302
    assert not Duty.objects.get(code="J-804").active
    assert "状態: 有効 → 無効" in log_entries("duty.update").get().detail
    assert "この事務は無効です" in text(sysadmin.get("/console/duties/J-804/"))


# --- A client's duties -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_sysadmin_gives_a_body_its_duties_from_a_checkbox_list(sysadmin, body):
    make_duty("J-801", files=["honnin", "fuhyo"], my_number_allowed=True)
    make_duty("J-802")
    make_duty("J-803", active=False)
    url = f"/console/duties/clients/{body.client_id}/"

    page = sysadmin.get(url)
    assert page.status_code == 200
    html = text(page)
    assert 'value="J-801" id=' in html and 'value="J-802"' in html and 'value="J-803"' not in html  # active only
    assert "附票本人確認情報" in html  # the files of each duty are shown
    assert 'value="J-801" id="duty-' in html and "checked" in html.split('value="J-801"')[1].split(">")[0]

    response = sysadmin.post(url, {"codes": ["J-802", "J-801"]})
    assert response.status_code == 302 and response.url == url
    body.refresh_from_db()
    assert body.duty_codes == ["J-801", "J-802"]

    entry = log_entries("client.duties").get()
    assert entry.actor == sysadmin.operator.login_id and entry.target_code == body.client_id
    assert "J-801 → J-801, J-802" in entry.detail and "追加: J-802" in entry.detail and "削除: なし" in entry.detail

    assert body.client_id in text(sysadmin.get("/console/duties/J-802/"))  # the duty lists who holds it
    assert any("duty_codes" in (e.changes or {}) for e in LogEntry.objects.get_for_object(body))
    assert "許可された事務コード" in text(sysadmin.get(url))  # the client's field-level history

    response = sysadmin.post(url, {})  # nothing checked: the body keeps no duty at all
    assert response.status_code == 302
    body.refresh_from_db()
    assert body.duty_codes == []
    assert "削除: J-801, J-802" in log_entries("client.duties").last().detail


@pytest.mark.django_db
def test_an_inactive_or_unregistered_duty_cannot_be_given(sysadmin, body, make_operator):
    make_duty("J-803", active=False)
    url = f"/console/duties/clients/{body.client_id}/"
    for codes in (["J-803"], ["9-1"], ["6-999"], ["J-801\x00"]):
        response = sysadmin.post(url, {"codes": codes})
        assert response.status_code == 400 and "事務の選択が正しくありません。" in text(response), codes
    body.refresh_from_db()
    assert body.duty_codes == ["J-801"]

    # The service says the same to any caller, not only to the page's form.
    admin = make_operator("sysadmin")
    for codes in (["J-803"], ["6-999"], ["nonsense"]):
        with pytest.raises(InvalidInput) as refused:
            client_duties_set(actor=admin, client=body, codes=codes)
        assert refused.value.code == "E_DUTY_UNKNOWN" and refused.value.field == "codes"
    assert not log_entries("client.duties").exists()


@pytest.mark.django_db
def test_a_duty_held_but_deactivated_is_pointed_out_and_dropped_on_save(sysadmin, body):
    make_duty("J-801", active=False)
    make_duty("J-802")
    url = f"/console/duties/clients/{body.client_id}/"
    assert "保存すると外れます" in text(sysadmin.get(url))
    assert sysadmin.post(url, {"codes": ["J-802"]}).status_code == 302
    body.refresh_from_db()
    assert body.duty_codes == ["J-802"]


@pytest.mark.django_db
def test_a_cs_client_is_given_no_duty(sysadmin, cs, make_operator):
    make_duty("J-801")
    url = f"/console/duties/clients/{cs.client_id}/"
    page = sysadmin.get(url)
    assert page.status_code == 200 and "市町村CSには事務を許可できません" in text(page)
    assert 'name="codes"' not in text(page)

    response = sysadmin.post(url, {"codes": ["J-801"]})
    assert response.status_code == 400 and "市町村CSには事務を許可できません" in text(response)
    with pytest.raises(InvalidInput) as refused:
        client_duties_set(actor=make_operator("sysadmin"), client=cs.client_id, codes=["J-801"])
    assert refused.value.code == "E_CLIENT_KIND"
    cs.refresh_from_db()
    assert cs.duty_codes == [] and not log_entries("client.duties").exists()


@pytest.mark.django_db
def test_a_revoked_client_keeps_the_duties_it_had(make_operator, body):
    make_duty("J-802")
    MachineClient.objects.filter(pk=body.pk).update(state="revoked")
    with pytest.raises(Exception) as refused:
        client_duties_set(actor=make_operator("sysadmin"), client=body.client_id, codes=["J-802"])
    assert getattr(refused.value, "code", "") == "E_CLIENT_REVOKED"
    body.refresh_from_db()
    assert body.duty_codes == ["J-801"]


@pytest.mark.django_db
def test_unknown_duties_and_clients_are_404(sysadmin):
    for path in (
        "/console/duties/J-899/",
        "/console/duties/X-1/",
        "/console/duties/J-1%00/",
        "/console/duties/" + "6-1" * 500 + "/",
        "/console/duties/J-899/edit/",
        "/console/duties/clients/nobody/",
        "/console/duties/clients/a%00b/",
    ):
        assert sysadmin.get(path).status_code == 404, path
    with pytest.raises(NotFound):
        duty_update(
            actor=sysadmin.operator,
            code="J-899",
            name="x",
            legal_basis="y",
            recipient="",
            files=["honnin"],
            items=["juminhyo_code"],
            my_number_allowed=False,
            active=True,
        )


# --- Hostile and mistaken input ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"name": "あ" * 301}, "300 文字以下"),
        ({"legal_basis": "条" * 201}, "200 文字以下"),
        ({"recipient": "先" * 101}, "100 文字以下"),
        ({"name": "改行を\n含む名称"}, "改行・タブ・制御文字は使えません。"),
        ({"name": "NUL\x00を含む"}, "制御文字"),
        ({"legal_basis": "右から左\u202eへ"}, "改行・タブ・制御文字は使えません。"),
        ({"code": "7-1"}, "事務コードは「5-13」「6-1」「J-2」のように"),
        ({"code": "6-1a"}, "事務コードは「5-13」「6-1」「J-2」のように"),
        ({"code": "６-1"}, "事務コードは「5-13」「6-1」「J-2」のように"),
        ({"code": "J-1234"}, "事務コードは「5-13」「6-1」「J-2」のように"),
        ({"code": ""}, "必須"),
        ({"name": "   "}, "必須"),
        ({"items": ["juminhyo_code", "my_number"]}, "提供できる項目の選択が正しくありません。"),
        ({"items": ["name", "address"]}, "住民票コードを必ず含めてください。"),
        ({"items": None}, "提供できる項目を1つ以上選んでください。"),
        ({"files": ["juki"]}, "対象ファイルの選択が正しくありません。"),
        ({"files": None}, "対象ファイルを1つ以上選んでください。"),
    ],
)
def test_bad_duty_input_is_answered_next_to_the_field_and_nothing_is_stored(sysadmin, overrides, field_message):
    response = sysadmin.post(NEW, duty_form(**overrides))
    assert response.status_code == 400
    assert field_message in text(response)
    assert not Duty.objects.filter(code__in=["J-801", overrides.get("code", "")]).exists()
    assert not log_entries("duty.create").exists()


@pytest.mark.django_db
def test_a_duplicate_code_is_refused(sysadmin):
    make_duty("J-801", name="先に登録された事務")
    response = sysadmin.post(NEW, duty_form())
    assert response.status_code == 400 and "この事務コードは既に登録されています。" in text(response)
    assert Duty.objects.get(code="J-801").name == "先に登録された事務"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"name": "x" * 301}, "E_DUTY_FIELD", "name"),
        ({"name": "タブ\tあり"}, "E_DUTY_FIELD", "name"),
        ({"recipient": "見えない\u200b文字"}, "E_DUTY_FIELD", "recipient"),
        ({"code": "J-1-2-3"}, "E_DUTY_CODE", "code"),
        ({"code": " "}, "E_DUTY_CODE", "code"),
        ({"items": ["juminhyo_code", "my_number"]}, "E_DUTY_FIELD", "items"),
        ({"items": "juminhyo_code"}, "E_DUTY_FIELD", "items"),
        ({"files": []}, "E_DUTY_FIELD", "files"),
        ({"my_number_allowed": "yes"}, "E_DUTY_FIELD", "my_number_allowed"),
    ],
)
def test_the_service_validates_on_its_own(make_operator, overrides, code, field):
    values = {
        "code": "J-805",
        "name": "試験の事務",
        "legal_basis": "試験条例第1条",
        "files": ["honnin"],
        "items": ["juminhyo_code"],
        **overrides,
    }
    with pytest.raises(InvalidInput) as refused:
        duty_create(actor=make_operator("sysadmin"), **values)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert refused.value.message  # Japanese, shown next to the field
    assert not Duty.objects.filter(code="J-805").exists()


# --- Who may -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["secadmin", "auditor", "teikyo", "gyomu", "kaiji"])
def test_only_a_sysadmin_may_change_the_registry_and_a_refusal_is_logged(staff_client, role, body):
    make_duty("J-802")
    browser = staff_client(role)
    login_id = browser.operator.login_id
    attempts = [
        (NEW, duty_form(code="J-806")),
        ("/console/duties/J-802/edit/", duty_form(name="書き換え")),
        (f"/console/duties/clients/{body.client_id}/", {"codes": ["J-802"]}),
    ]
    for path, data in attempts:
        assert browser.post(path, data).status_code == 403, path
        assert browser.get(path).status_code == 403, path
    assert not Duty.objects.filter(code="J-806").exists()
    assert Duty.objects.get(code="J-802").name == "試験の事務 J-802"
    body.refresh_from_db()
    assert body.duty_codes == ["J-801"]
    assert AccessLogEntry.objects.filter(actor=login_id, outcome="refused").count() >= 6

    # Reading the registry is for the system administrator, the 提供担当 and the auditor.
    may_read = role in {"auditor", "teikyo"}
    for path in ("/console/duties/", "/console/duties/J-802/"):
        response = browser.get(path)
        assert response.status_code == (200 if may_read else 403), path
        if may_read:
            assert "/console/duties/new/" not in text(response) and "/edit/" not in text(response)


@pytest.mark.django_db
def test_the_services_refuse_a_colleague_and_log_it(make_operator, body):
    make_duty("J-802")
    for role in ("secadmin", "teikyo", "auditor"):
        colleague = make_operator(role)
        with pytest.raises(PermissionRefused):
            duty_create(
                actor=colleague,
                code="J-807",
                name="x",
                legal_basis="y",
                files=["honnin"],
                items=["juminhyo_code"],
            )
        with pytest.raises(PermissionRefused):
            client_duties_set(actor=colleague, client=body, codes=["J-802"])
        refused = AccessLogEntry.objects.filter(outcome="refused", action__in=["duty.create", "client.duties"])
        assert refused.count() >= 2
    assert not Duty.objects.filter(code="J-807").exists()


@pytest.mark.django_db
def test_an_outsider_reaches_no_duty_page(terminal_client, client, body):
    make_duty("J-802")
    for path in ("/console/duties/", "/console/duties/J-802/", NEW, f"/console/duties/clients/{body.client_id}/"):
        response = terminal_client.get(path)  # on a terminal, not logged in
        assert response.status_code == 302 and response["Location"].startswith("/login"), path
    assert terminal_client.post(NEW, duty_form(code="J-808")).status_code in (302, 403)
    assert not Duty.objects.filter(code="J-808").exists()


# --- The list ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_list_filters_by_table_file_and_state(sysadmin):
    make_duty("5-801", files=["honnin"])
    make_duty("6-801", files=["fuhyo"])
    make_duty("J-809", files=["honnin", "fuhyo"], active=False)

    def codes(query: str) -> set[str]:
        response = sysadmin.get(f"/console/duties/{query}")
        assert response.status_code == 200
        return {c for c in ("5-801", "6-801", "J-809") if f'href="/console/duties/{c}/"' in text(response)}

    assert codes("") == {"5-801", "6-801", "J-809"}
    assert codes("?table=5") == {"5-801"}
    assert codes("?table=6&file=fuhyo") == {"6-801"}
    assert codes("?file=fuhyo") == {"6-801", "J-809"}
    assert codes("?active=no") == {"J-809"}
    assert sysadmin.get("/console/duties/?table=9").status_code == 400
    assert sysadmin.get("/console/duties/?file=%00").status_code == 400


@pytest.mark.django_db
def test_the_list_reads_a_constant_number_of_queries(sysadmin, body):
    make_duty("J-801")
    sysadmin.get("/console/duties/")  # warm the session and the terminal
    with CaptureQueriesContext(connection) as few:
        assert sysadmin.get("/console/duties/").status_code == 200
    for n in range(10):
        make_duty(f"J-81{n}")
        client_issue_direct(kind="body", name=f"部署{n}", duty_codes=["J-801", f"J-81{n}"])
    with CaptureQueriesContext(connection) as many:
        assert sysadmin.get("/console/duties/").status_code == 200
    assert len(many) == len(few)


@pytest.mark.django_db
def test_the_console_links_to_the_duty_list_and_the_body_to_its_duties(sysadmin, body):
    assert 'href="/console/duties/"' in text(sysadmin.get("/console/"))
    listing = text(sysadmin.get("/console/duties/"))
    assert f'href="/console/duties/clients/{body.client_id}/"' in listing


def test_codes_sort_by_table_then_number():
    assert sorted(["J-2", "6-10", "5-13", "6-2", "5-2"], key=duty_sort_key) == ["5-2", "5-13", "6-2", "6-10", "J-2"]
