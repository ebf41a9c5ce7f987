"""The update-notice status pages (/notices/): inbox by municipality, held and rejected notices
with their reasons, the outbox backlog; who may see them, filters, hostile input, query
counts, and that no record item or 個人番号 ever reaches a page.
"""

import datetime as dt
import re

import pytest
from django.utils import timezone

from audit.models import AccessLogEntry
from jukinet.models import InboxNotice, InboxState, OutboxNotice, OutboxState
from jukinet.selectors_notices import municipality_names

KAWAGOE, KUMAGAYA, KAWAGUCHI, NAMEGAWA = "112011", "112020", "112038", "113417"
# Recognisable record items: neither may appear on any page.
SECRET_NAME = "秘密花子"
SECRET_NUMBER = "987654321098"
RECORD = {"name": SECRET_NAME, "my_number_hint": SECRET_NUMBER, "address": "川越市元町1-1-1"}

_seq = iter(range(1, 1_000_000))


def _inbox(
    *,
    municipality: str = KAWAGOE,
    state: str = InboxState.APPLIED,
    file: str = "honnin",
    error: tuple[str, str, str] | None = None,
    received_at: dt.datetime | None = None,
    notice_id: str | None = None,
    **fields,
) -> InboxNotice:
    n = next(_seq)
    notice = InboxNotice.objects.create(
        file=file,
        notice_id=notice_id or f"N-{n:06d}",
        receipt=f"00000000-0000-4000-8000-{n:012d}",
        client_id=f"cs-{municipality}",
        municipality_code=municipality,
        juminhyo_code=f"{n:011d}",
        update_seq=fields.pop("update_seq", 1),
        change_reason=fields.pop("change_reason", "転居"),
        changed_on=dt.date(2026, 11, 1),
        record=RECORD,
        state=state,
        error_code=error[0] if error else "",
        error_message=error[1] if error else "",
        error_field=error[2] if error else "",
        held_since=timezone.now() - dt.timedelta(minutes=5) if state == InboxState.HELD else None,
        **fields,
    )
    if received_at is not None:
        # received_at is auto_now_add: set it afterwards.
        InboxNotice.objects.filter(pk=notice.pk).update(received_at=received_at)
        notice.received_at = received_at
    return notice


SEQ_ERROR = ("E_SEQ_BACKWARDS", "更新順番号が既に反映された番号以下です（重複または逆行）。", "update_seq")
REASON_ERROR = ("E_UNKNOWN_REASON", "異動事由が定義されていません。", "change_reason")


@pytest.fixture
def notices(db):
    """Kawagoe: 3 applied, 1 held, 2 rejected; Kumagaya: 1 pending, 1 rejected; one fuhyo from
    Kawaguchi; an outbox with an old pending row, a fresh one and one acknowledged."""
    for _ in range(3):
        _inbox(municipality=KAWAGOE, state=InboxState.APPLIED)
    held = _inbox(municipality=KAWAGOE, state=InboxState.HELD, update_seq=3, notice_id="HELD-1")
    rejected = _inbox(municipality=KAWAGOE, state=InboxState.REJECTED, error=SEQ_ERROR, notice_id="REJ-1")
    _inbox(municipality=KAWAGOE, state=InboxState.REJECTED, error=REASON_ERROR, notice_id="REJ-2")
    _inbox(municipality=KUMAGAYA, state=InboxState.PENDING, notice_id="PEND-1")
    _inbox(municipality=KUMAGAYA, state=InboxState.REJECTED, error=REASON_ERROR, notice_id="REJ-3")
    _inbox(municipality=KAWAGUCHI, state=InboxState.APPLIED, file="fuhyo", notice_id="F-1")
    applied = InboxNotice.objects.filter(file="honnin", state=InboxState.APPLIED).first()

    old = OutboxNotice.objects.create(
        file="honnin",
        notice_id=applied.notice_id,
        juminhyo_code=applied.juminhyo_code,
        update_seq=1,
        payload={"record": RECORD},
        attempts=4,
        last_error="全国サーバに接続できません（タイムアウト）",
    )
    OutboxNotice.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(minutes=45))
    OutboxNotice.objects.create(
        file="honnin",
        notice_id="OUT-FRESH",
        juminhyo_code="00000000099",
        update_seq=1,
        payload={"record": RECORD},
    )
    OutboxNotice.objects.create(
        file="honnin",
        notice_id="OUT-DONE",
        juminhyo_code="00000000098",
        update_seq=1,
        payload={"record": RECORD},
        state=OutboxState.DONE,
        acked_at=timezone.now() - dt.timedelta(minutes=10),
    )
    return {"held": held, "rejected": rejected, "applied": applied, "old_outbox": old}


def _text(response) -> str:
    return response.content.decode()


def _assert_no_record(text: str) -> None:
    assert SECRET_NAME not in text
    assert SECRET_NUMBER not in text
    assert "元町" not in text


def _cell_counts(text: str, municipality_name: str) -> list[str]:
    """The numbers in the overview row of one municipality (honnin table first)."""
    row = re.search(rf"<th scope=\"row\">{municipality_name} .*?</tr>", text, re.S).group(0)
    return re.findall(r'<td class="num">(?:<a [^>]*>)?(\d+)', row)


# --- Who may see the pages -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["gyomu", "sysadmin"])
def test_business_staff_and_system_administrators_see_the_overview_with_counts_and_names(staff_client, notices, role):
    client = staff_client(role)
    response = client.get("/notices/")
    assert response.status_code == 200
    text = _text(response)
    assert "川越市" in text and "熊谷市" in text and "川口市" in text
    assert KAWAGOE in text
    # States in the order pending, held, applied, rejected, then the total.
    assert _cell_counts(text, "川越市") == ["0", "1", "3", "2", "6"]
    assert _cell_counts(text, "熊谷市") == ["1", "0", "0", "1", "2"]
    assert "本人確認情報（8件）" in text and "附票本人確認情報（1件）" in text
    assert f"?file=honnin&amp;municipality={KAWAGOE}&amp;state=rejected" in text
    _assert_no_record(text)
    assert AccessLogEntry.objects.filter(action="notice.view", actor=client.operator.login_id).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["kaiji", "teikyo", "auditor", "secadmin"])
def test_other_roles_are_refused_every_notice_page_and_the_refusal_is_logged(staff_client, notices, role):
    client = staff_client(role)
    for path in ("/notices/", "/notices/list/", "/notices/honnin/REJ-1/"):
        response = client.get(path)
        assert response.status_code == 403, path
        _assert_no_record(_text(response))
    refused = AccessLogEntry.objects.filter(actor=client.operator.login_id, outcome="refused")
    assert refused.count() == 3
    assert not AccessLogEntry.objects.filter(action="notice.view").exists()


@pytest.mark.django_db
def test_the_menu_offers_the_notice_pages_to_business_staff(staff_client):
    assert "/notices/" in _text(staff_client("gyomu").get("/"))


@pytest.mark.django_db
def test_the_menu_hides_the_notice_pages_from_the_disclosure_desk(staff_client):
    assert "/notices/" not in _text(staff_client("kaiji").get("/"))


@pytest.mark.django_db
def test_only_get_is_answered(staff_client):
    assert staff_client("gyomu").post("/notices/list/").status_code == 405


# --- The outbox backlog ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_backlog_box_shows_pending_count_oldest_age_attempts_and_last_error(staff_client, notices, settings):
    settings.OUTBOX_BACKLOG_ALERT_SECONDS = 60 * 60
    text = _text(staff_client("gyomu").get("/notices/"))
    assert "<dt>送信待ち</dt><dd>2件</dd>" in text
    assert re.search(r"<dt>最古の送信待ち</dt><dd>4[45]分前", text)
    assert "<dt>最大送信試行回数</dt><dd>4回</dd>" in text
    assert "全国サーバに接続できません（タイムアウト）" in text
    assert "<dt>直近1時間の送信済</dt><dd>1件</dd>" in text
    assert "滞留しています" not in text and "card warning" not in text


@pytest.mark.django_db
def test_the_backlog_warning_appears_when_the_oldest_pending_row_is_older_than_the_setting(
    staff_client, notices, settings
):
    settings.OUTBOX_BACKLOG_ALERT_SECONDS = 30 * 60
    text = _text(staff_client("sysadmin").get("/notices/"))
    assert 'class="card warning"' in text
    assert "送信待ちが30分を超えて滞留しています" in text


@pytest.mark.django_db
def test_an_empty_outbox_shows_no_warning(staff_client, settings):
    settings.OUTBOX_BACKLOG_ALERT_SECONDS = 1
    response = staff_client("gyomu").get("/notices/")
    assert response.status_code == 200
    text = _text(response)
    assert "card warning" not in text
    assert "受信した通知はありません。" in text


# --- The list and its filters ----------------------------------------------------------------


def _notice_ids(response) -> set[str]:
    return set(re.findall(r'<a href="/notices/[a-z]+/([^/]+)/">', _text(response)))


@pytest.mark.django_db
def test_the_list_shows_held_and_rejected_notices_newest_first_by_default(staff_client, notices):
    InboxNotice.objects.filter(notice_id="REJ-3").update(received_at=timezone.now() + dt.timedelta(minutes=1))
    response = staff_client("gyomu").get("/notices/list/")
    assert response.status_code == 200
    text = _text(response)
    assert _notice_ids(response) == {"HELD-1", "REJ-1", "REJ-2", "REJ-3"}
    assert text.index("REJ-3") < text.index("HELD-1")
    assert SEQ_ERROR[1] in text and "項目: update_seq" in text
    assert "川越市" in text and KAWAGOE in text
    assert notices["rejected"].juminhyo_code in text
    _assert_no_record(text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "held"}, {"HELD-1"}),
        ({"state": "pending"}, {"PEND-1"}),
        ({"state": "rejected", "municipality": KUMAGAYA}, {"REJ-3"}),
        ({"municipality": KAWAGOE}, {"HELD-1", "REJ-1", "REJ-2"}),
        ({"error_code": "E_UNKNOWN_REASON"}, {"REJ-2", "REJ-3"}),
        ({"error_code": "E_SEQ_BACKWARDS", "municipality": KAWAGOE}, {"REJ-1"}),
        ({"state": "all", "file": "fuhyo"}, {"F-1"}),
        ({"municipality": NAMEGAWA}, set()),
    ],
    ids=["held", "pending", "state+municipality", "municipality", "error", "error+municipality", "file", "none"],
)
def test_the_list_filters_by_state_municipality_error_code_and_file(staff_client, notices, query, expected):
    response = staff_client("gyomu").get("/notices/list/", query)
    assert response.status_code == 200
    assert _notice_ids(response) == expected
    _assert_no_record(_text(response))


@pytest.mark.django_db
def test_the_list_filters_by_received_date(staff_client, notices):
    _inbox(
        state=InboxState.REJECTED,
        error=REASON_ERROR,
        notice_id="OLD-1",
        received_at=timezone.now() - dt.timedelta(days=40),
    )
    client = staff_client("gyomu")
    old_day = timezone.localdate() - dt.timedelta(days=40)
    response = client.get("/notices/list/", {"since": old_day.isoformat(), "until": old_day.isoformat()})
    assert _notice_ids(response) == {"OLD-1"}
    response = client.get("/notices/list/", {"since": (old_day + dt.timedelta(days=1)).isoformat()})
    assert "OLD-1" not in _notice_ids(response) and "REJ-1" in _notice_ids(response)


@pytest.mark.django_db
def test_the_list_is_paged_by_100_and_keeps_the_filter_in_the_pager(staff_client):
    for _ in range(130):
        _inbox(state=InboxState.REJECTED, error=REASON_ERROR)
    client = staff_client("gyomu")
    first = client.get("/notices/list/", {"state": "rejected"})
    assert len(_notice_ids(first)) == 100
    assert "130件" in _text(first)
    assert "?state=rejected&amp;page=2" in _text(first)
    second = client.get("/notices/list/", {"state": "rejected", "page": "2"})
    assert len(_notice_ids(second)) == 30
    assert not _notice_ids(first) & _notice_ids(second)


@pytest.mark.django_db
def test_viewing_the_list_is_logged_with_the_filter_codes_only(staff_client, notices):
    client = staff_client("gyomu")
    client.get("/notices/list/", {"municipality": KAWAGOE, "error_code": "E_SEQ_BACKWARDS"})
    entry = AccessLogEntry.objects.filter(action="notice.view", actor=client.operator.login_id).latest("id")
    assert KAWAGOE in entry.detail and "E_SEQ_BACKWARDS" in entry.detail
    assert SECRET_NAME not in entry.detail


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"municipality": "<script>alert(1)</script>"}, "市町村コードは"),
        ({"municipality": "11201"}, "市町村コードは"),
        ({"municipality": "1" * 5000}, "市町村コードは"),
        ({"municipality": "112011\x00"}, "市町村コードは"),
        ({"error_code": "' OR 1=1 --"}, "エラーコードは"),
        ({"error_code": "E_" + "X" * 200}, "エラーコードは"),
        ({"state": "maybe"}, "状態の選択が正しくありません"),
        ({"file": "../../etc/passwd"}, "ファイルの選択が正しくありません"),
        ({"since": "2026-13-45"}, "日付を「2026-04-01」の形式"),
        ({"since": "0001-01-01"}, "2000年から2099年"),
        ({"until": "9999-12-31"}, "2000年から2099年"),
        ({"since": "2026-11-02", "until": "2026-11-01"}, "終了日は開始日以降"),
    ],
    ids=[
        "script",
        "short",
        "oversized",
        "nul",
        "sql",
        "long-code",
        "state",
        "file",
        "bad-date",
        "year-1",
        "year-9999",
        "reversed",
    ],
)
def test_hostile_filters_get_a_japanese_form_error_not_a_500(staff_client, notices, query, message):
    response = staff_client("gyomu").get("/notices/list/", query)
    assert response.status_code == 400
    text = _text(response)
    assert message in text
    assert "<script>alert(1)</script>" not in text
    assert 'class="errorlist' in text and "autofocus" in text
    assert not _notice_ids(response)


@pytest.mark.django_db
def test_a_hostile_page_number_falls_back_to_a_valid_page(staff_client, notices):
    client = staff_client("gyomu")
    for page in ("abc", "-1", "99999999999999999999", "\x00"):
        assert client.get("/notices/list/", {"page": page}).status_code == 200


# --- The detail page -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_detail_shows_the_error_reason_and_the_outbox_state_but_never_the_record(staff_client, notices):
    client = staff_client("gyomu")
    response = client.get("/notices/honnin/REJ-1/")
    assert response.status_code == 200
    text = _text(response)
    assert "E_SEQ_BACKWARDS" in text and SEQ_ERROR[1] in text and "update_seq" in text
    assert "川越市（112011）" in text and notices["rejected"].juminhyo_code in text
    assert "この通知の送信通知はありません" in text
    _assert_no_record(text)
    entry = AccessLogEntry.objects.filter(action="notice.view", actor=client.operator.login_id).latest("id")
    assert entry.target_file == "honnin" and entry.target_code == notices["rejected"].juminhyo_code
    assert "REJ-1" in entry.detail


@pytest.mark.django_db
def test_the_detail_of_an_applied_notice_shows_its_forwarding(staff_client, notices):
    applied = notices["applied"]
    text = _text(staff_client("sysadmin").get(f"/notices/honnin/{applied.notice_id}/"))
    assert "送信待ち" in text and "4回" in text and "全国サーバに接続できません（タイムアウト）" in text
    _assert_no_record(text)


@pytest.mark.django_db
def test_the_detail_of_a_held_notice_shows_since_when(staff_client, notices):
    text = _text(staff_client("gyomu").get("/notices/honnin/HELD-1/"))
    held_since = timezone.localtime(notices["held"].held_since).strftime("%Y-%m-%d %H:%M")
    assert "保留（更新順番号の欠番待ち）" in text and held_since in text
    _assert_no_record(text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/notices/honnin/NO-SUCH/",
        "/notices/fuhyo/REJ-1/",
        "/notices/unknown/REJ-1/",
        "/notices/honnin/%00bad/",
        "/notices/honnin/" + "x" * 200 + "/",
        "/notices/honnin/<script>/",
    ],
)
def test_an_unknown_or_malformed_notice_is_a_404(staff_client, notices, path):
    assert staff_client("gyomu").get(path).status_code == 404


# --- Query counts ----------------------------------------------------------------------------


@pytest.fixture
def many_notices(db):
    codes = list(municipality_names())[:20]
    rows = []
    for n in range(200):
        state = InboxState.values[n % 4]
        error = REASON_ERROR if state == InboxState.REJECTED else ("", "", "")
        rows.append(
            InboxNotice(
                file="honnin" if n % 3 else "fuhyo",
                notice_id=f"BULK-{n:04d}",
                receipt=f"10000000-0000-4000-8000-{n:012d}",
                client_id="cs",
                municipality_code=codes[n % len(codes)],
                juminhyo_code=f"{n:011d}",
                update_seq=1,
                change_reason="転居",
                record=RECORD,
                state=state,
                held_since=timezone.now() if state == InboxState.HELD else None,
                error_code=error[0],
                error_message=error[1],
                error_field=error[2],
            )
        )
    InboxNotice.objects.bulk_create(rows)
    OutboxNotice.objects.bulk_create(
        OutboxNotice(file="honnin", notice_id=f"BULK-{n:04d}", juminhyo_code=f"{n:011d}", update_seq=1, payload={})
        for n in range(0, 200, 2)
    )


@pytest.mark.django_db
def test_the_overview_runs_a_bounded_number_of_queries(staff_client, many_notices, django_assert_max_num_queries):
    client = staff_client("gyomu")
    client.get("/notices/")  # warm the session and the municipality names
    with django_assert_max_num_queries(12):
        response = client.get("/notices/")
    assert response.status_code == 200
    _assert_no_record(_text(response))


@pytest.mark.django_db
@pytest.mark.parametrize("query", [{"state": "all"}, {"state": "all", "page": "2"}, {}])
def test_the_list_runs_a_bounded_number_of_queries(staff_client, many_notices, django_assert_max_num_queries, query):
    client = staff_client("gyomu")
    client.get("/notices/list/")
    with django_assert_max_num_queries(12):
        response = client.get("/notices/list/", query)
    assert response.status_code == 200
    _assert_no_record(_text(response))
