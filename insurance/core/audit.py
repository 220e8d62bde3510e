"""Who did it: the actor recorded on every history row.

A service runs its writes inside `acting_as(actor)`; Celery tasks and management commands run as named system
accounts (`settings.SYSTEM_ACCOUNTS`). Outside both, simple-history falls back to the request's user, set by its
middleware. A history row therefore names a person or a system account, never nobody, whatever wrote it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

_current_actor: ContextVar = ContextVar("current_actor", default=None)


@contextmanager
def acting_as(actor) -> Iterator[None]:
    """Record `actor` as the user of every history row written inside the block."""
    token = _current_actor.set(actor)
    try:
        yield
    finally:
        _current_actor.reset(token)


def current_actor():
    """The actor set by the innermost `acting_as`, or None."""
    return _current_actor.get()


def history_user(instance=None, request=None, **kwargs):
    """simple-history's `get_user`: the explicit actor first, then the request's authenticated user."""
    actor = _current_actor.get()
    if actor is not None and getattr(actor, "pk", None) is not None:
        return actor
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return None


def system_account(kind: str):
    """The system user named in `settings.SYSTEM_ACCOUNTS[kind]` ("celery" or "command"), created if missing.

    System accounts cannot log in (inactive, unusable password); `restrict` lets them reach every row. The data
    migration creates them; should one be missing, it is created here with itself as the actor of its history row,
    and two processes racing to create it both end up with the same row.
    """
    username = settings.SYSTEM_ACCOUNTS[kind]
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is not None:
        return user
    user = user_model(username=username, is_active=False, is_system=True)
    user.set_unusable_password()
    user._history_user = user
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        return user_model.objects.get(username=username)
    return user
