"""Backends: onnxruntime (.onnx), OpenVINO (.xml), LiteRT (.tflite), each imported lazily; checkpoints (.pt) load
through the trainer's loader named in the format table (:mod:`edge_landmarks.formats`), so nothing here imports torch.

``load_backend(path, threads)`` returns ``(predict_batch, ModelConfig, metadata)``; ``predict_batch`` takes float32
(B, C, S, S) normalised crops and returns float32 (B, 2K) in the model's output frame, whatever the file's precision.

For one sample at a time without per-call wrapping, each runtime's ``predict_batch`` also carries the file's own
input (the predictor's fast path): ``input_buffer``, a (1, C, S, S) array in the file's input dtype that the caller
fills (``feed(x)`` fills it from a float32 normalised crop); ``input_quant``, the (scale, zero point) of an integer
input (None for float); and ``invoke()``, which runs the file on that buffer and returns float32 (2K,), dequantised.
The buffers are allocated once: OpenVINO's is the infer request's own input tensor, onnxruntime's and LiteRT's a
numpy array handed over as the runtime's tools do. ``predict_batch`` itself is ``feed`` + ``invoke`` per sample.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import EdgeLandmarksError, MissingExtraError

__all__ = ["load_backend", "read_metadata", "check_metadata", "sidecar_path", "load_onnx", "load_openvino",
           "load_tflite", "describe_io", "check_threads", "MAX_THREADS", "is_validated", "is_unfinished", "quantize",
           "validation_problem"]


def sidecar_path(path: str | Path) -> Path:
    return Path(str(path) + ".json")


def read_metadata(path: str | Path) -> dict:
    """The artefact's sidecar, checked before anything uses it (:func:`check_metadata`): one
    :class:`EdgeLandmarksError` naming the sidecar for a missing, oversized, deep, non-JSON or inconsistent one."""
    from ..files import read_json

    side = sidecar_path(path)
    if not side.is_file():
        raise EdgeLandmarksError(f"{path}: no metadata file {side.name} beside it (export with edge-lmk export)")
    meta = read_json(side)
    check_metadata(meta, side)
    return meta


SIDECAR_COPIES = {"model": "name", "scheme": "scheme", "input_size": "input_size", "channels": "in_chans",
                  "mean": "mean", "std": "std", "output_scale": "output_scale", "crop_margin": "crop_margin"}
"""Top-level keys of a sidecar that repeat its ``model_config`` (for readers with no edge-lmk code): they must agree."""


def check_metadata(meta, side: str | Path) -> None:
    """THE check of a sidecar: a JSON object whose ``model_config`` is a valid config (types and ranges,
    :meth:`ModelConfig.check`), whose top-level copies of it agree with it, and whose ``format`` / ``precision`` are
    short names. Raises one :class:`EdgeLandmarksError` naming the sidecar."""
    from ..models._config import ModelConfig

    if not isinstance(meta, dict):
        raise EdgeLandmarksError(f"{side}: a sidecar is a JSON object, not a {type(meta).__name__}")
    if "model_config" not in meta:
        raise EdgeLandmarksError(f"{side}: no usable model_config ('model_config' is missing)")
    try:
        cfg = ModelConfig.from_dict(meta["model_config"])
    except (TypeError, ValueError) as exc:
        raise EdgeLandmarksError(f"{side}: no usable model_config ({exc})") from None
    for key, field_name in SIDECAR_COPIES.items():
        if key in meta:
            mine = getattr(cfg, field_name)
            mine = list(mine) if isinstance(mine, tuple) else mine
            if meta[key] != mine or isinstance(meta[key], bool):
                raise EdgeLandmarksError(f"{side}: {key} {str(meta[key])[:60]!r} disagrees with model_config "
                                         f"({mine!r})")
    for key in ("format", "precision"):
        v = meta.get(key)
        if v is not None and not (isinstance(v, str) and v.isascii() and v.replace("_", "").isalnum() and len(v) < 40):
            raise EdgeLandmarksError(f"{side}: {key} must be a short name, not {str(v)[:60]!r}")


VALIDATION_NUMBERS = ("nme_fp32", "nme", "delta_nme", "delta_nme_rel", "mean_px_error_vs_fp32",
                      "max_px_error_vs_fp32")
"""The numbers of a validation record (:func:`edge_landmarks.export.validate`): each must be finite."""


def validation_problem(validation) -> str | None:
    """Why a sidecar's ``validation`` does not validate its file (None when it does): it must be a record of
    finite numbers over at least one face. NaN (a checkpoint of NaN weights) or a missing number is no check."""
    if not isinstance(validation, dict):
        return "no validation"
    faces = validation.get("faces")
    if isinstance(faces, bool) or not isinstance(faces, int) or faces < 1:
        return f"validation over {faces!r} faces"
    bad = [f"{k}: {validation.get(k)!r}" for k in VALIDATION_NUMBERS
           if isinstance(validation.get(k), bool) or not isinstance(validation.get(k), (int, float))
           or not math.isfinite(validation[k])]
    return f"validation numbers that are not finite ({', '.join(bad)})" if bad else None


def is_validated(meta: dict) -> bool:
    """An artefact counts only once its export checked it against PyTorch: the sidecar's ``validation``, finite
    numbers over held-out faces (:func:`validation_problem`)."""
    return validation_problem(meta.get("validation")) is None


def is_unfinished(path: str | Path) -> bool:
    """An export of ours that never finished: its sidecar is edge-lmk's (format, model_config) with no validation.
    A file without a sidecar is not taken for ours."""
    from ..files import read_json

    try:
        meta = read_json(sidecar_path(path))
    except (OSError, EdgeLandmarksError):
        return False
    return isinstance(meta, dict) and "format" in meta and "model_config" in meta and not is_validated(meta)


def _with_sidecar(make_run):
    """An artefact loader: the runtime's ``predict_batch`` plus the model config and metadata of the sidecar. The
    file is checked against its sidecar on load: a file the runtime cannot read, or one that does not take the
    sidecar's input or give its number of points, is one clear error naming the file."""

    def load(path, threads: int = 1):
        from ..models._config import ModelConfig

        meta = read_metadata(path)
        cfg = ModelConfig.from_dict(meta["model_config"])  # checked by read_metadata
        try:
            run = make_run(Path(path), threads)
        except EdgeLandmarksError:
            raise
        except Exception as exc:  # each runtime has its own: InvalidProtobuf, "not a valid Flatbuffer", ...
            raise EdgeLandmarksError(f"{path}: the runtime cannot load this file, corrupt or truncated? "
                                     f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]})") from None
        shape = (1, cfg.in_chans, cfg.input_size, cfg.input_size)
        try:
            if tuple(run.input_buffer.shape[1:]) != shape[1:]:  # numpy would broadcast one grey channel into three
                raise ValueError(f"its input is {'x'.join(map(str, run.input_buffer.shape))}")
            out = run(np.zeros(shape, np.float32))
        except Exception as exc:
            raise EdgeLandmarksError(f"{path}: does not take the {'x'.join(map(str, shape))} input its sidecar "
                                     f"describes ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})") from None
        if out.shape[-1] != 2 * cfg.num_points:
            raise EdgeLandmarksError(f"{path}: gives {out.shape[-1]} values, but its sidecar says {cfg.num_points} "
                                     f"points ({cfg.scheme}): the sidecar belongs to another file")
        return run, cfg, meta

    load.__doc__ = make_run.__doc__
    return load


def quantize(x: np.ndarray, quant: tuple[float, int], out: np.ndarray, scratch: np.ndarray | None = None):
    """``out[...] = clip(round(x / scale) + zero)`` in ``out``'s integer dtype, rounding as the runtimes do (half to
    even); ``scratch``, a float32 array of ``x``'s shape, keeps it free of allocations. Returns ``out``."""
    scale, zero = quant
    info = np.iinfo(out.dtype)
    s = np.multiply(x, np.float32(1.0 / scale), out=scratch)
    np.rint(s, out=s)
    np.clip(s, np.float32(info.min - zero), np.float32(info.max - zero), out=s)
    np.add(s, zero, out=s)
    out[...] = s
    return out


def _fast(input_buffer: np.ndarray, input_quant, invoke):
    """The runtime's ``predict_batch`` over its one-sample path: ``feed`` (a float32 (1, C, S, S) normalised crop
    into ``input_buffer``, quantised in place where the file takes integers: fresh temporaries of a 224 px input
    cost page faults on every call, 0.9 ms measured between invokes against 0.07 ms in place), then ``invoke``.
    The function carries ``input_buffer``, ``input_quant``, ``feed`` and ``invoke`` (the module's docstring)."""
    scratch = np.empty(input_buffer.shape, np.float32) if input_quant is not None else None

    def feed(x):
        if input_quant is None:
            input_buffer[...] = x
        else:
            quantize(x, input_quant, input_buffer, scratch)

    def run(x):
        x = np.asarray(x, dtype=np.float32)
        result = None
        for i in range(len(x)):
            feed(x[i:i + 1])
            y = invoke()
            if result is None:
                result = np.empty((len(x), y.size), np.float32)
            result[i] = y
        return result

    run.input_buffer, run.input_quant, run.feed, run.invoke = input_buffer, input_quant, feed, invoke
    return run


@_with_sidecar
def load_onnx(path: Path, threads: int):
    """onnxruntime on the CPU."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise MissingExtraError("onnxruntime is needed: pip install edge-landmarks") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # errors only: INT8 graphs log "Removing initializer" warnings on every load
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    shape = [d if isinstance(d, int) else 1 for d in sess.get_inputs()[0].shape]
    feed = {name: np.zeros(shape, np.float32)}  # a ready feed, as onnxruntime's own perf test loops it

    def invoke():
        return sess.run(None, feed)[0][0]

    return _fast(feed[name], None, invoke)


@_with_sidecar
def load_openvino(path: Path, threads: int):
    """OpenVINO's CPU plugin, in f32 (no silent bf16 on CPUs that have it)."""
    try:
        import openvino as ov
    except ImportError:
        raise MissingExtraError("openvino is needed: pip install openvino (or edge-landmarks[convert])") from None
    core = ov.Core()
    compiled = core.compile_model(str(path), "CPU", {"INFERENCE_NUM_THREADS": threads,
                                                     "INFERENCE_PRECISION_HINT": "f32"})
    req = compiled.create_infer_request()
    # the request's own tensors, allocated by OpenVINO with the request and written / read in place: what
    # benchmark_app -api sync times (infer({0: x}) wraps both on every call: +30 % at 56 px)
    buf = req.get_input_tensor(0).data
    out_tensor = req.get_output_tensor(0)

    def invoke():
        req.infer()
        return out_tensor.data.reshape(-1).copy()

    return _fast(buf, None, invoke)


@_with_sidecar
def load_tflite(path: Path, threads: int):
    """LiteRT (ai-edge-litert; tflite-runtime where it is absent)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter  # its older name, where ai-edge-litert is absent
        except ImportError:
            raise MissingExtraError("ai-edge-litert is needed: pip install edge-landmarks") from None
    interp = Interpreter(model_path=str(path), num_threads=threads)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    out_scale, out_zero = out["quantization"] if out["dtype"] != np.float32 else (None, None)
    buf = np.zeros(inp["shape"], inp["dtype"])
    in_index, out_index = inp["index"], out["index"]

    def invoke():
        interp.set_tensor(in_index, buf)  # set_tensor / get_tensor copy: no view of the interpreter's buffers
        interp.invoke()                   # is ever held (the safe use of its Python API)
        y = interp.get_tensor(out_index).reshape(-1)
        return y if out_scale is None else (y.astype(np.float32) - out_zero) * np.float32(out_scale)

    quant = (float(inp["quantization"][0]), int(inp["quantization"][1])) if inp["dtype"] != np.float32 else None
    return _fast(buf, quant, invoke)


MAX_THREADS = 256
"""The most runtime threads any command or call takes (``predict --threads 100000`` hung starting them)."""


def check_threads(threads) -> int:
    """``threads`` as an int from 1 to :data:`MAX_THREADS`, or one :class:`EdgeLandmarksError`."""
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 1 <= threads <= MAX_THREADS:
        raise EdgeLandmarksError(f"threads must be a whole number from 1 to {MAX_THREADS}, not {threads!r}")
    return int(threads)


def load_backend(path: str | Path, threads: int = 1, allow_unvalidated: bool = False):
    """(predict_batch, ModelConfig, metadata) for a checkpoint or an exported artefact. An artefact whose sidecar
    holds no validation (its export was interrupted, or it was never checked) is refused with a clear error;
    ``allow_unvalidated`` is for the export's own check."""
    from ..formats import format_for_path, known_suffixes, load_function

    if not isinstance(path, (str, Path)):
        raise EdgeLandmarksError(f"a model path is a str or Path, not {type(path).__name__}")
    threads = check_threads(threads)
    p = Path(path)
    if not p.is_file():
        raise EdgeLandmarksError(f"{p}: file not found")
    spec = format_for_path(p)
    if spec is None:
        raise EdgeLandmarksError(f"{p}: unknown model file type {p.suffix!r} ({known_suffixes()})")
    if spec.exporter and not allow_unvalidated:
        meta = read_metadata(p)
        problem = validation_problem(meta.get("validation"))
        if problem and isinstance(meta.get("validation"), dict):
            raise EdgeLandmarksError(f"{p}: not validated: its sidecar holds {problem}; export it again")
        if problem:
            raise EdgeLandmarksError(f"{p}: not validated (its export did not finish, or the sidecar has no "
                                     "'validation'): export it again (edge-lmk export / quantize; an unfinished "
                                     "export of ours is made again without --force)")
    return load_function(spec)(p, threads)


def _tensor(name: str, shape, dtype, quantization=None) -> dict:
    out = {"name": name, "shape": [int(d) if d is not None and int(d) >= 0 else None for d in shape],
           "dtype": str(np.dtype(dtype))}
    out["quantization"] = quantization
    return out


def describe_io(path: str | Path) -> dict:
    """The file's own inputs and outputs as its runtime reports them: names, shapes (None for a free batch), dtypes
    and, for integer tensors, the (scale, zero point) that maps them to real values."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".onnx":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        sess = ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])
        types = {"tensor(float)": "float32", "tensor(uint8)": "uint8", "tensor(int8)": "int8"}

        def one(t):
            return _tensor(t.name, [d if isinstance(d, int) else -1 for d in t.shape], types.get(t.type, "float32"))

        return {"inputs": [one(t) for t in sess.get_inputs()], "outputs": [one(t) for t in sess.get_outputs()]}
    if suffix == ".xml":
        import openvino as ov

        model = ov.Core().read_model(str(p))

        def one(port):
            shape = [d.get_length() if d.is_static else -1 for d in port.get_partial_shape()]
            names = sorted(port.get_names())  # an IR's output may carry no tensor name: use its index then
            return _tensor(names[0] if names else None, shape, port.get_element_type().to_dtype())

        return {"inputs": [one(t) for t in model.inputs], "outputs": [one(t) for t in model.outputs]}
    if suffix == ".tflite":
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            from tflite_runtime.interpreter import Interpreter
        interp = Interpreter(model_path=str(p))

        def one(d):
            scale, zero = d["quantization"]
            quant = {"scale": float(scale), "zero_point": int(zero)} if scale else None
            return _tensor(d["name"], d["shape_signature"], d["dtype"], quant)

        return {"inputs": [one(d) for d in interp.get_input_details()],
                "outputs": [one(d) for d in interp.get_output_details()]}
    raise EdgeLandmarksError(f"{p}: no runtime description for {suffix!r} files")
