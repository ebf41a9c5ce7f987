"""Forms of the duty console: the shape of the input only (lengths, choices, no control
characters). Whether a code is free, a duty active or a client a body is for
provision.services_registry to say; its ``DomainError.field`` names match these fields."""

from django import forms

from audit.forms_console import ConsoleForm, FilterForm, LineField
from provision.models import FILES, Duty, LegalTable, ProvisionItem


def _choice_errors(what: str) -> dict:
    return {"invalid_choice": f"{what}の選択が正しくありません。", "invalid_list": f"{what}の選択が正しくありません。"}


def _wide() -> forms.TextInput:
    return forms.TextInput(attrs={"class": "wide"})


class DutyForm(ConsoleForm):
    """Create (with the code) or edit (the code is fixed once registered)."""

    code = LineField(
        label="事務コード",
        max_length=Duty._meta.get_field("code").max_length,
        help_text="表と番号: 別表第五は「5-13」、別表第六は「6-1」、条例は「J-2」。登録後は変更できません。",
    )
    name = LineField(label="事務の名称", max_length=Duty._meta.get_field("name").max_length, widget=_wide())
    legal_basis = LineField(
        label="法令上の根拠",
        max_length=Duty._meta.get_field("legal_basis").max_length,
        widget=_wide(),
        help_text="例: 住民基本台帳法第30条の15第1項、別表第五第13号",
    )
    recipient = LineField(
        label="主な提供・移転先", max_length=Duty._meta.get_field("recipient").max_length, required=False
    )
    files = forms.MultipleChoiceField(
        label="対象ファイル",
        choices=FILES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "対象ファイルを1つ以上選んでください。", **_choice_errors("対象ファイル")},
    )
    items = forms.MultipleChoiceField(
        label="提供できる項目",
        choices=ProvisionItem.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="住民票コードは必ず含めます。",
        error_messages={"required": "提供できる項目を1つ以上選んでください。", **_choice_errors("提供できる項目")},
    )
    my_number_allowed = forms.BooleanField(
        label="個人番号を提供できる", required=False, help_text="番号法で認められた事務に限ります。"
    )
    active = forms.BooleanField(label="有効", required=False, help_text="無効にした事務での照会は拒否されます。")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]
            if self.autofocus and "name" in self.fields:
                self._focus("name")

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.fields}


class ClientDutiesForm(ConsoleForm):
    """The duties a client may ask for: a checkbox per active duty of the registry."""

    autofocus = False  # the first checkbox takes the focus in the template

    codes = forms.MultipleChoiceField(
        label="許可する事務",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages=_choice_errors("事務"),
    )

    def __init__(self, *args, duties: list[Duty], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["codes"].choices = [(d.code, f"{d.code} {d.name}") for d in duties]


def _optional_choice(label: str, choices) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label, required=False, choices=[("", "すべて"), *choices], error_messages=_choice_errors(label)
    )


class DutyFilterForm(FilterForm):
    table = _optional_choice("表", LegalTable.choices)
    file = _optional_choice("対象ファイル", FILES)
    active = _optional_choice("状態", [("yes", "有効"), ("no", "無効")])
