"""Forms of the search and record pages (both files). The checks themselves are in
jukinet/four_info.py and jukinet/record_access.py; a form only carries what was typed and
puts a service's message next to the field it names."""

from django import forms
from django.utils.html import format_html

from audit.forms import JapaneseForm
from audit.views_support import add_domain_error
from jukinet.errors import DomainError
from jukinet.four_info import ADDRESS_MAX_LENGTH, NAME_MAX_LENGTH, Conditions, build_conditions
from jukinet.purposes import REFERENCE_MAX_LENGTH, Purpose
from jukinet.record_access import REASON_MAX_LENGTH, check_purpose, check_reason
from jukinet.record_files import RecordFile

SEX_CHOICES = [("", "指定なし"), ("1", "男"), ("2", "女")]
_PERSONAL = {"autocomplete": "off", "spellcheck": "false"}


class SearchForm(JapaneseForm):
    purpose = forms.ChoiceField(
        label="検索の目的（事務）", choices=[("", "選んでください"), *Purpose.choices], required=False
    )
    reference = forms.CharField(label="受付番号等", max_length=REFERENCE_MAX_LENGTH, required=False)
    name_kana = forms.CharField(
        label="かな氏名",
        max_length=NAME_MAX_LENGTH,
        required=False,
        help_text="ひらがな・カタカナ・半角可。姓だけでも検索できます（前方一致）。",
        widget=forms.TextInput(attrs=_PERSONAL),
    )
    include_former = forms.BooleanField(label="旧氏でも検索する", required=False, initial=True)
    name = forms.CharField(
        label="漢字氏名", max_length=NAME_MAX_LENGTH, required=False, widget=forms.TextInput(attrs=_PERSONAL)
    )
    kanji_prefix = forms.BooleanField(label="漢字氏名を前方一致で検索する", required=False)
    birth_date = forms.CharField(
        label="生年月日",
        max_length=20,
        required=False,
        help_text=format_html(
            "例: {}、{}、{}。年だけ・年月だけも可。",
            *(format_html('<span class="nowrap">{}</span>', e) for e in ("昭和60年3月1日", "S60.3.1", "1985-03-01")),
        ),
        widget=forms.TextInput(attrs=_PERSONAL),
    )
    sex = forms.ChoiceField(label="性別", choices=SEX_CHOICES, required=False)
    address = forms.CharField(
        label="住所（前方一致）", max_length=ADDRESS_MAX_LENGTH, required=False, widget=forms.TextInput(attrs=_PERSONAL)
    )
    include_removed = forms.BooleanField(label="消除者を含める", required=False)

    def __init__(self, *args, record_file: RecordFile, **kwargs):
        super().__init__(*args, **kwargs)
        self.record_file = record_file
        if not record_file.has_former_name:
            del self.fields["include_former"]
        self.conditions: Conditions | None = None
        if not self.is_bound:
            self.fields["purpose"].widget.attrs["autofocus"] = True

    def focus_first_error(self) -> None:
        """Put the cursor where the operator must correct (the first name field for a broad search)."""
        names = [name for name in self.fields if name in self.errors] or ["name_kana"]
        self.fields[names[0]].widget.attrs["autofocus"] = True

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            check_purpose(data.get("purpose", ""), data.get("reference", ""))
            self.conditions = build_conditions(
                name_kana=data.get("name_kana", ""),
                name=data.get("name", ""),
                kanji_prefix=data.get("kanji_prefix", False),
                include_former=data.get("include_former", False),
                birth_date=data.get("birth_date", ""),
                sex=data.get("sex", ""),
                address=data.get("address", ""),
                include_removed=data.get("include_removed", False),
                prefecture=self.record_file.address_prefecture,
            )
        except DomainError as exc:
            self.error_code = exc.code
            add_domain_error(self, exc)
        return data


class ReasonForm(JapaneseForm):
    """A reveal or a print: the reason is required and goes into the log."""

    reason = forms.CharField(label="理由", max_length=REASON_MAX_LENGTH, required=False)
    with_history = forms.BooleanField(label="履歴も印刷する", required=False)

    def clean_reason(self):
        try:
            return check_reason(self.cleaned_data.get("reason", ""))
        except DomainError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None
