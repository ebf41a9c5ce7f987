from celery import shared_task


@shared_task(name="jukinet.ping", time_limit=10, soft_time_limit=5)
def ping() -> str:
    """Liveness probe: proves a worker is consuming the broker."""
    return "pong"
