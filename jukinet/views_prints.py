"""The print ledger (印刷記録) for system administrators and 監査担当: which paper exists.

Each row is one print: serial (as in the footer of every page), time, operator, terminal, what
was printed, how many records and pages, and the reason given. Never a name or an item of a
record. Viewing the ledger is itself logged.
"""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit import access_log
from audit.forms import JapaneseForm
from audit.views_support import staff_view
from jukinet import printing

PAGE_SIZE = 100
_EARLIEST = dt.date(2000, 1, 1)
_LATEST = dt.date(2099, 12, 31)


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "日付を「2026-04-01」の形式で入力してください。"},
    )


class LedgerFilterForm(JapaneseForm):
    since = _date_field("印刷日（開始）")
    until = _date_field("印刷日（終了）")
    actor = forms.RegexField(
        label="操作者ID",
        regex=r"^[A-Za-z0-9._-]{1,32}$",
        max_length=32,
        required=False,
        error_messages={"invalid": "操作者IDは半角英数字と . _ - で入力してください。"},
        widget=forms.TextInput(attrs={"size": 16, "autocomplete": "off"}),
    )

    def _clean_date(self, name: str) -> dt.date | None:
        day = self.cleaned_data.get(name)
        # A year 1 or 9999 would overflow the time zone arithmetic: a form error, never a 500.
        if day is not None and not _EARLIEST <= day <= _LATEST:
            raise ValidationError("日付は2000年から2099年までの範囲で入力してください。", code="out_of_range")
        return day

    def clean_since(self):
        return self._clean_date("since")

    def clean_until(self):
        return self._clean_date("until")

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "終了日は開始日以降にしてください。")
        return data

    def query(self) -> dict:
        data = self.cleaned_data
        tz = timezone.get_current_timezone()

        def start(day: dt.date | None) -> dt.datetime | None:
            return dt.datetime.combine(day, dt.time.min, tzinfo=tz) if day else None

        until = data.get("until")
        return {
            "since": start(data.get("since")),
            "until": start(until + dt.timedelta(days=1)) if until else None,
            "actor": data.get("actor") or "",
        }

    def describe(self) -> str:
        data = self.cleaned_data
        parts = [f"{name}={data[name]}" for name in ("since", "until", "actor") if data.get(name)]
        return ", ".join(parts) or "条件なし"


@require_GET
@staff_view("print.ledger")
def ledger(request: HttpRequest) -> HttpResponse:
    form = LedgerFilterForm(request.GET or None)
    page, status = None, 200
    if not request.GET or form.is_valid():
        query = form.query() if request.GET else {}
        page = Paginator(printing.print_records(**query), PAGE_SIZE).get_page(request.GET.get("page"))
        described = form.describe() if request.GET else "条件なし"
        access_log.log_event(action="print.ledger.view", detail=f"印刷記録 {described}; {page.number}ページ目")
    else:
        status = 400
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request, "prints/ledger.html", {"form": form, "page": page, "query": params.urlencode()}, status=status
    )
