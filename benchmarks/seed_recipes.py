"""Each seed's recipe for one epoch on its layout replica (tests/replicas.py), with the training speed.

    python benchmarks/seed_recipes.py --device cuda --amp bf16      # on a GPU (benchmarks/gpu_check.sh runs it)
    python benchmarks/seed_recipes.py --device cpu --amp off --max-batches 2

Builds the replicas from demo68 (``edge-lmk data demo`` first; EDGE_LMK_CACHE is honoured) into a temporary folder,
trains each recipe for one epoch and prints recipe, replica, training faces, epoch seconds and images/s (training
faces / the epoch's wall time from metrics.csv, validation included). The FFHQ Xception trains on demo68 itself:
the FFHQ replica needs the dlib teacher to label it, which a GPU machine may not have.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

RECIPES = [  # (recipe, replica, model args)
    ("xception_ffhq", "demo68", {}),
    ("resnet18_gray_300w", "300w", {}),
    ("resnet18_256_wflw", "wflw", {}),
    ("mobilenetv3_wflw", "wflw", {}),
    ("resnet18_300w_224", "300w", {}),
    ("mobilenetv2_300w_56", "300w", {}),
    ("mobilenetv2_menpo39_56", "menpo", {}),
    ("kaggle_cnn1", "kaggle", {}),
    ("kaggle_cnn2", "kaggle", {}),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--amp", default="bf16")
    ap.add_argument("--max-batches", type=int, default=None, help="Stop each epoch after this many batches.")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import replicas

    from edge_landmarks.data import load_dataset, resolve_dataset_path
    from edge_landmarks.data.holdout import training_and_validation
    from edge_landmarks.training import load_recipe, train

    demo68 = resolve_dataset_path("demo68")
    work = Path(tempfile.mkdtemp(prefix="seed_recipes_"))
    data = {"demo68": str(demo68), "300w": str(replicas.build_300w(demo68, work / "300W")),
            "wflw": str(replicas.build_wflw(demo68, work / "WFLW")),
            "kaggle": str(replicas.build_kaggle(demo68, work / "kaggle")),
            "menpo": str(replicas.build_menpo(demo68, work / "menpo"))}
    rows = []
    print(f"{'recipe':<24} {'replica':<8} {'faces':>5} {'epoch s':>8} {'images/s':>9}  val")
    for recipe, replica, model_args in RECIPES:
        cfg = load_recipe(recipe, epochs=1, device=args.device, amp=args.amp)
        cfg.model_args = {**cfg.model_args, **model_args}
        out = work / "runs" / recipe
        summary = train(cfg, data=data[replica], out=out, progress=False, max_batches=args.max_batches)
        with open(out / "metrics.csv") as f:
            seconds = float(next(csv.DictReader(f))["seconds"])
        from edge_landmarks.models import get_model_config

        scheme = get_model_config(cfg.model, **cfg.model_args).scheme
        faces = len(training_and_validation(load_dataset(data[replica]).for_scheme(scheme)[0], cfg.train_split,
                                            cfg.val_split, cfg.seed)[0])
        if args.max_batches:
            faces = min(faces, args.max_batches * cfg.batch_size)
        row = {"recipe": recipe, "replica": replica, "faces": faces, "epoch_seconds": seconds,
               "images_per_s": round(faces / seconds, 1), "val": round(summary["best_val_nme"], 4),
               "device": summary["device"], "amp": summary["amp"]}
        rows.append(row)
        print(f"{recipe:<24} {replica:<8} {faces:>5} {seconds:>8.2f} {row['images_per_s']:>9.1f}  {row['val']}",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
