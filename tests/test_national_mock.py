"""The national mock as a real process: gunicorn with mutual TLS on one port and the
development-only test listener on another, both against pytest-django's test database.

Run alone with a private test database:
``TOX_PARALLEL_ENV=national .venv/bin/python -m pytest tests/test_national_mock.py -q``
"""

import datetime as dt
import io
import os
import re
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command

from jukinet import crypto, national_client
from jukinet.codes import generate_juminhyo_code, generate_my_number, is_valid_juminhyo_code
from jukinet.national.models import NationalFile, NationalResident, ReceivedNotice

# The fixtures (national_server, national, pki_dir, national_keys) are in tests/national_fixtures.py.
ROOT = Path(__file__).resolve().parent.parent
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
rng = __import__("random").Random(20261126)


def notice(notice_id: str, **fields) -> dict:
    code = fields.pop("juminhyo_code", None) or generate_juminhyo_code(rng)
    return {
        "notice_id": notice_id,
        "juminhyo_code": code,
        "update_seq": fields.pop("update_seq", 1),
        "change_reason": fields.pop("change_reason", "転居"),
        "changed_on": fields.pop("changed_on", "2026-11-20"),
        "record": fields.pop("record", {"name": "埼玉　太郎", "name_kana": "サイタマ　タロウ", "sex": "1"}),
        **fields,
    }


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert JAPANESE.search(error["message"]), error
    return error


# --- Mutual TLS -----------------------------------------------------------------------------


def test_a_client_without_a_certificate_fails_the_handshake(national):
    with national.client(stem=None) as client, pytest.raises(httpx.TransportError, match=r"(?i)certificate"):
        client.get("/national/v1/healthz")


def test_a_client_certificate_from_another_ca_fails_the_handshake(national):
    with (
        national.client(stem="untrusted-client") as client,
        pytest.raises(httpx.TransportError, match=r"(?i)unknown ca"),
    ):
        client.post("/national/v1/honnin/notices", json={"notices": []})


def test_the_prefecture_client_certificate_is_accepted(national):
    with national.client() as client:
        assert client.get("/national/v1/healthz").json() == {"status": "ok"}


def test_the_client_reports_a_refused_handshake_as_unavailable_without_the_payload(national, settings):
    settings.NATIONAL_CLIENT_CERT_FILE = str(national.pki / "untrusted-client.crt")
    settings.NATIONAL_CLIENT_KEY_FILE = str(national.pki / "untrusted-client.key")
    number = generate_my_number(rng)
    with pytest.raises(national_client.NationalUnavailable) as caught:
        national_client.send_notices("honnin", [notice("n-tls-1", my_number=number)])
    assert number not in str(caught.value) and "太郎" not in str(caught.value)
    assert not ReceivedNotice.objects.exists()


# --- Notices --------------------------------------------------------------------------------


def test_notices_are_recorded_and_acked_and_the_number_is_never_kept_in_clear(national):
    number = generate_my_number(rng)
    sent = [notice("n-1"), notice("n-2", my_number=number), notice("n-3", record={"my_number": number})]
    assert national_client.send_notices("honnin", sent) == ["n-1", "n-2", "n-3"]

    rows = {r.notice_id: r for r in ReceivedNotice.objects.filter(file="honnin")}
    assert set(rows) == {"n-1", "n-2", "n-3"}
    assert rows["n-1"].receive_count == 1 and rows["n-1"].my_number_index is None
    index = crypto.get_keyring().index(number)
    assert bytes(rows["n-2"].my_number_index) == index == bytes(rows["n-3"].my_number_index)
    assert rows["n-2"].payload["record"]["name_kana"] == "サイタマ　タロウ"
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(r)::text FROM national_received_notice r")
        assert all(number not in text for (text,) in cursor.fetchall())


def test_the_same_notice_id_sent_twice_is_recorded_once_with_receive_count_two(national):
    first = notice("dup-1")
    assert national_client.send_notices("honnin", [first]) == ["dup-1"]
    assert national_client.send_notices("honnin", [first, notice("dup-2")]) == ["dup-1", "dup-2"]
    # Twice inside one request counts too (one statement cannot update a row twice).
    assert national_client.send_notices("honnin", [notice("dup-3"), notice("dup-3")]) == ["dup-3"]
    counts = dict(ReceivedNotice.objects.values_list("notice_id", "receive_count"))
    assert counts == {"dup-1": 2, "dup-2": 1, "dup-3": 2}
    assert ReceivedNotice.objects.get(notice_id="dup-1").mismatch_count == 0


def test_the_same_id_in_another_file_is_another_notice(national):
    assert national_client.send_notices("honnin", [notice("same")]) == ["same"]
    assert national_client.send_notices("fuhyo", [notice("same", change_reason="国外転出")]) == ["same"]
    assert ReceivedNotice.objects.filter(notice_id="same").count() == 2


def test_more_than_1000_notices_are_refused_with_413(national):
    with national.client() as client:
        body = {"notices": [notice(f"big-{i}") for i in range(1001)]}
        assert_error(client.post("/national/v1/honnin/notices", json=body), 413, "E_TOO_MANY_NOTICES")
        body["notices"].pop()
        assert len(client.post("/national/v1/honnin/notices", json=body).json()["acked"]) == 1000


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"{not json", "E_BAD_JSON"),
        (b"\xff\xfe", "E_BAD_JSON"),
        (b'"notices"', "E_NOTICES_REQUIRED"),
        (b'{"notices": "n-1"}', "E_NOTICES_REQUIRED"),
        (b'{"notices": [1]}', "E_NOTICE_TYPE"),
        (b'{"notices": [{"notice_id": 5}]}', "E_NOTICE_ID"),
        (b'{"notices": [{"notice_id": "has space"}]}', "E_NOTICE_ID"),
        (b"[" * 100_000 + b"]" * 100_000, "E_BAD_JSON"),
    ],
)
def test_malformed_requests_get_400_with_a_code_and_a_japanese_message(national, content, code):
    with national.client() as client:
        response = client.post(
            "/national/v1/honnin/notices", content=content, headers={"Content-Type": "application/json"}
        )
    assert_error(response, 400, code)


def test_a_bad_item_refuses_its_notice_only(national):
    good = notice("ok-1")
    bad = [
        notice("bad-seq", update_seq="3"),
        notice("bad-bool", update_seq=True),
        notice("bad-code", juminhyo_code="12345678901"),
        notice("bad-reason", change_reason="引越し"),
        notice("bad-date", changed_on="20261120"),
        notice("bad-record", record=["x"]),
        notice("bad-number", my_number="123"),
        notice("bad-nul", record={"name": "埼玉\x00太郎"}),
    ]
    with national.client() as client:
        response = client.post("/national/v1/honnin/notices", json={"notices": [good, *bad]})
        fuhyo = client.post(
            "/national/v1/fuhyo/notices", json={"notices": [notice("f-1", change_reason="国外転出", my_number="1")]}
        )
    assert response.status_code == 200
    body = response.json()
    assert body["acked"] == ["ok-1"]
    codes = {r["notice_id"]: r["error"]["code"] for r in body["rejected"]}
    assert codes == {
        "bad-seq": "E_UPDATE_SEQ",
        "bad-bool": "E_UPDATE_SEQ",
        "bad-code": "E_JUMINHYO_CODE_CHECK_DIGIT",
        "bad-reason": "E_CHANGE_REASON",
        "bad-date": "E_CHANGED_ON",
        "bad-record": "E_RECORD",
        "bad-number": "E_MY_NUMBER_LENGTH",
        "bad-nul": "E_RECORD",
    }
    assert all(JAPANESE.search(r["error"]["message"]) for r in body["rejected"])
    assert fuhyo.json()["rejected"][0]["error"]["code"] == "E_MY_NUMBER_NOT_ALLOWED"
    assert list(ReceivedNotice.objects.values_list("notice_id", flat=True)) == ["ok-1"]


def test_a_body_over_the_size_limit_is_refused_before_it_is_read(national):
    host, port = "localhost", int(national.url.rsplit(":", 1)[1])
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        national.context().wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(
            b"POST /national/v1/honnin/notices HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 200000000\r\n\r\n{"
        )
        answer = b""
        while b"}}" not in answer and (chunk := tls.recv(65536)):  # head and body come in two records
            answer += chunk
        answer = answer.decode()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "E_TOO_LARGE" in answer


def test_unknown_files_methods_paths_and_content_types_get_json_errors(national):
    with national.client() as client:
        assert_error(client.post("/national/v1/kosekifu/notices", json={"notices": []}), 404, "E_UNKNOWN_FILE")
        assert_error(client.get("/national/v1/honnin/notices"), 405, "E_METHOD_NOT_ALLOWED")
        assert_error(client.get("/national/v1/nothing-here"), 404, "E_NOT_FOUND")
        response = client.post("/national/v1/honnin/notices", content=b"{}", headers={"Content-Type": "text/plain"})
        assert_error(response, 400, "E_CONTENT_TYPE")


# --- Faults ---------------------------------------------------------------------------------


def test_down_answers_503_to_everything_until_set_back(national):
    national_client.set_faults("down")
    with pytest.raises(national_client.NationalUnavailable) as caught:
        national_client.send_notices("honnin", [notice("down-1")])
    assert caught.value.status == 503
    with pytest.raises(national_client.NationalUnavailable):
        national_client.query("honnin", {"by": "juminhyo_code", "juminhyo_code": generate_juminhyo_code(rng)})
    assert not ReceivedNotice.objects.exists()
    national_client.set_faults("ok")
    assert national_client.send_notices("honnin", [notice("down-1")]) == ["down-1"]


def test_a_fault_with_seconds_ends_by_itself(national):
    national_client.set_faults("down", seconds=0.5)
    with pytest.raises(national_client.NationalUnavailable):
        national_client.send_notices("honnin", [notice("brief-1")])
    time.sleep(0.7)
    assert national_client.send_notices("honnin", [notice("brief-1")]) == ["brief-1"]


def test_slow_delays_the_answer(national):
    national_client.set_faults("slow", delay_ms=400)
    started = time.monotonic()
    assert national_client.send_notices("honnin", [notice("slow-1")]) == ["slow-1"]
    assert 0.4 <= time.monotonic() - started < 5


def test_slow_beyond_the_client_timeout_is_unavailable(national, settings):
    settings.NATIONAL_TIMEOUT_SECONDS = 1
    national_client.set_faults("slow", delay_ms=2500)
    with pytest.raises(national_client.NationalUnavailable, match="timeout"):
        national_client.send_notices("honnin", [notice("slow-2")])
    # The mock goes on and records it: the forwarder saw a failure for a notice already there.
    deadline = time.monotonic() + 10
    while not ReceivedNotice.objects.filter(notice_id="slow-2").exists():
        assert time.monotonic() < deadline, "the slow request never finished"
        time.sleep(0.1)


def test_flaky_fails_half_before_and_half_after_recording_and_dedup_covers_the_resend(national):
    national_client.set_faults("flaky", rate=1.0)
    sent = [notice(f"flaky-{i}") for i in range(24)]
    for item in sent:
        with pytest.raises(national_client.NationalUnavailable):
            national_client.send_notices("honnin", [item])
    recorded_while_failing = ReceivedNotice.objects.count()
    assert 0 < recorded_while_failing < 24  # both kinds of failure happened (chance of not: 2^-23)

    national_client.set_faults("ok")
    for item in sent:
        assert national_client.send_notices("honnin", [item]) == [item["notice_id"]]
    listing = national_client.received("honnin")
    assert sorted(n["notice_id"] for n in listing["notices"]) == sorted(n["notice_id"] for n in sent)
    assert sum(n["receive_count"] == 2 for n in listing["notices"]) == recorded_while_failing


def test_flaky_rate_zero_never_fails(national):
    national_client.set_faults("flaky", rate=0)
    assert national_client.send_notices("honnin", [notice(f"calm-{i}") for i in range(5)]) == [
        f"calm-{i}" for i in range(5)
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "broken"}, "mode"),
        ({"mode": "flaky", "rate": 1.5}, "rate"),
        ({"mode": "flaky", "rate": "0.5"}, "rate"),
        ({"mode": "slow", "delay_ms": -1}, "delay_ms"),
        ({"mode": "slow", "delay_ms": 10**9}, "delay_ms"),
        ({"mode": "down", "seconds": "soon"}, "seconds"),
    ],
)
def test_fault_settings_are_checked(national, body, field):
    response = httpx.post(f"{national.test_url}/national/v1/_faults", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


# --- The received listing -------------------------------------------------------------------


def test_received_lists_what_arrived_in_order_and_pages_with_since(national):
    national_client.send_notices("honnin", [notice("r-1"), notice("r-2"), notice("r-3")])
    national_client.send_notices("honnin", [notice("r-4"), notice("r-5")])
    national_client.send_notices("fuhyo", [notice("r-f", change_reason="国外転出")])

    listing = national_client.received("honnin")
    ids = [n["notice_id"] for n in listing["notices"]]
    assert ids == ["r-1", "r-2", "r-3", "r-4", "r-5"]
    seqs = [n["seq"] for n in listing["notices"]]
    assert seqs == sorted(seqs) and listing["more"] is False

    after_third = national_client.received("honnin", since=seqs[2])
    assert [n["notice_id"] for n in after_third["notices"]] == ["r-4", "r-5"]
    page = national_client.received("honnin", limit=2)
    assert [n["notice_id"] for n in page["notices"]] == ["r-1", "r-2"] and page["more"] is True
    rest = national_client.received("honnin", since=page["next_since"])
    assert [n["notice_id"] for n in rest["notices"]] == ["r-3", "r-4", "r-5"]
    earlier = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    assert len(national_client.received("honnin", since=earlier)["notices"]) == 5
    assert [n["notice_id"] for n in national_client.received("fuhyo")["notices"]] == ["r-f"]
    with pytest.raises(national_client.NationalRejected) as caught:
        national_client.received("honnin", since="yesterday")
    assert caught.value.code == "E_SINCE"


# --- Queries --------------------------------------------------------------------------------


@pytest.fixture
def residents(national):
    from jukinet.national.seed import Person, resident_rows

    people = {
        "hanako": Person(
            juminhyo_code=generate_juminhyo_code(rng),
            my_number=generate_my_number(rng),
            name="渡邊　花子",
            name_kana="ワタナベ　ハナコ",
            birth_date=dt.date(1980, 4, 1),
            sex="2",
            address="東京都千代田区本町１丁目２番３号",
            prefecture_code="13",
            change_reason="転入",
            changed_on=dt.date(2020, 4, 1),
        ),
        "taro": Person(
            juminhyo_code=generate_juminhyo_code(rng),
            my_number=generate_my_number(rng),
            name="佐藤　太郎",
            name_kana="サトウ　タロウ",
            birth_date=dt.date(1975, 1, 15),
            sex="1",
            address="大阪府大阪市北区中央２丁目１番１号",
            prefecture_code="27",
            change_reason="出生",
            changed_on=dt.date(1975, 1, 15),
        ),
    }
    rows = resident_rows(people["hanako"], fuhyo=True) + resident_rows(people["taro"], fuhyo=False)
    NationalResident.objects.bulk_create(rows)
    return people


def test_a_query_by_code_answers_the_record_without_the_number_unless_asked(national, residents):
    hanako = residents["hanako"]
    answer = national_client.query("honnin", {"by": "juminhyo_code", "juminhyo_code": hanako.juminhyo_code})
    assert answer == {
        "results": [
            {
                "juminhyo_code": hanako.juminhyo_code,
                "name": "渡邊　花子",
                "name_kana": "ワタナベ　ハナコ",
                "birth_date": "1980-04-01",
                "sex": "2",
                "address": "東京都千代田区本町１丁目２番３号",
                "change_reason": "転入",
                "changed_on": "2020-04-01",
            }
        ],
        "truncated": False,
    }
    asked = national_client.query(
        "honnin", {"by": "juminhyo_code", "juminhyo_code": hanako.juminhyo_code, "include_my_number": True}
    )
    assert asked["results"][0]["my_number"] == hanako.my_number
    fuhyo = national_client.query("fuhyo", {"by": "juminhyo_code", "juminhyo_code": hanako.juminhyo_code})
    assert len(fuhyo["results"]) == 1 and "my_number" not in fuhyo["results"][0]
    taro = residents["taro"]
    assert national_client.query("fuhyo", {"by": "juminhyo_code", "juminhyo_code": taro.juminhyo_code}) == {
        "results": [],
        "truncated": False,
    }


def test_a_query_by_my_number_finds_the_person_through_the_index(national, residents):
    taro = residents["taro"]
    answer = national_client.query("honnin", {"by": "my_number", "my_number": taro.my_number})
    assert [r["juminhyo_code"] for r in answer["results"]] == [taro.juminhyo_code]
    other = national_client.query("honnin", {"by": "my_number", "my_number": generate_my_number(rng)})
    assert other["results"] == []


def test_a_four_info_query_in_hiragana_finds_the_katakana_record(national, residents):
    hanako = residents["hanako"]
    by_kana = {"name_kana": "わたなべ はなこ", "birth_date": "1980-04-01"}
    answer = national_client.query("honnin", {"by": "four_info", "four_info": by_kana})
    assert [r["juminhyo_code"] for r in answer["results"]] == [hanako.juminhyo_code]
    by_kanji = {"name": "渡邊花子", "sex": "2", "address": "東京都千代田区"}
    answer = national_client.query("fuhyo", {"by": "four_info", "four_info": by_kanji})
    assert [r["juminhyo_code"] for r in answer["results"]] == [hanako.juminhyo_code]
    wrong_day = {"name_kana": "ワタナベ　ハナコ", "birth_date": "1980-04-02"}
    assert national_client.query("honnin", {"by": "four_info", "four_info": wrong_day})["results"] == []


@pytest.mark.parametrize(
    ("file", "body", "status", "code"),
    [
        ("fuhyo", {"by": "my_number", "my_number": "123456789018"}, 400, "E_MY_NUMBER_NOT_ALLOWED"),
        (
            "fuhyo",
            {"by": "juminhyo_code", "juminhyo_code": "x", "include_my_number": True},
            400,
            "E_MY_NUMBER_NOT_ALLOWED",
        ),
        ("honnin", {"by": "name"}, 400, "E_QUERY_BY"),
        ("honnin", {"by": "juminhyo_code", "juminhyo_code": "12345678901"}, 400, "E_JUMINHYO_CODE_CHECK_DIGIT"),
        ("honnin", {"by": "juminhyo_code", "juminhyo_code": 12345678906}, 400, "E_JUMINHYO_CODE_TYPE"),
        ("honnin", {"by": "my_number", "my_number": "１２３"}, 400, "E_MY_NUMBER_FULLWIDTH"),
        ("honnin", {"by": "four_info", "four_info": {"birth_date": "1980-04-01"}}, 400, "E_FOUR_INFO_TOO_BROAD"),
        ("honnin", {"by": "four_info", "four_info": {"name_kana": "ハナコ"}}, 400, "E_FOUR_INFO_TOO_BROAD"),
        ("honnin", {"by": "four_info", "four_info": {"name_kana": "ハナコ", "sex": 2}}, 400, "E_FOUR_INFO"),
        ("honnin", {"by": "four_info", "four_info": "ハナコ"}, 400, "E_FOUR_INFO"),
        ("honnin", {"by": "four_info", "four_info": {"name": "花\x00子", "sex": "2"}}, 400, "E_FOUR_INFO"),
        ("honnin", {"by": "juminhyo_code", "include_my_number": "yes"}, 400, "E_INVALID"),
    ],
)
def test_bad_queries_are_refused_with_a_code(national, file, body, status, code):
    with national.client() as client:
        assert_error(client.post(f"/national/v1/{file}/queries", json=body), status, code)


# --- Which endpoints exist where ------------------------------------------------------------


def test_test_only_endpoints_do_not_exist_on_the_mtls_listener(national):
    with national.client() as client:
        assert client.post("/national/v1/_faults", json={"mode": "down"}).status_code == 404
        assert client.get("/national/v1/honnin/received").status_code == 404
    assert httpx.post(f"{national.test_url}/national/v1/honnin/notices", json={"notices": []}).status_code == 404
    assert httpx.post(f"{national.test_url}/national/v1/honnin/queries", json={"by": "x"}).status_code == 404


def _national_urls_in(mode: str, listener: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JUKINET_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="jukinet.settings_national",
        JUKINET_MODE=mode,
        JUKINET_NATIONAL_LISTENER=listener,
        DJANGO_SECRET_KEY="x" * 64,
        DJANGO_ALLOWED_HOSTS="national",
    )
    script = (
        "import django; django.setup()\n"
        "from django.urls import get_resolver\n"
        "print(sorted(str(p.pattern) for p in get_resolver().url_patterns))\n"
    )
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_test_only_endpoints_do_not_exist_in_production_mode():
    mtls = _national_urls_in("production", "mtls")
    assert mtls.returncode == 0, mtls.stderr
    assert "notices" in mtls.stdout and "_faults" not in mtls.stdout and "received" not in mtls.stdout
    testonly = _national_urls_in("production", "testonly")
    assert testonly.returncode != 0 and "production" in testonly.stderr
    development = _national_urls_in("development", "testonly")
    assert "_faults" in development.stdout and "notices" not in development.stdout


def test_the_listener_must_be_named():
    from django.core.exceptions import ImproperlyConfigured

    from jukinet.national.urls import build_urlpatterns

    with pytest.raises(ImproperlyConfigured):
        build_urlpatterns(listener="both", production=False)
    with pytest.raises(ImproperlyConfigured):
        build_urlpatterns(listener="testonly", production=True)


# --- Seeding and the PKI command ------------------------------------------------------------


@pytest.mark.django_db
def test_seed_national_makes_valid_residents_of_other_prefectures():
    call_command("seed_national", people=60, seed=3, stdout=io.StringIO())
    honnin = list(NationalResident.objects.filter(file=NationalFile.HONNIN))
    assert len(honnin) == 60
    assert all(is_valid_juminhyo_code(p.juminhyo_code) and p.prefecture_code != "11" for p in honnin)
    keyring = crypto.get_keyring()
    person = honnin[0]
    number = keyring.decrypt(person.my_number, context=f"national.resident|{person.juminhyo_code}")
    assert bytes(person.my_number_index) == keyring.index(number)
    assert 0 < NationalResident.objects.filter(file=NationalFile.FUHYO, my_number__isnull=True).count() < 60
    call_command("seed_national", people=60, seed=4, if_empty=True, stdout=io.StringIO())
    assert NationalResident.objects.filter(file=NationalFile.HONNIN).count() == 60


def test_make_dev_pki_is_idempotent_and_keeps_keys_private(tmp_path):
    directory = tmp_path / "pki"
    call_command("make_dev_pki", directory=str(directory), stdout=io.StringIO())
    names = {p.name for p in directory.iterdir()}
    assert {"ca.crt", "ca.key", "national.crt", "national.key", "prefecture-client.crt"} <= names
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in directory.glob("*.key"))
    ca = (directory / "ca.crt").read_bytes()
    (directory / "prefecture-client.crt").unlink()
    call_command("make_dev_pki", directory=str(directory), stdout=io.StringIO())
    assert (directory / "ca.crt").read_bytes() == ca and (directory / "prefecture-client.crt").exists()
    call_command("make_dev_pki", directory=str(directory), force=True, stdout=io.StringIO())
    assert (directory / "ca.crt").read_bytes() != ca
