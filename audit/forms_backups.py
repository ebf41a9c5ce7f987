"""The form of the backup register pages: the reason for copying a sealed file off the server."""

from django import forms

from audit.backups import REASON_MAX
from audit.forms import JapaneseForm
from audit.models import StoredFileKind


class CopyForm(JapaneseForm):
    reason = forms.CharField(
        label="複製の理由",
        max_length=REASON_MAX,
        help_text=f"{REASON_MAX}文字以内。例: 週次の媒体保管（金庫）、災害対策の遠隔地保管、委託先への引渡し。",
        error_messages={
            "required": "複製の理由を入力してください。",
            "max_length": f"理由は{REASON_MAX}文字以内で入力してください。",
        },
        widget=forms.TextInput(attrs={"class": "wide", "autocomplete": "off", "autofocus": True}),
    )


class RegisterFilterForm(JapaneseForm):
    kind = forms.ChoiceField(
        label="種別",
        required=False,
        choices=[("", "すべて"), *StoredFileKind.choices],
        error_messages={"invalid_choice": "種別を一覧から選んでください。"},
        widget=forms.Select(attrs={"autofocus": True}),
    )
