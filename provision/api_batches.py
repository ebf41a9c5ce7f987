"""API.md §3 batch provision (一括提供) for executive bodies and departments.

``POST /api/provision/v1/{file}/batches?duty_code=6-1[&include_my_number=true]`` with the
conditions CSV as the body (``Content-Type: text/csv``, optionally ``; charset=Shift_JIS``),
as a 市町村CS sends its consistency set (API.md §2): the body is the file, read in chunks up to
the 50 MB limit and never parsed as a form. → ``202 {"batch_id", "state", "row_count"}``.
``GET …/batches/{batch_id}`` → state, progress, counts. ``GET …/batches/{batch_id}/result`` →
the AES-256 ZIP (``application/zip``); its password is never in any API response: the 提供担当
hands it over by another channel (docs/batch-provision.md).
"""

from django.http import HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes

from audit import access_log
from audit.models import ClientKind
from jukinet import openapi
from jukinet.api import ClientTokenAuthentication, IsClient, error_response
from provision import batch as services
from provision import batch_selectors as selectors
from provision.batch_csv import COLUMNS, MAX_BYTES, MAX_ROWS, BatchFileError, BatchFileTooLarge
from provision.models import FILES, BatchState

FILE_NAMES = {name for name, _ in FILES}
CSV_TYPES = {"text/csv", "application/csv", "text/plain"}
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}
READ_CHUNK = 1024 * 1024


class IsBodyClient(IsClient):
    """Provision is for executive bodies and departments; a 市町村CS may not ask for it."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if request.user.kind != ClientKind.BODY:
            access_log.log_refusal(action="api.forbidden", detail=f"提供先でないクライアント {request.path[:120]}")
            return False
        return True


# --- The OpenAPI description (docs/openapi.md, docs/batch-provision.md) ----------------------

_FILE = OpenApiParameter(
    "file",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=sorted(FILE_NAMES),
    description="honnin（本人確認情報）または fuhyo（附票本人確認情報）",
)
_BATCH_ID = OpenApiParameter(
    "batch_id", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=services.BATCH_ID.pattern, description="一括提供ID"
)
_DUTY_CODE = OpenApiParameter(
    "duty_code",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=True,
    description="事務コード（このクライアントに登録された事務）。例: 6-1",
)
_INCLUDE_MY_NUMBER = OpenApiParameter(
    "include_my_number",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    required=False,
    description="個人番号を含めるか（事務が個人番号の提供を認める場合のみ。fuhyo では不可）。既定は false。",
)
_CSV_EXAMPLE = (
    f"{','.join(COLUMNS)}\r\nA-0001,12345678906,,,,,,\r\nA-0002,,,サトウ　タロウ,佐藤　太郎,1985-03-01,1,川越市元町\r\n"
)


class BatchAcceptedSerializer(serializers.Serializer):
    batch_id = serializers.CharField(help_text="一括提供ID")
    state = serializers.ChoiceField(choices=BatchState.choices)
    row_count = serializers.IntegerField(help_text="検索条件の行数")


class BatchCountsSerializer(serializers.Serializer):
    provided = serializers.IntegerField(help_text="提供")
    not_found = serializers.IntegerField(help_text="該当なし")
    failed = serializers.IntegerField(help_text="エラー（行ごとの理由は結果ファイルに）")


class BatchStatusSerializer(serializers.Serializer):
    batch_id = serializers.CharField()
    file = serializers.ChoiceField(choices=FILES)
    duty_code = serializers.CharField()
    state = serializers.ChoiceField(choices=BatchState.choices)
    progress = serializers.FloatField(min_value=0, max_value=1, help_text="処理済みの割合（0〜1）")
    counts = BatchCountsSerializer()
    row_count = serializers.IntegerField()
    rows_done = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    result_sha256 = serializers.CharField(allow_null=True, help_text="結果ファイル（ZIP）のSHA-256")


def _json(data, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _unknown_file() -> JsonResponse:
    return error_response("E_UNKNOWN_FILE", "ファイルは honnin または fuhyo です。", 404)


def _read_body(request) -> bytes:
    """The raw body, at most MAX_BYTES (Django's form limits do not apply to a streamed body)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BYTES:
        raise BatchFileTooLarge()
    raw = request._request  # the HttpRequest: read it as a stream, not through request.body
    parts, total = [], 0
    while chunk := raw.read(READ_CHUNK):
        total += len(chunk)
        if total > MAX_BYTES:
            raise BatchFileTooLarge()
        parts.append(chunk)
    return b"".join(parts)


def _content_type(request) -> tuple[str, str | None]:
    header = request.META.get("CONTENT_TYPE", "")
    media, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value
    return media.strip().lower(), charset


@extend_schema(
    operation_id="provision_batches_post",
    summary="一括提供の依頼（検索条件ファイル）",
    description=(
        "検索条件のCSVを本文として送ります（`Content-Type: text/csv`、文字コードは UTF-8 または Shift_JIS、"
        "`; charset=Shift_JIS` で指定も可）。1行目は見出し行（列名: "
        f"{', '.join(COLUMNS)}）、1行に1件、各行は住民票コード・個人番号・4情報のいずれか1種類。"
        f"{MAX_ROWS:,}行・{MAX_BYTES // (1024 * 1024)}MBまで。システム管理者の事前承認の後に実行されます。"
        "読めない行はファイル全体を止めず、結果ファイルのその行にエラーとして返します（docs/batch-provision.md）。"
    ),
    tags=["provision"],
    parameters=[_FILE, _DUTY_CODE, _INCLUDE_MY_NUMBER],
    request={"text/csv": {"type": "string", "format": "binary"}},
    responses={
        202: BatchAcceptedSerializer,
        403: openapi.error_response(
            "事務が登録されていない（E_DUTY_NOT_PERMITTED）、個人番号を提供できない事務（E_MY_NUMBER_NOT_PERMITTED）、"
            "市町村CS（E_FORBIDDEN）。拒否の提供記録が残ります。"
        ),
        413: openapi.error_response("50MBまたは200,000行を超える（E_BATCH_TOO_LARGE、E_BATCH_TOO_MANY_ROWS）。"),
        415: openapi.error_response("Content-Type が text/csv でない（E_UNSUPPORTED_MEDIA_TYPE）。"),
    },
    examples=[OpenApiExample("住民票コードと4情報", value=_CSV_EXAMPLE, request_only=True, media_type="text/csv")],
)
@api_view(["POST"])
@authentication_classes([ClientTokenAuthentication])
@permission_classes([IsBodyClient])
def batches_post(request, file: str):
    if file not in FILE_NAMES:
        return _unknown_file()
    duty_code = request.query_params.get("duty_code", "").strip()
    if not duty_code:
        return error_response("E_DUTY_CODE", "duty_code（事務コード）を指定してください。", 400, "duty_code")
    flag = request.query_params.get("include_my_number", "").strip().lower()
    if flag not in _TRUE | _FALSE:
        return error_response(
            "E_INVALID", "include_my_number は true または false で指定してください。", 400, "include_my_number"
        )
    media, charset = _content_type(request)
    if media not in CSV_TYPES and not request.META.get("CONTENT_LENGTH", "").strip("0"):
        raise BatchFileError("検索条件ファイルが空です。", code="E_BATCH_EMPTY")
    if media not in CSV_TYPES:
        return error_response(
            "E_UNSUPPORTED_MEDIA_TYPE", "検索条件は Content-Type: text/csv の本文で送ってください。", 415
        )
    data = _read_body(request)
    batch = services.batch_submit(
        file=file,
        duty_code=duty_code,
        data=data,
        charset=charset,
        include_my_number=flag in _TRUE,
        client=request.user,
    )
    return _json({"batch_id": batch.batch_id, "state": batch.state, "row_count": batch.row_count}, status=202)


def _own_batch(request, file: str, batch_id: str, *, with_blobs: bool = False):
    if not services.BATCH_ID.fullmatch(batch_id):
        return None
    return selectors.batch_of_client(batch_id=batch_id, client=request.user, file=file, with_blobs=with_blobs)


@extend_schema(
    operation_id="provision_batch_get",
    summary="一括提供の状態と進捗",
    description="状態（承認待ち・承認済み・実行中・完了・却下・失敗）、進捗（0〜1）と件数を返します。",
    tags=["provision"],
    parameters=[_FILE, _BATCH_ID],
    responses={200: BatchStatusSerializer},
)
@api_view(["GET"])
@authentication_classes([ClientTokenAuthentication])
@permission_classes([IsBodyClient])
def batch_get(request, file: str, batch_id: str):
    if file not in FILE_NAMES:
        return _unknown_file()
    batch = _own_batch(request, file, batch_id)
    if batch is None:
        return error_response("E_NOT_FOUND", "この一括提供IDの依頼は受け付けていません。", 404)
    return _json(services.batch_status(batch))


@extend_schema(
    operation_id="provision_batch_result",
    summary="一括提供の結果ファイル",
    description=(
        "AES-256で暗号化したZIP（WinZip AE-2、7-Zipで開けます）を返します。中身は1行に1件の結果CSV"
        "（UTF-8 BOM付き）。パスワードはこの応答には含まれず、提供担当が別の経路で伝えます。"
        "ダウンロードのたびに出力記録が残ります。"
    ),
    tags=["provision"],
    parameters=[_FILE, _BATCH_ID],
    responses={
        (200, "application/zip"): OpenApiResponse(
            response={"type": "string", "format": "binary"}, description="暗号化ZIP（X-Content-SHA256 ヘッダ付き）"
        ),
        409: openapi.error_response(
            "まだ完了していない・却下・失敗（E_BATCH_NOT_READY、E_BATCH_REJECTED、E_BATCH_FAILED）。"
        ),
    },
)
@api_view(["GET"])
@authentication_classes([ClientTokenAuthentication])
@permission_classes([IsBodyClient])
def batch_result(request, file: str, batch_id: str):
    if file not in FILE_NAMES:
        return _unknown_file()
    batch = _own_batch(request, file, batch_id, with_blobs=True)
    if batch is None:
        return error_response("E_NOT_FOUND", "この一括提供IDの依頼は受け付けていません。", 404)
    archive = services.batch_result_output(batch=batch)
    response = HttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{batch.batch_id}-result.zip"'
    response["X-Content-SHA256"] = batch.result_sha256
    response["Cache-Control"] = "no-store"
    return response
