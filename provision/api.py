"""API.md §3 for executive bodies and departments: their duties, lookups, and the redelivery
of a fuhyo 個人番号 (an addition to API.md, docs/provision.md).

Thin views: read the request → call a service → write the answer. The services check and
record everything; a DomainError they raise becomes API.md's error shape in
jukinet.api.exception_handler.

The lookup body is read here rather than by DRF's JSONParser: a lookup is small, so it has its
own byte limit, and the parser's own failures (an unknown charset, JSON nested thousands deep,
NaN) would otherwise be 500s. Whatever goes wrong reading it is passed to the service, which
records the refusal like any other.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import get_authorization_header
from rest_framework.decorators import api_view, authentication_classes, parser_classes, permission_classes
from rest_framework.parsers import JSONParser

from audit import context
from fuhyo.services_my_number import MAX_DELIVERIES
from jukinet import openapi
from jukinet.api import ClientTokenAuthentication, IsClient, error_response, json_response
from jukinet.errors import DomainError, InvalidInput
from provision import selectors, services
from provision.models import DUTY_CODE_PATTERN, FILES, Duty, Source

FILE_NAMES = {name for name, _ in FILES}
# A lookup is a few hundred bytes; 16 KiB leaves room for long 外字 names and nothing else.
MAX_LOOKUP_BYTES = 16 * 1024


class RequestTooLarge(DomainError):
    code = "E_TOO_LARGE"
    status = 413
    message = f"要求が大きすぎます（{MAX_LOOKUP_BYTES // 1024}KBまで）。"


class UnsupportedMediaType(DomainError):
    code = "E_UNSUPPORTED_MEDIA_TYPE"
    status = 415
    message = "Content-Type は application/json（charset は UTF-8）で送ってください。"


# --- Bodies (the serializers describe them for the OpenAPI schema, docs/openapi.md; the checks
# themselves are the services', with their own stable codes) ------------------------------------


class DutySerializer(serializers.ModelSerializer):
    """One duty as ``list_duties`` prints it, plus the files and items it serves."""

    class Meta:
        model = Duty
        fields = ["code", "name", "legal_basis", "my_number_allowed", "files", "items"]


class DutiesAnswerSerializer(serializers.Serializer):
    duties = DutySerializer(many=True, help_text="このクライアントに許可され、有効な事務")


class FourInfoSerializer(serializers.Serializer):
    name_kana = serializers.CharField(required=False, max_length=60, help_text="ふりがな氏名（清音化して前方一致）")
    name = serializers.CharField(required=False, max_length=60, help_text="漢字氏名（完全一致、空白の有無は問わない）")
    birth_date = serializers.DateField(required=False, help_text="生年月日 YYYY-MM-DD")
    sex = serializers.ChoiceField(choices=["1", "2"], required=False, help_text="1 男、2 女")
    address = serializers.CharField(required=False, max_length=120, help_text="住所（前方一致）")


class LookupRequestSerializer(serializers.Serializer):
    duty_code = serializers.RegexField(DUTY_CODE_PATTERN, help_text="事務コード（このクライアントに許可されたもの）")
    by = serializers.ChoiceField(choices=list(services.BY_KINDS), help_text="照会キーの種類")
    juminhyo_code = serializers.RegexField(r"^[0-9]{11}$", required=False, help_text="by=juminhyo_code のとき")
    my_number = serializers.RegexField(
        r"^[0-9]{12}$", required=False, help_text="by=my_number のとき（honnin のみ、個人番号を扱える事務のみ）"
    )
    four_info = FourInfoSerializer(
        required=False,
        help_text="by=four_info のとき。氏名に加えて生年月日（年月日）または住所（都道府県名以下3文字以上）が必要",
    )
    include_my_number = serializers.BooleanField(
        required=False, default=False, help_text="個人番号も求める（事務が個人番号を扱える場合のみ）"
    )


class LookupResultSerializer(serializers.Serializer):
    """One person: only the items the duty may be given appear."""

    juminhyo_code = serializers.CharField()
    name = serializers.CharField(required=False, allow_null=True)
    name_kana = serializers.CharField(required=False, allow_null=True)
    birth_date = serializers.CharField(required=False, allow_null=True, help_text="YYYY-MM-DD")
    sex = serializers.CharField(required=False, allow_null=True)
    address = serializers.CharField(required=False, allow_null=True)
    change_reason = serializers.CharField(required=False, allow_null=True, help_text="異動事由（消除者は消除の事由）")
    changed_on = serializers.CharField(required=False, allow_null=True, help_text="異動年月日 YYYY-MM-DD")
    my_number = serializers.CharField(
        required=False, allow_null=True, help_text="求められ、かつ事務が扱える場合のみ。提供できないときは null"
    )


class LookupAnswerSerializer(serializers.Serializer):
    provision_id = serializers.CharField(help_text="提供ID（提供記録の番号）")
    source = serializers.ChoiceField(choices=Source.choices)
    results = LookupResultSerializer(many=True)
    truncated = serializers.BooleanField(help_text="100人を超えて該当し、先頭100人だけを返した")
    redelivery_until = serializers.DateTimeField(
        required=False, help_text="附票の個人番号を再提供できる期限（一時保存したときのみ）"
    )


class RedeliveryResultSerializer(serializers.Serializer):
    juminhyo_code = serializers.CharField()
    my_number = serializers.CharField()


class RedeliveryAnswerSerializer(serializers.Serializer):
    provision_id = serializers.CharField(help_text="この再提供の提供ID")
    redelivery_of = serializers.CharField(help_text="元の提供ID")
    source = serializers.ChoiceField(choices=Source.choices)
    results = RedeliveryResultSerializer(many=True)
    redelivery_until = serializers.DateTimeField()


_FILE = OpenApiParameter(
    "file",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=sorted(FILE_NAMES),
    description="honnin（本人確認情報）または fuhyo（附票本人確認情報）",
)
_PROVISION_ID = OpenApiParameter(
    "provision_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    pattern=services.PROVISION_ID.pattern,
    description="附票の照会で返された提供ID",
)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def read_json(request) -> Any:
    """The body as JSON: application/json in UTF-8, at most MAX_LOOKUP_BYTES; DomainError else."""
    django_request = getattr(request, "_request", request)
    try:
        length = int(django_request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise InvalidInput("Content-Length が正しくありません。", code="E_CONTENT_LENGTH") from None
    if length > MAX_LOOKUP_BYTES:
        raise RequestTooLarge()
    charset = (django_request.content_params or {}).get("charset", "utf-8").lower()
    if django_request.content_type != "application/json" or charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType()
    body = django_request.body
    if len(body) > MAX_LOOKUP_BYTES:
        raise RequestTooLarge()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("本文がUTF-8として読み取れません。", code="E_ENCODING") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise InvalidInput(
            "JSONとして読み取れません（UTF-8のJSONで送ってください）。", code="E_MALFORMED_JSON"
        ) from None


class ProvisionClientAuthentication(ClientTokenAuthentication):
    """Bearer clients as everywhere; a revoked or suspended client asking for a provision still
    gets the plain 401, and its attempt also leaves a refused provision record (issue 6)."""

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            self._record_inactive_client(request)
            raise

    def _record_inactive_client(self, request) -> None:
        header = get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() != self.keyword:
            return
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            return
        client = selectors.client_not_active_by_token(token)
        kwargs = (getattr(request, "parser_context", None) or {}).get("kwargs", {})
        file = kwargs.get("file")
        if client is None or file not in FILE_NAMES:
            return
        try:
            data = read_json(request)
        except DomainError:
            data = None
        action = services.ACTION_REDELIVER if "provision_id" in kwargs else services.ACTION_LOOKUP
        with context.acting(actor_kind="client", actor=client.client_id):
            services.provision_refuse(
                client=client, file=file, data=data, error=DomainError(code="E_CLIENT_NOT_ACTIVE"), action=action
            )


def _unknown_file() -> JsonResponse:
    return error_response("E_UNKNOWN_FILE", "ファイルは honnin または fuhyo です。", 404, "file")


@extend_schema(
    operation_id="provision_duties_get",
    summary="許可された事務の一覧",
    description="呼び出したクライアント自身に許可され、登録簿で有効な事務（API.md §3）。市町村CSは403。",
    tags=["provision"],
    responses={200: DutiesAnswerSerializer},
)
@api_view(["GET"])
@authentication_classes([ClientTokenAuthentication])
@permission_classes([IsClient])
def duties_get(request):
    """The calling client's own permitted duties (active and registered)."""
    duties = services.client_duties(client=request.user)
    return json_response({"duties": DutySerializer(duties, many=True).data})


@extend_schema(
    operation_id="provision_lookup_post",
    summary="本人確認情報の照会（提供・移転）",
    description=(
        "住民票コード・個人番号（honnin のみ）・4情報で照会します（API.md §3、docs/provision.md）。"
        "事務に許可された項目だけを返し、この都道府県のファイルに該当がなければ全国サーバに照会します。"
        "提供・拒否・該当なし・失敗のいずれも提供記録に残ります。"
    ),
    tags=["provision"],
    parameters=[_FILE],
    request=LookupRequestSerializer,
    responses={
        200: LookupAnswerSerializer,
        413: openapi.error_response(f"要求が{MAX_LOOKUP_BYTES // 1024}KBを超える（E_TOO_LARGE）。"),
        415: openapi.error_response("Content-Type が UTF-8 の application/json でない（E_UNSUPPORTED_MEDIA_TYPE）。"),
        502: openapi.error_response("全国サーバが照会を拒否した（E_NATIONAL_REJECTED）。"),
        503: openapi.error_response("該当がなく、全国サーバに接続できない（E_NATIONAL_UNAVAILABLE）。"),
    },
    examples=[
        OpenApiExample(
            "住民票コードで",
            value={"duty_code": "6-1", "by": "juminhyo_code", "juminhyo_code": "12345678903"},
            request_only=True,
        ),
        OpenApiExample(
            "4情報で（個人番号も）",
            value={
                "duty_code": "6-1",
                "by": "four_info",
                "four_info": {"name_kana": "サトウ　タロウ", "birth_date": "1985-03-01", "sex": "1"},
                "include_my_number": True,
            },
            request_only=True,
        ),
    ],
)
@api_view(["POST"])
@authentication_classes([ProvisionClientAuthentication])
@permission_classes([IsClient])
@parser_classes([JSONParser])  # what the endpoint takes; the body itself is read by read_json
def lookup_post(request, file: str):
    if file not in FILE_NAMES:
        return _unknown_file()
    data, parse_error = None, None
    try:
        data = read_json(request)
    except DomainError as exc:
        parse_error = exc
    answer = services.provision_lookup(client=request.user, file=file, data=data, parse_error=parse_error)
    return json_response(answer.as_dict())


@extend_schema(
    operation_id="provision_redeliver_post",
    summary="附票の個人番号の再提供",
    description=(
        "附票の照会で提供した個人番号を、受け取れなかった場合に再提供期限内に限りもう一度返します"
        f"（API.md への追加、docs/provision.md）。同じクライアントだけ、{MAX_DELIVERIES - 1}回まで。"
        "期限切れ・他のクライアントの提供ID・不明な提供IDはいずれも404です。本文は不要です。"
    ),
    tags=["provision"],
    parameters=[_FILE, _PROVISION_ID],
    request=None,
    responses={
        200: RedeliveryAnswerSerializer,
        409: openapi.error_response("再提供の上限に達した（E_REDELIVERY_LIMIT）。"),
    },
)
@api_view(["POST"])
@authentication_classes([ProvisionClientAuthentication])
@permission_classes([IsClient])
def redeliver_post(request, file: str, provision_id: str):
    """Redelivery of the 個人番号 of a fuhyo lookup within its window (no body)."""
    if file not in FILE_NAMES:
        return _unknown_file()
    answer = services.provision_redeliver(client=request.user, file=file, provision_id=provision_id[:64])
    return json_response(answer.as_dict())
