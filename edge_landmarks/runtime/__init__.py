"""Run any artefact: one ``predict_batch(x) -> (B, 2K)`` per file type, and its metadata."""

from .backends import load_backend, read_metadata

__all__ = ["load_backend", "read_metadata"]
