"""Forms of the log review pages: the period (GET) and the mark of one finding (POST)."""

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from audit import log_review
from audit.forms import JapaneseForm
from jukinet.errors import InvalidInput

_DATE_WIDGET = {"type": "date"}


def _japanese_nul_message(form: forms.Form) -> None:
    for field in form.fields.values():
        for validator in field.validators:
            if isinstance(validator, ProhibitNullCharactersValidator):
                validator.message = "制御文字は入力できません。"


class PeriodForm(JapaneseForm):
    since = forms.DateField(
        label="開始日", required=False, widget=forms.DateInput(attrs={**_DATE_WIDGET, "autofocus": True})
    )
    until = forms.DateField(label="終了日", required=False, widget=forms.DateInput(attrs=_DATE_WIDGET))
    unreviewed = forms.BooleanField(label="未確認のみ", required=False)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["period"] = log_review.review_period(data.get("since"), data.get("until"))
        except InvalidInput as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data

    @property
    def period(self) -> log_review.Period:
        return self.cleaned_data["period"]


class MarkForm(JapaneseForm):
    finding_key = forms.CharField(widget=forms.HiddenInput, max_length=200)
    note = forms.CharField(
        label="確認内容",
        max_length=log_review.NOTE_MAX,
        help_text=f"確認した内容と判断を{log_review.NOTE_MAX}文字以内で記入します（氏名や個人番号は書かないでください）。",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        error_messages={
            "required": "確認内容を入力してください。",
            "max_length": f"確認内容は{log_review.NOTE_MAX}文字以内で入力してください。",
        },
    )
    # The page's period (since, until, unreviewed) travels in the same POST; the view reads it
    # with PeriodForm and falls back to the default period when it is broken.

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["finding_key"].error_messages = {
            "required": "確認する指摘が指定されていません。画面を開き直してください。",
            "max_length": "確認する指摘が正しくありません。画面を開き直してください。",
        }
        _japanese_nul_message(self)
