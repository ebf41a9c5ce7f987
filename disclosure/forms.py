"""Forms of the disclosure-request and provision-status pages: the shape of the input only.

Every rule (lengths, control characters, kana, 和暦 birth dates, the check digit, future dates,
which step may follow which) is disclosure/services.py's (with the desk's shared checks in
disclosure/desk_input.py); the views put a service's message next to the field it names, so the
field names here are the services' argument names. The cursor starts in the first field and goes
to the first wrong one after an error (``ConsoleForm``).
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.utils import timezone
from django.utils.html import format_html

from audit.forms_console import ConsoleForm
from disclosure.models import FILES, Channel, Decision, DisclosureState, IdDocument, Relation
from disclosure.services import DEFAULT_PRINT_REASON
from jukinet.printing import REASON_MAX_LENGTH

_PERSONAL = {"autocomplete": "off", "spellcheck": "false"}
_DATE_ERRORS = {"invalid": "日付を「2026-04-01」の形式で入力してください。"}


def _no_nul(field: forms.CharField) -> forms.CharField:
    """Django's own refusal of NUL reads 「何か文字を入力してください。」 in Japanese: say what is wrong."""
    field.validators = [v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)]
    field.validators.append(
        ProhibitNullCharactersValidator(
            message=f"{field.label}に制御文字は使えません。", code="null_characters_not_allowed"
        )
    )
    return field


def _choice_errors(what: str) -> dict:
    return {"required": f"{what}を選んでください。", "invalid_choice": f"{what}の選択が正しくありません。"}


def _text(label: str, max_length: int, *, required: bool = False, wide: bool = False, **kwargs) -> forms.CharField:
    # Lengths are the service's to judge (with its message); the form only keeps a runaway paste
    # from reaching it. strip=False: the service strips and checks what was typed.
    attrs = {**_PERSONAL, "maxlength": max_length}
    if wide:
        attrs["class"] = "wide"
    return _no_nul(
        forms.CharField(
            label=label,
            required=required,
            strip=False,
            max_length=max_length * 4,
            widget=forms.TextInput(attrs=attrs),
            error_messages={"max_length": f"{label}は{max_length}文字以内で入力してください。"},
            **kwargs,
        )
    )


def _date(label: str, *, required: bool = True) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": f"{label}を入力してください。", **_DATE_ERRORS},
    )


class _RequestForm(ConsoleForm):
    """Who asked, how, and the subject as written: shared by both kinds of request."""

    channel = forms.ChoiceField(label="受付方法", choices=Channel.choices, error_messages=_choice_errors("受付方法"))
    received_on = _date("受付日")
    relation = forms.ChoiceField(
        label="請求者と本人の関係", choices=Relation.choices, error_messages=_choice_errors("請求者と本人の関係")
    )
    requester_name = _text("請求者氏名", 120, help_text="本人からの請求では空欄で可（本人の氏名を使います）")
    agent_basis = _text("法定代理人の資格", 100, help_text="法定代理人のとき（親権者・成年後見人など）")
    id_document = forms.ChoiceField(
        label="本人確認の方法", choices=IdDocument.choices, error_messages=_choice_errors("本人確認の方法")
    )
    id_document_note = _text(
        "本人確認の記録", 200, wide=True, help_text="確認した書類の記号など（個人番号は記入しない）"
    )
    subject_name = _text("本人の氏名（漢字）", 60, help_text="請求書の記載どおり")
    subject_name_kana = _text("本人のふりがな", 60, help_text="ひらがな・カタカナ")
    subject_birth_date = _text(
        "本人の生年月日",
        20,
        help_text=format_html(
            "例: {}、{}、{}",
            *(format_html('<span class="nowrap">{}</span>', e) for e in ("昭和60年3月1日", "S60.3.1", "1985-03-01")),
        ),
    )
    subject_sex = forms.ChoiceField(
        label="本人の性別",
        choices=[("", "選んでください"), ("1", "男"), ("2", "女")],
        required=False,
        error_messages=_choice_errors("本人の性別"),
    )
    subject_address = _text("本人の住所", 255, wide=True)
    subject_juminhyo_code = _no_nul(
        forms.CharField(
            label="住民票コード（記載があれば）",
            required=False,
            strip=False,
            max_length=40,
            help_text="11桁（検査数字を含む）",
            widget=forms.TextInput(attrs={**_PERSONAL, "inputmode": "numeric", "maxlength": 11, "size": 14}),
        )
    )

    def __init__(self, *args, file: str, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("received_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.file = file

    def service_arguments(self) -> dict:
        data = dict(self.cleaned_data)
        # Across the counter the requester is usually the subject: the name is typed once.
        if data.get("relation") == Relation.SELF and not (data.get("requester_name") or "").strip():
            data["requester_name"] = data.get("subject_name", "")
        return {"file": self.file, **data}


class DisclosureRegisterForm(_RequestForm):
    include_history = forms.BooleanField(label="修正前の情報（履歴）の開示も請求する", required=False)


class ProvisionStatusRegisterForm(_RequestForm):
    period_from = _date("対象期間（から）")
    period_to = _date("対象期間（まで）")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {})
        today = timezone.localdate()
        kwargs["initial"].setdefault("period_to", today)
        kwargs["initial"].setdefault("period_from", today - dt.timedelta(days=365))
        super().__init__(*args, **kwargs)


class MatchForm(ConsoleForm):
    """The desk's settling of the 突合: one candidate, and for a difference the explicit check
    and the reason. The candidates are those the page showed (re-checked by the service); the
    page places the cursor itself (views._match)."""

    autofocus = False

    candidate = forms.ChoiceField(
        label="突合する記録",
        choices=(),
        required=False,
        widget=forms.RadioSelect,
        error_messages=_choice_errors("突合する記録"),
    )
    accept_mismatch = forms.BooleanField(
        label="一致しない項目があるが、本人確認書類等により同一人であることを確認した", required=False
    )
    match_note = _text("判断の理由", 300, wide=True, help_text="例: 転居の届出前の住所を記載。運転免許証で確認。")

    def __init__(self, *args, outcome=None, **kwargs):
        super().__init__(*args, **kwargs)
        candidates = outcome.candidates if outcome is not None else ()
        self.fields["candidate"].choices = [(c.juminhyo_code, c.juminhyo_code) for c in candidates]
        if len(candidates) == 1 and not self.is_bound:
            self.initial["candidate"] = candidates[0].juminhyo_code


class DecideForm(ConsoleForm):
    decision = forms.ChoiceField(
        label="決定", choices=Decision.choices, widget=forms.RadioSelect, error_messages=_choice_errors("決定")
    )
    decision_reason = _no_nul(
        forms.CharField(
            label="不開示の理由",
            required=False,
            strip=False,
            max_length=2000,
            help_text="不開示のとき必須。不開示決定通知書にそのまま印刷されます。",
            widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500, "class": "wide"}),
        )
    )

    def __init__(self, *args, not_found: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not_found:
            self.fields["decision"].choices = [(Decision.NON_DISCLOSE, Decision.NON_DISCLOSE.label)]
            self.initial.setdefault("decision", Decision.NON_DISCLOSE)
            self.initial.setdefault("decision_reason", "請求に係る本人確認情報が記録されていないため。")


class PrintForm(ConsoleForm):
    """The reason for a print (the print ledger requires one)."""

    autofocus = False

    reason = _no_nul(
        forms.CharField(
            label="印刷の理由",
            required=False,
            strip=False,
            max_length=REASON_MAX_LENGTH * 2,
            initial=DEFAULT_PRINT_REASON,
            widget=forms.TextInput(attrs={"maxlength": REASON_MAX_LENGTH, "autocomplete": "off"}),
        )
    )


class RequestFilterForm(ConsoleForm):
    state = forms.ChoiceField(
        label="状態",
        required=False,
        choices=[("", "未完了"), *DisclosureState.choices, ("all", "すべて")],
        error_messages=_choice_errors("状態"),
    )
    received_from = _date("受付日（から）", required=False)
    received_to = _date("受付日（まで）", required=False)
    file = forms.ChoiceField(
        label="ファイル", required=False, choices=[("", "すべて"), *FILES], error_messages=_choice_errors("ファイル")
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and start > end:
            self.add_error("received_to", "受付日（まで）は受付日（から）以降の日付にしてください。")
        return data


class StatusFilterForm(RequestFilterForm):
    state = forms.ChoiceField(
        label="状態",
        required=False,
        choices=[("", "未完了"), ("received", "受付"), ("matched", "突合済み"), ("issued", "交付済み"),
                 ("not_found", "該当なし"), ("all", "すべて")],
        error_messages=_choice_errors("状態"),
    )  # fmt: skip
