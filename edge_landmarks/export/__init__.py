"""Conversion: one module per format, driven by the table in :mod:`edge_landmarks.export.formats`."""
