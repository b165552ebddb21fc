#!/usr/bin/env python3
"""A holder's whole journey through the wallet page, in headless Chromium, against a running
`elicence serve`: open an enrolment link, see the licences, open one, show a presentation code,
decode it from a screenshot with zbarimg and verify it over HTTP (valid, then replayed), see the
usage records, make a code with a clock too far back (expired), revoke the licence (revoked) and the
device (unknown_device) with the command line, enrol a second phone by typing its code, and stop the
server: the page still shows the licences. Screenshots of each view go to --shots. Prints a JSON
summary; exits non-zero on the first expectation that fails.

    wallet_journey.py --url URL --elicence BIN --database DB --holder-code CODE --licence ID
                      --server-pid PID --shots DIR
"""
import argparse
import json
import os
import signal
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser import check, chromium, cli, console_errors, post_json, zbar  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    for name in ["--url", "--elicence", "--database", "--holder-code", "--licence", "--shots"]:
        parser.add_argument(name, required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    args = parser.parse_args()
    os.makedirs(args.shots, exist_ok=True)
    summary = {"outcomes": {}}
    profile = tempfile.mkdtemp(prefix="elicence-wallet-")
    driver = chromium(profile)
    wait = WebDriverWait(driver, 30)

    def shot(name):
        path = os.path.join(args.shots, name + ".png")
        driver.save_screenshot(path)
        return path

    def verify(code):
        status, answer = post_json(args.url + "/v1/verify", {"token": code})
        check(status == 200, f"verify answered {status}: {answer}")
        return answer

    def invite():
        printed = json.loads(cli(args.elicence, ["holders", "invite", "--holder-code", args.holder_code,
                                                 "--public-url", args.url, "--json"], args.database))
        return printed

    try:
        # 1. The enrolment link: the code stays in the fragment and leaves the address bar at once.
        link = invite()["link"]
        check("/wallet#enrol=" in link, f"an enrolment link: {link}")
        driver.get(link)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".licence") or d.find_elements(By.CSS_SELECTOR, ".error"))
        check(not driver.find_elements(By.CSS_SELECTOR, ".error"), "enrolment failed: " + driver.find_element(By.ID, "app").text)
        check("#enrol" not in driver.current_url, f"the code is still in the address bar: {driver.current_url}")
        cards = driver.find_elements(By.CSS_SELECTOR, ".licence")
        ids = [card.get_attribute("data-licence") for card in cards]
        check(args.licence in ids, f"the holder's licence {args.licence} is listed: {ids}")
        check(args.holder_code not in driver.page_source or len(args.holder_code) != 18 or not args.holder_code[:17].isdigit(),
              "the citizen's ID number appears unmasked on the page")
        shot("wallet-licences")

        # 2. The licence's face and its static QR code.
        driver.find_element(By.CSS_SELECTOR, f'.licence[data-licence="{args.licence}"]').click()
        wait.until(lambda d: d.find_elements(By.ID, "static-qr"))
        shot("wallet-licence")

        # 3. Show at the window: a presentation code, read back from a screenshot.
        driver.find_element(By.ID, "present").click()
        canvas = wait.until(lambda d: (c := d.find_elements(By.ID, "presentation")) and c[0].get_attribute("data-code") and c[0])
        time.sleep(0.3)
        decoded = zbar(shot("wallet-presentation"))
        shown = canvas.get_attribute("data-code")
        check(decoded == [shown], f"zbarimg read {decoded} from the screenshot; the page shows {shown}")
        summary["presentationLength"] = len(shown)
        summary["qrVersion"] = int(canvas.get_attribute("data-version"))
        check(shown.startswith("EL1P:") and len(shown) <= 221, f"a presentation code of at most 221 characters: {len(shown)}")
        check(summary["qrVersion"] <= 10, f"QR version {summary['qrVersion']}")
        countdown = driver.find_element(By.ID, "countdown").text
        check(countdown.startswith("0:"), f"a countdown: {countdown!r}")
        first = verify(decoded[0])
        summary["outcomes"]["presented"] = first["outcome"]
        check(first["outcome"] == "valid" and first["valid"] is True, f"the presentation verifies: {first}")
        check(first["presentation"]["disclosed"] == sorted(first["licence"]["fields"].keys()), f"{first['presentation']}")
        again = verify(decoded[0])
        summary["outcomes"]["sameCodeAgain"] = again["outcome"]
        check(again["outcome"] == "presentation_replayed", f"the same code twice: {again}")

        # 4. Who used the licence: the presentation is in the holder's records.
        driver.find_element(By.XPATH, "//button[contains(., 'Done')]").click()
        driver.find_element(By.XPATH, "//button[contains(., 'Back')]").click()
        # Usage records are written in batches: open the tab again until the presentation is there.
        for _ in range(30):
            driver.find_element(By.CSS_SELECTOR, 'button[data-tab="usage"]').click()
            time.sleep(0.5)
            if driver.find_elements(By.CSS_SELECTOR, '.usage[data-action="present"]'):
                break
        check(driver.find_elements(By.CSS_SELECTOR, '.usage[data-action="present"]'), "the presentation is in the usage records")
        shot("wallet-usage")
        driver.find_element(By.CSS_SELECTOR, 'button[data-tab="device"]').click()
        device = wait.until(lambda d: d.find_elements(By.ID, "device-id") and d.find_element(By.ID, "device-id").text)
        shot("wallet-device")

        def present_again(change):
            """Ticks a field on or off (a new code is made at once) and returns the new code."""
            before = driver.find_element(By.ID, "presentation").get_attribute("data-code")
            change()
            driver.find_element(By.CSS_SELECTOR, "input[data-field]").click()
            return wait.until(lambda d: (code := d.find_element(By.ID, "presentation").get_attribute("data-code")) != before and code)

        driver.find_element(By.CSS_SELECTOR, 'button[data-tab="licences"]').click()
        driver.find_element(By.CSS_SELECTOR, f'.licence[data-licence="{args.licence}"]').click()
        driver.find_element(By.ID, "present").click()
        wait.until(lambda d: d.find_element(By.ID, "presentation").get_attribute("data-code"))

        # 5. A phone whose clock is 200 s behind makes codes already past their exp.
        late = present_again(lambda: driver.execute_script(
            "const real = Date.now.bind(Date); window.__realNow = real; Date.now = () => real() - 200000;"))
        expired = verify(late)
        summary["outcomes"]["clockBehind"] = expired["outcome"]
        check(expired["outcome"] == "presentation_expired", f"a code past its exp: {expired}")
        # The holder disclosed nothing: the answer shows validity only.
        check(expired.get("licence") is None or not expired["licence"].get("fields"), f"{expired}")

        # 6. The agency revokes the licence: the next code says so, and since when.
        cli(args.elicence, ["revoke", args.licence, "--reason", "注销"], args.database)
        revoked = verify(present_again(lambda: driver.execute_script("Date.now = window.__realNow;")))
        summary["outcomes"]["licenceRevoked"] = revoked["outcome"]
        check(revoked["outcome"] == "revoked" and revoked.get("statusSince"), f"a revoked licence: {revoked}")

        # 7. The agency removes the device: its codes are refused.
        devices = json.loads(cli(args.elicence, ["holders", "devices", "--holder-code", args.holder_code, "--json"], args.database))
        check(any(d["id"] == device for d in devices), f"the device {device} is listed: {devices}")
        cli(args.elicence, ["holders", "revoke-device", device], args.database)
        removed = verify(present_again(lambda: None))
        summary["outcomes"]["deviceRevoked"] = removed["outcome"]
        check(removed["outcome"] == "unknown_device", f"a removed device: {removed}")

        # 8. A second phone, enrolled by typing its code (lower case, spaces: read forgivingly).
        second = chromium(tempfile.mkdtemp(prefix="elicence-wallet-"))
        try:
            second.get(args.url + "/wallet")
            field = WebDriverWait(second, 30).until(lambda d: d.find_elements(By.ID, "code") and d.find_element(By.ID, "code"))
            second.save_screenshot(os.path.join(args.shots, "wallet-enrol.png"))
            field.send_keys(invite()["code"].lower().replace("-", " "))
            second.find_element(By.CSS_SELECTOR, "#enrol button[type=submit]").click()
            WebDriverWait(second, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".licence"))
            badge = second.find_element(By.CSS_SELECTOR, f'.licence[data-licence="{args.licence}"] .badge').get_attribute("data-status")
            check(badge == "revoked", f"the second phone sees the licence revoked: {badge}")
            check(not console_errors(second), f"console errors: {console_errors(second)}")
        finally:
            second.quit()

        # 9. Offline: the server stops; the page, reloaded, still shows what it holds.
        os.kill(args.server_pid, signal.SIGTERM)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(args.url + "/healthz", timeout=1)
                time.sleep(0.2)
            except OSError:
                break
        driver.refresh()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".licence"))
        check(driver.find_element(By.ID, "network").is_displayed(), "the page says it is offline")
        shot("wallet-offline")
        driver.find_element(By.CSS_SELECTOR, f'.licence[data-licence="{args.licence}"]').click()
        wait.until(lambda d: d.find_elements(By.ID, "static-qr"))
        summary["offline"] = "licences and static QR shown"
        errors = [e for e in console_errors(driver) if "Failed to fetch" not in e and "ERR_CONNECTION_REFUSED" not in e]
        check(not errors, f"console errors: {errors}")
    except Exception:
        try:
            shot("wallet-failure")
            print(driver.find_element(By.TAG_NAME, "body").text[:2000], file=sys.stderr)
            print(console_errors(driver), file=sys.stderr)
        except Exception:  # noqa: BLE001 — the report above is best effort
            pass
        raise
    finally:
        driver.quit()
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
