"""Everything that runs a model, free of torch and of the trainer: the backends (one loader per format, set up as
:mod:`edge_landmarks.formats` says), the predictor (crop, run, map back), the face detector, the tracker and the
camera demo. Only ``numpy``, OpenCV and the runtime of the file at hand are imported, each when first needed.
"""

from .backends import load_backend, read_metadata

__all__ = ["load_backend", "read_metadata", "LandmarkPredictor"]


def __getattr__(name: str):
    if name == "LandmarkPredictor":  # lazy: OpenCV only when a predictor is made
        from .predictor import LandmarkPredictor

        return LandmarkPredictor
    raise AttributeError(f"module 'edge_landmarks.runtime' has no attribute {name!r}")
