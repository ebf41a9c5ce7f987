"""都道府県知事保存本人確認情報ファイル: one current row per 住民票コード, plus history.

Field names follow DESIGN.md §3; every 別添２ item is a column (tests/test_models_items.py
lists them). The 個人番号 is stored only as an AES-GCM blob (jukinet/crypto.py) with an
HMAC index; it is read through honnin.selectors, never through the ORM row directly.
"""

from django.db import models
from django.db.models import Q

from jukinet.fields import DIGITS_6, DIGITS_11, Sex, digits_check


class ChangeReason(models.TextChoices):
    """異動事由 (docs/data-model.md has the table with the kind of each)."""

    TENNYU = "転入", "転入"
    SHUSSEI = "出生", "出生"
    SHOKKEN_KISAI = "職権記載", "職権記載"
    KIKA = "帰化", "帰化"
    KOKUSEKI_SHUTOKU = "国籍取得", "国籍取得"
    TENSHUTSU = "転出", "転出"
    SHIBOU = "死亡", "死亡"
    SHISSOU = "失踪宣告", "失踪宣告"
    SHOKKEN_SHOJO = "職権消除", "職権消除"
    KOKUSEKI_SOUSHITSU = "国籍喪失", "国籍喪失"
    TENKYO = "転居", "転居"
    SHOKKEN_SHUSEI = "職権修正", "職権修正"
    SHIMEI_HENKO = "氏名の変更", "氏名の変更"
    CODE_HENKO = "住民票コードの変更", "住民票コードの変更"
    KOJIN_BANGO_HENKO = "個人番号の変更", "個人番号の変更"


ENTRY_REASONS = frozenset({"転入", "出生", "職権記載", "帰化", "国籍取得"})
REMOVAL_REASONS = frozenset({"転出", "死亡", "失踪宣告", "職権消除", "国籍喪失"})


class RetentionFlag(models.TextChoices):
    CURRENT = "0", "現存"
    RETAINED = "1", "消除後保存中"


class HonninItems(models.Model):
    """Every 別添２ item of the honnin file, shared by the current and the history table."""

    juminhyo_code = models.CharField("住民票コード", max_length=11)
    name = models.CharField("漢字氏名", max_length=120)
    name_gaiji_count = models.PositiveSmallIntegerField("外字数（氏名）", default=0)
    name_kana = models.CharField("ふりがな氏名", max_length=120)
    name_seion = models.CharField("清音化かな氏名", max_length=120, editable=False)
    birth_date = models.DateField("生年月日")
    sex = models.CharField("性別", max_length=1, choices=Sex.choices)
    address = models.CharField("住所", max_length=255)
    address_gaiji_count = models.PositiveSmallIntegerField("外字数（住所）", default=0)
    my_number = models.BinaryField("個人番号（暗号化）", null=True, editable=False)
    my_number_index = models.BinaryField("個人番号索引（HMAC）", null=True, editable=False)
    change_reason = models.CharField("異動事由", max_length=16, choices=ChangeReason.choices)
    changed_on = models.DateField("異動年月日")
    retention_flag = models.CharField(
        "保存期間フラグ", max_length=1, choices=RetentionFlag.choices, default=RetentionFlag.CURRENT
    )
    municipality_code = models.CharField("市町村コード", max_length=6)
    oaza_code = models.CharField("大字・字コード", max_length=12, blank=True)
    operator_id = models.CharField("操作者ID", max_length=32, blank=True)
    terminal_id = models.CharField("操作端末ID", max_length=32, blank=True)
    stamped_at = models.DateTimeField("タイムスタンプ")
    notified_on = models.DateField("通知を受けた年月日")
    gaiji_flag = models.BooleanField("外字フラグ", default=False)
    deleted = models.BooleanField("削除フラグ（消除）", default=False)
    update_seq = models.PositiveIntegerField("更新順番号")
    name_gaiji_seq = models.PositiveIntegerField("氏名外字変更連番", default=0)
    address_gaiji_seq = models.PositiveIntegerField("住所外字変更連番", default=0)
    former_surname = models.CharField("旧氏 漢字", max_length=60, blank=True)
    former_surname_gaiji_count = models.PositiveSmallIntegerField("旧氏 外字数", default=0)
    former_surname_kana = models.CharField("旧氏 ふりがな", max_length=60, blank=True)
    former_surname_gaiji_seq = models.PositiveIntegerField("旧氏 外字変更連番", default=0)
    # The code before a 住民票コードの変更, so the link to the old code is kept (not a 別添２ item).
    former_juminhyo_code = models.CharField("旧住民票コード", max_length=11, blank=True)
    # Search key for 旧氏 + given name (derived like name_seion; not a 別添２ item).
    former_name_seion = models.CharField("旧氏清音化かな氏名", max_length=120, blank=True, editable=False)

    class Meta:
        abstract = True


def _structural_constraints(prefix: str) -> list[models.CheckConstraint]:
    """Rules the database itself enforces on both tables."""
    return [
        digits_check("juminhyo_code", DIGITS_11, f"{prefix}_juminhyo_code_digits"),
        digits_check("municipality_code", DIGITS_6, f"{prefix}_municipality_code_digits"),
        models.CheckConstraint(condition=Q(oaza_code__regex=r"^[0-9]*$"), name=f"{prefix}_oaza_code_digits"),
        models.CheckConstraint(condition=Q(sex__in=Sex.values), name=f"{prefix}_sex_valid"),
        models.CheckConstraint(condition=Q(change_reason__in=ChangeReason.values), name=f"{prefix}_reason_valid"),
        models.CheckConstraint(
            condition=Q(retention_flag__in=RetentionFlag.values), name=f"{prefix}_retention_flag_valid"
        ),
        # 外字フラグ is set exactly when some item holds a 外字.
        models.CheckConstraint(
            condition=(
                Q(gaiji_flag=True)
                & (Q(name_gaiji_count__gt=0) | Q(address_gaiji_count__gt=0) | Q(former_surname_gaiji_count__gt=0))
            )
            | Q(gaiji_flag=False, name_gaiji_count=0, address_gaiji_count=0, former_surname_gaiji_count=0),
            name=f"{prefix}_gaiji_flag_consistent",
        ),
        # The encrypted number and its index travel together.
        models.CheckConstraint(
            condition=Q(my_number__isnull=True, my_number_index__isnull=True)
            | Q(my_number__isnull=False, my_number_index__isnull=False),
            name=f"{prefix}_my_number_with_index",
        ),
        models.CheckConstraint(condition=~Q(name_seion=""), name=f"{prefix}_name_seion_present"),
        models.CheckConstraint(condition=Q(update_seq__gte=1), name=f"{prefix}_update_seq_positive"),
    ]


class Resident(HonninItems):
    """The current row of one person (消除者 stay here, flagged, until their retention ends)."""

    class Meta:
        db_table = "honnin_resident"
        verbose_name = "本人確認情報"
        verbose_name_plural = "本人確認情報"
        constraints = [
            models.UniqueConstraint(fields=["juminhyo_code"], name="honnin_one_current_row_per_code"),
            models.UniqueConstraint(fields=["my_number_index"], name="honnin_my_number_index_unique"),
            *_structural_constraints("honnin_resident"),
        ]
        indexes = [
            # 4情報 search shapes (DESIGN.md §4.2): kana name (+ birth date), birth date + sex,
            # address prefix, kanji name prefix, 旧氏; pattern_ops so LIKE 'x%' uses them
            # whatever the database collation.
            models.Index(
                fields=["name_seion", "birth_date"],
                name="honnin_res_seion_birth",
                opclasses=["varchar_pattern_ops", "date_ops"],
            ),
            # Birth date (+ sex) with the kana key behind: a surname + birth month + sex search
            # narrows inside the index instead of reading every entry of the surname.
            models.Index(
                fields=["birth_date", "sex", "name_seion"],
                name="honnin_res_birth_sex_seion",
                opclasses=["date_ops", "text_ops", "varchar_pattern_ops"],
            ),
            models.Index(fields=["address"], name="honnin_res_address_prefix", opclasses=["varchar_pattern_ops"]),
            # Kanji name (exact or prefix) with birth date and address behind it: a name with a
            # birth year or a municipality is answered inside one index (docs/search.md).
            models.Index(
                fields=["name", "birth_date", "address"],
                name="honnin_res_name_birth_addr",
                opclasses=["varchar_pattern_ops", "date_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["former_name_seion"],
                name="honnin_res_former_seion",
                opclasses=["varchar_pattern_ops"],
                condition=~Q(former_name_seion=""),
            ),
            # Municipality scans (consistency checks, statistics).
            models.Index(fields=["municipality_code", "juminhyo_code"], name="honnin_res_muni_code"),
            # The retention run finds 消除者 past their period without reading the current rows.
            models.Index(fields=["notified_on"], name="honnin_res_removed_on", condition=Q(deleted=True)),
        ]

    def __str__(self) -> str:
        # Never the name or the number: this string reaches logs and admin pages.
        return f"本人確認情報 {self.juminhyo_code}"


class ResidentHistory(HonninItems):
    """The previous version of a changed row (修正前の本人確認情報), kept until ``retain_until``."""

    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="history", db_index=False)
    superseded_at = models.DateTimeField("更新日時")
    retain_until = models.DateField("保存期限")

    class Meta:
        db_table = "honnin_resident_history"
        verbose_name = "本人確認情報（履歴）"
        verbose_name_plural = "本人確認情報（履歴）"
        constraints = _structural_constraints("honnin_history")
        indexes = [
            models.Index(fields=["resident", "update_seq"], name="honnin_hist_resident_seq"),
            models.Index(fields=["juminhyo_code"], name="honnin_hist_code"),
            models.Index(fields=["retain_until"], name="honnin_hist_retain_until"),
        ]

    def __str__(self) -> str:
        return f"本人確認情報履歴 {self.juminhyo_code} #{self.update_seq}"
