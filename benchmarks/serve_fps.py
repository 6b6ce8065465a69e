"""End-to-end FPS of `edge-lmk demo --serve` with no client, with browsers connected, and with a stalled client.

Runs the demo loop (the shipped default model unless --model) over a test video read as fast as the pipeline goes
(``pace=False``), serving on a free local port, for each case:
- ``no client``: nobody connected;
- ``N readers``: N clients read /stream.mjpg continuously, as a browser's <img> does, plus /landmarks.json twice a
  second as the page does;
- ``stalled``: one client opens /stream.mjpg and never reads (its socket fills), plus one reader.

Usage: python benchmarks/serve_fps.py [--frames 600] [--threads 1] [--out benchmarks/results/serve_fps.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import tempfile
import threading
import time
import urllib.request
from pathlib import Path


def _reader(url: str, stop: threading.Event, counts: list) -> None:
    try:
        with urllib.request.urlopen(url + "stream.mjpg", timeout=30) as r:
            while not stop.is_set():
                line = r.readline()
                if not line:
                    return
                if line.startswith(b"Content-Length:"):
                    r.readline()
                    r.read(int(line.split(b":")[1]))
                    counts[0] += 1
    except OSError:  # the demo ended and closed the stream
        return


def _poller(url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with urllib.request.urlopen(url + "landmarks.json", timeout=30) as r:
                r.read()
        except OSError:
            return
        stop.wait(0.5)


def run_case(model, video: Path, frames: int, threads: int, readers: int, stalled: bool) -> dict:
    from edge_landmarks.runtime.camera_demo import run_demo

    stop = threading.Event()
    counts = [0]
    workers: list[threading.Thread] = []
    socks: list[socket.socket] = []

    def on_log(line: str) -> None:
        if "serving" not in line:
            return
        url = line.split(" at ")[1].split(" ")[0]
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        if stalled:
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        for _ in range(readers):
            workers.append(threading.Thread(target=_reader, args=(url, stop, counts), daemon=True))
        if readers:
            workers.append(threading.Thread(target=_poller, args=(url, stop), daemon=True))
        for w in workers:
            w.start()
        time.sleep(0.3)  # let the clients connect before the timed frames

    stats = run_demo(model, video=str(video), frames=frames, threads=threads, serve="127.0.0.1:0", pace=False,
                     log=on_log)
    stop.set()
    for s in socks:
        s.close()
    return {"readers": readers, "stalled_client": stalled, "fps": stats["fps"], "frames": stats["frames"],
            "ms_per_frame": stats["ms_per_frame"], "frames_sent": stats["served"]["frames_sent"],
            "frames_read_by_readers": counts[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="benchmarks/results/serve_fps.json")
    args = ap.parse_args()
    from edge_landmarks.data.video import make_test_video
    from edge_landmarks.runtime.predictor import default_model

    model = args.model or default_model()
    with tempfile.TemporaryDirectory() as tmp:
        video = make_test_video(Path(tmp) / "faces.mp4", frames=300)
        cases = [run_case(model, video, args.frames, args.threads, r, s)
                 for r, s in ((0, False), (1, False), (3, False), (1, True))]
    result = {"command": "python benchmarks/serve_fps.py " + " ".join(
                  f"--{k} {v}" for k, v in vars(args).items() if v is not None),
              "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "python": platform.python_version()},
              "model": str(model), "threads": args.threads, "cases": cases}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print("| clients | FPS | ms/frame read / detect / landmarks / draw / output | frames sent |")
    print("|---|---:|---|---:|")
    for c in cases:
        who = f"{c['readers']} reader(s)" if c["readers"] else "none"
        who += " + 1 stalled" if c["stalled_client"] else ""
        ms = " / ".join(f"{c['ms_per_frame'][k]:.2f}" for k in ("read", "detect", "landmarks", "draw", "output"))
        print(f"| {who} | {c['fps']:.1f} | {ms} | {c['frames_sent']} |")


if __name__ == "__main__":
    main()
