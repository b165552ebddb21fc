#!/usr/bin/env python3
"""A stand-in for another authority's web server, for the federation tests.

  federation_peer.py PORT DIR

Serves GET requests on 127.0.0.1:PORT. For each request it appends the path to DIR/requests.log,
then reads DIR/mode: `serve` answers 200 with the bytes of DIR/body, `hang` accepts the request and
never answers (a status or trust-list server that does not answer). Runs until killed.
"""
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, DIR = int(sys.argv[1]), sys.argv[2]
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        with LOCK:
            with open(DIR + "/requests.log", "a") as log:
                log.write(self.path + "\n")
        try:
            mode = open(DIR + "/mode").read().strip()
        except OSError:
            mode = "serve"
        if mode == "hang":
            time.sleep(3600)
            return
        body = open(DIR + "/body", "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
