"""The filter of the update-notice list: the shape of the input only.

Every code is checked against a strict pattern before it reaches a query, and dates are kept
within a sane range (a year 1 or 9999 would overflow the time zone arithmetic), so hostile
input ends as a form error in Japanese, never as a 500.
"""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.forms_console import ConsoleForm
from jukinet.models import InboxState, NoticeFile
from jukinet.selectors_notices import ATTENTION_STATES, NoticeFilter

ALL_STATES = "all"
_EARLIEST = dt.date(2000, 1, 1)
_LATEST = dt.date(2099, 12, 31)


def _choice_errors(what: str) -> dict:
    return {"invalid_choice": f"{what}の選択が正しくありません。"}


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "日付を「2026-04-01」の形式で入力してください。"},
    )


class NoticeFilterForm(ConsoleForm):
    file = forms.ChoiceField(
        label="ファイル",
        required=False,
        choices=[("", "すべて"), *NoticeFile.choices],
        error_messages=_choice_errors("ファイル"),
    )
    state = forms.ChoiceField(
        label="状態",
        required=False,
        choices=[("", "保留とエラー"), *InboxState.choices, (ALL_STATES, "すべて")],
        error_messages=_choice_errors("状態"),
    )
    municipality = forms.RegexField(
        label="市町村コード",
        regex=r"^[0-9]{6}$",
        max_length=6,
        required=False,
        help_text="検査数字を含む6桁（例: 112011）",
        error_messages={"invalid": "市町村コードは検査数字を含む半角数字6桁で入力してください。"},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 8, "autocomplete": "off"}),
    )
    error_code = forms.RegexField(
        label="エラーコード",
        regex=r"^E_[A-Z0-9_]{1,38}$",
        max_length=40,
        required=False,
        help_text="例: E_SEQ_BACKWARDS",
        error_messages={"invalid": "エラーコードは「E_」で始まる半角英大文字・数字・_ で入力してください。"},
        widget=forms.TextInput(attrs={"size": 20, "autocomplete": "off"}),
    )
    since = _date_field("受付日（開始）")
    until = _date_field("受付日（終了）")

    def _clean_date(self, name: str) -> dt.date | None:
        day = self.cleaned_data.get(name)
        if day is not None and not _EARLIEST <= day <= _LATEST:
            raise ValidationError("日付は2000年から2099年までの範囲で入力してください。", code="out_of_range")
        return day

    def clean_since(self):
        return self._clean_date("since")

    def clean_until(self):
        return self._clean_date("until")

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "終了日は開始日以降にしてください。")
        return data

    def to_filter(self) -> NoticeFilter:
        data = self.cleaned_data
        tz = timezone.get_current_timezone()

        def start(day: dt.date | None) -> dt.datetime | None:
            return dt.datetime.combine(day, dt.time.min, tzinfo=tz) if day else None

        state = data.get("state") or ""
        if state == ALL_STATES:
            states = tuple(InboxState.values)
        elif state:
            states = (state,)
        else:
            states = ATTENTION_STATES
        until = data.get("until")
        return NoticeFilter(
            file=data.get("file") or "",
            municipality=data.get("municipality") or "",
            states=states,
            error_code=data.get("error_code") or "",
            since=start(data.get("since")),
            until=start(until + dt.timedelta(days=1)) if until else None,
        )
