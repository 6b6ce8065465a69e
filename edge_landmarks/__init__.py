"""edge-landmarks: facial-landmark models from training to quantised files on the edge."""

__version__ = "0.1.0"

__all__ = ["LandmarkPredictor", "__version__"]


def __getattr__(name: str):
    # Lazy, so that ``import edge_landmarks`` stays light (no OpenCV, no runtimes, never torch).
    if name == "LandmarkPredictor":
        from .runtime.predictor import LandmarkPredictor

        return LandmarkPredictor
    raise AttributeError(f"module 'edge_landmarks' has no attribute {name!r}")
