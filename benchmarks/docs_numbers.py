"""The measured numbers in README.md and docs/*.md, made from the results files, so that they cannot drift.

    python benchmarks/docs_numbers.py           # rewrite every generated block
    python benchmarks/docs_numbers.py --check   # exit 1 naming each block that is not what its source gives

A generated block sits between two comment lines, the first naming its kind and its source::

    <!-- generated: peers benchmarks/results/<folder>/bench.json -->
    ...the table...
    <!-- end generated -->

Kinds: ``peers`` (a bench run's rows: NME with and without the jaw, jitter, lag, latency, file size),
``shipped`` (the files shipped in the package, argument: their folder: bytes, SHA-256, the INT8 NME change their
sidecar's validation recorded), ``main`` (the quickstart's table at one thread, from its results' bench.json) and
``demo_fps`` (``benchmarks/demo_fps.py``'s result: the headless demo's frames per second per scene).
``tests/test_docs_numbers.py`` runs ``--check``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("README.md", "docs/*.md", "benchmarks/README.md", "train/README.md", "quantize/README.md")
BLOCK = re.compile(r"(<!-- generated: (\w+) (\S+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def _num(v, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def peers(source: Path) -> str:
    rows = json.loads(source.read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    names = {"pytorch": "PyTorch", "onnx": "ONNX", "openvino": "OpenVINO", "tflite": "TFLite", "dlib": "dlib",
             "mediapipe": "MediaPipe"}
    out = ["| row | MB | NME: all / no jaw | jitter NMF % (model alone) | still motion px: model alone / demo "
           "| demo lag, frames (1 px/frame) | ms per face (median) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["status"] != "ok":
            out.append(f"| {r['model']} {r['format']} {r['precision']} | {r['status']}: {r.get('reason') or ''} "
                       "| | | | | |")
            continue
        what = r["model"] if r["format"] in ("dlib", "mediapipe") else \
            f"{names.get(r['format'], r['format'])} {r['precision'].upper()}"
        out.append(f"| {what} | {_num(r['file_mb'], '.1f')} | {_num(r['nme'], '.4f')} / "
                   f"{_num(r['nme_no_jaw'], '.4f')} | {_num(r['jitter_nmf'], '.3f')} | "
                   f"{_num(r['jitter_px'], '.2f')} / {_num(r['demo_jitter_px'], '.2f')} | "
                   f"{_num(r['demo_lag'], '.2f')} | {_num(r['latency_ms_median'], '.2f')} |")
    return "\n".join(out) + "\n"


def shipped(folder: Path) -> str:
    out = ["| file | bytes | SHA-256 | INT8 NME change on the validation people (sidecar) |", "|---|---:|---|---:|"]
    for f in sorted(p for p in folder.iterdir() if p.suffix in (".onnx", ".tflite", ".xml")):
        meta = json.loads(Path(f"{f}.json").read_text())
        rel = meta.get("validation", {}).get("delta_nme_rel")
        out.append(f"| `{f.name}` | {f.stat().st_size:,} | `{hashlib.sha256(f.read_bytes()).hexdigest()}` | "
                   f"{_num(None if rel is None else 100 * rel, '+.2f')} % |")
    return "\n".join(out) + "\n"


RUNTIMES = {"pytorch": "PyTorch", "onnx": "onnxruntime", "openvino": "OpenVINO", "tflite": "LiteRT"}


def main_job(source: Path) -> str:
    """The quickstart's table at one thread: every model row of its bench.json, then the peers."""
    rows = json.loads(source.read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    out = ["| input | format | precision | file MB | NME | NME change | median ms | INT8 gain | vs PyTorch | vs dlib |",
           "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["threads"] != 1 or r["status"] != "ok":
            continue
        peer = r["format"] in ("dlib", "mediapipe")
        change = "reference" if r["format"] == "pytorch" else \
            ("-" if peer or r["delta_nme_rel"] is None else f"{100 * r['delta_nme_rel']:+.1f} %")
        speed = "1.0x" if r["format"] == "pytorch" else ("-" if peer else f"{_num(r['speedup'], '.1f')}x")
        gain = "-" if r["speedup_vs_fp32"] is None else f"{r['speedup_vs_fp32']:.2f}x"
        vs_dlib = "-" if peer or r["speedup_vs_dlib"] is None else f"{r['speedup_vs_dlib']:.2f}x"
        out.append(f"| {'-' if peer else r['size']} | {r['model'] if peer else RUNTIMES.get(r['format'], r['format'])} "
                   f"| {r['precision'].upper() if not peer else 'float'} | {_num(r['file_mb'], '.2f')} | "
                   f"{_num(r['nme'], '.4f')} | {change} | {_num(r['latency_ms_median'], '.3f')} | {gain} | {speed} | "
                   f"{vs_dlib} |")
    return "\n".join(out) + "\n"


def demo_fps(source: Path) -> str:
    """benchmarks/demo_fps.py's table: frames per second of the headless demo per scene."""
    result = json.loads(source.read_text())
    out = ["| scene | drawn | FPS (median of runs) | FPS, outer clock | read ms | detect ms | landmarks ms | draw ms "
           "| faces per frame | detector runs (whole frame / checks / searches) |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in result["cases"]:
        ms = c["ms_per_frame"]
        out.append(f"| {c['scene']} | {'yes' if c['drawn'] else 'no'} | {c['fps']:.0f} | {c['wall_fps']:.0f} | "
                   f"{ms['read']:.2f} | {ms['detect']:.2f} | {ms['landmarks']:.2f} | {ms['draw']:.2f} | "
                   f"{c['faces_per_frame']:.2f} | {c['detections']} / {c['checks']} / {c['searches']} |")
    return "\n".join(out) + "\n"


KINDS = {"peers": peers, "shipped": shipped, "main": main_job, "demo_fps": demo_fps}


def blocks(text: str, root: Path = ROOT):
    """(match, kind, source, current body, made body) of every generated block in ``text``."""
    for m in BLOCK.finditer(text):
        kind, source, body = m.group(2), m.group(3), m.group(4)
        if kind not in KINDS:
            raise SystemExit(f"unknown generated block kind {kind!r} (known: {', '.join(KINDS)})")
        yield m, kind, source, body, KINDS[kind](root / source)


def run(check: bool, root: Path = ROOT) -> list[str]:
    """The files whose blocks were (or, with ``check``, would be) rewritten, as ``file: kind source``."""
    stale = []
    for pattern in DOCS:
        for path in sorted(root.glob(pattern)):
            text = path.read_text()
            new, pos = [], 0
            for m, kind, source, body, made in blocks(text, root):
                new += [text[pos:m.start(4)], made]
                pos = m.end(4)
                if made != body:
                    stale.append(f"{path.relative_to(root)}: {kind} {source}")
            new.append(text[pos:])
            if not check and "".join(new) != text:
                path.write_text("".join(new))
    return stale


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a block is stale")
    a = ap.parse_args(argv)
    stale = run(a.check)
    for s in stale:
        print(("stale: " if a.check else "rewrote: ") + s)
    return 1 if a.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
