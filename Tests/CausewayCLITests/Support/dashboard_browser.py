#!/usr/bin/env python3
"""Drives the operator dashboard of a running `causeway serve` in headless Chromium, as a person
would, and prints what it saw as one JSON object (DashboardTests asserts on it).

It never asserts itself: every observation is recorded, and an exception ends the run with the
observations so far plus "error". Screenshots (one per page) go to --shots.

Needs the Debian packages chromium and chromium-driver and the Python package selenium.
"""
import argparse
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
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,800"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
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
        shot("login")
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
        shot("overview")

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
        shot("orders")

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
        seen["detail_mapping"] = text("#h-mapping + dl")
        shot("order")

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
        shot("order-retried")

        # A phone's width: the page does not overflow sideways (tables scroll inside their box).
        driver.set_window_size(390, 844)
        driver.get(base + "/orders")
        wait.until(lambda d: d.find_elements(By.ID, "orders"))
        seen["phone_widths"] = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];")
        shot("orders-phone")
        driver.get(base + "/")
        wait.until(lambda d: d.find_elements(By.ID, "dead-letter-count"))
        seen["phone_overview_widths"] = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];")
        shot("overview-phone")
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
