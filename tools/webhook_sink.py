#!/usr/bin/python3
"""A local webhook receiver: records every POST (path, headers, JSON body) and answers 200.

Used by the demo (it prints each notification) and by the integration tests (imported as a
module). `--fail` answers 503 instead, to exercise retries."""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Sink:
    def __init__(self, host="127.0.0.1", port=0, log_file=None, echo=False):
        self.received = []
        self.fail = False
        self.delay_s = 0.0  # answer this much later (a slow receiver)
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.log_file = log_file
        self.echo = echo
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                if sink.delay_s:
                    time.sleep(sink.delay_s)
                status = 503 if sink.fail else 200
                if status == 200:
                    sink._record(self.path, dict(self.headers), body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok":true}' if status == 200 else b'{"ok":false}')

            def log_message(self, fmt, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _record(self, path, headers, body):
        entry = {"path": path, "delivery": headers.get("X-Dualguard-Delivery"), "body": body}
        with self.cond:
            self.received.append(entry)
            self.cond.notify_all()
        if self.log_file:
            with open(self.log_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        if self.echo:
            b = body if isinstance(body, dict) else {}
            if "to" in b:  # a message to a person (escalation)
                print(f"[to {b['to'].get('name') or b['to'].get('person')}] #{entry['delivery']} {b.get('text', '')} "
                      f"{b.get('link', '')}", flush=True)
            else:
                print(f"[webhook] #{entry['delivery']} {b.get('text_zh', '')} | {b.get('text_en', '')}", flush=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, predicate, timeout=20.0):
        """Waits until predicate(list of entries) is true; returns the entries or raises."""
        with self.cond:
            if not self.cond.wait_for(lambda: predicate(self.received), timeout):
                raise AssertionError(f"webhook condition not met in {timeout}s; received {self.received}")
            return list(self.received)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--log", help="append received notifications (JSON lines) to this file")
    ap.add_argument("--fail", action="store_true", help="answer 503 to every request")
    args = ap.parse_args()
    sink = Sink(port=args.port, log_file=args.log, echo=True)
    sink.fail = args.fail
    print(f"webhook sink listening on http://127.0.0.1:{sink.port}/", flush=True)
    try:
        sink.server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
