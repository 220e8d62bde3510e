"""Accounts in a real browser: logging in through the form, a refused password, logging out, and the keyboard alone."""

import re

from django.urls import reverse
from playwright.sync_api import expect

from tests.accounts.factories import TEST_PASSWORD


def test_a_customer_logs_in_through_the_form_and_lands_on_the_home_page(page, personas, screenshot):
    alice = personas.alice
    page.goto(reverse("home"))
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))  # the home page asks for a login first
    screenshot(page, "login")

    page.get_by_label("Username").fill(alice.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator("header")).to_contain_text(alice.get_full_name())
    screenshot(page, "home")


def test_a_wrong_password_is_refused_with_an_error_and_keeps_the_username(page, personas, screenshot):
    page.goto(reverse("login"))
    page.get_by_label("Username").fill(personas.alice.username)
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Log in").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("correct username and password")
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_label("Username")).to_have_value(personas.alice.username)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    screenshot(page, "wrong-password")


def test_logging_out_ends_the_session(page, personas, login_as, screenshot):
    login_as(page, personas.alice_agent)
    screenshot(page, "signed-in")

    page.get_by_role("button", name="Log out").click()

    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    screenshot(page, "logged-out")
    page.goto(reverse("home"))  # the session is gone: the home page asks for a login again
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))


def _focused(page) -> str:
    """The focused element, as `tag#id` or `tag:text`, to follow the Tab order."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            if (!el || el === document.body) return "body";
            const tag = el.tagName.toLowerCase();
            return el.id ? `${tag}#${el.id}` : `${tag}:${(el.textContent || "").trim()}`;
        }"""
    )


def test_the_keyboard_alone_reaches_the_fields_and_the_login_button(page, personas, screenshot):
    alice = personas.alice
    page.goto(reverse("login"))
    visited = []
    for _ in range(20):  # the header's few links come first; the form must be reached well within this
        current = _focused(page)
        visited.append(current)
        if current == "input#id_username":
            page.keyboard.type(alice.username)
        elif current == "input#id_password":
            page.keyboard.type(TEST_PASSWORD)
        elif current == "button:Log in":
            break
        page.keyboard.press("Tab")
    assert visited[-1] == "button:Log in", visited
    assert visited.index("input#id_username") < visited.index("input#id_password"), visited
    ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert ring != "none"  # the focused button shows it has the focus
    screenshot(page, "login-button-focused")

    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    screenshot(page, "home")
