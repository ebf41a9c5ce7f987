"""Forms of the inquiry log: the shape of the input only (disclosure/services_inquiries.py has
the rules, and the views put its messages next to the field they name).

Dates and times are kept between 2000 and 2099 here, so that a hostile year (1 or 9999) ends as
a Japanese form error and never reaches the time-zone arithmetic.
"""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError

from audit.forms_console import ConsoleForm
from disclosure.models import FILES, InquirerKind, InquiryChannel
from disclosure.selectors_inquiries import InquiryFilter

_EARLIEST = dt.date(2000, 1, 1)
_LATEST = dt.date(2099, 12, 31)
_PERSONAL = {"autocomplete": "off", "spellcheck": "false"}


def _choice_errors(what: str) -> dict:
    return {"required": f"{what}を選んでください。", "invalid_choice": f"{what}の選択が正しくありません。"}


def _in_range(day: dt.date | None) -> None:
    if day is not None and not _EARLIEST <= day <= _LATEST:
        raise ValidationError("日付は2000年から2099年までの範囲で入力してください。", code="out_of_range")


def _date(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "日付を「2026-04-01」の形式で入力してください。"},
    )


class InquiryRegisterForm(ConsoleForm):
    channel = forms.ChoiceField(
        label="受付方法", choices=InquiryChannel.choices, error_messages=_choice_errors("受付方法")
    )
    inquirer_kind = forms.ChoiceField(
        label="問合せ者の区分", choices=InquirerKind.choices, error_messages=_choice_errors("問合せ者の区分")
    )
    inquirer_name = forms.CharField(
        label="問合せ者（任意）",
        required=False,
        strip=False,
        max_length=400,
        help_text="氏名・所属など。名乗らないときは空欄",
        widget=forms.TextInput(attrs={**_PERSONAL, "maxlength": 120}),
    )
    file = forms.ChoiceField(
        label="ファイル（任意）",
        required=False,
        choices=[("", "特定しない"), *FILES],
        error_messages=_choice_errors("ファイル"),
    )
    juminhyo_code = forms.CharField(
        label="関係する住民票コード（任意）",
        required=False,
        strip=False,
        max_length=40,
        help_text="11桁（検査数字を含む）",
        widget=forms.TextInput(attrs={**_PERSONAL, "inputmode": "numeric", "maxlength": 11, "size": 14}),
    )
    follows_no = forms.CharField(
        label="前の問合せの受付番号（任意）",
        required=False,
        strip=False,
        max_length=40,
        help_text="回答済みの問合せへの補足・再度の問合せのとき（例: 問2026-000001）",
        widget=forms.TextInput(attrs={"maxlength": 20, "autocomplete": "off", "size": 16}),
    )
    received_at = forms.DateTimeField(
        label="受付日時",
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        help_text="空欄なら今の日時",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": "受付日時を「2026-04-01 09:30」の形式で入力してください。"},
    )
    subject = forms.CharField(
        label="問合せ内容",
        required=False,
        strip=False,
        max_length=4000,
        widget=forms.Textarea(attrs={**_PERSONAL, "rows": 4, "maxlength": 1000, "class": "wide"}),
    )
    answer = forms.CharField(
        label="回答（その場で回答したとき）",
        required=False,
        strip=False,
        max_length=8000,
        help_text="回答は後から変更できません。",
        widget=forms.Textarea(attrs={**_PERSONAL, "rows": 4, "maxlength": 2000, "class": "wide"}),
    )

    def clean_received_at(self):
        value = self.cleaned_data.get("received_at")
        if value is not None:
            _in_range(value.date())
        return value


class AnswerForm(ConsoleForm):
    autofocus = True

    answer = forms.CharField(
        label="回答",
        required=False,
        strip=False,
        max_length=8000,
        help_text="回答者はあなた（ログイン中の職員）として記録されます。回答は後から変更できません。",
        widget=forms.Textarea(attrs={**_PERSONAL, "rows": 5, "maxlength": 2000, "class": "wide"}),
    )


class InquiryFilterForm(ConsoleForm):
    autofocus = False

    since = _date("受付日（開始）")
    until = _date("受付日（終了）")
    answered = forms.ChoiceField(
        label="回答",
        required=False,
        choices=[("", "すべて"), ("no", "未回答"), ("yes", "回答済み")],
        error_messages=_choice_errors("回答"),
    )
    channel = forms.ChoiceField(
        label="受付方法",
        required=False,
        choices=[("", "すべて"), *InquiryChannel.choices],
        error_messages=_choice_errors("受付方法"),
    )

    def clean_since(self):
        _in_range(self.cleaned_data.get("since"))
        return self.cleaned_data.get("since")

    def clean_until(self):
        _in_range(self.cleaned_data.get("until"))
        return self.cleaned_data.get("until")

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "終了日は開始日以降にしてください。")
        return data

    def to_filter(self) -> InquiryFilter:
        data = self.cleaned_data
        return InquiryFilter(
            since=data.get("since"),
            until=data.get("until"),
            answered=data.get("answered", ""),
            channel=data.get("channel", ""),
        )
