"""``edge-lmk bench --target cpu``: accuracy and latency, one row per (model, format, precision, input size, threads).

What a row measures:
- accuracy: NME / FR / AUC on the held-out faces (the ``test`` split by default), through the same crop code as
  training and ``edge-lmk eval``; its NME change against the PyTorch FP32 row of the same checkpoint;
- latency: the bare backend (:func:`edge_landmarks.runtime.load_backend`, which sets onnxruntime intra-op threads,
  OpenVINO ``INFERENCE_NUM_THREADS`` with the f32 precision hint, LiteRT ``num_threads``, torch threads) called on one
  pre-made crop, batch 1, ``warmup`` calls then ``runs`` calls each timed with ``time.perf_counter``: median, p90,
  min, FPS, and the speed-up against the PyTorch FP32 row at the same thread count;
- memory: the peak resident set size of the process that ran the row (VmHWM), and the part of it that
  loading and running the model added (runtime library included).

Every row runs in a fresh subprocess. That is what makes the peak memory honest (native allocations of onnxruntime,
OpenVINO and LiteRT are invisible to tracemalloc, and a high-water mark never goes down inside one process), keeps
one runtime's thread pool from spinning while another is timed, and turns a runtime that crashes (a segfault in a
native library) into a row with its status instead of ending the benchmark. It costs about a second per row.

The dlib 68-point shape predictor is the peer row: the classic CPU landmark baseline, given the same face boxes the
crops are made from, timed per face (its own feature extraction from the grey image included; it is single-threaded).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import EdgeLandmarksError

__all__ = ["ROW_KEYS", "Target", "collect_targets", "run_bench", "prepare_artefacts", "load_suite", "find_suite",
           "environment", "FORMAT_ORDER", "suite_targets"]

ROW_KEYS = [
    "model", "format", "precision", "size", "threads", "status", "reason", "file", "file_bytes", "file_mb",
    "faces", "nme", "fr_08", "fr_10", "auc_08", "auc_10", "delta_nme", "delta_nme_rel",
    "latency_ms_median", "latency_ms_p90", "latency_ms_min", "latency_ms_mean", "runs", "warmup", "speedup",
    "speedup_vs_fp32", "speedup_vs_dlib", "fps", "peak_rss_mb", "model_rss_mb", "load_seconds", "runtime",
]
"""Every row has exactly these keys (None where a value does not apply), in this order."""

FORMAT_ORDER = ["pytorch", "onnx", "openvino", "tflite", "dlib"]
RUNTIME_PACKAGES = {"pytorch": "torch", "dlib": "dlib-bin"}
RUNTIME_SETTINGS = {
    "pytorch": "torch.set_num_threads(N), eager, no_grad",
    "onnx": "onnxruntime CPUExecutionProvider, intra_op_num_threads=N, inter_op_num_threads=1",
    "openvino": "CPU plugin, INFERENCE_NUM_THREADS=N, INFERENCE_PRECISION_HINT=f32 (no silent bf16)",
    "tflite": "ai-edge-litert Interpreter(num_threads=N), its default delegates",
    "dlib": "single-threaded",
}
"""How :func:`edge_landmarks.runtime.load_backend` sets each runtime up, N being the row's thread count."""


@dataclass
class Target:
    """One thing to benchmark: a checkpoint, an exported artefact, the dlib predictor, or a failure to report."""

    format: str
    path: Path | None = None
    model: str = "?"
    precision: str = "fp32"
    size: int | None = None
    source_sha256: str | None = None
    config: dict = field(default_factory=dict)
    status: str = "ok"
    reason: str = ""

    @property
    def key(self) -> tuple:
        return (self.model, self.size or 0, FORMAT_ORDER.index(self.format) if self.format in FORMAT_ORDER else 9,
                self.precision, str(self.path))


# --- what to benchmark ------------------------------------------------------------------------------------------

def _format_of(path: Path) -> str | None:
    from .export.formats import format_for_path

    if path.suffix == ".pt":
        return "pytorch"
    spec = format_for_path(path)
    return spec.name if spec else None


def _checkpoint_target(path: Path) -> Target:
    from .training import file_sha256

    try:
        import torch

        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        cfg = ckpt["model_config"]
    except Exception as exc:  # corrupt or foreign file: a row, not a crash
        return Target("pytorch", path, status="error", reason=f"not a readable checkpoint ({type(exc).__name__})")
    return Target("pytorch", path, cfg["name"], "fp32", int(cfg["input_size"]), file_sha256(path), cfg)


def _artefact_target(path: Path, fmt: str) -> Target:
    from .runtime.backends import read_metadata

    try:
        meta = read_metadata(path)
    except EdgeLandmarksError as exc:
        return Target(fmt, path, path.stem.split("_")[0], status="error", reason=str(exc))
    cfg = meta.get("model_config", {})
    return Target(fmt, path, meta.get("model", cfg.get("name", "?")), meta.get("precision", "?"),
                  meta.get("input_size", cfg.get("input_size")), meta.get("source_sha256"), cfg)


def _files_in(folder: Path) -> list[Path]:
    from .export.formats import FORMATS

    suffixes = {f.suffix for f in FORMATS.values()}
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in suffixes)


def collect_targets(artefacts=(), runs=(), sizes=None, references: bool = True) -> list[Target]:
    """Targets for files (.pt, .onnx, .xml, .tflite), folders of artefacts, and run folders (best.pt + export/).

    With ``references``, the PyTorch FP32 checkpoint each artefact was made from (its sidecar's
    ``source_checkpoint``) is added when it is still on disk, so every row gets its NME change and speed-up.
    """
    paths: list[Path] = []
    for item in artefacts:
        p = Path(item)
        if p.is_dir():
            found = _files_in(p)
            if not found:
                raise EdgeLandmarksError(f"{p}: no .onnx, .xml or .tflite files in this folder")
            paths += found
        else:
            paths.append(p)
    for run in runs:
        r = Path(run)
        if not r.is_dir():
            raise EdgeLandmarksError(f"{r}: not a run folder")
        if (r / "best.pt").is_file():
            paths.append(r / "best.pt")
        if (r / "export").is_dir():
            paths += _files_in(r / "export")
        if not (r / "best.pt").is_file() and not (r / "export").is_dir():
            raise EdgeLandmarksError(f"{r}: no best.pt and no export/ folder in this run folder")
    targets, seen = [], set()
    for p in paths:
        if p.resolve() in seen:
            continue
        seen.add(p.resolve())
        fmt = _format_of(p)
        if not p.is_file():
            targets.append(Target(fmt or "?", p, p.stem, status="missing", reason="file not found"))
        elif fmt is None:
            targets.append(Target("?", p, p.stem, status="error",
                                  reason=f"unknown file type {p.suffix!r} (.pt, .onnx, .xml, .tflite)"))
        elif fmt == "pytorch":
            targets.append(_checkpoint_target(p))
        else:
            targets.append(_artefact_target(p, fmt))
    if references:
        have = {t.source_sha256 for t in targets if t.format == "pytorch"}
        for t in list(targets):
            if t.format == "pytorch" or t.status != "ok" or t.source_sha256 in have:
                continue
            src = _source_checkpoint(t)
            if src is not None:
                ref = _checkpoint_target(src)
                if ref.source_sha256 == t.source_sha256:
                    targets.append(ref)
                    have.add(ref.source_sha256)
                    seen.add(src.resolve())
    if sizes:
        targets = [t for t in targets if t.size is None or t.size in sizes]
    return sorted(targets, key=lambda t: t.key)


def _source_checkpoint(t: Target) -> Path | None:
    from .runtime.backends import read_metadata

    src = read_metadata(t.path).get("source_checkpoint")
    for cand in ([Path(src)] if src else []) + [t.path.parent.parent / "best.pt"]:
        if cand.is_file():
            return cand
    return None


def prepare_artefacts(checkpoint: str | Path, formats, precisions, data: str | None = None,
                      calib_size: int = 300, force: bool = False, on_step=None) -> list[Target]:
    """The checkpoint and its artefacts in ``<run>/export``: reused when made from this very checkpoint, exported
    (and validated) when missing. A failed export is a target with its status and reason."""
    from .export import export_artefact
    from .export.formats import FORMATS

    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        return [Target("pytorch", checkpoint, checkpoint.parent.name, status="missing", reason="checkpoint not found")]
    ref = _checkpoint_target(checkpoint)
    if ref.status != "ok":
        return [ref]
    out = checkpoint.parent / "export"
    targets = [ref]
    for fmt in formats:
        for precision in precisions:
            path = out / f"{ref.model}_{ref.size}_{precision}{FORMATS[fmt].suffix}"
            if on_step:
                on_step(f"{fmt} {precision} {ref.size} px")
            if path.is_file() and not force:
                t = _artefact_target(path, fmt)
                if t.status == "ok" and t.source_sha256 != ref.source_sha256:
                    t.status, t.reason = "stale", "made from another checkpoint; pass --force to export it again"
                targets.append(t)
                continue
            try:
                export_artefact(checkpoint, fmt, precision, out=out, data=data, calib_size=calib_size,
                                force=force)
                targets.append(_artefact_target(path, fmt))
            except Exception as exc:  # any converter failure is a row, not the end of the benchmark
                targets.append(Target(fmt, path, ref.model, precision, ref.size, ref.source_sha256, ref.config,
                                      status="export failed", reason=_short(exc)))
    return targets


def _short(exc: BaseException, limit: int = 240) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:limit]


@contextlib.contextmanager
def output_to(log: Path):
    """Send what converters print (straight to the file descriptors, or through ``sys.stdout``) to ``log``; a
    progress bar on :func:`terminal_console` keeps drawing on the terminal meanwhile."""
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "a") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield log
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


@contextlib.contextmanager
def terminal_console(like=None):
    """A rich Console on a copy of file descriptor 1, so that it still reaches the terminal inside
    :func:`output_to`."""
    from rich.console import Console

    stream = os.fdopen(os.dup(1), "w")
    try:
        yield Console(file=stream, force_terminal=like.is_terminal if like is not None else None)
    finally:
        stream.close()


# --- suites -----------------------------------------------------------------------------------------------------

SUITE_KEYS = {"name", "description", "data", "split", "threads", "runs", "warmup", "dlib", "formats", "precisions",
              "sizes", "calib_size", "models"}


def find_suite(suite: str) -> Path:
    """A YAML path, or a suite name looked up in ./benchmarks/ and the source checkout's benchmarks/."""
    p = Path(suite)
    if p.is_file():
        return p
    here = Path(__file__).resolve().parents[1] / "benchmarks"
    for folder in (Path.cwd() / "benchmarks", here):
        if (folder / f"{suite}.yaml").is_file():
            return folder / f"{suite}.yaml"
    raise EdgeLandmarksError(f"no benchmark suite {suite!r} (not a file, not benchmarks/{suite}.yaml)")


def load_suite(suite: str) -> dict:
    import yaml

    path = find_suite(suite)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise EdgeLandmarksError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("models"), list) or not raw["models"]:
        raise EdgeLandmarksError(f"{path}: a suite is a mapping with a non-empty 'models' list")
    unknown = set(raw) - SUITE_KEYS
    if unknown:
        raise EdgeLandmarksError(f"{path}: unknown suite key(s): {', '.join(sorted(unknown))}")
    for i, m in enumerate(raw["models"]):
        if not isinstance(m, dict) or "checkpoint" not in m:
            raise EdgeLandmarksError(f"{path}: models[{i}] needs a 'checkpoint'")
    raw.setdefault("name", path.stem)
    raw["path"] = str(path)
    return raw


def suite_targets(suite: dict, force: bool = False, progress: bool = True, console=None) -> list[Target]:
    """Every checkpoint of a suite with its artefacts (exported when missing, see :func:`prepare_artefacts`); a
    missing checkpoint is a row that says how to make it."""
    from .export.formats import format_names

    formats = suite.get("formats", "all")
    formats = format_names() if formats in ("all", None) else list(formats)
    precisions = list(suite.get("precisions", ["fp32", "int8"]))
    sizes = set(suite.get("sizes") or [])
    targets: list[Target] = []
    with terminal_console(console) as term:
        prog, task = _progress(progress, len(suite["models"]) * len(formats) * len(precisions), term, "export")
        count = iter(range(10 ** 6))
        with prog or _Null():
            for entry in suite["models"]:
                ckpt = Path(entry["checkpoint"])

                def step(label, ckpt=ckpt):
                    if prog:
                        prog.update(task, completed=next(count), description=f"{ckpt.parent.name}: {label}")

                with output_to(ckpt.parent / "export" / "export.log") if ckpt.is_file() else _Null():
                    found = prepare_artefacts(ckpt, entry.get("formats", formats),
                                              entry.get("precisions", precisions), data=entry.get("calib_data"),
                                              calib_size=suite.get("calib_size", 300), force=force, on_step=step)
                if found[0].status == "missing":
                    found[0].model = entry.get("model", found[0].model)
                    if entry.get("make"):
                        found[0].reason += f"; make it with: {entry['make']}"
                targets += [t for t in found if not sizes or t.size is None or t.size in sizes]
            if prog:
                prog.update(task, completed=prog.tasks[0].total, description="done")
    return sorted(targets, key=lambda t: t.key)


# --- the environment --------------------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith(("flags", "Features"))),
                 [])
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16", "asimddp", "neon",
              "asimd")
    return [f for f in wanted if f in flags]


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def environment() -> dict:
    """CPU model, cores, instruction-set flags that matter for INT8, load, OS and library versions."""
    import platform

    packages = ["numpy", "onnxruntime", "openvino", "ai-edge-litert", "tflite-runtime", "torch", "dlib-bin",
                "opencv-python-headless", "edge-landmarks"]
    return {
        "cpu": _cpu_model(), "cores": os.cpu_count(), "cpu_flags": _cpu_flags(), "machine": platform.machine(),
        "os": platform.platform(), "python": platform.python_version(),
        "load_average": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "versions": {p: v for p in packages if (v := _version(p))},
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def runtime_name(fmt: str) -> str:
    from .export.formats import FORMATS

    package = RUNTIME_PACKAGES.get(fmt) or (FORMATS[fmt].runtime if fmt in FORMATS else fmt)
    v = _version(package)
    return f"{package} {v}" if v else package


# --- the benchmark ----------------------------------------------------------------------------------------------

def _eval_samples(data: str, split: str | None):
    from .data import load_dataset

    dataset = load_dataset(data)
    names = dataset.splits()
    name = split or next((s for s in ("test", "val") if s in names), "all")
    samples = dataset.split(name)
    if not len(samples):
        raise EdgeLandmarksError(f"{data}: no faces in split {name!r} (splits: {', '.join(names) or 'none'})")
    return list(samples), name


class _EvalInputs:
    """Crops made once per preprocessing (size, channels, mean/std, margin, scheme) with the exact code that
    ``edge-lmk eval`` uses, stored for the subprocesses; the outputs are turned back into image pixels the same way."""

    def __init__(self, samples, folder: Path):
        self.samples, self.folder, self._made = samples, folder, {}

    @staticmethod
    def _key(cfg) -> tuple:
        return (cfg.input_size, cfg.in_chans, tuple(cfg.mean), tuple(cfg.std), cfg.crop_margin, cfg.scheme)

    def inputs(self, cfg) -> Path:
        from .training import predict_crops

        key = self._key(cfg)
        if key not in self._made:
            batches = []

            def capture(x):
                batches.append(np.array(x, dtype=np.float32))
                return np.zeros((len(x), 2 * cfg.num_points), np.float32)

            _, gt = predict_crops(capture, self.samples, cfg)
            path = self.folder / f"inputs_{len(self._made)}.npy"
            np.save(path, np.concatenate(batches))
            self._made[key] = (path, gt)
        return self._made[key][0]

    def metrics(self, cfg, outputs: np.ndarray) -> dict:
        from .metrics import summarize
        from .training import predict_crops

        done = [0]

        def replay(x):
            out = outputs[done[0]:done[0] + len(x)]
            done[0] += len(x)
            return out

        pred, gt = predict_crops(replay, self.samples, cfg)
        return summarize(pred, gt, cfg.scheme)


def _empty_row(t: Target, threads: int) -> dict:
    row = dict.fromkeys(ROW_KEYS)
    row.update(model=t.model, format=t.format, precision=t.precision, size=t.size, threads=threads, status=t.status,
               reason=t.reason or None, file=str(t.path) if t.path else None, runtime=runtime_name(t.format))
    if t.path is not None and t.path.is_file():
        extra = t.path.with_suffix(".bin")
        size = t.path.stat().st_size + (extra.stat().st_size if t.path.suffix == ".xml" and extra.is_file() else 0)
        row.update(file_bytes=size, file_mb=round(size / 1e6, 2))
    return row


def _run_child(job: dict, folder: Path, name: str, timeout: float) -> dict:
    job_path, result_path = folder / f"{name}.job.json", folder / f"{name}.result.json"
    job["result"] = str(result_path)
    job_path.write_text(json.dumps(job))
    env = {**os.environ, "OMP_NUM_THREADS": str(job["threads"]), "PYTHONWARNINGS": "ignore",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        proc = subprocess.run([sys.executable, "-m", "edge_landmarks.bench", str(job_path)], capture_output=True,
                              text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "reason": f"no result within {timeout:g} s"}
    if result_path.is_file():
        return json.loads(result_path.read_text())
    if proc.returncode < 0:
        import signal

        try:
            how = signal.Signals(-proc.returncode).name
        except ValueError:
            how = f"signal {-proc.returncode}"
        return {"status": "crashed", "reason": f"the runtime process was killed by {how}"}
    tail = [ln for ln in proc.stderr.splitlines() if ln.strip()][-1:] or ["no output"]
    return {"status": "crashed", "reason": f"exit status {proc.returncode}: {tail[0][:200]}"}


def _dlib_job(samples, runs: int, warmup: int, folder: Path) -> dict:
    """The dlib predictor gets the grey images and the same face boxes the crops are made from (before margin)."""
    import cv2

    from .data.transforms import face_box
    from .schemes import convert

    boxes, greys = [], {}
    for i, s in enumerate(samples):
        pts = convert(s.landmarks, s.scheme, "ibug68") if s.scheme != "ibug68" else s.landmarks
        boxes.append(list(face_box(pts, s.box, np.isfinite(pts).all(axis=1))))
        img = s.load_image()
        greys[f"face_{i}"] = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
    np.savez(folder / "dlib_faces.npz", **greys)
    return {"kind": "dlib", "faces": str(folder / "dlib_faces.npz"), "boxes": boxes, "threads": 1, "runs": runs,
            "warmup": warmup, "accuracy": True}


def run_bench(targets: list[Target], data: str = "demo68", split: str | None = None, threads=(1,), runs: int = 200,
              warmup: int = 20, dlib: bool = True, progress: bool = True, timeout: float = 600.0,
              console=None) -> dict:
    """Benchmark every target at every thread count (plus the dlib row); returns
    ``{"rows": [...], "environment": {...}, "settings": {...}}``, rows keyed as in :data:`ROW_KEYS`."""
    from .models import ModelConfig

    if runs < 1 or warmup < 0:
        raise EdgeLandmarksError("runs must be at least 1 and warmup at least 0")
    threads = sorted({int(n) for n in threads})
    if not threads or threads[0] < 1:
        raise EdgeLandmarksError("thread counts must be positive integers")
    samples, split_name = _eval_samples(data, split)
    env_start = environment()
    jobs = [(t, n) for t in targets for n in (threads if t.status == "ok" else threads[:1])]
    rows: list[dict] = []
    t_start = time.time()
    with tempfile.TemporaryDirectory(prefix="edge-lmk-bench-") as tmp:
        folder = Path(tmp)
        evals = _EvalInputs(samples, folder)
        prog, task = _progress(progress, len(jobs) + int(dlib), console)
        with prog or _Null():
            accuracy: dict[str, dict] = {}
            for i, (t, n) in enumerate(jobs):
                row = _empty_row(t, n)
                label = f"{t.model} {t.size} px {t.format} {t.precision}, {n} thread{'s' if n > 1 else ''}"
                if prog:
                    prog.update(task, description=label)
                if t.status == "ok":
                    first = str(t.path) not in accuracy
                    try:
                        cfg = ModelConfig.from_dict(t.config)
                        job = {"kind": "model", "path": str(t.path.resolve()), "threads": n, "runs": runs,
                               "warmup": warmup, "inputs": str(evals.inputs(cfg)), "accuracy": first,
                               "outputs": str(folder / f"out_{i}.npy")}
                        res = _run_child(job, folder, f"job_{i}", timeout)
                    except Exception as exc:  # e.g. a sidecar whose model config cannot make crops
                        res = {"status": "error", "reason": f"preparing the inputs: {_short(exc)}"}
                    row.update({k: v for k, v in res.items() if k in row and k != "runtime"})
                    if res.get("status") == "ok" and first:
                        try:
                            m = evals.metrics(cfg, np.load(job["outputs"]))
                            accuracy[str(t.path)] = {"faces": m["faces"], "nme": m["nme"], "fr_08": m["fr_08"],
                                                     "fr_10": m["fr_1"], "auc_08": m["auc_08"], "auc_10": m["auc_1"]}
                        except Exception as exc:
                            row.update(status="error", reason=f"accuracy: {_short(exc)}")
                    row.update(accuracy.get(str(t.path), {}))
                rows.append(row)
                if prog:
                    prog.advance(task)
            if dlib:
                if prog:
                    prog.update(task, description="dlib 68-point shape predictor, 1 thread")
                rows.append(_dlib_row(samples, runs, warmup, folder, timeout))
                if prog:
                    prog.advance(task)
    _fill_references(rows)
    settings = {"data": str(data), "split": split_name, "faces": len(samples), "threads": threads, "runs": runs,
                "warmup": warmup, "batch": 1, "timer": "time.perf_counter", "runtime_settings": RUNTIME_SETTINGS,
                "seconds": round(time.time() - t_start, 1)}
    env = {**env_start, "load_average_end": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg")
           else None}
    return {"rows": rows, "environment": env, "settings": settings}


def _dlib_row(samples, runs, warmup, folder: Path, timeout: float) -> dict:
    row = dict.fromkeys(ROW_KEYS)
    row.update(model="dlib shape predictor 68", format="dlib", precision="float", size=None, threads=1,
               runtime=runtime_name("dlib"))
    try:
        job = _dlib_job(samples, runs, warmup, folder)
    except Exception as exc:  # e.g. a dataset whose points do not convert to dlib's 68
        row.update(status="error", reason=_short(exc))
        return row
    job["outputs"] = str(folder / "out_dlib.npy")
    res = _run_child(job, folder, "job_dlib", timeout)
    row.update({k: v for k, v in res.items() if k in row and k != "runtime"})
    row["status"] = res.get("status", "error")
    if row["status"] == "ok":
        from .metrics import summarize
        from .schemes import convert

        pred = np.load(job["outputs"])
        gt = np.stack([convert(s.landmarks, s.scheme, "ibug68") if s.scheme != "ibug68" else s.landmarks
                       for s in samples])
        m = summarize(pred, gt, "ibug68")
        row.update(faces=m["faces"], nme=m["nme"], fr_08=m["fr_08"], fr_10=m["fr_1"], auc_08=m["auc_08"],
                   auc_10=m["auc_1"], file=res.get("file"), file_bytes=res.get("file_bytes"))
        if row["file_bytes"]:
            row["file_mb"] = round(row["file_bytes"] / 1e6, 2)
    return row


def _fill_references(rows: list[dict]) -> None:
    """NME change and speed-up against the PyTorch FP32 row of the same model, size and thread count; for INT8 rows
    the speed-up against the same format's FP32 row; for every row the speed-up against the dlib row. Rows without
    a reference keep None."""
    ok = [r for r in rows if r["status"] == "ok" and r["format"] != "dlib"]
    refs = {(r["model"], r["size"], r["threads"]): r for r in ok if r["format"] == "pytorch"}
    fp32 = {(r["model"], r["size"], r["format"], r["threads"]): r for r in ok if r["precision"] == "fp32"}
    dlib = next((r for r in rows if r["format"] == "dlib" and r["status"] == "ok"), None)

    def ratio(slow: dict | None, fast: dict) -> float | None:
        if slow and slow["latency_ms_median"] and fast["latency_ms_median"]:
            return round(slow["latency_ms_median"] / fast["latency_ms_median"], 3)
        return None

    for r in ok:
        ref = refs.get((r["model"], r["size"], r["threads"]))
        ref_nme = ref["nme"] if ref else next((x["nme"] for (m, s, _), x in refs.items()
                                               if m == r["model"] and s == r["size"]), None)
        r["speedup"] = ratio(ref, r)
        if r["precision"] != "fp32":
            r["speedup_vs_fp32"] = ratio(fp32.get((r["model"], r["size"], r["format"], r["threads"])), r)
        if ref_nme is not None and r["nme"] is not None:
            r["delta_nme"] = r["nme"] - ref_nme
            r["delta_nme_rel"] = r["delta_nme"] / ref_nme if ref_nme else None
        r["speedup_vs_dlib"] = ratio(dlib, r)


def _progress(enabled: bool, total: int, console=None, name: str = "bench"):
    if not enabled:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    prog = Progress(TextColumn(f"[bold]{name}[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                    TimeElapsedColumn(), console=console)
    return prog, prog.add_task("starting", total=total)


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# --- the subprocess side ----------------------------------------------------------------------------------------

def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB.

    Linux: VmRSS / VmHWM from /proc, which start afresh at exec. ``ru_maxrss`` cannot be used in the child: Linux
    carries the parent's high-water mark across fork and exec, so every row would report the parent's size.
    Elsewhere ``ru_maxrss`` is the best there is (both values)."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        mb = kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024  # bytes on macOS, KiB elsewhere
        return mb, mb


def _time(fn, runs: int, warmup: int) -> dict:
    for _ in range(warmup):
        fn()
    times = np.empty(runs)
    clock = time.perf_counter
    for i in range(runs):
        t0 = clock()
        fn()
        times[i] = clock() - t0
    ms = times * 1e3
    median = float(np.median(ms))
    return {"latency_ms_median": round(median, 4), "latency_ms_p90": round(float(np.percentile(ms, 90)), 4),
            "latency_ms_min": round(float(ms.min()), 4), "latency_ms_mean": round(float(ms.mean()), 4),
            "fps": round(1e3 / median, 1) if median > 0 else None, "runs": runs, "warmup": warmup}


def _child_model(job: dict) -> dict:
    x_all = np.load(job["inputs"])
    x = np.ascontiguousarray(x_all[:1])
    base, _ = _rss_mb()
    t0 = time.perf_counter()
    from .runtime import load_backend

    run, _, _ = load_backend(job["path"], job["threads"])
    result = {"load_seconds": round(time.perf_counter() - t0, 3)}
    result.update(_time(lambda: run(x), job["runs"], job["warmup"]))
    _, peak = _rss_mb()
    result.update(peak_rss_mb=round(peak, 1), model_rss_mb=round(peak - base, 1))
    if job["accuracy"]:
        np.save(job["outputs"], np.concatenate([run(x_all[i:i + 1]) for i in range(len(x_all))]))
    return result


def _child_dlib(job: dict) -> dict:
    with np.load(job["faces"]) as faces:
        greys = [faces[f"face_{i}"] for i in range(len(job["boxes"]))]
    base, _ = _rss_mb()
    t0 = time.perf_counter()
    from .data.demo import Teacher

    teacher = Teacher()
    result = {"load_seconds": round(time.perf_counter() - t0, 3), "file": str(teacher.model_path),
              "file_bytes": teacher.model_path.stat().st_size}
    first, box = greys[0], job["boxes"][0]
    result.update(_time(lambda: teacher.landmarks(first, box), job["runs"], job["warmup"]))
    _, peak = _rss_mb()
    result.update(peak_rss_mb=round(peak, 1), model_rss_mb=round(peak - base, 1))
    pred = np.stack([teacher.landmarks(g, b) for g, b in zip(greys, job["boxes"], strict=True)])
    np.save(job["outputs"], pred)
    return result


def _child_main(job_path: str) -> int:
    from .io import atomic_write_json

    job = json.loads(Path(job_path).read_text())
    try:
        result = {"status": "ok", **(_child_dlib(job) if job["kind"] == "dlib" else _child_model(job))}
    except Exception as exc:  # the row records why; the benchmark goes on
        result = {"status": "error", "reason": _short(exc)}
    for k, v in result.items():
        if isinstance(v, float) and not math.isfinite(v):
            result[k] = None
    atomic_write_json(job["result"], result)
    return 0


if __name__ == "__main__":  # the per-row subprocess: python -m edge_landmarks.bench JOB.json
    sys.exit(_child_main(sys.argv[1]))
