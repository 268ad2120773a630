"""The console in Debian's chromium: sign in with the keyboard, open a client, acknowledge a flag.

Screenshots land in tests/artifacts/ (docs/console-*.png are copies). Besides axe-core's
full check of every page (tests/console/test_accessibility_e2e.py), these flows check along
the way that every form control has a label, the chart has a name, and nothing scrolls
sideways at phone width.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.console.seed import PASSWORD
from tests.helpers import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
ARTIFACTS = REPO / "tests" / "artifacts"

UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map(el => el.outerHTML)"""


def new_page(browser, width: int, height: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(20_000)
    return context.new_page()


def sign_in_with_the_keyboard(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/clients")
    expect(page).to_have_url(re.compile(r"/login\?next=/clients"))
    expect(page.locator("#email")).to_be_focused()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/clients$"))


def test_sign_in_open_a_client_and_acknowledge_a_flag(browser, console):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = new_page(browser, 1280, 900)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in_with_the_keyboard(page, console.url, "lee@clinic.example")
    first = page.locator("table.list tbody tr").first
    expect(first).to_contain_text("Robin Example")
    expect(first).to_contain_text("open")
    assert page.evaluate(UNLABELLED) == []
    page.screenshot(path=str(ARTIFACTS / "console-clients.png"))

    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()  # the first stop skips the navigation
    page.get_by_role("link", name="Robin Example").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Robin Example")
    chart = page.get_by_role("img", name="Mood over time (0 to 10)")
    expect(chart).to_be_visible()
    assert page.evaluate(UNLABELLED) == []
    page.screenshot(path=str(ARTIFACTS / "console-desktop.png"), full_page=True)

    table = page.locator("#mood details table")
    expect(table).to_be_hidden()
    page.get_by_text("Check-ins as a table").click()
    expect(table.locator("tbody tr")).to_have_count(200)

    ack = page.locator("#flags").get_by_role("button", name=re.compile("^Acknowledge"))
    ack.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Safety flag acknowledged.")
    expect(page.locator("#flags")).to_contain_text("by lee@clinic.example")

    phone = new_page(browser, 360, 780)
    phone.context.add_cookies(page.context.cookies())
    phone.goto(page.url.split("?")[0])
    expect(phone.get_by_role("img", name="Mood over time (0 to 10)")).to_be_visible()
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 360px"
    phone.screenshot(path=str(ARTIFACTS / "console-phone.png"), full_page=False)
    phone.context.close()
    page.context.close()
    assert errors == []


def test_a_clinician_opening_another_clinicians_client_sees_nothing_of_it(browser, console):
    page = new_page(browser, 1280, 800)
    sign_in_with_the_keyboard(page, console.url, "lee@clinic.example")
    response = page.goto(f"{console.url}/clients/{console.clients['sasha']}")
    assert response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("not yours to see")
    expect(page.locator("body")).not_to_contain_text("Sasha")
    page.context.close()


def test_an_admin_books_a_session_through_the_confirmation_and_reads_the_audit_log(browser, console):
    from datetime import datetime, timedelta

    from bot.clinic.store.models import utcnow

    page = new_page(browser, 1280, 900)
    sign_in_with_the_keyboard(page, console.url, "admin@clinic.example")
    page.get_by_role("link", name="Robin Example").click()
    page.get_by_text("Book a session").click()
    when = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%dT11:15")
    page.get_by_label(re.compile("^Start")).fill(when)
    page.get_by_role("button", name="Book…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book this session?")
    assert page.evaluate(UNLABELLED) == []
    page.get_by_role("button", name="Yes, book this session").click()
    expect(page.get_by_role("status")).to_have_text("Session booked.")
    shown = datetime.strptime(when, "%Y-%m-%dT%H:%M").strftime("%a %d %b %Y, %H:%M")
    expect(page.locator("#sessions table").first).to_contain_text(shown)

    page.get_by_role("link", name="Audit log").click()
    rows = page.locator("table.list tbody tr")
    expect(rows.first).to_contain_text("admin@clinic.example")
    expect(page.locator("table.list")).to_contain_text("book_session")
    expect(page.locator("table.list")).to_contain_text("view_client")
    page.get_by_role("link", name="Staff").click()
    expect(page.locator("table.list")).to_contain_text("lee@clinic.example")
    assert page.evaluate(UNLABELLED) == []
    page.context.close()
