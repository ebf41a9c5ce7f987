"""The 市町村CS endpoints of API.md §1: update notices and their status."""

from django.http import JsonResponse
from rest_framework.decorators import api_view, authentication_classes, parser_classes, permission_classes
from rest_framework.parsers import JSONParser

from jukinet.api import STATUS_TOO_LARGE, ClientTokenAuthentication, IsCSClient, body_too_large, error_response
from jukinet.models import NoticeFile
from jukinet.notice_intake import MAX_NOTICES_PER_REQUEST, notice_status, notices_receive
from jukinet.notice_rules import NOTICE_ID


def _json(data, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


@api_view(["POST"])
@authentication_classes([ClientTokenAuthentication])
@permission_classes([IsCSClient])
@parser_classes([JSONParser])
def notices_post(request, file: str):
    if file not in NoticeFile.values:
        return error_response("E_UNKNOWN_FILE", "ファイルは honnin または fuhyo です。", 404)
    if body_too_large(request):
        return error_response("E_TOO_LARGE", "要求が大きすぎます（10MBまで）。", STATUS_TOO_LARGE)
    data = request.data
    notices = data.get("notices") if isinstance(data, dict) else None
    if not isinstance(notices, list) or not notices:
        return error_response("E_NOTICE_SHAPE", "notices は1件以上の配列で指定してください。", 400, "notices")
    if len(notices) > MAX_NOTICES_PER_REQUEST:
        message = f"1回に送れる通知は{MAX_NOTICES_PER_REQUEST:,}件までです。"
        return error_response("E_TOO_MANY_NOTICES", message, STATUS_TOO_LARGE, "notices")
    result = notices_receive(file=file, client=request.user, notices=notices)
    return _json({"accepted": result.accepted, "rejected": result.rejected}, status=202)


@api_view(["GET"])
@authentication_classes([ClientTokenAuthentication])
@permission_classes([IsCSClient])
def notice_get(request, file: str, notice_id: str):
    if file not in NoticeFile.values:
        return error_response("E_UNKNOWN_FILE", "ファイルは honnin または fuhyo です。", 404)
    if not NOTICE_ID.fullmatch(notice_id):
        return error_response("E_NOTICE_ID", "通知IDの形式が正しくありません。", 400, "notice_id")
    status = notice_status(file=file, client=request.user, notice_id=notice_id)
    if status is None:
        return error_response("E_NOT_FOUND", "この通知IDの通知は受け付けていません。", 404)
    return _json(status)
