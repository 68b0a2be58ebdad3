"""An S3 fault proxy: a small threaded HTTP proxy on 127.0.0.1 between the store and SeaweedFS
that injects what S3 does under load — 503 SlowDown, 500, connection resets, truncated bodies and
delays — a bounded number of times, then forwards everything faithfully.

The request is forwarded with its own ``Host`` header, so SigV4 signatures made for the proxy's
address still verify at SeaweedFS.
"""

from __future__ import annotations

import http.client
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAULTS = ("503", "500", "reset", "truncate", "delay")
_SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
              b"<Message>Please reduce your request rate.</Message></Error>")
_INTERNAL = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
             b"<Message>We encountered an internal error. Please try again.</Message></Error>")


@dataclass
class FaultPlan:
    """How many faults to inject, and how often a request draws one (bounded in count)."""

    budget: int = 20  # faults in all; then every request is forwarded untouched
    rate: float = 0.3  # chance that a request, while budget lasts, gets a fault
    kinds: tuple[str, ...] = FAULTS
    delay_s: float = 1.5
    seed: int = 0
    injected: Counter = field(default_factory=Counter)
    forwarded: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def draw(self, rng: random.Random) -> str | None:
        with self.lock:
            if sum(self.injected.values()) >= self.budget or rng.random() >= self.rate:
                self.forwarded += 1
                return None
            kind = rng.choice(self.kinds)
            self.injected[kind] += 1
            return kind


class FaultProxy:
    """``with FaultProxy(upstream, plan) as proxy:`` then use ``proxy.endpoint`` as the S3
    endpoint."""

    def __init__(self, upstream: str, plan: FaultPlan) -> None:
        self.upstream = urlsplit(upstream)
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                return

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    out = bytearray()
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            return bytes(out)
                        out += self.rfile.read(size)
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _error(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _forward(self, fault: str | None) -> None:
                body = self._body()
                if fault == "503":
                    self._error(503, _SLOW_DOWN)
                    return
                if fault == "500":
                    self._error(500, _INTERNAL)
                    return
                if fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.close_connection = True
                    self.connection.close()  # RST: the client sees "connection reset"
                    return
                if fault == "delay":
                    time.sleep(proxy.plan.delay_s)
                up = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port,
                                                timeout=60)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("transfer-encoding", "connection")}
                if body or self.command in ("PUT", "POST"):
                    headers["Content-Length"] = str(len(body))
                up.request(self.command, self.path, body=body, headers=headers)
                reply = up.getresponse()
                data = reply.read()
                up.close()
                self.send_response(reply.status, reply.reason)
                head = self.command == "HEAD"  # its Content-Length is the object's size
                for k, v in reply.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection") and \
                            (head or k.lower() != "content-length"):
                        self.send_header(k, v)
                if not head:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if head:
                    return
                if fault == "truncate" and len(data) > 1:
                    self.wfile.write(data[:len(data) // 2])  # fewer bytes than announced
                    self.close_connection = True
                    return
                self.wfile.write(data)

            def _any(self) -> None:
                self._forward(proxy.plan.draw(proxy.rng))

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any  # noqa: N815

        return Handler
