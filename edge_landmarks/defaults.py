"""Defaults that several layers share (the bench's timing plan), in a module that imports nothing, so that the
CLI's ``--help`` shows them without loading the bench."""

RUNS = 200
"""Timed calls per bench row, after the warm-up."""
WARMUP = 20
"""Untimed calls first."""
CLIPS = 2
"""Faces whose jitter and lag clips every bench row measures (0: off)."""
