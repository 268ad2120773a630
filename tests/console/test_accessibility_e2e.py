"""WCAG 2.1 AA in the console: axe-core in Chromium on every page, at desktop and phone width.

axe-core (web/node_modules/axe-core, pinned in web/package.json) runs the WCAG 2.0 and 2.1
A and AA rules on each page as staff see it: signed out (with and without an error), the
clients list, one client with its chart and, opened, the check-ins table and every form, a
confirmation, a refusal, the staff admin page and the audit log. Any violation fails the test
with axe's own words. Then what axe cannot judge: the page titles, and a focus ring that
stands out from the page (WCAG 1.4.11, 3:1).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser import assert_accessible, axe_violations
from tests.console.seed import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 780}

OPEN_ALL_DETAILS = "() => document.querySelectorAll('details').forEach((d) => { d.open = true; })"

# The contrast (WCAG formula) between the focus ring and the page around it.
FOCUS_RING_CONTRAST = """() => {
  const el = document.activeElement;
  const rgb = (s) => s.match(/[\\d.]+/g).map(Number).slice(0, 3);
  const lum = ([r, g, b]) => [r, g, b].map((c) => { c /= 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  let node = el.parentElement, bg = null;
  while (node && !bg) {
    const c = getComputedStyle(node).backgroundColor.match(/[\\d.]+/g).map(Number);
    if (c.length < 4 || c[3] === 1) bg = c.slice(0, 3);
    node = node.parentElement;
  }
  const style = getComputedStyle(el);
  const [a, b] = [lum(rgb(style.outlineColor)), lum(bg || [255, 255, 255])];
  return { width: parseFloat(style.outlineWidth), style: style.outlineStyle,
           ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
}"""


def new_page(browser, viewport: dict[str, int]) -> Page:
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(20_000)
    return context.new_page()


def sign_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/clients$"))


def check(page: Page, where: str) -> None:
    """axe on the page as shown, then again with every folded part (details) opened."""
    assert "<" not in page.title(), f"{where}: the title holds markup: {page.title()!r}"
    assert_accessible(page, where)
    if page.locator("details").count():
        page.evaluate(OPEN_ALL_DETAILS)
        assert_accessible(page, f"{where}, folded parts opened")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "360"])
def test_every_page_passes_axe_for_a_clinician(browser, console, viewport):
    page = new_page(browser, viewport)
    try:
        page.goto(f"{console.url}/login")
        check(page, "sign-in page")
        page.get_by_label("E-mail address").fill("lee@clinic.example")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_be_visible()
        check(page, "sign-in page with an error")

        sign_in(page, console.url, "lee@clinic.example")
        expect(page).to_have_title("Clients · IPT Companion")
        check(page, "clients list")

        page.get_by_role("link", name="Robin Example").click()
        expect(page.get_by_role("img", name="Mood over time (0 to 10)")).to_be_visible()
        check(page, "one client with the chart")
        expect(page.locator("#mood details table tbody tr")).to_have_count(200)

        page.get_by_label(re.compile("^Start")).fill("2030-01-15T11:15")
        page.get_by_role("button", name="Book…").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Book this session?")
        check(page, "a confirmation")

        response = page.goto(f"{console.url}/clients/{console.clients['sasha']}")
        assert response is not None and response.status == 404
        check(page, "a refusal (another clinician's client)")
    finally:
        page.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "360"])
def test_every_page_passes_axe_for_an_administrator(browser, console, viewport):
    page = new_page(browser, viewport)
    try:
        sign_in(page, console.url, "admin@clinic.example")
        check(page, "clients list (administrator)")
        page.get_by_role("link", name="Robin Example").click()
        check(page, "one client (administrator: clinicians, erasure)")
        page.goto(f"{console.url}/admin/staff")
        expect(page.get_by_role("heading", level=1)).to_have_text("Staff accounts")
        check(page, "staff admin")
        page.goto(f"{console.url}/admin/audit")
        expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
        expect(page.locator("table.list tbody tr").first).to_contain_text("@clinic.example")
        check(page, "audit log")
    finally:
        page.context.close()


def test_the_focus_ring_stands_out_from_the_page(browser, console):
    page = new_page(browser, DESKTOP)
    try:
        sign_in(page, console.url, "lee@clinic.example")
        page.keyboard.press("Tab")
        expect(page.locator("a.skip")).to_be_focused()
        seen = 0
        for _ in range(8):  # the skip link, the navigation, sign out, the search form
            ring = page.evaluate(FOCUS_RING_CONTRAST)
            assert ring["style"] != "none" and ring["width"] >= 2, ring
            assert ring["ratio"] >= 3, ring
            seen += 1
            page.keyboard.press("Tab")
        assert seen == 8
    finally:
        page.context.close()


def test_the_check_fails_on_a_seeded_violation(browser, console):
    """The check can fail: a field without a label and pale text put into a clean page."""
    page = new_page(browser, DESKTOP)
    try:
        page.goto(f"{console.url}/login")
        assert axe_violations(page) == []
        # the console's Content Security Policy refuses inline style attributes: set it in
        # the page's own CSS object model instead
        page.evaluate("""() => {
            document.querySelector('main').insertAdjacentHTML('beforeend',
                '<input id="seeded" name="seeded"><p id="pale">pale words</p>');
            document.getElementById('pale').style.color = '#bbbbbb';
        }""")
        violations = {v["id"]: v for v in axe_violations(page)}
        assert set(violations) == {"label", "color-contrast"}
        assert violations["label"]["nodes"][0]["target"] == ["#seeded"]
        with pytest.raises(AssertionError, match=r"label \(critical\)"):
            assert_accessible(page, "seeded")
    finally:
        page.context.close()
