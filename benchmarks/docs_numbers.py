"""The measured numbers in README.md and docs/*.md, made from the results files, so that they cannot drift.

    python benchmarks/docs_numbers.py           # rewrite every generated block
    python benchmarks/docs_numbers.py --check   # exit 1 naming each block that is not what its source gives

A generated block sits between two comment lines, the first naming its kind and its source::

    <!-- generated: peers benchmarks/results/<folder>/bench.json -->
    ...the table...
    <!-- end generated -->

Kinds (the argument after the kind is the source, relative to the repository):

- ``main``: a quickstart's results folder: its machine and stage times, its table at one thread, what it says about
  INT8 and real faces;
- ``bench_table``: a bench run's bench.json, every row as its results folder shows them, and the targets read off
  them;
- ``peers``: a bench run's bench.json: NME with and without the jaw, jitter, lag, latency, file size;
- ``shipped``: the folder of the files shipped in the package: bytes, SHA-256, the INT8 NME change their sidecars'
  validation recorded;
- ``demo_fps``: ``benchmarks/demo_fps.py``'s result: the headless demo's frames per second per scene;
- ``hostile``: ``benchmarks/hostile_inputs.py``'s result: its counts, as a sentence;
- ``int8_jitter``: ``benchmarks/int8_jitter.py``'s result: a TFLite file's jitter per group of ops kept in float;
- ``false_faces``: ``benchmarks/false_faces.py``'s summary: detections and faces kept, per set and detector pass;
- ``arm64``: ``benchmarks/arm64/run.py``'s result: each file's points on emulated aarch64 against x86;
- ``serve_fps``: ``benchmarks/serve_fps.py``'s result: the served demo's FPS per set of clients;
- ``setup``: ``benchmarks/setup_costs.py``'s result: the install's size, the demo set's build time and download;
- ``openvino_int8``: ``benchmarks/openvino_int8.py``'s result: OpenVINO INT8 files' lag, jitter and NME;
- ``ci``: ``benchmarks/ci_time.py``'s result: `.ci/run` on a fresh clone, its install and test minutes.

``tests/test_docs_numbers.py`` runs ``--check``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("README.md", "docs/*.md", "benchmarks/README.md", "train/README.md", "quantize/README.md")
BLOCK = re.compile(r"(<!-- generated: (\w+) (\S+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def _wrap(text: str) -> str:
    """A generated paragraph, wrapped as the docs' hand-written ones are (120 columns)."""
    return textwrap.fill(text, 120, break_long_words=False, break_on_hyphens=False)


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
    ok = {(r["format"], r["precision"]): r for r in rows if r["status"] == "ok" and r.get("jitter_nmf")}
    ratios = [f"{names.get(f, f)} {100 * (ok[f, 'int8']['jitter_nmf'] / ok[f, 'fp32']['jitter_nmf'] - 1):+.0f} %"
              for f in names if (f, "int8") in ok and (f, "fp32") in ok]
    if ratios:
        out += ["", "Jitter of the model alone, INT8 against the same runtime's FP32: " + ", ".join(ratios) + "."]
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


def _machine(env: dict) -> str:
    """``<cpu> (<cores> cores, <ISA>), <date>`` from an environment() record."""
    flags = env.get("cpu_flags", [])
    isa = "AVX-512 VNNI" if "avx512_vnni" in flags else "AVX-512" if "avx512f" in flags else "AVX2, no AVX-512"
    return f"{env['cpu']} ({env['cores']} cores, {isa}), {env.get('date', '')[:10]}"


def main_job(folder: Path) -> str:
    """The quickstart's results folder: where and how long it ran, its table at one thread (every model row of its
    bench.json, then the peers), and what the table says about INT8."""
    env = json.loads((folder / "environment.json").read_text())
    rows = json.loads((folder / "bench.json").read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    settings, took = env["settings"], env["settings"].get("quickstart_seconds", {})
    stages = [("data", "the demo set"), ("train_56", "training at 56 px"), ("train_224", "fine-tuning at 224 px"),
              ("export", "export and INT8"), ("bench", "benchmark")]
    out = [(f"`{env['command']}` on {_machine(env)}: "
           + ", ".join(f"{what} {took[k]:.0f} s" + (" (already built)" if k == "data" and took[k] < 2 else "")
                       for k, what in stages if k in took)
           + f"; **{sum(took.values()) / 60:.1f} min** in all. {settings['faces']} held-out test faces, median of "
           f"{settings['runs']} calls after {settings['warmup']} warm-up, batch 1, one thread (the results folder "
           "has 2 threads, FR and AUC, p90 and peak memory):"), "",
           "| input | format | precision | file MB | NME | NME change | median ms | INT8 gain | vs PyTorch | vs dlib |",
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
    int8 = [r for r in rows if r["status"] == "ok" and r["precision"] == "int8"]
    if int8:
        def span(values, fmt):
            return f"{format(min(values), fmt)} to {format(max(values), fmt)}"

        out += ["", f"INT8 changes the NME by {span([100 * r['delta_nme_rel'] for r in int8], '+.1f')} % and runs "
                    f"{span([r['speedup_vs_fp32'] for r in int8], '.2f')}x as fast as the same runtime's FP32 "
                    "(1 and 2 threads)."]
        for size in sorted({r["size"] for r in int8}):
            vs = [r["speedup_vs_dlib"] for r in int8 if r["size"] == size and r["speedup_vs_dlib"] is not None]
            if vs:
                out[-1] += f" At {size} px they run {span(vs, '.2f')}x as fast as the dlib predictor per face."
    real = settings.get("real_faces_56px")
    if real:
        out += ["", f"On real faces (demo68's test_wild: {real['points']['faces']} in-the-wild colour faces of unseen "
                    f"people) the 56 px model's NME is {real['points']['nme']:.4f} from the labels' boxes and "
                    f"{real['detector']['nme']:.4f} through the face detector "
                    f"({100 * real['detector']['detection_rate']:.0f} % found)."]
    out = [line if line.startswith("|") else _wrap(line) for line in out]
    return "\n".join(out) + "\n"


def demo_fps(source: Path) -> str:
    """benchmarks/demo_fps.py's table: frames per second of the headless demo per scene."""
    result = json.loads(source.read_text())
    out = ["| scene | drawn | FPS (median of runs) | FPS, outer clock | read ms | detect ms | landmarks ms | draw ms "
           "| slowest detect ms | faces per frame | detector runs (whole frame / checks / searches) |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in result["cases"]:
        ms = c["ms_per_frame"]
        slowest = _num(c.get("slowest_detect_ms"), ".1f")
        out.append(f"| {c['scene']} | {'yes' if c['drawn'] else 'no'} | {c['fps']:.0f} | {c['wall_fps']:.0f} | "
                   f"{ms['read']:.2f} | {ms['detect']:.2f} | {ms['landmarks']:.2f} | {ms['draw']:.2f} | {slowest} | "
                   f"{c['faces_per_frame']:.2f} | {c['detections']} / {c['checks']} / {c['searches']} |")
    out += ["", _wrap(f"`{result['command']}` on {_machine(result['machine'])}.")]
    return "\n".join(out) + "\n"


def video_detector(source: Path) -> str:
    """``benchmarks/detection_counts.py --out``'s result: per detector mode and split, faces found, missed, duplicates,
    other boxes and milliseconds, and each mode on one 640 x 480 frame."""
    result = json.loads(source.read_text())
    names = {"photo": "photo (whole frame + tile pyramid)", "far": "video search (short + full range)",
             "whole": "short range, whole frame"}
    out = ["| detector | split | faces | found | missed | duplicates | other boxes | ms per photo |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        out.append(f"| {names.get(r['mode'], r['mode'])} | {r['split']} | {r['faces']} | {r['found']} | {r['missed']} "
                   f"| {r['duplicates']} | {r['other']} | {r['ms_per_photo']:.1f} |")
    ms = result["ms_640x480"]
    out += ["", _wrap(f"On one 640 x 480 frame (a test_wild photo resized, median of 30 calls, one thread): photo "
                      f"detector {ms['photo']:.1f} ms, video search {ms['far']:.1f} ms, one short-range pass "
                      f"{ms['whole']:.1f} ms. `{result['command']}` on {_machine(result['machine'])}.")]
    return "\n".join(out) + "\n"


def hostile(source: Path) -> str:
    """``benchmarks/hostile_inputs.py --out``'s counts, as a sentence."""
    counts = json.loads(source.read_text())["counts"]
    clear, kept = counts.get("clear error", 0), counts.get("kept", 0)
    bad = {k: v for k, v in counts.items() if k not in ("clear error", "kept")}
    tail = ", ".join(f"{v} {k}" for k, v in sorted(bad.items())) if bad else \
        "none ends in a traceback, a hang or an accepted input"
    return _wrap(f"Of its {sum(counts.values())} cases, {clear} end in one clear error and {kept} (the user's own "
                 f"files beside an output) keep every file; {tail}.") + "\n"


def bench_table(source: Path) -> str:
    """Every row of a bench run's bench.json as its results folder's README shows them, and the targets read off
    them (``edge_landmarks.bench.results``)."""
    from edge_landmarks.bench.results import highlights, table
    from edge_landmarks.report import markdown_table

    rows = json.loads(source.read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    headers, cells, notes = table(rows)
    out = [markdown_table(headers, cells), ""]
    out += [f"- {line}" for line in highlights(rows) + [f"did not run: {n}" for n in notes]]
    return "\n".join(out).rstrip("\n") + "\n"


def int8_jitter(source: Path) -> str:
    """``benchmarks/int8_jitter.py``'s result: per group of ops kept in float, the TFLite file's jitter, NME change
    and distance from FP32."""
    result = json.loads(source.read_text())
    what = {"fp32": "FP32 (the reference)", "none": "INT8, nothing more in float",
            "default": "INT8 as `edge-lmk quantize` writes it (the early blocks)"}
    out = ["| TFLite file | weighted ops kept in float (beside the head) | jitter NMF % | against FP32 | NME change "
           "| px from FP32 |", "|---|---|---:|---:|---:|---:|"]
    plain = next((len(r["float_layers"]) for r in result["rows"] if r["group"] == "none"), None)
    for r in result["rows"]:
        group = r["group"]
        name = what.get(group, f"INT8, ops {group.replace(':', ' to ')} (exclusive) in float")
        n = "-" if group == "fp32" or plain is None else str(len(r["float_layers"]) - plain)
        out.append(f"| {name} | {n} | {r['jitter_nmf']:.3f} | "
                   + ("reference |  |  |" if group == "fp32" else
                      f"{100 * r['jitter_vs_fp32']:+.1f} % | {100 * r['delta_nme_rel']:+.2f} % | "
                      f"{r['mean_px_error_vs_fp32']:.3f} |"))
    out += ["", f"`{result['command']}`, {result['faces']} test_wild faces."]
    return "\n".join(out) + "\n"


def false_faces(source: Path) -> str:
    """``benchmarks/false_faces.py``'s summary: per set and detector pass, the detections and those kept as faces."""
    result = json.loads(source.read_text())
    out = ["| set | detector pass | on a labelled face | detections | scores | kept as faces |",
           "|---|---|---|---:|---|---:|"]
    for r in result["summary"]:
        scores = f"{r['score_min']:.2f}-{r['score_max']:.2f}" if "score_min" in r else "-"
        out.append(f"| {r['set']} | {r['pass']} | {'yes' if r['labelled face'] else 'no'} | {r['detections']} | "
                   f"{scores} | {r['kept']} |")
    return "\n".join(out) + "\n"


def arm64(source: Path) -> str:
    """``benchmarks/arm64/run.py``'s result: per emulated core, each file's points against x86 and both NMEs, the
    install time and the headless demo."""
    result = json.loads(source.read_text())
    out = ["| core | file | max / mean difference, aarch64 vs x86 (px of the 112 px crop) | NME x86 | NME aarch64 |",
           "|---|---|---|---:|---:|"]
    for run in result["runs"]:
        for r in run["predict"]:
            out.append(f"| {run['cpu']} | `{r['file']}` | {r['max_px']:.3f} / {r['mean_px']:.3f} | "
                       f"{r['nme_x86']:.4f} | {r['nme_arm64']:.4f} |")
    lines = []
    for run in result["runs"]:
        v, demo = run["versions"], run["demo"]
        lines.append(f"{run['cpu']}: the core install {run['install_s']:.0f} s under emulation (numpy {v['numpy']}, "
                     f"OpenCV {v['opencv']}, onnxruntime {v['onnxruntime']}, ai-edge-litert {v['ai-edge-litert']}); "
                     f"the headless demo found a face in {demo['arm64']['faces']} of {demo['arm64']['frames']} "
                     f"frames ({demo['x86']['faces']} of {demo['x86']['frames']} on x86).")
    out += ["", _wrap(f"{result['date']} (host {result['host']}), {result['qemu']}, `{result['command']}`. "
                      + " ".join(lines))]
    return "\n".join(out) + "\n"


def serve_fps(source: Path) -> str:
    """``benchmarks/serve_fps.py``'s result: the served demo's FPS per set of clients."""
    result = json.loads(source.read_text())
    out = ["| clients | FPS end to end | ms per frame: read / detect / landmarks / draw / serve |", "|---|---:|---|"]
    for c in result["cases"]:
        who = "no client" if not c["readers"] else \
            f"{c['readers']} reader{'s' if c['readers'] > 1 else ''} of /stream.mjpg"
        if c["stalled_client"]:
            who += " and a client that stopped reading"
        ms = c["ms_per_frame"]
        out.append(f"| {who} | {c['fps']:.0f} | {ms['read']:.2f} / {ms['detect']:.2f} / {ms['landmarks']:.2f} / "
                   f"{ms['draw']:.2f} / {ms['output']:.2f} |")
    out += ["", f"`{result['command']}`"]
    return "\n".join(out) + "\n"


def pi_estimates(folder: Path) -> str:
    """docs/raspberry-pi.md's estimates: a quickstart's one-thread INT8 medians (LiteRT and onnxruntime, 56 and 224
    px) and the detector's (benchmarks/results/video_detector.json) times the rough Pi 4 / Pi 5 factors, and what the
    same run says about runtimes, memory, input size and threads."""
    env = json.loads((folder / "environment.json").read_text())
    rows = json.loads((folder / "bench.json").read_text())
    rows = [r for r in (rows["rows"] if isinstance(rows, dict) else rows) if r.get("status", "ok") == "ok"]

    def row(fmt, size, threads=1, precision="int8"):
        return next((r for r in rows if r["format"] == fmt and r["size"] == size and r["threads"] == threads
                     and r["precision"] == precision), None)

    def est(ms: float, lo: float, hi: float, calls: bool = True) -> str:
        text = f"{ms * lo:.1f}-{ms * hi:.1f} ms"
        return text + (f" = {1000 / (ms * hi):.0f}-{1000 / (ms * lo):.0f} calls/s" if calls else "")

    names = {"tflite": "LiteRT", "onnx": "onnxruntime"}
    out = ["| model call (1 thread) | x86 measured | Pi 4 estimate (x8-12) | Pi 5 estimate (x3-5) |",
           "|---|---:|---:|---:|"]
    for size in (56, 224):
        for fmt in sorted(names, key=lambda f: row(f, size)["latency_ms_median"] if row(f, size) else 1e9):
            r = row(fmt, size)
            if r is not None:
                ms = r["latency_ms_median"]
                out.append(f"| {r['model']} {size} px INT8, {names[fmt]} | {ms:.2f} ms | {est(ms, 8, 12)} | "
                           f"{est(ms, 3, 5)} |")
    det = json.loads((ROOT / "benchmarks/results/video_detector.json").read_text())["ms_640x480"]
    for key, what in (("whole", "BlazeFace, one short-range pass (FP32, 128 px)"),
                      ("far", "BlazeFace, the video search (short + full range)")):
        out.append(f"| {what} | {det[key]:.1f} ms | {est(det[key], 8, 12, False)} | {est(det[key], 3, 5, False)} |")
    fast = sorted((row(f, 56) for f in names if row(f, 56)), key=lambda r: r["latency_ms_median"])
    ratios = [row(f, 224)["latency_ms_median"] / row(f, 56)["latency_ms_median"] for f in names
              if row(f, 224) and row(f, 56)]
    two = [(names[f], row(f, 56)["latency_ms_median"], row(f, 56, 2)["latency_ms_median"]) for f in names
           if row(f, 56) and row(f, 56, 2)]
    text = (f"x86: `{env['command']}` on {_machine(env)}, the model call alone, median. At 56 px on one thread "
            f"the fastest INT8 file there is {names[fast[0]['format']]} ({fast[0]['latency_ms_median']:.2f} ms, peak "
            f"memory {fast[0]['peak_rss_mb']:.0f} MB)"
            + (f", then {names[fast[1]['format']]} ({fast[1]['latency_ms_median']:.2f} ms, "
               f"{fast[1]['peak_rss_mb']:.0f} MB)" if len(fast) > 1 else "")
            + (f"; the 224 px INT8 files are {min(ratios):.1f}-{max(ratios):.1f}x slower than the 56 px ones"
               if ratios else "")
            + ("; two threads against one at 56 px: " + ", ".join(f"{n} {a:.2f} -> {b:.2f} ms" for n, a, b in two)
               if two else "")
            + ". The detector: one 640 x 480 frame, from benchmarks/results/video_detector.json.")
    out += ["", _wrap(text)]
    return "\n".join(out) + "\n"


def setup(source: Path) -> str:
    """``benchmarks/setup_costs.py``'s result, as a sentence: the dev install's size, the demo set's build time and
    download, the aarch64 core install's wheels."""
    r = json.loads(source.read_text())
    demo, arm = r["demo68"], r["aarch64_core"]
    return _wrap(f"Measured on {_machine(r['machine'])} (`{r['command']}`): the dev install takes "
                 f"{r['dev_install_bytes'] / 1e9:.1f} GB; the demo set ({demo['faces']} faces) builds in "
                 f"{demo['build_seconds']:.0f} s after a one-time download of {demo['download_bytes'] / 1e6:.0f} MB "
                 f"({demo['archives']} pinned archives from PyPI and npm); the core install for a Raspberry Pi "
                 f"(aarch64, Python {arm['python']}) is {arm['wheels']} wheels, {arm['bytes'] / 1e6:.0f} MB.") + "\n"


def ci(source: Path) -> str:
    """``benchmarks/ci_time.py``'s result, as a sentence: `.ci/run` on a fresh clone, its phases and the tests."""
    r = json.loads(source.read_text())
    sec, tests = r["seconds"], r["tests"]
    counts = ", ".join(f"{tests[k]} {k}" for k in ("passed", "skipped", "failed", "error") if tests.get(k))
    return _wrap(f"Measured on {_machine(r['machine'])} (`{r['command']}`: `.ci/run` on a fresh clone of commit "
                 f"{r['commit'][:7]}): **{sec['total'] / 60:.0f} min** in all, of which the install "
                 f"{sec.get('install', 0) / 60:.1f} min and the tests {sec.get('tests', 0) / 60:.1f} min on two "
                 f"workers ({counts}).") + "\n"


def openvino_int8(source: Path) -> str:
    """``benchmarks/openvino_int8.py``'s result: per file, the demo's lag, the jitter, NME and the compiled
    convolutions' precisions."""
    r = json.loads(source.read_text())
    out = ["| file | demo lag, frames (mean; per face) | jitter NMF % (model alone) | test_wild NME | convolutions as "
           "compiled |", "|---|---|---:|---:|---|"]
    for row in r["rows"]:
        convs = ", ".join(f"{n} {p}" for p, n in sorted((row["convolutions"] or {}).items(), key=lambda kv: -kv[1]))
        faces = ", ".join(f"{x:.1f}" for x in row["lag_per_face"])
        out.append(f"| {row['file']} | {row['demo_lag_frames']:.2f} ({faces}) | {row['jitter_nmf_pct']:.3f} | "
                   f"{row['nme_test_wild']:.4f} | {convs or '-'} |")
    out += ["", _wrap(f"`{r['command']}` on {_machine(r['machine'])}, {r['faces']} test_wild faces, "
                      f"`{r['checkpoint']}`.")]
    return "\n".join(out) + "\n"


KINDS = {"main": main_job, "int8_jitter": int8_jitter, "bench_table": bench_table, "peers": peers, "shipped": shipped,
         "demo_fps": demo_fps, "hostile": hostile, "false_faces": false_faces,
         "arm64": arm64, "serve_fps": serve_fps, "video_detector": video_detector, "pi_estimates": pi_estimates,
         "setup": setup, "openvino_int8": openvino_int8, "ci": ci}


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
