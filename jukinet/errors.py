"""The one hierarchy of domain errors. Each has a stable code and a Japanese message.

Services raise these; the API's exception handler and the staff pages turn them into the
same message (API.md's error shape, or a message next to the field). A message never
contains a 個人番号 or any other personal data from the request.
"""


class DomainError(Exception):
    code = "E_DOMAIN"
    status = 400
    message = "処理できませんでした。"

    def __init__(self, message: str | None = None, *, code: str | None = None, field: str | None = None):
        self.message = message or self.message
        self.code = code or self.code
        self.field = field
        super().__init__(self.code)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def as_dict(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


class InvalidInput(DomainError):
    code = "E_INVALID"
    status = 400
    message = "入力内容に誤りがあります。"


class PermissionRefused(DomainError):
    code = "E_FORBIDDEN"
    status = 403
    message = "この操作を行う権限がありません。"


class NotFound(DomainError):
    code = "E_NOT_FOUND"
    status = 404
    message = "対象が見つかりません。"


class Conflict(DomainError):
    code = "E_CONFLICT"
    status = 409
    message = "現在の状態ではこの操作はできません。"
