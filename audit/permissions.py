"""The permission matrix (role × action), in one place.

Services call ``ensure_permitted`` before they act; views are declared with the action they
perform (``audit.views_support.staff_view``), so the server enforces every cell. The matrix
test in tests/test_permission_matrix.py walks every URL against every role.
"""

from audit.models import Operator, Role
from jukinet.errors import PermissionRefused

SYS = Role.SYSADMIN
SEC = Role.SECADMIN
AUD = Role.AUDITOR
GYOMU = Role.GYOMU
KAIJI = Role.KAIJI
TEIKYO = Role.TEIKYO
EVERY_ROLE = frozenset(Role)

MATRIX: dict[str, frozenset[str]] = {
    # Every operator: their own session and password.
    "self.session": EVERY_ROLE,
    # The admin console (システム管理者・セキュリティ管理者).
    "console.view": frozenset({SYS, SEC}),
    "application.file_issue": frozenset({SYS, SEC}),  # enter a 新規発効届 with its particulars
    "application.file_revoke": frozenset({SEC}),  # 失効届: the security administrator files it
    "application.decide": frozenset({SYS}),  # issue / execute revocation: system administrator only
    "identity.suspend": frozenset({SEC}),  # immediate suspension on misuse
    "identity.reinstate": frozenset({SYS}),
    "grant_review.manage": frozenset({SYS}),
    "grant_review.view": frozenset({SYS, AUD}),  # the auditor reads the periodic reviews (log review links there)
    "removal_history.view": frozenset({SYS, SEC, AUD}),
    # Update notices from 市町村CS: inbox, rejected and held notices, outbox backlog.
    "notice.monitor": frozenset({SYS, GYOMU}),
    # Personal data at the terminal (DESIGN.md §4.2): search and view, print, the 個人番号.
    # The operator's file duty (Operator.duties) is checked as well, per file.
    "record.search": frozenset({GYOMU, KAIJI}),
    "record.view": frozenset({GYOMU, KAIJI}),
    "record.print": frozenset({GYOMU, KAIJI}),
    "my_number.reveal": frozenset({GYOMU}),  # the desk works without the 個人番号
    "national.query": frozenset({GYOMU}),  # 機構への照会
    # The ledger of printed paper (who printed what, how many pages).
    "print.ledger": frozenset({SYS, AUD}),
    # Provision (DESIGN.md §4.3): the duty registry and clients' duties, batch provision and
    # the prior approval of large outputs (shared with exports, issue 8).
    "duty.view": frozenset({SYS, TEIKYO, AUD}),
    "duty.manage": frozenset({SYS}),
    "batch.submit": frozenset({TEIKYO}),
    "batch.view": frozenset({TEIKYO, SYS}),
    "batch.result": frozenset({TEIKYO}),  # download the encrypted result, see its password once
    "approval.view": frozenset({SYS, TEIKYO, AUD}),
    "approval.decide": frozenset({SYS}),
    "provision_record.view": frozenset({SYS, AUD, TEIKYO}),
    # The disclosure desk (DESIGN.md §4.4): requests, PDF forms, corrections, inquiries.
    "disclosure.desk": frozenset({KAIJI}),
    "inquiry.log": frozenset({KAIJI, GYOMU}),
    # The access log.
    "audit_log.view": frozenset({SYS, AUD}),
    "audit_log.export": frozenset({SYS, AUD}),
    # Operations (issue 8, docs/operations.md).
    "consistency.view": frozenset({SYS, GYOMU}),  # 整合性確認 with the 市町村CS: progress and differences
    "statistics.produce": frozenset({SYS, GYOMU, AUD}),  # monthly statistics, page and CSV (logged)
    "log_review.view": frozenset({AUD}),  # log review reports
    "log_review.mark": frozenset({AUD}),  # mark a finding reviewed with a note
    "backup.register": frozenset({SYS, AUD}),  # the backup register (記録簿)
    "backup.copy": frozenset({SYS}),  # copy an encrypted backup or contractor file off the server
    "backup.media_check": frozenset({SYS}),  # record the weekly check of the register against the vault
    "export.view": frozenset({SYS, AUD, GYOMU}),  # large outputs asked for, and their state
    "export.copy": frozenset({SYS}),  # copy a produced large output (each copy logged)
    "erasure.view": frozenset({SYS, AUD}),  # the retention erasure runs and their counts
}


def permitted(operator: Operator | None, action: str) -> bool:
    if operator is None or not getattr(operator, "is_authenticated", False) or not operator.is_active:
        return False
    try:
        allowed = MATRIX[action]
    except KeyError:
        # An action missing from the matrix is a programming error; refuse rather than allow.
        return False
    return operator.has_role(*allowed)


def ensure_permitted(operator: Operator | None, action: str) -> None:
    if not permitted(operator, action):
        raise PermissionRefused()
