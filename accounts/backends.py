"""Authentication backends: the login lockout (django-axes), first in `AUTHENTICATION_BACKENDS`, and the answer a
locked-out login gets on every path (`AXES_LOCKOUT_CALLABLE`)."""

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username, get_cool_off, get_cool_off_iso8601, get_failure_limit
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from insurance.core.errors import error_response, is_api_request

LOCKED_OUT_CODE = "locked_out"


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a login while its username and IP address are locked out; it never logs anyone in itself.

    Lockout is by username and client IP address together, so a call that comes without a request (the test
    client's `login()`, a shell) has no client to count or lock out: it goes on to the next backend, as axes
    records nothing for it either. Every login path, ours, the admin's and the API's token login, passes the request.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs
    ):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_message(request: HttpRequest) -> str:
    """What a locked-out login is told, the same on every path: why, and for how long."""
    cool_off = get_cool_off(request)
    if cool_off is None:
        return "Too many failed logins for this username from this address: an administrator has to unlock it."
    minutes = max(1, round(cool_off.total_seconds() / 60))
    return (
        f"Too many failed logins for this username from this address: try again in {minutes} minutes. Each "
        "further attempt while locked starts the wait again."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """axes' answer to a locked-out login (status `AXES_HTTP_RESPONSE_CODE`, 429): the API's error body under
    /api/ (the token login), the lockout page everywhere else (our login page and the admin's)."""
    status = settings.AXES_HTTP_RESPONSE_CODE
    cool_off = get_cool_off(request)
    if is_api_request(request):
        response = error_response(status_code=status, code=LOCKED_OUT_CODE, message=lockout_message(request))
        if cool_off is not None:
            response["Retry-After"] = str(int(cool_off.total_seconds()))
        return response
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "username": get_client_username(request, credentials) or "",
    }
    if cool_off is not None:
        context.update(cooloff_time=get_cool_off_iso8601(cool_off), cooloff_timedelta=cool_off)
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, context, status=status)
