"""Quantisation-aware fine-tuning with NNCF on the torch model.

``nncf.quantize`` inserts fake-quantise ops (min-max ranges, as for PTQ); the model is then fine-tuned for a few
epochs at a small learning rate with its training loss and augmentation, BatchNorm frozen (MobileNetV2 collapses
when BatchNorm statistics move under fake quantisation). Each format then takes the result its own way:
OpenVINO converts the fake-quantised model directly (true INT8 IR), ONNX gets it as QuantizeLinear /
DequantizeLinear pairs (``nncf.strip`` to native torch ops, then ``torch.onnx.export``), and TFLite re-quantises
the fine-tuned weights with ai-edge-quantizer (litert-torch cannot convert fake-quantise ops).
NNCF compiles a small C++ extension on first use (about a minute, once per machine).
"""

from __future__ import annotations

import copy
import os
import time

import numpy as np

from ..errors import EdgeLandmarksError, require

__all__ = ["finetune", "quantize_torch", "freeze_batchnorm"]


def quantize_torch(model, calib: np.ndarray):
    """The torch model with NNCF fake-quantise ops, ranges from ``calib`` (min-max, per-channel weights)."""
    torch = require("torch", "train")
    os.environ.setdefault("NNCF_EXTENSION_LOAD_TIMEOUT", "0")
    nncf = require("nncf", "convert")
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    dataset = nncf.Dataset([torch.from_numpy(calib[i:i + 1].astype(np.float32)) for i in range(len(calib))])
    advanced = AdvancedQuantizationParameters(activations_range_estimator_params=RangeEstimatorParametersSet.MINMAX)
    quantized = nncf.quantize(copy.deepcopy(model).eval(), dataset, subset_size=len(calib),
                              advanced_parameters=advanced)
    quantized.config = model.config
    return quantized


def freeze_batchnorm(model) -> None:
    import torch

    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
            for p in m.parameters():
                p.requires_grad_(False)


def finetune(model, samples, calib: np.ndarray, train_config: dict, epochs: int = 5, lr: float = 1e-4,
             val_samples=None, progress: bool = False, seed: int = 0):
    """QAT: returns ``(fake-quantised model, plain model with the fine-tuned weights, history)``.

    The fine-tune is the trainer's own epoch (:func:`train_one_epoch`) with the run's recipe (loss, Wing settings,
    augmentation, batch) and AdamW at ``lr``, on the CPU, BatchNorm frozen.
    """
    from dataclasses import fields

    torch = require("torch", "train")
    from ..data.dataset import LandmarkCrops
    from ..training import TrainConfig, build_optimizer, evaluate, torch_predictor, train_one_epoch
    from ..training.loader import EpochBatches, epoch_batches, make_loader

    if not len(samples):
        raise EdgeLandmarksError("QAT needs training faces; none found")
    cfg = model.config
    known = {f.name for f in fields(TrainConfig)}
    recipe = TrainConfig(**{**{k: v for k, v in train_config.items() if k in known},
                            "name": train_config.get("name", "qat"), "model": cfg.name, "optimizer": "adamw",
                            "lr": lr, "weight_decay": 0.0, "epochs": epochs, "seed": seed})
    torch.manual_seed(seed)
    qmodel = quantize_torch(model, calib)
    ds = LandmarkCrops(samples, cfg, augment=recipe.augmentation(), seed=seed)
    opt = build_optimizer(recipe, (p for p in qmodel.parameters() if p.requires_grad))
    cpu = torch.device("cpu")
    sampler = EpochBatches()
    loader = make_loader(ds, sampler, 0, cpu)
    history = []
    for epoch in range(epochs):
        t0 = time.time()
        qmodel.train()
        freeze_batchnorm(qmodel)
        sampler.set(10_000 + epoch, epoch_batches(len(ds), recipe.batch_size, seed, 10_000 + epoch))
        res = train_one_epoch(qmodel, loader, opt, recipe, cfg, cpu)
        qmodel.eval()
        row = {"epoch": epoch + 1, "train_loss": round(res["loss_sum"] / max(res["count"], 1), 6),
               "seconds": round(time.time() - t0, 1)}
        if val_samples is not None and len(val_samples):
            row["val_nme_fake_quant"] = round(evaluate(torch_predictor(qmodel), val_samples, cfg)[0]["nme"], 6)
        history.append(row)
        if progress:
            print(f"QAT epoch {epoch + 1}/{epochs}: " + ", ".join(f"{k} {v}" for k, v in row.items() if k != "epoch"),
                  flush=True)
    plain = copy.deepcopy(model)
    own = plain.state_dict()
    plain.load_state_dict({k: v for k, v in qmodel.state_dict().items() if k in own}, strict=False)
    plain.eval()
    return qmodel, plain, history


def strip_native(qmodel):
    """Fake-quantise ops as native torch ops (exported by torch.onnx as QuantizeLinear/DequantizeLinear)."""
    import torch

    nncf = require("nncf", "convert")
    cfg = qmodel.config
    example = torch.rand(1, cfg.in_chans, cfg.input_size, cfg.input_size)
    stripped = nncf.strip(qmodel, do_copy=True, strip_format=nncf.StripFormat.NATIVE, example_input=example)
    stripped.config = cfg
    return stripped.eval()
