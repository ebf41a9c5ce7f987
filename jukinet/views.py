from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.permissions import permitted
from audit.views_support import staff_view
from jukinet.api import error_response

# (action, label, path, file): the menu shows what the operator's roles and file duties
# permit, nothing more ("" = not tied to one file).
MENU = [
    ("record.search", "本人確認情報の検索", "/honnin/search/", "honnin"),
    ("record.search", "附票本人確認情報の検索", "/fuhyo/search/", "fuhyo"),
    ("disclosure.desk", "開示窓口（開示請求・提供状況の開示・訂正等の申出）", "/disclosure/", ""),
    ("national.query", "機構への照会（全国サーバ）", "/national-query/honnin/", "honnin"),
    ("national.query", "機構への照会（附票全国サーバ）", "/national-query/fuhyo/", "fuhyo"),
    ("print.ledger", "印刷記録（印刷物の管理）", "/prints/", ""),
    ("console.view", "管理コンソール（ID・端末・クライアント）", "/console/", ""),
    ("audit_log.view", "操作記録の閲覧", "/audit/log/", ""),
    ("removal_history.view", "権限削除記録", "/console/removals/", ""),
    ("notice.monitor", "更新通知の状況（受信・保留・エラー・送信待ち）", "/notices/", ""),
    ("batch.view", "一括提供（検索条件ファイルの受付・結果）", "/provision/batches/", ""),
    ("approval.view", "大量出力の事前承認（一括提供など）", "/approvals/", ""),
    ("duty.view", "事務の登録（提供・移転の法令上の根拠）", "/console/duties/", ""),
    ("inquiry.log", "問合せの記録（受付・回答）", "/disclosure/inquiries/", ""),
    ("consistency.view", "整合性確認（市町村CSとの突合）", "/consistency/", ""),
    ("statistics.produce", "統計（更新・提供・開示の月次集計）", "/statistics/", ""),
    ("log_review.view", "ログの点検（深夜の検索・大量照会など）", "/audit/review/", ""),
    ("export.view", "大量データ出力（申請・作成・複製）", "/exports/", ""),
    ("backup.register", "バックアップ記録簿（バックアップ・委託先提供ファイル）", "/backups/", ""),
    ("erasure.view", "保存期間経過による消去の記録", "/retention/", ""),
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


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """A machine client gets API.md's error shape; a person gets the Japanese page."""
    if _is_api(request):
        return error_response("E_NOT_FOUND", "対象が見つかりません。", 404)
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No template context: the failure may be in what a context processor would need.
    if _is_api(request):
        return error_response("E_INTERNAL", "サーバ内部でエラーが発生しました。時間をおいて再度お試しください。", 500)
    return HttpResponse(
        "<!doctype html><html lang=ja><meta charset=utf-8><title>エラー</title>"
        "<h1>サーバ内部でエラーが発生しました</h1><p>時間をおいて再度お試しください。</p>",
        status=500,
    )
