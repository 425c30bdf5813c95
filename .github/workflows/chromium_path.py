"""Prints the path of the Chromium that `python -m playwright install chromium` installed (used by tests.yml)."""

from playwright.sync_api import sync_playwright

with sync_playwright() as playwright:
    print(playwright.chromium.executable_path)
