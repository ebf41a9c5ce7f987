"""Forms of the correction-request pages: the shape of the input only.

Every rule (lengths, control characters, the check digit, which items a file has, the order of
the states, which notice may be linked) is disclosure/services_corrections.py's; the views put a
service's message next to the field it names, so the field names here match the services'.
The cursor starts in the first field and goes to the first wrong one after an error
(``ConsoleForm``).
"""

from django import forms
from django.utils import timezone

from audit.forms_console import ConsoleForm
from disclosure.models import Channel, CorrectionKind, IdDocument, Relation
from disclosure.selectors_corrections import item_choices

_PERSONAL = {"autocomplete": "off", "spellcheck": "false"}
_DATE_ERRORS = {"invalid": "日付を「2026-04-01」の形式で入力してください。"}


def _choice_errors(what: str) -> dict:
    return {"required": f"{what}を選んでください。", "invalid_choice": f"{what}の選択が正しくありません。"}


def _text(label: str, max_length: int, *, required: bool = False, wide: bool = True, **kwargs) -> forms.CharField:
    # Lengths are the service's to judge (with its message); the form only keeps a runaway
    # paste from reaching it. strip=False: the service strips and checks what was typed.
    attrs = {**_PERSONAL, "maxlength": max_length}
    if wide:
        attrs["class"] = "wide"
    return forms.CharField(label=label, required=required, strip=False, widget=forms.TextInput(attrs=attrs), **kwargs)


def _date(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": f"{label}を入力してください。", **_DATE_ERRORS},
    )


class CorrectionRegisterForm(ConsoleForm):
    """A new request, for one file (the page is per file: the items differ)."""

    received_on = _date("受付日")
    channel = forms.ChoiceField(label="受付方法", choices=Channel.choices, error_messages=_choice_errors("受付方法"))
    requester_name = _text("申出者氏名", 120, wide=False)
    relation = forms.ChoiceField(
        label="申出者と本人の関係", choices=Relation.choices, error_messages=_choice_errors("申出者と本人の関係")
    )
    agent_basis = _text("法定代理人の資格", 100, wide=False, help_text="法定代理人のとき（親権者・成年後見人など）")
    id_document = forms.ChoiceField(
        label="本人確認の方法", choices=IdDocument.choices, error_messages=_choice_errors("本人確認の方法")
    )
    id_document_note = _text("本人確認の記録", 200, help_text="確認した書類の記号など（個人番号は記入しない）")
    disclosure_no = _text(
        "開示請求の受付番号（任意）", 20, wide=False, help_text="開示を受けた情報についての申出のとき"
    )
    juminhyo_code = forms.CharField(
        label="住民票コード",
        required=False,
        strip=False,
        max_length=40,
        help_text="11桁（検査数字を含む）",
        widget=forms.TextInput(attrs={**_PERSONAL, "inputmode": "numeric", "maxlength": 11, "size": 14}),
    )
    kind = forms.ChoiceField(
        label="申出の種類", choices=CorrectionKind.choices, error_messages=_choice_errors("申出の種類")
    )
    item = forms.ChoiceField(label="対象の項目", choices=(), error_messages=_choice_errors("対象の項目"))
    requested_value = _text("申出の内容（正しいとする内容）", 300, help_text="申出者が正しいとする内容")
    requester_reason = forms.CharField(
        label="申出の理由（任意）",
        required=False,
        strip=False,
        max_length=2000,
        widget=forms.Textarea(attrs={**_PERSONAL, "rows": 3, "maxlength": 500, "class": "wide"}),
    )

    def __init__(self, *args, file: str, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("received_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.file = file
        self.fields["item"].choices = [("", "選んでください"), *item_choices(file)]

    def service_arguments(self) -> dict:
        return {"file": self.file, **self.cleaned_data}


class InvestigateForm(ConsoleForm):
    """受付 → 調査中: the municipality asked (defaults to the one that keeps the record)."""

    autofocus = False  # the detail page puts the cursor on the form of the next step itself

    municipality_code = forms.CharField(
        label="照会先の市町村コード",
        required=False,
        strip=False,
        max_length=40,
        help_text="検査数字を含む6桁（既定は記録を管理する市町村）",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "maxlength": 6, "size": 8, "autocomplete": "off"}),
    )
    asked_on = _date("照会日")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("asked_on", timezone.localdate())
        super().__init__(*args, **kwargs)


class CorrectedForm(ConsoleForm):
    """調査中 → 訂正済み: the update notice that corrected the record, one of the candidates
    (applied notices of the same file and person received since the request)."""

    autofocus = False

    notice_id = forms.ChoiceField(
        label="訂正した更新通知",
        choices=(),
        widget=forms.RadioSelect,
        error_messages={
            "required": "訂正した更新通知を選んでください。",
            "invalid_choice": "選んだ更新通知は候補にありません。画面を開き直してください。",
        },
    )

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["notice_id"].choices = [(n.notice_id, n.choice_label) for n in candidates]


class NotCorrectedForm(ConsoleForm):
    """調査中 → 訂正しない: the reason, printed on the notice to the requester."""

    autofocus = False

    reason = forms.CharField(
        label="訂正しない理由",
        required=False,
        strip=False,
        max_length=2000,
        help_text="結果通知書にそのまま印刷されます。",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500, "class": "wide"}),
    )


class PrintForm(ConsoleForm):
    """The reason for printing the notice (the print ledger requires one)."""

    autofocus = False

    print_reason = forms.CharField(
        label="印刷の理由",
        required=False,
        strip=False,
        max_length=400,
        widget=forms.TextInput(attrs={"maxlength": 200, "autocomplete": "off", "class": "wide"}),
    )


class CorrectionFilterForm(ConsoleForm):
    autofocus = False

    state = forms.ChoiceField(
        label="状態",
        required=False,
        choices=[("", "未完了（受付・調査中）"), ("received", "受付"), ("investigating", "調査中"),
                 ("corrected", "訂正済み"), ("not_corrected", "訂正しない"), ("all", "すべて")],
        error_messages=_choice_errors("状態"),
    )  # fmt: skip
    file = forms.ChoiceField(
        label="ファイル",
        required=False,
        choices=[("", "すべて"), ("honnin", "本人確認情報"), ("fuhyo", "附票本人確認情報")],
        error_messages=_choice_errors("ファイル"),
    )
