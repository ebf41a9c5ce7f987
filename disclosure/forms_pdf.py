"""The disclosure desk's printed forms: what each says, as blocks for jukinet.pdf.

Each function returns the blocks of one form; the services print them through
``jukinet.printing.print_document`` (the print ledger, the serial and page numbers in every
footer, IPAex embedded, 外字 marked with their count — docs/printing.md), with the governor
(``jukinet.pdf.governor()``) as issuer and the form's number and title from :class:`Form`.
Nothing here writes or logs: the caller passes the rows it read.

Form numbers of the desk (one list, so that no two forms share a number):

* 様式第1号 (附票)本人確認情報開示決定通知書 — :func:`disclosure_notice_blocks`
* 様式第2号 (附票)本人確認情報不開示決定通知書 — :func:`disclosure_notice_blocks`
* 様式第3号 開示する(附票)本人確認情報 — :func:`disclosed_record_blocks`
* 様式第4号 訂正等の申出に対する結果通知書 — disclosure/services_corrections.py
* 様式第5号 (附票)本人確認情報の提供状況について — :func:`provision_status_blocks`

The shared pieces (:func:`request_header_blocks`, :func:`addressee_block`, :func:`fee_block`,
:func:`review_notice_blocks`, :func:`contact_block`, :func:`wareki`) are for the other desk
forms too. Articles of law are named generically (「住民基本台帳法の規定に基づき」): the
article numbers are to be confirmed against the law in force before they are printed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from disclosure.models import Decision, DeskRequest, DisclosureRequest, ProvisionStatusRequest, Relation
from jukinet import pdf
from jukinet.models import PrintKind
from jukinet.record_files import history_items, record_file, show_value
from jukinet.wareki import to_wareki
from provision.models import Duty, ProvisionItem, ProvisionRecord

__all__ = [
    "FORM_NUMBER_CORRECTION",
    "Form",
    "addressee_block",
    "contact_block",
    "disclosed_record_blocks",
    "disclosed_record_form",
    "disclosure_notice_blocks",
    "disclosure_notice_form",
    "fee_block",
    "file_title",
    "info_label",
    "provision_status_blocks",
    "provision_status_form",
    "request_header_blocks",
    "request_rows",
    "review_notice_blocks",
    "wareki",
]

FORM_NUMBER_DISCLOSE = "様式第1号"
FORM_NUMBER_NON_DISCLOSE = "様式第2号"
FORM_NUMBER_DISCLOSED_RECORD = "様式第3号"
FORM_NUMBER_CORRECTION = "様式第4号"  # the correction desk's result notice (services_corrections.FORM_NUMBER)
FORM_NUMBER_PROVISION_STATUS = "様式第5号"

FEE_TEXT = "手数料は無料です。"


@dataclass(frozen=True)
class Form:
    """What print_document needs besides the blocks: the ledger kind, the number, the title."""

    kind: str  # jukinet.models.PrintKind
    form_number: str
    title: str


# --- Shared pieces --------------------------------------------------------------------------


def wareki(day: dt.date | None) -> str:
    """A date as the forms print it: 「令和8年11月27日」 ("" for none)."""
    return to_wareki(day) if day else ""


def info_label(file: str) -> str:
    """「本人確認情報」 or 「附票本人確認情報」."""
    return record_file(file).label


def file_title(file: str) -> str:
    """The file's full name, as the law names it."""
    return {"honnin": "都道府県知事保存本人確認情報ファイル", "fuhyo": "都道府県知事保存附票本人確認情報ファイル"}[file]


def addressee_block(request: DeskRequest) -> pdf.Paragraph:
    """「山田　太郎　様」: the requester, to whom the form is addressed."""
    return pdf.Paragraph(f"{request.requester_name}　様")


def request_rows(request: DeskRequest, *, subject_name: str = "") -> list[tuple[str, str]]:
    """受付番号, 請求年月日, 受付方法, 請求者 (and its relation), 本人 — for any desk request."""
    rows = [
        ("受付番号", request.request_no),
        ("請求年月日", wareki(request.received_on)),
        ("受付方法", request.get_channel_display()),
    ]
    if request.relation == Relation.LEGAL_AGENT:
        rows.append(("請求者", f"{request.requester_name}（法定代理人・{request.agent_basis}）"))
        if subject_name:
            rows.append(("本人", subject_name))
    else:
        rows.append(("請求者", f"{request.requester_name}（本人）"))
    return rows


def request_header_blocks(
    request: DeskRequest, *, lead: str, subject_name: str = "", rows: Sequence[tuple[str, str]] = ()
) -> list[pdf.Block]:
    """The opening of a notice: the addressee, the lead sentence, and the request's particulars
    followed by ``rows`` in one label/value table."""
    return [
        addressee_block(request),
        pdf.Paragraph(lead),
        pdf.KeyValues([*request_rows(request, subject_name=subject_name), *rows]),
    ]


def fee_block() -> pdf.Paragraph:
    """Disclosure is free of charge (DESIGN.md §4.4): every notice says so."""
    return pdf.Paragraph(FEE_TEXT)


def review_notice_blocks(*, what: str = "この決定") -> list[pdf.Block]:
    """The notice of the right to seek review (教示), generic wording."""
    return [
        pdf.Heading("審査請求等について（教示）"),
        pdf.Paragraph(
            f"1　{what}に不服がある場合は、{what}があったことを知った日の翌日から起算して3か月以内に、"
            "行政不服審査法の規定により審査請求をすることができます。審査請求書の提出先等は、下記の問合せ先に"
            "お尋ねください。"
        ),
        pdf.Paragraph(
            f"2　{what}の取消しを求める訴えは、{what}があったことを知った日の翌日から起算して6か月以内に、"
            f"{settings.PREFECTURE_NAME}を被告として（訴訟において{settings.PREFECTURE_NAME}を代表する者は"
            f"{settings.PREFECTURE_NAME}知事となります。）提起することができます。ただし、審査請求をした場合には、"
            "その審査請求に対する裁決があったことを知った日の翌日から起算して6か月以内に提起することができます。"
        ),
    ]


def contact_block() -> pdf.KeyValues:
    """Where the resident asks about the form (the last block of every desk form)."""
    return pdf.KeyValues([("問合せ先", f"{settings.PREFECTURE_NAME}　住民基本台帳ネットワークシステム　開示窓口")])


def _my_number_text(number: str) -> str:
    return f"{number[:4]} {number[4:8]} {number[8:]}" if len(number) == 12 else number


# --- 様式第1号・第2号: the decision notice ------------------------------------------------------


def disclosure_notice_form(request: DisclosureRequest) -> Form:
    label = info_label(request.file)
    if request.decision == Decision.DISCLOSE:
        return Form(PrintKind.DISCLOSURE_NOTICE, FORM_NUMBER_DISCLOSE, f"{label}開示決定通知書")
    return Form(PrintKind.DISCLOSURE_NOTICE, FORM_NUMBER_NON_DISCLOSE, f"{label}不開示決定通知書")


def disclosure_notice_blocks(request: DisclosureRequest, record=None) -> list[pdf.Block]:
    """開示決定通知書 / 不開示決定通知書. ``record`` is the matched row (None when none was found):
    the subject is named as the record holds the name, else as the requester wrote it."""
    label = info_label(request.file)
    disclose = request.decision == Decision.DISCLOSE
    decided = wareki(request.decided_on)
    lead = (
        f"{wareki(request.received_on)}付けで請求のあった{label}の開示について、住民基本台帳法の規定に基づき、"
        f"次のとおり{'開示する' if disclose else '開示しない'}ことと決定したので通知します。"
    )
    subject = record.name if record is not None else request.subject_name
    target = f"{file_title(request.file)}に記録されている{subject}の{label}（現在の情報"
    target += "及び修正前の情報）" if request.include_history else "）"
    rows: list[tuple[str, str]] = [
        ("開示請求に係る本人", f"{subject}（{wareki(record.birth_date if record else request.subject_birth_date)}生）"),
        ("開示請求に係る情報", target),
        ("決定", "開示" if disclose else "不開示"),
        ("決定年月日", decided),
    ]
    if disclose:
        way = "郵送による書面の送付" if request.channel == "post" else "窓口における書面の交付"
        rows.append(("開示の方法", f"{way}（別紙「開示する{label}」）"))
    else:
        rows.append(("開示しない理由", request.decision_reason))
    rows.append(("手数料", "無料"))
    blocks = request_header_blocks(request, lead=lead, rows=rows)
    blocks.append(fee_block())
    if not disclose:
        blocks += review_notice_blocks()
    blocks.append(contact_block())
    return blocks


# --- 様式第3号: the disclosed information ------------------------------------------------------

# The items a resident is shown, in the order of 別添２; the municipality's operator and terminal
# ids and the internal counters are the system's bookkeeping, not information about the person.
_DISCLOSED_FIELDS = {
    "honnin": (
        "juminhyo_code", "former_juminhyo_code", "name", "name_kana", "former_surname", "former_surname_kana",
        "birth_date", "sex", "address", "municipality_code", "change_reason", "changed_on", "notified_on", "deleted",
    ),
    "fuhyo": (
        "juminhyo_code", "former_juminhyo_code", "name", "name_kana", "birth_date", "sex", "address", "last_address",
        "address_municipality_code", "managing_municipality_code", "change_reason", "changed_on", "status",
    ),
}  # fmt: skip
_OPTIONAL = {"former_juminhyo_code", "former_surname", "former_surname_kana", "last_address"}
_HISTORY_FIELDS = {
    "honnin": ("change_reason", "changed_on", "name", "name_kana", "birth_date", "sex", "address"),
    "fuhyo": ("change_reason", "changed_on", "name", "name_kana", "birth_date", "sex", "address", "last_address"),
}
# A 和暦 date of 8 characters fits its column at 9 pt; the address takes what is left of 170 mm.
_HISTORY_WIDTHS = {
    "honnin": (18, 28, 24, 26, 28, 9, 37),
    "fuhyo": (16, 27, 20, 22, 27, 7, 26, 25),
}
CHANGED_MARK = "＊"


def _value(row, name: str) -> str:
    value = getattr(row, name)
    if name == "deleted":
        return "消除" if value else "現存"
    if isinstance(value, dt.datetime):
        return wareki(timezone.localtime(value).date())
    if isinstance(value, dt.date):
        return wareki(value)
    shown = show_value(row, name)
    return shown or ("なし" if name in _OPTIONAL else "")


def _label(row, name: str) -> str:
    if name == "deleted":
        return "状態"
    return str(row._meta.get_field(name).verbose_name)


def disclosed_record_form(request: DisclosureRequest) -> Form:
    return Form(PrintKind.DISCLOSURE_RECORD, FORM_NUMBER_DISCLOSED_RECORD, f"開示する{info_label(request.file)}")


def disclosed_record_blocks(
    request: DisclosureRequest, record, history: Sequence = (), *, my_number: str | None = None
) -> list[pdf.Block]:
    """開示する本人確認情報: the current items of the record and, when asked for, the earlier versions.

    ``my_number`` (honnin only) is printed on this form alone, and only for a request decided to
    be disclosed after a 突合 that found the record; for any other request it is left out.
    """
    if request.decision != Decision.DISCLOSE or request.matched_code != record.juminhyo_code:
        raise ValueError("the disclosed information is printed only for a disclosed, matched request")
    label = info_label(request.file)
    fields = _DISCLOSED_FIELDS[request.file]
    rows = [(_label(record, name), _value(record, name)) for name in fields]
    if request.file == "honnin":
        # 個人番号 right after the 住民票コード, as in 別添２.
        rows.insert(1, ("個人番号", _my_number_text(my_number) if my_number else "記録なし"))
    blocks: list[pdf.Block] = [
        pdf.KeyValues(
            [
                ("受付番号", request.request_no),
                ("開示決定年月日", wareki(request.decided_on)),
                ("ファイル", file_title(request.file)),
            ]
        ),
        pdf.Paragraph(
            f"{wareki(timezone.localdate())}現在、{file_title(request.file)}に記録されている{label}は次のとおりです。"
        ),
        pdf.Heading(f"1　現在の{label}"),
        pdf.KeyValues(rows),
    ]
    if request.include_history:
        names = _HISTORY_FIELDS[request.file]
        blocks.append(pdf.Heading(f"2　修正前の{label}（{len(history)}件、新しい順）"))
        if history:
            versions = history_items(list(history), record, names)
            table_rows = []
            for row, items in zip(history, versions, strict=True):
                cells = []
                for name, item in zip(names, items, strict=True):
                    text = _value(row, name)
                    cells.append(f"{text}{CHANGED_MARK}" if item.changed else text)
                table_rows.append(cells)
            headers = [_label(history[0], name) for name in names]
            blocks.append(pdf.Table(headers, table_rows, col_widths_mm=_HISTORY_WIDTHS[request.file]))
            blocks.append(pdf.Paragraph(f"{CHANGED_MARK}は、その次の版（より新しい情報）で変更された項目です。"))
        else:
            blocks.append(pdf.Paragraph("保存期間内の修正前の情報はありません。"))
    blocks.append(contact_block())
    return blocks


# --- 様式第5号: the provision status ------------------------------------------------------------

_ITEM_LABELS = dict(ProvisionItem.choices)


def provision_status_form(request: ProvisionStatusRequest) -> Form:
    return Form(
        PrintKind.PROVISION_STATUS, FORM_NUMBER_PROVISION_STATUS, f"{info_label(request.file)}の提供状況について"
    )


def _recipient(record: ProvisionRecord, duty: Duty | None) -> str:
    name = record.client_name or (duty.recipient if duty else "") or record.client_id or "—"
    return f"{name}（機構経由）" if record.source == "national" else name


def provision_status_blocks(
    request: ProvisionStatusRequest,
    records: Sequence[ProvisionRecord],
    *,
    subject_name: str = "",
    duties: Mapping[str, Duty] | None = None,
) -> list[pdf.Block]:
    """The provisions and transfers of the resident's record within the period, oldest first.

    ``duties`` maps the duty codes of ``records`` to the registry (a code no longer registered
    prints as the code alone).
    """
    duties = duties or {}
    label = info_label(request.file)
    period = f"{wareki(request.period_from)}から{wareki(request.period_to)}まで"
    lead = (
        f"{wareki(request.received_on)}付けで請求のあった{label}の提供状況の開示について、"
        f"住民基本台帳法の規定に基づき、次のとおりお知らせします。"
    )
    rows = [
        ("本人", subject_name or request.subject_name),
        ("住民票コード", request.juminhyo_code),
        ("対象期間", period),
        ("提供・移転の件数", f"{len(records)}件"),
        ("手数料", "無料"),
    ]
    blocks = request_header_blocks(request, lead=lead, rows=rows)
    blocks.append(pdf.Heading(f"対象期間中の{label}の提供・移転"))
    if records:
        table_rows = []
        for record in records:
            duty = duties.get(record.duty_code)
            kind = "移転" if duty is not None and duty.is_transfer else "提供"
            duty_text = f"{record.duty_code} {duty.name}" if duty else record.duty_code
            items = "・".join(_ITEM_LABELS.get(item, item) for item in record.items_given)
            table_rows.append(
                [
                    wareki(timezone.localtime(record.occurred_at).date()),
                    kind,
                    _recipient(record, duty),
                    duty_text,
                    items,
                    "あり" if record.my_number_given else "なし",
                ]
            )
        blocks.append(
            pdf.Table(
                ["年月日", "区分", "提供・移転先", "事務", "提供・移転した項目", "個人番号の提供"],
                table_rows,
                col_widths_mm=[27, 11, 30, 47, 37, 18],
            )
        )
        blocks.append(
            pdf.Paragraph(
                f"「移転」は{settings.PREFECTURE_NAME}知事の事務のための知事部局内での利用（住民基本台帳法別表第五）、"
                "「提供」は他の執行機関等への提供です。この表には提供・移転した項目の名称を記載し、その内容は記載していません。"
            )
        )
    else:
        blocks.append(pdf.Paragraph("対象期間中に、あなたの本人確認情報を提供・移転した記録はありません。"))
    blocks.append(fee_block())
    blocks.append(contact_block())
    return blocks
