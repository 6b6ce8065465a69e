"""``edge-lmk eval``: NME / FR / AUC per split for a checkpoint, a CED plot and overlays of the worst faces.

Three box protocols: ``points`` (the bounding box of the true landmarks, the field's usual protocol), ``detector``
(the shipped face detector's box on the whole image, mapped as :meth:`LandmarkPredictor.faces` maps it: what the model
gets in real use on a photo) and ``video`` (the box of the live video's search, BlazeFace's ``far`` pass without the
photo's tile pyramid: what the demo's tracker starts a track from). Under ``detector`` and ``video`` a face the
detector misses (no detection overlapping the true face box by IoU 0.3 or more) is counted in ``detection_rate`` and
left out of the NME.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import load_dataset
from .files import atomic_write, atomic_write_json, write_image
from .schemes import get_scheme

__all__ = ["load_predictor_for_eval", "run_eval", "save_ced_plot", "save_yaw_plot", "detector_boxes", "BOX_PROTOCOLS",
           "region_nmes", "head_poses", "by_yaw", "large_pose", "LARGE_POSE", "YAW_BINS"]

BOX_PROTOCOLS = ("points", "detector", "video")


def load_predictor_for_eval(path: str | Path, threads: int = 2, flip: bool = False, opened: tuple | None = None):
    """(predict_batch, model config) for a checkpoint (.pt) or an exported artefact (.onnx, .xml, .tflite);
    ``flip``: each crop's points averaged with its mirror image's (:func:`~edge_landmarks.runtime.predictor.
    flip_averaged`); ``opened``: the file's ``load_backend`` result when the caller has it."""
    from .runtime import load_backend

    run, cfg, _ = opened or load_backend(path, threads)
    if flip:
        from .runtime.predictor import flip_averaged

        run = flip_averaged(run, cfg.scheme, cfg.output_scale)
    return run, cfg


def save_ced_plot(curves: dict[str, np.ndarray], path: Path, threshold: float = 0.1,
                  norm: str = "interocular") -> Path | None:
    """The CED plot, or None where matplotlib is not installed (the core install)."""
    from .metrics import NORM_LABELS, ced, mean_finite
    from .report import pyplot

    plt = pyplot()
    if plt is None:
        return None

    fig, ax = plt.subplots(figsize=(5, 4), dpi=120)
    for name, nmes in curves.items():
        x, y = ced(nmes, threshold)
        ax.plot(x, y, label=f"{name} (NME {mean_finite(nmes):.4f})")
    ax.set_xlabel(f"NME ({NORM_LABELS[norm]})")
    ax.set_ylabel("fraction of faces")
    ax.set_xlim(0, threshold)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("Cumulative error distribution")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"), suffix=".png")
    plt.close(fig)
    return path


LARGE_POSE = "large pose"
"""The subset of a split whose heads turn |yaw| >= 30 or tilt |roll| >= 20 degrees (by the ground truth's pose fit)."""
YAW_BINS = (-90, -45, -30, -15, 15, 30, 45, 90)


def region_nmes(pred, gt, scheme: str) -> dict[str, float]:
    """NME per facial region (jaw, brows, nose, eyes, mouth; the scheme's own normalisation), {} for a scheme
    without regions."""
    from .metrics import mean_finite
    from .metrics import nme as nme_fn

    s = get_scheme(scheme)
    return {r: mean_finite(nme_fn(pred, gt, scheme, mask=np.isin(np.arange(s.num_points), idx)))
            for r, idx in s.regions.items()}


def head_poses(gt, scheme: str) -> np.ndarray | None:
    """(N, 3) yaw, pitch, roll in degrees of each face by :func:`~edge_landmarks.data.profile.head_pose` on its
    true points (in ibug68, or converted to it); None for schemes that do not convert (Kaggle's 15, Menpo's 39)."""
    from .data.profile import head_pose
    from .schemes import convert, convertible

    if scheme != "ibug68" and not convertible(scheme, "ibug68"):
        return None
    pts = gt if scheme == "ibug68" else np.stack([convert(g, scheme, "ibug68") for g in gt])
    return np.array([head_pose(p) if np.isfinite(p).all() else (np.nan,) * 3 for p in pts]).reshape(-1, 3)


def large_pose(poses: np.ndarray) -> np.ndarray:
    return (np.abs(poses[:, 0]) >= 30) | (np.abs(poses[:, 2]) >= 20)


def by_yaw(nmes, yaws) -> list[dict]:
    """Faces and mean NME per yaw bin (:data:`YAW_BINS`, degrees)."""
    from .metrics import mean_finite

    rows = []
    for lo, hi in zip(YAW_BINS[:-1], YAW_BINS[1:], strict=True):
        inside = (yaws >= lo) & (yaws < hi) if hi < 90 else (yaws >= lo) & (yaws <= hi)
        rows.append({"yaw": f"{lo}..{hi}", "faces": int(inside.sum()),
                     "nme": mean_finite(np.asarray(nmes)[inside]) if inside.any() else None})
    return rows


def save_yaw_plot(by_split: dict[str, tuple[np.ndarray, np.ndarray]], path: Path,
                  norm: str = "interocular") -> Path | None:
    """NME of each face against its head's yaw (large-pose faces marked), or None without matplotlib."""
    from .metrics import NORM_LABELS
    from .report import pyplot

    plt = pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 4), dpi=120)
    for name, (poses, nmes) in by_split.items():
        large = large_pose(poses)
        dots = ax.scatter(poses[~large, 0], nmes[~large], s=14, label=name)
        if large.any():
            ax.scatter(poses[large, 0], nmes[large], s=30, marker="x", color=dots.get_facecolor()[0],
                       label=f"{name}: |yaw| >= 30 or |roll| >= 20")
    ax.axvspan(-90, -30, color="grey", alpha=0.08)
    ax.axvspan(30, 90, color="grey", alpha=0.08)
    ax.set_xlim(-75, 75)
    ax.set_xlabel("head yaw (degrees, from the true points' pose fit)")
    ax.set_ylabel(f"NME ({NORM_LABELS[norm]})")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=7)
    ax.set_title("Error against head pose")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"), suffix=".png")
    plt.close(fig)
    return path


def _save_worst(samples, pred, gt, nmes, scheme, out: Path, k: int = 8) -> list[str]:
    import cv2

    from .data.dataset import make_crop
    from .data.show import draw_points
    from .data.transforms import apply

    written = []
    for rank, i in enumerate(np.argsort(-np.nan_to_num(nmes, nan=-1))[:k]):
        s = samples[i]
        img = s.load_image()
        crop = make_crop(s, img, 256, 0.3, s.scheme)
        m = crop["matrix"]
        tile = draw_points(crop["image"], apply(m, gt[i]), None, radius=2)
        tile = draw_points(tile, apply(m, pred[i]), scheme, radius=2)
        cv2.putText(tile, f"NME {nmes[i]:.3f}", (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
        cv2.putText(tile, "green: truth, colours: prediction", (4, 250), cv2.FONT_HERSHEY_SIMPLEX, 0.38,
                    (255, 255, 255), 1)
        path = out / f"worst_{rank + 1:02d}.png"
        write_image(path, tile)
        written.append(str(path))
    return written


def detector_boxes(samples, detector: str = "blazeface", min_iou: float = 0.3, far: bool = False) -> tuple[list, int]:
    """The samples with the detector's mapped box as their box (those it finds), and how many it missed. ``far``:
    the live video's search (no tile pyramid) instead of the photo detector."""
    from dataclasses import replace

    from .data.transforms import face_box
    from .runtime.detect import box_iou, create_detector, landmark_box

    det = create_detector(detector)
    found, missed = [], 0
    for s in samples:
        truth = face_box(s.landmarks, None, s.mask)
        boxes = [landmark_box(d) for d in det(s.load_image(), color="bgr", far=far)]
        best = max(boxes, key=lambda b: box_iou(b, truth), default=None)
        if best is None or box_iou(best, truth) < min_iou:
            missed += 1
            continue
        found.append(replace(s, box=tuple(float(v) for v in best)))
    return found, missed


def _default_out(model: Path) -> Path:
    """``eval-<stem>`` beside the model; in the working folder for the models shipped inside the package (never
    write into an installed package)."""
    from .runtime.predictor import DEFAULT_MODEL_DIR

    shipped = model.resolve().parent == DEFAULT_MODEL_DIR.resolve()
    return (Path.cwd() if shipped else model.parent) / f"eval-{model.stem}"


EVAL_FILES = ("eval.json", "ced.png", "nme_vs_yaw.png", "submission.csv")
"""What eval writes into its folder (and worst_*.png)."""


def _check_out(out: Path) -> None:
    """eval replaces its own files (a folder whose eval.json it wrote) and never a user's file of the same name."""
    from .errors import EdgeLandmarksError

    if not out.is_dir():
        return
    ours = False
    if (out / "eval.json").is_file():
        try:
            import json

            saved = json.loads((out / "eval.json").read_text())
            ours = isinstance(saved, dict) and "model" in saved and ("splits" in saved or "submission" in saved)
        except (OSError, ValueError):
            ours = False
    if not ours:
        taken = [p for p in (*(out / n for n in EVAL_FILES), *sorted(out.glob("worst_*.png"))) if p.exists()]
        if taken:
            raise EdgeLandmarksError(f"{taken[0]} exists and is not from edge-lmk eval: choose another --out "
                                     "(eval replaces only its own results)")


def _checkpoint_record(model_path: str | Path) -> dict:
    """A checkpoint's recipe and the faces its run held out for validation ({} for an exported file)."""
    if Path(model_path).suffix.lower() != ".pt":
        return {}
    from .training.checkpoint import read_checkpoint

    ckpt = read_checkpoint(model_path)
    return {"train_config": ckpt.get("train_config") or {}, "validation": ckpt.get("validation") or {}}


def _scored_splits(dataset, split: str | None, protocol, record: dict) -> list[tuple[str, list]]:
    """(name, faces) to score, the protocol's way: 300-W's subsets and private test, WFLW's test and its attribute
    subsets, and where the data has no split to score on, the faces the checkpoint's run held out."""
    from .protocols import HELD_OUT_NAME, attribute_subsets

    names = dataset.held_out_splits(split, "score")
    if split is None and protocol.name == "300w" and "test300w" in dataset.splits():
        names = [n for n in names if n in dataset.splits()] + ["test300w"]
    held = set(record.get("validation", {}).get("faces") or ())
    if split is None and names in (["all"], ["train"]) and held:
        faces = [s for s in dataset if s.source in held]
        if faces:
            return [(HELD_OUT_NAME, faces)]
    out = [(name, list(dataset.split(name))) for name in names]
    if protocol.name == "wflw":
        out += [(f"{name}/{attr}", faces) for name, samples in list(out)
                for attr, faces in attribute_subsets(samples).items() if faces]
    return out


def run_eval(model_path: str, data: str | None = None, split: str | None = None, out: str | Path | None = None,
             worst: int = 8, boxes: str = "points", seed_recipe: str | None = None, clips: int = 0,
             progress=None, flip: bool = False) -> dict:
    """Evaluate ``model_path`` on ``data`` (default: what it was trained on, else demo68) in its seed's protocol
    (:mod:`edge_landmarks.protocols`); writes eval.json, ced.png and worst_*.png into ``out`` (and submission.csv
    for Kaggle's unlabelled test.csv).
    ``seed_recipe`` (``"auto"``: the checkpoint's own recipe) adds that recipe's published numbers. ``clips``: also
    jitter and lag (:mod:`edge_landmarks.stability`) on the clips of that many faces of the main split, the model
    alone, through the live demo's tracker and with its smoothing (``progress(i, n)`` after each face). ``flip``:
    each face's points averaged with those of its mirror image (twice the model calls)."""
    from .errors import EdgeLandmarksError

    if boxes not in BOX_PROTOCOLS:
        raise EdgeLandmarksError(f"boxes must be one of {', '.join(BOX_PROTOCOLS)}, not {boxes!r}")
    from .metrics import nme as nme_fn
    from .protocols import kaggle_submission, protocol_for
    from .runtime import load_backend
    from .training import predict_crops
    from .training.checkpoint import data_for

    opened = load_backend(model_path, 2)  # one load: the batches and the clips' predictor share it
    predict, cfg = load_predictor_for_eval(model_path, flip=flip, opened=opened)
    data = data_for(model_path, data)  # default: what the model was trained on
    dataset = load_dataset(data)
    record = _checkpoint_record(model_path)
    protocol = protocol_for(dataset, cfg.scheme)
    out = Path(out) if out else _default_out(Path(model_path))
    _check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"model": str(model_path), "data": str(data), "model_name": cfg.name, "input_size": cfg.input_size,
              "boxes": boxes, "flip": bool(flip), "protocol": protocol.name, "splits": {}}
    if seed_recipe:
        result["seed_reference"] = _seed_reference(seed_recipe, record)
    if protocol.name == "kaggle" and not any(s.mask.any() for s in dataset):  # test.csv: no labels to score
        faces = dataset.for_scheme(cfg.scheme)[0]
        pred, _ = predict_crops(predict, faces, cfg)
        result.update(faces=len(faces), submission=str(kaggle_submission(data, pred, faces, out)))
        atomic_write_json(out / "eval.json", result)
        return result
    curves, by_pose, large_splits = {}, {}, {}
    from .metrics import summarize

    scored = _scored_splits(dataset, split, protocol, record)
    clip_sources = {}
    for i, (name, faces) in enumerate(scored):
        samples, dropped = type(dataset)(faces).for_scheme(cfg.scheme)
        if not samples:
            raise EdgeLandmarksError(f"split {name}: no face in {cfg.scheme} or a scheme that converts to it "
                                     f"(it holds {', '.join(f'{n} {k}' for k, n in dropped.items()) or 'none'})")
        clip_sources[name] = samples
        missed = 0
        if boxes != "points":
            total = len(samples)
            samples, missed = detector_boxes(samples, far=boxes == "video")
            if not samples:
                raise EdgeLandmarksError(f"split {name}: the detector found none of the {total} faces")
        pred, gt = predict_crops(predict, samples, cfg)
        metrics = summarize(pred, gt, cfg.scheme)
        regions = region_nmes(pred, gt, cfg.scheme)
        if regions:
            metrics["regions"] = regions
        if dropped:
            metrics["other_schemes_left_out"] = dropped
        if boxes != "points":
            metrics.update(detection_rate=len(samples) / (len(samples) + missed), missed=missed)
        nmes = nme_fn(pred, gt, cfg.scheme)
        result["splits"][name] = metrics
        if "/" not in name:  # WFLW's attribute subsets are in the table, not on the CED plot
            curves[name] = nmes
            poses = head_poses(gt, cfg.scheme)
            if poses is not None:  # NME against the head's yaw and roll, and the large-pose faces on their own
                metrics["by_yaw"] = by_yaw(nmes, poses[:, 0])
                large = large_pose(poses)
                metrics["large_pose_faces"] = int(large.sum())
                by_pose[name] = (poses, nmes)
                if large.any():  # listed after the protocol's own splits
                    large_splits[f"{name}/{LARGE_POSE}"] = {**summarize(pred[large], gt[large], cfg.scheme),
                                                            "regions": region_nmes(pred[large], gt[large],
                                                                                   cfg.scheme)}
        if worst and i == len(scored) - 1 - sum("/" in n for n, _ in scored):
            result["worst"] = _save_worst(samples, pred, gt, nmes, cfg.scheme, out, worst)
    result["splits"].update(large_splits)
    main = "full" if "full" in result["splits"] else next(iter(result["splits"]))
    result["split"] = main
    result["nme"] = result["splits"][main]["nme"]
    if split is None and [n for n, _ in scored] in (["all"], ["train"]):
        result["note"] = ("this data has no test or validation split and the model recorded no held-out faces in it: "
                          "every face was scored, training faces included (pass --split)")
    if clips:
        result["stability"] = _stability(model_path, predict, cfg, clip_sources[main], main, clips, progress, flip,
                                         opened)
    if by_pose:
        yaw_plot = save_yaw_plot(by_pose, out / "nme_vs_yaw.png", norm=get_scheme(cfg.scheme).nme_norm)
        result["yaw_plot"] = str(yaw_plot) if yaw_plot else None
    plot = save_ced_plot(curves, out / "ced.png", norm=get_scheme(cfg.scheme).nme_norm)
    result["ced_plot"] = str(plot) if plot else None
    if plot is None:
        from .report import NO_PLOTS

        result["plot_note"] = NO_PLOTS
    atomic_write_json(out / "eval.json", result)
    return result


def _stability(model_path, predict, cfg, samples, split: str, count: int, progress, flip: bool = False,
               opened: tuple | None = None) -> dict:
    """Jitter and lag on clips of ``count`` faces of ``split`` in every mode of :mod:`edge_landmarks.stability`."""
    from .errors import EdgeLandmarksError
    from .runtime.predictor import LandmarkPredictor
    from .stability import stability

    found = stability(samples, count, predict_batch=predict, config=cfg,
                      predictor=(LandmarkPredictor.on_backend(model_path, opened, threads=2, flip=flip) if opened
                                 else LandmarkPredictor(model_path, threads=2, flip=flip)), progress=progress)
    if not found:
        raise EdgeLandmarksError(f"--clips: no face of split {split} can make a clip (every point labelled, not a "
                                 "whole-image face)")
    return {"split": split, **found}


def _seed_reference(recipe: str, record: dict) -> dict:
    """The published numbers of ``recipe`` (``auto``: the checkpoint's own recipe)."""
    from .errors import EdgeLandmarksError
    from .training.config import load_recipe

    if recipe == "auto":
        recipe = record.get("train_config", {}).get("name", "")
        if not recipe:
            raise EdgeLandmarksError("--vs-seed: this model file names no recipe (only checkpoints do); pass the "
                                     "recipe, e.g. --vs-seed mobilenetv2_300w_56")
    try:
        ref = load_recipe(recipe).seed_reference
    except EdgeLandmarksError:
        ref = record.get("train_config", {}).get("seed_reference") or {}  # a recipe file that is not shipped
        if not ref:
            raise
    return {"recipe": recipe, **ref}
