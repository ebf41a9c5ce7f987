"""The 市町村CS endpoints of API.md §1: update notices and their status."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, parser_classes, permission_classes

from jukinet import openapi
from jukinet.api import (
    STATUS_TOO_LARGE,
    ClientTokenAuthentication,
    IsCSClient,
    body_too_large,
    error_response,
    json_response,
)
from jukinet.api_parsers import SafeJSONParser
from jukinet.models import InboxState, NoticeFile
from jukinet.notice_intake import MAX_NOTICES_PER_REQUEST, notice_status, notices_receive
from jukinet.notice_rules import NOTICE_ID

# --- The OpenAPI description (docs/openapi.md). These serializers only describe the bodies: the
# views check the notices themselves (jukinet.notice_intake), answering per notice in the 202.

_FILE = OpenApiParameter(
    "file",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=NoticeFile.values,
    description="honnin（本人確認情報）または fuhyo（附票本人確認情報）",
)
_NOTICE_ID_PARAM = OpenApiParameter(
    "notice_id", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=NOTICE_ID.pattern, description="通知ID"
)


@extend_schema_field(
    {
        "type": "object",
        "description": (
            "そのファイルの別添２の項目（docs/notice-rules.md）。異動事由ごとに必要な項目があり、"
            "都道府県で作成する項目や fuhyo の my_number は拒否されます。"
        ),
        "properties": {
            "name": {"type": "string"},
            "name_kana": {"type": "string"},
            "birth_date": {"type": "string", "format": "date"},
            "sex": {"type": "string", "enum": ["1", "2"]},
            "address": {"type": "string"},
            "municipality_code": {"type": "string", "pattern": "^[0-9]{6}$"},
            "oaza_code": {"type": "string"},
            "my_number": {"type": "string", "pattern": "^[0-9]{12}$", "description": "honnin のみ"},
        },
        "additionalProperties": True,
    }
)
class _RecordField(serializers.JSONField):
    pass


class NoticeSerializer(serializers.Serializer):
    notice_id = serializers.RegexField(NOTICE_ID.pattern, max_length=64, help_text="送信元で一意の通知ID")
    juminhyo_code = serializers.RegexField(r"^[0-9]{11}$", help_text="住民票コード（11桁、検査数字を含む）")
    update_seq = serializers.IntegerField(min_value=1, help_text="住民ごとの更新順番号")
    change_reason = serializers.CharField(help_text="異動事由の日本語名（転入、転居、死亡 など）")
    changed_on = serializers.DateField(help_text="異動年月日")
    record = _RecordField()
    operator_id = serializers.CharField(required=False, help_text="市町村CSの操作者ID")
    terminal_id = serializers.CharField(required=False, help_text="市町村CSの端末ID")


class NoticesSerializer(serializers.Serializer):
    notices = serializers.ListField(child=NoticeSerializer(), min_length=1, max_length=MAX_NOTICES_PER_REQUEST)


class NoticeAcceptedSerializer(serializers.Serializer):
    notice_id = serializers.CharField()
    receipt = serializers.CharField(help_text="受付番号")


class NoticeRejectedSerializer(serializers.Serializer):
    notice_id = serializers.CharField(allow_null=True, help_text="読み取れなかった場合は null")
    error = openapi.ErrorDetailField()


class NoticesAnswerSerializer(serializers.Serializer):
    accepted = NoticeAcceptedSerializer(many=True)
    rejected = NoticeRejectedSerializer(many=True)


class NoticeStatusSerializer(serializers.Serializer):
    notice_id = serializers.CharField()
    state = serializers.ChoiceField(choices=InboxState.choices)
    error = openapi.ErrorDetailField(allow_null=True)
    forwarded = serializers.BooleanField(help_text="全国サーバ（附票全国サーバ）が受領を確認したか")


_EXAMPLE_NOTICE = {
    "notice_id": "112011-20261126-000001",
    "juminhyo_code": "12345678903",
    "update_seq": 1,
    "change_reason": "転入",
    "changed_on": "2026-11-20",
    "record": {
        "name": "佐藤　太郎",
        "name_kana": "サトウ　タロウ",
        "birth_date": "1985-03-01",
        "sex": "1",
        "address": "埼玉県川越市元町一丁目1番1号",
        "municipality_code": "112011",
        "oaza_code": "0001001",
        "my_number": "983205673214",
    },
    "operator_id": "OP0101",
    "terminal_id": "TM112011-01",
}


@extend_schema(
    operation_id="cs_notices_post",
    summary="更新通知の送信",
    description=(
        "市町村CSが更新通知を送ります（API.md §1）。形式の誤りは通知ごとに `rejected` で即時に回答し、"
        "一括ではありません。同じ `notice_id` の再送は最初の回答を返し、何も変えません。1回に1,000件まで。"
    ),
    tags=["cs"],
    parameters=[_FILE],
    request=NoticesSerializer,
    responses={
        202: NoticesAnswerSerializer,
        413: openapi.error_response("1回に1,000件、10MBを超える（E_TOO_MANY_NOTICES、E_TOO_LARGE）。"),
        415: openapi.error_response("Content-Type が application/json でない（E_UNSUPPORTED_MEDIA_TYPE）。"),
    },
    examples=[OpenApiExample("転入の通知", value={"notices": [_EXAMPLE_NOTICE]}, request_only=True)],
)
@api_view(["POST"])
@authentication_classes([ClientTokenAuthentication])
@permission_classes([IsCSClient])
@parser_classes([SafeJSONParser])
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
    return json_response({"accepted": result.accepted, "rejected": result.rejected}, status=202)


@extend_schema(
    operation_id="cs_notice_get",
    summary="更新通知の状態",
    description="送信した通知の状態（処理待ち・保留・反映済・エラー）と全国サーバへの送信済みかを返します。",
    tags=["cs"],
    parameters=[_FILE, _NOTICE_ID_PARAM],
    responses={200: NoticeStatusSerializer},
)
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
    return json_response(status)
