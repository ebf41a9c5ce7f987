"""Background work of provision (thin: each task calls one service)."""

from celery import shared_task


@shared_task(name="provision.fuhyo_my_number_erase", time_limit=120, soft_time_limit=100, ignore_result=True)
def fuhyo_my_number_erase() -> int:
    """Beat, every minute: erase the fuhyo 個人番号 temporary rows whose window has closed."""
    from fuhyo.services_my_number import my_number_temporary_erase_expired

    return my_number_temporary_erase_expired()
