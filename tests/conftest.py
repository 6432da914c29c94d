"""Shared test fixtures.

- Tests never use the network: ``FSUTILS_OFFLINE=1`` is set for the session (loopback URLs stay
  allowed), so a missing checkpoint fails fast with ``NoNetworkError`` instead of waiting on DNS.
- ``FSUTILS_WEIGHTS_MIRROR`` and ``FSUTILS_CCP_ROOT`` default to ``../shared/weights`` and
  ``../shared/data/ccp`` when those folders exist, as ``.ci/setup`` sets them in CI.
- torch runs on one thread (``OMP_NUM_THREADS=1``, inherited by child processes) unless the
  variable is set already.
- ``http_server``: a threaded HTTP server on 127.0.0.1 that serves bytes with chosen misbehaviour
  (truncated body, reset connection, stall, HTML page, HTTP errors, flaky-then-resumable).
- ``isolated_weights``: an empty weights cache in ``tmp_path``, no mirror, no download retries.
- ``shared_dir`` / ``weights_path``: the ``../shared`` folder and real checkpoints, or a skip.
"""
from __future__ import annotations

import os
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

os.environ.setdefault("FSUTILS_OFFLINE", "1")
if not os.environ.get("FSUTILS_WEIGHTS_MIRROR") and (SHARED / "weights").is_dir():
    os.environ["FSUTILS_WEIGHTS_MIRROR"] = str((SHARED / "weights").resolve())
if not os.environ.get("FSUTILS_CCP_ROOT") and (SHARED / "data" / "ccp").is_dir():
    os.environ["FSUTILS_CCP_ROOT"] = str((SHARED / "data" / "ccp").resolve())
# One torch thread (and the same for child processes) unless OMP_NUM_THREADS says otherwise: on a
# busy 2-core machine two intra-op threads that wait on each other make small forward passes 10-20×
# slower; the tests check results, never speed.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# A local Ray cluster (the batch engine's tests) waits up to 30 s for its node to register by
# default; on a loaded 2-core machine that start can take longer, so give it three minutes.
os.environ.setdefault("RAY_raylet_start_wait_time_s", "180")


# ------------------------------------------------------------------------------- local server
@dataclass
class Route:
    """What the server answers for one path.

    mode: ``ok`` (honours ``Range: bytes=N-``), ``truncate`` (announces the full Content-Length,
    sends ``cut`` bytes, closes), ``reset`` (sends ``cut`` bytes then resets the TCP connection),
    ``stall`` (sends ``cut`` bytes then goes silent for ``stall`` seconds), ``flaky`` (the first
    request behaves like ``truncate``, later ones like ``ok``).
    """

    body: bytes
    content_type: str = "application/octet-stream"
    status: int = 200
    mode: str = "ok"
    cut: int = 0
    stall: float = 10.0


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[tuple[str, str | None]] = []  # (path, Range header)
        self._hits: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                server.log.append((self.path, rng))
                server._hits[self.path] = server._hits.get(self.path, 0) + 1
                route = server.routes.get(self.path)
                if route is None:
                    self._simple(404, b"not found")
                    return
                if route.status != 200:
                    self._simple(route.status, route.body, route.content_type)
                    return
                mode = route.mode
                if mode == "flaky":
                    mode = "truncate" if server._hits[self.path] == 1 else "ok"
                body, start = route.body, 0
                if mode == "ok" and rng and rng.startswith("bytes="):
                    start = int(rng[len("bytes="):].split("-")[0] or 0)
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("Connection", "close")
                self.end_headers()
                if mode == "ok":
                    self.wfile.write(body[start:])
                    return
                self.wfile.write(body[:route.cut])
                self.wfile.flush()
                if mode == "stall":
                    time.sleep(route.stall)
                elif mode == "reset":
                    time.sleep(0.2)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.connection.close()
                self.close_connection = True

            def _simple(self, status, body, ctype="text/plain"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def serve(self, path: str, body: bytes, **kw) -> str:
        """Register ``path`` and return its full URL."""
        self.routes[path] = Route(body=body, **kw)
        return self.base + path

    def hits(self, path: str) -> int:
        return self._hits.get(path, 0)


@pytest.fixture
def http_server():
    server = LocalServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


# ----------------------------------------------------------------------------------- weights
@pytest.fixture
def isolated_weights(tmp_path, monkeypatch) -> Path:
    """An empty weights cache under ``tmp_path`` (returned), no mirror, no retries, short timeout."""
    cache = tmp_path / "weights-cache"
    monkeypatch.setenv("FSUTILS_WEIGHTS_DIR", str(cache))
    monkeypatch.delenv("FSUTILS_WEIGHTS_MIRROR", raising=False)
    monkeypatch.setenv("FSUTILS_DOWNLOAD_RETRIES", "0")
    monkeypatch.setenv("FSUTILS_DOWNLOAD_TIMEOUT", "5")
    return cache


@pytest.fixture
def shared_dir() -> Path:
    """``../shared`` beside the checkout (real weights, data, reference outputs), or skip."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not present on this machine")
    return SHARED


@pytest.fixture
def weights_path():
    """``weights_path("u2netp")`` → the checkpoint's path via fetch (mirror/cache), or a skip when
    it cannot be obtained on this machine (no mirror copy and no network)."""
    from fsutils import weights

    def get(name: str) -> Path:
        try:
            return weights.fetch(name, progress=False)
        except weights.NoNetworkError as e:
            pytest.skip(f"checkpoint {name!r} is not available offline here: {str(e).splitlines()[0]}")

    return get
