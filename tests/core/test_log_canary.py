"""Log canary: secrets and personal data planted in real flows never reach the logs, and log lines are structured.

The flows: failed logins (with a lockout) carrying a password and an email as the username, the API's token login
(refused, then given), API calls with a token in the header (valid, invalid, and in the query string), issuing and
using an analytics token, a customer's phone number change, a claim whose description holds the values, and 400
responses whose bodies echo the input. Every logger is
set to DEBUG and everything written is searched: the records as the JSON and plain formatters render them, what the
root handlers actually write, and anything printed to stdout or stderr.
"""

import io
import json
import logging
import sys
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from insurance.core.logging import JsonFormatter, RequestContextMiddleware, request_context
from tests import log_watch
from tests.accounts.factories import TEST_PASSWORD
from tests.claims.conftest import claim_product, fnol, policy  # noqa: F401 (fixtures used by name)

PASSWORD = "Canary-Pa55word-7Q2x!"
EMAIL = "canary.leak+7q2x@example.org"
PHONE = "+44 7700 900417"
IBAN = "GB82WEST12345698765432"
BOGUS_TOKEN = "f00dcafe" * 5
PLAIN = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")


class Capture(logging.Handler):
    """Keeps every record it sees, and its JSON line as written at the time (with the request it was logged in)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


@contextmanager
def all_log_output(caplog):
    """Every logger at DEBUG; yields the capture and a function returning all log text written so far."""
    caplog.set_level(logging.DEBUG)
    loggers = [logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)]
    for logger in loggers:
        caplog.set_level(logging.DEBUG, logger=logger.name)
    capture = Capture()
    isolated = [logging.root, *(logger for logger in loggers if not logger.propagate)]
    for logger in isolated:
        logger.addHandler(capture)
    # What the root handlers configured by LOGGING write, redirected here while the flows run.
    root_streams = {}
    for handler in logging.root.handlers:
        if type(handler) is logging.StreamHandler:
            root_streams[handler] = handler.setStream(io.StringIO())

    def text() -> str:
        parts = [caplog.text, *capture.lines]
        for record in [*caplog.records, *capture.records]:
            parts += [JsonFormatter().format(record), PLAIN.format(record), repr(record.args)]
        parts += [handler.stream.getvalue() for handler in root_streams]
        return "\n".join(parts)

    try:
        yield capture, text
    finally:
        for logger in isolated:
            logger.removeHandler(capture)
        for handler, stream in root_streams.items():
            handler.setStream(stream)


def run_the_flows(personas, policy, api_client, django_capture_on_commit_callbacks) -> dict:  # noqa: F811
    """Runs every flow; returns the secrets that only exist once the flows ran (tokens)."""
    web = Client(REMOTE_ADDR="203.0.113.9")
    # Failed logins: the right username with the planted password, then an email typed as username until lockout.
    assert web.post(reverse("login"), {"username": "alice", "password": PASSWORD}).status_code == 200
    for _ in range(6):
        web.post(reverse("login"), {"username": EMAIL, "password": PASSWORD})
    # The API with a token in the header; a wrong token; a token in the query string.
    token = Token.objects.create(user=personas.alice).key
    me = reverse("accounts-api:me")
    assert APIClient().get(me, HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    assert APIClient().get(me, HTTP_AUTHORIZATION=f"Token {BOGUS_TOKEN}").status_code == 401
    assert APIClient().get(f"{me}?token={token}").status_code == 401
    # The API's login: the planted password refused, then the right one answering the token.
    login = reverse("accounts-api:token")
    assert APIClient().post(login, {"username": "alice", "password": PASSWORD}, format="json").status_code == 400
    response = APIClient().post(login, {"username": "alice", "password": TEST_PASSWORD}, format="json")
    assert response.json()["token"] == token
    # An analytics token issued by the command, then used.
    out = io.StringIO()
    call_command("issue_analytics_token", "analyst", "--name", "canary", stdout=out, stderr=io.StringIO())
    analytics_secret = out.getvalue().strip()
    response = APIClient().get(reverse("analytics-api:dictionary"), HTTP_AUTHORIZATION=f"Token {analytics_secret}")
    assert response.status_code == 200, response.content
    # The customer changes their phone number in the portal (once refused: a bad country code, 400).
    portal = Client()
    portal.force_login(personas.alice)
    profile = {
        "phone": PHONE,
        "address_line1": "1 Canary Row",
        "address_line2": "",
        "city": "Columbus",
        "postal_code": "43004",
        "region": "OH",
    }
    assert portal.post(reverse("accounts:profile"), {**profile, "country": "GBR"}).status_code == 400
    response = portal.post(reverse("accounts:profile"), {**profile, "country": "US"})
    assert response.status_code == 302, response.context["form"].errors
    personas.alice.customer_profile.refresh_from_db()
    assert personas.alice.customer_profile.phone == PHONE
    # A claim whose description holds the values, through the API (scored and decided after commit).
    description = f"Call {PHONE} or {EMAIL}; pay {IBAN}; my password is {PASSWORD}."
    claims_url = reverse("claims-api:claim-list")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(personas.alice).post(
            claims_url, {**fnol(description=description), "policy": policy.number}, format="json"
        )
    assert response.status_code == 201, response.content
    # 400s whose bodies echo the input.
    response = api_client(personas.alice).post(
        claims_url, {**fnol(description=description, loss_type=IBAN), "policy": EMAIL}, format="json"
    )
    assert response.status_code == 400
    assert IBAN in response.content.decode(), "the body echoes the input, so the canary means something"
    return {"API token": token, "analytics token": analytics_secret}


@pytest.mark.django_db
def test_planted_secrets_and_personal_data_never_reach_the_logs(
    personas,
    policy,  # noqa: F811
    api_client,
    caplog,
    capfd,
    django_capture_on_commit_callbacks,
):
    with all_log_output(caplog) as (capture, log_text):
        tokens = run_the_flows(personas, policy, api_client, django_capture_on_commit_callbacks)
        logged = log_text()
    printed = "".join(capfd.readouterr())
    assert "AXES: Locking out" in logged, "the capture sees the flows' logs"
    assert "Unauthorized" in logged
    # Each line is one JSON object; those written while serving a request name it, and its user once known.
    entries = [json.loads(line) for line in capture.lines]
    refused = [entry for entry in entries if entry["logger"] == "django.request" and entry.get("status_code") == 400]
    assert refused
    assert all(len(entry["request_id"]) == 32 for entry in refused)
    assert refused[-1]["user_id"] == personas.alice.pk
    planted = {"password": PASSWORD, "email": EMAIL, "phone": PHONE, "IBAN": IBAN, **tokens}
    planted["phone (digits)"] = PHONE.replace(" ", "")
    for what, value in planted.items():
        assert value not in logged, f"the {what} was logged:\n" + "\n".join(
            line for line in logged.splitlines() if value in line
        )
        assert value not in printed, f"the {what} was printed"


def test_json_lines_carry_time_level_logger_message_and_the_request(rf, django_user_model):
    record = logging.LogRecord("claims.services", logging.WARNING, __file__, 1, "claim %s held", (42,), None)
    assert request_context() == {}
    entry = json.loads(JsonFormatter().format(record))
    assert {key: entry[key] for key in ("level", "logger", "message")} == {
        "level": "WARNING",
        "logger": "claims.services",
        "message": "claim 42 held",
    }
    assert entry["time"].endswith("+00:00")
    assert "request_id" not in entry

    user = django_user_model(pk=7, username="someone")
    seen = {}

    def view(request):
        request.user = user
        seen.update(json.loads(JsonFormatter().format(record)))
        return HttpResponse()

    response = RequestContextMiddleware(view)(rf.get("/", HTTP_X_REQUEST_ID="req-0123456789"))
    assert (seen["request_id"], seen["user_id"]) == ("req-0123456789", 7)
    assert response.headers["X-Request-ID"] == "req-0123456789"
    # A request id that could forge log content is replaced with a fresh one.
    response = RequestContextMiddleware(view)(rf.get("/", HTTP_X_REQUEST_ID='x"\n{"level": "INFO"}'))
    assert seen["request_id"] == response.headers["X-Request-ID"]
    assert len(seen["request_id"]) == 32


def test_a_traceback_stays_inside_its_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_the_suite_wide_watch_names_the_test_and_the_kind_of_secret_never_the_secret():
    """tests/log_watch.py fails the run on a hit: a planted value in a message, its arguments or its traceback."""
    secret = "planted-" + "9f3c" * 6
    log_watch.watch(secret, "a test secret")
    handler = log_watch.Leak()
    handler.current_test = "tests/x.py::test_y"
    logger = logging.getLogger("tests.log_watch.probe")
    logger.propagate = False  # only this handler, not the run's own watch, sees the planted leaks
    logger.addHandler(handler)
    try:
        logger.warning("nothing to see")
        logger.warning("login for %s", {"password": secret})
        try:
            raise ValueError(secret)
        except ValueError:
            logger.exception("failed")
        logger.warning("sent", extra={"body": f"token={secret}"})
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        log_watch._watched.pop(secret)
    where = "tests/x.py::test_y: a test secret in a {} record of 'tests.log_watch.probe'"
    assert handler.leaks == [where.format("WARNING"), where.format("ERROR"), where.format("WARNING")]
    assert all(secret not in leak for leak in handler.leaks)


@pytest.mark.django_db
def test_the_suite_wide_watch_knows_every_api_token_made(personas):
    """Tokens from any path (here the model itself) are watched, not only those the api_client fixture made."""
    key = Token.objects.create(user=personas.bob).key
    handler = log_watch.Leak()
    handler.current_test = "tests/x.py::test_z"
    logger = logging.getLogger("tests.log_watch.token_probe")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.info("header was Token %s", key)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        log_watch._tokens.discard(key)
    assert handler.leaks == ["tests/x.py::test_z: an API token in a INFO record of 'tests.log_watch.token_probe'"]
