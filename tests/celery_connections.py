"""Celery connection state of the test process, shared by the modules that run real workers."""

import contextlib


def drop_celery_connections(app) -> None:
    """Forget pooled broker connections and the result backend.

    After a module switched brokers (they name the old Redis), and before anything forks this
    process: kombu's after-fork hook closes inherited channels, and one left waiting on a BRPOP
    (a control ping's reply queue) blocks the child for ever (tests/test_generate_prefecture's
    multiprocessing load hung so).
    """
    from kombu import pools

    pools.reset()  # closes every pooled connection and forgets the pools (they are keyed by URL)
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    backend = app._backend
    if backend is not None:
        with contextlib.suppress(Exception):
            consumer = backend.__dict__.get("result_consumer")
            if consumer is not None and consumer._pubsub is not None:
                consumer._pubsub.close()
            backend.client.connection_pool.disconnect()
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)
