"""機構への照会 (national query) pages: one form per file, the answer under it.

GET shows the form; only a POST asks the national server, so no key (least of all a
個人番号) ever travels in a URL. Thin: the form checks the shape, jukinet.national_query
authorises, validates, asks and logs, and the page shows its message next to the field.
"""

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from audit.views_support import add_domain_error, forbidden, staff_view
from jukinet.errors import DomainError, PermissionRefused
from jukinet.fields import Sex
from jukinet.forms_national import NationalQueryForm
from jukinet.national_query import FILES, KINDS, SERVER_NAMES, NationalAnswer, ensure_may_query, national_query
from jukinet.wareki import to_wareki

TITLES = {"honnin": "機構への照会（全国サーバ）", "fuhyo": "機構への照会（附票全国サーバ）"}


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _rows(answer: NationalAnswer) -> list[dict]:
    """What the table shows; an odd value from the national side is shown as it came, never a 500."""
    rows = []
    for result in answer.results:
        birth, changed = _date(result.get("birth_date")), _date(result.get("changed_on"))
        sex = result.get("sex")
        rows.append(
            {
                **result,
                "birth_wareki": to_wareki(birth) if birth else "",
                "birth_seireki": birth.isoformat() if birth else (result.get("birth_date") or ""),
                "sex_label": Sex(sex).label if sex in Sex.values else (sex or ""),
                "changed_wareki": to_wareki(changed) if changed else (result.get("changed_on") or ""),
            }
        )
    return rows


@require_http_methods(["GET", "POST"])
@staff_view("national.query")
def query_view(request: HttpRequest, file: str) -> HttpResponse:
    if file not in FILES:
        raise Http404("照会先が見つかりません。")
    context = {"file": file, "title": TITLES[file], "server_name": SERVER_NAMES[file], "answer": None}
    status = 200
    if request.method == "GET":
        try:
            ensure_may_query(operator=request.user, file=file)
        except PermissionRefused as exc:
            return forbidden(request, exc.message)
        form = NationalQueryForm(file=file)
    else:
        form = NationalQueryForm(request.POST, file=file)
        if not form.is_valid():
            status = 400
        else:
            arguments = form.service_arguments()
            try:
                answer = national_query(operator=request.user, file=file, **arguments)
            except PermissionRefused as exc:
                return forbidden(request, exc.message)
            except DomainError as exc:
                add_domain_error(form, exc)
                status = exc.status
            else:
                context.update(answer=answer, rows=_rows(answer), kind=KINDS[arguments["by"]])
                form.focus_key(arguments["by"])
    context["form"] = form
    response = render(request, "national_query/query.html", context, status=status)
    # The page may hold what the operator typed (4情報) and what the national side answered.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
