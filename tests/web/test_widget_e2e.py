"""The widget in a real browser (Debian's chromium), through our web server, to real Rasa.

Screenshots land in tests/artifacts/ (docs/widget-desktop.png and docs/widget-phone.png are
copies of them).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from bot import domain_files
from tests.helpers import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

HOST = "ipt-companion-chat"
FALLBACK = re.compile(r"didn't understand|outside what I can help", re.IGNORECASE)
# The safety layer's crisis response follows docs/widget.md's convention; until it is in the
# domain the model is trained from, the crisis test cannot pass.
SAFETY_MERGED = any(
    "utter_crisis" in p.read_text() or "crisis: true" in p.read_text()
    for p in domain_files.files(REPO)
)


def bot_messages(page: Page):
    return page.locator(f"{HOST} li.msg.bot")


def open_widget(page: Page, url: str) -> None:
    page.goto(url)
    page.locator(f"{HOST} .launcher").click()
    expect(page.locator(f"{HOST} .panel")).to_be_visible()
    # the widget greets a new visitor (/greet) once the channel confirmed the signed session;
    # the greeting ends with the privacy notice (from the action server, a little later): wait
    # for it, or it would be taken for the answer to the next question
    expect(bot_messages(page)).not_to_have_count(0)
    expect(bot_messages(page).filter(has_text="About your privacy")).to_have_count(1)


def scrolled_to_end(page: Page) -> None:
    """Wait until the conversation shows its newest message (before a screenshot)."""
    page.wait_for_function(f"""() => {{
        const log = document.querySelector("{HOST}").shadowRoot.querySelector(".log");
        return log.scrollTop + log.clientHeight >= log.scrollHeight - 2; }}""")


def ask(page: Page, text: str) -> str:
    """Type ``text``, press Enter, wait for the answer and return its first message's text."""
    before = bot_messages(page).count()
    box = page.locator(f"{HOST} textarea")
    box.fill(text)
    box.press("Enter")
    expect(page.locator(f"{HOST} li.msg.user").last).to_have_text(re.compile(re.escape(text)))
    expect(bot_messages(page)).not_to_have_count(before)
    return bot_messages(page).nth(before).locator(".bubble").inner_text()


def test_ask_tap_a_button_and_keep_the_history_after_reload(page, web_server, artifacts):
    open_widget(page, web_server.url)
    panel = page.locator(f"{HOST} .panel")
    expect(panel).to_contain_text("Automated assistant, not a therapist and not for emergencies")

    # the typing indicator shows while the assistant answers (recorded, as answers are quick)
    typing = page.locator(f"{HOST} .typing")
    typing.evaluate("""el => { window.__typingShown = false;
        new MutationObserver(() => { if (!el.hidden) window.__typingShown = true; })
            .observe(el, { attributes: true }); }""")
    answer = ask(page, "what is IPT")
    assert re.search(r"Interpersonal|IPT", answer) and not FALLBACK.search(answer), answer
    assert page.evaluate("window.__typingShown") is True
    expect(typing).to_be_hidden()

    replies = page.locator(f"{HOST} .replies .reply")
    expect(replies.first).to_be_visible()
    title = replies.first.inner_text()
    before = bot_messages(page).count()
    replies.first.click()
    # the button's title shows as my message, its payload goes to the assistant
    expect(page.locator(f"{HOST} li.msg.user").last).to_have_text(re.compile(re.escape(title)))
    expect(bot_messages(page)).not_to_have_count(before)
    tapped_answer = bot_messages(page).nth(before).inner_text()
    assert not FALLBACK.search(tapped_answer), tapped_answer
    scrolled_to_end(page)
    page.screenshot(path=str(artifacts / "widget-desktop.png"))

    log = page.locator(f"{HOST} .log")
    count, transcript = log.locator("li").count(), log.inner_text()
    conversation = page.evaluate("JSON.parse(localStorage.getItem('ipt-chat.session'))")
    page.reload()
    expect(panel).to_be_visible()  # it was open: it stays open
    expect(log.locator("li")).to_have_count(count)
    assert log.inner_text() == transcript
    # same conversation on the server too: the next answer continues it
    assert page.evaluate("JSON.parse(localStorage.getItem('ipt-chat.session'))") == conversation
    ask(page, "how long does it take")
    assert page.evaluate("JSON.parse(localStorage.getItem('ipt-chat.session'))") == conversation


def test_keyboard_only(page, web_server):
    page.goto(web_server.url)
    launcher = page.locator(f"{HOST} .launcher")
    for _ in range(20):  # Tab through the page until the launcher has focus
        page.keyboard.press("Tab")
        if launcher.evaluate("el => el.getRootNode().activeElement === el"):
            break
    else:
        pytest.fail("the launcher is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page.locator(f"{HOST} .panel")).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    textarea = page.locator(f"{HOST} textarea")
    expect(textarea).to_be_focused()
    expect(bot_messages(page)).not_to_have_count(0)

    page.keyboard.type("what is IPT")
    before = bot_messages(page).count()
    page.keyboard.press("Enter")
    expect(bot_messages(page)).not_to_have_count(before)
    expect(page.locator(f"{HOST} .replies .reply").first).to_be_visible()

    # Shift+Tab from the message box reaches the last quick reply; Enter chooses it
    page.keyboard.press("Shift+Tab")
    last_reply = page.locator(f"{HOST} .replies .reply").last
    expect(last_reply).to_be_focused()
    title = last_reply.inner_text()
    before = bot_messages(page).count()
    page.keyboard.press("Enter")
    expect(page.locator(f"{HOST} li.msg.user").last).to_have_text(re.compile(re.escape(title)))
    expect(bot_messages(page)).not_to_have_count(before)
    expect(textarea).to_be_focused()  # ready for the next question

    page.keyboard.press("Escape")
    expect(page.locator(f"{HOST} .panel")).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")


def test_accessible_structure(page, web_server):
    open_widget(page, web_server.url)
    log = page.locator(f"{HOST} .log")
    expect(log).to_have_attribute("role", "log")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(page.locator(f"{HOST} .panel")).to_have_attribute("role", "dialog")
    expect(page.locator(f"{HOST} .crisis")).to_have_attribute("role", "alert")
    # every control has an accessible name
    for selector in (".launcher", ".close", ".send"):
        assert page.locator(f"{HOST} {selector}").get_attribute("aria-label")
    assert page.locator(f"{HOST} label[for=ipt-input]").count() == 1


CONTRAST_JS = """el => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(c => { c /= 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  let node = el, bg = null;
  while (node && !bg) {  // the first opaque background up the tree, through the shadow root
    if (node.nodeType === 1) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length < 4 || c[3] === 1) bg = c.slice(0, 3);
    }
    node = node.parentNode || node.host;
  }
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg || [255, 255, 255])];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_text_contrast_passes_wcag_aa(page, web_server):
    open_widget(page, web_server.url)
    ask(page, "what is IPT")
    for selector in ("h2", ".disclaimer", "li.msg.bot .bubble", "li.msg.user .bubble",
                     ".replies .reply", ".launcher"):
        ratio = page.locator(f"{HOST} {selector}").first.evaluate(CONTRAST_JS)
        assert ratio >= 4.5, f"{selector}: {ratio:.2f}:1"


def test_phone_width(browser, web_server, artifacts):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    try:
        open_widget(page, web_server.url)
        box = page.locator(f"{HOST} .panel").bounding_box()
        assert box is not None and box["width"] == 390 and box["height"] == 844
        ask(page, "what is IPT")
        reply = page.locator(f"{HOST} .replies .reply").first
        expect(reply).to_be_visible()
        reply_box = reply.bounding_box()
        assert reply_box["height"] >= 40  # a comfortable touch target
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= 390, "the page scrolls sideways"
        scrolled_to_end(page)
        page.screenshot(path=str(artifacts / "widget-phone.png"))
        page.locator(f"{HOST} .close").tap()
        expect(page.locator(f"{HOST} .launcher")).to_be_visible()
    finally:
        context.close()


def test_reconnects_after_a_network_drop(page, web_server):
    open_widget(page, web_server.url)
    ask(page, "what is IPT")
    conversation = page.evaluate("JSON.parse(localStorage.getItem('ipt-chat.session'))")
    web_server.restart()  # every connection through our server drops
    answer = ask(page, "how long does it take")
    assert not FALLBACK.search(answer), answer
    expect(page.locator(f"{HOST} .status")).to_be_empty()
    assert page.evaluate("JSON.parse(localStorage.getItem('ipt-chat.session'))") == conversation


@pytest.mark.xfail(not SAFETY_MERGED, strict=True,
                   reason="the safety layer (utter_crisis*) is not in the domain yet")
def test_a_crisis_message_shows_the_crisis_banner(page, web_server):
    open_widget(page, web_server.url)
    banner = page.locator(f"{HOST} .crisis")
    expect(banner).to_be_hidden()
    box = page.locator(f"{HOST} textarea")
    box.fill("I want to kill myself")
    box.press("Enter")
    expect(banner).to_be_visible(timeout=15_000)
    # the resources first (emergency number, lines: tests/web/test_help_visible_e2e.py),
    # then the crisis response's own words, which are also in the conversation
    expect(page.locator(f"{HOST} .crisis-resources .crisis-call")).to_be_visible()
    # the crisis words, then the resources action's message
    page.wait_for_function(f"""() => document.querySelector("{HOST}").shadowRoot
        .querySelectorAll("li.msg.crisis-msg").length >= 2""")
    flagged = page.locator(f"{HOST} li.msg.crisis-msg .bubble").all_inner_texts()
    body = page.locator(f"{HOST} .crisis-body p").all_inner_texts()
    assert set(body) <= set(flagged) and len(body) < len(flagged)
    assert any("emergency" in text for text in flagged), flagged
    # still there after a reload: the visitor must not lose the numbers
    text = page.locator(f"{HOST} .crisis").inner_text()
    page.reload()
    expect(banner).to_be_visible()
    assert page.locator(f"{HOST} .crisis").inner_text() == text


def test_no_message_text_in_the_logs(page, web_server, session_dir):
    open_widget(page, web_server.url)
    secret_words = "my sister Zelda and I argue about the garden"
    ask(page, secret_words)
    logs = {name: (session_dir / name).read_text(errors="replace")
            for name in ("web.log", "rasa.log", "actions.log") if (session_dir / name).exists()}
    assert "web.log" in logs and "rasa.log" in logs
    for name, text in logs.items():
        assert "Zelda" not in text, f"{name} holds the visitor's words"
