"""edge-landmarks: facial-landmark models from training to quantised files on the edge."""

__version__ = "0.1.0"
