#!/usr/bin/env python3
"""An independent check of an ELicence transparency log, written from the specifications alone:
RFC 9162 section 2.1 (the Merkle tree, inclusion and consistency proofs and their verification),
C2SP tlog-tiles (tile paths, tiles, entry bundles), C2SP tlog-checkpoint and signed-note (Ed25519).
It shares no code with the project; Ed25519 comes from the `cryptography` package.

    tlog_interop.py --url http://127.0.0.1:8080/v1/log --trust-list Keys/trust-list.json \
        [--old-checkpoint FILE] [--licence ID ...]

Exits 0 when every check holds, 1 naming the first that fails.
"""
import argparse
import base64
import hashlib
import json
import struct
import sys
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key


def fail(message):
    print("tlog interop: " + message, file=sys.stderr)
    sys.exit(1)


def get(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


# RFC 9162 2.1.1
def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(hashes):
    """MTH over leaf hashes D[0:n], as the RFC defines it recursively."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = largest_power_of_two_below(n)
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


# RFC 9162 2.1.4.1
def subproof(m, hashes, complete):
    n = len(hashes)
    if m == n:
        return [] if complete else [mth(hashes)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return subproof(m, hashes[:k], complete) + [mth(hashes[k:])]
    return subproof(m - k, hashes[k:], False) + [mth(hashes[:k])]


# RFC 9162 2.1.3.2
def verify_inclusion(leaf, index, size, path, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# RFC 9162 2.1.4.2
def verify_consistency(first, second, first_hash, second_hash, path):
    if first == second:
        return not path and first_hash == second_hash
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_hash] + path
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


# C2SP tlog-tiles: <N> in 3-digit elements, all but the last with an x.
def tile_index(n):
    elements = []
    while True:
        elements.insert(0, "%03d" % (n % 1000))
        n //= 1000
        if n == 0:
            break
    return "/".join(["x" + e for e in elements[:-1]] + [elements[-1]])


def tile_path(level, n, width):
    return "tile/%s/%s%s" % (level, tile_index(n), "" if width == 256 else ".p/%d" % width)


# C2SP signed-note and tlog-checkpoint
def open_note(note, name, public_key_raw):
    text, separator, signatures = note.rpartition("\n\n")
    if not separator:
        fail("the checkpoint has no blank line before its signatures")
    text += "\n"
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + public_key_raw).digest()[:4]
    verified = False
    for line in signatures.rstrip("\n").split("\n"):
        dash, key_name, blob = line.split(" ")
        if dash != "\u2014":
            fail("a signature line does not start with an em dash")
        raw = base64.b64decode(blob)
        if key_name == name and raw[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(public_key_raw).verify(raw[4:], text.encode())
            verified = True
    if not verified:
        fail("no signature of the log key on the checkpoint")
    lines = text.split("\n")
    return lines[0], int(lines[1]), base64.b64decode(lines[2])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--trust-list", required=True)
    parser.add_argument("--old-checkpoint")
    parser.add_argument("--licence", nargs="*", default=[])
    args = parser.parse_args()
    prefix = args.url.rstrip("/")

    with open(args.trust_list) as f:
        keys = [k for k in json.load(f)["keys"] if k["role"] == "log"]
    if not keys:
        fail("the trust list holds no key of role log")
    public_key_raw = load_pem_public_key(keys[0]["publicKey"].encode()).public_bytes(Encoding.Raw, PublicFormat.Raw)

    note = get(prefix + "/checkpoint").decode()
    origin, size, root = open_note(note, note.split("\n")[0], public_key_raw)
    if origin + "/" not in prefix + "/":
        fail("the checkpoint's origin %s is not the log's URL %s" % (origin, prefix))

    # Every entry bundle and level-0 tile; the entries hash to the tiles and to the root.
    hashes = []
    for n in range((size + 255) // 256):
        width = min(256, size - n * 256)
        bundle = get(prefix + "/" + tile_path("entries", n, width))
        tile = get(prefix + "/" + tile_path(0, n, width))
        if len(tile) != 32 * width:
            fail("tile %s has %d bytes" % (tile_path(0, n, width), len(tile)))
        offset, entries = 0, []
        while offset < len(bundle):
            (length,) = struct.unpack(">H", bundle[offset:offset + 2])
            entries.append(bundle[offset + 2:offset + 2 + length])
            offset += 2 + length
        if len(entries) != width:
            fail("bundle %s holds %d entries, not %d" % (tile_path("entries", n, width), len(entries), width))
        for i, entry in enumerate(entries):
            if leaf_hash(entry) != tile[32 * i:32 * i + 32]:
                fail("entry %d does not hash to its tile" % (n * 256 + i))
            hashes.append(leaf_hash(entry))
    if mth(hashes) != root:
        fail("the entries do not hash to the checkpoint's root")
    # Higher tiles: each hash is the root of 256 hashes of the level below.
    level, below = 1, hashes
    while len(below) >= 256:
        count = len(below) // 256
        upper = [mth(below[i * 256:(i + 1) * 256]) for i in range(count)]
        for n in range((count + 255) // 256):
            width = min(256, count - n * 256)
            tile = get(prefix + "/" + tile_path(level, n, width))
            if tile != b"".join(upper[n * 256:n * 256 + width]):
                fail("tile %s is not the roots of the tiles below it" % tile_path(level, n, width))
        level, below = level + 1, upper
    print("checkpoint %s: %d leaves; entries, tiles and root agree" % (origin, size))

    # Inclusion proofs served for licences.
    base = prefix[: -len("/v1/log")] if prefix.endswith("/v1/log") else prefix
    for licence in args.licence:
        proof = json.loads(get(base + "/v1/licences/" + licence + "/log-proof"))
        _, proof_size, proof_root = open_note(proof["checkpoint"], origin, public_key_raw)
        leaf = base64.b64decode(proof["leaf"])
        path = [base64.b64decode(h) for h in proof["inclusionProof"]]
        if proof["treeSize"] != proof_size or leaf_hash(leaf) != hashes[proof["index"]]:
            fail("the proof of %s names another leaf or tree" % licence)
        if not verify_inclusion(leaf_hash(leaf), proof["index"], proof_size, path, proof_root):
            fail("the inclusion proof of %s does not verify" % licence)
    if args.licence:
        print("%d inclusion proofs verify" % len(args.licence))

    # Consistency with an earlier checkpoint, from the leaves.
    if args.old_checkpoint:
        with open(args.old_checkpoint) as f:
            _, old_size, old_root = open_note(f.read(), origin, public_key_raw)
        if old_size > size or mth(hashes[:old_size]) != old_root:
            fail("the earlier checkpoint of %d leaves is not a prefix of this log" % old_size)
        if 0 < old_size < size and not verify_consistency(old_size, size, old_root, root, subproof(old_size, hashes, True)):
            fail("the consistency proof from %d to %d does not verify" % (old_size, size))
        print("consistent with the checkpoint of %d leaves" % old_size)


if __name__ == "__main__":
    main()
