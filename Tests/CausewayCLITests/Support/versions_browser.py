#!/usr/bin/env python3
"""Drives the dashboard of a running `causeway serve` in headless Chromium over an agreement with
several versions, and prints what it saw as one JSON object (DashboardVersionsTests asserts on it;
this script never asserts).

A viewer signs in, opens /orders (one row per agreement), follows the agreement's link (as its
href, read and opened in one step) to its current version's page (the timeline of versions with their diffs and receipts), then opens a
superseded version and follows its link to the current one. The list and both pages are captured
whole at a desktop's width (1280 px) and a phone's (390 px) into --shots as versions-orders-*.png,
versions-current-*.png and versions-superseded-*.png, measured by dashboard_browser.capture_widths.
"""
import argparse
import json
import os
import sys
import traceback

os.environ.setdefault("SE_AVOID_STATS", "true")  # nothing outside this machine can be reached

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dashboard_browser import capture_widths, start_chromium  # noqa: E402  (the same browser, measuring and full-page shots)


def main():
    parser = argparse.ArgumentParser()
    for name, meaning in [("--base", "http://127.0.0.1:PORT"), ("--viewer", "a viewer's token"),
                          ("--agreement-id", "the original's business id, as the list shows it"),
                          ("--superseded", "the digest of a superseded version"), ("--shots", "where the screenshots go")]:
        parser.add_argument(name, required=True, help=meaning)
    args = parser.parse_args()
    os.makedirs(args.shots, exist_ok=True)
    seen = {"layout": {}}
    driver = start_chromium()
    wait = WebDriverWait(driver, 20)

    def here():
        return driver.current_url[len(args.base):]

    def follow(script, *values):
        # A link is read and followed in one step: the live region may be swapped at any moment,
        # which would leave a found element stale before a click.
        href = driver.execute_script(script, *values)
        driver.get(args.base + href)
        return href

    def timeline():
        # Each version card: its id, its heading, its whole text as a person reads it, its links.
        return driver.execute_script("""
            return Array.from(document.querySelectorAll('#versions > li.version')).map(li => ({
              id: li.id, here: li.getAttribute('aria-current') === 'page', heading: li.querySelector('h3').innerText.trim(),
              text: li.innerText.trim(),
              receipts: Array.from(li.querySelectorAll('.version-receipts a')).map(a => a.getAttribute('href')),
              links: Array.from(li.querySelectorAll('h3 a')).map(a => a.getAttribute('href'))}));""")

    try:
        driver.get(args.base + "/login?next=/orders")
        wait.until(lambda d: d.find_element(By.ID, "token")).send_keys(args.viewer)
        driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
        wait.until(lambda d: d.find_elements(By.ID, "orders"))
        seen["rows"] = driver.execute_script(
            "return Array.from(document.querySelectorAll('#orders tbody tr')).map(r => Array.from(r.cells).map(c => c.innerText.trim()));")
        capture_widths(driver, args.shots, "versions-orders", seen["layout"])

        # The agreement's row links its current version.
        seen["row_link"] = follow("return Array.from(document.querySelectorAll('#orders a')).find(a => a.innerText.trim() === arguments[0])"
                                  ".getAttribute('href');", args.agreement_id)
        wait.until(lambda d: d.find_elements(By.ID, "versions"))
        seen["current_path"] = here()
        seen["current_title"] = driver.find_element(By.TAG_NAME, "h1").text
        seen["current_timeline"] = timeline()
        seen["current_superseded_notices"] = len(driver.find_elements(By.ID, "superseded"))
        capture_widths(driver, args.shots, "versions-current", seen["layout"])

        # A superseded version says so and links the current one.
        driver.get(args.base + "/orders/" + args.superseded)
        wait.until(lambda d: d.find_elements(By.ID, "versions"))
        seen["superseded_notice"] = driver.execute_script("return document.getElementById('superseded').innerText.trim();")
        seen["superseded_timeline"] = timeline()
        capture_widths(driver, args.shots, "versions-superseded", seen["layout"])
        follow("return document.getElementById('current-version').getAttribute('href');")
        wait.until(lambda d: d.find_elements(By.ID, "versions"))
        seen["followed_to_current"] = here()
    except Exception:
        seen["error"] = traceback.format_exc()
    finally:
        driver.quit()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
