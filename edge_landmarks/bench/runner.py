"""The benchmark runner: one subprocess per row (see :mod:`edge_landmarks.bench`), the crops made once per
preprocessing, accuracy from the first run of each file, and the references filled in at the end."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..defaults import CLIPS, RUNS, WARMUP
from ..errors import EdgeLandmarksError
from ..formats import FORMATS, file_bytes
from .console import progress_bar
from .environment import environment, runtime_name
from .targets import PEERS, Target, short_reason

__all__ = ["ROW_KEYS", "RUNTIME_SETTINGS", "run_bench"]

ROW_KEYS = [
    "model", "format", "precision", "size", "threads", "status", "reason", "file", "file_bytes", "file_mb",
    "faces", "nme", "nme_no_jaw", "fr_08", "fr_10", "auc_08", "auc_10", "delta_nme", "delta_nme_rel",
    "jitter_nmf", "jitter_px", "demo_jitter_px", "demo_lag",
    "latency_ms_median", "latency_ms_p90", "latency_ms_min", "latency_ms_mean", "runs", "warmup", "speedup",
    "speedup_vs_fp32", "speedup_vs_dlib", "fps", "peak_rss_mb", "model_rss_mb", "load_seconds", "runtime", "device",
]
"""Every row has exactly these keys (None where a value does not apply), in this order. The jitter and lag keys are
:mod:`edge_landmarks.stability`'s measures on its clips: ``jitter_nmf`` (NMF %, the still clip) and ``jitter_px``
(RMS point motion on it) of the model alone on the true box; ``demo_jitter_px`` and ``demo_lag`` (frames, the slowest
moving clip) through the live demo's tracker and smoothing (a peer's predictor driven by the same tracker)."""

_CLIP_KEYS = ("jitter_nmf", "jitter_px", "demo_jitter_px", "demo_lag")

_ACCURACY_KEYS = ("faces", "nme", "fr_08", "fr_10", "auc_08", "auc_10")
"""What a row takes from :func:`edge_landmarks.metrics.summarize` (the same keys there and in the row); 68-point
rows also get ``nme_no_jaw``, the NME of the 51 inner points (the jaw is where MediaPipe's 468 points map to 68 only
approximately)."""


def _accuracy(pred, gt, scheme: str) -> dict:
    from ..metrics import mean_finite, nme, summarize
    from ..schemes import get_scheme

    m = summarize(pred, gt, scheme)
    out = {k: m[k] for k in _ACCURACY_KEYS}
    if scheme == "ibug68":
        inner = ~np.isin(np.arange(68), get_scheme(scheme).regions["jaw"])
        out["nme_no_jaw"] = mean_finite(nme(pred, gt, scheme, mask=inner))
    return out

RUNTIME_SETTINGS = {**{f.name: f.settings for f in FORMATS.values()}, "dlib": "single-threaded",
                    "mediapipe": "LiteRT num_threads = 1, its own 192 px crop (1.5x the face box)"}
"""How each runtime is set up (the format table's settings), N being the row's thread count."""


def _eval_samples(data: str, split: str | None):
    """The faces every row is scored on: the held-out rule's ``score`` choice (300W: ``full``)."""
    from ..data import load_dataset

    dataset = load_dataset(data)
    name = dataset.held_out_splits(split, "score")[-1]
    samples = dataset.split(name)
    if not len(samples):
        known = ", ".join(dataset.splits()) or "none"
        raise EdgeLandmarksError(f"{data}: no faces in split {name!r} (splits: {known})")
    return list(samples), name


class _EvalInputs:
    """The held-out faces read once; their inputs made once per preprocessing (size, channels, mean/std, margin,
    scheme) with :func:`~edge_landmarks.data.dataset.make_inputs`, as ``edge-lmk eval`` makes them, and stored for the
    subprocesses; the outputs go back to image pixels through the same matrices."""

    def __init__(self, samples, folder: Path):
        self.samples, self.folder, self._made = samples, folder, {}
        self._images = None

    @property
    def images(self) -> list:
        if self._images is None:
            self._images = [s.load_image() for s in self.samples]
        return self._images

    @staticmethod
    def _key(cfg) -> tuple:
        return (cfg.input_size, cfg.in_chans, tuple(cfg.mean), tuple(cfg.std), cfg.crop_margin, cfg.scheme)

    def inputs(self, cfg) -> Path:
        from ..data.dataset import make_inputs, targets

        key = self._key(cfg)
        if key not in self._made:
            x, mats = make_inputs(self.samples, cfg, self.images)
            path = self.folder / f"inputs_{len(self._made)}.npy"
            np.save(path, x)
            self._made[key] = (path, mats, targets(self.samples, cfg.scheme))
        return self._made[key][0]

    def metrics(self, cfg, outputs: np.ndarray) -> dict:
        from ..data.dataset import decode

        _, mats, gt = self._made[self._key(cfg)]
        return _accuracy(decode(outputs, mats, cfg), gt, cfg.scheme)


def _empty_row(t: Target, threads: int) -> dict:
    row = dict.fromkeys(ROW_KEYS)
    row.update(model=t.model, format=t.format, precision=t.precision, size=t.size, threads=threads, status=t.status,
               reason=t.reason or None, file=str(t.path) if t.path else None, runtime=runtime_name(t.format))
    if t.path is not None and t.path.is_file():
        size = file_bytes(t.path)
        row.update(file_bytes=size, file_mb=round(size / 1e6, 2))
    return row


def _run_child(job: dict, folder: Path, name: str, timeout: float) -> dict:
    job_path, result_path = folder / f"{name}.job.json", folder / f"{name}.result.json"
    job["result"] = str(result_path)
    job_path.write_text(json.dumps(job))
    env = {**os.environ, "OMP_NUM_THREADS": str(job["threads"]), "PYTHONWARNINGS": "ignore",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        proc = subprocess.run([sys.executable, "-m", "edge_landmarks.bench.child", str(job_path)], capture_output=True,
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


def _dlib_job(samples, gt: np.ndarray, images, runs: int, warmup: int, folder: Path) -> dict:
    """The dlib predictor gets the grey images and the same face boxes the crops are made from (before margin),
    from ``gt``, the samples' points in dlib's ibug68."""
    import cv2

    from ..data.transforms import face_box

    boxes, greys = [], {}
    for i, (s, pts) in enumerate(zip(samples, gt, strict=True)):
        boxes.append(list(face_box(pts, s.box, np.isfinite(pts).all(axis=1))))
        img = images[i]
        greys[f"face_{i}"] = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
    np.savez(folder / "dlib_faces.npz", **greys)
    return {"kind": "dlib", "faces": str(folder / "dlib_faces.npz"), "boxes": boxes, "threads": 1, "runs": runs,
            "warmup": warmup, "accuracy": True}


def run_bench(targets: list[Target], data: str = "demo68", split: str | None = None, threads=(1,), runs: int = RUNS,
              warmup: int = WARMUP, dlib: bool = True, progress: bool = True, timeout: float = 600.0,
              console=None, clips: int = CLIPS, target: str = "cpu", mediapipe: bool = False) -> dict:
    """Benchmark every target at every thread count (plus the dlib row); returns
    ``{"rows": [...], "environment": {...}, "settings": {...}}``, rows keyed as in :data:`ROW_KEYS`. ``clips``:
    jitter and lag measured on the clips of that many faces of the split (0: not measured). ``target``: the device
    every row must run on, as its runtime reports it (``device``); a row that ran elsewhere is an error row.
    ``mediapipe``: MediaPipe's Face Mesh as a second peer row."""
    from ..models import ModelConfig

    if runs < 1 or warmup < 0:
        raise EdgeLandmarksError("runs must be at least 1 and warmup at least 0")
    threads = sorted({int(n) for n in threads})
    if not threads or threads[0] < 1:
        raise EdgeLandmarksError("thread counts must be positive integers")
    samples, split_name = _eval_samples(data, split)
    clip_spec = {"data": str(data), "split": split_name, "count": int(clips), "seed": 0} if clips > 0 else None
    env_start = environment()
    jobs = [(t, n) for t in targets for n in (threads if t.status == "ok" else threads[:1])]
    rows: list[dict] = []
    t_start = time.time()
    with tempfile.TemporaryDirectory(prefix="edge-lmk-bench-") as tmp:
        folder = Path(tmp)
        evals = _EvalInputs(samples, folder)
        prog, task = progress_bar(progress, len(jobs) + int(dlib) + int(mediapipe), console)
        with prog or contextlib.nullcontext():
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
                               "outputs": str(folder / f"out_{i}.npy"), "clips": clip_spec}
                        res = _run_child(job, folder, f"job_{i}", timeout)
                    except Exception as exc:  # e.g. a sidecar whose model config cannot make crops
                        res = {"status": "error", "reason": f"preparing the inputs: {short_reason(exc)}"}
                    row.update({k: v for k, v in res.items() if k in row and k != "runtime"})
                    if res.get("status") == "ok" and res.get("device") != target:
                        row.update(status="error", reason=f"ran on {res.get('device')}, not on the target {target}")
                        res["status"] = "error"
                    if res.get("status") == "ok" and first:
                        try:
                            m = evals.metrics(cfg, np.load(job["outputs"]))
                            accuracy[str(t.path)] = {**m, **{k: res[k] for k in _CLIP_KEYS if k in res}}
                        except Exception as exc:
                            row.update(status="error", reason=f"accuracy: {short_reason(exc)}")
                    row.update(accuracy.get(str(t.path), {}))
                rows.append(row)
                if prog:
                    prog.advance(task)
            if dlib:
                if prog:
                    prog.update(task, description="dlib 68-point shape predictor, 1 thread")
                rows.append(_dlib_row(evals, runs, warmup, folder, timeout, clip_spec))
                if prog:
                    prog.advance(task)
            if mediapipe:
                if prog:
                    prog.update(task, description="MediaPipe Face Mesh, 1 thread")
                rows.append(_mediapipe_row(evals, data, split_name, runs, warmup, folder, timeout, clip_spec))
                if prog:
                    prog.advance(task)
    _fill_references(rows)
    settings = {"target": target, "data": str(data), "split": split_name, "faces": len(samples),
                "clip_faces": int(clips),
                "threads": threads, "runs": runs,
                "warmup": warmup, "batch": 1, "timer": "time.perf_counter", "runtime_settings": RUNTIME_SETTINGS,
                "seconds": round(time.time() - t_start, 1)}
    env = {**env_start, "load_average_end": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg")
           else None}
    return {"rows": rows, "environment": env, "settings": settings}


def _peer_row(evals: _EvalInputs, kind: str, make_job, folder: Path, timeout: float, **fields) -> dict:
    """A peer's row (dlib, MediaPipe): its child process with the job ``make_job(gt)`` gives, scored on the 68
    points; a dataset whose points do not convert to them, or a peer that cannot run, is a row with the reason."""
    from ..data.dataset import targets

    row = dict.fromkeys(ROW_KEYS)
    row.update(format=kind, precision="float", threads=1, **fields)
    try:
        gt = targets(evals.samples, "ibug68")
        job = make_job(gt)
    except Exception as exc:  # e.g. a dataset whose points do not convert to the 68
        row.update(status="error", reason=short_reason(exc))
        return row
    job["outputs"] = str(folder / f"out_{kind}.npy")
    res = _run_child(job, folder, f"job_{kind}", timeout)
    row.update({k: v for k, v in res.items() if k in row and k != "runtime"})
    row["status"] = res.get("status", "error")
    if row["status"] == "ok":
        row.update(_accuracy(np.load(job["outputs"]), gt, "ibug68"), file=res.get("file"),
                   file_bytes=res.get("file_bytes"))
        if row["file_bytes"]:
            row["file_mb"] = round(row["file_bytes"] / 1e6, 2)
    return row


def _dlib_row(evals: _EvalInputs, runs, warmup, folder: Path, timeout: float, clip_spec: dict | None) -> dict:
    def job(gt):
        return {**_dlib_job(evals.samples, gt, evals.images, runs, warmup, folder), "clips": clip_spec}

    return _peer_row(evals, "dlib", job, folder, timeout, model="dlib shape predictor 68", size=None,
                     runtime=runtime_name("dlib"))


def _mediapipe_row(evals: _EvalInputs, data: str, split: str, runs, warmup, folder: Path, timeout: float,
                   clip_spec: dict | None) -> dict:
    """MediaPipe's Face Mesh as a peer (:mod:`edge_landmarks.bench.mediapipe`): its own crop and decoding, in its
    own process, which reads the split's faces itself; where its file cannot be had, the row says why."""
    from .mediapipe import SPEC

    def job(gt):
        return {"kind": "mediapipe", "data": str(data), "split": split, "threads": 1, "runs": runs,
                "warmup": warmup, "accuracy": True, "clips": clip_spec}

    return _peer_row(evals, "mediapipe", job, folder, timeout, model="MediaPipe Face Mesh 468 (as 68)", size=192,
                     runtime=f"{runtime_name('tflite')}, {SPEC}")


def _fill_references(rows: list[dict]) -> None:
    """NME change and speed-up against the PyTorch FP32 row of the same model, size and thread count; for INT8 rows
    the speed-up against the same format's FP32 row; for every row the speed-up against the dlib row. Rows without
    a reference keep None."""
    ok = [r for r in rows if r["status"] == "ok" and r["format"] not in PEERS]
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
