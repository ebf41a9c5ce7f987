"""The statistics form: the period, the sections and the purpose of the work (統計の作業内容).

The checks live in audit/statistics.py (``statistics_request``), each with its E_ code; the
form only carries what was typed and puts the message next to the field it names.
"""

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from audit import statistics
from audit.forms import JapaneseForm
from jukinet.errors import DomainError


class _TextField(forms.CharField):
    """A text field whose checks are all the service's (Japanese, with an E_ code): Django's own
    NUL check would answer first, in its own words."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        super().__init__(*args, **kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]


class _MonthInput(forms.TextInput):
    input_type = "month"


class StatisticsForm(JapaneseForm):
    from_month = _TextField(
        label="開始月", help_text="例: 2025-04", widget=_MonthInput(attrs={"autofocus": True, "min": "2000-01"})
    )
    to_month = _TextField(label="終了月", help_text=f"{statistics.MAX_MONTHS}か月まで", widget=_MonthInput())
    sections = forms.MultipleChoiceField(
        label="集計する項目",
        required=False,
        choices=list(statistics.SECTIONS.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages=dict.fromkeys(["invalid_choice", "invalid_list"], "集計する項目の指定が正しくありません。"),
    )
    purpose = _TextField(
        label="作業内容（統計を作成する目的）",
        help_text=(
            f"必須・{statistics.PURPOSE_MAX_LENGTH}文字以内。例: 月次報告（市町村課）。"
            "操作記録に残ります。個人の氏名等は書かないでください。"
        ),
        widget=forms.TextInput(
            attrs={"maxlength": statistics.PURPOSE_MAX_LENGTH, "autocomplete": "off", "aria-required": "true"}
        ),
    )

    def __init__(self, *args, **kwargs):
        if kwargs.get("data", args[0] if args else None) is None:
            period = statistics.default_period()
            kwargs.setdefault(
                "initial",
                {
                    "from_month": f"{period.first:%Y-%m}",
                    "to_month": f"{period.last:%Y-%m}",
                    "sections": list(statistics.SECTIONS),
                },
            )
        super().__init__(*args, **kwargs)
        self.request_value: statistics.StatisticsRequest | None = None
        max_month = statistics.default_period().last
        for name in ("from_month", "to_month"):
            self.fields[name].widget.attrs["max"] = f"{max_month:%Y-%m}"

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.request_value = statistics.statistics_request(
                from_month=data.get("from_month", ""),
                to_month=data.get("to_month", ""),
                sections=data.get("sections") or [],
                purpose=data.get("purpose", ""),
            )
        except DomainError as exc:
            self.add_service_error(exc)
        return data

    def add_service_error(self, exc: DomainError) -> None:
        field = exc.field if exc.field in self.fields else None
        self.add_error(field, forms.ValidationError(exc.message, code=exc.code))

    def focus_first_error(self) -> None:
        """Put the cursor where the operator must correct."""
        names = [name for name in self.fields if name in self.errors]
        if names:
            for field in self.fields.values():
                field.widget.attrs.pop("autofocus", None)
            self.fields[names[0]].widget.attrs["autofocus"] = True

    def error_codes(self) -> list[str]:
        """The E_ codes behind the errors shown (stable, for support and tests)."""
        codes = []
        for name, errors in self.errors.as_data().items():
            fallback = "E_STATS_SECTION" if name in ("section", "sections") else "E_STATS_INPUT"
            for error in errors:
                code = error.code if error.code and error.code.startswith("E_") else fallback
                if code not in codes:
                    codes.append(code)
        return codes


class StatisticsExportForm(StatisticsForm):
    """The same form with the section to write as CSV (the button pressed)."""

    section = forms.ChoiceField(
        label="出力する集計",
        choices=list(statistics.SECTIONS.items()),
        error_messages=dict.fromkeys(["required", "invalid_choice"], "出力する集計を選んでください。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The checkboxes choose what the page shows; an export is of its one section.
        self.fields["sections"].required = False

    def clean(self):
        data = forms.Form.clean(self)
        if self.errors:
            return data
        try:
            self.request_value = statistics.statistics_request(
                from_month=data.get("from_month", ""),
                to_month=data.get("to_month", ""),
                sections=[data["section"]],
                purpose=data.get("purpose", ""),
            )
        except DomainError as exc:
            self.add_service_error(exc)
        return data
