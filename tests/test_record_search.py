"""The staff search and record pages of both files, through the full HTTP stack."""

import datetime as dt
import re

import pytest

from audit.models import AccessLogEntry
from tests.people import make_fuhyo, make_resident, my_number_for, number_in

pytestmark = pytest.mark.django_db

SEARCH = {"purpose": "disclosure", "reference": "受付第12号"}


def _search(client, file="honnin", **fields):
    """POST the form: a valid search answers at once with the results (and its GET address)."""
    return client.post(f"/{file}/search/", {**SEARCH, **fields})


def _result_url(response) -> str:
    return re.search(r'data-replace-url="([^"]+)"', response.content.decode()).group(1).replace("&amp;", "&")


def _links(response) -> list[str]:
    return re.findall(r'href="(/(?:honnin|fuhyo)/records/\d+/\?g=[^"]+)"', response.content.decode())


@pytest.fixture
def people():
    return {
        "taro": make_resident(name="佐藤　太郎", name_kana="サトウ　タロウ", my_number=my_number_for(1)),
        "hanako": make_resident(
            name="髙橋　花子",
            name_kana="タカハシ　ハナコ",
            sex="2",
            birth_date=dt.date(1990, 1, 15),
            former_surname="鈴木",
            former_surname_kana="スズキ",
        ),
        "gone": make_resident(name="佐藤　次郎", name_kana="サトウ　ジロウ", deleted=True, change_reason="死亡"),
        "pua": make_resident(name="\ue001田　一郎", name_kana="ヨシダ　イチロウ", birth_date=dt.date(1970, 5, 5)),
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"name_kana": "さとう　たろう", "sex": "1"},
        {"name_kana": "ｻﾄｳ ﾀﾛｳ", "birth_date": "昭和60年3月"},
        {"name_kana": "サトオ", "birth_date": "S60.3.1"},
        {"name": "佐藤太郎", "birth_date": "1985"},
        {"name": "佐藤", "kanji_prefix": "on", "sex": "1"},
        {"birth_date": "1985-03-01", "address": "川越市元町"},
    ],
)
def test_each_kind_of_input_finds_the_person(staff_client, people, fields):
    response = _search(staff_client("gyomu"), **fields)
    assert response.status_code == 200
    body = response.content.decode()
    assert "佐藤　太郎" in body
    assert "佐藤　次郎" not in body  # 消除者 only when asked for


def test_a_former_surname_finds_the_person_and_kanji_gaiji_are_marked(staff_client, people):
    body = _search(staff_client("gyomu"), name_kana="すずき はなこ", include_former="on", sex="2").content.decode()
    assert 'title="外字 U+9AD9">髙</span>' in body
    body = _search(staff_client("gyomu"), name_kana="すずき はなこ", sex="2").content.decode()
    assert "該当する記録はありません" in body


def test_removed_people_are_listed_only_when_asked_and_flagged(staff_client, people):
    body = _search(staff_client("gyomu"), name_kana="さとう", sex="1", include_removed="on").content.decode()
    assert "佐藤　次郎" in body and "消除" in body
    # Kana order: サトウ　ジロウ before サトウ　タロウ.
    assert body.index("佐藤　次郎") < body.index("佐藤　太郎")


def test_the_list_never_shows_the_my_number_and_the_search_is_logged(staff_client, people):
    client = staff_client("gyomu")
    response = _search(client, name_kana="さとう", sex="1")
    assert not number_in(response.content.decode(), my_number_for(1))
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    entry = AccessLogEntry.objects.filter(action="record.search").latest("id")
    assert entry.actor == client.operator.login_id and entry.duty == "disclosure" and entry.target_file == "honnin"
    assert "かな氏名" in entry.detail and "件数 1" in entry.detail and "受付第12号" in entry.detail
    assert "サト" not in entry.detail and "佐藤" not in entry.detail


def test_a_fishing_search_is_refused_with_a_message_and_logged(staff_client, people):
    client = staff_client("gyomu")
    response = _search(client, name_kana="さとう")
    assert response.status_code == 400
    assert "検索条件が広すぎます" in response.content.decode()
    assert AccessLogEntry.objects.filter(action="record.search", outcome="refused").exists()
    assert "autofocus" in response.content.decode()


def test_a_search_needs_a_purpose(staff_client, people):
    response = staff_client("gyomu").post("/honnin/search/", {"name_kana": "さとう", "sex": "1"})
    assert response.status_code == 400
    assert "検索の目的（事務）を選んでください" in response.content.decode()


def test_too_many_hits_show_no_list(staff_client, people, monkeypatch):
    monkeypatch.setattr("jukinet.record_access.MAX_HITS", 1)
    body = _search(staff_client("gyomu"), name_kana="さとう", sex="1", include_removed="on").content.decode()
    assert "条件を追加して絞り込んでください" in body and "佐藤　太郎" not in body


def test_results_are_paged_by_post(staff_client, people, monkeypatch):
    monkeypatch.setattr("jukinet.record_access.PAGE_SIZE", 1)
    client = staff_client("gyomu")
    response = _search(client, name_kana="さとう", sex="1", include_removed="on")
    first = response.content.decode()
    url = _result_url(response)
    assert url.startswith("/honnin/search/?s=") and "さとう" not in url and "%" not in url
    second = client.get(url + "&page=2").content.decode()
    assert "佐藤　次郎" in first and "佐藤　太郎" not in first
    assert "佐藤　太郎" in second and "2/2ページ" in second
    assert "1/2ページ" in client.get(url + "&page=-1").content.decode()  # a bad page number is page 1
    # Every page shown is logged, the first answer included.
    assert AccessLogEntry.objects.filter(action="record.search").count() == 3


def test_an_unknown_or_expired_search_id_asks_to_search_again(staff_client, people):
    response = staff_client("gyomu").get("/honnin/search/?s=nonexistent")
    assert response.status_code == 200 and "もう一度検索してください" in response.content.decode()


@pytest.mark.parametrize(
    "fields",
    [
        {"name_kana": "あ" * 500, "sex": "1"},
        {"name_kana": "さとう\x00", "sex": "1"},
        {"name_kana": "さとう\x1b[31m", "sex": "1"},
        {"name_kana": "' OR 1=1 --", "sex": "1"},
        {"name": "佐藤%", "kanji_prefix": "on", "sex": "1"},
        {"name_kana": "さとう", "birth_date": "令和99年13月"},
        {"name_kana": "さとう", "birth_date": "1985-02-30"},
        {"name_kana": "さとう", "sex": "<script>"},
        {"name_kana": "さとう", "sex": "1", "purpose": "fishing"},
        {"name_kana": "さとう", "sex": "1", "reference": "x" * 41},
        {"name_kana": "さとう", "address": "埼" * 5000},
    ],
)
def test_hostile_input_is_a_clear_400(staff_client, people, fields):
    response = _search(staff_client("gyomu"), **fields)
    assert response.status_code in (200, 400)
    if response.status_code == 200:  # 佐藤% is a literal prefix: nothing matches
        assert "該当する記録はありません" in response.content.decode()
    else:
        assert 'role="alert"' in response.content.decode()


def test_fuhyo_search_and_record(staff_client):
    make_fuhyo(name="岡本　楓", name_kana="オカモト　カエデ", address="アメリカ合衆国カリフォルニア州")
    client = staff_client("gyomu")
    response = _search(client, file="fuhyo", name_kana="おかもと", address="ｱﾒﾘｶ")
    assert "岡本　楓" in response.content.decode()
    page = client.get(_links(response)[0])
    body = page.content.decode()
    assert page.status_code == 200 and "最終住所" in body and "個人番号" not in body


def test_opening_a_record_is_logged_apart_from_the_search(staff_client, people):
    client = staff_client("gyomu")
    link = _links(_search(client, name_kana="さとう", sex="1"))[0]
    response = client.get(link)
    assert response.status_code == 200
    body = response.content.decode()
    assert "佐藤　太郎" in body and "●●●● ●●●● ●●●●" in body and not number_in(body, my_number_for(1))
    view = AccessLogEntry.objects.get(action="record.view")
    search = AccessLogEntry.objects.get(action="record.search")
    assert view.target_code == people["taro"].juminhyo_code and view.duty == "disclosure"
    assert search.detail.split(";")[0].split()[-1] in view.detail  # the search id links the two


def test_a_record_opens_only_from_a_search_result_of_the_same_operator(staff_client, make_operator, people):
    client = staff_client("gyomu")
    link = _links(_search(client, name_kana="さとう", sex="1"))[0]
    other_pk = people["hanako"].pk
    forged = re.sub(r"/records/\d+/", f"/records/{other_pk}/", link)
    assert client.get(forged).status_code == 400
    assert client.get(f"/honnin/records/{other_pk}/").status_code == 400
    assert client.get(link.replace("/honnin/", "/fuhyo/")).status_code == 400
    from tests.conftest import verify_session

    verify_session(client, make_operator("gyomu"))  # another operator on the same terminal
    response = client.get(link)
    assert response.status_code == 400 and "検索結果の一覧から開いてください" in response.content.decode()
    assert not AccessLogEntry.objects.filter(action="record.view").exists()


def test_the_record_view_marks_private_use_gaiji_with_their_count(staff_client, people):
    client = staff_client("gyomu")
    response = _search(client, name_kana="よしだ", birth_date="1970-05-05")
    body = client.get(_links(response)[0]).content.decode()
    assert 'class="gaiji pua"' in body and "U+E001" in body and "外字 1字" in body


def test_history_is_shown_with_changed_items_marked(staff_client, people):
    from django.utils import timezone

    from honnin.models import ResidentHistory

    taro = people["taro"]
    old = {f.name: getattr(taro, f.name) for f in taro._meta.concrete_fields if f.name not in ("id",)}
    old.update(address="埼玉県川越市旧町１番", update_seq=1, change_reason="転入")
    ResidentHistory.objects.create(resident=taro, superseded_at=timezone.now(), retain_until=dt.date(2176, 1, 1), **old)
    client = staff_client("gyomu")
    body = client.get(_links(_search(client, name_kana="さとう", sex="1"))[0]).content.decode()
    assert "埼玉県川越市旧町１番" in body and 'class="changed"' in body


def test_revealing_the_my_number_needs_a_reason_and_is_logged_on_its_own(staff_client, people):
    client = staff_client("gyomu")
    link = _links(_search(client, name_kana="さとう", sex="1"))[0]
    grant = link.split("?g=")[1]
    from urllib.parse import unquote

    url = f"/honnin/records/{people['taro'].pk}/my-number/"
    refused = client.post(url, {"g": unquote(grant), "reason": ""})
    assert refused.status_code == 400 and "理由を入力してください" in refused.content.decode()
    assert not AccessLogEntry.objects.filter(action="my_number.reveal").exists()
    shown = client.post(url, {"g": unquote(grant), "reason": f"開示請求 {my_number_for(1)} の確認"})
    assert shown.status_code == 200 and number_in(shown.content.decode(), my_number_for(1))
    assert "no-store" in shown["Cache-Control"]
    entry = AccessLogEntry.objects.get(action="my_number.reveal")
    assert entry.target_code == people["taro"].juminhyo_code and entry.outcome == "ok"
    for entry in AccessLogEntry.objects.all():
        assert my_number_for(1) not in " ".join(str(v) for v in entry.__dict__.values())


def test_the_desk_may_search_but_not_reveal(staff_client, people):
    client = staff_client("kaiji")
    link = _links(_search(client, name_kana="さとう", sex="1"))[0]
    body = client.get(link).content.decode()
    assert "個人番号を表示" not in body
    from urllib.parse import unquote

    response = client.post(
        f"/honnin/records/{people['taro'].pk}/my-number/", {"g": unquote(link.split("?g=")[1]), "reason": "確認"}
    )
    assert response.status_code == 403
    assert AccessLogEntry.objects.filter(action="my_number.reveal", outcome="refused").exists()


def test_an_operator_without_the_file_duty_is_refused_and_logged(staff_client, people):
    client = staff_client("gyomu", duties=["fuhyo"])
    response = _search(client, name_kana="さとう", sex="1")
    assert response.status_code == 403
    assert "本人確認情報ファイルの担当ではありません" in response.content.decode()
    assert AccessLogEntry.objects.filter(action="record.search", outcome="refused", target_file="honnin").exists()


@pytest.mark.parametrize("role", ["sysadmin", "secadmin", "auditor", "teikyo"])
def test_other_roles_cannot_search(staff_client, people, role):
    assert _search(staff_client(role), name_kana="さとう", sex="1").status_code == 403


def test_the_menu_offers_only_the_files_of_the_operators_duty(staff_client):
    body = staff_client("gyomu", duties=["fuhyo"]).get("/").content.decode()
    assert 'href="/fuhyo/search/"' in body and 'href="/honnin/search/"' not in body
    assert 'href="/national-query/fuhyo/"' in body and 'href="/national-query/honnin/"' not in body
