"""The disclosure desk (DESIGN.md §4.4): requests a resident makes across the counter.

* :class:`DisclosureRequest` — 本人確認情報の開示請求 (住基法第30条の32), for either file.
* :class:`CorrectionRequest` — 訂正・追加・削除の申出 (第30条の35): received → investigating (the
  municipality asked) → corrected (through the municipality's own notice) / not corrected.
* :class:`ProvisionStatusRequest` — 提供状況の開示: the provisions of one resident's record.
* :class:`Inquiry` — every inquiry received, with its answer and who gave it.

The desk requests share who asked, how, and how their identity was checked
(:class:`DeskRequest`). Disclosure is free of charge: there is no fee field on purpose.
"""

from django.db import models
from django.db.models import Q

from jukinet.fields import Sex

FILES = [("honnin", "本人確認情報"), ("fuhyo", "附票本人確認情報")]


class Channel(models.TextChoices):
    COUNTER = "counter", "窓口"
    POST = "post", "郵送"
    ONLINE = "online", "電子申請"


class Relation(models.TextChoices):
    SELF = "self", "本人"
    LEGAL_AGENT = "agent", "法定代理人"


class IdDocument(models.TextChoices):
    """How the requester's identity was checked (本人確認の方法)."""

    MY_NUMBER_CARD = "my_number_card", "個人番号カード"
    DRIVER_LICENSE = "driver_license", "運転免許証"
    PASSPORT = "passport", "旅券"
    RESIDENCE_CARD = "residence_card", "在留カード・特別永住者証明書"
    JUKI_CARD = "juki_card", "住民基本台帳カード（写真付き）"
    TWO_DOCUMENTS = "two_documents", "健康保険証等の書類2点"
    COPY_BY_POST = "copy_by_post", "本人確認書類の写し（郵送）と住民票の写し"
    ELECTRONIC_SIGNATURE = "e_signature", "電子署名（公的個人認証）"


class DeskRequest(models.Model):
    """Who asked, when, by which channel, and how their identity was checked."""

    request_no = models.CharField("受付番号", max_length=20, unique=True)
    file = models.CharField("ファイル", max_length=8, choices=FILES)
    channel = models.CharField("受付方法", max_length=8, choices=Channel.choices)
    received_on = models.DateField("受付日")
    received_by = models.CharField("受付者（操作者ID）", max_length=40)
    requester_name = models.CharField("請求者氏名", max_length=120)
    relation = models.CharField("請求者と本人の関係", max_length=8, choices=Relation.choices)
    agent_basis = models.CharField("法定代理人の資格", max_length=100, blank=True)  # 親権者, 成年後見人 …
    id_document = models.CharField("本人確認の方法", max_length=20, choices=IdDocument.choices)
    id_document_note = models.CharField("本人確認の記録", max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class MatchResult(models.TextChoices):
    MATCHED = "matched", "一致（4情報・住民票コード）"
    MISMATCH_ACCEPTED = "mismatch_accepted", "一部不一致（窓口の判断で同一人と確認）"
    NOT_FOUND = "not_found", "該当なし"


class DisclosureState(models.TextChoices):
    RECEIVED = "received", "受付"
    MATCHED = "matched", "突合済み"
    DECIDED = "decided", "決定済み"
    ISSUED = "issued", "交付済み"
    WITHDRAWN = "withdrawn", "取下げ"


class Decision(models.TextChoices):
    DISCLOSE = "disclose", "開示"
    NON_DISCLOSE = "non_disclose", "不開示"


class DisclosureRequest(DeskRequest):
    """開示請求: the subject's 4情報 as the requester wrote them, the 突合, the decision."""

    subject_name = models.CharField("本人氏名", max_length=120)
    subject_name_kana = models.CharField("本人ふりがな", max_length=120)
    subject_birth_date = models.DateField("本人生年月日")
    subject_sex = models.CharField("本人性別", max_length=1, choices=Sex.choices)
    subject_address = models.CharField("本人住所", max_length=255)
    subject_juminhyo_code = models.CharField("請求書記載の住民票コード", max_length=11, blank=True)
    include_history = models.BooleanField("履歴（修正前の情報）も開示", default=False)
    state = models.CharField("状態", max_length=12, choices=DisclosureState.choices, default=DisclosureState.RECEIVED)
    matched_code = models.CharField("突合した住民票コード", max_length=11, blank=True)
    match_result = models.CharField("突合結果", max_length=20, choices=MatchResult.choices, blank=True)
    match_note = models.CharField("突合の記録（不一致の判断）", max_length=300, blank=True)
    matched_by = models.CharField("突合者", max_length=40, blank=True)
    matched_at = models.DateTimeField("突合日時", null=True, blank=True)
    decision = models.CharField("決定", max_length=14, choices=Decision.choices, blank=True)
    decision_reason = models.CharField("不開示の理由", max_length=500, blank=True)
    decided_by = models.CharField("決定者", max_length=40, blank=True)
    decided_on = models.DateField("決定日", null=True, blank=True)
    issued_at = models.DateTimeField("交付日時", null=True, blank=True)

    class Meta:
        verbose_name = "開示請求"
        verbose_name_plural = "開示請求"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=DisclosureState.values), name="disclosure_state_valid"),
            models.CheckConstraint(
                condition=Q(relation="self", agent_basis="") | Q(relation="agent") & ~Q(agent_basis=""),
                name="disclosure_agent_basis",
            ),
            # A mismatch the desk accepted carries the desk's reasons.
            models.CheckConstraint(
                condition=~Q(match_result="mismatch_accepted") | ~Q(match_note=""), name="disclosure_mismatch_noted"
            ),
            models.CheckConstraint(
                condition=~Q(decision="non_disclose") | ~Q(decision_reason=""), name="disclosure_refusal_reasoned"
            ),
        ]
        indexes = [models.Index(fields=["state", "received_on"], name="disclosure_req_state")]

    def __str__(self) -> str:
        return self.request_no


class CorrectionKind(models.TextChoices):
    CORRECT = "correct", "訂正"
    ADD = "add", "追加"
    DELETE = "delete", "削除"


class CorrectionState(models.TextChoices):
    RECEIVED = "received", "受付"
    INVESTIGATING = "investigating", "調査中（市町村に照会）"
    CORRECTED = "corrected", "訂正済み"
    NOT_CORRECTED = "not_corrected", "訂正しない"


class CorrectionRequest(DeskRequest):
    """訂正・追加・削除の申出. The prefecture does not edit the record: the municipality corrects
    it through its own update notice, which this request then points to."""

    disclosure = models.ForeignKey(
        DisclosureRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="corrections"
    )
    juminhyo_code = models.CharField("住民票コード", max_length=11)
    kind = models.CharField("申出の種類", max_length=8, choices=CorrectionKind.choices)
    item = models.CharField("対象の項目", max_length=40)
    requested_value = models.CharField("申出の内容（正しいとする内容）", max_length=300)
    requester_reason = models.CharField("申出の理由", max_length=500, blank=True)
    state = models.CharField("状態", max_length=14, choices=CorrectionState.choices, default=CorrectionState.RECEIVED)
    municipality_code = models.CharField("照会先市町村コード", max_length=6, blank=True)
    asked_on = models.DateField("市町村への照会日", null=True, blank=True)
    corrected_notice_id = models.CharField("訂正した更新通知ID", max_length=40, blank=True)
    corrected_on = models.DateField("訂正日", null=True, blank=True)
    not_corrected_reason = models.CharField("訂正しない理由", max_length=500, blank=True)
    closed_by = models.CharField("完了処理者", max_length=40, blank=True)
    closed_at = models.DateTimeField("完了日時", null=True, blank=True)

    class Meta:
        verbose_name = "訂正等の申出"
        verbose_name_plural = "訂正等の申出"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=CorrectionState.values), name="correction_state_valid"),
            models.CheckConstraint(
                condition=Q(state="received") | ~Q(municipality_code="") & Q(asked_on__isnull=False),
                name="correction_investigation_recorded",
            ),
            models.CheckConstraint(
                condition=~Q(state="corrected") | ~Q(corrected_notice_id="") & Q(corrected_on__isnull=False),
                name="correction_linked_to_notice",
            ),
            models.CheckConstraint(
                condition=~Q(state="not_corrected") | ~Q(not_corrected_reason=""), name="correction_refusal_reasoned"
            ),
            # The second line behind disclosure/services_corrections.py (docs/corrections-and-inquiries.md):
            # an open request carries no outcome, a closed one exactly its own, with who closed it
            # and when. Migration 0002 adds a trigger for the order of the states.
            models.CheckConstraint(
                condition=Q(state__in=["received", "investigating"], closed_by="", closed_at__isnull=True)
                | Q(state__in=["corrected", "not_corrected"]) & ~Q(closed_by="") & Q(closed_at__isnull=False),
                name="correction_closed_by_whom",
            ),
            models.CheckConstraint(
                condition=Q(state="corrected") | Q(corrected_notice_id="", corrected_on__isnull=True),
                name="correction_notice_only_when_corrected",
            ),
            models.CheckConstraint(
                condition=Q(state="not_corrected") | Q(not_corrected_reason=""),
                name="correction_reason_only_when_refused",
            ),
            models.CheckConstraint(condition=Q(kind__in=CorrectionKind.values), name="correction_kind_valid"),
            models.CheckConstraint(condition=Q(juminhyo_code__regex=r"^[0-9]{11}$"), name="correction_code_digits"),
            models.CheckConstraint(
                condition=Q(municipality_code="") | Q(municipality_code__regex=r"^[0-9]{6}$"),
                name="correction_municipality_digits",
            ),
            models.CheckConstraint(condition=~Q(item="") & ~Q(requested_value=""), name="correction_item_and_value"),
        ]
        indexes = [models.Index(fields=["state", "received_on"], name="correction_req_state")]

    def __str__(self) -> str:
        return self.request_no


class ProvisionStatusRequest(DeskRequest):
    """提供状況の開示: the provisions and transfers of one resident's record over a period.

    The subject's 4情報 as written and the 突合 are kept as for a 開示請求 (migration 0003): the
    住民票コード is the one the desk matched, set by the 突合 (empty until then).
    """

    juminhyo_code = models.CharField("住民票コード", max_length=11, blank=True)
    period_from = models.DateField("対象期間（から）")
    period_to = models.DateField("対象期間（まで）")
    issued_at = models.DateTimeField("交付日時", null=True, blank=True)
    subject_name = models.CharField("本人氏名", max_length=120, blank=True)
    subject_name_kana = models.CharField("本人ふりがな", max_length=120, blank=True)
    subject_birth_date = models.DateField("本人生年月日", null=True, blank=True)
    subject_sex = models.CharField("本人性別", max_length=1, choices=Sex.choices, blank=True)
    subject_address = models.CharField("本人住所", max_length=255, blank=True)
    subject_juminhyo_code = models.CharField("請求書記載の住民票コード", max_length=11, blank=True)
    match_result = models.CharField("突合結果", max_length=20, choices=MatchResult.choices, blank=True)
    match_note = models.CharField("突合の記録（不一致の判断）", max_length=300, blank=True)
    matched_by = models.CharField("突合者", max_length=40, blank=True)
    matched_at = models.DateTimeField("突合日時", null=True, blank=True)

    class Meta:
        verbose_name = "提供状況の開示請求"
        verbose_name_plural = "提供状況の開示請求"
        constraints = [
            models.CheckConstraint(condition=Q(period_from__lte=models.F("period_to")), name="provstatus_period"),
            models.CheckConstraint(
                condition=~Q(match_result="mismatch_accepted") | ~Q(match_note=""), name="provstatus_mismatch_noted"
            ),
            # A matched request names its record; only one that found none may go without.
            models.CheckConstraint(
                condition=Q(match_result__in=["", "not_found"], juminhyo_code="")
                | Q(match_result__in=["matched", "mismatch_accepted"], juminhyo_code__regex=r"^[0-9]{11}$"),
                name="provstatus_code_when_matched",
            ),
            models.CheckConstraint(
                condition=Q(issued_at__isnull=True) | Q(match_result__in=["matched", "mismatch_accepted"]),
                name="provstatus_issued_when_matched",
            ),
        ]

    def __str__(self) -> str:
        return self.request_no


class InquiryChannel(models.TextChoices):
    COUNTER = "counter", "窓口"
    PHONE = "phone", "電話"
    POST = "post", "郵送"
    EMAIL = "email", "電子メール"
    OTHER = "other", "その他"


class InquirerKind(models.TextChoices):
    RESIDENT = "resident", "本人"
    AGENT = "agent", "代理人"
    MUNICIPALITY = "municipality", "市町村"
    BODY = "body", "他の機関"
    OTHER = "other", "その他"


class Inquiry(models.Model):
    """問合せ: what was asked, what was answered, by whom (assessment Ⅴ-2)."""

    inquiry_no = models.CharField("受付番号", max_length=20, unique=True)
    received_at = models.DateTimeField("受付日時")
    received_by = models.CharField("受付者", max_length=40)
    channel = models.CharField("受付方法", max_length=8, choices=InquiryChannel.choices)
    inquirer_kind = models.CharField("問合せ者の区分", max_length=14, choices=InquirerKind.choices)
    inquirer_name = models.CharField("問合せ者（任意）", max_length=120, blank=True)
    file = models.CharField("ファイル", max_length=8, choices=FILES, blank=True)
    juminhyo_code = models.CharField("関係する住民票コード（任意）", max_length=11, blank=True)
    subject = models.CharField("問合せ内容", max_length=1000)
    answer = models.CharField("回答", max_length=2000, blank=True)
    answered_by = models.CharField("回答者", max_length=40, blank=True)
    answered_at = models.DateTimeField("回答日時", null=True, blank=True)
    # An answer once given is not edited: a further question or a correction of the answer is a
    # new inquiry that points to the earlier one (migration 0002 makes answered rows immutable).
    follows = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name="前の問合せ",
    )

    class Meta:
        verbose_name = "問合せ"
        verbose_name_plural = "問合せ"
        constraints = [
            models.CheckConstraint(
                condition=Q(answer="", answered_by="", answered_at__isnull=True)
                | ~Q(answer="") & ~Q(answered_by="") & Q(answered_at__isnull=False),
                name="inquiry_answer_complete",
            ),
            models.CheckConstraint(condition=Q(channel__in=InquiryChannel.values), name="inquiry_channel_valid"),
            models.CheckConstraint(condition=Q(inquirer_kind__in=InquirerKind.values), name="inquiry_kind_valid"),
            models.CheckConstraint(
                condition=Q(juminhyo_code="") | Q(juminhyo_code__regex=r"^[0-9]{11}$"), name="inquiry_code_digits"
            ),
            models.CheckConstraint(condition=~Q(subject=""), name="inquiry_subject_present"),
        ]
        indexes = [models.Index(fields=["received_at"], name="inquiry_received")]

    def __str__(self) -> str:
        return self.inquiry_no
