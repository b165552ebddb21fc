#!/usr/bin/env python3
"""How long after `elicence suspend|reinstate` returns every server reports the change.

    propagation.py ELICENCE ROUNDS TOKENS_FILE LIST_JSON SERVER_URL... -- DATABASE_ARGS...

Each round suspends one licence and then reinstates it with the command line; as soon as the
command returns (the change is acknowledged), every server is asked over a kept-alive connection,
again and again, until it reports the new status. The time until the last server reported it is
the round's figure. Prints one JSON line with the median, 95th percentile and worst case in ms.
"""
import http.client
import json
import statistics
import subprocess
import sys
import time
import urllib.parse

binary, rounds, tokens_file, list_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rest = sys.argv[5:]
split = rest.index("--")
servers, database = rest[:split], rest[split + 1:]

tokens = [line.strip() for line in open(tokens_file) if line.strip()]
ids = {}
for line in open(list_file):
    record = json.loads(line)
    ids[record["token"]] = record["id"]
connections = []
for url in servers:
    parsed = urllib.parse.urlparse(url)
    connections.append(http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10))


def outcome(connection, token):
    connection.request("POST", "/v1/verify", body=json.dumps({"token": token}),
                       headers={"Content-Type": "application/json"})
    return json.loads(connection.getresponse().read())["outcome"]


samples = []
for round_number in range(rounds):
    token = tokens[round_number % len(tokens)]
    for command, expected in (("suspend", "suspended"), ("reinstate", "valid")):
        subprocess.run([binary, command, ids[token], "--reason", "propagation benchmark"] + database,
                       check=True, stdout=subprocess.DEVNULL)
        acknowledged = time.perf_counter()
        pending = set(range(len(connections)))
        while pending:
            for index in list(pending):
                if outcome(connections[index], token) == expected:
                    pending.discard(index)
            if time.perf_counter() - acknowledged > 5:
                sys.exit("a server did not report %s within 5 s" % expected)
        samples.append((time.perf_counter() - acknowledged) * 1000)

samples.sort()
print(json.dumps({"kind": "propagation", "servers": len(servers), "changes": len(samples),
                  "median_ms": statistics.median(samples),
                  "p95_ms": samples[min(len(samples) - 1, int(len(samples) * 0.95))], "max_ms": samples[-1]}))
