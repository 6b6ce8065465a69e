"""The project's own errors: every one names what was wrong and, where it applies, the file and the line."""

from __future__ import annotations

from pathlib import Path

__all__ = ["EdgeLandmarksError", "DataFormatError", "MissingExtraError", "require"]


class EdgeLandmarksError(Exception):
    """Base class of every error this package raises on purpose."""


class DataFormatError(EdgeLandmarksError, ValueError):
    """Bad input data: the message names the file and, where known, the 1-based line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class MissingExtraError(EdgeLandmarksError, ImportError):
    """A heavy optional backend is not installed; the message names the pip extra that brings it."""


def require(module: str, extra: str, package: str | None = None):
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        pkg = package or module.split(".")[0]
        raise MissingExtraError(
            f"{pkg} is needed for this step but is not installed: pip install 'edge-landmarks[{extra}]'"
        ) from exc
