"""The consistency differences as a large data output (audit.exports kind ``consistency_differences``).

A staff member with the file's duty asks for one check's differences as CSV: up to
settings.LARGE_OUTPUT_ROWS lines download at once (logged), more go to a system
administrator's prior approval and are copied by a system administrator (docs/approvals.md).
"""

from collections.abc import Iterator

from audit import access_log
from audit.models import Operator
from jukinet.consistency import (
    check_for_staff,
    consistency_differences_count,
    consistency_differences_csv,
    may_see_differences,
)
from jukinet.errors import InvalidInput, PermissionRefused


def _check_id(params: dict) -> str:
    check_id = params.get("check_id")
    if not isinstance(check_id, str) or not check_id:
        raise InvalidInput("出力する整合性確認が指定されていません。", code="E_EXPORT_PARAMS")
    return check_id


def differences_authorize(params: dict, operator: Operator) -> None:
    check = check_for_staff(operator=operator, check_id=_check_id(params), log=False)
    if not may_see_differences(operator, check):
        access_log.log_refusal(
            action="consistency.differences_export", target_file=check.file, target_code=check.check_id,
            detail="ファイルの担当ではない",
        )  # fmt: skip
        raise PermissionRefused("このファイルの担当ではないため、相違一覧は出力できません。", code="E_FILE_DUTY")


def differences_count(params: dict) -> int:
    return consistency_differences_count(_check_id(params))


def differences_lines(params: dict) -> Iterator[str]:
    yield "\ufeff"  # BOM so that spreadsheet software reads the UTF-8 correctly
    yield from consistency_differences_csv(_check_id(params))
