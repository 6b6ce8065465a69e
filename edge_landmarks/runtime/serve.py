"""The demo in a browser: the latest annotated frame and landmarks over HTTP, for headless Raspberry Pis.

``edge-lmk demo --serve [HOST:]PORT`` publishes every annotated frame here; any number of browsers (or other
programs) read it, standard library only (``http.server``, one thread per client):

    /                 a page with the live stream, the FPS and per-stage timings, the model and backend in use
    /stream.mjpg      the annotated frames as MJPEG (multipart/x-mixed-replace), as picamera2's examples stream
    /frame.jpg        the latest annotated frame
    /landmarks.json   the latest landmarks (image pixels) and statistics, for other programs

The capture loop never waits for a client: :meth:`FrameServer.publish` stores the newest JPEG and wakes the client
threads, and each client sends the newest frame when it is ready for one, so a slow client skips frames (only its
own) and a client that stops reading is dropped after ``client_timeout`` seconds.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from ..errors import EdgeLandmarksError

__all__ = ["FrameServer", "parse_address", "DEFAULT_ADDRESS"]

DEFAULT_ADDRESS = "127.0.0.1:8000"
_BOUNDARY = "edgelmkframe"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edge-lmk demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ margin: 0; background: #111; color: #ddd; font: 14px system-ui, sans-serif; }}
#stream {{ display: block; max-width: 100%; }}
#info {{ padding: 6px 10px; white-space: pre-wrap; font-family: ui-monospace, monospace; }}
a {{ color: #8cf; }}
</style></head>
<body>
<img id="stream" src="/stream.mjpg" alt="annotated live stream">
<div id="info">{model} | {backend} | waiting for frames...</div>
<div style="padding: 0 10px 8px">Landmarks as JSON: <a href="/landmarks.json">/landmarks.json</a>
 &middot; stream: <a href="/stream.mjpg">/stream.mjpg</a></div>
<script>
const info = document.getElementById("info");
async function poll() {{
  try {{
    const d = await (await fetch("/landmarks.json", {{cache: "no-store"}})).json();
    const ms = Object.entries(d.ms || {{}}).map(([k, v]) => k + " " + v.toFixed(2) + " ms").join("  ");
    const face = d.faces.length ? d.faces[0].points.length + " points" : "no face";
    info.textContent = d.model + " | " + d.backend + " | frame " + d.frame + " | " +
      (d.fps || 0).toFixed(1) + " FPS | " + face + "\\n" + ms;
  }} catch (e) {{ info.textContent = "connection lost: " + e; }}
  setTimeout(poll, 500);
}}
poll();
</script>
</body></html>
"""


def parse_address(value: str) -> tuple[str, int]:
    """``PORT``, ``HOST:PORT`` or ``[IPv6]:PORT`` -> (host, port); the host defaults to 127.0.0.1."""
    text = str(value).strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise EdgeLandmarksError(f"--serve {value!r}: expected [HOST:]PORT with a port from 0 to 65535")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``Host`` header -> (lower-case name or address, port or None); None for one that is not a host."""
    text = value.strip().lower()
    if text.startswith("["):  # [IPv6] or [IPv6]:port
        name, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        port = rest[1:] if rest else None
    elif text.count(":") == 1:
        name, port = text.split(":")
    elif ":" in text:
        return None  # a bare IPv6 address is not a valid Host
    else:
        name, port = text, None
    if port is not None and (not port.isdigit() or len(port) > 5):
        return None
    name = name.rstrip(".")
    return (name, int(port) if port is not None else None) if name else None


def host_allowed(header: str | None, bound: str, port: int) -> bool:
    """Whether a request's ``Host`` names this server: DNS rebinding (a page of attacker.example whose name is
    made to resolve to 127.0.0.1) reaches the server with a foreign name in ``Host``, so only these pass, with
    this port or none: the bound address; ``localhost`` (and ``*.localhost``) and loopback addresses when the
    server listens on a loopback or wildcard address; any IP address and this machine's own names when it listens
    on a wildcard address (0.0.0.0, ::: the Pi opened to its network). A name cannot be rebound if it is an
    address."""
    if not header:
        return False
    parsed = _split_host(header)
    if parsed is None:
        return False
    name, asked_port = parsed
    if asked_port is not None and asked_port != port:
        return False
    bound = bound.strip("[]").lower()
    wildcard = bound in ("0.0.0.0", "::", "")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None:
        try:
            same = address == ipaddress.ip_address(bound)
        except ValueError:
            same = False
        return same or wildcard or (address.is_loopback and is_loopback(bound))
    if name == "localhost" or name.endswith(".localhost"):
        return wildcard or is_loopback(bound)
    if name == bound:
        return True
    if wildcard:
        own = {socket.gethostname().lower(), socket.getfqdn().lower()}
        own |= {f"{n.split('.')[0]}.local" for n in own}
        return name in own
    return False


class FrameServer:
    """The newest annotated frame (as JPEG) and landmarks, served to any number of HTTP clients."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8000, info: dict | None = None,
                 jpeg_quality: int = 80, client_timeout: float = 10.0):
        self.host, self.port = host, port
        self.info = dict(info or {})
        self.jpeg_quality = int(jpeg_quality)
        self.client_timeout = float(client_timeout)
        self._cond = threading.Condition()
        self._jpeg: bytes | None = None
        self._state: dict = {"frame": 0, "faces": []}
        self._seq = 0
        self._closed = False
        self.clients = 0
        self.frames_sent = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> str:
        """Bind and serve in a background thread; returns the page's URL."""
        server = self

        class Handler(_Handler):
            owner = server

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET

        class Server(ThreadingHTTPServer):
            address_family = family
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 64  # the listen backlog (socketserver's default, 5, drops a page's burst)

        try:
            self._httpd = Server((self.host, self.port), Handler)
        except OSError as exc:
            raise EdgeLandmarksError(f"--serve {self.host}:{self.port}: cannot listen there ({exc.strerror or exc})"
                                     ) from None
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="edge-lmk-serve", daemon=True)
        self._thread.start()
        return self.url

    def publish(self, frame: np.ndarray, state: dict) -> None:
        """Store the newest frame (BGR or grey) and its landmarks/statistics; never waits for a client."""
        import cv2

        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise EdgeLandmarksError("--serve: OpenCV could not encode a frame as JPEG")
        with self._cond:
            self._seq += 1
            self._jpeg = buf.tobytes()
            self._state = {**self.info, **state, "frame": self._seq, "time": time.time()}
            self._cond.notify_all()

    def latest(self) -> tuple[int, bytes | None, dict]:
        with self._cond:
            return self._seq, self._jpeg, self._state

    def wait_newer(self, seq: int, timeout: float) -> tuple[int, bytes | None]:
        """The newest frame after ``seq`` (waiting up to ``timeout``), or (seq, None) when none came or closing."""
        with self._cond:
            if self._seq <= seq and not self._closed:
                self._cond.wait(timeout)
            if self._closed or self._seq <= seq:
                return seq, None
            return self._seq, self._jpeg

    def close(self) -> None:
        """Stop serving and release the port (open streams end)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def closed(self) -> bool:
        return self._closed


class _Handler(BaseHTTPRequestHandler):
    owner: FrameServer
    protocol_version = "HTTP/1.1"
    server_version = "edge-lmk"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.owner.client_timeout)  # a client that stops reading is dropped

    def log_message(self, format: str, *args) -> None:  # noqa: A002  (quiet: the demo prints its own line)
        pass

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        path = self.path.split("?", 1)[0]
        try:
            if not host_allowed(self.headers.get("Host"), self.owner.host, self.owner.port):
                self.close_connection = True
                self._send(403, "text/plain", b"forbidden: the Host header does not name this server (open the "
                                              b"address edge-lmk printed)\n")
            elif path in ("/", "/index.html"):
                info = self.owner.info
                page = _PAGE.format(model=_html(info.get("model", "")), backend=_html(info.get("backend", "")))
                self._send(200, "text/html; charset=utf-8", page.encode())
            elif path == "/landmarks.json":
                self._send(200, "application/json", json.dumps(self.owner.latest()[2]).encode())
            elif path == "/frame.jpg":
                _, jpeg, _ = self.owner.latest()
                if jpeg is None:
                    self._send(503, "text/plain", b"no frame yet\n")
                else:
                    self._send(200, "image/jpeg", jpeg)
            elif path == "/stream.mjpg":
                self._stream()
            else:
                self._send(404, "text/plain", b"not found: try / , /stream.mjpg, /frame.jpg or /landmarks.json\n")
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            self.close_connection = True  # the client went away or stopped reading: drop it, nothing else

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _stream(self) -> None:
        owner = self.owner
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={_BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        with owner._cond:
            owner.clients += 1
        try:
            seq, jpeg, _ = owner.latest()
            while not owner.closed:
                if jpeg is not None:
                    self.wfile.write(f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}"
                                     "\r\n\r\n".encode() + jpeg + b"\r\n")
                    self.wfile.flush()
                    owner.frames_sent += 1
                seq, jpeg = owner.wait_newer(seq, timeout=1.0)
        finally:
            with owner._cond:
                owner.clients -= 1


def _html(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
