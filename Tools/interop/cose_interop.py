#!/usr/bin/env python3
"""Checks ELicence tokens with an independent COSE implementation (pycose, cbor2).

  cose_interop.py verify TOKEN_FILE PUBLIC_KEY_PEM
      Decodes EL1: + base45 + zlib, verifies the COSE_Sign1 with pycose and prints the claims as
      JSON. Exit 0 when the signature verifies, 1 when it does not.
  cose_interop.py sign ALG PRIVATE_KEY_PEM KID_HEX ISSUER_CODE OUT_FILE
      Makes a licence token with pycose and cbor2 (ALG: ES256 or EdDSA) and writes its EL1: text.
  cose_interop.py verify-trust-list COSE_FILE ANCHOR_PUBLIC_KEY_PEM
      Verifies a signed trust list (a COSE_Sign1 file) with pycose and prints its header and claims
      as JSON. Exit 0 when the signature verifies, 1 when it does not.
  cose_interop.py sm2-parts COSE_FILE OUT_DIR
      Writes the bytes an SM2 COSE_Sign1 signs (Sig_structure) to OUT_DIR/tbs and its signature as
      DER to OUT_DIR/sig.der, for `openssl pkeyutl -verify` to check.

base45 is written out here from RFC 9285 so that nothing of ELicence's own code is involved.
"""
import json
import sys
import time
import zlib

import cbor2
from pycose.algorithms import EdDSA, Es256
from pycose.headers import KID, Algorithm
from pycose.keys import CoseKey
from pycose.messages import Sign1Message

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def b45decode(text):
    out = bytearray()
    for i in range(0, len(text), 3):
        chunk = text[i:i + 3]
        n = sum(ALPHABET.index(c) * 45 ** k for k, c in enumerate(chunk))
        out += n.to_bytes(2 if len(chunk) == 3 else 1, "big")
    return bytes(out)


def b45encode(data):
    out = []
    for i in range(0, len(data), 2):
        pair = data[i:i + 2]
        n = int.from_bytes(pair, "big")
        digits = 3 if len(pair) == 2 else 2
        for _ in range(digits):
            out.append(ALPHABET[n % 45])
            n //= 45
    return "".join(out)


def plain(value):
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def verify(token_file, public_pem):
    token = open(token_file).read().strip()
    assert token.startswith("EL1:"), "no EL1: prefix"
    cose_bytes = zlib.decompress(b45decode(token[4:]))
    message = Sign1Message.decode(cose_bytes)
    message.key = CoseKey.from_pem_public_key(open(public_pem).read())
    ok = message.verify_signature()
    claims = cbor2.loads(message.payload)
    print(json.dumps({"verified": ok, "alg": message.phdr[Algorithm].fullname,
                      "kid": message.phdr[KID].hex(), "tag18": cose_bytes[0] == 0xD2,
                      "claims": plain(claims)}, ensure_ascii=False))
    return 0 if ok else 1


def sign(alg, private_pem, kid_hex, issuer_code, out_file):
    now = int(time.time())
    identifier = "1.2.156.3005.2.11100000000013338W011.%s.20230000403.001." % issuer_code
    identifier += mod37_36("11100000000013338W011" + issuer_code + "20230000403001")
    # Keys deliberately in a non-canonical order: the signature covers the bytes as sent.
    claims = {
        -65537: {11: {"经营范围": "软件开发"}, 1: "11100000000013338W011", 2: "营业执照", 3: "闽市监2026第000999号",
                 4: "厦门某某信息技术有限公司", 5: "91350100MA2Y01111F", 6: "001", 7: "互操作测试局",
                 8: "2026-01-01", 9: None, 10: 1},
        7: identifier.encode(), 6: now, 5: now - 86400, 1: issuer_code,
    }
    message = Sign1Message(phdr={Algorithm: {"ES256": Es256, "EdDSA": EdDSA}[alg], KID: bytes.fromhex(kid_hex)},
                           payload=cbor2.dumps(claims))
    message.key = CoseKey.from_pem_private_key(open(private_pem).read())
    token = "EL1:" + b45encode(zlib.compress(message.encode()))
    open(out_file, "w").write(token)
    return 0


def verify_trust_list(cose_file, public_pem):
    data = open(cose_file, "rb").read()
    message = Sign1Message.decode(data)
    message.key = CoseKey.from_pem_public_key(open(public_pem).read())
    ok = message.verify_signature()
    claims = cbor2.loads(message.payload)
    print(json.dumps({"verified": ok, "alg": message.phdr[Algorithm].fullname, "kid": message.phdr[KID].hex(),
                      "typ": message.phdr.get(16), "tag18": data[0] == 0xD2, "claims": plain(claims)},
                     ensure_ascii=False))
    return 0 if ok else 1


def sm2_parts(cose_file, out_dir):
    # Read with cbor2 alone: pycose does not know the private-use SM2 algorithm.
    item = cbor2.loads(open(cose_file, "rb").read())
    assert isinstance(item, cbor2.CBORTag) and item.tag == 18, "not a tagged COSE_Sign1"
    protected, _unprotected, payload, signature = item.value
    assert cbor2.loads(protected)[1] == -65601, "not SM2"
    open(out_dir + "/tbs", "wb").write(cbor2.dumps(["Signature1", protected, b"", payload]))
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")

    def der_int(n):
        body = n.to_bytes((n.bit_length() + 8) // 8, "big")
        return b"\x02" + bytes([len(body)]) + body
    body = der_int(r) + der_int(s)
    open(out_dir + "/sig.der", "wb").write(b"\x30" + bytes([len(body)]) + body)
    return 0


def mod37_36(text):
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    p = 36
    for c in text:
        p = (p + alphabet.index(c)) % 36
        p = 36 if p == 0 else p
        p = (p * 2) % 37
    return alphabet[(37 - p) % 36]


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    sys.exit({"verify": verify, "sign": sign, "verify-trust-list": verify_trust_list,
              "sm2-parts": sm2_parts}[command](*args))
