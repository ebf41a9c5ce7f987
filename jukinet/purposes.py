"""Why an operator searches, views, prints or asks the national server (the duty it serves).

Every look-up at a staff terminal names one of these, and the access log records it, so that a
review can ask "was this search needed for the work?" (the assessment's 業務上必要のない検索の
確認). The list follows the duties of the assessment's 事務の内容 for both files; a free-text
reference (受付番号, 照会文書番号 …) goes beside it.
"""

from django.db import models


class Purpose(models.TextChoices):
    PROVISION_INQUIRY = "provision", "他の執行機関・他部署からの照会への対応（提供・移転）"
    DISCLOSURE = "disclosure", "開示請求への対応"
    CORRECTION = "correction", "訂正等の申出への対応"
    INQUIRY = "inquiry", "本人・市町村からの問合せへの対応"
    NOTICE_CHECK = "notice", "更新通知・整合性の確認"
    NATIONAL_INQUIRY = "national", "機構からの照会・確認への対応"


REFERENCE_MAX_LENGTH = 40
