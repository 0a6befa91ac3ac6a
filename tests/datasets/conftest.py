"""A real loopback HTTP server with controllable faults, for the download tests.

Bound to 127.0.0.1 on a free port, serving bytes registered per path; supports ``Range:
bytes=N-`` (206/416) and records every request's path and Range header, so tests assert on
what went over the wire, not on mocks.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Route:
    data: bytes
    #: Answer HTTP 500 to the first ``fail_first`` requests.
    fail_first: int = 0
    #: First successful response: send only this many body bytes, then drop the connection.
    cut_after: int | None = None
    #: Answer every request with the whole file (200), as servers without Range support do.
    ignore_range: bool = False
    #: First successful response: after ``cut_after`` bytes (or at once), stall this long.
    stall: float = 0.0
    #: Fixed error status (e.g. 404) for every request.
    status: int | None = None
    served: int = field(default=0, init=False)


@dataclass
class Hit:
    path: str
    range: str | None
    status: int
    sent: int  # body bytes actually sent


class LoopbackServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def add(self, path: str, data: bytes, **faults) -> str:
        """Serve ``data`` at ``path`` (replacing what was there); return its URL."""
        self.routes[path] = Route(data, **faults)
        return self.base_url + path

    def requests(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    def count(self, path: str) -> int:
        return len(self.requests(path))

    def ranges(self, path: str) -> list[str | None]:
        return [h.range for h in self.requests(path)]

    def reset(self) -> None:
        self.routes.clear()
        self.hits.clear()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args) -> None:  # noqa: A002 - keep test output clean
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str],
                  limit: int | None = None, stall: float = 0.0) -> None:
            payload = body if limit is None else body[:limit]
            with server._lock:
                server.hits.append(Hit(self.path, self.headers.get("Range"), status,
                                       len(payload)))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
            if stall:
                time.sleep(stall)
            self.close_connection = True

        def do_GET(self) -> None:
            route = server.routes.get(self.path)
            if route is None:
                return self._send(404, b"not found", {})
            if route.status is not None:
                return self._send(route.status, b"error", {})
            with server._lock:
                route.served += 1
                nth = route.served
            if nth <= route.fail_first:
                return self._send(500, b"server error", {})
            data, limit, stall = route.data, None, 0.0
            if nth == route.fail_first + 1:
                limit, stall = route.cut_after, route.stall
            rng = self.headers.get("Range")
            if rng and not route.ignore_range:
                start = int(rng.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    return self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                return self._send(206, data[start:], {
                    "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}, limit, stall)
            return self._send(200, data, {"Accept-Ranges": "bytes"}, limit, stall)

    return Handler


@pytest.fixture(scope="session")
def _loopback_server():
    # One server for the session: stopping one costs up to its poll interval (0.5 s).
    server = LoopbackServer()
    yield server
    server.close()


@pytest.fixture
def http_server(_loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch):
    """The loopback server, emptied for this test; proxies and the mirror variable are cleared
    so that requests really go to it."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY", "no_proxy", "NO_PROXY", "MPBENCH_MIRROR"):
        monkeypatch.delenv(var, raising=False)
    _loopback_server.reset()
    return _loopback_server
