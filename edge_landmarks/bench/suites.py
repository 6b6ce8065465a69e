"""Benchmark suites: a YAML file naming checkpoints, formats, precisions, sizes and thread counts
(``benchmarks/*.yaml``), and the targets they make."""

from __future__ import annotations

import contextlib
from pathlib import Path

from ..errors import EdgeLandmarksError
from ..formats import export_formats
from .console import output_to, progress_bar, terminal_console
from .targets import Target, checkpoint_size, prepare_artefacts

__all__ = ["SUITE_KEYS", "find_suite", "load_suite", "suite_targets", "suite_names"]

SUITE_KEYS = {"name", "description", "data", "split", "threads", "runs", "warmup", "dlib", "mediapipe", "clips",
              "formats", "precisions", "sizes", "calib_size", "models"}


def suite_names() -> list[str]:
    """The suites that ship in the package (``edge_landmarks/bench/suites/*.yaml``)."""
    from importlib.resources import files

    return sorted(p.name[:-5] for p in files("edge_landmarks.bench").joinpath("suites").iterdir()
                  if p.name.endswith(".yaml"))


def find_suite(suite: str) -> Path:
    """A YAML path, or the name of a suite shipped in the package (quick, full)."""
    from importlib.resources import as_file, files

    p = Path(suite)
    if p.is_file():
        return p
    res = files("edge_landmarks.bench").joinpath("suites", f"{suite}.yaml")
    if p.suffix not in (".yaml", ".yml") and "/" not in str(suite) and res.is_file():
        with as_file(res) as path:
            return Path(path)
    raise EdgeLandmarksError(f"no benchmark suite {suite!r} (not a file; shipped suites: {', '.join(suite_names())})")


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
    formats = suite.get("formats", "all")
    formats = export_formats() if formats in ("all", None) else list(formats)
    precisions = list(suite.get("precisions", ["fp32", "int8"]))
    sizes = set(suite.get("sizes") or [])
    targets: list[Target] = []
    with terminal_console(console) as term:
        total = len(suite["models"]) * len(formats) * len(precisions)
        prog, task = progress_bar(progress, total, term, "export")
        count = iter(range(10 ** 6))
        with prog or contextlib.nullcontext():
            for entry in suite["models"]:
                ckpt = Path(entry["checkpoint"])

                def step(label, ckpt=ckpt):
                    if prog:
                        prog.update(task, completed=next(count), description=f"{ckpt.parent.name}: {label}")

                if sizes and ckpt.is_file() and checkpoint_size(ckpt) not in (None, *sizes):
                    continue  # a size left out (--sizes): nothing exported for it
                with output_to(ckpt.parent / "export" / "export.log") if ckpt.is_file() else contextlib.nullcontext():
                    found = prepare_artefacts(ckpt, entry.get("formats", formats),
                                              entry.get("precisions", precisions), data=entry.get("calib_data"),
                                              calib_size=suite.get("calib_size", 300), force=force, on_step=step)
                if found[0].status == "missing":
                    found[0].model = entry.get("model", found[0].model)
                    if entry.get("make"):
                        found[0].reason += f"; make it with: {entry['make']}"
                targets += found
            if prog:
                prog.update(task, completed=total, description="done")
    return sorted(targets, key=lambda t: t.key)
