"""The fuhyo side's 個人番号 temporary area (DESIGN.md §3, §4.3, §5; docs/provision.md).

When a fuhyo lookup asks for the 個人番号 under a duty where 番号法 allows it, the number is
fetched from honnin by 住民票コード through :func:`honnin.handover.my_number_for_fuhyo` (the
only import of ``honnin`` this app has), sealed here for the redelivery window, and handed
back. The assessment: the number is kept "一時的に" only so that a receiver who failed to
receive it can have it again, and "一時的な保存後にシステムにて自動判別し消去する".

* The blob is AES-256-GCM under the field keyring, bound to the provision id and the 住民票
  コード, so a row copied to another provision or person does not open.
* ``expires_at`` = creation + ``settings.FUHYO_MY_NUMBER_WINDOW_SECONDS``; a redelivery after it
  is refused even if the row has not been erased yet.
* The beat task deletes expired rows with a plain DELETE (no history table, no soft delete) and
  logs how many, never which.

Only ``provision`` calls this module (an import contract in pyproject.toml): it checks the
client, the duty and the file first.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit import access_log, context
from fuhyo.models import MyNumberTemporary
from honnin.handover import my_number_for_fuhyo
from jukinet.crypto import get_keyring
from jukinet.errors import Conflict, NotFound

logger = logging.getLogger(__name__)

# The first hand-over and at most three redeliveries: a client that fails to receive four
# times has a problem no fifth copy of the number will fix.
MAX_DELIVERIES = 4
ERASE_ACTION = "fuhyo.my_number_erase"


class RedeliveryUnavailable(NotFound):
    code = "E_REDELIVERY_UNAVAILABLE"
    message = "再提供できる個人番号がありません（提供IDが違うか、再提供の期限が過ぎています）。"


class RedeliveryLimit(Conflict):
    code = "E_REDELIVERY_LIMIT"
    message = f"この提供の個人番号は再提供の上限（{MAX_DELIVERIES - 1}回）に達しました。改めて照会してください。"


@dataclass(frozen=True)
class HandedNumber:
    juminhyo_code: str
    my_number: str = field(repr=False)
    expires_at: dt.datetime


def window() -> dt.timedelta:
    return dt.timedelta(seconds=settings.FUHYO_MY_NUMBER_WINDOW_SECONDS)


def _context(provision_id: str, juminhyo_code: str) -> str:
    return f"fuhyo.my_number_temporary|{provision_id}|{juminhyo_code}"


def my_number_temporary_store(
    *, provision_id: str, juminhyo_code: str, now: dt.datetime | None = None
) -> HandedNumber | None:
    """Fetch the 個人番号 through the one door, keep it sealed for the window, hand it back.

    None when honnin holds no 個人番号 for the code (nothing is stored then). Runs inside the
    caller's transaction, so the row and the provision record commit together.
    """
    number = my_number_for_fuhyo(juminhyo_code)
    if number is None:
        return None
    now = now or timezone.now()
    row = MyNumberTemporary.objects.create(
        provision_id=provision_id,
        juminhyo_code=juminhyo_code,
        my_number=get_keyring().encrypt(number, context=_context(provision_id, juminhyo_code)),
        created_at=now,
        expires_at=now + window(),
        deliveries=1,
    )
    return HandedNumber(juminhyo_code, number, row.expires_at)


@transaction.atomic
def my_number_temporary_redeliver(*, provision_id: str, now: dt.datetime | None = None) -> list[HandedNumber]:
    """Hand the numbers of one provision over again, within the window; counts each delivery.

    Raises :class:`RedeliveryUnavailable` when nothing of that provision is left in the window
    and :class:`RedeliveryLimit` after :data:`MAX_DELIVERIES` hand-overs.
    """
    now = now or timezone.now()
    # FOR UPDATE: two redeliveries at once must not both pass the limit on the same count.
    rows = list(
        MyNumberTemporary.objects.select_for_update()
        .filter(provision_id=provision_id, expires_at__gt=now)
        .order_by("juminhyo_code")
    )
    if not rows:
        raise RedeliveryUnavailable()
    if any(row.deliveries >= MAX_DELIVERIES for row in rows):
        raise RedeliveryLimit()
    keyring = get_keyring()
    handed = []
    for row in rows:
        number = keyring.decrypt(row.my_number, context=_context(row.provision_id, row.juminhyo_code))
        handed.append(HandedNumber(row.juminhyo_code, number, row.expires_at))
    MyNumberTemporary.objects.filter(pk__in=[row.pk for row in rows]).update(deliveries=F("deliveries") + 1)
    return handed


def my_number_temporary_erase_expired(*, now: dt.datetime | None = None) -> int:
    """Delete every row whose window has closed; log the count (never a code or a number)."""
    now = now or timezone.now()
    with context.acting(actor_kind="system", actor="fuhyo-erase"), transaction.atomic():
        erased, _ = MyNumberTemporary.objects.filter(expires_at__lte=now).delete()
        if erased:
            access_log.log_event(
                action=ERASE_ACTION, target_file="fuhyo", detail=f"再提供期限を過ぎた個人番号の一時保存を{erased}件消去"
            )
    if erased:
        logger.info("fuhyo 個人番号 temporary area: erased %d expired rows", erased)
    return erased
