"""都道府県知事保存附票本人確認情報ファイル: residents who moved abroad (戸籍の附票).

No 個人番号 column exists here by design (DESIGN.md §3, §5): a 個人番号 reaches the fuhyo
side only through the temporary area built with the provision flow, and is erased there.
"""

from django.db import models
from django.db.models import Q

from jukinet.fields import DIGITS_6, DIGITS_11, Sex, digits_check


class FuhyoStatus(models.TextChoices):
    """附票本人確認情報状態区分."""

    CURRENT = "0", "現存"
    REMOVED = "1", "消除"


class NoticeKind(models.TextChoices):
    """通知区分: which kind of 附票 notice produced this version."""

    ENTRY = "1", "記載"
    CHANGE = "2", "修正"
    REMOVAL = "3", "消除"


class FuhyoChangeReason(models.TextChoices):
    """異動事由 of the 附票 file (docs/data-model.md)."""

    KOKUGAI_TENSHUTSU = "国外転出", "国外転出"
    FUHYO_KISAI = "附票記載", "附票記載"
    SHOKKEN_KISAI = "職権記載", "職権記載"
    KIKOKU = "国外からの転入", "国外からの転入"
    SHIBOU = "死亡", "死亡"
    SHOKKEN_SHOJO = "職権消除", "職権消除"
    FUHYO_SHOJO = "附票消除", "附票消除"
    JUSHO_HENKO = "住所の変更", "住所の変更"
    SHOKKEN_SHUSEI = "職権修正", "職権修正"
    SHIMEI_HENKO = "氏名の変更", "氏名の変更"
    CODE_HENKO = "住民票コードの変更", "住民票コードの変更"


FUHYO_ENTRY_REASONS = frozenset({"国外転出", "附票記載", "職権記載"})
FUHYO_REMOVAL_REASONS = frozenset({"国外からの転入", "死亡", "職権消除", "附票消除"})


class FuhyoItems(models.Model):
    """Every 別添２ item of the fuhyo file, shared by the current and the history table."""

    juminhyo_code = models.CharField("住民票コード", max_length=11)
    former_juminhyo_code = models.CharField("旧住民票コード", max_length=11, blank=True)
    name = models.CharField("氏名 漢字", max_length=120)
    name_gaiji_count = models.PositiveSmallIntegerField("氏名 外字数", default=0)
    name_kana = models.CharField("氏名 ふりがな", max_length=120)
    name_seion = models.CharField("清音化かな氏名", max_length=120, editable=False)
    birth_date = models.DateField("生年月日")
    sex = models.CharField("性別", max_length=1, choices=Sex.choices)
    address_municipality_code = models.CharField("住所 市町村コード", max_length=6)
    address = models.CharField("住所 漢字", max_length=255)
    address_gaiji_count = models.PositiveSmallIntegerField("住所 外字数", default=0)
    last_address = models.CharField("最終住所 漢字", max_length=255, blank=True)
    last_address_gaiji_count = models.PositiveSmallIntegerField("最終住所 外字数", default=0)
    changed_on = models.DateField("異動年月日")
    managing_municipality_code = models.CharField("附票管理市町村コード", max_length=6)
    status = models.CharField("附票本人確認情報状態区分", max_length=1, choices=FuhyoStatus.choices)
    notice_kind = models.CharField("通知区分", max_length=1, choices=NoticeKind.choices)
    gaiji_flag = models.BooleanField("外字フラグ", default=False)
    # 外字パターン: one '0'/'1' per item that can hold 外字 (氏名, 住所, 最終住所).
    gaiji_pattern = models.CharField("外字パターン", max_length=3, default="000")
    # Operational columns the update flow needs (not 別添２ items; docs/data-model.md).
    change_reason = models.CharField("異動事由", max_length=16, choices=FuhyoChangeReason.choices)
    update_seq = models.PositiveIntegerField("更新順番号")
    stamped_at = models.DateTimeField("タイムスタンプ")

    class Meta:
        abstract = True


def _structural_constraints(prefix: str) -> list[models.CheckConstraint]:
    return [
        digits_check("juminhyo_code", DIGITS_11, f"{prefix}_juminhyo_code_digits"),
        models.CheckConstraint(
            condition=Q(former_juminhyo_code="") | Q(former_juminhyo_code__regex=DIGITS_11),
            name=f"{prefix}_former_code_digits",
        ),
        digits_check("address_municipality_code", DIGITS_6, f"{prefix}_address_muni_digits"),
        digits_check("managing_municipality_code", DIGITS_6, f"{prefix}_managing_muni_digits"),
        models.CheckConstraint(condition=Q(sex__in=Sex.values), name=f"{prefix}_sex_valid"),
        models.CheckConstraint(condition=Q(status__in=FuhyoStatus.values), name=f"{prefix}_status_valid"),
        models.CheckConstraint(condition=Q(notice_kind__in=NoticeKind.values), name=f"{prefix}_notice_kind_valid"),
        models.CheckConstraint(condition=Q(change_reason__in=FuhyoChangeReason.values), name=f"{prefix}_reason_valid"),
        models.CheckConstraint(condition=Q(gaiji_pattern__regex=r"^[01]{3}$"), name=f"{prefix}_gaiji_pattern"),
        # The pattern, the counts and the flag describe the same 外字 (DESIGN.md §3).
        models.CheckConstraint(
            condition=(
                Q(gaiji_pattern__startswith="1", name_gaiji_count__gt=0)
                | Q(gaiji_pattern__startswith="0", name_gaiji_count=0)
            )
            & (
                Q(gaiji_pattern__regex=r"^.1", address_gaiji_count__gt=0)
                | Q(gaiji_pattern__regex=r"^.0", address_gaiji_count=0)
            )
            & (
                Q(gaiji_pattern__endswith="1", last_address_gaiji_count__gt=0)
                | Q(gaiji_pattern__endswith="0", last_address_gaiji_count=0)
            )
            & (Q(gaiji_flag=True) & ~Q(gaiji_pattern="000") | Q(gaiji_flag=False, gaiji_pattern="000")),
            name=f"{prefix}_gaiji_consistent",
        ),
        models.CheckConstraint(condition=~Q(name_seion=""), name=f"{prefix}_name_seion_present"),
        models.CheckConstraint(condition=Q(update_seq__gte=1), name=f"{prefix}_update_seq_positive"),
    ]


class FuhyoRecord(FuhyoItems):
    """The current row of one person in the 附票 file."""

    class Meta:
        db_table = "fuhyo_record"
        verbose_name = "附票本人確認情報"
        verbose_name_plural = "附票本人確認情報"
        constraints = [
            models.UniqueConstraint(fields=["juminhyo_code"], name="fuhyo_one_current_row_per_code"),
            *_structural_constraints("fuhyo_record"),
        ]
        indexes = [
            models.Index(
                fields=["name_seion", "birth_date"],
                name="fuhyo_rec_seion_birth",
                opclasses=["varchar_pattern_ops", "date_ops"],
            ),
            models.Index(fields=["birth_date", "sex"], name="fuhyo_rec_birth_sex"),
            models.Index(fields=["address"], name="fuhyo_rec_address_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["name"], name="fuhyo_rec_name_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(
                fields=["former_juminhyo_code"], name="fuhyo_rec_former_code", condition=~Q(former_juminhyo_code="")
            ),
            models.Index(fields=["managing_municipality_code", "juminhyo_code"], name="fuhyo_rec_muni_code"),
            # The retention run finds removed rows past their period without reading the current rows.
            models.Index(fields=["stamped_at"], name="fuhyo_rec_removed_at", condition=Q(status="1")),
        ]

    def __str__(self) -> str:
        return f"附票本人確認情報 {self.juminhyo_code}"


class FuhyoHistory(FuhyoItems):
    """The previous version of a changed fuhyo row, kept until ``retain_until``."""

    record = models.ForeignKey(FuhyoRecord, on_delete=models.PROTECT, related_name="history", db_index=False)
    superseded_at = models.DateTimeField("更新日時")
    retain_until = models.DateField("保存期限")

    class Meta:
        db_table = "fuhyo_history"
        verbose_name = "附票本人確認情報（履歴）"
        verbose_name_plural = "附票本人確認情報（履歴）"
        constraints = _structural_constraints("fuhyo_history")
        indexes = [
            models.Index(fields=["record", "update_seq"], name="fuhyo_hist_record_seq"),
            models.Index(fields=["juminhyo_code"], name="fuhyo_hist_code"),
            models.Index(fields=["retain_until"], name="fuhyo_hist_retain_until"),
        ]

    def __str__(self) -> str:
        return f"附票本人確認情報履歴 {self.juminhyo_code} #{self.update_seq}"


class MyNumberTemporary(models.Model):
    """The fuhyo side's 個人番号 temporary area (DESIGN.md §4.3, §5).

    When a fuhyo provision asks for the 個人番号 under a duty that allows it, the number is
    fetched from honnin by 住民票コード through the one permitted service, sealed here with
    an expiry, and handed over; within the window a failed delivery may be repeated. When the
    window closes the beat task deletes the row: no history, no soft delete, nothing left.
    """

    provision_id = models.CharField("提供ID", max_length=40)
    juminhyo_code = models.CharField("住民票コード", max_length=11)
    my_number = models.BinaryField("個人番号（暗号化）")
    created_at = models.DateTimeField("作成日時")
    expires_at = models.DateTimeField("消去期限")
    deliveries = models.PositiveSmallIntegerField("提供回数", default=1)

    class Meta:
        db_table = "fuhyo_my_number_temporary"
        verbose_name = "附票 個人番号一時領域"
        verbose_name_plural = "附票 個人番号一時領域"
        constraints = [
            models.UniqueConstraint(fields=["provision_id", "juminhyo_code"], name="fuhyo_temp_one_per_provision"),
            digits_check("juminhyo_code", DIGITS_11, "fuhyo_temp_code_digits"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="fuhyo_temp_expiry"),
        ]
        indexes = [models.Index(fields=["expires_at"], name="fuhyo_temp_expires")]

    def __str__(self) -> str:
        return f"附票 個人番号一時領域 {self.provision_id}"
