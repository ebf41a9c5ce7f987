"""Who is acting, from where: set once per request (middleware) or task, read by services.

Services write the access log in the same transaction as the action they perform, taking
the actor, terminal and request id from here rather than from their arguments.
"""

import contextvars
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ActorContext:
    actor_kind: str = "anonymous"  # operator / client / system / anonymous
    actor: str = ""  # login ID or client ID
    terminal: str = ""
    request_id: str = ""
    remote_addr: str = ""


_current: contextvars.ContextVar[ActorContext] = contextvars.ContextVar(
    "jukinet_actor",
    default=ActorContext(),  # noqa: B039 - frozen dataclass, immutable
)


def current() -> ActorContext:
    return _current.get()


def new_request_id() -> str:
    return str(uuid.uuid4())


@contextmanager
def acting(context: ActorContext | None = None, **changes):
    """Run a block as an actor (the middleware does this per request; tasks use ``system``)."""
    base = context if context is not None else current()
    token = _current.set(replace(base, **changes) if changes else base)
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def set_for_request(context: ActorContext) -> contextvars.Token:
    return _current.set(context)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)
