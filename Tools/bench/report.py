#!/usr/bin/env python3
"""Prints the benchmark table of Tools/bench/run: every speed next to its baseline, as a ratio."""
import datetime
import json
import platform
import sys

results = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
cores = int(sys.argv[3])
openssl = {}
for line in open(sys.argv[2]):
    fields = line.strip().split(":")
    name = {"+F7": "SM2", "+F4": "ES256", "+F6": "EdDSA"}.get(fields[0])
    if name:
        openssl[name] = {"sign": float(fields[-2]), "verify": float(fields[-1])}

rows = []
def row(measure, value, baseline, base_value, target=None):
    ratio = value / base_value if base_value else float("nan")
    verdict = "" if target is None else ("yes" if ratio >= target else "no")
    rows.append((measure, value, baseline, base_value, ratio, "" if target is None else "≥ %.2f %s" % (target, verdict)))

limit = {}
for r in (r for r in results if r["kind"] == "inprocess"):
    alg = r["alg"]
    single = max(openssl.get(alg, {}).get("verify", 0), r["signature_per_s"], r["openssl_evp_per_s"])
    limit[alg] = single * cores
    row("%s verify, in process, 1 core (Verifier, %s)" % (alg, r["implementation"]), r["verifier_per_s"],
        "fastest library, 1 core", single, 0.9)
    # The SM2 check is ELicence's own code, so it has a target against OpenSSL's.
    row("%s signature check, %s, 1 core" % (alg, r["implementation"]), r["signature_per_s"],
        "openssl speed %s verify" % alg.lower(), openssl.get(alg, {}).get("verify", 0),
        1.5 if alg == "SM2" else None)

def combined(runs):
    """One figure from the rounds of a measure: requests over time, CPU over requests, and for the
    latencies the median of the rounds' percentiles."""
    requests = sum(r["requests"] for r in runs)
    def middle(key):
        values = sorted(r[key] for r in runs if r[key] is not None)
        return values[len(values) // 2] if values else float("nan")
    return {"rps": requests / sum(r["duration_s"] for r in runs), "p50_ms": middle("p50_ms"), "p99_ms": middle("p99_ms"),
            "server_cpu_us": sum(r["server_cpu_s"] for r in runs) * 1e6 / max(requests, 1)}

by_name = {}
for r in (r for r in results if r["kind"] == "http"):
    by_name.setdefault(r["name"].split(".")[0], []).append(r)
http = {name: combined(runs) for name, runs in by_name.items()}
trivial = http.get("trivial", {}).get("rps", 0)
if trivial:
    rows.append(("HTTP GET /healthz (trivial route)", trivial, "", 0, float("nan"),
                 "p50 %.2f ms, p99 %.2f ms; server CPU %.0f µs a request"
                 % (http["trivial"]["p50_ms"], http["trivial"]["p99_ms"], http["trivial"]["server_cpu_us"])))
for name, label, baseline, base_value, target in [
    ("cached", "HTTP verify, one repeated token (cached)", "trivial route", trivial, 0.8),
    ("cold", "HTTP verify, unique tokens (cold)", "min(ES256 crypto limit, trivial route)", min(limit.get("ES256", 0), trivial), 0.7),
]:
    if name in http:
        r = http[name]
        row(label, r["rps"], baseline, base_value, target)
        rows[-1] = rows[-1][:5] + (rows[-1][5] + "; p50 %.2f ms, p99 %.2f ms; server CPU %.0f µs a request"
                                   % (r["p50_ms"], r["p99_ms"], r["server_cpu_us"]),)
if "batch" in http:
    row("HTTP batch verify, 1,000 tokens a request (tokens/s)", http["batch"]["rps"] * 1000,
        "ES256 crypto limit (%d cores)" % cores, limit.get("ES256", 0), 0.85)
    rows[-1] = rows[-1][:5] + (rows[-1][5] + "; server CPU %.0f µs a token" % (http["batch"]["server_cpu_us"] / 1000),)
for r in (r for r in results if r["kind"] == "issuance" and r.get("engine", "sqlite") == "sqlite"):
    row("bulk issuance, ES256 (%d licences)" % r["licences"], r["licences"] / r["seconds"],
        "openssl speed ecdsap256 sign, 1 core", openssl.get("ES256", {}).get("sign", 0))
for r in (r for r in results if r["kind"] == "issuance_without_log"):
    logged = next((x for x in results if x["kind"] == "issuance" and x.get("engine", "sqlite") == "sqlite"), None)
    if logged:
        row("bulk issuance with the transparency log (%d licences)" % r["licences"], logged["licences"] / logged["seconds"],
            "the same without the log", r["licences"] / r["seconds"], 0.9)
million = [r for r in results if r["kind"] == "million"]

# Server CPU a request against the physical floor, every figure from this run: the trivial route
# against Hummingbird alone; a cached answer against the trivial route; a cold one against the
# trivial route plus one signature check of the token's algorithm on one core (the fastest library,
# as measured in process); a batch token against one check.
floor_rows = []
def floor_row(measure, cost, floor_name, floor, ratio, target, at_most=False):
    holds = ratio <= target if at_most else ratio >= target
    floor_rows.append((measure, cost, floor_name, floor, ratio, "%s %.2f %s" % ("≤" if at_most else "≥", target,
                                                                               "yes" if holds else "no")))
check_us = {}
for r in (r for r in results if r["kind"] == "inprocess"):
    check_us[r["alg"]] = 1e6 / max(openssl.get(r["alg"], {}).get("verify", 0), r["signature_per_s"], r["openssl_evp_per_s"])
if "trivial" in http and "bare" in http:
    t, b = http["trivial"]["server_cpu_us"], http["bare"]["server_cpu_us"]
    floor_row("GET /healthz (trivial route), a request", t, "bare Hummingbird, one route", b, t / b, 1.5, at_most=True)
for alg, suffix in [("ES256", ""), ("SM2", "-SM2"), ("EdDSA", "-EdDSA")]:
    if "trivial" not in http or alg not in check_us:
        continue
    t, check = http["trivial"]["server_cpu_us"], check_us[alg]
    if "cached" + suffix in http:
        c = http["cached" + suffix]["server_cpu_us"]
        floor_row("%s verify, one repeated token (cached), a request" % alg, c, "trivial route", t, t / c, 0.8)
    if "cold" + suffix in http:
        c = http["cold" + suffix]["server_cpu_us"]
        floor_row("%s verify, unique tokens (cold), a request" % alg, c, "trivial route + one %s check" % alg, t + check,
                  (t + check) / c, 0.85)
    if "batch" + suffix in http:
        c = http["batch" + suffix]["server_cpu_us"] / 1000
        floor_row("%s batch verify, 1,000 tokens a request, a token" % alg, c, "one %s check, 1 core" % alg, check,
                  check / c, 0.85)

print("Benchmark, %s, %s, %d cores" % (datetime.date.today().isoformat(), platform.platform(terse=True), cores))
print()
print("| measure | value | baseline | baseline value | ratio | target |")
print("| --- | ---: | --- | ---: | ---: | --- |")
for measure, value, baseline, base_value, ratio, target in rows:
    print("| %s | %.0f | %s | %s | %s | %s |" % (measure, value, baseline, "%.0f" % base_value if base_value else "",
                                              "" if ratio != ratio else "%.2f" % ratio, target))
for r in million:
    print("| server start-up with 1,000,000 licences | %.1f s | | | | |" % r["startup_s"])
    print("| server memory (RSS) with 1,000,000 licences | %.0f MB | 300 MB | 300 | %.2f | ≤ 1.00 %s |"
          % (r["rss_kib"] / 1024, r["rss_kib"] / 1024 / 300, "yes" if r["rss_kib"] / 1024 < 300 else "no"))

if floor_rows:
    print()
    print("Server CPU (user + system, from /proc) a request, against its floor measured in the same run; ratio = "
          "floor / cost (for /healthz, cost / bare)")
    print()
    print("| measure | server CPU | floor | floor CPU | ratio | target |")
    print("| --- | ---: | --- | ---: | ---: | --- |")
    for measure, cost, floor_name, floor, ratio, target in floor_rows:
        print("| %s | %.1f µs | %s | %.1f µs | %.2f | %s |" % (measure, cost, floor_name, floor, ratio, target))
    rates = [(alg, suffix) for alg, suffix in [("SM2", "-SM2"), ("EdDSA", "-EdDSA")] if "cold" + suffix in http]
    if rates:
        print()
        print("| SM2 and EdDSA tokens over HTTP | cached req/s | cold req/s | batch tokens/s |")
        print("| --- | ---: | ---: | ---: |")
        for alg, suffix in rates:
            print("| %s | %.0f | %.0f | %.0f |" % (alg, http.get("cached" + suffix, {}).get("rps", float("nan")),
                                                  http["cold" + suffix]["rps"],
                                                  http.get("batch" + suffix, {}).get("rps", float("nan")) * 1000))

# SQLite next to PostgreSQL, from the same run: the same licences, the same key, the same machine.
pg_issuance = [r for r in results if r["kind"] == "issuance" and r.get("engine") == "postgres"]
sqlite_issuance = [r for r in results if r["kind"] == "issuance" and r.get("engine", "sqlite") == "sqlite"]
propagation = [r for r in results if r["kind"] == "propagation"]
if pg_issuance:
    def pair(name):
        parts = [http.get(name + "-a"), http.get(name + "-b")]
        return sum(p["rps"] for p in parts) if all(parts) else None
    engine_rows = []
    if sqlite_issuance:
        s, p = sqlite_issuance[0], pg_issuance[0]
        engine_rows.append(("bulk issuance, ES256 (%d licences), licences/s" % s["licences"],
                            s["licences"] / s["seconds"], p["licences"] / p["seconds"]))
    for name, label in [("cold", "HTTP verify, unique tokens (cold), req/s"),
                        ("cached", "HTTP verify, one repeated token (cached), req/s")]:
        if name in http and pair("pg-" + name) is not None:
            engine_rows.append((label, http[name]["rps"], pair("pg-" + name)))
    print()
    print("Registry engines, same run: SQLite (one server) and PostgreSQL (two servers on one database, "
          "fsync on; both servers and wrk share the %d cores)" % cores)
    print()
    print("| measure | SQLite | PostgreSQL | PostgreSQL / SQLite |")
    print("| --- | ---: | ---: | ---: |")
    for label, sqlite_value, pg_value in engine_rows:
        print("| %s | %.0f | %.0f | %.2f |" % (label, sqlite_value, pg_value, pg_value / sqlite_value))
    for r in propagation:
        print("| status change reported by every server (%d servers, %d changes): median / p95 / worst | next answer "
              "| %.1f / %.1f / %.1f ms | |" % (r["servers"], r["changes"], r["median_ms"], r["p95_ms"], r["max_ms"]))

# A slow database (Tools/slow-database): does the server keep answering while registry reads wait for it?
for r in (r for r in results if r["kind"] == "slow-database"):
    print()
    print("Slow database, same run: PostgreSQL %g ms away each way (Tools/delay-proxy), %s; %d clients read the "
          "registry while %d connections measure; %d s a measure in %d rounds"
          % (r["delay_ms"], "server pool %d" % r["pool"] if r.get("pool") else "the server's default pool",
             r["clients"], r["measuring_connections"], r["seconds"], r["rounds"]))
    print()
    print("| measure | value | criterion | holds |")
    print("| --- | ---: | --- | --- |")
    for row in r["rows"]:
        holds = row["holds"]
        print("| %s | %s | %s | %s |" % (row["measure"], row["value"], row["criterion"],
                                        "" if holds is None else "yes" if holds else "no"))
    proxy = r.get("proxy") or {}
    if proxy:
        print("| the delay proxy's own lag beyond the delay: p50 / p99 / worst | %.1f / %.1f / %.1f ms | | |"
              % (proxy["late_ms_p50"], proxy["late_ms_p99"], proxy["late_ms_max"]))
