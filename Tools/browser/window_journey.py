#!/usr/bin/env python3
"""The service-window page as a clerk meets it, in headless Chromium, against a running
`elicence serve --demo`: scans typed by a scanner (keystrokes and Enter), a window signed in as its
agency (61 quick scans, none limited, each a usage record of the agency; signed out, the anonymous
limit applies again), an incomplete scan (amber "scan again", apart from a forgery in red), a revoked
licence (since when; its validity period not shown as applying), and a holder's presentation code
made by an independent implementation (Python: cryptography, cbor2) of the device side — DPoP
enrolment, COSE_Sign1, base45. Screenshots of each view go to --shots; prints a JSON summary.

    window_journey.py --url URL --elicence BIN --database DB --agency CODE --agency-key KEY
                      --valid LICENCE_ID --valid-token TOKEN --revoked TOKEN --holder-code CODE --holder-licence ID --shots DIR
"""
import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
import time
import urllib.request
import uuid
import zlib

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser import check, chromium, cli, console_errors, post_json  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def b45encode(data):
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        c, n = n % 45, n // 45
        out += [BASE45[c], BASE45[n % 45], BASE45[n // 45]]
    if len(data) % 2:
        out += [BASE45[data[-1] % 45], BASE45[data[-1] // 45]]
    return "".join(out)


def b45decode(text):
    values = [BASE45.index(c) for c in text]
    out = bytearray()
    for i in range(0, len(values), 3):
        chunk = values[i:i + 3]
        n = sum(v * 45 ** k for k, v in enumerate(chunk))
        out += n.to_bytes(2 if len(chunk) == 3 else 1, "big")
    return bytes(out)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Device:
    """A holder's phone, written independently of the wallet page: P-256, DPoP (RFC 9449), EL1P."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        spki = self.key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = hashlib.sha256(spki).digest()[:8]

    def sign(self, message):
        r, s = decode_dss_signature(self.key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def dpop(self, method, url):
        numbers = self.key.public_key().public_numbers()
        header = {"typ": "dpop+jwt", "alg": "ES256",
                  "jwk": {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big"))}}
        claims = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time())}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        return signing_input + "." + b64url(self.sign(signing_input.encode()))

    def present(self, licence_id, disclosed=None):
        now = int(time.time())
        protected = cbor2.dumps({1: -7, 4: self.kid})
        claims = {1: hashlib.sha256(licence_id.encode()).digest()[:8], 2: now, 3: now + 90, 4: os.urandom(8)}
        if disclosed is not None:
            claims[5] = disclosed
        payload = cbor2.dumps(claims)
        signature = self.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
        return "EL1P:" + b45encode(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))


def forged(token):
    """The token with one byte of its signature changed: it reads, but does not verify."""
    prefix, body = token.split(":", 1)
    sign1 = bytearray(zlib.decompress(b45decode(body)))
    sign1[-1] ^= 0x01
    return prefix + ":" + b45encode(zlib.compress(bytes(sign1), 9))


def main():
    parser = argparse.ArgumentParser()
    for name in ["--url", "--elicence", "--database", "--agency", "--agency-key", "--valid", "--valid-token", "--revoked",
                 "--holder-code", "--holder-licence", "--shots"]:
        parser.add_argument(name, required=True)
    args = parser.parse_args()
    os.makedirs(args.shots, exist_ok=True)
    summary = {}
    valid = args.valid_token
    driver = chromium(tempfile.mkdtemp(prefix="elicence-window-"), width=1100, height=1000)
    wait = WebDriverWait(driver, 30)

    def shot(name):
        driver.save_screenshot(os.path.join(args.shots, name + ".png"))

    def scan(text, typed=False):
        """Types as a scanner does, into whatever has the focus (typed), or at a scanner's speed: the
        text put in the scan box at once and Enter pressed; then waits for the answer."""
        verdict = driver.find_element(By.ID, "verdict")
        driver.execute_script("arguments[0].dataset.outcome = ''", verdict)
        if typed:
            driver.find_element(By.TAG_NAME, "body").send_keys(text + Keys.ENTER)
        else:
            driver.execute_script("document.getElementById('token').value = arguments[0]", text)
            driver.find_element(By.ID, "token").send_keys(Keys.ENTER)
        wait.until(lambda d: verdict.get_attribute("data-outcome") not in ("", "pending"))
        return verdict

    try:
        driver.get(args.url + "/")
        wait.until(lambda d: d.find_element(By.ID, "session-name").text)

        # Sign in with a credential made by the command line; the page never keeps it.
        printed = cli(args.elicence, ["windows", "add", "--agency", args.agency, "--label", "3号窗口"], args.database)
        credential = next(word for word in printed.split() if word.startswith("elw_"))
        driver.find_element(By.ID, "sign-in-open").click()
        driver.find_element(By.ID, "credential").send_keys(credential + Keys.ENTER)
        wait.until(lambda d: d.find_element(By.ID, "session").get_attribute("data-agency") == args.agency)
        check(not driver.find_element(By.ID, "sign-in").is_displayed(), "the sign-in form closes once signed in")
        cookie = driver.get_cookie("elicence_window")
        check(cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict", f"the session cookie: {cookie}")
        stored = driver.execute_script("return JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie")
        check(credential not in stored and "elicence_window" not in stored, "the page keeps no credential or session where scripts read")

        # 61 quick scans, far past the anonymous limit: none limited; every one the agency's usage record.
        before = usage_count(args, args.valid)
        check(scan(valid, typed=True).get_attribute("data-outcome") == "valid", "a typed scan is valid")
        for _ in range(60):
            check(scan(valid).get_attribute("data-outcome") == "valid", "a signed-in window's scan is valid")
        shot("window-valid")
        deadline = time.time() + 10
        while usage_count(args, args.valid) < before + 61 and time.time() < deadline:
            time.sleep(0.3)
        summary["signedInScans"] = usage_count(args, args.valid) - before
        check(summary["signedInScans"] >= 61, f"61 usage records of the agency: {summary['signedInScans']}")

        # Incomplete scans are amber and say "scan again"; a forgery is red.
        truncated = scan(valid[:len(valid) // 2])
        check(truncated.get_attribute("class") == "warning" and truncated.get_attribute("data-incomplete") == "true",
              f"a truncated scan: {truncated.get_attribute('class')} {truncated.text}")
        check("扫描不完整" in truncated.text and "malformed" not in truncated.text, truncated.text)
        shot("window-incomplete")
        garbled = scan(valid[:40] + "::" + valid[42:])
        check(garbled.get_attribute("data-incomplete") == "true", f"a garbled scan: {garbled.text}")
        forgery = scan(forged(valid))
        check(forgery.get_attribute("class") == "invalid" and forgery.get_attribute("data-outcome") == "bad_signature",
              f"a forgery: {forgery.get_attribute('data-outcome')}")
        summary["incomplete"] = "amber"
        summary["forgery"] = "red"

        # A revoked licence: since when, and no validity period as if it applied.
        revoked = scan(args.revoked, typed=True)
        check(revoked.get_attribute("data-outcome") == "revoked" and revoked.get_attribute("class") == "invalid", revoked.text)
        since = driver.find_element(By.ID, "status-since").text
        check("起" in since and "since" in since, since)
        validity = driver.find_element(By.ID, "validity").text
        check("不再适用" in validity, validity)
        shot("window-revoked")

        # A holder's presentation code, from a device written independently of the wallet page.
        phone = Device()
        invite = json.loads(cli(args.elicence, ["holders", "invite", "--holder-code", args.holder_code, "--public-url", args.url,
                                                "--json"], args.database))
        status, enrolled = post_json(args.url + "/v1/wallet/enrol", {"code": invite["code"]},
                                     {"DPoP": phone.dpop("POST", args.url + "/v1/wallet/enrol")})
        check(status == 200 and enrolled["device"] == phone.kid.hex(), f"enrolment: {status} {enrolled}")
        code = phone.present(args.holder_licence)
        summary["presentationLength"] = len(code)
        shown = scan(code)
        check(shown.get_attribute("data-outcome") == "valid", shown.text)
        check("亮证" in driver.find_element(By.ID, "presentation").text, "the presentation is named")
        shot("window-presentation")
        replayed = scan(code)
        check(replayed.get_attribute("data-outcome") == "presentation_replayed" and replayed.get_attribute("class") == "warning",
              replayed.text)

        # Signed out: anonymous, and limited as such (the page says so, in amber).
        driver.find_element(By.ID, "sign-out").click()
        wait.until(lambda d: not d.find_element(By.ID, "session").get_attribute("data-agency"))
        outcomes = [scan(valid).get_attribute("data-outcome") for _ in range(30)]
        summary["anonymousRefused"] = outcomes.count("request_refused")
        check("request_refused" in outcomes, f"an anonymous window is limited: {set(outcomes)}")
        shot("window-limited")
        # The refused requests themselves are logged by the browser; nothing else may be.
        errors = [e for e in console_errors(driver) if "429" not in e and "403" not in e]
        check(not errors, f"console errors: {errors}")
    finally:
        driver.quit()
    print(json.dumps(summary, ensure_ascii=False))


def usage_count(args, licence):
    request = urllib.request.Request(f"{args.url}/v1/licences/{licence}/usage",
                                     headers={"Authorization": "Bearer " + args.agency_key})
    with urllib.request.urlopen(request, timeout=30) as response:
        records = json.loads(response.read())["records"]
    return sum(1 for r in records if r["agency"] == args.agency and r["action"] == "verify")


if __name__ == "__main__":
    main()
