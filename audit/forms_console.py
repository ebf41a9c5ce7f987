"""Forms of the admin console: the shape of the input only (required, lengths, dates, choices,
no control characters). Whether a login ID is free, a staff number already holds an ID or a
municipality code is valid is for audit.services to say; the views show its message next to
the field it names, so the field names here match the services' ``DomainError.field``.
"""

import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.forms import JapaneseForm
from audit.models import (
    ApplicationKind,
    ApplicationState,
    ClientKind,
    FileDuty,
    IdentityState,
    RemovalRecord,
    Role,
    SubjectKind,
)

# Invisible characters that reorder or hide text: a name must read on screen as it is stored.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
_DUTY_SEPARATORS = re.compile(r"[,、，\s]+")


def _has_forbidden(value: str, allowed: str) -> bool:
    return any(
        (unicodedata.category(ch) == "Cc" and ch not in allowed) or ch in _INVISIBLE or unicodedata.category(ch) == "Cs"
        for ch in value
    )


def single_line(value: str) -> None:
    if _has_forbidden(value, allowed=""):
        raise ValidationError("改行・タブ・制御文字は使えません。", code="control_characters")


def multi_line(value: str) -> None:
    if _has_forbidden(value, allowed="\n\r\t"):
        raise ValidationError("制御文字は使えません。", code="control_characters")


class LineField(forms.CharField):
    """One line of text (names, codes)."""

    default_validators = [single_line]


def _wide() -> forms.TextInput:
    return forms.TextInput(attrs={"class": "wide"})


class TextField(forms.CharField):
    """Several lines (reasons, findings)."""

    widget = forms.Textarea(attrs={"rows": 5})
    default_validators = [multi_line]


def _choice_errors(what: str) -> dict:
    return {"invalid_choice": f"{what}の選択が正しくありません。", "invalid_list": f"{what}の選択が正しくありません。"}


class ConsoleForm(JapaneseForm):
    """Focus goes to the first field on a fresh page and to the first wrong field after an error,
    so the whole console is usable from the keyboard."""

    autofocus = True

    def __init__(self, *args, autofocus: bool | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if (self.autofocus if autofocus is None else autofocus) and self.fields:
            self._focus(next(iter(self.fields)))

    def _focus(self, name: str) -> None:
        for field_name, field in self.fields.items():
            if field_name == name:
                field.widget.attrs["autofocus"] = True
            else:
                field.widget.attrs.pop("autofocus", None)

    def add_error(self, field, error):
        super().add_error(field, error)
        wrong = [name for name in self.fields if name in self.errors]
        if wrong:
            self._focus(wrong[0])


# --- Applications ----------------------------------------------------------------------------


class ApplicantForm(ConsoleForm):
    """What every written application (新規発効届・失効届) carries about who signed it."""

    applicant_name = LineField(label="申請者氏名", max_length=100)
    applicant_staff_number = LineField(label="申請者職員番号", max_length=32)
    applicant_department = LineField(label="申請者所属", max_length=100)
    applied_on = forms.DateField(
        label="申請書の日付",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "日付を「2026-04-01」の形式で入力してください。"},
    )
    # One line, so that Enter submits the form like everywhere else in the console.
    reason = LineField(label="申請理由", max_length=500, widget=_wide())

    def clean_applied_on(self):
        applied_on = self.cleaned_data["applied_on"]
        if applied_on > timezone.localdate():
            raise ValidationError("申請書の日付に未来の日付は指定できません。", code="future")
        return applied_on

    applicant_field_names = ("applicant_name", "applicant_staff_number", "applicant_department", "applied_on", "reason")
    particular_fields: tuple[str, ...] = ()

    def applicant(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.applicant_field_names}

    def applicant_fields(self) -> list:
        return [self[name] for name in self.applicant_field_names]

    def particular_bound_fields(self) -> list:
        return [self[name] for name in self.particular_fields]


class OperatorIssueForm(ApplicantForm):
    login_id = LineField(label="ログインID", max_length=32, help_text="半角英数字と . _ - で3〜32文字")
    staff_number = LineField(label="職員番号", max_length=32)
    full_name = LineField(label="氏名", max_length=100)
    department = LineField(label="所属", max_length=100)
    roles = forms.MultipleChoiceField(
        label="役割",
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "役割を1つ以上選んでください。", **_choice_errors("役割")},
    )
    duties = forms.MultipleChoiceField(
        label="担当ファイル",
        choices=FileDuty.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages=_choice_errors("担当ファイル"),
    )

    particular_fields = ("login_id", "staff_number", "full_name", "department", "roles", "duties")

    def particulars(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.particular_fields}


class TerminalIssueForm(ApplicantForm):
    name = LineField(label="端末名", max_length=100)
    place = LineField(label="設置場所", max_length=200)

    particular_fields = ("name", "place")

    def particulars(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.particular_fields}


class ClientIssueForm(ApplicantForm):
    kind = forms.ChoiceField(
        label="クライアント種別",
        choices=ClientKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "クライアント種別を選んでください。", **_choice_errors("クライアント種別")},
    )
    name = LineField(label="名称", max_length=100)
    municipality_code = LineField(
        label="市町村コード", max_length=6, required=False, help_text="市町村CSのとき、検査数字を含む6桁"
    )
    duty_codes = LineField(
        label="許可する事務コード",
        max_length=500,
        required=False,
        help_text="執行機関・部署のとき、カンマ区切り（例: 6-1, 6-5）",
    )

    particular_fields = ("kind", "name", "municipality_code", "duty_codes")

    def particulars(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "name": data["name"],
            "municipality_code": data["municipality_code"],
            "duty_codes": [code for code in _DUTY_SEPARATORS.split(data["duty_codes"]) if code],
        }


ISSUE_FORMS: dict[str, type[ApplicantForm]] = {
    SubjectKind.OPERATOR: OperatorIssueForm,
    SubjectKind.TERMINAL: TerminalIssueForm,
    SubjectKind.CLIENT: ClientIssueForm,
}


class RevokeForm(ApplicantForm):
    """A 失効届: the applicant's particulars and the reason; the subject comes from the URL."""


class RejectForm(ConsoleForm):
    note = LineField(label="却下の理由", max_length=500, widget=_wide())


# --- Suspension, reinstatement ---------------------------------------------------------------


class ReasonForm(ConsoleForm):
    reason = LineField(label="理由", max_length=500, widget=_wide())


# --- Grant review ----------------------------------------------------------------------------


class ReviewCreateForm(ConsoleForm):
    period = LineField(label="対象期間", max_length=40, help_text="例: 2026年度上期")


class SignOffForm(ConsoleForm):
    findings = TextField(label="確認結果", max_length=4000)


# --- List filters ----------------------------------------------------------------------------


def _optional_choice(label: str, choices) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label, required=False, choices=[("", "すべて"), *choices], error_messages=_choice_errors(label)
    )


class FilterForm(ConsoleForm):
    autofocus = False  # a list page's focus belongs to the list, not to its filter


class StateFilterForm(FilterForm):
    state = _optional_choice("状態", IdentityState.choices)


class ApplicationFilterForm(FilterForm):
    state = _optional_choice("状態", ApplicationState.choices)
    kind = _optional_choice("届出種別", ApplicationKind.choices)
    subject_kind = _optional_choice("対象種別", SubjectKind.choices)


class RemovalFilterForm(FilterForm):
    subject_kind = _optional_choice("対象種別", SubjectKind.choices)
    action = _optional_choice("処理", RemovalRecord.Action.choices)
