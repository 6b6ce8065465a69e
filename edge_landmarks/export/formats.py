"""The table of export formats, read by the exporter, the runtime and the benchmark alike."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ExportFormat", "FORMATS", "format_for_path", "format_names"]


@dataclass(frozen=True)
class ExportFormat:
    name: str
    suffix: str
    int8: bool
    extra: str
    """The pip extra that brings the converter."""
    runtime: str
    """The package that runs the file (in the core install where possible)."""
    module: str
    """The module under edge_landmarks.export with ``export_fp32`` and ``export_int8``."""


FORMATS: dict[str, ExportFormat] = {
    "onnx": ExportFormat("onnx", ".onnx", True, "convert", "onnxruntime", "onnx"),
    "openvino": ExportFormat("openvino", ".xml", True, "convert", "openvino", "openvino_ir"),
    "tflite": ExportFormat("tflite", ".tflite", True, "convert", "ai-edge-litert", "tflite"),
}


def format_names() -> list[str]:
    return list(FORMATS)


def format_for_path(path) -> ExportFormat | None:
    suffix = str(path).lower().rsplit(".", 1)[-1]
    return next((f for f in FORMATS.values() if f.suffix == f".{suffix}"), None)
