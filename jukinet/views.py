from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.permissions import permitted
from audit.views_support import staff_view

# (action, label, path, file): the menu shows what the operator's roles and file duties
# permit, nothing more ("" = not tied to one file).
MENU = [
    ("record.search", "本人確認情報の検索", "/honnin/search/", "honnin"),
    ("record.search", "附票本人確認情報の検索", "/fuhyo/search/", "fuhyo"),
    ("national.query", "機構への照会（全国サーバ）", "/national-query/honnin/", "honnin"),
    ("national.query", "機構への照会（附票全国サーバ）", "/national-query/fuhyo/", "fuhyo"),
    ("print.ledger", "印刷記録（印刷物の管理）", "/prints/", ""),
    ("console.view", "管理コンソール（ID・端末・クライアント）", "/console/", ""),
    ("audit_log.view", "操作記録の閲覧", "/audit/log/", ""),
    ("removal_history.view", "権限削除記録", "/console/removals/", ""),
    ("notice.monitor", "更新通知の状況（受信・保留・エラー・送信待ち）", "/notices/", ""),
]


@require_GET
@staff_view("self.session")
def home(request: HttpRequest) -> HttpResponse:
    duties = request.user.duties or []
    menu = [
        {"label": label, "url": url}
        for action, label, url, file in MENU
        if permitted(request.user, action) and (not file or file in duties)
    ]
    return render(request, "home.html", {"menu": menu})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for the process manager and compose: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
