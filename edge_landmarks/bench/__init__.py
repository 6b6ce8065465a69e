"""``edge-lmk bench --target cpu``: accuracy and latency, one row per (model, format, precision, input size, threads).

What a row measures:
- accuracy: NME / FR / AUC on the held-out faces (the ``test`` split by default), through the same crop code as
  training and ``edge-lmk eval``; its NME change against the PyTorch FP32 row of the same checkpoint;
- latency: the bare backend (:func:`edge_landmarks.runtime.load_backend`, set up as the format table says:
  onnxruntime intra-op threads, OpenVINO ``INFERENCE_NUM_THREADS`` with the f32 precision hint, LiteRT
  ``num_threads``, torch threads) called on one
  pre-made crop, batch 1 (for exported files the runtime's own call on that crop, fed once, as the runtime's
  benchmark tool and the predictor call it), ``warmup`` calls then ``runs`` calls each timed with
  ``time.perf_counter``: median, p90,
  min, FPS, and the speed-up against the PyTorch FP32 row at the same thread count;
- memory: the peak resident set size of the process that ran the row (VmHWM), and the part of it that
  loading and running the model added (runtime library included).

Every row runs in a fresh subprocess. That is what makes the peak memory honest (native allocations of onnxruntime,
OpenVINO and LiteRT are invisible to tracemalloc, and a high-water mark never goes down inside one process), keeps
one runtime's thread pool from spinning while another is timed, and turns a runtime that crashes (a segfault in a
native library) into a row with its status instead of ending the benchmark. It costs about a second per row.

The dlib 68-point shape predictor is the peer row: the classic CPU landmark baseline, given the same face boxes the
crops are made from, timed per face (its own feature extraction from the grey image included; it is single-threaded).

The package: :mod:`.targets` (what to benchmark), :mod:`.suites` (YAML suites), :mod:`.runner` (the rows),
:mod:`.child` (the per-row subprocess), :mod:`.environment` (the machine), :mod:`.console` (logs and progress bars)
and :mod:`.results` (the results folder, tables and plots).
"""

from .console import output_to, terminal_console
from .environment import environment, runtime_name
from .runner import ROW_KEYS, RUNTIME_SETTINGS, run_bench
from .suites import find_suite, load_suite, suite_targets
from .targets import FORMAT_ORDER, Target, collect_targets, prepare_artefacts

__all__ = ["ROW_KEYS", "RUNTIME_SETTINGS", "Target", "collect_targets", "run_bench", "prepare_artefacts",
           "load_suite", "find_suite", "environment", "runtime_name", "FORMAT_ORDER", "suite_targets", "output_to",
           "terminal_console"]
