from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.permissions import permitted
from audit.views_support import staff_view

# (action, label, path): the menu shows what the operator's roles permit, nothing more.
MENU = [
    ("console.view", "管理コンソール（ID・端末・クライアント）", "/console/"),
    ("audit_log.view", "操作記録の閲覧", "/audit/log/"),
    ("removal_history.view", "権限削除記録", "/console/removals/"),
    ("notice.monitor", "更新通知の状況（受信・保留・エラー・送信待ち）", "/notices/"),
]


@require_GET
@staff_view("self.session")
def home(request: HttpRequest) -> HttpResponse:
    menu = [{"label": label, "url": url} for action, label, url in MENU if permitted(request.user, action)]
    return render(request, "home.html", {"menu": menu})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for the process manager and compose: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
