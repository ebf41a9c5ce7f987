"""Identities (operators, terminals, machine clients), their application workflow, and the
tamper-evident access log.

The assessment (Ⅲ) asks: one ID per person, issued only on a written application and only
by a system administrator; revocation filed by the security administrator and executed by a
system administrator, kept on record; every access and operation logged and reviewed.
"""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q


class Role(models.TextChoices):
    """Staff roles of DESIGN.md §2. One person, one ID: there is no shared account."""

    GYOMU = "gyomu", "業務担当者"
    KAIJI = "kaiji", "開示窓口担当"
    TEIKYO = "teikyo", "提供担当"
    SYSADMIN = "sysadmin", "システム管理者"
    SECADMIN = "secadmin", "セキュリティ管理者"
    AUDITOR = "auditor", "監査担当"


class FileDuty(models.TextChoices):
    """Which of the two files an operator serves."""

    HONNIN = "honnin", "本人確認情報"
    FUHYO = "fuhyo", "附票本人確認情報"


class IdentityState(models.TextChoices):
    APPLIED = "applied", "申請中"
    ACTIVE = "active", "有効"
    SUSPENDED = "suspended", "停止中"
    REVOKED = "revoked", "失効"


class OperatorManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, login_id):
        return self.get(login_id=login_id)


login_id_validator = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$", "ログインIDは半角英数字3〜32文字です。")


class Operator(AbstractBaseUser):
    """A person who operates the system. Created only by audit.services (the ID workflow)."""

    login_id = models.CharField("ログインID", max_length=32, unique=True, validators=[login_id_validator])
    staff_number = models.CharField("職員番号", max_length=32)
    full_name = models.CharField("氏名", max_length=100)
    department = models.CharField("所属", max_length=100)
    roles = ArrayField(models.CharField(max_length=16, choices=Role.choices), verbose_name="役割")
    duties = ArrayField(
        models.CharField(max_length=8, choices=FileDuty.choices), verbose_name="担当ファイル", default=list, blank=True
    )
    state = models.CharField("状態", max_length=10, choices=IdentityState.choices, default=IdentityState.APPLIED)
    must_change_password = models.BooleanField("初回パスワード変更が必要", default=True)
    password_changed_at = models.DateTimeField("パスワード変更日時", null=True, blank=True)
    created_at = models.DateTimeField("作成日時", auto_now_add=True)
    state_changed_at = models.DateTimeField("状態変更日時", auto_now_add=True)

    objects = OperatorManager()

    USERNAME_FIELD = "login_id"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "操作者"
        verbose_name_plural = "操作者"
        constraints = [
            models.CheckConstraint(
                condition=Q(roles__contained_by=Role.values) & ~Q(roles=[]), name="audit_operator_roles_valid"
            ),
            models.CheckConstraint(condition=Q(duties__contained_by=FileDuty.values), name="audit_operator_duties"),
            models.CheckConstraint(condition=Q(state__in=IdentityState.values), name="audit_operator_state_valid"),
            # One person, one ID: a staff number holds at most one ID that is not revoked.
            models.UniqueConstraint(
                fields=["staff_number"], condition=~Q(state="revoked"), name="audit_one_live_id_per_person"
            ),
        ]

    def __str__(self) -> str:
        return self.login_id

    @property
    def is_active(self) -> bool:  # Django's authentication backends ask this
        return self.state == IdentityState.ACTIVE

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def role_labels(self) -> str:
        return "・".join(Role(r).label for r in self.roles)


class Terminal(models.Model):
    """A registered browser terminal. Staff pages answer only on an enrolled, active one."""

    terminal_id = models.CharField("端末ID", max_length=32, unique=True)
    name = models.CharField("端末名", max_length=100)
    place = models.CharField("設置場所", max_length=200)
    state = models.CharField("状態", max_length=10, choices=IdentityState.choices, default=IdentityState.APPLIED)
    # sha256 of the random secret inside the signed terminal cookie; the secret is never stored.
    credential_hash = models.CharField(max_length=64, blank=True)
    enrolment_code_hash = models.CharField(max_length=64, blank=True)
    enrolment_expires_at = models.DateTimeField(null=True, blank=True)
    enrolled_by = models.ForeignKey(Operator, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    enrolled_at = models.DateTimeField("登録日時", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "端末"
        verbose_name_plural = "端末"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=IdentityState.values), name="audit_terminal_state_valid"),
        ]

    def __str__(self) -> str:
        return self.terminal_id


class ClientKind(models.TextChoices):
    CS = "cs", "市町村CS"
    BODY = "body", "執行機関・部署"


class MachineClient(models.Model):
    """A 市町村CS or an executive body/department calling the machine APIs."""

    client_id = models.CharField("クライアントID", max_length=40, unique=True)
    kind = models.CharField("種別", max_length=4, choices=ClientKind.choices)
    name = models.CharField("名称", max_length=100)
    municipality_code = models.CharField("市町村コード", max_length=6, blank=True)
    duty_codes = ArrayField(
        models.CharField(max_length=16), verbose_name="許可された事務コード", default=list, blank=True
    )
    token_hash = models.CharField(max_length=64, unique=True)
    cert_fingerprint = models.CharField("クライアント証明書フィンガープリント", max_length=95, blank=True)
    state = models.CharField("状態", max_length=10, choices=IdentityState.choices, default=IdentityState.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "機械クライアント"
        verbose_name_plural = "機械クライアント"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=IdentityState.values), name="audit_client_state_valid"),
            models.CheckConstraint(
                condition=Q(kind="cs", municipality_code__regex=r"^[0-9]{6}$", duty_codes=[])
                | Q(kind="body", municipality_code=""),
                name="audit_client_kind_fields",
            ),
        ]

    def __str__(self) -> str:
        return self.client_id

    @property
    def is_active(self) -> bool:
        return self.state == IdentityState.ACTIVE


class SubjectKind(models.TextChoices):
    OPERATOR = "operator", "操作者"
    TERMINAL = "terminal", "端末"
    CLIENT = "client", "機械クライアント"


class ApplicationKind(models.TextChoices):
    ISSUE = "issue", "新規発効届"
    REVOKE = "revoke", "失効届"


class ApplicationState(models.TextChoices):
    FILED = "filed", "受付"
    APPROVED = "approved", "承認済"
    REJECTED = "rejected", "却下"


class IdApplication(models.Model):
    """A written application (新規発効届・失効届) entered with its particulars.

    The written form is the control: ``applicant_*`` is the person who signed it, and that
    person (and the subject) may never approve it. ``particulars`` holds what the form asks
    for (for a new operator: login ID, staff number, name, department, roles, files).
    """

    kind = models.CharField("届出種別", max_length=8, choices=ApplicationKind.choices)
    subject_kind = models.CharField("対象種別", max_length=10, choices=SubjectKind.choices)
    state = models.CharField("状態", max_length=10, choices=ApplicationState.choices, default=ApplicationState.FILED)
    applicant_name = models.CharField("申請者氏名", max_length=100)
    applicant_staff_number = models.CharField("申請者職員番号", max_length=32)
    applicant_department = models.CharField("申請者所属", max_length=100)
    applied_on = models.DateField("申請書の日付")
    reason = models.CharField("申請理由", max_length=500)
    particulars = models.JSONField("記載事項", default=dict)
    operator = models.ForeignKey(Operator, null=True, blank=True, on_delete=models.PROTECT, related_name="applications")
    terminal = models.ForeignKey(Terminal, null=True, blank=True, on_delete=models.PROTECT, related_name="applications")
    client = models.ForeignKey(
        MachineClient, null=True, blank=True, on_delete=models.PROTECT, related_name="applications"
    )
    filed_by = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="+")
    filed_at = models.DateTimeField("受付日時", auto_now_add=True)
    decided_by = models.ForeignKey(Operator, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField("処理日時", null=True, blank=True)
    decision_note = models.CharField("処理メモ", max_length=500, blank=True)

    class Meta:
        verbose_name = "発効・失効届"
        verbose_name_plural = "発効・失効届"
        ordering = ["-filed_at"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ApplicationKind.values), name="audit_app_kind_valid"),
            models.CheckConstraint(condition=Q(state__in=ApplicationState.values), name="audit_app_state_valid"),
            models.CheckConstraint(
                condition=Q(state="filed", decided_by__isnull=True) | Q(~Q(state="filed"), decided_by__isnull=False),
                name="audit_app_decided_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class RemovalRecord(models.Model):
    """Every removal or suspension of rights. Never updated or deleted (a trigger refuses it)."""

    class Action(models.TextChoices):
        SUSPEND = "suspend", "即時停止"
        REINSTATE = "reinstate", "停止解除"
        REVOKE = "revoke", "失効"

    subject_kind = models.CharField("対象種別", max_length=10, choices=SubjectKind.choices)
    subject_id = models.CharField("対象ID", max_length=40)
    action = models.CharField("処理", max_length=10, choices=Action.choices)
    reason = models.CharField("理由", max_length=500)
    requested_by = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="+")
    executed_by = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey(IdApplication, null=True, blank=True, on_delete=models.PROTECT)
    executed_at = models.DateTimeField("実行日時", auto_now_add=True)

    class Meta:
        verbose_name = "権限削除記録"
        verbose_name_plural = "権限削除記録"
        ordering = ["-executed_at"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.subject_id}"


class GrantReview(models.Model):
    """A periodic review sheet of every grant (権限付与状況), signed off by a system administrator."""

    period_label = models.CharField("対象期間", max_length=40)
    snapshot = models.JSONField("付与状況")
    created_by = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    signed_off_by = models.ForeignKey(Operator, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    signed_off_at = models.DateTimeField(null=True, blank=True)
    findings = models.TextField("確認結果", blank=True)

    class Meta:
        verbose_name = "権限付与状況の定期確認"
        verbose_name_plural = "権限付与状況の定期確認"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"権限付与状況 {self.period_label}"


class AccessLogEntry(models.Model):
    """One action (操作記録). Append-only: a trigger refuses UPDATE and DELETE, except the
    one-time sealing that fills ``seal_seq``, ``prev_hash`` and ``entry_hash``.

    Writers insert without a hash (no serialisation point on the request path); one sealer
    (an advisory lock) chains entries in id order within a second or two (DESIGN.md §9).
    ``target_code`` is a 住民票コード at most, never a 個人番号; ``detail`` is redacted.
    """

    class Outcome(models.TextChoices):
        OK = "ok", "成功"
        REFUSED = "refused", "拒否"
        FAILED = "failed", "失敗"
        ERROR = "error", "エラー"

    occurred_at = models.DateTimeField("日時", db_index=True)
    actor_kind = models.CharField("主体種別", max_length=10)  # operator / client / system / anonymous
    actor = models.CharField("主体", max_length=40, blank=True, db_index=True)
    terminal = models.CharField("端末", max_length=32, blank=True)
    action = models.CharField("操作", max_length=40, db_index=True)
    target_file = models.CharField("対象ファイル", max_length=8, blank=True)
    target_code = models.CharField("対象", max_length=40, blank=True, db_index=True)
    duty = models.CharField("事務", max_length=40, blank=True)
    outcome = models.CharField("結果", max_length=8, choices=Outcome.choices)
    detail = models.CharField("詳細", max_length=500, blank=True)
    request_id = models.CharField("リクエストID", max_length=36, blank=True, db_index=True)
    remote_addr = models.CharField("接続元", max_length=45, blank=True)
    seal_seq = models.BigIntegerField("連番", null=True, unique=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    entry_hash = models.CharField(max_length=64, blank=True)
    sealed_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = "操作記録"
        verbose_name_plural = "操作記録"
        indexes = [models.Index(fields=["id"], condition=Q(seal_seq__isnull=True), name="audit_log_unsealed")]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=["ok", "refused", "failed", "error"]), name="audit_log_outcome"
            )
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.outcome}"


class ChainHead(models.Model):
    """The chain head published daily, signed with a key the database does not hold."""

    published_at = models.DateTimeField(auto_now_add=True)
    seal_seq = models.BigIntegerField()
    entry_hash = models.CharField(max_length=64)
    signature = models.CharField(max_length=128)
    key_id = models.CharField(max_length=40)

    class Meta:
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return f"chain head {self.seal_seq}"


class ApprovalState(models.TextChoices):
    PENDING = "pending", "承認待ち"
    APPROVED = "approved", "承認"
    REJECTED = "rejected", "却下"


class OutputApproval(models.Model):
    """Prior approval of a large data output (大量のデータ出力): batch provision, exports, dumps.

    One mechanism for every kind (issue 8 reuses it): the request says what would leave the
    system and how much; only a system administrator who is not the requester decides
    (audit.approvals). The subject (a BatchJob, an export …) points here.
    """

    kind = models.CharField("種別", max_length=32)  # batch_provision, export, …
    subject = models.CharField("対象", max_length=60)  # e.g. the batch id
    summary = models.CharField("内容", max_length=300)  # what, for whom, how many rows (no personal data)
    row_count = models.PositiveIntegerField("件数")
    requested_by = models.CharField("申請者", max_length=40)  # an operator login id or a client id
    requested_at = models.DateTimeField("申請日時")
    state = models.CharField("状態", max_length=10, choices=ApprovalState.choices, default=ApprovalState.PENDING)
    decided_by = models.CharField("決裁者", max_length=40, blank=True)
    decided_at = models.DateTimeField("決裁日時", null=True, blank=True)
    decision_note = models.CharField("決裁の理由・条件", max_length=300, blank=True)

    class Meta:
        verbose_name = "大量出力の事前承認"
        verbose_name_plural = "大量出力の事前承認"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=ApprovalState.values), name="audit_approval_state_valid"),
            models.CheckConstraint(
                condition=Q(state="pending", decided_by="", decided_at__isnull=True)
                | (~Q(state="pending") & ~Q(decided_by="") & Q(decided_at__isnull=False)),
                name="audit_approval_decision_complete",
            ),
            models.CheckConstraint(condition=~Q(decided_by=F("requested_by")), name="audit_approval_not_self"),
        ]
        indexes = [models.Index(fields=["state", "requested_at"], name="audit_approval_state")]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}"


class StoredFileKind(models.TextChoices):
    BACKUP = "backup", "バックアップ"
    CONTRACTOR = "contractor", "委託先提供ファイル"


class BackupRecord(models.Model):
    """The backup register (記録簿): every encrypted backup or contractor file the system wrote.

    A file is sealed with a public key whose private half the writer does not hold
    (jukinet.envelope), so whoever stores it cannot read it. One row per file: when, what it
    holds, how large, its checksum and where it went. Restores and copies are access-log entries
    naming the row (``backup:<pk>``).
    """

    kind = models.CharField("種別", max_length=10, choices=StoredFileKind.choices)
    file_name = models.CharField("ファイル名", max_length=255)
    location = models.CharField("保管場所", max_length=500)
    scope = models.CharField("内容", max_length=200)  # "データベース全体", "honnin 112011 現存者" (no personal data)
    recipient = models.CharField("提供先（委託先）", max_length=100, blank=True)
    size_bytes = models.BigIntegerField("サイズ（バイト）")
    sha256 = models.CharField("SHA-256", max_length=64)
    key_fingerprint = models.CharField("公開鍵フィンガープリント", max_length=95)
    created_by = models.CharField("作成者", max_length=40)
    created_at = models.DateTimeField("作成日時")
    note = models.CharField("備考", max_length=300, blank=True)

    class Meta:
        verbose_name = "バックアップ記録簿"
        verbose_name_plural = "バックアップ記録簿"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=StoredFileKind.values), name="audit_backup_kind_valid"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="audit_backup_sha256_hex"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}"


class ReviewMark(models.Model):
    """A log-review finding marked as reviewed by an auditor (監査担当), with their note.

    ``finding_key`` is the finding's stable identity inside its report (e.g. the operator and
    the day), never personal data beyond a 住民票コード.
    """

    report = models.CharField("レポート", max_length=32)
    finding_key = models.CharField("指摘", max_length=200)
    reviewed_by = models.CharField("確認者", max_length=40)
    reviewed_at = models.DateTimeField("確認日時")
    note = models.CharField("確認内容", max_length=500)

    class Meta:
        verbose_name = "ログ確認記録"
        verbose_name_plural = "ログ確認記録"
        constraints = [models.UniqueConstraint(fields=["report", "finding_key"], name="audit_review_mark_once")]

    def __str__(self) -> str:
        return f"{self.report} {self.finding_key}"


class ExportState(models.TextChoices):
    AWAITING = "awaiting", "承認待ち"
    REJECTED = "rejected", "却下"
    PRODUCING = "producing", "作成中"
    READY = "ready", "作成済み"
    FAILED = "failed", "失敗"
    ERASED = "erased", "消去済み"


class ExportFile(models.Model):
    """A large data output from a staff page (大量のデータ出力): asked for, approved by another
    system administrator (OutputApproval), produced by a worker, copied by a system
    administrator only (each copy logged), erased after ``expires_at`` (audit.exports).
    """

    export_id = models.CharField("出力番号", max_length=40, unique=True)
    kind = models.CharField("種別", max_length=32)
    params = models.JSONField("条件", default=dict)  # what to output; never personal data
    summary = models.CharField("内容", max_length=300)
    row_count = models.PositiveIntegerField("件数")
    requested_by = models.CharField("申請者", max_length=40)
    requested_at = models.DateTimeField("申請日時")
    approval = models.ForeignKey(OutputApproval, on_delete=models.PROTECT, null=True, related_name="exports")
    state = models.CharField("状態", max_length=10, choices=ExportState.choices, default=ExportState.AWAITING)
    file_path = models.CharField("ファイル", max_length=500, blank=True)
    size_bytes = models.BigIntegerField("サイズ（バイト）", null=True)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    produced_at = models.DateTimeField("作成日時", null=True)
    expires_at = models.DateTimeField("消去予定日時", null=True)
    error = models.CharField("エラー", max_length=300, blank=True)

    class Meta:
        verbose_name = "大量データ出力"
        verbose_name_plural = "大量データ出力"
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=ExportState.values), name="audit_export_state_valid"),
        ]
        indexes = [models.Index(fields=["state", "expires_at"], name="audit_export_state_expiry")]

    def __str__(self) -> str:
        return f"{self.kind} {self.export_id}"


class ErasureRun(models.Model):
    """One run of the retention erasure (住基法施行令第30条の6): how many rows of each table it
    erased, never what they held (jukinet.retention)."""

    started_at = models.DateTimeField("開始日時")
    finished_at = models.DateTimeField("終了日時", null=True)
    today = models.DateField("基準日")  # the day the run judged expiry against
    counts = models.JSONField("消去件数", default=dict)  # {"honnin_history": 12, ...}
    total = models.BigIntegerField("合計", default=0)
    state = models.CharField("状態", max_length=10, default="running")  # running / done / failed
    error = models.CharField("エラー", max_length=300, blank=True)

    class Meta:
        verbose_name = "保存期間経過による消去"
        verbose_name_plural = "保存期間経過による消去"
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["running", "done", "failed"]), name="audit_erasure_state"),
        ]

    def __str__(self) -> str:
        return f"erasure {self.today} {self.total}"


class MediaCheck(models.Model):
    """The weekly check of the backup register against the media in the vault (評価書:
    「週次で管理簿と保管庫の媒体をチェックし、チェックリストに記入」). Append-only.

    ``confirmed`` holds the register entries found in the vault, ``missing`` those that were
    not; a check with a missing medium must say what was done about it (``note``).
    """

    checked_at = models.DateTimeField("照合日時")
    checked_by = models.CharField("照合者", max_length=40)
    witness = models.CharField("立会者", max_length=100)
    confirmed = ArrayField(models.BigIntegerField(), verbose_name="保管を確認した記録簿番号", default=list)
    missing = ArrayField(models.BigIntegerField(), verbose_name="見当たらない記録簿番号", default=list)
    note = models.CharField("備考・対応", max_length=500, blank=True)

    class Meta:
        verbose_name = "媒体照合"
        verbose_name_plural = "媒体照合"
        ordering = ["-checked_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(missing__len=0) | ~Q(note=""), name="audit_media_check_missing_explained"
            ),
        ]

    def __str__(self) -> str:
        return f"media check {self.checked_at:%Y-%m-%d}"
