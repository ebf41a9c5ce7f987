"""The inbox and the outbox of update notices: the database is the queue (DESIGN.md §9).

A notice from a 市町村CS is committed to the inbox before the CS gets its 202; a worker
applies inbox rows per person in 更新順番号 order, writing the current row, the history row
and an outbox row in one transaction; the forwarder sends outbox rows to the national
server and marks them done on acknowledgement. Celery only wakes workers up: a sweeper
finds rows left behind, so a lost message delays work and never loses it.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class NoticeFile(models.TextChoices):
    HONNIN = "honnin", "本人確認情報"
    FUHYO = "fuhyo", "附票本人確認情報"


class InboxState(models.TextChoices):
    PENDING = "pending", "処理待ち"
    HELD = "held", "保留（更新順番号の欠番待ち）"
    APPLIED = "applied", "反映済"
    REJECTED = "rejected", "エラー"


class InboxNotice(models.Model):
    file = models.CharField("ファイル", max_length=8, choices=NoticeFile.choices)
    notice_id = models.CharField("通知ID", max_length=64)
    receipt = models.CharField("受付番号", max_length=36, unique=True)
    client_id = models.CharField("送信元クライアント", max_length=40)
    municipality_code = models.CharField("送信元市町村コード", max_length=6)
    # A notice refused at the format check is kept too (so a resend gets the first answer),
    # with whatever of these it carried in a usable form.
    juminhyo_code = models.CharField("住民票コード", max_length=11, blank=True)
    update_seq = models.PositiveIntegerField("更新順番号", default=0)
    change_reason = models.CharField("異動事由", max_length=16, blank=True)
    changed_on = models.DateField("異動年月日", null=True)
    # The record items as sent, except the 個人番号, which is sealed in its own column.
    record = models.JSONField("記録項目", default=dict)
    my_number = models.BinaryField("個人番号（暗号化）", null=True, editable=False)
    operator_id = models.CharField("操作者ID", max_length=32, blank=True)
    terminal_id = models.CharField("操作端末ID", max_length=32, blank=True)
    state = models.CharField("状態", max_length=8, choices=InboxState.choices, default=InboxState.PENDING)
    error_code = models.CharField("エラーコード", max_length=40, blank=True)
    error_message = models.CharField("エラー内容", max_length=300, blank=True)
    error_field = models.CharField("エラー項目", max_length=40, blank=True)
    received_at = models.DateTimeField("受付日時", auto_now_add=True)
    held_since = models.DateTimeField("保留開始", null=True, blank=True)
    hold_alerted_at = models.DateTimeField("保留警告", null=True, blank=True)
    decided_at = models.DateTimeField("処理日時", null=True, blank=True)

    class Meta:
        verbose_name = "受信通知"
        verbose_name_plural = "受信通知"
        constraints = [
            models.UniqueConstraint(fields=["file", "notice_id"], name="inbox_notice_id_unique_per_file"),
            models.CheckConstraint(condition=Q(state__in=InboxState.values), name="inbox_state_valid"),
            models.CheckConstraint(condition=Q(file__in=NoticeFile.values), name="inbox_file_valid"),
        ]
        indexes = [
            models.Index(fields=["file", "id"], name="inbox_pending", condition=Q(state="pending")),
            models.Index(fields=["file", "juminhyo_code", "update_seq"], name="inbox_person_seq"),
            models.Index(fields=["file", "municipality_code", "state"], name="inbox_muni_state"),
            models.Index(fields=["held_since"], name="inbox_held", condition=Q(state="held")),
        ]

    def __str__(self) -> str:
        return f"{self.file}:{self.notice_id}"

    def error(self) -> dict | None:
        if not self.error_code:
            return None
        error = {"code": self.error_code, "message": self.error_message}
        if self.error_field:
            error["field"] = self.error_field
        return error


class OutboxState(models.TextChoices):
    PENDING = "pending", "送信待ち"
    DONE = "done", "送信済（受領確認）"


class OutboxNotice(models.Model):
    """One applied notice to forward to the national server, in order per person."""

    file = models.CharField("ファイル", max_length=8, choices=NoticeFile.choices)
    notice_id = models.CharField("通知ID", max_length=64)
    juminhyo_code = models.CharField("住民票コード", max_length=11)
    update_seq = models.PositiveIntegerField("更新順番号")
    payload = models.JSONField("送信内容")
    my_number = models.BinaryField("個人番号（暗号化）", null=True, editable=False)
    state = models.CharField("状態", max_length=8, choices=OutboxState.choices, default=OutboxState.PENDING)
    attempts = models.PositiveIntegerField("送信試行回数", default=0)
    next_attempt_at = models.DateTimeField("次回送信", auto_now_add=True)
    last_error = models.CharField("直近のエラー", max_length=300, blank=True)
    created_at = models.DateTimeField("作成日時", auto_now_add=True)
    acked_at = models.DateTimeField("受領確認日時", null=True, blank=True)

    class Meta:
        verbose_name = "送信通知"
        verbose_name_plural = "送信通知"
        constraints = [
            models.UniqueConstraint(fields=["file", "notice_id"], name="outbox_notice_id_unique_per_file"),
            models.CheckConstraint(condition=Q(state__in=OutboxState.values), name="outbox_state_valid"),
        ]
        indexes = [
            models.Index(
                fields=["file", "juminhyo_code", "id"], name="outbox_pending_person", condition=Q(state="pending")
            ),
            models.Index(fields=["created_at"], name="outbox_pending_age", condition=Q(state="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.file}:{self.notice_id}"


class PrintKind(models.TextChoices):
    RECORD = "record", "記録の印刷"
    RESULT_LIST = "result_list", "検索結果一覧の印刷"
    # The disclosure desk's forms (disclosure/): each handed to a resident is a print too.
    DISCLOSURE_NOTICE = "disclosure_notice", "開示決定通知書"
    DISCLOSURE_RECORD = "disclosure_record", "開示する本人確認情報"
    PROVISION_STATUS = "provision_status", "提供状況の開示"
    CORRECTION_NOTICE = "correction_notice", "訂正等の申出の結果通知書"


class PrintRecord(models.Model):
    """One print: who printed which records, when, why and on how many pages (docs/printing.md).

    Append-only: a database trigger refuses UPDATE and DELETE (migration 0003), so the paper
    trail cannot be tidied up afterwards. The serial is printed in every page's footer; the row
    id is reserved from its sequence before rendering (``P{year}-{id:07d}``) and the row is
    inserted once, complete.
    """

    serial = models.CharField("印刷番号", max_length=20, unique=True)
    printed_at = models.DateTimeField("印刷日時")
    actor = models.CharField("操作者ID", max_length=40)
    terminal = models.CharField("操作端末ID", max_length=32, blank=True)
    kind = models.CharField("種別", max_length=32, choices=PrintKind.choices)
    file = models.CharField("ファイル", max_length=8, choices=NoticeFile.choices, blank=True)
    target_codes = ArrayField(models.CharField(max_length=11), verbose_name="住民票コード", default=list, blank=True)
    record_count = models.PositiveIntegerField("件数")
    purpose = models.CharField("事務", max_length=40, blank=True)  # jukinet.purposes.Purpose, when the caller names one
    reason = models.CharField("印刷理由", max_length=200)
    pages = models.PositiveIntegerField("ページ数")
    gaiji_marked = models.PositiveIntegerField("〓で印刷した文字数", default=0)

    class Meta:
        verbose_name = "印刷記録"
        verbose_name_plural = "印刷記録"
        constraints = [
            models.CheckConstraint(condition=Q(file__in=[*NoticeFile.values, ""]), name="printrecord_file_valid"),
            models.CheckConstraint(condition=Q(pages__gte=1), name="printrecord_pages_positive"),
            models.CheckConstraint(condition=~Q(reason=""), name="printrecord_reason_required"),
        ]
        indexes = [
            models.Index(fields=["printed_at"], name="printrecord_printed_at"),
            models.Index(fields=["actor", "printed_at"], name="printrecord_actor"),
        ]

    def __str__(self) -> str:
        return self.serial


# --- 整合性確認 (consistency check with a 市町村CS; docs/consistency.md) ---------------------


class ConsistencyState(models.TextChoices):
    RECEIVED = "received", "受付済（照合待ち）"
    COMPARING = "comparing", "照合中"
    DONE = "done", "完了"
    FAILED = "failed", "失敗"


class DifferenceKind(models.TextChoices):
    MISSING_HERE = "missing_here", "都道府県のファイルにない"
    MISSING_THERE = "missing_there", "市町村CSの送信分にない"
    DIFFERENT = "different", "項目の相違"


class DifferenceNote(models.TextChoices):
    NONE = "", "-"
    REMOVED_HERE = "removed_here", "都道府県では消除済み"
    OTHER_MUNICIPALITY_HERE = "other_municipality_here", "都道府県では他の市町村の住民"


class ConsistencyCheck(models.Model):
    """One full set sent by a 市町村CS, compared with this file for its municipality.

    The database is the queue (DESIGN.md §9): the row is committed with the staged set (a table
    of its own, ``consistency_stage_<id>``, see jukinet/consistency_stage.py) before the CS gets
    its 202; a worker claims it, compares slice by slice (``slices_done`` commits with each
    slice's differences), and drops the staged rows when it is done. Only the differences stay,
    for ``CONSISTENCY_KEEP_DAYS``; this row (counts, no personal data) stays as the record.
    """

    check_id = models.CharField("整合性確認ID", max_length=20, unique=True)
    file = models.CharField("ファイル", max_length=8, choices=NoticeFile.choices)
    municipality_code = models.CharField("市町村コード", max_length=6)
    client_id = models.CharField("送信元クライアント", max_length=40)
    state = models.CharField("状態", max_length=10, choices=ConsistencyState.choices, default=ConsistencyState.RECEIVED)
    progress = models.FloatField("進捗", default=0.0)
    slices_done = models.PositiveSmallIntegerField("照合済みの区分", default=0)
    attempts = models.PositiveSmallIntegerField("照合の試行回数", default=0)
    counts = models.JSONField("件数", default=dict)
    row_count = models.PositiveIntegerField("送信された行数")
    byte_count = models.BigIntegerField("送信されたバイト数", default=0)
    items = ArrayField(models.CharField(max_length=40), verbose_name="照合した項目", default=list)
    received_at = models.DateTimeField("受付日時")
    started_at = models.DateTimeField("照合開始", null=True, blank=True)
    finished_at = models.DateTimeField("照合終了", null=True, blank=True)
    erased_at = models.DateTimeField("相違の消去日時", null=True, blank=True)
    error_code = models.CharField("エラーコード", max_length=40, blank=True)
    error_message = models.CharField("エラー内容", max_length=300, blank=True)

    class Meta:
        verbose_name = "整合性確認"
        verbose_name_plural = "整合性確認"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=ConsistencyState.values), name="consistency_state_valid"),
            models.CheckConstraint(condition=Q(file__in=NoticeFile.values), name="consistency_file_valid"),
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=1), name="consistency_progress_range"),
        ]
        indexes = [
            models.Index(fields=["received_at"], name="consistency_received_at"),
            models.Index(fields=["client_id", "received_at"], name="consistency_client"),
            models.Index(fields=["state"], name="consistency_active", condition=Q(state__in=["received", "comparing"])),
        ]

    def __str__(self) -> str:
        return self.check_id


class ConsistencyDifference(models.Model):
    """One difference found by a check: a 住民票コード, its kind and the items that differ.

    Never the values: the 個人番号 is compared through its HMAC index and the differing items
    are named, not shown; ``counterpart_code`` is the code on the other side with the same
    4情報 (name, birth date, sex, address) when a code is missing on one side only.
    """

    # Not "check": that name is Model.check() (the system checks).
    consistency_check = models.ForeignKey(ConsistencyCheck, on_delete=models.CASCADE, related_name="differences")
    juminhyo_code = models.CharField("住民票コード", max_length=11)
    kind = models.CharField("種別", max_length=16, choices=DifferenceKind.choices)
    items = ArrayField(models.CharField(max_length=40), verbose_name="相違する項目", default=list, blank=True)
    counterpart_code = models.CharField("4情報が一致する相手側の住民票コード", max_length=11, blank=True)
    note = models.CharField("備考", max_length=24, choices=DifferenceNote.choices, blank=True)

    class Meta:
        verbose_name = "整合性確認の相違"
        verbose_name_plural = "整合性確認の相違"
        constraints = [
            models.UniqueConstraint(fields=["consistency_check", "juminhyo_code"], name="consistency_difference_once"),
            models.CheckConstraint(condition=Q(kind__in=DifferenceKind.values), name="consistency_difference_kind"),
        ]
        indexes = [
            models.Index(fields=["consistency_check", "kind", "juminhyo_code"], name="consistency_diff_kind_code")
        ]

    def __str__(self) -> str:
        return f"{self.consistency_check_id}:{self.juminhyo_code}"
