"""What to benchmark: checkpoints, exported artefacts and run folders as :class:`Target` rows, and the artefacts a
checkpoint still lacks, exported (and validated) on the way."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EdgeLandmarksError
from ..formats import FORMATS, known_suffixes

__all__ = ["Target", "collect_targets", "prepare_artefacts", "FORMAT_ORDER", "PEERS", "short_reason"]

PEERS = ("dlib", "mediapipe")
"""The peers' rows' ``format``: other projects' models, benchmarked beside ours, never a file we made."""
FORMAT_ORDER = [*FORMATS, *PEERS]
"""The order of the rows: the format table's, then the dlib peer row."""


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
    reference: bool = False
    """Added by the bench itself (the checkpoint an artefact was made from), not asked for: its row never decides
    whether the bench succeeded."""

    @property
    def key(self) -> tuple:
        return (self.model, self.size or 0, FORMAT_ORDER.index(self.format) if self.format in FORMAT_ORDER else 9,
                self.precision, str(self.path))


# --- what to benchmark ------------------------------------------------------------------------------------------

def _format_of(path: Path) -> str | None:
    from ..formats import format_for_path

    spec = format_for_path(path)
    return spec.name if spec else None


def _checkpoint_target(path: Path) -> Target:
    from ..training import file_sha256, read_checkpoint

    try:
        cfg = read_checkpoint(path)["model_config"]
    except EdgeLandmarksError as exc:  # corrupt or foreign file (or no torch): a row, not a crash
        return Target("pytorch", path, status="error", reason=str(exc))
    return Target("pytorch", path, cfg["name"], "fp32", int(cfg["input_size"]), file_sha256(path), cfg)


def checkpoint_size(path: Path) -> int | None:
    """A checkpoint's input size, or None when it cannot be read (its row says why later); not hashed, unlike
    :func:`_checkpoint_target`."""
    from ..training import read_checkpoint

    try:
        return int(read_checkpoint(path)["model_config"]["input_size"])
    except EdgeLandmarksError:
        return None


def _artefact_target(path: Path, fmt: str) -> Target:
    from ..runtime.backends import read_metadata

    try:
        meta = read_metadata(path)
    except EdgeLandmarksError as exc:
        return Target(fmt, path, path.stem.split("_")[0], status="error", reason=str(exc))
    from ..runtime.backends import is_validated

    cfg = meta.get("model_config", {})
    t = Target(fmt, path, meta.get("model", cfg.get("name", "?")), meta.get("precision", "?"),
               meta.get("input_size", cfg.get("input_size")), meta.get("source_sha256"), cfg)
    if "model_config" in meta and not is_validated(meta):
        t.status, t.reason = "unvalidated", "its export did not finish (no validation in the sidecar): export again"
    return t


def _files_in(folder: Path) -> list[Path]:
    suffixes = {f.suffix for f in FORMATS.values() if f.exporter}
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
                suffixes = ", ".join(f.suffix for f in FORMATS.values() if f.exporter)
                raise EdgeLandmarksError(f"{p}: no model files ({suffixes}) in this folder")
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
                                  reason=f"unknown file type {p.suffix!r} ({known_suffixes()})"))
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
                ref.reference = True
                if ref.source_sha256 == t.source_sha256:
                    targets.append(ref)
                    have.add(ref.source_sha256)
                    seen.add(src.resolve())
    if sizes:
        targets = [t for t in targets if t.size is None or t.size in sizes]
    return sorted(targets, key=lambda t: t.key)


def _source_checkpoint(t: Target) -> Path | None:
    from ..runtime.backends import read_metadata

    src = read_metadata(t.path).get("source_checkpoint")
    for cand in ([Path(src)] if src else []) + [t.path.parent.parent / "best.pt"]:
        if cand.is_file():
            return cand
    return None


def prepare_artefacts(checkpoint: str | Path, formats, precisions, data: str | None = None,
                      calib_size: int = 300, force: bool = False, on_step=None) -> list[Target]:
    """The checkpoint and its artefacts in ``<run>/export``: reused when made from this very checkpoint, exported
    (and validated) when missing. A failed export is a target with its status and reason."""
    from ..export import ExportJob, artefact_name
    from ..models import ModelConfig
    from ..runtime.backends import is_unfinished

    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        return [Target("pytorch", checkpoint, checkpoint.parent.name, status="missing", reason="checkpoint not found")]
    ref = _checkpoint_target(checkpoint)
    if ref.status != "ok":
        return [ref]
    out = checkpoint.parent / "export"
    targets = [ref]
    job = None  # one export job for every file made here (each format's FP32 conversion made once)
    for fmt in formats:
        for precision in precisions:
            path = out / artefact_name(ModelConfig.from_dict(ref.config), precision, fmt)
            if on_step:
                on_step(f"{fmt} {precision} {ref.size} px")
            if path.is_file() and not force and not is_unfinished(path):  # unfinished: exported again below
                t = _artefact_target(path, fmt)
                if t.status == "ok" and t.source_sha256 != ref.source_sha256:
                    t.status, t.reason = "stale", "made from another checkpoint; pass --force to export it again"
                targets.append(t)
                continue
            try:
                job = job or ExportJob(checkpoint, data=data, out=out)
                job.write(fmt, precision, calib_size=calib_size, force=force)
                targets.append(_artefact_target(path, fmt))
            except Exception as exc:  # any converter failure is a row, not the end of the benchmark
                targets.append(Target(fmt, path, ref.model, precision, ref.size, ref.source_sha256, ref.config,
                                      status="export failed", reason=short_reason(exc)))
    return targets


def short_reason(exc: BaseException, limit: int = 240) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:limit]
