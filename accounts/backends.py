"""Authentication backends: the login lockout (django-axes), first in `AUTHENTICATION_BACKENDS`."""

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a login while its username and IP address are locked out; it never logs anyone in itself.

    Lockout is by username and client IP address together, so a call that comes without a request (the test
    client's `login()`, a shell) has no client to count or lock out: it goes on to the next backend, as axes
    records nothing for it either. Every login page, ours and the admin's, passes the request.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs
    ):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
