#!/usr/bin/env python3
"""Drives the operator dashboard of a running `causeway serve` in headless Chromium, as a person
would, and prints what it saw as one JSON object (DashboardTests asserts on it).

It never asserts itself: every observation is recorded, and an exception ends the run with the
observations so far plus "error". Every page is captured whole (a full-page screenshot, not just
the first screen) at a desktop's width (1280 px) and a phone's (390 px) into --shots, as
NAME-desktop.png and NAME-phone.png, and its layout is measured there ("layout": page height,
sideways overflow, table cells squeezed narrower than a few characters, elements past the right
edge outside a scrolling table box, table boxes that need scrolling).

Needs the Debian packages chromium and chromium-driver and the Python package selenium.
"""
import argparse
import base64
import json
import os
import sys
import time
import traceback
import urllib.request

os.environ.setdefault("SE_AVOID_STATS", "true")  # nothing outside this machine can be reached

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait


# What a person would notice at a glance, measured: how tall the page is, whether it scrolls
# sideways, table cells squeezed to a sliver (room for text narrower than 32 px, or more than 8
# lines in a column narrower than 8 em), elements reaching past the right edge outside a
# deliberately scrolling box, and table boxes that need scrolling.
MEASURE_SCRIPT = """
        const narrow = arguments[0];
        const root = document.documentElement;
        const view = root.clientWidth;
        function scrolls(e) {
          for (let p = e.parentElement; p; p = p.parentElement) {
            const o = getComputedStyle(p).overflowX;
            if (o === 'auto' || o === 'scroll' || o === 'hidden') { return true; }
          }
          return false;
        }
        const shown = e => !e.checkVisibility || e.checkVisibility();  // not inside a closed <details>
        // A cell is squeezed when the room for its text is narrower than `narrow` px, or when its text
        // runs to more than 8 lines in a column narrower than 8 em (a ribbon of a few letters per line).
        function squeezedCell(c) {
          const text = c.innerText.trim();
          if (!shown(c) || text.length <= 2) { return null; }
          const style = getComputedStyle(c), box = c.getBoundingClientRect();
          const room = box.width - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
          const range = document.createRange();
          range.selectNodeContents(c);
          const lineHeight = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2;
          const lines = range.getBoundingClientRect().height / lineHeight;
          if (room < narrow || (lines > 8 && room < 8 * parseFloat(style.fontSize))) {
            return (c.closest('table') && c.closest('table').id || '?') + ': ' + text.slice(0, 40)
                   + ' (' + Math.round(room) + ' px wide, ' + Math.round(lines) + ' lines)';
          }
          return null;
        }
        const squeezed = Array.from(document.querySelectorAll('td, th')).map(squeezedCell).filter(x => x);
        const outside = Array.from(document.body.querySelectorAll('*'))
          .filter(e => { const r = e.getBoundingClientRect(); return shown(e) && r.width > 0 && r.right > view + 1 && !scrolls(e); })
          .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && e.className.baseVal === undefined ? '.' + e.className : '')
                    + ' right ' + Math.round(e.getBoundingClientRect().right))
          .slice(0, 10);
        const scrolled = Array.from(document.querySelectorAll('.scroll'))
          .filter(b => shown(b) && b.scrollWidth > b.clientWidth + 1)
          .map(b => (b.querySelector('table') && b.querySelector('table').id || '?') + ' ' + b.scrollWidth + ' > ' + b.clientWidth);
        return {height: Math.max(root.scrollHeight, document.body.scrollHeight), scrollWidth: root.scrollWidth,
                clientWidth: view, squeezed: squeezed.slice(0, 10), outside: outside, scrolled: scrolled};"""

WIDTHS = {"desktop": 1280, "phone": 390}


def start_chromium():
    """Headless Chromium through the Debian chromedriver, at a desktop's window size."""
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,800"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def capture_widths(driver, shots, name, layouts):
    """Lays the page out at each of WIDTHS, measures it into layouts["NAME-WIDTH"], and saves the whole
    page as shots/NAME-WIDTH.png."""
    for label, width in WIDTHS.items():
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": label == "phone"})
        time.sleep(0.3)
        layout = driver.execute_script(MEASURE_SCRIPT, 32)
        layout["width"] = width
        layouts[f"{name}-{label}"] = layout
        shot_data = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": layout["height"], "scale": 1}})
        with open(os.path.join(shots, f"{name}-{label}.png"), "wb") as out:
            out.write(base64.b64decode(shot_data["data"]))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    time.sleep(0.2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--operator", required=True)
    parser.add_argument("--viewer", required=True)
    parser.add_argument("--dead", required=True, help="digest of a dead-lettered order")
    parser.add_argument("--delivered-id", required=True, help="agreement id of a delivered order")
    parser.add_argument("--live-document", required=True, help="an agreement to submit while the list is open")
    parser.add_argument("--live-id", required=True, help="its agreement id")
    parser.add_argument("--shots", required=True)
    args = parser.parse_args()
    os.makedirs(args.shots, exist_ok=True)

    seen = {}
    driver = start_chromium()
    wait = WebDriverWait(driver, 20)
    base = args.base

    def path():
        return driver.current_url[len(base):]

    def text(selector):
        return driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : null;", selector)

    def rows(table_id):
        # Read in one script call: a live update may swap the region between element lookups.
        return driver.execute_script("""
            return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))
              .map(row => Array.from(row.cells).map(cell => cell.innerText.trim()));""", table_id)

    def all_text(selector):
        return driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText.trim());", selector)

    def click(by, value):
        # The page's live region may be replaced between finding an element and clicking it.
        for _ in range(10):
            try:
                driver.find_element(by, value).click()
                return
            except StaleElementReferenceException:
                time.sleep(0.2)
        driver.find_element(by, value).click()

    def shot(name):
        driver.save_screenshot(os.path.join(args.shots, f"{name}.png"))

    seen["layout"] = {}

    def capture(name):
        capture_widths(driver, args.shots, name, seen["layout"])

    def sign_in(token):
        field = wait.until(lambda d: d.find_element(By.ID, "token"))
        field.clear()
        field.send_keys(token)
        driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()

    def unlabelled():
        return driver.execute_script("""
            return Array.from(document.querySelectorAll('input:not([type=hidden]), select, button'))
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim()).length;""")

    try:
        # Unauthenticated: sent to the sign-in form; a wrong token is refused.
        driver.get(base + "/orders")
        wait.until(lambda d: "/login" in d.current_url)
        seen["unauthenticated_path"] = path()
        seen["login_unlabelled"] = unlabelled()
        seen["favicon"] = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch('/favicon.ico').then(r => r.arrayBuffer().then(b => done([r.status, r.headers.get('content-type'), b.byteLength])))
              .catch(e => done(String(e)));""")
        capture("login")
        sign_in("not-a-token")
        seen["bad_token_error"] = wait.until(lambda d: d.find_element(By.ID, "login-error")).text

        # A viewer signs in, lands on the list it asked for, sees the orders.
        sign_in(args.viewer)
        wait.until(lambda d: d.find_elements(By.ID, "orders"))
        seen["viewer_path"] = path()
        seen["viewer_signed_in"] = text("#signed-in")
        seen["cookies"] = [{k: c.get(k) for k in ("name", "value", "httpOnly", "secure", "sameSite")} for c in driver.get_cookies()]
        seen["viewer_rows"] = rows("orders")

        # The viewer opens the dead-lettered order: no retry button, and a forged POST is refused.
        driver.get(base + "/orders/" + args.dead)
        wait.until(lambda d: d.find_elements(By.ID, "actions"))
        seen["viewer_retry_buttons"] = len(driver.find_elements(By.ID, "retry"))
        seen["viewer_retry_denied"] = text("#retry-denied")
        seen["viewer_forced_retry_status"] = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const csrf = document.querySelector('input[name=csrf]').value;
            fetch(location.pathname + '/retry', {method: 'POST', credentials: 'same-origin',
                  headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'csrf=' + encodeURIComponent(csrf)})
              .then(r => done(r.status)).catch(e => done(String(e)));""")

        # Sign out: back to the sign-in form, and the pages are closed again.
        driver.find_element(By.CSS_SELECTOR, "header form[action='/logout'] button").click()
        wait.until(lambda d: "/login" in d.current_url)
        seen["after_sign_out_path"] = path()
        driver.get(base + "/orders")
        wait.until(lambda d: "/login" in d.current_url)
        seen["after_sign_out_orders_path"] = path()

        # An operator signs in: the overview with the dead-letter count and the charts.
        driver.get(base + "/login")
        sign_in(args.operator)
        wait.until(lambda d: d.find_elements(By.ID, "dead-letter-count"))
        seen["operator_path"] = path()
        seen["operator_signed_in"] = text("#signed-in")
        seen["dead_letter_count"] = text("#dead-letter-count")
        seen["delivered_count"] = text("#count-delivered .number")
        seen["chart_titles"] = all_text("figure.chart > figcaption")
        seen["partner_table"] = rows("partners")
        seen["target_table"] = rows("targets")
        seen["overview_unlabelled"] = unlabelled()
        seen["chart_units"] = all_text("figure.chart figcaption .unit")
        seen["chart_hovers"] = driver.execute_script(
            "return Array.from(document.querySelectorAll('#chart-throughput rect title')).map(t => t.textContent);")
        seen["chart_label_px"] = driver.execute_script("""
            return Array.from(document.querySelectorAll('.y-axis span, .x-axis span'))
              .map(e => parseFloat(getComputedStyle(e).fontSize));""")
        seen["chart_empty"] = all_text(".bars .nodata")
        capture("overview")

        # Filter by status (dead letter), then search by the delivered order's id.
        click(By.LINK_TEXT, "Orders")
        wait.until(lambda d: d.find_elements(By.ID, "orders"))
        Select(driver.find_element(By.ID, "f-status")).select_by_visible_text("dead letter")
        driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        wait.until(lambda d: "status=dead_letter" in d.current_url)
        seen["filtered_dead_rows"] = rows("orders")
        driver.get(base + "/orders")
        search = wait.until(lambda d: d.find_element(By.ID, "f-q"))
        search.send_keys(args.delivered_id)
        driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        wait.until(lambda d: "q=" in d.current_url)
        seen["search_rows"] = rows("orders")
        seen["orders_unlabelled"] = unlabelled()

        # Live: with the list open, a new agreement arrives and appears without a reload.
        driver.get(base + "/orders")
        wait.until(lambda d: d.find_elements(By.ID, "orders"))
        wait.until(lambda d: text("#live-status") == "Live")
        driver.execute_script("window.__notReloaded = true;")
        with open(args.live_document, "rb") as document:
            request = urllib.request.Request(base + "/v1/agreements", data=document.read(), method="POST")
            seen["live_submit_status"] = urllib.request.urlopen(request, timeout=20).status
        deadline = time.time() + 30
        seen["live_row"] = None
        while time.time() < deadline:
            found = [r for r in rows("orders") if r and r[0] == args.live_id]
            if found and found[0][3] == "delivered":
                seen["live_row"] = found[0]
                break
            time.sleep(0.3)
        seen["live_same_page"] = driver.execute_script("return window.__notReloaded === true;")
        capture("orders")

        # Search for the ERP reference exactly as the list shows it.
        reference = wait.until(lambda d: [r for r in rows("orders") if r and r[0] == args.delivered_id])[0][5]
        seen["listed_reference"] = reference
        search = wait.until(lambda d: d.find_element(By.ID, "f-q"))
        search.send_keys(reference)
        driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        wait.until(lambda d: "q=" in d.current_url)
        seen["reference_search_rows"] = rows("orders")

        # The delivered order's detail: signers, actions, attempts, receipts, provenance.
        click(By.LINK_TEXT, args.delivered_id)
        wait.until(lambda d: d.find_elements(By.ID, "signers"))
        seen["detail_title"] = text("h1")
        seen["detail_status"] = text(".status-line .badge")
        seen["detail_parties"] = rows("parties")
        seen["detail_signers"] = rows("signers")
        seen["detail_actions"] = rows("actions")
        seen["detail_attempts"] = rows("attempts")
        seen["detail_receipts"] = rows("receipts")
        seen["detail_provenance"] = all_text("#live details summary")
        seen["detail_story"] = all_text(".story > ul")
        seen["detail_times"] = driver.execute_script(
            "return Array.from(document.querySelectorAll('#live time')).map(t => t.innerText.trim());")
        seen["detail_mapping"] = text("#h-mapping + dl")
        receipt_link = driver.execute_script(
            "const a = document.querySelector('#receipts tbody a[href*=\\'/receipts/\\']'); return a ? a.getAttribute('href') : null;")
        seen["detail_receipt_link"] = receipt_link
        capture("order")
        if receipt_link:
            seen["receipt_json"] = driver.execute_async_script("""
                const done = arguments[arguments.length - 1];
                fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.json()).then(j => done(j)).catch(e => done(String(e)));""",
                receipt_link)

        # The operator retries the dead-lettered order; the page follows it to delivered, live.
        driver.get(base + "/orders/" + args.dead)
        wait.until(lambda d: d.find_elements(By.ID, "retry"))
        seen["dead_status_before"] = text(".status-line .badge")
        seen["dead_attempts_before"] = rows("attempts")
        click(By.ID, "retry")
        seen["retry_result"] = wait.until(lambda d: text("#retry-result"))
        try:
            WebDriverWait(driver, 30).until(lambda d: text(".status-line .badge") == "delivered" and rows("receipts"))
        except Exception:
            pass
        seen["dead_status_after"] = text(".status-line .badge")
        seen["dead_attempts_after"] = rows("attempts")
        seen["dead_receipts_after"] = rows("receipts")
        capture("order-retried")

        # The remaining pages: reconciliation, and a message page (an order that does not exist).
        deadline = time.time() + 20
        while True:  # until a reconciliation has finished (every 2 s in the test)
            driver.get(base + "/reconcile")
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "main p"))
            if "not finished" not in (text("#reconcile-state") or "") or time.time() > deadline:
                break
            time.sleep(1)
        seen["reconcile_title"] = text("h1")
        seen["reconcile_state"] = text("#reconcile-state")
        capture("reconcile")
        driver.get(base + "/orders/sha256:" + "0" * 64)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "p.notice"))
        seen["message_title"] = text("h1")
        capture("message")
    except Exception:
        seen["error"] = traceback.format_exc()
        try:
            seen["error_page"] = driver.current_url + "\n" + driver.find_element(By.TAG_NAME, "body").text[:2000]
            shot("error")
        except Exception:
            pass
    finally:
        driver.quit()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
