"""The OpenAPI schema of the machine APIs (drf-spectacular; served at /api/schema/, docs/openapi.md).

What every endpoint shares lives here, once:

* the bearer-token security scheme of ``jukinet.api.ClientTokenAuthentication``;
* the error shape of API.md as the components ``Error`` (the response body) and ``ErrorDetail``
  (its inner object, also used per notice in a 202), with :func:`error_response` and
  :class:`ErrorDetailField` for annotations;
* a preprocessing hook that keeps only the machine endpoints (/api/…), and a postprocessing hook
  that adds the components and the error responses every endpoint can give (400, 401, 403, 404)
  to each operation that does not describe them itself.
"""

from drf_spectacular.drainage import set_override
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

from jukinet.api import ClientTokenAuthentication

ERROR_DETAIL = "ErrorDetail"
ERROR = "Error"
SECURITY_SCHEME = "bearerAuth"

ERROR_DETAIL_SCHEMA = {
    "type": "object",
    "description": "エラーの内容。`code` は安定した機械向けのコード、`message` は日本語の説明です。",
    "properties": {
        "code": {"type": "string", "pattern": "^E_[A-Z0-9_]+$", "example": "E_DUTY_NOT_PERMITTED"},
        "message": {"type": "string", "example": "この事務は許可されていません。"},
        "field": {"type": "string", "description": "誤りのある項目（分かる場合）。", "example": "duty_code"},
    },
    "required": ["code", "message"],
}
ERROR_SCHEMA = {
    "type": "object",
    "description": "すべてのエラー応答の形（API.md）。4xx で返り、スタックトレースは含みません。",
    "properties": {"error": {"$ref": f"#/components/schemas/{ERROR_DETAIL}"}},
    "required": ["error"],
}
_ERROR_REF = {"$ref": f"#/components/schemas/{ERROR}"}
_DEFAULT_ERRORS = {
    "400": "要求の形式・内容の誤り（E_INVALID、E_MALFORMED_JSON など）。",
    "401": "Bearerトークンがない、不明、または失効している（E_UNAUTHENTICATED）。",
    "403": "このクライアントには許可されていない操作（E_FORBIDDEN など）。拒否は操作記録に残ります。",
    "404": "対象が見つからない（E_NOT_FOUND、E_UNKNOWN_FILE など）。",
}
_JSON = "application/json"
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def error_response(description: str) -> OpenApiResponse:
    """An error response in the API.md shape, for ``extend_schema(responses={413: error_response("…")})``."""
    return OpenApiResponse(response=_ERROR_REF, description=description)


@extend_schema_field({"$ref": f"#/components/schemas/{ERROR_DETAIL}"})
class ErrorDetailField(serializers.JSONField):
    """A serializer field holding the inner error object (e.g. per rejected notice)."""


class ClientTokenScheme(OpenApiAuthenticationExtension):
    target_class = "jukinet.api.ClientTokenAuthentication"
    match_subclasses = True  # provision.api.ProvisionClientAuthentication adds only refusal records
    name = SECURITY_SCHEME

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "`manage.py issue_client` または管理コンソールで発行したトークンを "
                "`Authorization: Bearer <token>` で送ります（保存されるのはハッシュだけ）。"
            ),
        }


# Subclasses (provision.api.ProvisionClientAuthentication) take the same token the same way: one
# scheme, not a "two components named bearerAuth" warning per subclass.
set_override(ClientTokenAuthentication, "suppress_collision_warning", True)


def only_machine_endpoints(endpoints, **kwargs):
    """Staff pages are not DRF views, but keep the schema to /api/ should one ever be."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]


def add_error_responses(result, generator, request, public, **kwargs):
    """Add the Error components and the common error responses to every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_DETAIL] = ERROR_DETAIL_SCHEMA
    schemas[ERROR] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in _DEFAULT_ERRORS.items():
                responses.setdefault(status, {"description": description, "content": {_JSON: {"schema": _ERROR_REF}}})
    return result
