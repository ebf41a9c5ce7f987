"""Provision and transfer (提供・移転, DESIGN.md §4.3, API.md §3).

* :class:`Duty` — the registry of 事務 with their legal basis (住基法別表第五 for 移転 to the
  governor's own departments, 別表第六 for 提供 to other executive bodies, 条例), the items
  each may be given and whether the 個人番号 may be. A machine client's permitted duties are
  the codes in ``audit.MachineClient.duty_codes``, checked against this registry.
* :class:`ProvisionRecord` — one row per answered, refused or failed request (and per row of
  a batch): the record of provisions a resident may ask to see (提供状況の開示). Append-only.
* :class:`BatchJob` — a batch provision (一括提供): conditions file → approval → run →
  encrypted result; :class:`BatchOutput` records each handing-over of the result.
"""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

FILES = [("honnin", "本人確認情報"), ("fuhyo", "附票本人確認情報")]

DUTY_CODE_PATTERN = r"^[56J]-[0-9]{1,3}(-[0-9]{1,3})?$"
duty_code_validator = RegexValidator(
    DUTY_CODE_PATTERN, "事務コードは「5-13」「6-1」「J-2」のように、表（5・6・J）と番号で指定してください。"
)


class LegalTable(models.TextChoices):
    BETSU_5 = "5", "住基法別表第五（移転）"
    BETSU_6 = "6", "住基法別表第六（提供）"
    JOREI = "J", "条例"


class ProvisionItem(models.TextChoices):
    """Items a lookup may return (API.md §3 result fields; the 個人番号 is a flag of its own)."""

    JUMINHYO_CODE = "juminhyo_code", "住民票コード"
    NAME = "name", "氏名"
    NAME_KANA = "name_kana", "ふりがな"
    BIRTH_DATE = "birth_date", "生年月日"
    SEX = "sex", "性別"
    ADDRESS = "address", "住所"
    CHANGE_REASON = "change_reason", "異動事由"
    CHANGED_ON = "changed_on", "異動年月日"


class Duty(models.Model):
    """One 事務 for which the prefecture may hand over identity information."""

    code = models.CharField("事務コード", max_length=16, unique=True, validators=[duty_code_validator])
    name = models.CharField("事務の名称", max_length=300)
    legal_basis = models.CharField("法令上の根拠", max_length=200)
    recipient = models.CharField("主な提供・移転先", max_length=100, blank=True)
    files = ArrayField(models.CharField(max_length=8, choices=FILES), verbose_name="対象ファイル")
    items = ArrayField(models.CharField(max_length=16, choices=ProvisionItem.choices), verbose_name="提供できる項目")
    my_number_allowed = models.BooleanField("個人番号の提供", default=False)
    active = models.BooleanField("有効", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "事務"
        verbose_name_plural = "事務"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=DUTY_CODE_PATTERN), name="provision_duty_code_format"),
            models.CheckConstraint(condition=~Q(files=[]), name="provision_duty_has_files"),
            models.CheckConstraint(condition=Q(items__contains=["juminhyo_code"]), name="provision_duty_gives_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def table(self) -> str:
        return self.code.split("-", 1)[0]

    @property
    def is_transfer(self) -> bool:
        """移転 (within the governor's own organisation) rather than 提供."""
        return self.table == LegalTable.BETSU_5

    def table_label(self) -> str:
        return LegalTable(self.table).label


class Outcome(models.TextChoices):
    PROVIDED = "provided", "提供"
    NOT_FOUND = "not_found", "該当なし"
    REFUSED = "refused", "拒否"
    FAILED = "failed", "失敗"


class Source(models.TextChoices):
    PREFECTURE = "prefecture", "都道府県"
    NATIONAL = "national", "機構（全国サーバ）"


class ProvisionRecord(models.Model):
    """One provision (or refusal): when, to whom, for which duty, whose record, which items.

    Never the items' values and never a 個人番号: only which items were given. Append-only
    (migration 0002 refuses UPDATE and DELETE).
    """

    provision_id = models.CharField("提供ID", max_length=40, unique=True)
    occurred_at = models.DateTimeField("日時")
    client_id = models.CharField("クライアントID", max_length=40, blank=True)
    client_name = models.CharField("提供先", max_length=100, blank=True)
    operator = models.CharField("操作者ID", max_length=40, blank=True)  # the 提供担当 of a batch
    duty_code = models.CharField("事務コード", max_length=16, blank=True)  # as asked, even if unregistered
    file = models.CharField("ファイル", max_length=8, choices=FILES)
    by = models.CharField("照会キー", max_length=16, blank=True)
    target_codes = ArrayField(
        models.CharField(max_length=11), verbose_name="対象の住民票コード", default=list, blank=True
    )
    items_given = ArrayField(models.CharField(max_length=16), verbose_name="提供した項目", default=list, blank=True)
    my_number_given = models.BooleanField("個人番号の提供", default=False)
    source = models.CharField("提供元", max_length=12, choices=Source.choices, blank=True)
    outcome = models.CharField("結果", max_length=12, choices=Outcome.choices)
    error_code = models.CharField("エラーコード", max_length=40, blank=True)
    batch = models.ForeignKey("BatchJob", on_delete=models.PROTECT, null=True, blank=True, related_name="records")
    row_number = models.PositiveIntegerField("行番号", null=True, blank=True)

    class Meta:
        verbose_name = "提供記録"
        verbose_name_plural = "提供記録"
        constraints = [
            models.CheckConstraint(condition=Q(outcome__in=Outcome.values), name="provision_record_outcome_valid"),
            models.CheckConstraint(
                condition=~Q(outcome="provided") | ~Q(target_codes=[]), name="provision_record_provided_has_target"
            ),
            models.CheckConstraint(
                condition=Q(outcome="provided") | Q(items_given=[], my_number_given=False),
                name="provision_record_only_provided_gives_items",
            ),
        ]
        indexes = [
            models.Index(fields=["occurred_at"], name="provision_rec_at"),
            models.Index(fields=["client_id", "occurred_at"], name="provision_rec_client_at"),
            # 提供状況の開示: every provision of one resident's record.
            GinIndex(fields=["target_codes"], name="provision_rec_targets"),
        ]

    def __str__(self) -> str:
        return self.provision_id


class BatchState(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", "承認待ち"
    APPROVED = "approved", "承認済み（実行待ち）"
    RUNNING = "running", "実行中"
    DONE = "done", "完了"
    REJECTED = "rejected", "却下"
    FAILED = "failed", "失敗"


class BatchJob(models.Model):
    """A batch provision: the conditions file, its approval, its run and its encrypted result.

    The conditions and the result are personal data: both are stored encrypted (the keyring
    of jukinet/crypto.py for the conditions, the result as the AES-256 archive handed over).
    The archive's password is sealed with the keyring and shown to a 提供担当 once.
    """

    batch_id = models.CharField("一括提供ID", max_length=40, unique=True)
    file = models.CharField("ファイル", max_length=8, choices=FILES)
    duty_code = models.CharField("事務コード", max_length=16)
    client_id = models.CharField("依頼元クライアントID", max_length=40, blank=True)
    recipient = models.CharField("提供先", max_length=100)
    submitted_by = models.CharField("受付者（操作者ID）", max_length=40, blank=True)
    submitted_at = models.DateTimeField("受付日時")
    include_my_number = models.BooleanField("個人番号を含める", default=False)
    conditions = models.BinaryField("検索条件（暗号化）")
    row_count = models.PositiveIntegerField("条件の行数")
    state = models.CharField("状態", max_length=20, choices=BatchState.choices, default=BatchState.AWAITING_APPROVAL)
    approval = models.OneToOneField(
        "audit.OutputApproval", on_delete=models.PROTECT, null=True, blank=True, related_name="batch"
    )
    rows_done = models.PositiveIntegerField("処理済み行数", default=0)
    counts = models.JSONField("件数", default=dict, blank=True)  # provided / not_found / failed
    started_at = models.DateTimeField("開始日時", null=True, blank=True)
    finished_at = models.DateTimeField("終了日時", null=True, blank=True)
    result = models.BinaryField("結果ファイル（AES-256暗号化ZIP）", null=True, blank=True)
    result_sha256 = models.CharField("結果ファイルのSHA-256", max_length=64, blank=True)
    result_password = models.BinaryField("結果ファイルのパスワード（封印）", null=True, blank=True)
    password_shown_at = models.DateTimeField("パスワード表示日時", null=True, blank=True)
    error_message = models.CharField("エラー", max_length=300, blank=True)

    class Meta:
        verbose_name = "一括提供"
        verbose_name_plural = "一括提供"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=BatchState.values), name="provision_batch_state_valid"),
            models.CheckConstraint(condition=Q(rows_done__lte=models.F("row_count")), name="provision_batch_progress"),
            models.CheckConstraint(
                condition=~Q(state="done") | Q(result__isnull=False, result_password__isnull=False),
                name="provision_batch_done_has_result",
            ),
        ]
        indexes = [models.Index(fields=["state", "submitted_at"], name="provision_batch_state")]

    def __str__(self) -> str:
        return self.batch_id

    @property
    def progress(self) -> float:
        return self.rows_done / self.row_count if self.row_count else 0.0


class BatchOutput(models.Model):
    """Each handing-over of a batch result (download by the client or the 提供担当)."""

    batch = models.ForeignKey(BatchJob, on_delete=models.PROTECT, related_name="outputs")
    at = models.DateTimeField("日時")
    actor_kind = models.CharField("主体種別", max_length=10)  # operator / client
    actor = models.CharField("主体", max_length=40)
    recipient = models.CharField("提供先", max_length=100)
    rows = models.PositiveIntegerField("行数")
    sha256 = models.CharField("SHA-256", max_length=64)

    class Meta:
        verbose_name = "一括提供の出力記録"
        verbose_name_plural = "一括提供の出力記録"

    def __str__(self) -> str:
        return f"{self.batch.batch_id} → {self.recipient}"
