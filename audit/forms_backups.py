"""The form of the backup register pages: the reason for copying a sealed file off the server."""

from django import forms
from django.utils import timezone

from audit.forms import JapaneseForm
from audit.models import StoredFileKind


class RegisterFilterForm(JapaneseForm):
    kind = forms.ChoiceField(
        label="種別",
        required=False,
        choices=[("", "すべて"), *StoredFileKind.choices],
        error_messages={"invalid_choice": "種別を一覧から選んでください。"},
        widget=forms.Select(attrs={"autofocus": True}),
    )


class MediaCheckForm(JapaneseForm):
    """Tick every backup found in the vault; the witness is required, the note when one is missing."""

    confirmed = forms.TypedMultipleChoiceField(
        label="保管庫で確認したバックアップ",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "記録簿にないバックアップが選ばれています。"},
    )
    witness = forms.CharField(
        label="立会者（所属・氏名）",
        max_length=100,
        widget=forms.TextInput(attrs={"class": "wide", "autocomplete": "off"}),
        error_messages={"required": "立会者を入力してください。"},
    )
    note = forms.CharField(
        label="備考・対応",
        max_length=500,
        required=False,
        help_text="見当たらない媒体があるときは必須です（状況、捜索、報告先）。",
        widget=forms.TextInput(attrs={"class": "wide", "autocomplete": "off"}),
    )

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["confirmed"].choices = [
            (r.pk, f"#{r.pk} {timezone.localtime(r.created_at):%Y-%m-%d %H:%M} {r.file_name}") for r in candidates
        ]
