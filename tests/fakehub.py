"""A fake Hugging Face Hub (and release-asset host) on 127.0.0.1 for the weight-manager tests.

It speaks the Hub's "direct mode" as huggingface_hub 0.36, 1.x and 2.x expect it (hub_and_scan.md §3):
``HEAD``/``GET /{repo_id}/resolve/{revision}/{filename}`` answer 200 with ``X-Repo-Commit`` (a 40-hex
revision is echoed back, so pinned cache hits fire), a quoted ``ETag`` (the content's sha256) and the
exact ``Content-Length``; missing things are 404 with ``X-Error-Code`` ``RepoNotFound``,
``RevisionNotFound`` or ``EntryNotFound``. Any other path is a plain file host (GitHub release assets)
with ``Range`` support. No 5xx is ever sent: huggingface_hub would spend ~23 s retrying.

Faults for tests: ``truncate[path] = n`` sends only ``n`` bytes of the body (the header still promises
the full length), ``truncate_once`` does it for the next request only. Every request is logged.

Use :class:`FakeHub` in-process (a thread), or :func:`serve_in_process` to run it in a child process
that a test can kill: a threaded server stopped with ``shutdown()`` keeps answering on connections that
are already open, so "the network is gone" needs a dead process.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

# Loopback traffic must never go through a proxy that CI may define (httpx reads this once).
for _var in ("NO_PROXY", "no_proxy"):
    _old = os.environ.get(_var, "")
    if "127.0.0.1" not in _old:
        os.environ[_var] = ",".join(x for x in (_old, "127.0.0.1", "localhost") if x)

COMMIT = "0123456789abcdef0123456789abcdef01234567"
_HEX40 = re.compile(r"^[0-9a-f]{40}$")


@dataclass
class HubState:
    """Everything the server serves; plain data so it can be sent to a child process."""

    hub_files: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (repo_id, filename) -> bytes
    revisions: set[str] = field(default_factory=lambda: {"main"})
    urls: dict[str, bytes] = field(default_factory=dict)  # path -> bytes
    truncate: dict[str, int] = field(default_factory=dict)  # request path -> bytes actually sent
    truncate_once: dict[str, int] = field(default_factory=dict)
    log: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, path, Range)


def _make_handler(state: HubState, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: a truncated body ends the connection

        def log_message(self, format: str, *args: object) -> None:  # silence stderr
            pass

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _error(self, code: int, error_code: str | None = None, commit: str | None = None) -> None:
            self.send_response(code)
            if error_code:
                self.send_header("X-Error-Code", error_code)
            if commit:
                self.send_header("X-Repo-Commit", commit)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _answer(self, *, body: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            with lock:
                state.log.append((self.command, path, self.headers.get("Range")))
            parts = path.lstrip("/").split("/")
            commit = None
            if len(parts) >= 5 and parts[2] == "resolve":
                repo_id, revision, filename = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
                if not any(r == repo_id for r, _ in state.hub_files):
                    return self._error(404, "RepoNotFound")
                if revision in state.revisions:
                    commit = COMMIT
                elif _HEX40.match(revision):
                    commit = revision
                else:
                    return self._error(404, "RevisionNotFound")
                data = state.hub_files.get((repo_id, filename))
                if data is None:
                    return self._error(404, "EntryNotFound", commit)
            else:
                data = state.urls.get(path)
                if data is None:
                    return self._error(404)
            self._send(path, data, commit, body=body)

        def _send(self, path: str, data: bytes, commit: str | None, *, body: bool) -> None:
            start = 0
            ranged = self.headers.get("Range")
            m = re.match(r"bytes=(\d+)-$", ranged or "")
            if m and int(m.group(1)) < len(data):
                start = int(m.group(1))
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            elif m:
                return self._error(416)
            else:
                self.send_response(200)
            if commit is not None:
                self.send_header("X-Repo-Commit", commit)
            self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
            self.send_header("Content-Length", str(len(data) - start))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if not body:
                return
            payload = data[start:]
            with lock:
                cut = state.truncate_once.pop(path, None) if body else None
                if cut is None:
                    cut = state.truncate.get(path)
            if cut is not None:
                payload = payload[: max(0, cut - start)]
            try:
                self.wfile.write(payload)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            if cut is not None:
                self.close_connection = True

    return Handler


class FakeHub:
    """The fake server in a background thread of the test process."""

    def __init__(self, state: HubState | None = None) -> None:
        self.state = state or HubState()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self.state, self._lock))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_hub_file(self, repo_id: str, filename: str, data: bytes) -> None:
        self.state.hub_files[(repo_id, filename)] = data

    def add_url(self, path: str, data: bytes) -> str:
        """Serve ``data`` at ``path`` (e.g. ``/owner/repo/releases/download/v1.0/x.pth``); returns the URL."""
        self.state.urls[path] = data
        return self.endpoint + path

    def hub_path(self, repo_id: str, filename: str, revision: str = "main") -> str:
        return f"/{repo_id}/resolve/{revision}/{filename}"

    @property
    def log(self) -> list[tuple[str, str, str | None]]:
        return self.state.log

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _serve(state: HubState, port_queue: multiprocessing.Queue) -> None:  # pragma: no cover - child process
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state, threading.Lock()))
    port_queue.put(server.server_address[1])
    server.serve_forever()


def serve_in_process(state: HubState) -> tuple[multiprocessing.Process, str]:
    """Start the server in a child process; returns (process, endpoint). ``terminate()`` it to cut the network."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_serve, args=(state, queue), daemon=True)
    proc.start()
    port = queue.get(timeout=60)
    return proc, f"http://127.0.0.1:{port}"
