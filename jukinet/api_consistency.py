"""The 市町村CS endpoints of API.md §2: the consistency check (整合性確認).

``POST /api/cs/v1/{file}/consistency`` with the full set as the body (``Content-Type: text/csv``,
UTF-8, a header row), read in chunks as it arrives and never held whole → ``202 {"check_id"}``.
``GET …/consistency/{check_id}`` → state, progress, counts. ``GET …/{check_id}/differences``
→ the differences as CSV, streamed. Authentication and refusals as the notices endpoints
(jukinet/api_cs.py); the work is in jukinet/consistency.py.
"""

from django.conf import settings
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes

from jukinet import consistency as services
from jukinet import openapi
from jukinet.api import STATUS_TOO_LARGE, ClientTokenAuthentication, IsCSClient, error_response, json_response
from jukinet.downloads import csv_attachment
from jukinet.models import ConsistencyState, NoticeFile

CSV_TYPES = {"text/csv", "application/csv"}

# --- The OpenAPI description (docs/openapi.md, docs/consistency.md) --------------------------

_FILE = OpenApiParameter(
    "file",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=NoticeFile.values,
    description="honnin（本人確認情報）または fuhyo（附票本人確認情報）",
)
_CHECK_ID = OpenApiParameter(
    "check_id", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=services.CHECK_ID.pattern, description="整合性確認ID"
)


def _columns(file: str) -> str:
    spec = services.SPECS[file]
    required = ", ".join(f"`{c.name}`" for c in spec.columns if c.required)
    optional = ", ".join(f"`{c.name}`" for c in spec.columns if not c.required)
    return f"{file}: 必須 {required}／任意 {optional}"


_CSV_EXAMPLE = (
    "juminhyo_code,name,name_kana,birth_date,sex,address,municipality_code,my_number\r\n"
    "12345678903,佐藤　太郎,サトウ　タロウ,1985-03-01,1,埼玉県川越市元町一丁目1番1号,112011,983205673214\r\n"
)
_DIFFERENCES_EXAMPLE = (
    "juminhyo_code,kind,items,counterpart_code,note\r\n"
    "12345678903,different,address;my_number,,\r\n"
    "23456789016,missing_here,,,removed_here\r\n"
    "34567890129,missing_there,,,\r\n"
)


class CheckAcceptedSerializer(serializers.Serializer):
    check_id = serializers.RegexField(services.CHECK_ID.pattern, help_text="整合性確認ID")
    # A plain string here: one component holding the state enum keeps its name free of collisions.
    state = serializers.CharField(help_text="受付直後は常に received（照合待ち）")
    row_count = serializers.IntegerField(help_text="受け付けた行数（見出し行を除く）")


class CheckCountsSerializer(serializers.Serializer):
    matched = serializers.IntegerField(help_text="一致")
    missing_here = serializers.IntegerField(help_text="都道府県のファイルにない（市町村CSだけにある）")
    missing_there = serializers.IntegerField(help_text="市町村CSの送信分にない（都道府県だけにある）")
    different = serializers.IntegerField(help_text="項目が相違する")
    code_differs = serializers.IntegerField(
        help_text="両側で片方にしかない住民票コードのうち、4情報が1対1で一致した組（住民票コードの相違の疑い）"
    )


class CheckErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class CheckStatusSerializer(serializers.Serializer):
    check_id = serializers.CharField()
    file = serializers.ChoiceField(choices=NoticeFile.choices)
    municipality_code = serializers.CharField()
    state = serializers.ChoiceField(choices=ConsistencyState.choices)
    progress = serializers.FloatField(min_value=0, max_value=1, help_text="照合の進捗（0〜1）")
    counts = CheckCountsSerializer()
    row_count = serializers.IntegerField()
    items = serializers.ListField(child=serializers.CharField(), help_text="照合した項目（見出し行の列）")
    received_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    differences_erased = serializers.BooleanField(help_text="保存期間を過ぎ、相違が消去されたか")
    error = CheckErrorSerializer(allow_null=True, help_text="失敗したときの理由")


def _unknown_file() -> JsonResponse:
    return error_response("E_UNKNOWN_FILE", "ファイルは honnin または fuhyo です。", 404)


def _not_found() -> JsonResponse:
    return error_response("E_NOT_FOUND", "この整合性確認IDの確認は受け付けていません。", 404)


def _media(request) -> tuple[str, str]:
    media, _, params = request.META.get("CONTENT_TYPE", "").partition(";")
    charset = ""
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


@extend_schema(
    operation_id="cs_consistency_post",
    summary="整合性確認の全件送信",
    description=(
        "市町村CSが、そのファイルの自市町村の全件をCSVで送ります（API.md §2、docs/consistency.md）。"
        "`Content-Type: text/csv`、文字コードは UTF-8（先頭のBOMは読み飛ばします）、"
        "1行目は見出し行、値に改行・制御文字は不可。"
        f"列: {_columns('honnin')}。{_columns('fuhyo')}（fuhyo に個人番号の列は送れません）。"
        "任意の列は送ったときだけ照合します。本文は届くそばから読み、全体をメモリに置きません。"
        "1行でも誤りがあれば全体を受け付けず（何も残りません）、エラーは行番号と列名を示します（値は示しません）。"
        "他の市町村の行が1行でもあれば 403 です。"
    ),
    tags=["cs"],
    parameters=[_FILE],
    request={"text/csv": {"type": "string", "format": "binary"}},
    responses={
        202: CheckAcceptedSerializer,
        400: openapi.error_response(
            "CSVの誤り: E_CSV_ENCODING（UTF-8でない）、E_CSV_CONTROL（NULなど）、E_CSV_HEADER"
            "（列の不足・重複・不明）、E_MY_NUMBER_NOT_ALLOWED（fuhyo の個人番号の列）、E_CSV_ROW（列数の違い・"
            "読めない行）、E_CSV_VALUE（値の誤り）、E_CSV_DUPLICATE_CODE（住民票コードの重複）、E_CSV_NO_ROWS。"
        ),
        403: openapi.error_response("他の市町村の行がある（E_WRONG_MUNICIPALITY）、市町村CSでない（E_FORBIDDEN）。"),
        411: openapi.error_response("Content-Length がない（E_LENGTH_REQUIRED）。"),
        413: openapi.error_response("CONSISTENCY_MAX_BYTES を超える（E_TOO_LARGE）。"),
        415: openapi.error_response("Content-Type が text/csv（UTF-8）でない（E_UNSUPPORTED_MEDIA_TYPE）。"),
    },
    examples=[OpenApiExample("本人確認情報の全件", value=_CSV_EXAMPLE, request_only=True, media_type="text/csv")],
)
@api_view(["POST"])
@authentication_classes([ClientTokenAuthentication])
@permission_classes([IsCSClient])
def consistency_post(request, file: str):
    if file not in NoticeFile.values:
        return _unknown_file()
    media, charset = _media(request)
    if media not in CSV_TYPES or charset not in ("", "utf-8", "utf8"):
        return error_response(
            "E_UNSUPPORTED_MEDIA_TYPE", "全件は Content-Type: text/csv（UTF-8）の本文で送ってください。", 415
        )
    declared = request.META.get("CONTENT_LENGTH", "").strip()
    if not declared.isascii() or not declared.isdigit():
        return error_response("E_LENGTH_REQUIRED", "Content-Length を指定してください。", 411)
    if int(declared) > settings.CONSISTENCY_MAX_BYTES:
        message = f"整合性確認のCSVが大きすぎます（{settings.CONSISTENCY_MAX_BYTES:,}バイトまで）。"
        return error_response("E_TOO_LARGE", message, STATUS_TOO_LARGE)
    raw = request._request  # the HttpRequest: read as a stream, never through request.body
    check = services.consistency_receive(file=file, client=request.user, read=raw.read, content_length=int(declared))
    return json_response({"check_id": check.check_id, "state": check.state, "row_count": check.row_count}, status=202)


@extend_schema(
    operation_id="cs_consistency_get",
    summary="整合性確認の状態と進捗",
    description="状態（受付済・照合中・完了・失敗）、照合の進捗（0〜1）と件数を返します。自分が送った確認だけが見えます。",
    tags=["cs"],
    parameters=[_FILE, _CHECK_ID],
    responses={200: CheckStatusSerializer},
)
@api_view(["GET"])
@authentication_classes([ClientTokenAuthentication])
@permission_classes([IsCSClient])
def consistency_get(request, file: str, check_id: str):
    if file not in NoticeFile.values:
        return _unknown_file()
    check = services.check_of_client(file=file, client=request.user, check_id=check_id)
    if check is None:
        return _not_found()
    return json_response(services.consistency_status(check))


@extend_schema(
    operation_id="cs_consistency_differences",
    summary="整合性確認の相違（CSV）",
    description=(
        "相違を1行1件のCSV（UTF-8、CRLF、見出し行あり）で返します。列: juminhyo_code, kind（missing_here: "
        "都道府県にない / missing_there: 市町村CSの送信分にない / different: 項目の相違）, items（相違する項目名、"
        "; 区切り。値は含みません。個人番号も項目名 my_number だけ）, counterpart_code（片方にしかないコードと"
        "4情報が一致する相手側のコード）, note（removed_here: 都道府県では消除済み / other_municipality_here: "
        "都道府県では他の市町村）。完了前は 409。取得は操作記録に残ります。"
    ),
    tags=["cs"],
    parameters=[_FILE, _CHECK_ID],
    responses={
        (200, "text/csv"): OpenApiResponse(response={"type": "string"}, description="相違のCSV"),
        409: openapi.error_response(
            "まだ完了していない・失敗した・保存期間を過ぎて消去された（E_CHECK_NOT_DONE、E_CHECK_FAILED、E_CHECK_ERASED）。"
        ),
    },
    examples=[
        OpenApiExample(
            "相違", value=_DIFFERENCES_EXAMPLE, response_only=True, media_type="text/csv", status_codes=["200"]
        )
    ],
)
@api_view(["GET"])
@authentication_classes([ClientTokenAuthentication])
@permission_classes([IsCSClient])
def consistency_differences(request, file: str, check_id: str):
    if file not in NoticeFile.values:
        return _unknown_file()
    check = services.check_of_client(file=file, client=request.user, check_id=check_id)
    if check is None:
        return _not_found()
    lines = services.consistency_differences_download(check=check)
    return csv_attachment(lines, f"{check.check_id}-differences.csv")
