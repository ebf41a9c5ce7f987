"""Tables of the national mock. Nothing in the prefecture's own apps reads or writes them.

``ReceivedNotice`` is what the prefecture forwarded (deduplicated on ``notice_id``, with the
number of arrivals kept as evidence); ``NationalResident`` is the mock's own data set of
residents of other prefectures, answered to national queries; ``FaultSetting`` is the one row
that says which fault to inject.
"""

from django.db import models
from django.db.models import Q

from jukinet.fields import DIGITS_11, Sex, digits_check


class NationalFile(models.TextChoices):
    HONNIN = "honnin", "全国サーバ（本人確認情報）"
    FUHYO = "fuhyo", "附票全国サーバ（附票本人確認情報）"


class ReceivedNotice(models.Model):
    # The arrival order: a per-file advisory lock around each insert makes it commit order too,
    # so a reader paging with ``received?since=<seq>`` never skips a late-committing row.
    seq = models.BigAutoField("受信順", primary_key=True)
    file = models.CharField("ファイル", max_length=8, choices=NationalFile.choices)
    notice_id = models.CharField("通知ID", max_length=64)
    juminhyo_code = models.CharField("住民票コード", max_length=11)
    update_seq = models.PositiveIntegerField("更新順番号")
    change_reason = models.CharField("異動事由", max_length=16)
    changed_on = models.DateField("異動年月日", null=True)
    # The notice as sent, minus the 個人番号, which is kept only as its HMAC index.
    payload = models.JSONField("受信内容")
    my_number_index = models.BinaryField("個人番号索引（HMAC）", null=True, editable=False)
    received_at = models.DateTimeField("初回受信日時")
    last_received_at = models.DateTimeField("最終受信日時")
    receive_count = models.PositiveIntegerField("受信回数", default=1)
    # Re-sends whose content differed from the first arrival (a forwarder bug, never expected).
    mismatch_count = models.PositiveIntegerField("内容不一致の再送回数", default=0)

    class Meta:
        db_table = "national_received_notice"
        verbose_name = "受信した更新通知（模擬全国サーバ）"
        verbose_name_plural = verbose_name
        constraints = [
            models.UniqueConstraint(fields=["file", "notice_id"], name="national_notice_id_unique_per_file"),
            models.CheckConstraint(condition=Q(file__in=NationalFile.values), name="national_notice_file_valid"),
            models.CheckConstraint(condition=Q(receive_count__gte=1), name="national_notice_count_positive"),
        ]
        indexes = [models.Index(fields=["file", "seq"], name="national_notice_file_seq")]

    def __str__(self) -> str:
        return f"{self.file}:{self.notice_id}"


class NationalResident(models.Model):
    """A resident of another prefecture, as the national servers know them (synthetic)."""

    file = models.CharField("ファイル", max_length=8, choices=NationalFile.choices)
    juminhyo_code = models.CharField("住民票コード", max_length=11)
    name = models.CharField("漢字氏名", max_length=120)
    name_kana = models.CharField("ふりがな氏名", max_length=120)
    name_seion = models.CharField("清音化かな氏名", max_length=120)
    birth_date = models.DateField("生年月日")
    sex = models.CharField("性別", max_length=1, choices=Sex.choices)
    address = models.CharField("住所", max_length=255)
    prefecture_code = models.CharField("都道府県コード", max_length=2)
    my_number = models.BinaryField("個人番号（暗号化）", null=True, editable=False)
    my_number_index = models.BinaryField("個人番号索引（HMAC）", null=True, editable=False)
    change_reason = models.CharField("異動事由", max_length=16)
    changed_on = models.DateField("異動年月日")

    class Meta:
        db_table = "national_resident"
        verbose_name = "他都道府県の住民（模擬全国サーバ）"
        verbose_name_plural = verbose_name
        constraints = [
            models.UniqueConstraint(fields=["file", "juminhyo_code"], name="national_resident_code_unique"),
            models.UniqueConstraint(fields=["file", "my_number_index"], name="national_resident_my_number_unique"),
            models.CheckConstraint(condition=Q(file__in=NationalFile.values), name="national_resident_file_valid"),
            digits_check("juminhyo_code", DIGITS_11, "national_resident_code_digits"),
            models.CheckConstraint(condition=Q(sex__in=Sex.values), name="national_resident_sex_valid"),
            models.CheckConstraint(
                condition=Q(prefecture_code__regex=r"^(0[1-9]|[1-3][0-9]|4[0-7])$"),
                name="national_resident_prefecture_valid",
            ),
            # The 附票 side never holds a 個人番号; the number and its index travel together.
            models.CheckConstraint(
                condition=Q(my_number__isnull=True, my_number_index__isnull=True)
                | Q(file=NationalFile.HONNIN, my_number__isnull=False, my_number_index__isnull=False),
                name="national_resident_my_number_honnin_only",
            ),
        ]
        indexes = [
            models.Index(
                fields=["file", "name_seion", "birth_date"],
                name="national_resident_seion_birth",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops", "date_ops"],
            ),
            models.Index(
                fields=["file", "birth_date", "name"],
                name="national_resident_birth_name",
                opclasses=["varchar_pattern_ops", "date_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"全国サーバ住民 {self.file}:{self.juminhyo_code}"


class FaultMode(models.TextChoices):
    OK = "ok", "正常"
    DOWN = "down", "停止（すべて503）"
    SLOW = "slow", "遅延"
    FLAKY = "flaky", "不安定（一定割合で503）"


class FaultSetting(models.Model):
    """The one row (pk 1) saying which fault the real endpoints inject; no row means "ok"."""

    mode = models.CharField("障害モード", max_length=8, choices=FaultMode.choices, default=FaultMode.OK)
    rate = models.FloatField("失敗率", default=0.0)
    delay_ms = models.PositiveIntegerField("遅延（ミリ秒）", default=0)
    until = models.DateTimeField("終了日時", null=True, blank=True)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        db_table = "national_fault_setting"
        verbose_name = "障害注入設定（模擬全国サーバ）"
        verbose_name_plural = verbose_name
        constraints = [
            models.CheckConstraint(condition=Q(mode__in=FaultMode.values), name="national_fault_mode_valid"),
            models.CheckConstraint(condition=Q(rate__gte=0, rate__lte=1), name="national_fault_rate_range"),
        ]

    def __str__(self) -> str:
        return f"障害注入 {self.mode}"
