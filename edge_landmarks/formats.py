"""The table of model formats, one row each, read by the exporter, the runtime, the benchmark and the CLI alike.

Adding a format is one row here plus one module and one class: its exporter under :mod:`edge_landmarks.export`
(``export_fp32`` and ``export_int8``, see :mod:`edge_landmarks.export.onnx`) and its backend, a subclass of
:class:`edge_landmarks.runtime.backends.Backend` named in the row (the artefacts' backends live in that module).
This module imports nothing heavy, so the torch-free runtime reads it too.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ModelFormat", "FORMATS", "format_for_path", "export_formats", "known_suffixes", "file_bytes",
           "backend_class"]


@dataclass(frozen=True)
class ModelFormat:
    name: str
    suffixes: tuple[str, ...]
    """The file's suffix first, then the companions written beside it (OpenVINO's .bin)."""
    int8: bool
    """Whether ``edge-lmk quantize --int8`` can make it."""
    extra: str
    """The pip extra that brings what makes the file (``pip install 'edge-landmarks[EXTRA]'``)."""
    runtime: str
    """The package that runs the file (in the core install where possible)."""
    backend: str
    """``module:Class``, the :class:`~edge_landmarks.runtime.backends.Backend` that runs the file."""
    settings: str
    """How the loader sets the runtime up, N being the thread count (recorded with every benchmark)."""
    exporter: str | None
    """The module under ``edge_landmarks.export`` that writes the file; None for checkpoints, which training writes."""

    @property
    def suffix(self) -> str:
        return self.suffixes[0]


_ROWS = (
    ModelFormat("pytorch", (".pt",), False, "train", "torch", "edge_landmarks.training.evaluate:TorchBackend",
                "torch.set_num_threads(N), eager, no_grad", None),
    ModelFormat("onnx", (".onnx",), True, "convert", "onnxruntime", "edge_landmarks.runtime.backends:OnnxBackend",
                "onnxruntime CPUExecutionProvider, intra_op_num_threads=N, inter_op_num_threads=1", "onnx"),
    ModelFormat("openvino", (".xml", ".bin"), True, "convert", "openvino",
                "edge_landmarks.runtime.backends:OpenVinoBackend",
                "CPU plugin, INFERENCE_NUM_THREADS=N, INFERENCE_PRECISION_HINT=f32 (no silent bf16)", "openvino_ir"),
    ModelFormat("tflite", (".tflite",), True, "convert", "ai-edge-litert",
                "edge_landmarks.runtime.backends:LiteRTBackend",
                "ai-edge-litert Interpreter(num_threads=N), its default delegates", "tflite"),
)

FORMATS: dict[str, ModelFormat] = {f.name: f for f in _ROWS}
"""Every format by name, PyTorch first; the order is the order of the benchmark's rows."""


def export_formats() -> list[str]:
    """The formats ``edge-lmk export`` writes."""
    return [f.name for f in _ROWS if f.exporter]


def format_for_path(path) -> ModelFormat | None:
    suffix = Path(str(path)).suffix.lower()
    return next((f for f in _ROWS if f.suffix == suffix), None)


def known_suffixes() -> str:
    """For error messages: ``.pt, .onnx, .xml, .tflite``."""
    return ", ".join(f.suffix for f in _ROWS)


def file_bytes(path: str | Path) -> int:
    """The size of a model file with its companions (an OpenVINO .xml with its .bin)."""
    p = Path(path)
    spec = format_for_path(p)
    extra = [p.with_suffix(s) for s in (spec.suffixes[1:] if spec else ())]
    return p.stat().st_size + sum(e.stat().st_size for e in extra if e.is_file())


def backend_class(spec: ModelFormat):
    """The row's :class:`~edge_landmarks.runtime.backends.Backend` class, imported when first needed (each runtime is
    a heavy import)."""
    module, name = spec.backend.split(":")
    return getattr(importlib.import_module(module), name)
