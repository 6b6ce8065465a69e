"""The export job (:class:`ExportJob`): one checkpoint's files, each validated right after writing.

One module per format (the table is :mod:`edge_landmarks.formats`); this module does what they share: calibration
crops made by the training preprocessing, the metadata every artefact carries (in the file where the format allows
it, and in a sidecar ``<file>.json``), the landmark check against PyTorch FP32 on held-out faces, and the folder's
manifest.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np

from ..errors import EdgeLandmarksError, MissingExtraError
from ..files import atomic_write_json, read_json, refuse_overwrite, temporary
from ..formats import FORMATS, ModelFormat, export_formats, file_bytes

__all__ = ["ExportJob", "BudgetError", "REMEDIES", "calibration_crops", "validate", "held_out_faces", "artefact_name",
           "artefact_stem", "head_share", "check_budget"]

MIN_CALIBRATION = 100
MAX_CALIBRATION = 2000

REMEDIES = ("per-channel weights, min-max ranges", "more calibration data", "first conv and head in float",
            "quantisation-aware training")
"""The order in which ``quantize_within_budget`` tries the known INT8 remedies (each step keeps the ones before)."""


class BudgetError(EdgeLandmarksError):
    """No remedy brought the INT8 NME increase within the budget; ``attempts`` holds the numbers."""

    def __init__(self, message: str, attempts: list[dict]):
        super().__init__(message)
        self.attempts = attempts


def calibration_crops(config, data: str, split: str = "train", size: int = 300, seed: int = 0) -> np.ndarray:
    """Up to ``size`` normalised crops from ``data``'s ``split``, made exactly as in training (no augmentation)."""
    from ..data import load_dataset
    from ..data.dataset import make_inputs
    from ..data.holdout import training_split

    samples, _ = training_split(load_dataset(data), split)[0].for_scheme(config.scheme)
    if not len(samples):
        raise EdgeLandmarksError(f"{data}: no {config.scheme} faces in split {split!r} to calibrate INT8 with")
    idx = np.random.default_rng(seed).permutation(len(samples))[:size]
    return make_inputs([samples[i] for i in idx], config)[0]


MAX_FLOAT_HEAD_SHARE = 0.25
"""INT8 files keep the landmark head (the last weighted layer and what follows) in float, so outputs never clip,
unless it holds more than this share of the weights (the WFLW models' fc over a flattened map: 36 % and 80 %),
where a float head would undo most of INT8's size saving."""


def head_share(model) -> float:
    """The share of the model's weights in its last conv / linear layer (modules are defined in execution order)."""
    from torch import nn

    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    total = sum(p.numel() for p in model.parameters())
    return layers[-1].weight.numel() / total if layers and total else 0.0


def artefact_stem(cfg) -> str:
    """``<model>_<size>``, with the scheme when it is not the model's own (``mobilenetv2_menpo39_56``), so the
    68- and 39-point files of one network can share a folder."""
    from ..models import get_model_config

    scheme = "" if cfg.scheme == get_model_config(cfg.name).scheme else f"_{cfg.scheme}"
    return f"{cfg.name}{scheme}_{cfg.input_size}"


def artefact_name(cfg, precision: str, fmt: str) -> str:
    """The file name an export writes: ``<stem>_<precision><suffix>`` (``mobilenetv2_56_int8.onnx``)."""
    from ..formats import FORMATS

    return f"{artefact_stem(cfg)}_{precision}{FORMATS[fmt].suffix}"


def held_out_faces(dataset, split: str | None = None, scheme: str | None = None):
    """The faces to check an artefact on: the split asked for, else the held-out rule's ``check`` choice (val, then
    test, then every face); with ``scheme``, those in it or a scheme that converts to it."""
    faces = dataset.split(dataset.held_out_splits(split, "check")[-1])
    return faces.for_scheme(scheme)[0] if scheme else faces


def validate(model, artefact: Path, config, samples, threads: int = 1) -> dict:
    """Landmarks of the artefact against PyTorch FP32 on held-out faces: pixel error and NME change."""
    from ..data.dataset import decode, make_inputs, targets
    from ..metrics import nme
    from ..runtime import load_backend
    from ..training.evaluate import run_batches, torch_predictor

    x, mats = make_inputs(samples, config)  # one set of crops for both
    gt = targets(samples, config.scheme)
    ref_pred = decode(run_batches(torch_predictor(model), x), mats, config)
    run, _, _ = load_backend(artefact, threads, allow_unvalidated=True)
    pred = decode(run_batches(run, x), mats, config)
    with warnings.catch_warnings():  # all-NaN points (NaN weights) give NaN here, refused by the caller
        warnings.simplefilter("ignore", RuntimeWarning)
        nme_ref = float(np.nanmean(nme(ref_pred, gt, config.scheme)))
        nme_art = float(np.nanmean(nme(pred, gt, config.scheme)))
    return {
        "faces": int(len(samples)),
        "mean_px_error_vs_fp32": float(np.linalg.norm(pred - ref_pred, axis=-1).mean()),
        "max_px_error_vs_fp32": float(np.linalg.norm(pred - ref_pred, axis=-1).max()),
        "nme_fp32": nme_ref, "nme": nme_art, "delta_nme": nme_art - nme_ref,
        "delta_nme_rel": (nme_art - nme_ref) / nme_ref if nme_ref else float("nan"),
    }


def _made_by_us(path: Path) -> bool:
    """An artefact edge-lmk wrote: its sidecar is ours (format and model_config), validated or not."""
    from ..runtime.backends import sidecar_path

    try:
        meta = read_json(sidecar_path(path))
    except (OSError, EdgeLandmarksError):
        return False
    return isinstance(meta, dict) and "format" in meta and "model_config" in meta


def _replace(new: Path, path: Path, metadata: dict) -> None:
    """Move a validated artefact (``new``, its sidecar, an IR's .bin) onto ``path``. The sidecar there first says
    "ours, not validated", so a kill in between never leaves a validated sidecar beside a file it does not
    describe (the next export makes such a file again, without --force); the validated sidecar goes last."""
    from ..runtime.backends import sidecar_path

    atomic_write_json(sidecar_path(path), {**metadata, "validation": None})
    if new.suffix == ".xml":
        os.replace(new.with_suffix(".bin"), path.with_suffix(".bin"))
    os.replace(new, path)
    os.replace(sidecar_path(new), sidecar_path(path))


MAX_NME_INCREASE = 10.0
"""The largest INT8 budget taken (1000 %): beyond it there is no budget; say ``--max-nme-increase off``."""


def check_budget(max_nme_increase) -> None:
    """A budget is a fraction from -1 to :data:`MAX_NME_INCREASE` (0.02 = 2 %), or an error saying so."""
    if isinstance(max_nme_increase, bool) or not isinstance(max_nme_increase, (int, float)) \
            or not -1 <= max_nme_increase <= MAX_NME_INCREASE:  # NaN fails too: it walked every remedy into QAT
        raise EdgeLandmarksError(f"the INT8 budget max_nme_increase must be a number from -1 to {MAX_NME_INCREASE:g} "
                                 f"(a fraction: 0.02 = 2 %; below 0 an improvement is demanded), "
                                 f"not {max_nme_increase!r}")


class ExportJob:
    """The exports of one checkpoint: it holds the model, the data, the settings, and what the files have in common
    (the one FP32 conversion per format that both precisions start from, the calibration crops, the QAT fine-tune),
    so that exporting FP32 and INT8, trying the budget's remedies one after another, or every format after a QAT run
    converts and fine-tunes once.

    ``data``: where the calibration and check faces come from (default: the checkpoint's training data, else
    demo68); ``out``: the folder (default ``<run>/export``); ``calib_split`` and ``val_split``: the splits of the
    calibration crops and of the check (default: the held-out rule's choice); ``check_faces``: at most this many
    faces in the check; ``threads``: of the check's runtime.
    """

    def __init__(self, checkpoint: str | Path, data: str | None = None, out: str | Path | None = None,
                 calib_split: str = "train", val_split: str | None = None, threads: int = 1,
                 progress: bool = False, check_faces: int | None = None):
        from ..training import file_sha256, load_checkpoint
        from ..training.checkpoint import data_for

        self.checkpoint = Path(checkpoint)
        self.model, ckpt = load_checkpoint(checkpoint)
        self.config = self.model.config
        self.train_config = ckpt.get("train_config", {})
        self.source_sha256 = file_sha256(checkpoint)
        self.data = data_for(checkpoint, data, self.train_config)
        self.out = Path(out) if out else self.checkpoint.parent / "export"
        self.calib_split, self.val_split, self.check_faces = calib_split, val_split, check_faces
        self.threads, self.progress = threads, progress
        self._fp32: dict[str, object] = {}
        self._calib: dict[int, np.ndarray] = {}
        self._qat: dict[tuple, tuple] = {}
        self._held_out = None

    def exporter(self, fmt: str):
        """The format's module under :mod:`edge_landmarks.export` (its converter imported), or a clear error."""
        if fmt not in export_formats():
            raise EdgeLandmarksError(f"unknown format {fmt!r} to export to; known: {', '.join(export_formats())}")
        spec: ModelFormat = FORMATS[fmt]
        try:
            return importlib.import_module(f"{__package__}.{spec.exporter}")
        except ImportError as exc:
            raise MissingExtraError(f"exporting to {fmt} needs {exc.name or 'its converter'}: "
                                    f"pip install 'edge-landmarks[{spec.extra}]'") from None

    def fp32(self, fmt: str):
        """The format's FP32 conversion of the model (its module's ``convert``), made on first use."""
        if fmt not in self._fp32:
            self._fp32[fmt] = self.exporter(fmt).convert(self.model)
        return self._fp32[fmt]

    def calibration(self, size: int) -> np.ndarray:
        """Up to ``size`` calibration crops (:func:`calibration_crops`), made once per size; every file calibrated
        on fewer than :data:`MIN_CALIBRATION` faces says so (a warning per file, not per job)."""
        if size not in self._calib:
            self._calib[size] = calibration_crops(self.config, self.data, self.calib_split, size)
        crops = self._calib[size]
        if len(crops) < MIN_CALIBRATION:
            warnings.warn(f"only {len(crops)} calibration faces (fewer than {MIN_CALIBRATION}); INT8 ranges may be "
                          "poor", stacklevel=2)
        return crops

    def qat(self, settings: dict, calib_size: int):
        """``(fake-quantised model, plain fine-tuned model, history)`` of a QAT fine-tune, once per settings."""
        from ..data import load_dataset
        from .qat import finetune

        key = (calib_size, tuple(sorted(settings.items())))
        if key not in self._qat:
            samples = load_dataset(self.data, split=self.calib_split)
            self._qat[key] = finetune(self.model, samples, self.calibration(calib_size), self.train_config,
                                      epochs=int(settings.get("epochs", 5)), lr=float(settings.get("lr", 1e-4)),
                                      progress=self.progress)
        return self._qat[key]

    def held_out(self):
        """The faces of the check (:func:`held_out_faces`), at most ``check_faces`` of them."""
        if self._held_out is None:
            from ..data import load_dataset

            faces = held_out_faces(load_dataset(self.data), self.val_split, self.config.scheme)
            self._held_out = faces[:self.check_faces] if self.check_faces else faces
        return self._held_out

    def metadata(self, fmt: str, precision: str) -> dict:
        """What every artefact carries (in the file where its format allows it, and in its sidecar)."""
        cfg = self.config
        return {
            "format": fmt, "precision": precision, "model_config": cfg.to_dict(), "model": cfg.name,
            "scheme": cfg.scheme, "input_size": cfg.input_size, "channels": cfg.in_chans, "mean": list(cfg.mean),
            "std": list(cfg.std), "output_scale": cfg.output_scale, "crop_margin": cfg.crop_margin,
            "source_checkpoint": str(self.checkpoint), "source_sha256": self.source_sha256,
            "training_data": self.train_config.get("data"),
            "output": "x0, y0, x1, y1, ... divided by output_scale = [0, 1] of the crop",
        }

    def write(self, fmt: str, precision: str = "fp32", calib_size: int = 300, float_ends: bool = False,
              qat: dict | None = None, force: bool = False) -> dict:
        """Write one artefact and its sidecar; returns its manifest entry (path, check, validation, timings).

        INT8 options: ``float_ends`` keeps the first weighted layer and the last two in float; ``qat`` (a dict with
        ``epochs`` and ``lr``) fine-tunes with NNCF fake quantisation before export (see :mod:`.qat`).
        """
        from ..runtime.backends import is_unfinished

        module = self.exporter(fmt)
        if precision not in ("fp32", "int8"):
            raise EdgeLandmarksError(f"precision must be fp32 or int8, not {precision!r}")
        if precision == "int8" and not FORMATS[fmt].int8:
            raise EdgeLandmarksError(f"{fmt} files cannot be made in INT8 here (see edge_landmarks/formats.py)")
        out = self.out
        _read_manifest(out / "manifest.json")  # a manifest we cannot update stops here, not after the work
        made_out = not out.exists()
        out.mkdir(parents=True, exist_ok=True)
        path = out / artefact_name(self.config, precision, fmt)
        redo = is_unfinished(path)  # an export of ours that never finished (killed): made again, no --force needed
        refuse_overwrite(path, force or redo)
        if path.exists() and not _made_by_us(path):
            raise EdgeLandmarksError(f"{path} exists and is not an artefact edge-lmk made (no sidecar of ours beside "
                                     "it): --force replaces only edge-lmk's own; choose another --out")
        metadata = self.metadata(fmt, precision)
        # The new file is written and validated in a temporary folder beside it (ours: files.temporary), and moved
        # into place only once validated; until then a file already there stays as it was. A failure or a kill
        # leaves the folder, which this call (or the next write of the file) removes.
        staging = Path(temporary(path, folder=True))
        new = staging / path.name
        try:
            entry = self._write_and_validate(module, new, metadata, calib_size, float_ends, qat)
            _replace(new, path, metadata)
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if made_out:  # the folder this call made, for a file it did not write
                try:
                    out.rmdir()
                except OSError:  # not empty (another writer's), or read-only: kept
                    pass
            if isinstance(exc, OSError) and exc.errno and (exc.filename is None or str(exc.filename).startswith(
                    str(staging))):  # a converter's own write (torch.onnx, onnx.save) or ours: name the user's file
                raise OSError(exc.errno, exc.strerror, str(path)) from None
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        entry["path"] = str(path)
        _update_manifest(out / "manifest.json", entry)
        return entry

    def _write_and_validate(self, module, path: Path, metadata: dict, calib_size: int, float_ends: bool,
                            qat: dict | None) -> dict:
        from ..runtime.backends import describe_io, sidecar_path, validation_problem
        from .contract import contract

        fmt, precision, model = metadata["format"], metadata["precision"], self.model
        t0 = time.time()
        if precision == "int8" and qat:
            calib = self.calibration(calib_size)
            qmodel, plain, history = self.qat(qat, calib_size)
            settings = {**module.export_qat(qmodel, plain, path, calib, metadata),
                        "qat": {**qat, "history": history}, "calibration_faces": int(len(calib))}
        elif precision == "int8":
            calib = self.calibration(calib_size)
            share = head_share(model)
            float_head = share <= MAX_FLOAT_HEAD_SHARE
            settings = module.export_int8(model, path, calib, metadata, float_ends=float_ends, float_head=float_head,
                                          fp32=self.fp32(fmt))
            settings["head"] = "float" if float_head else "int8"
            if not float_head:
                warnings.warn(f"{path.name}: the head holds {100 * share:.0f} % of the weights, so it is quantised "
                              "too (in float the file would not shrink); its int8 output covers only the range of "
                              "points seen in calibration, so points far past the crop's edges clip", stacklevel=3)
        else:
            settings = module.export_fp32(model, path, None, metadata, fp32=self.fp32(fmt))
        seconds = time.time() - t0
        metadata["quantizer"] = settings
        metadata["contract"] = contract(self.config, describe_io(path))
        atomic_write_json(sidecar_path(path), {**metadata, "validation": None})  # validation reads it
        metadata["validation"] = validate(model, path, self.config, self.held_out(), self.threads)
        problem = validation_problem(metadata["validation"])
        if problem:  # NaN weights give NaN points in both: no check at all
            raise EdgeLandmarksError(f"{metadata['source_checkpoint']}: the exported file's check gave {problem}: "
                                     "are the checkpoint's weights finite? Nothing was written")
        atomic_write_json(sidecar_path(path), metadata)  # last: the file now counts
        return {"path": str(path), "format": fmt, "precision": precision, "bytes": file_bytes(path),
                "convert_seconds": round(seconds, 1), "settings": settings, "validation": metadata["validation"]}

    def within_budget(self, fmt: str, max_nme_increase: float = 0.02, qat: dict | None = None,
                      calib_size: int = 300, force: bool = False, on_attempt=None) -> dict:
        """INT8 for one format, trying :data:`REMEDIES` in order until the relative NME increase on held-out faces
        is at most ``max_nme_increase`` (0.02 = 2 %). Returns the manifest entry of the file kept, with a ``budget``
        record of every attempt; raises :class:`BudgetError` with the numbers when no remedy is enough (the last
        attempt's file stays, marked ``within_budget: false`` in its sidecar and the manifest)."""
        from ..data import load_dataset
        from ..data.holdout import training_split
        from ..runtime.backends import sidecar_path

        check_budget(max_nme_increase)
        available = len(training_split(load_dataset(self.data), self.calib_split)[0])
        more = min(available, MAX_CALIBRATION)
        steps = [(REMEDIES[0], {"calib_size": calib_size})]
        if more > calib_size:
            steps.append((REMEDIES[1], {"calib_size": more}))
        steps.append((REMEDIES[2], {"calib_size": max(more, calib_size), "float_ends": True}))
        steps.append((REMEDIES[3], {"calib_size": max(more, calib_size), "qat": qat or {"epochs": 5, "lr": 1e-4}}))
        attempts: list[dict] = []
        entry: dict = {}
        for i, (remedy, options) in enumerate(steps):
            entry = self.write(fmt, "int8", force=force or i > 0, **options)
            v = entry["validation"]
            attempts.append({"remedy": remedy, "calibration_faces": options["calib_size"], "nme": v["nme"],
                             "nme_fp32": v["nme_fp32"], "delta_nme_rel": v["delta_nme_rel"],
                             "mean_px_error_vs_fp32": v["mean_px_error_vs_fp32"]})
            if on_attempt:
                on_attempt(fmt, attempts[-1])
            if v["delta_nme_rel"] <= max_nme_increase:
                break
        ok = attempts[-1]["delta_nme_rel"] <= max_nme_increase
        budget = {"max_nme_increase": max_nme_increase, "within_budget": ok, "remedy": attempts[-1]["remedy"] if ok
                  else None, "attempts": attempts}
        side = sidecar_path(entry["path"])
        atomic_write_json(side, {**json.loads(side.read_text()), "budget": budget})
        entry["budget"] = budget
        _update_manifest(Path(entry["path"]).parent / "manifest.json", entry)
        if not ok:
            tried = "; ".join(f"{a['remedy']}: {100 * a['delta_nme_rel']:+.2f}%" for a in attempts)
            raise BudgetError(f"{fmt}: no remedy kept the INT8 NME increase within {100 * max_nme_increase:.2f}% "
                              f"({tried}); the last file is kept at {entry['path']}, marked within_budget: false",
                              attempts)
        return entry


def _read_manifest(path: Path) -> dict:
    """The export folder's manifest, checked (bounded JSON, ``{"artefacts": [{"path": ...}, ...]}``), or a new one
    where there is none: one error naming the file otherwise."""
    if not path.exists():
        return {"artefacts": []}
    manifest = read_json(path)
    if not (isinstance(manifest, dict) and isinstance(manifest.get("artefacts"), list)
            and all(isinstance(a, dict) and isinstance(a.get("path"), str) for a in manifest["artefacts"])):
        raise EdgeLandmarksError(f"{path}: not an edge-lmk manifest ({{\"artefacts\": [{{\"path\": ...}}]}}); move it "
                                 "away or choose another --out")
    return manifest


def _update_manifest(path: Path, entry: dict) -> None:
    manifest = _read_manifest(path)
    manifest["artefacts"] = [a for a in manifest["artefacts"] if a["path"] != entry["path"]] + [entry]
    atomic_write_json(path, manifest)
