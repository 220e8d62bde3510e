"""Browser tests: Playwright for Python driving Debian's Chromium against a live Django server.

The browser is Debian's `chromium` package at `/usr/bin/chromium` (or `$CHROMIUM_PATH`), headless. Playwright's own
browser downloads are never used: do not run `playwright install`. Without Playwright or Chromium the tests here are
skipped with the reason; with `REQUIRE_BROWSER=1` (CI sets it) they fail instead.

Writing a test (every test under tests/browser/ is marked `browser`, and runs after the rest of the suite):

    from django.urls import reverse
    from playwright.sync_api import expect

    def test_alice_sees_her_claim(page, personas, login_as, screenshot):
        claim = ClaimFactory(policy__holder=personas.alice)      # data written here is seen by the server
        login_as(page, personas.alice)                           # through the real login form
        page.goto(reverse("claims:claim-detail", args=[claim.pk]))  # paths are relative to the live server
        expect(page.get_by_role("heading", level=1)).to_contain_text(claim.number)
        screenshot(page, "claim-detail")                         # var/screenshots/<module>.<test>/01-claim-detail.png

Fixtures:
- `page`: a fresh browser context and page for each test, its base URL the live server's (`page.goto("/claims/")`
  works), 10 s timeouts. The test gets a transactional database (pytest-django's `live_server`), so rows the test
  creates are committed and the server thread sees them, and rows the server writes are visible to the test.
  The page is watched: a console error, an uncaught JavaScript exception, any 5xx answer, a 4xx answer to a static
  file, script, stylesheet, image or font, or a request that fails outright fails the test at teardown, listing each.
  A test that provokes one on purpose asserts it and removes it from `page_problems`. At teardown the fixture waits
  (5 s at most) for the requests still under way, so an asset of the last page is judged too. The server runs in this
  process: the `settings` fixture, `mail.outbox` and eager Celery tasks work as in any other test.
- `page_problems`: that list of problems (strings), for the rare test that expects one.
- `login_as(page, user, password=TEST_PASSWORD)`: logs in through the login form and waits until the browser has left
  it; gives the user the known test password first if theirs differs (factory users already have it). Raises with the
  form's error when the login is refused.
- `screenshot(page, name)`: a full-page PNG under `var/screenshots/<module>.<test>/`, numbered in the order taken
  (`01-login.png`, `02-home.png`...); the folder is emptied when the test starts. A failing test also leaves
  `failure.png` there. `var/` is git-ignored: screenshots are never committed.
- `browser` (session): the one headless Chromium of the run. `live_server` (session) is pytest-django's, started with
  a MEDIA_URL Django's live server can parse (see its docstring); `live_server.url` is the site's address.

Why `DJANGO_ALLOW_ASYNC_UNSAFE` is set while the browser runs: Playwright's sync API drives its asyncio event loop
from a greenlet on the main thread and leaves that loop marked as running between calls, so Django's async-safety
check sees a running loop in the test's thread and refuses every ORM call (factories, assertions, pytest-django's
flush after the test) with SynchronousOnlyOperation. No coroutine of ours ever touches the ORM there: the loop only
carries Playwright's messages to the browser, and Django serves requests in the live server's own thread, which has
no loop. So the check is switched off only from the start of the Playwright driver to its stop, and the browser tests
are ordered after every other test so that no other test runs in that window.
"""

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.urls import reverse

from tests.accounts.factories import TEST_PASSWORD

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS_DIR = Path(settings.BASE_DIR) / "var" / "screenshots"
TIMEOUT_MS = 10_000
SETTLE_SECONDS = 5
VIEWPORT = {"width": 1280, "height": 800}
# Answers below 500 are a page's business (a scope test expects a 404), except for these kinds of resources.
STATIC_RESOURCE_TYPES = frozenset({"stylesheet", "script", "image", "font", "media"})
# Chromium repeats every failed load in the console; the network listeners below judge those precisely instead.
CONSOLE_LOAD_FAILURE = "Failed to load resource"
PLAYWRIGHT_MISSING = "Playwright for Python is not installed (pip install -r requirements/dev.txt)"


def browser_unavailable() -> str | None:
    """Why browser tests cannot run on this machine, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return PLAYWRIGHT_MISSING
    if not (os.path.isfile(CHROMIUM_PATH) and os.access(CHROMIUM_PATH, os.X_OK)):
        return f"no Chromium at {CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)"
    return None


def _is_browser_test(item: pytest.Item) -> bool:
    return Path(__file__).parent in Path(item.path).parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the browser tests, skip them when no browser is here, and run them last (see the module docstring)."""
    browser_items = [item for item in items if _is_browser_test(item)]
    if not browser_items:
        return
    reason = browser_unavailable()
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
        if reason and not os.environ.get("REQUIRE_BROWSER"):
            item.add_marker(pytest.mark.skip(reason=f"browser test: {reason}"))
    others = [item for item in items if not _is_browser_test(item)]
    items[:] = others + browser_items


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """Without Playwright a browser test module cannot even be imported: report that as a skip, with the reason."""
    report = yield
    reason = browser_unavailable()
    if (
        report.failed
        and isinstance(collector, pytest.Module)
        and reason == PLAYWRIGHT_MISSING
        and not os.environ.get("REQUIRE_BROWSER")
    ):
        report.outcome = "skipped"
        report.longrepr = (str(collector.path), None, f"Skipped: browser test: {reason}")
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the test, so the page fixture knows at teardown whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """The run's headless Chromium, Debian's build (never one Playwright downloads)."""
    reason = browser_unavailable()
    if reason:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # from here until the driver stops: see the module docstring
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH,
            headless=True,
            # Containers have a small /dev/shm; Chromium then writes shared memory to /tmp instead of crashing.
            args=["--disable-dev-shm-usage"],
        )
        expect.set_options(timeout=TIMEOUT_MS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator:
    """pytest-django's live server, started with a MEDIA_URL its media handler can read.

    Django's LiveServerThread always puts a handler for MEDIA_URL in front of the site, and it cannot parse our
    `MEDIA_URL = None` (uploads are served only by permission-checked views), so every request would answer 500.
    A URL with a host makes that handler pass every request on: nothing is served from MEDIA_ROOT behind the
    views' backs. The handler reads the setting once, while the server starts.
    """
    from django.test import override_settings
    from pytest_django.live_server_helper import LiveServer

    address = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    with override_settings(MEDIA_URL="http://media.invalid/"):
        server = LiveServer(address)
    yield server
    server.stop()


def _is_static(url: str) -> bool:
    return urlparse(url).path.startswith(urlparse(settings.STATIC_URL).path)


def _watch(page, problems: list[str]) -> set:
    """Record on `problems` whatever a person would see as broken: script errors and assets that did not load.

    Returns the set of requests still under way, so that teardown can wait for the last ones to be judged.
    """
    pending: set = set()
    page.on("request", lambda request: pending.add(request))
    page.on("requestfinished", lambda request: pending.discard(request))
    page.on("requestfailed", lambda request: pending.discard(request))

    def on_console(message) -> None:
        if message.type == "error" and not message.text.startswith(CONSOLE_LOAD_FAILURE):
            where = message.location.get("url", "")
            problems.append(f"console error: {message.text}" + (f" ({where})" if where else ""))

    answered_with_error: set[tuple[str, str]] = set()

    def on_response(response) -> None:
        request = response.request
        if response.status >= 400:
            answered_with_error.add((request.method, request.url))
        if response.status >= 500 or (
            response.status >= 400 and (request.resource_type in STATIC_RESOURCE_TYPES or _is_static(response.url))
        ):
            problems.append(f"{response.status} for {request.resource_type} {request.method} {response.url}")

    def on_request_failed(request) -> None:
        if (request.method, request.url) in answered_with_error:
            return  # Chromium drops the body of a failed asset (ERR_ABORTED): its status was judged above
        if request.resource_type == "document" and request.failure == "net::ERR_ABORTED":
            return  # a navigation replaced by the next one (a click before the last page finished): nothing is lost
        problems.append(f"request failed ({request.failure}): {request.resource_type} {request.method} {request.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught JavaScript error: {error}"))
    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)
    return pending


def _settle(page, pending: set) -> None:
    """Wait (a few seconds at most) until the page has loaded and no request of it is under way."""
    page.wait_for_load_state("load")
    deadline = time.monotonic() + SETTLE_SECONDS
    while pending and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # lets Playwright deliver the events of the requests still under way


@pytest.fixture
def page_problems() -> list[str]:
    """Problems the `page` fixture saw; a test that causes one on purpose asserts it and removes it."""
    return []


def _screenshot_dir(request: pytest.FixtureRequest) -> Path:
    name = f"{request.module.__name__.rsplit('.', 1)[-1]}.{request.node.name}"
    return SCREENSHOTS_DIR / re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


@pytest.fixture
def page(browser, live_server, page_problems, request: pytest.FixtureRequest) -> Iterator:
    """A fresh context and page on the live server, watched for errors (see the module docstring)."""
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    pending = _watch(page, page_problems)
    yield page
    try:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed and not page.is_closed():
            directory = _screenshot_dir(request)
            directory.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=directory / "failure.png", full_page=True)
        if not page.is_closed():
            _settle(page, pending)  # an asset the last page asked for is judged too
        problems = list(page_problems)  # before closing: requests cut off by the close are not the page's fault
    finally:
        context.close()
    if problems:
        pytest.fail("the browser saw problems:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable:
    """`screenshot(page, name)`: a full-page PNG in var/screenshots/<module>.<test>/, numbered; returns its path."""
    directory = _screenshot_dir(request)
    shutil.rmtree(directory, ignore_errors=True)
    taken = 0

    def take(page, name: str) -> Path:
        nonlocal taken
        taken += 1
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{taken:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take


@pytest.fixture
def login_as(live_server) -> Callable:
    """`login_as(page, user)`: log in through the real login form, as a person would, and land where it sends."""
    login_path = reverse("login")

    def log_in(page, user, password: str = TEST_PASSWORD) -> None:
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        page.goto(login_path)
        form = page.locator("form").filter(has=page.locator("#id_password"))
        form.locator("#id_username").fill(user.username)
        form.locator("#id_password").fill(password)
        with page.expect_response(lambda r: r.request.method == "POST" and urlparse(r.url).path == login_path) as sent:
            form.locator("button[type=submit]").click()
        if sent.value.status != 302:  # the form came back (wrong password) or the lockout page answered
            page.wait_for_load_state("load")
            errors = " ".join(page.locator("[role=alert], .form-errors, .errorlist").all_inner_texts())
            raise AssertionError(f"logging in as {user.username} failed ({sent.value.status}): {errors}")
        page.wait_for_url(lambda url: urlparse(url).path != login_path)
        page.wait_for_load_state("load")

    return log_in
