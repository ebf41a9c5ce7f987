import datetime as dt

from django import forms
from django.utils import timezone

from audit.forms import JapaneseForm
from audit.models import AccessLogEntry
from audit.selectors import LogFilter

_CODE = r"^[A-Za-z0-9._:@-]*$"


class LogFilterForm(JapaneseForm):
    actor = forms.RegexField(label="操作者・クライアント", regex=_CODE, max_length=40, required=False)
    terminal = forms.RegexField(label="端末", regex=_CODE, max_length=32, required=False)
    action = forms.RegexField(label="操作（前方一致）", regex=_CODE, max_length=40, required=False)
    target = forms.RegexField(label="対象（住民票コード等）", regex=_CODE, max_length=40, required=False)
    outcome = forms.ChoiceField(label="結果", required=False, choices=[("", "すべて"), *AccessLogEntry.Outcome.choices])
    since = forms.DateField(label="開始日", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="終了日", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    error_messages = {"invalid": "半角英数字と . _ : @ - だけで入力してください。"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("actor", "terminal", "action", "target"):
            self.fields[name].error_messages["invalid"] = self.error_messages["invalid"]

    def clean(self):
        data = super().clean()
        for name in ("since", "until"):
            day = data.get(name)
            if day and not 2000 <= day.year <= 2099:
                self.add_error(name, "日付は2000年から2099年の範囲で入力してください。")
                data.pop(name, None)
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "終了日は開始日以降にしてください。")
        return data

    def to_filter(self) -> LogFilter:
        data = self.cleaned_data
        tz = timezone.get_current_timezone()

        def start(day):
            return dt.datetime.combine(day, dt.time.min, tzinfo=tz) if day else None

        return LogFilter(
            actor=data.get("actor", ""),
            terminal=data.get("terminal", ""),
            action=data.get("action", ""),
            target=data.get("target", ""),
            outcome=data.get("outcome", ""),
            since=start(data.get("since")),
            until=start(data["until"] + dt.timedelta(days=1)) if data.get("until") else None,
        )
