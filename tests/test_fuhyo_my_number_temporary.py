"""The fuhyo 個人番号 path (DESIGN.md §4.3, §5; docs/provision.md): from honnin through the one
door into the sealed temporary area, handed over, redelivered within the window, and erased
on schedule with nothing left — tested with a moved clock.

Run alone: ``TOX_PARALLEL_ENV=prov .venv/bin/python -m pytest -q tests/test_fuhyo_my_number_temporary.py``
"""

import datetime as dt
import json

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone
from people import make_fuhyo, make_resident, my_number_for, next_code, number_in

from audit.models import AccessLogEntry, MachineClient
from audit.services import client_issue_direct
from fuhyo.models import MyNumberTemporary
from fuhyo.services_my_number import MAX_DELIVERIES, my_number_temporary_erase_expired
from honnin.handover import my_number_for_fuhyo
from jukinet.codes import CodeError
from jukinet.crypto import DecryptionError, get_keyring
from provision.models import Duty, ProvisionRecord

pytestmark = pytest.mark.django_db

LOOKUP = "/api/provision/v1/{}/lookup"
REDELIVER = "/api/provision/v1/{}/lookup/{}/redeliver"
NUMBER = my_number_for(801)
OTHER_NUMBER = my_number_for(802)


def abroad(number: str | None = NUMBER, **fields):
    """A 国外転出者: a 消除 honnin row keeping its 個人番号, and a current 附票 record."""
    code = next_code()
    make_resident(juminhyo_code=code, my_number=number, deleted=True, change_reason="転出", **fields)
    return make_fuhyo(juminhyo_code=code, **fields)


@pytest.fixture
def board():
    return client_issue_direct(kind="body", name="教育委員会", duty_codes=["6-1", "6-3"])


def ask(client, issued, code, *, duty="6-1", include=True):
    return client.post(
        LOOKUP.format("fuhyo"),
        data=json.dumps(
            {"duty_code": duty, "by": "juminhyo_code", "juminhyo_code": code, "include_my_number": include}
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {issued.token}",
    )


def redeliver(client, issued, provision_id, file="fuhyo"):
    return client.post(REDELIVER.format(file, provision_id), HTTP_AUTHORIZATION=f"Bearer {issued.token}")


@pytest.fixture
def clock(monkeypatch):
    """Move Django's clock: ``clock.move(seconds)`` from now on."""

    class Clock:
        offset = dt.timedelta(0)

        def move(self, seconds: float) -> None:
            self.offset += dt.timedelta(seconds=seconds)

    state = Clock()
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + state.offset)
    return state


def rows_in_table() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM fuhyo_my_number_temporary")
        return cursor.fetchone()[0]


# --- The door -----------------------------------------------------------------------------------


def test_the_door_gives_the_number_of_a_removed_honnin_row_and_nothing_else():
    record = abroad()
    assert my_number_for_fuhyo(record.juminhyo_code) == NUMBER
    assert my_number_for_fuhyo(next_code()) is None
    assert my_number_for_fuhyo(abroad(number=None).juminhyo_code) is None
    with pytest.raises(CodeError):
        my_number_for_fuhyo("12345678904")


# --- Handed over through the temporary area ---------------------------------------------------------


def test_a_fuhyo_lookup_hands_over_the_number_through_the_sealed_temporary_area(client, board, settings):
    settings.FUHYO_MY_NUMBER_WINDOW_SECONDS = 600
    record = abroad()
    response = ask(client, board, record.juminhyo_code)
    assert response.status_code == 200, response.content
    body = response.json()
    [result] = body["results"]
    assert result["my_number"] == NUMBER and "change_reason" not in result

    row = MyNumberTemporary.objects.get()
    assert (row.provision_id, row.juminhyo_code, row.deliveries) == (body["provision_id"], record.juminhyo_code, 1)
    assert row.expires_at - row.created_at == dt.timedelta(seconds=600)
    assert dt.datetime.fromisoformat(body["redelivery_until"]) == row.expires_at
    blob = bytes(row.my_number)
    assert NUMBER.encode() not in blob
    keyring = get_keyring()
    context = f"fuhyo.my_number_temporary|{row.provision_id}|{row.juminhyo_code}"
    assert keyring.decrypt(blob, context=context) == NUMBER
    # Bound to its provision and person: copied anywhere else it does not open.
    with pytest.raises(DecryptionError):
        keyring.decrypt(blob, context=f"fuhyo.my_number_temporary|P00000000000000-000000000000|{row.juminhyo_code}")
    with pytest.raises(DecryptionError):
        keyring.decrypt(blob, context=f"fuhyo.my_number_temporary|{row.provision_id}|{next_code()}")

    provision = ProvisionRecord.objects.get()
    assert (provision.outcome, provision.my_number_given, provision.source) == ("provided", True, "prefecture")


def test_the_window_follows_the_setting(client, board, settings):
    settings.FUHYO_MY_NUMBER_WINDOW_SECONDS = 90
    ask(client, board, abroad().juminhyo_code)
    row = MyNumberTemporary.objects.get()
    assert row.expires_at - row.created_at == dt.timedelta(seconds=90)


def test_without_the_my_number_nothing_is_fetched_or_kept(client, board):
    record = abroad()
    response = ask(client, board, record.juminhyo_code, include=False)
    assert "my_number" not in response.json()["results"][0]
    assert MyNumberTemporary.objects.count() == 0
    assert "redelivery_until" not in response.json()


def test_a_person_honnin_holds_no_number_for_gets_null_and_nothing_is_kept(client, board):
    record = abroad(number=None)
    response = ask(client, board, record.juminhyo_code)
    assert response.json()["results"][0]["my_number"] is None
    assert MyNumberTemporary.objects.count() == 0
    assert ProvisionRecord.objects.get().my_number_given is False
    assert redeliver(client, board, response.json()["provision_id"]).status_code == 404


def test_a_four_info_lookup_keeps_one_row_per_person_under_one_provision(client, board):
    abroad(name_kana="イノウエ　アキラ", name="井上　明", birth_date=dt.date(1977, 7, 1))
    abroad(number=OTHER_NUMBER, name_kana="イノウエ　アキコ", name="井上　明子", birth_date=dt.date(1977, 7, 1))
    response = client.post(
        LOOKUP.format("fuhyo"),
        data=json.dumps(
            {
                "duty_code": "6-1",
                "by": "four_info",
                "four_info": {"name_kana": "イノウエ", "birth_date": "1977-07-01"},
                "include_my_number": True,
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {board.token}",
    )
    assert sorted(r["my_number"] for r in response.json()["results"]) == sorted([NUMBER, OTHER_NUMBER])
    assert set(MyNumberTemporary.objects.values_list("provision_id", flat=True)) == {response.json()["provision_id"]}
    assert MyNumberTemporary.objects.count() == 2


# --- Redelivery ---------------------------------------------------------------------------------------


def test_a_redelivery_within_the_window_hands_the_number_over_again_and_counts(client, board, clock):
    record = abroad()
    first = ask(client, board, record.juminhyo_code).json()
    clock.move(django_settings.FUHYO_MY_NUMBER_WINDOW_SECONDS - 5)
    response = redeliver(client, board, first["provision_id"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["redelivery_of"] == first["provision_id"] and body["provision_id"] != first["provision_id"]
    assert body["results"] == [{"juminhyo_code": record.juminhyo_code, "my_number": NUMBER}]
    assert body["redelivery_until"] == first["redelivery_until"]
    assert response["Cache-Control"] == "no-store"
    assert MyNumberTemporary.objects.get().deliveries == 2

    again = ProvisionRecord.objects.get(provision_id=body["provision_id"])
    assert (again.by, again.outcome, again.my_number_given, again.items_given, again.target_codes) == (
        "redelivery",
        "provided",
        True,
        ["juminhyo_code"],
        [record.juminhyo_code],
    )
    [entry] = AccessLogEntry.objects.filter(action="provision.redeliver")
    assert entry.outcome == "ok" and first["provision_id"] in entry.detail
    assert entry.actor == board.client.client_id and entry.target_code == record.juminhyo_code
    assert not number_in(entry.detail, NUMBER)


def test_redeliveries_are_limited(client, board):
    first = ask(client, board, abroad().juminhyo_code).json()
    for _ in range(MAX_DELIVERIES - 1):
        assert redeliver(client, board, first["provision_id"]).status_code == 200
    response = redeliver(client, board, first["provision_id"])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "E_REDELIVERY_LIMIT"
    refused = ProvisionRecord.objects.filter(outcome="refused").get()
    assert (refused.by, refused.error_code, refused.duty_code) == ("redelivery", "E_REDELIVERY_LIMIT", "6-1")
    assert MyNumberTemporary.objects.get().deliveries == MAX_DELIVERIES


def test_after_the_window_there_is_no_redelivery_even_before_the_erasure(client, board, clock):
    first = ask(client, board, abroad().juminhyo_code).json()
    clock.move(django_settings.FUHYO_MY_NUMBER_WINDOW_SECONDS + 1)
    assert MyNumberTemporary.objects.count() == 1  # not erased yet
    response = redeliver(client, board, first["provision_id"])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "E_REDELIVERY_UNAVAILABLE"
    assert not number_in(response.content.decode(), NUMBER)
    assert ProvisionRecord.objects.filter(outcome="refused", by="redelivery").count() == 1


def test_only_the_client_that_received_it_may_have_it_again(client, board):
    first = ask(client, board, abroad().juminhyo_code).json()
    other = client_issue_direct(kind="body", name="税務局", duty_codes=["5-13", "6-1"])
    cs = client_issue_direct(kind="cs", name="川越市CS", municipality_code="112011")
    response = redeliver(client, other, first["provision_id"])
    assert (response.status_code, response.json()["error"]["code"]) == (404, "E_REDELIVERY_UNAVAILABLE")
    response = redeliver(client, cs, first["provision_id"])
    assert (response.status_code, response.json()["error"]["code"]) == (403, "E_CLIENT_NOT_PERMITTED")
    assert MyNumberTemporary.objects.get().deliveries == 1
    refused = ProvisionRecord.objects.filter(outcome="refused").order_by("id")
    assert [r.client_id for r in refused] == [other.client.client_id, cs.client.client_id]


@pytest.mark.parametrize(
    ("provision_id", "file"),
    [
        ("P20261127000000-000000000000", "fuhyo"),  # well-formed, unknown
        ("P20261127000000-ZZZZZZZZZZZZ", "fuhyo"),
        ("P1';DROP TABLE x;--", "fuhyo"),
        ("x" * 300, "fuhyo"),
        (None, "honnin"),  # the honnin file keeps no temporary area
    ],
)
def test_unknown_or_malformed_provisions_are_404(client, board, provision_id, file):
    first = ask(client, board, abroad().juminhyo_code).json()
    response = redeliver(client, board, provision_id or first["provision_id"], file=file)
    assert response.status_code == 404
    assert response.json()["error"]["code"] in ("E_REDELIVERY_UNAVAILABLE", "E_NOT_FOUND")
    assert MyNumberTemporary.objects.get().deliveries == 1


def test_an_unknown_file_and_other_methods(client, board):
    assert redeliver(client, board, "P20261127000000-000000000000", file="other").status_code == 404
    response = client.get(
        REDELIVER.format("fuhyo", "P20261127000000-000000000000"), HTTP_AUTHORIZATION=f"Bearer {board.token}"
    )
    assert response.status_code == 405


def test_no_redelivery_once_the_duty_is_withdrawn_or_loses_the_my_number(client, board):
    first = ask(client, board, abroad().juminhyo_code).json()
    Duty.objects.filter(code="6-1").update(my_number_allowed=False)
    response = redeliver(client, board, first["provision_id"])
    assert (response.status_code, response.json()["error"]["code"]) == (403, "E_MY_NUMBER_NOT_PERMITTED")
    MachineClient.objects.filter(pk=board.client.pk).update(duty_codes=["6-3"])
    response = redeliver(client, board, first["provision_id"])
    assert (response.status_code, response.json()["error"]["code"]) == (403, "E_DUTY_NOT_PERMITTED")
    assert MyNumberTemporary.objects.get().deliveries == 1


def test_a_revoked_client_gets_401_and_its_attempt_is_recorded(client, board):
    first = ask(client, board, abroad().juminhyo_code).json()
    MachineClient.objects.filter(pk=board.client.pk).update(state="revoked")
    response = redeliver(client, board, first["provision_id"])
    assert response.status_code == 401
    refused = ProvisionRecord.objects.get(outcome="refused")
    assert (refused.client_id, refused.error_code) == (board.client.client_id, "E_CLIENT_NOT_ACTIVE")
    assert AccessLogEntry.objects.filter(action="provision.redeliver", outcome="refused").exists()


# --- Erasure on schedule -------------------------------------------------------------------------------


def test_the_erasure_deletes_expired_rows_only_and_logs_how_many(client, board, clock):
    early = ask(client, board, abroad().juminhyo_code).json()
    clock.move(300)
    late = ask(client, board, abroad(number=OTHER_NUMBER).juminhyo_code).json()
    window = django_settings.FUHYO_MY_NUMBER_WINDOW_SECONDS
    early_row = MyNumberTemporary.objects.get(provision_id=early["provision_id"])

    assert my_number_temporary_erase_expired(now=early_row.expires_at - dt.timedelta(seconds=1)) == 0
    assert not AccessLogEntry.objects.filter(action="fuhyo.my_number_erase").exists()

    clock.move(window - 300)  # the early one's window has just closed
    assert my_number_temporary_erase_expired() == 1
    assert list(MyNumberTemporary.objects.values_list("provision_id", flat=True)) == [late["provision_id"]]
    [entry] = AccessLogEntry.objects.filter(action="fuhyo.my_number_erase")
    assert (entry.actor_kind, entry.outcome, entry.target_file, entry.target_code) == ("system", "ok", "fuhyo", "")
    assert "1件" in entry.detail
    for number in (NUMBER, OTHER_NUMBER):
        assert not number_in(entry.detail, number)
    assert early["provision_id"] not in entry.detail

    clock.move(300)
    assert my_number_temporary_erase_expired() == 1
    assert rows_in_table() == 0  # a plain DELETE: no soft-deleted row, no history table to hold it
    # The provision records stay: they say a number was given, never which.
    assert ProvisionRecord.objects.filter(my_number_given=True).count() == 2
    assert redeliver(client, board, late["provision_id"]).status_code == 404


def test_the_beat_task_runs_the_erasure(client, board, clock):
    from jukinet.celery import app
    from provision.tasks import fuhyo_my_number_erase

    schedule = django_settings.CELERY_BEAT_SCHEDULE["fuhyo-my-number-erase"]
    assert schedule["task"] == fuhyo_my_number_erase.name == "provision.fuhyo_my_number_erase"
    assert schedule["schedule"] <= 60
    assert fuhyo_my_number_erase.name in app.tasks
    ask(client, board, abroad().juminhyo_code)
    assert fuhyo_my_number_erase() == 0
    clock.move(django_settings.FUHYO_MY_NUMBER_WINDOW_SECONDS)
    assert fuhyo_my_number_erase() == 1
    assert rows_in_table() == 0


def test_the_temporary_area_has_no_history_and_no_soft_delete():
    fields = {f.name for f in MyNumberTemporary._meta.get_fields()}
    assert fields == {"id", "provision_id", "juminhyo_code", "my_number", "created_at", "expires_at", "deliveries"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'fuhyo_my_number%%'")
        assert [r[0] for r in cursor.fetchall()] == ["fuhyo_my_number_temporary"]
        cursor.execute(
            "SELECT count(*) FROM information_schema.triggers WHERE event_object_table = 'fuhyo_my_number_temporary'"
        )
        assert cursor.fetchone()[0] == 0
