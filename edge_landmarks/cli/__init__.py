"""The ``edge-lmk`` command line: each command parses its options, then calls the Python API.

One module per step: :mod:`.data` (data demo / label / check / show / video), :mod:`.train` (models, train, eval),
:mod:`.convert` (export, quantize), :mod:`.bench` (bench, quickstart), :mod:`.run` (predict, demo); the group and
the option types they share are in :mod:`.common`, which imports none of them.
"""

from __future__ import annotations

from . import bench, convert, data, run, train  # noqa: F401  (each registers its commands on main)
from .common import main

__all__ = ["main"]
