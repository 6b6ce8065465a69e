"""The mean-shape baseline: every face gets the training set's mean shape, placed in its crop box. A model that does
not beat this on a split has learnt nothing there. Both box protocols of ``edge-lmk eval``.

    python benchmarks/mean_shape_baseline.py --data demo68 --splits test,test_wild
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from edge_landmarks.data import load_dataset
from edge_landmarks.data.dataset import LandmarkCrops
from edge_landmarks.data.transforms import to_normalized
from edge_landmarks.evaluation import detector_boxes
from edge_landmarks.metrics import summarize
from edge_landmarks.models import get_model_config
from edge_landmarks.training import predict_crops


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="demo68")
    ap.add_argument("--splits", default="test,test_wild")
    ap.add_argument("--model", default="mobilenetv2", help="whose crop settings (size, margin) to use")
    ap.add_argument("--size", type=int, default=56)
    args = ap.parse_args()
    cfg = get_model_config(args.model, input_size=args.size)
    data = load_dataset(args.data)
    train = LandmarkCrops(list(data.split("train")), cfg, augment=None)
    mean = np.mean([to_normalized(train.crop(i, augment=False)["points"], cfg.input_size)
                    for i in range(len(train))], axis=0)
    out = (mean * cfg.output_scale).reshape(1, -1).astype(np.float32)

    def predict(x):
        return np.repeat(out, len(x), axis=0)

    rows = {}
    for split in args.splits.split(","):
        samples = list(data.split(split))
        for boxes in ("points", "detector"):
            faces = samples if boxes == "points" else detector_boxes(samples)[0]
            pred, gt = predict_crops(predict, faces, cfg)
            m = summarize(pred, gt, cfg.scheme)
            rows[f"{split}/{boxes}"] = {"faces": len(faces), "nme": round(m["nme"], 4), "fr_08": round(m["fr_08"], 3)}
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
