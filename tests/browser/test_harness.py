"""The browser harness itself: it sees broken assets and script errors, takes screenshots, and logs people in."""

from django.urls import reverse
from playwright.sync_api import expect


def _add_stylesheet(page, href: str) -> None:
    page.evaluate(
        """href => {
            const link = document.createElement("link");
            link.rel = "stylesheet";
            link.href = href;
            document.head.append(link);
        }""",
        href,
    )


def test_a_static_file_that_does_not_load_is_a_problem(page, page_problems):
    page.goto(reverse("login"))
    assert page_problems == []  # the real page's stylesheet loaded

    with page.expect_response(lambda response: response.url.endswith("/static/css/no-such-file.css")):
        _add_stylesheet(page, "/static/css/no-such-file.css")
    page.wait_for_load_state("load")

    assert len(page_problems) == 1, page_problems
    assert page_problems[0].startswith("404 for stylesheet GET ")
    assert page_problems[0].endswith("/static/css/no-such-file.css")
    page_problems.clear()  # provoked on purpose: the fixture would fail the test at teardown otherwise


def test_script_errors_are_problems(page, page_problems):
    page.goto(reverse("login"))

    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate("console.error('something broke')")
    with page.expect_event("pageerror"):
        page.evaluate("setTimeout(() => { throw new Error('uncaught boom'); })")

    assert page_problems[0] == "console error: something broke"
    assert page_problems[1].startswith("uncaught JavaScript error: ")
    assert "uncaught boom" in page_problems[1]
    page_problems.clear()


def test_a_page_that_is_not_found_is_not_a_problem_by_itself(page, personas, login_as, page_problems):
    """Scope tests expect a 404 document: only assets, 5xx answers and script errors count as problems."""
    login_as(page, personas.alice)
    response = page.goto(reverse("accounts:customer-detail", args=[personas.bob.customer_profile.pk]))
    assert response.status == 404
    assert page_problems == []


def test_screenshots_are_numbered_full_page_pngs(page, personas, login_as, screenshot):
    login_as(page, personas.underwriter)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    first = screenshot(page, "home page")
    second = screenshot(page, "again")

    assert first.name == "01-home-page.png"
    assert second.name == "02-again.png"
    assert first.parent.name == "test_harness.test_screenshots_are_numbered_full_page_pngs"
    assert first.read_bytes().startswith(b"\x89PNG")
