"""WCAG 2.1 AA in the chat widget: axe-core in Chromium, and what axe can't see, by keyboard.

axe-core (web/node_modules/axe-core, pinned in web/package.json) runs the WCAG 2.0 and 2.1
A and AA rules, and the few extra rules tests/browser.py names, on the demo clinic page with
the widget closed, open, and after a conversation that ends in the crisis banner (quick
replies shown, banner open and folded), at 360 px and at desktop width. axe reads the
widget's open shadow root. Any violation fails the test with axe's own words.

By keyboard: where the panel covers the screen (phone width) it is a modal dialog, so Tab
and Shift+Tab stay inside it; on a desktop it floats beside the page (a non-modal dialog)
and Tab goes on from it to the launcher. One crisis banner, however many crisis messages.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser import assert_accessible, axe_violations

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

HOST = "ipt-companion-chat"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}

# The control with focus inside the widget, or None when focus is elsewhere on the page.
FOCUSED_IN_PANEL = f"""() => {{
    const host = document.querySelector("{HOST}");
    const active = host.shadowRoot.activeElement;
    if (document.activeElement !== host || !active) return null;
    if (!host.shadowRoot.querySelector('.panel').contains(active)) return null;
    return active.className || active.tagName.toLowerCase();
}}"""
ALERTS = f"""() => Array.from(document.querySelector("{HOST}").shadowRoot
    .querySelectorAll('[role=alert]')).filter((el) => el.getClientRects().length).length"""


def greeted(page: Page) -> None:
    """Wait for the greeting, which ends with the privacy notice."""
    expect(page.locator(f"{HOST} li.msg.bot").filter(has_text="About your privacy")).to_have_count(
        1, timeout=30_000)


def write(page: Page, text: str) -> None:
    box = page.locator(f"{HOST} textarea")
    box.fill(text)
    box.press("Enter")


def tab_to_launcher(page: Page) -> None:
    launcher = page.locator(f"{HOST} .launcher")
    for _ in range(20):
        page.keyboard.press("Tab")
        if launcher.evaluate("el => el.getRootNode().activeElement === el"):
            return
    pytest.fail("the launcher is not reachable with Tab")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360x740", "1280x800"])
def test_the_widget_passes_axe_closed_open_and_after_a_crisis(browser, web_server, viewport):
    phone = viewport is PHONE
    context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(web_server.url)
        expect(page.locator(f"{HOST} .launcher")).to_be_visible()
        assert_accessible(page, "widget closed")

        page.locator(f"{HOST} .launcher").click()
        expect(page.locator(f"{HOST} .panel")).to_be_visible()
        greeted(page)
        assert_accessible(page, "widget open, greeted")

        before = page.locator(f"{HOST} li.msg.bot").count()
        write(page, "what is IPT")
        expect(page.locator(f"{HOST} li.msg.bot")).not_to_have_count(before)
        expect(page.locator(f"{HOST} .replies .reply").first).to_be_visible()
        assert_accessible(page, "after an answer with quick replies")

        write(page, "I want to kill myself")
        banner = page.locator(f"{HOST} .crisis")
        expect(banner).to_be_visible(timeout=15_000)
        page.wait_for_function(f"""() => document.querySelector("{HOST}").shadowRoot
            .querySelectorAll("li.msg.crisis-msg").length >= 2""")
        # the help is on screen without scrolling, above the conversation
        call = page.locator(f"{HOST} .crisis-call").bounding_box()
        assert call is not None and 0 <= call["y"] and call["y"] + call["height"] <= viewport["height"]
        assert_accessible(page, "crisis banner shown")

        page.locator(f"{HOST} .crisis-toggle").click()
        expect(page.locator(f"{HOST} .crisis-toggle")).to_have_attribute("aria-expanded", "false")
        assert_accessible(page, "crisis banner folded")
        page.locator(f"{HOST} .crisis-toggle").click()
    finally:
        context.close()
    assert errors == []


def test_one_crisis_banner_however_many_crisis_messages(page, web_server):
    page.goto(web_server.url)
    page.locator(f"{HOST} .launcher").click()
    greeted(page)
    banner = page.locator(f"{HOST} .crisis")
    flagged = page.locator(f"{HOST} li.msg.crisis-msg")
    for text in ("I want to kill myself", "I'm going to end my life tonight"):
        before = flagged.count()
        write(page, text)
        expect(banner).to_be_visible(timeout=15_000)
        expect(flagged).not_to_have_count(before)
        expect(banner).to_have_count(1)
        assert page.evaluate(ALERTS) == 1  # one alert region, not one per message
    assert axe_violations(page, ["landmark-no-duplicate-banner", "landmark-unique"]) == []


def test_at_phone_width_the_open_chat_is_a_modal_dialog_that_keeps_focus(browser, web_server):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto(web_server.url)
        tab_to_launcher(page)
        page.keyboard.press("Enter")
        panel = page.locator(f"{HOST} .panel")
        expect(panel).to_be_visible()
        expect(panel).to_have_attribute("aria-modal", "true")
        expect(page.locator(f"{HOST} textarea")).to_be_focused()
        greeted(page)

        seen = set()
        for _ in range(25):  # more stops than the panel has: Tab must wrap around inside it
            page.keyboard.press("Tab")
            where = page.evaluate(FOCUSED_IN_PANEL)
            assert where is not None, "Tab left the chat for the page hidden behind it"
            seen.add(where)
        assert {"close", "send", "log"} <= seen, seen

        # the header's first control is "Forget this chat", then the close button
        page.locator(f"{HOST} .forget").focus()
        page.keyboard.press("Shift+Tab")  # backwards from the first control: to the last
        expect(page.locator(f"{HOST} .send")).to_be_focused()
        page.keyboard.press("Tab")
        expect(page.locator(f"{HOST} .forget")).to_be_focused()

        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(page.locator(f"{HOST} .launcher")).to_be_focused()
    finally:
        context.close()


def test_on_a_desktop_the_panel_floats_beside_the_page_and_tab_goes_on(page, web_server):
    page.goto(web_server.url)
    tab_to_launcher(page)
    page.keyboard.press("Enter")
    panel = page.locator(f"{HOST} .panel")
    expect(panel).to_be_visible()
    assert panel.get_attribute("aria-modal") is None  # the page stays usable beside it
    greeted(page)
    # the panel's controls come first, in reading order, then the launcher below it
    page.locator(f"{HOST} .close").focus()
    order = []
    for _ in range(12):
        page.keyboard.press("Tab")
        where = page.evaluate(FOCUSED_IN_PANEL)
        if where is None:
            break
        order.append(where)
    assert order[0] == "log" and order[-2:] == ["textarea", "send"], order
    launcher = page.locator(f"{HOST} .launcher")
    assert launcher.evaluate("el => el.getRootNode().activeElement === el")


def test_the_check_sees_into_the_widget_and_fails_on_a_seeded_violation(page, web_server):
    """The check can fail: a button without a name put into the widget's shadow root."""
    page.goto(web_server.url)
    page.locator(f"{HOST} .launcher").click()
    greeted(page)
    assert axe_violations(page) == []
    page.evaluate(f"""() => document.querySelector("{HOST}").shadowRoot
        .querySelector('.panel-head').append(Object.assign(document.createElement('button'),
            {{ className: 'seeded' }}))""")
    violations = axe_violations(page)
    assert [v["id"] for v in violations] == ["button-name"]
    # axe names the element through the shadow root: [host, selector inside it]
    [(host, inside)] = violations[0]["nodes"][0]["target"]
    assert host == HOST and ".seeded" in inside
    with pytest.raises(AssertionError, match=r"button-name \(critical\)"):
        assert_accessible(page, "seeded")
