#!/usr/bin/env python3
"""Drives `margin ui` in a real headless Chromium (WebDriver, Selenium).

usage: workspace.py ADDRESS SCREENSHOTS QUOTE HOSTILE_TITLE RECORD MARGIN STORE

Selects QUOTE in the record that holds it with the mouse (a real pointer
drag, located from the characters' boxes), codes it with the first code by
pressing 1 in the picker, accepts the first suggestion with its button,
marks the record done with the key d, and opens the record titled
HOSTILE_TITLE; resolves the open conflict keeping the other side with a
comment; compares alice and bob on RECORD and reads the agreement chart
and its CSV. Prints one JSON object of what it saw; every page is
written to SCREENSHOTS as a PNG. Exits non-zero on anything unexpected.
"""
import json
import os
import subprocess
import sys

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, UnexpectedAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

address, shots, quote, hostile_title, record, margin, store = sys.argv[1:8]
base = address.split("?")[0]
os.makedirs(shots, exist_ok=True)
options = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--lang=zh-CN"]:
    options.add_argument(a)
if os.path.exists("/usr/bin/chromium"):
    options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
# A list the page draws again (the code picker, at each key typed) can
# go stale between finding its items and reading them: such a read is
# tried again, not a failure.
wait = WebDriverWait(driver, 15, ignored_exceptions=[StaleElementReferenceException])
seen = {}


def shot(name):
    driver.save_screenshot(os.path.join(shots, name + ".png"))


def ready_after(before):
    wait.until(lambda d: d.execute_script("return document.body.dataset.ready || ''") not in ("", before))
    message = driver.find_element(By.ID, "message")
    if "error" in (message.get_attribute("class") or ""):
        raise SystemExit("the page said: " + message.text)


def ready():
    return driver.execute_script("return document.body.dataset.ready || ''")


def visit(fragment, wait_for):
    before = ready()
    driver.get(base + fragment)
    ready_after(before)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, wait_for))


def open_record(title_part):
    driver.get(address.split("?")[0] + "#/records")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#records tbody tr"))
    for link in driver.find_elements(By.CSS_SELECTOR, "#records tbody tr a"):
        if title_part in link.text:
            before = ready()
            link.click()
            ready_after(before)
            wait.until(lambda d: d.find_elements(By.ID, "body"))
            return
    raise SystemExit("no record titled " + title_part)


try:
    driver.get(address)  # the token, once; then the cookie
    try:
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#records tbody tr"))
    except Exception:
        # What the page showed instead, for the test's message and a picture.
        sys.stderr.write("no records listed at " + driver.current_url + "; the page said:\n"
                         + driver.find_element(By.TAG_NAME, "body").text[:800] + "\n")
        shot("no-records")
        raise
    seen["address_after_entry"] = driver.current_url
    seen["count"] = driver.find_element(By.ID, "count").text
    shot("records")

    # The record holding the quote, and a real mouse drag across it.
    rows = driver.find_elements(By.CSS_SELECTOR, "#records tbody tr a")
    target = None
    for link in rows:
        if link.text != hostile_title:
            target = link.text
    open_record(target)
    shot("reader")
    boxes = driver.execute_script("""
        // The quote's first and last characters, wherever the text runs
        // between highlights split it.
        const quote = arguments[0], body = document.getElementById('body');
        const at = body.textContent.indexOf(quote);
        if (at < 0) return null;
        const place = (offset, after) => {
          const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
          let seen = 0;
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            if (offset < seen + n.data.length || (after && offset === seen + n.data.length)) return [n, offset - seen];
            seen += n.data.length;
          }
          return null;
        };
        const [n1, o1] = place(at, false), [n2, o2] = place(at + quote.length, true);
        const first = document.createRange(); first.setStart(n1, o1); first.setEnd(n1, o1 + 1);
        const last = document.createRange(); last.setStart(n2, o2 - 1); last.setEnd(n2, o2);
        const a = first.getBoundingClientRect(), b = last.getBoundingClientRect();
        return [a.left + 1, (a.top + a.bottom) / 2, b.right - 1, (b.top + b.bottom) / 2];""", quote)
    if boxes is None:
        raise SystemExit("the quote is not in the body as one text run")
    action = ActionBuilder(driver)
    action.pointer_action.move_to_location(int(boxes[0]), int(boxes[1]))
    action.pointer_action.pointer_down()
    action.pointer_action.move_to_location(int(boxes[2]), int(boxes[3]))
    action.pointer_action.pointer_up()
    action.perform()
    marks_js = """return Array.from(document.querySelectorAll('#body mark')).map(
        (m) => [m.textContent, m.dataset.annotations.split(' '), getComputedStyle(m).backgroundColor, m.classList.contains('suggested')]);"""
    before_ids = {i for _, ids, _, _ in driver.execute_script(marks_js) for i in ids}
    wait.until(lambda d: d.find_element(By.ID, "picker").is_displayed())
    seen["picker_quote"] = driver.find_element(By.ID, "picker-quote").text
    shot("picker")
    before = ready()
    ActionChains(driver).send_keys("1").perform()
    ready_after(before)
    # The marks of the annotation the page just made: their text is the span.
    after = driver.execute_script(marks_js)
    new_ids = {i for _, ids, _, _ in after for i in ids} - before_ids
    seen["new_annotations"] = len(new_ids)
    mine = [m for m in after if new_ids & set(m[1])]
    seen["highlighted"] = "".join(m[0] for m in mine)
    # Where no suggestion lies over it, a run shows the code's colour.
    seen["highlight_colours"] = sorted({m[2] for m in mine if not m[3]})
    shot("coded")

    # Where the new span overlaps bob's, the run is outlined.
    seen["overlap_outlined"] = driver.execute_script("""
        return Array.from(document.querySelectorAll('#body mark'))
          .filter((m) => m.dataset.annotations.split(' ').length > 1)
          .every((m) => m.classList.contains('overlap'));""")

    # A suggestion, accepted with one key: j to it, then a.
    items = driver.find_elements(By.CSS_SELECTOR, "ul.annotations li")
    first_suggestion = [i for i, li in enumerate(items) if li.get_attribute("data-status") == "suggested"][0]
    seen["suggestions_before"] = len(driver.find_elements(By.CSS_SELECTOR, "#suggestions li"))
    driver.find_element(By.TAG_NAME, "h1").click()
    ActionChains(driver).send_keys("k" * len(items) + "j" * first_suggestion).perform()  # to the top, then down
    before = ready()
    ActionChains(driver).send_keys("a").perform()
    ready_after(before)
    seen["suggestions_after"] = len(driver.find_elements(By.CSS_SELECTOR, "#suggestions li"))

    # Done, by its key.
    before = ready()
    driver.find_element(By.TAG_NAME, "body").send_keys("d")
    ready_after(before)
    seen["done_button"] = driver.find_element(By.ID, "done").text
    shot("done")

    # The keyboard alone: a caret before 38, shift+right six times, c, a
    # code typed in Simplified that is named in Traditional, Enter.
    driver.execute_script("""
        const body = document.getElementById('body'), at = body.textContent.indexOf('38名志願者');
        const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
        let seen = 0;
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          if (at < seen + n.data.length) {
            body.focus();
            const r = document.createRange(); r.setStart(n, at - seen); r.collapse(true);
            const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(r);
            return;
          }
          seen += n.data.length;
        }""")
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ARROW_RIGHT * 6).key_up(Keys.SHIFT).perform()
    seen["keyboard_selection"] = driver.execute_script("return window.getSelection().toString()")
    ActionChains(driver).send_keys("c").perform()
    wait.until(lambda d: d.find_element(By.ID, "picker").is_displayed())
    ActionChains(driver).send_keys("志愿者").perform()
    wait.until(lambda d: [li.text for li in d.find_elements(By.CSS_SELECTOR, "#picker-list li")] == ["志願者"])
    seen["picker_folded"] = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#picker-list li")]
    before = ready()
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    ready_after(before)

    # Re-span it by its start (]): one character later.
    items = driver.find_elements(By.CSS_SELECTOR, "ul.annotations li")
    target = [i for i, li in enumerate(items) if "38名志願者" in li.text and li.get_attribute("data-author") == "alice"
              and "志願者" in li.find_element(By.TAG_NAME, "b").text]
    driver.find_element(By.TAG_NAME, "h1").click()
    ActionChains(driver).send_keys("k" * len(items) + "j" * target[0]).perform()
    before = ready()
    ActionChains(driver).send_keys("]").perform()
    ready_after(before)

    # A tag by t, and a note by m.
    before = ready()
    ActionChains(driver).send_keys("t").perform()
    wait.until(lambda d: d.find_element(By.ID, "picker").is_displayed())
    ActionChains(driver).send_keys("volun").send_keys(Keys.ENTER).perform()
    ready_after(before)
    before = ready()
    ActionChains(driver).send_keys("m").perform()
    wait.until(lambda d: d.find_element(By.ID, "note-dialog").is_displayed())
    ActionChains(driver).send_keys("記下:數字待核").key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()
    ready_after(before)
    shot("keyboard")

    # A change from the terminal reaches the open page by itself.
    subprocess.run([margin, "--store", store, "note", record, "from the terminal"], check=True, capture_output=True)
    WebDriverWait(driver, 10, ignored_exceptions=[StaleElementReferenceException]).until(lambda d: "from the terminal" in d.find_element(By.ID, "annotations").text)
    seen["live_update"] = True

    # The record list by coder and by done.
    visit("#/records?coder=bob", "#count")
    seen["coded_by_bob"] = driver.find_element(By.ID, "count").text
    visit("#/records?done=no", "#count")
    seen["not_done_by_me"] = driver.find_element(By.ID, "count").text

    # A hostile report: shown as text, runs nothing.
    open_record(hostile_title[:20])
    seen["hostile_title_shown"] = driver.find_element(By.ID, "title").text
    seen["document_title"] = driver.title
    seen["script_ran"] = driver.execute_script("return window.owned === true || document.title === 'owned'")
    seen["images"] = len(driver.find_elements(By.CSS_SELECTOR, "#main img"))
    seen["bidi_controls_shown"] = driver.execute_script(
        "return /[\\u202A-\\u202E\\u2066-\\u2069]/.test(document.body.textContent)")
    seen["body_shown"] = driver.find_element(By.ID, "body").text
    shot("hostile")

    # The conflict, side by side, resolved keeping the other side.

    visit("#/conflicts", "#conflict-count")
    seen["conflicts_before"] = driver.find_element(By.ID, "conflict-count").text
    shot("conflicts")
    section = driver.find_element(By.CSS_SELECTOR, "section.conflict")
    section.find_element(By.CSS_SELECTOR, "input.comment").send_keys("bob read it right")
    before = ready()
    section.find_element(By.CSS_SELECTOR, "button.keep-other").click()
    ready_after(before)
    seen["conflicts_after"] = driver.find_element(By.ID, "conflict-count").text

    # Review, as `margin review` walks it.
    visit("#/review", "#review-position, #review-empty")
    shot("review")

    # Team: alice and bob compared on the record; the agreement chart.
    visit("#/team?a=alice&b=bob&record=" + record, "#agreement-chart, #differences")
    wait.until(lambda d: d.find_elements(By.ID, "agreement-chart"))
    seen["differences"] = len(driver.find_elements(By.CSS_SELECTOR, "#differences tbody tr"))
    bars = {}
    for label, value in driver.execute_script("""
        const out = [];
        for (const bar of document.querySelectorAll('#agreement-chart rect.bar')) {
          const label = bar.previousElementSibling;
          out.push([label.textContent, bar.getAttribute('data-value')]);
        }
        return out;"""):
        bars[label] = value
    seen["agreement_bars"] = bars
    seen["agreement_csv"] = driver.execute_script("""
        return fetch(document.getElementById('agreement-csv').getAttribute('href'), { credentials: 'same-origin' })
          .then((r) => r.text());""")
    shot("team")

    visit("#/sync", "#peers")
    shot("sync")
    seen["console_errors"] = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
except UnexpectedAlertPresentException:
    seen["script_ran"] = True
finally:
    driver.quit()
print(json.dumps(seen, ensure_ascii=False))
