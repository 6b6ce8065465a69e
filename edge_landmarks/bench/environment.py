"""The machine a benchmark ran on: CPU, its INT8-relevant instruction sets, load, OS and library versions."""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["environment", "runtime_name"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith(("flags", "Features"))),
                 [])
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16", "asimddp", "neon",
              "asimd")
    return [f for f in wanted if f in flags]


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def environment() -> dict:
    """CPU model, cores, instruction-set flags that matter for INT8, load, OS and library versions."""
    import platform

    packages = ["numpy", "onnxruntime", "openvino", "ai-edge-litert", "tflite-runtime", "torch", "dlib-bin",
                "opencv-python-headless", "edge-landmarks"]
    return {
        "cpu": _cpu_model(), "cores": os.cpu_count(), "cpu_flags": _cpu_flags(), "machine": platform.machine(),
        "os": platform.platform(), "python": platform.python_version(),
        "load_average": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "versions": {p: v for p in packages if (v := _version(p))},
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def runtime_name(fmt: str) -> str:
    """The package that runs a row's format, with its version: ``onnxruntime 1.23.2``."""
    from ..formats import FORMATS

    package = "dlib-bin" if fmt == "dlib" else (FORMATS[fmt].runtime if fmt in FORMATS else fmt)
    v = _version(package)
    return f"{package} {v}" if v else package
