"""Headless Chromium through Selenium and Debian's chromedriver, for the page tests, and the small
HTTP and command-line helpers they share."""
import json
import os
import subprocess
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def chromium(profile, width=430, height=1000):
    """A headless Chromium with a profile of its own (its IndexedDB, service workers and cookies)."""
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", f"--user-data-dir={profile}", "--lang=zh-CN"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    binary = next((path for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] if os.path.exists(path)), None)
    if binary:
        options.binary_location = binary
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def console_errors(driver):
    """The page's console errors (a refused inline script would show here)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def post_json(url, body, headers=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def zbar(path):
    """The texts of the QR codes zbarimg finds in an image."""
    result = subprocess.run(["zbarimg", "--quiet", "--raw", path], capture_output=True, text=True, timeout=60)
    return [line for line in result.stdout.splitlines() if line]


def cli(elicence, arguments, database):
    result = subprocess.run([elicence, *arguments, "--database", database], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"elicence {' '.join(arguments)} exited {result.returncode}: {result.stderr}")
    return result.stdout


def check(condition, message):
    if not condition:
        raise AssertionError(message)
