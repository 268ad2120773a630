"""Help that is always visible: the crisis banner at phone width, and the widget with Rasa
down or silent. A real browser (Debian's chromium) through our real web server.

- With the real Rasa server and the suite's clinic (the built-in default), a crisis message
  shows the banner with the emergency number(s) and every crisis line fully in view, not
  clipped, at 360x740 and on a desktop.
- With Rasa stopped (our web server pointing at a closed port) and the example clinic's
  numbers, a crisis message and an ordinary one both get an answer, the crisis one with
  the number and lines in the banner; the server's own endpoints answer too.
- With Rasa up but silent on a message, the widget shows the server's answer after its
  timeout: a crisis message after about 3 s, with the numbers.

Screenshots go to tests/artifacts/ (docs/widget-crisis.png is the phone one).
"""

from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import Page, expect

from bot.clinic import config as clinic
from bot.clinic import edge_help
from tests.helpers import REPO
from tests.web.conftest import WebServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

HOST = "ipt-companion-chat"
EXAMPLE = REPO / "clinic.example.yml"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}

# The ancestors (up to the widget's panel) whose overflow would cut ``el`` off, if any,
# and whether the point at its centre is really ``el`` (or inside it) and not covered.
CLIPPED_JS = """(el) => {
    const r = el.getBoundingClientRect();
    const cut = [];
    for (let a = el.parentElement; a; a = a.parentElement) {
        const cs = getComputedStyle(a);
        if (cs.overflowX !== 'visible' || cs.overflowY !== 'visible') {
            const ar = a.getBoundingClientRect();
            if (r.left < ar.left - 0.5 || r.right > ar.right + 0.5 ||
                r.top < ar.top - 0.5 || r.bottom > ar.bottom + 0.5) cut.push(a.className || a.tagName);
        }
        if (a.classList.contains('panel')) break;
    }
    // A link may wrap over two lines: hit-test the middle of each of its line boxes.
    const root = el.getRootNode();
    const onTop = Array.from(el.getClientRects()).every((box) => {
        const hit = root.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
        return Boolean(hit && (hit === el || el.contains(hit)));
    });
    return {cut, onTop};
}"""


def open_widget(page: Page, url: str, greeted: bool = True) -> None:
    page.goto(url)
    page.locator(f"{HOST} .launcher").click()
    expect(page.locator(f"{HOST} .panel")).to_be_visible()
    if greeted:  # the greeting ends with the privacy notice
        expect(page.locator(f"{HOST} li.msg.bot").filter(has_text="About your privacy")).to_have_count(1)


def write(page: Page, text: str) -> None:
    box = page.locator(f"{HOST} textarea")
    box.fill(text)
    box.press("Enter")


def assert_fully_in_view(page: Page, selector: str, viewport: dict[str, int]) -> int:
    """Every element matching ``selector`` is inside the banner and the viewport, uncut."""
    banner = page.locator(f"{HOST} .crisis").bounding_box()
    assert banner is not None
    assert banner["y"] >= 0 and banner["y"] + banner["height"] <= viewport["height"]
    items = page.locator(f"{HOST} {selector}")
    count = items.count()
    assert count > 0, f"nothing matches {selector}"
    for i in range(count):
        item = items.nth(i)
        box = item.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0, selector
        assert 0 <= box["x"] and box["x"] + box["width"] <= viewport["width"], (selector, box)
        assert 0 <= box["y"] and box["y"] + box["height"] <= viewport["height"], (selector, box)
        assert banner["x"] <= box["x"] and box["x"] + box["width"] <= banner["x"] + banner["width"]
        assert banner["y"] <= box["y"] and box["y"] + box["height"] <= banner["y"] + banner["height"]
        state = item.evaluate(CLIPPED_JS)
        assert state == {"cut": [], "onTop": True}, (selector, item.inner_text(), state)
    return count


def assert_resources_in_view(page: Page, config: clinic.ClinicConfig,
                             viewport: dict[str, int]) -> None:
    """The emergency number first, then one entry per configured line, all in full view."""
    if config.emergency_number:
        number = page.locator(f"{HOST} .crisis-call .crisis-number")
        expect(number).to_have_text(config.emergency_number)
        digits = re.sub(r"\D", "", config.emergency_number)
        expect(number).to_have_attribute("href", f"tel:{digits}")
        assert_fully_in_view(page, ".crisis-call .crisis-number", viewport)
    else:
        hrefs = page.locator(f"{HOST} .crisis-call a").evaluate_all(
            "(as) => as.map((a) => a.getAttribute('href'))")
        assert hrefs == ["tel:112", "tel:911", "tel:999", "tel:000"]
        assert_fully_in_view(page, ".crisis-call a", viewport)
    assert_fully_in_view(page, ".crisis-call", viewport)
    # the numbers come first: the call line is the first thing under the banner's title
    first = page.locator(f"{HOST} #ipt-crisis-details > *").first
    expect(first).to_have_class("crisis-resources")
    lines = page.locator(f"{HOST} .crisis-line")
    expect(lines).to_have_count(len(config.crisis_lines))
    for i, line in enumerate(config.crisis_lines):
        text = lines.nth(i).inner_text()
        assert text.startswith(line.name), text
        for way in (line.phone, line.text, line.web):
            if way:
                assert way in text, (way, text)
    assert assert_fully_in_view(page, ".crisis-line", viewport) == len(config.crisis_lines)
    # every way to reach a line (each phone link and web address) is uncut too
    assert_fully_in_view(page, ".crisis-line a", viewport)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360x740", "1280x800"])
def test_the_crisis_banner_shows_the_number_and_every_line_in_full_view(
    browser, web_server, artifacts, viewport
):
    config = clinic.load(clinic.DEFAULT_FILE)  # the suite's servers use the default clinic
    phone = viewport is PHONE
    context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
    page = context.new_page()
    try:
        open_widget(page, web_server.url)
        write(page, "I want to kill myself")
        expect(page.locator(f"{HOST} .crisis")).to_be_visible(timeout=15_000)
        expect(page.locator(f"{HOST} li.msg.crisis-msg")).not_to_have_count(0)
        assert_resources_in_view(page, config, viewport)
        # the crisis words follow the numbers in the banner (not the resources a second time)
        body = page.locator(f"{HOST} .crisis-body p").all_inner_texts()
        assert body and not any("findahelpline" in text for text in body)
        name = "widget-crisis.png" if phone else "widget-crisis-desktop.png"
        page.screenshot(path=str(artifacts / name))
        page.reload()  # the numbers survive a reload
        expect(page.locator(f"{HOST} .crisis")).to_be_visible()
        assert_resources_in_view(page, config, viewport)
    finally:
        context.close()


@pytest.fixture(scope="module")
def down_server(session_dir, server_env, widget_bundle):
    """Our web server with Rasa stopped: RASA_URL is a port nobody listens on."""
    env = {**server_env, clinic.ENV_VAR: str(EXAMPLE)}
    server = WebServer("http://127.0.0.1:9", session_dir / "web-rasa-down.log", env,
                       ready_path="/")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_with_rasa_down_the_server_still_answers_with_the_resources(down_server):
    assert requests.get(f"{down_server.url}/health", timeout=5).status_code == 503
    session = requests.post(f"{down_server.url}/api/session", json={}, timeout=5).json()
    assert session["resources"]["emergency_number"] == "555 0100"
    ask = lambda text, sid=session["session_id"]: requests.post(
        f"{down_server.url}/api/help", json={"session_id": sid, "message": text}, timeout=5)
    crisis = ask("i want to k1ll myself").json()
    assert crisis["crisis"] is True
    assert crisis["messages"][0]["text"].startswith("In immediate danger, call 555 0100 now.")
    ordinary = ask("how long does IPT take?").json()
    assert ordinary["crisis"] is False
    assert ordinary["messages"][0]["text"] == edge_help.TROUBLE_OPENING
    assert "555 0100" in ordinary["messages"][1]["text"]
    # only a session our server signed may ask
    assert ask("hello", sid="web-forged.abc.def").status_code == 403


def test_with_rasa_down_a_crisis_message_gets_the_number_and_lines_in_view(
    browser, down_server, artifacts
):
    config = clinic.load(EXAMPLE)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        open_widget(page, down_server.url, greeted=False)
        started = time.monotonic()
        write(page, "I want to kill myself")
        expect(page.locator(f"{HOST} .crisis")).to_be_visible(timeout=10_000)
        waited = time.monotonic() - started
        assert waited < 3, f"the numbers took {waited:.1f} s"  # measured: about 0.1 s
        assert_resources_in_view(page, config, PHONE)
        texts = page.locator(f"{HOST} li.msg.bot .bubble").all_inner_texts()
        assert texts[0].startswith("In immediate danger, call 555 0100 now.")
        page.screenshot(path=str(artifacts / "widget-crisis-rasa-down.png"))
    finally:
        context.close()


def test_with_rasa_down_an_ordinary_message_gets_an_answer_with_the_number(browser, down_server):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        open_widget(page, down_server.url, greeted=False)
        write(page, "how long does IPT take?")
        reply = page.locator(f"{HOST} li.msg.bot .bubble")
        expect(reply).to_have_count(2, timeout=10_000)
        expect(reply.first).to_have_text(edge_help.TROUBLE_OPENING)
        expect(reply.nth(1)).to_contain_text("555 0100")
        expect(reply.nth(1).locator("a[href='tel:5550100']")).to_be_visible()
        expect(page.locator(f"{HOST} .crisis")).to_be_hidden()  # not a crisis: no banner
    finally:
        context.close()


SILENCE_JS = f"""() => {{
    const chat = document.querySelector("{HOST}");
    const emit = chat.socket.emit.bind(chat.socket);
    // Rasa is up but this message never reaches it: as if it hung on it.
    chat.socket.emit = (event, ...args) => event === 'user_uttered' ? chat.socket : emit(event, ...args);
}}"""


def test_when_rasa_is_silent_a_crisis_message_gets_the_numbers_within_seconds(
    page, web_server
):
    open_widget(page, web_server.url)
    before = page.locator(f"{HOST} li.msg.bot").count()
    page.evaluate(SILENCE_JS)
    started = time.monotonic()
    write(page, "I'm going to end my life tonight")
    expect(page.locator(f"{HOST} .crisis")).to_be_visible(timeout=10_000)
    waited = time.monotonic() - started
    assert 2.5 <= waited < 7, f"{waited:.1f} s"
    first = page.locator(f"{HOST} li.msg.bot .bubble").nth(before)
    expect(first).to_contain_text("In immediate danger, call your local emergency number")
    assert_resources_in_view(page, clinic.load(clinic.DEFAULT_FILE), DESKTOP)
