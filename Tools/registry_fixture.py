"""A registry with keys, a licence type and an agency in a working directory, and `elicence serve`
on it: what Tools/crash-test and Tools/revocation-under-load share."""

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TYPE = "11100000000013338W011"
ISSUER = ("11350000003591037R", "福州市市场监督管理局")
HOLDERS = ["91350100MA2Y01111F", "91110000600037341L", "11350000003591037R", "11430000006122244L"]


def elicence_binary(path=None):
    """The elicence program: `path`, else $ELICENCE_BIN, else the debug build (built now)."""
    path = path or os.environ.get("ELICENCE_BIN")
    if path:
        return os.path.abspath(path)
    subprocess.run(["swift", "build", "--product", "elicence"], cwd=ROOT, check=True, stdout=sys.stderr)
    return subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip() + "/elicence"


class Broken(Exception):
    """A promise the registry did not keep."""


def note(text):
    print(text, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """Keys, a licence type, an agency and the SQLite registry in one working directory."""

    def __init__(self, binary, work):
        self.binary = binary
        self.work = work
        self.keys = os.path.join(work, "keys")
        self.database = os.path.join(work, "registry.sqlite")

    def cli(self, *arguments, check=True, timeout=300):
        result = subprocess.run([self.binary, *arguments], capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise Broken("elicence %s exited %d: %s%s" % (" ".join(arguments[:2]), result.returncode,
                                                          result.stdout[-2000:], result.stderr[-2000:]))
        return result

    def create(self):
        for alg, role in (("es256", "issuer"), ("ed25519", "status")):
            self.cli("keys", "generate", "--alg", alg, "--role", role, "--issuer-code", ISSUER[0],
                     "--issuer-name", ISSUER[1], "--keys", self.keys)
        self.cli("types", "add", "--database", self.database, "--code", TYPE, "--name", "营业执照",
                 "--holder-kind", "enterprise", "--sharing", "unconditional", "--field", "注册资本", "法定代表人",
                 "--disclose", "法定代表人", "--validity-years", "20")
        added = self.cli("agencies", "add", "--code", "11350100MB0000456D", "--name", "福州市行政服务中心",
                         "--database", self.database)
        self.agency_key = next(line.split(": ", 1)[1] for line in added.stdout.splitlines() if line.startswith("API key"))

    def write_batch(self, name, prefix, count):
        """A JSONL file of `count` licences numbered 闽市监`prefix`第0000001号…; returns its path and numbers."""
        path = os.path.join(self.work, name)
        numbers = ["闽市监%s第%07d号" % (prefix, i + 1) for i in range(count)]
        with open(path, "w", encoding="utf-8") as out:
            for i, number in enumerate(numbers):
                out.write(json.dumps({
                    "type": TYPE, "number": number,
                    "holder": {"name": "福州某某科技有限公司%d" % i, "code": HOLDERS[i % 4]},
                    "validFrom": "2026-01-15",
                    "fields": {"注册资本": "%d万元人民币" % (i % 1000 + 1), "法定代表人": "张三"},
                }, ensure_ascii=False) + "\n")
        return path, numbers

    def issue_batch(self, path, batch_size):
        return subprocess.Popen([self.binary, "issue", "--batch", path, "--batch-size", str(batch_size),
                                 "--progress", "jsonl", "--keys", self.keys, "--database", self.database],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def connect(self):
        return sqlite3.connect(self.database, timeout=30)

    def check(self):
        """The registry opens, is intact and keeps its invariants; raises Broken otherwise."""
        opened = self.cli("list", "--limit", "1", "--json", "--database", self.database, check=False)
        if opened.returncode != 0:
            raise Broken("the registry does not open: %s" % opened.stderr.strip())
        with self.connect() as db:
            integrity = db.execute("PRAGMA integrity_check").fetchall()
            if integrity != [("ok",)]:
                raise Broken("PRAGMA integrity_check: %s" % integrity[:10])
            dangling = db.execute("PRAGMA foreign_key_check").fetchall()
            if dangling:
                raise Broken("dangling references: %s" % dangling[:10])
            checks = {
                "licences without an issuance as their first status event": """
                    SELECT COUNT(*) FROM licence l WHERE COALESCE((SELECT e.status FROM status_event e
                    WHERE e.licence_id = l.id ORDER BY e.seq LIMIT 1), '') != 'valid'""",
                "licences whose status is not the last one in their history": """
                    SELECT COUNT(*) FROM licence l WHERE l.status != (SELECT e.status FROM status_event e
                    WHERE e.licence_id = l.id ORDER BY e.seq DESC LIMIT 1)""",
                # Slots are reserved before signing, in a transaction of their own: a batch killed
                # or refused afterwards leaves its slots handed out but unused, never shared.
                "status lists holding more licences than slots handed out": """
                    SELECT COUNT(*) FROM status_list s
                    WHERE s.used < (SELECT COUNT(*) FROM licence l WHERE l.status_list = s.id)""",
                "slots held by two licences": """
                    SELECT COUNT(*) FROM (SELECT 1 FROM licence GROUP BY status_list, status_index HAVING COUNT(*) > 1)""",
                "licences in a slot outside their status list": """
                    SELECT COUNT(*) FROM licence l JOIN status_list s ON s.id = l.status_list
                    WHERE l.status_index < 0 OR l.status_index >= s.size""",
                "issuer and number pairs held twice": """
                    SELECT COUNT(*) FROM (SELECT 1 FROM licence GROUP BY issuer_code, number HAVING COUNT(*) > 1)""",
                "licences with an empty signed token": "SELECT COUNT(*) FROM licence WHERE length(signed) = 0",
            }
            for what, sql in checks.items():
                count = db.execute(sql).fetchone()[0]
                if count:
                    raise Broken("%d %s" % (count, what))
        db.close()


class Server:
    """`elicence serve` on a free port."""

    def __init__(self, registry):
        self.registry = registry
        self.port = free_port()
        log = open(os.path.join(registry.work, "server-%d.log" % self.port), "w")
        self.process = subprocess.Popen([registry.binary, "serve", "--database", registry.database, "--keys", registry.keys,
                                         "--port", str(self.port), "--anonymous-rate", "0", "--log-level", "warning"],
                                        stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Broken("the server exited with %s at start" % self.process.returncode)
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/readyz")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.process.kill()
        raise Broken("the server did not become ready in 60 s")

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def verify_batch(self, tokens):
        """Outcomes of the tokens, through /v1/verify/batch."""
        outcomes = []
        connection = self.connection()
        for start in range(0, len(tokens), 1000):
            body = json.dumps({"tokens": tokens[start:start + 1000]})
            connection.request("POST", "/v1/verify/batch", body=body, headers={
                "Authorization": "Bearer " + self.registry.agency_key, "Content-Type": "application/json"})
            response = connection.getresponse()
            answer = response.read()
            if response.status != 200:
                raise Broken("batch verification answered %d: %s" % (response.status, answer[:500]))
            outcomes += [result["outcome"] for result in json.loads(answer)["results"]]
        connection.close()
        return outcomes

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
