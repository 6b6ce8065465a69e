"""Training throughput (images/s) of the real trainer's epoch, per model, device, AMP mode and worker count.

Runs :func:`edge_landmarks.training.train_one_epoch` (DataLoader, decode + crop + augmentation, forward, float32
loss, backward, optimiser step) on demo68's training faces, after warm-up batches, and prints a Markdown table with
the machine and thread count. Each row is timed in this one process, one after another.

    python benchmarks/train_throughput.py                        # CPU rows (this project's machines)
    python benchmarks/train_throughput.py --device cuda --amp off,bf16,fp16 --workers 0,4,8
    python benchmarks/train_throughput.py --json results/train_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from edge_landmarks.data import load_dataset
from edge_landmarks.data.dataset import LandmarkCrops
from edge_landmarks.data.transforms import Augment
from edge_landmarks.models import create_model
from edge_landmarks.training import build_optimizer, load_recipe, train_one_epoch
from edge_landmarks.training.device import resolve_amp, resolve_device
from edge_landmarks.training.loader import EpochBatches, epoch_batches, make_loader

SETUPS = [("mobilenetv2", 56, 16), ("mobilenetv2", 224, 32), ("resnet18", 224, 32)]


def measure(model_name: str, size: int, batch: int, device, amp: str, workers: int, samples, batches: int,
            warmup: int) -> dict:
    torch.manual_seed(0)
    cfg = load_recipe("demo", batch_size=batch, model=model_name, model_args={"input_size": size})
    model = create_model(model_name, input_size=size).to(device).train()
    ds = LandmarkCrops(samples, model.config, augment=Augment(**cfg.augment), seed=0)
    opt = build_optimizer(cfg, model.parameters())
    scaler = torch.amp.GradScaler(device.type) if amp == "fp16" else None
    sampler = EpochBatches()
    loader = make_loader(ds, sampler, workers, device)
    need = warmup + batches
    order = [b for e in range(need) for b in epoch_batches(len(ds), batch, 0, e)][:need]
    sampler.set(0, order[:warmup])
    train_one_epoch(model, loader, opt, cfg, model.config, device, amp, scaler)
    sampler.set(1, order[warmup:])
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    res = train_one_epoch(model, loader, opt, cfg, model.config, device, amp, scaler)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    return {"model": model_name, "input": size, "batch": batch, "device": str(device), "amp": amp,
            "workers": workers, "images": res["count"], "seconds": round(seconds, 3),
            "images_per_s": round(res["count"] / seconds, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="demo68")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--amp", default="off", help="comma-separated: off,bf16,fp16 (auto: the trainer's default)")
    ap.add_argument("--workers", default="0,2", help="comma-separated worker counts")
    ap.add_argument("--batches", type=int, default=20, help="timed batches per row")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--only", default="", help="comma-separated model@size filter, e.g. mobilenetv2@56")
    ap.add_argument("--json", default=None, help="also write the rows and the machine here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    samples = list(load_dataset(args.data, split="train"))
    rows = []
    for model_name, size, batch in SETUPS:
        if args.only and f"{model_name}@{size}" not in args.only.split(","):
            continue
        for amp in args.amp.split(","):
            for workers in (int(w) for w in args.workers.split(",")):
                row = measure(model_name, size, batch, device, resolve_amp(amp, device), workers, samples,
                              args.batches, args.warmup)
                rows.append(row)
                print(json.dumps(row), flush=True)
    machine = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
               "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
               "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None}
    print(f"\nmachine: {machine}\n")
    print("| model | input | batch | device | AMP | workers | images/s |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['input']} | {r['batch']} | {r['device']} | {r['amp']} | {r['workers']} | "
              f"{r['images_per_s']:.1f} |")
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
