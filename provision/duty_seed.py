"""The duties (事務) the registry starts with: real entries of 住基法別表第五 and 別表第六.

Read by the data migration ``0003_seed_duties`` and by :func:`seed_if_empty` (provision/apps.py
calls it after ``migrate`` and after a test database flush, and it does nothing when any duty
exists). System administrators keep the registry in the console from then on.

CAUTION — confirm before production. The item numbers in the codes (``5-13``, ``6-1`` …) and
the article/item citations in ``legal_basis`` were written without access to the current text
of the law: they follow the order of the tables as far as it is known here, and are placeholders
until checked against the 住民基本台帳法 in force (e-Gov 法令検索) and the prefecture's own
条例. The duty names and the two entries the assessment names (地方税 — 別表第五; 特別支援学校
への就学のため必要な経費の支弁 — 別表第六) are taken from the assessment itself
(../shared/reference/assessment.txt, 提供・移転の記載). Whether the 個人番号 may be given
follows 番号法 (its 別表 / 第9条), also to be confirmed duty by duty.

The 附票 file serves only the duties for which the assessment describes 附票本人確認情報 being
provided or transferred (住基法第30条の44の6第3項): here the two it names.
"""

ALL_ITEMS = ["juminhyo_code", "name", "name_kana", "birth_date", "sex", "address", "change_reason", "changed_on"]
BOTH_FILES = ["honnin", "fuhyo"]
HONNIN = ["honnin"]

_B5 = "住民基本台帳法第30条の15第1項・別表第五第{item}号（{law}）"
_B6 = "住民基本台帳法第30条の15第2項・別表第六第{item}号（{law}）"
_FUHYO = "；附票は同法第30条の44の6第3項"

SEED_DUTIES: list[dict] = [
    # --- 別表第五: 移転 to the governor's own departments -------------------------------------
    {
        "code": "5-2",
        "name": "旅券法による一般旅券の発給又は返納に関する事務",
        "legal_basis": _B5.format(item="二", law="旅券法"),
        "recipient": "県民生活部 旅券センター",
        "files": HONNIN,
        "items": ALL_ITEMS,
        "my_number_allowed": False,
    },
    {
        "code": "5-4",
        "name": "児童扶養手当法による児童扶養手当の支給に関する事務",
        "legal_basis": _B5.format(item="四", law="児童扶養手当法"),
        "recipient": "福祉部 こども支援課",
        "files": HONNIN,
        "items": ALL_ITEMS,
        "my_number_allowed": True,
    },
    {
        "code": "5-7",
        "name": "生活保護法による保護の決定及び実施又は徴収金の徴収に関する事務",
        "legal_basis": _B5.format(item="七", law="生活保護法"),
        "recipient": "福祉部 社会福祉課",
        "files": HONNIN,
        "items": ALL_ITEMS,
        "my_number_allowed": True,
    },
    {
        "code": "5-9",
        "name": "特別児童扶養手当等の支給に関する法律による特別児童扶養手当の支給に関する事務",
        "legal_basis": _B5.format(item="九", law="特別児童扶養手当等の支給に関する法律"),
        "recipient": "福祉部 障害者福祉推進課",
        "files": HONNIN,
        "items": ALL_ITEMS,
        "my_number_allowed": True,
    },
    {
        "code": "5-13",
        "name": "地方税の賦課徴収又は地方税に関する調査に関する事務",
        "legal_basis": _B5.format(item="十三", law="地方税法") + _FUHYO,
        "recipient": "総務部 税務局",
        "files": BOTH_FILES,
        # The assessment's list: 住民票コード、氏名、生年月日、性別、住所、個人番号、異動事由、異動年月日.
        "items": ALL_ITEMS,
        "my_number_allowed": True,
    },
    {
        "code": "5-20",
        "name": "宅地建物取引業法による宅地建物取引士の登録又はその移転に関する事務",
        "legal_basis": _B5.format(item="二十", law="宅地建物取引業法"),
        "recipient": "都市整備部 建築安全課",
        # The register keeps name, birth date and address; kana and sex are not needed for it.
        "files": HONNIN,
        "items": ["juminhyo_code", "name", "birth_date", "address", "change_reason", "changed_on"],
        "my_number_allowed": False,
    },
    {
        "code": "5-25",
        "name": "難病の患者に対する医療等に関する法律による特定医療費の支給に関する事務",
        "legal_basis": _B5.format(item="二十五", law="難病の患者に対する医療等に関する法律"),
        "recipient": "保健医療部 疾病対策課",
        "files": HONNIN,
        "items": ALL_ITEMS,
        "my_number_allowed": True,
    },
    # --- 別表第六: 提供 to the prefecture's other executive bodies ----------------------------
    {
        "code": "6-1",
        "name": "教育委員会における特別支援学校への就学のため必要な経費の支弁に関する事務",
        "legal_basis": _B6.format(item="一", law="特別支援学校への就学奨励に関する法律") + _FUHYO,
        "recipient": "教育委員会",
        "files": BOTH_FILES,
        # The assessment's list: 住民票コード、氏名、生年月日、性別、住所、個人番号、異動事由、異動年月日.
        "items": ALL_ITEMS,
        "my_number_allowed": True,
    },
    {
        "code": "6-3",
        "name": "教育委員会における教育職員免許法による免許状の授与、再授与又は失効に関する事務",
        "legal_basis": _B6.format(item="三", law="教育職員免許法"),
        "recipient": "教育委員会",
        "files": HONNIN,
        "items": ALL_ITEMS,
        "my_number_allowed": False,
    },
    {
        "code": "6-5",
        "name": "教育委員会における高等学校等就学支援金の支給に関する法律による就学支援金の支給に関する事務",
        "legal_basis": _B6.format(item="五", law="高等学校等就学支援金の支給に関する法律"),
        "recipient": "教育委員会",
        "files": HONNIN,
        "items": ALL_ITEMS,
        "my_number_allowed": True,
    },
    {
        "code": "6-8",
        "name": "公安委員会における道路交通法による運転免許に関する事務",
        "legal_basis": _B6.format(item="八", law="道路交通法"),
        "recipient": "公安委員会",
        # The licence records the holder's present name, birth date and address only.
        "files": HONNIN,
        "items": ["juminhyo_code", "name", "name_kana", "birth_date", "sex", "address"],
        "my_number_allowed": False,
    },
]


def seed(duty_model, *, using: str = "default") -> int:
    """Create the seed duties that are missing (by code); never changes an existing one."""
    rows = duty_model.objects.using(using)
    existing = set(rows.values_list("code", flat=True))
    missing = [duty_model(**entry) for entry in SEED_DUTIES if entry["code"] not in existing]
    rows.bulk_create(missing)
    return len(missing)


def seed_if_empty(duty_model, *, using: str = "default") -> int:
    """After a flush (TransactionTestCase) the registry is empty: put the seed back.

    A registry holding any duty is the administrators' and is left alone, so a duty they
    removed is not brought back by the next ``migrate``.
    """
    if duty_model.objects.using(using).exists():
        return 0
    return seed(duty_model, using=using)
