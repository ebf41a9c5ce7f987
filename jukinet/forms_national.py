"""The form of 機構への照会: the shape of the input only (choices, lengths, no control characters).

Check digits, dates, kana and the "too broad" rule are jukinet.national_query's to judge; the
view shows its message next to the field it names, so the field names here match the
service's ``DomainError.field``.

The code fields allow a few more characters than the code has digits: a browser's maxlength
would silently cut a pasted「1234 5678 9012」, and the service says exactly what to change.
"""

from django import forms

from audit.forms_console import ConsoleForm, LineField
from jukinet.national_query import ADDRESS_MAX_LENGTH, KINDS, NAME_MAX_LENGTH
from jukinet.purposes import REFERENCE_MAX_LENGTH, Purpose

KEY_FIELDS = {"juminhyo_code": "juminhyo_code", "my_number": "my_number", "four_info": "name_kana"}
FOUR_INFO_FIELDS = ("name_kana", "name", "birth_date", "sex", "address")


class NoEchoTextInput(forms.TextInput):
    """A text box that is never filled from the submitted data (like PasswordInput, but the
    operator sees what they type): the 個人番号 does not come back in the page."""

    def get_context(self, name, value, attrs):
        return super().get_context(name, None, attrs)


def _personal(**attrs) -> dict:
    return {"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false", **attrs}


def _too_long(label: str, length: int) -> dict:
    return {"max_length": f"{label}は{length}文字以内で入力してください。"}


class NationalQueryForm(ConsoleForm):
    purpose = forms.ChoiceField(
        label="照会の目的（事務）",
        choices=[("", "選択してください"), *Purpose.choices],
        error_messages={
            "required": "照会の目的（事務）を選択してください。",
            "invalid_choice": "照会の目的（事務）の選択が正しくありません。",
        },
    )
    reference = LineField(
        label="受付番号・照会文書番号など",
        required=False,
        max_length=REFERENCE_MAX_LENGTH,
        help_text=f"{REFERENCE_MAX_LENGTH}文字以内。個人番号や氏名は書かないでください。",
        error_messages=_too_long("受付番号・照会文書番号", REFERENCE_MAX_LENGTH),
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 30}),
    )
    by = forms.ChoiceField(
        label="照会の方法",
        choices=list(KINDS.items()),
        initial="juminhyo_code",
        widget=forms.RadioSelect,
        error_messages={
            "required": "照会の方法を選択してください。",
            "invalid_choice": "照会の方法の選択が正しくありません。",
        },
    )
    juminhyo_code = LineField(
        label="住民票コード",
        required=False,
        max_length=20,
        help_text="11桁の半角数字",
        error_messages=_too_long("住民票コード", 20),
        widget=forms.TextInput(attrs=_personal(inputmode="numeric", size=14)),
    )
    my_number = LineField(
        label="個人番号",
        required=False,
        max_length=20,
        help_text="12桁の半角数字。照会後、この欄は消去されます。",
        error_messages=_too_long("個人番号", 20),
        widget=NoEchoTextInput(attrs=_personal(inputmode="numeric", size=16)),
    )
    name_kana = LineField(
        label="ふりがな氏名",
        required=False,
        max_length=NAME_MAX_LENGTH,
        help_text="ひらがな・カタカナ（例: さいたま たろう）",
        error_messages=_too_long("ふりがな氏名", NAME_MAX_LENGTH),
        widget=forms.TextInput(attrs=_personal(size=30)),
    )
    name = LineField(
        label="漢字氏名",
        required=False,
        max_length=NAME_MAX_LENGTH,
        error_messages=_too_long("漢字氏名", NAME_MAX_LENGTH),
        widget=forms.TextInput(attrs=_personal(size=30)),
    )
    birth_date = LineField(
        label="生年月日",
        required=False,
        max_length=20,
        help_text="「昭和60年3月1日」「S60.3.1」「1985-03-01」",
        error_messages=_too_long("生年月日", 20),
        widget=forms.TextInput(attrs=_personal(size=18)),
    )
    sex = forms.ChoiceField(
        label="性別",
        required=False,
        choices=[("", "指定しない"), ("1", "男"), ("2", "女")],
        error_messages={"invalid_choice": "性別の選択が正しくありません。"},
    )
    address = LineField(
        label="住所",
        required=False,
        max_length=ADDRESS_MAX_LENGTH,
        help_text="前方一致（例: 東京都千代田区）",
        error_messages=_too_long("住所", ADDRESS_MAX_LENGTH),
        widget=forms.TextInput(attrs=_personal(size=40)),
    )

    def __init__(self, *args, file: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.file = file
        if file != "honnin":
            # 附票全国サーバ holds no 個人番号: the option and the box do not exist.
            del self.fields["my_number"]
            self.fields["by"].choices = [(k, v) for k, v in KINDS.items() if k != "my_number"]

    def key_groups(self) -> list[dict]:
        """The three groups of key fields, in the order of the 照会の方法 choices."""
        groups = [{"by": "juminhyo_code", "legend": "住民票コードで照会", "fields": [self["juminhyo_code"]]}]
        if "my_number" in self.fields:
            groups.append({"by": "my_number", "legend": "個人番号で照会", "fields": [self["my_number"]]})
        groups.append(
            {
                "by": "four_info",
                "legend": "4情報で照会",
                "note": "氏名（ふりがなまたは漢字）と、生年月日・性別・住所のうち1つ以上を入力してください。",
                "fields": [self[name] for name in FOUR_INFO_FIELDS],
            }
        )
        return groups

    def focus_key(self, by: str) -> None:
        """After an answer, the cursor waits in the key box of the kind just used (the next query)."""
        name = KEY_FIELDS.get(by)
        if name in self.fields:
            self._focus(name)

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "by": data["by"],
            "purpose": data["purpose"],
            "reference": data.get("reference", ""),
            "juminhyo_code": data.get("juminhyo_code", ""),
            "my_number": data.get("my_number", ""),
            "four_info": {name: data.get(name, "") for name in FOUR_INFO_FIELDS},
        }
