#!/usr/bin/env python3
"""Drives the dashboard's Audit page of a running `causeway serve` in headless Chromium and prints
what it saw as one JSON object (AuditLogTests asserts on it; this script never asserts).

An operator signs in, opens /audit, filters by action, fetches the JSON-lines export; the page is
captured whole at a desktop's width (1280 px) and a phone's (390 px) into --shots as
audit-desktop.png and audit-phone.png, measured by dashboard_browser.capture_widths.
Then a viewer signs in: no Audit link, and /audit answers "Not allowed".
"""
import argparse
import json
import os
import sys
import traceback

os.environ.setdefault("SE_AVOID_STATS", "true")  # nothing outside this machine can be reached

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dashboard_browser import capture_widths, start_chromium  # noqa: E402  (the same browser, measuring and full-page shots)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--operator", required=True)
    parser.add_argument("--viewer", required=True)
    parser.add_argument("--shots", required=True)
    args = parser.parse_args()
    os.makedirs(args.shots, exist_ok=True)
    seen = {}
    driver = start_chromium()
    wait = WebDriverWait(driver, 20)
    base = args.base

    def rows(table_id):
        return driver.execute_script("""
            const t = document.getElementById(arguments[0]);
            return t ? Array.from(t.querySelectorAll('tbody tr')).map(r => Array.from(r.cells).map(c => c.innerText.trim())) : [];""", table_id)

    def nav():
        return driver.execute_script("return Array.from(document.querySelectorAll('nav[aria-label=Main] a')).map(a => a.innerText.trim());")

    def sign_in(token, next_path):
        driver.get(base + "/login?next=" + next_path)
        field = wait.until(lambda d: d.find_element(By.ID, "token"))
        field.clear()
        field.send_keys(token)
        driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()

    seen["layout"] = {}

    def capture(name):
        capture_widths(driver, args.shots, name, seen["layout"])

    try:
        sign_in(args.operator, "/audit")
        wait.until(lambda d: d.find_elements(By.ID, "audit"))
        seen["title"] = driver.find_element(By.TAG_NAME, "h1").text
        seen["nav"] = nav()
        seen["rows"] = rows("audit")
        capture("audit")
        seen["export_href"] = driver.find_element(By.ID, "audit-export").get_attribute("href")[len(base):]
        seen["export_lines"] = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch('/audit.jsonl', {credentials: 'same-origin'}).then(r => r.text()).then(t => done(t.split('\\n').filter(l => l).length))
              .catch(e => done(String(e)));""")
        Select(driver.find_element(By.ID, "f-action")).select_by_value("dashboard.sign_in")
        driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        wait.until(lambda d: "action=dashboard.sign_in" in d.current_url)
        seen["filtered"] = rows("audit")
        capture("audit-filtered")

        driver.find_element(By.CSS_SELECTOR, "header form[action='/logout'] button").click()
        wait.until(lambda d: "/login" in d.current_url)
        sign_in(args.viewer, "/")
        wait.until(lambda d: d.find_elements(By.ID, "signed-in"))
        seen["viewer_nav"] = nav()
        driver.get(base + "/audit")
        seen["viewer_title"] = wait.until(lambda d: d.find_element(By.TAG_NAME, "h1")).text
    except Exception:
        seen["error"] = traceback.format_exc()
    finally:
        driver.quit()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
