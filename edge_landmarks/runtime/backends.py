"""Backends: one class per runtime behind one protocol, :class:`Backend`: onnxruntime (.onnx), OpenVINO (.xml),
LiteRT (.tflite), each imported lazily by one helper; checkpoints (.pt) open through the trainer's
``TorchBackend``, named like the others in the format table (:mod:`edge_landmarks.formats`), so nothing here
imports torch.

``load_backend(path, threads)`` returns ``(backend, ModelConfig, metadata)``. A backend is called like a function:
``backend(x)`` takes float32 (B, C, S, S) normalised crops and returns float32 (B, 2K) in the model's output frame,
whatever the file's precision. For one sample at a time without per-call wrapping (the predictor's fast path, the
bench's timed call), it holds the file's own input: ``input_buffer``, a (1, C, S, S) array in the file's input
dtype that the caller fills (``feed(x)`` fills it from a float32 normalised crop); ``input_quant``, the (scale,
zero point) of an integer input (None for float); and ``invoke()``, which runs the file on that buffer and returns
float32 (2K,), dequantised. The buffers are allocated once: OpenVINO's is the infer request's own input tensor,
onnxruntime's and LiteRT's a numpy array handed over as the runtime's tools do. ``backend(x)`` is ``feed`` +
``invoke`` per sample (batched for checkpoints). ``describe_io()`` gives the file's tensors as its runtime reports
them; ``close()`` lets the runtime go.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import EdgeLandmarksError, MissingExtraError

__all__ = ["Backend", "OnnxBackend", "OpenVinoBackend", "LiteRTBackend", "load_backend", "read_metadata",
           "check_metadata", "sidecar_path", "describe_io", "check_threads", "MAX_THREADS", "is_validated",
           "is_unfinished", "quantize", "validation_problem", "import_onnxruntime", "import_openvino",
           "litert_interpreter"]


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


def import_onnxruntime():
    """onnxruntime, or the install hint (it is in the core install)."""
    try:
        import onnxruntime
    except ImportError:
        raise MissingExtraError("onnxruntime is needed: pip install edge-landmarks") from None
    return onnxruntime


def import_openvino():
    """OpenVINO, or the install hint (the ``convert`` extra)."""
    try:
        import openvino
    except ImportError:
        raise MissingExtraError("openvino is needed: pip install openvino (or edge-landmarks[convert])") from None
    return openvino


def litert_interpreter():
    """LiteRT's ``Interpreter`` class: ai-edge-litert, or tflite-runtime (its older name) where it is absent."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise MissingExtraError("a TFLite runtime is needed: pip install edge-landmarks (ai-edge-litert), or "
                                    "tflite-runtime where ai-edge-litert has no wheel") from None
    return Interpreter


class Backend:
    """One model file open in its runtime: the one protocol of every format (the module's docstring).

    ``Backend.open(path, threads)`` (the class the format table names for the file) reads and checks the sidecar,
    opens the file and checks it against the sidecar; then ``config`` and ``metadata`` are the sidecar's. Subclasses
    set ``input_buffer`` and ``input_quant`` when they open the file and implement :meth:`invoke` and
    :meth:`describe`.
    """

    format = ""
    """The format table's name of the files this class runs."""

    def __init__(self, path: Path, threads: int):
        self.path, self.threads = Path(path), threads
        self.input_buffer: np.ndarray = np.zeros((1,), np.float32)
        self.input_quant: tuple[float, int] | None = None
        self.config = None
        self.metadata: dict = {}
        self._scratch: np.ndarray | None = None

    @classmethod
    def open(cls, path, threads: int = 1) -> Backend:
        """The file with its sidecar. A file the runtime cannot read, or one that does not take the sidecar's input
        or give its number of points, is one clear error naming the file."""
        from ..models._config import ModelConfig

        meta = read_metadata(path)
        cfg = ModelConfig.from_dict(meta["model_config"])  # checked by read_metadata
        try:
            backend = cls(Path(path), threads)
        except EdgeLandmarksError:
            raise
        except Exception as exc:  # each runtime has its own: InvalidProtobuf, "not a valid Flatbuffer", ...
            raise EdgeLandmarksError(f"{path}: the runtime cannot load this file, corrupt or truncated? "
                                     f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]})") from None
        backend.config, backend.metadata = cfg, meta
        backend.check_io()
        return backend

    def check_io(self) -> None:
        """The file takes the config's (1, C, S, S) input and gives its 2K values: one clear error otherwise."""
        cfg = self.config
        shape = (1, cfg.in_chans, cfg.input_size, cfg.input_size)
        try:
            if tuple(self.input_buffer.shape[1:]) != shape[1:]:  # numpy would broadcast one grey channel into three
                raise ValueError(f"its input is {'x'.join(map(str, self.input_buffer.shape))}")
            out = self.run(np.zeros(shape, np.float32))
        except Exception as exc:
            raise EdgeLandmarksError(f"{self.path}: does not take the {'x'.join(map(str, shape))} input its "
                                     f"sidecar describes ({type(exc).__name__}: "
                                     f"{' '.join(str(exc).split())[:160]})") from None
        if out.shape[-1] != 2 * cfg.num_points:
            raise EdgeLandmarksError(f"{self.path}: gives {out.shape[-1]} values, but its sidecar says "
                                     f"{cfg.num_points} points ({cfg.scheme}): the sidecar belongs to another file")

    def feed(self, x: np.ndarray) -> None:
        """A float32 (1, C, S, S) normalised crop into ``input_buffer``, quantised in place where the file takes
        integers (fresh temporaries of a 224 px input cost page faults on every call: 0.9 ms measured between
        invokes against 0.07 ms in place)."""
        if self.input_quant is None:
            self.input_buffer[...] = x
            return
        if self._scratch is None:
            self._scratch = np.empty(self.input_buffer.shape, np.float32)
        quantize(x, self.input_quant, self.input_buffer, self._scratch)

    def invoke(self) -> np.ndarray:
        """Run the file on ``input_buffer``: float32 (2K,), dequantised."""
        raise NotImplementedError

    def run(self, x: np.ndarray) -> np.ndarray:
        """float32 (B, C, S, S) normalised crops -> float32 (B, 2K): :meth:`feed` + :meth:`invoke` per sample."""
        x = np.asarray(x, dtype=np.float32)
        result = None
        for i in range(len(x)):
            self.feed(x[i:i + 1])
            y = self.invoke()
            if result is None:
                result = np.empty((len(x), y.size), np.float32)
            result[i] = y
        return result

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.run(x)

    @staticmethod
    def describe(path: Path) -> dict:
        """The file's own inputs and outputs as its runtime reports them (see :func:`describe_io`)."""
        raise EdgeLandmarksError(f"{path}: no runtime description for {Path(path).suffix!r} files")

    def describe_io(self) -> dict:
        return self.describe(self.path)

    @property
    def device(self) -> str:
        """Where the runtime runs the file, as it reports it (``cpu`` for every backend here; ``edge-lmk bench
        --target`` checks it)."""
        return "cpu"

    def close(self) -> None:
        """Let the runtime go (its session, compiled model or interpreter)."""
        self.__dict__.pop("_runtime", None)

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, threads={self.threads})"


class OnnxBackend(Backend):
    """onnxruntime on the CPU; the feed is a ready dict around ``input_buffer``, as onnxruntime's own perf test
    loops it."""

    format = "onnx"

    def __init__(self, path: Path, threads: int):
        super().__init__(path, threads)
        ort = import_onnxruntime()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # errors only: INT8 graphs log "Removing initializer" warnings on every load
        self._runtime = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self._providers = self._runtime.get_providers()
        first = self._runtime.get_inputs()[0]
        self.input_buffer = np.zeros([d if isinstance(d, int) else 1 for d in first.shape], np.float32)
        self._feed = {first.name: self.input_buffer}

    def invoke(self) -> np.ndarray:
        return self._runtime.run(None, self._feed)[0][0]

    @property
    def device(self) -> str:
        return "cpu" if self._providers == ["CPUExecutionProvider"] else ",".join(self._providers)

    @staticmethod
    def describe(path: Path) -> dict:
        ort = import_onnxruntime()
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        types = {"tensor(float)": "float32", "tensor(uint8)": "uint8", "tensor(int8)": "int8"}

        def one(t):
            return _tensor(t.name, [d if isinstance(d, int) else -1 for d in t.shape], types.get(t.type, "float32"))

        return {"inputs": [one(t) for t in sess.get_inputs()], "outputs": [one(t) for t in sess.get_outputs()]}


class OpenVinoBackend(Backend):
    """OpenVINO's CPU plugin, in f32 (no silent bf16 on CPUs that have it). ``input_buffer`` is the infer request's
    own input tensor, written and read in place: what ``benchmark_app -api sync`` times (``infer({0: x})`` wraps
    both on every call: +30 % at 56 px)."""

    format = "openvino"

    def __init__(self, path: Path, threads: int):
        super().__init__(path, threads)
        ov = import_openvino()
        compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_NUM_THREADS": threads,
                                                               "INFERENCE_PRECISION_HINT": "f32"})
        self._runtime = compiled.create_infer_request()
        self._devices = [str(d) for d in compiled.get_property("EXECUTION_DEVICES")]
        self.input_buffer = self._runtime.get_input_tensor(0).data
        self._out = self._runtime.get_output_tensor(0)

    @property
    def device(self) -> str:
        return "cpu" if self._devices == ["CPU"] else ",".join(self._devices).lower()

    def invoke(self) -> np.ndarray:
        self._runtime.infer()
        return self._out.data.reshape(-1).copy()

    @staticmethod
    def describe(path: Path) -> dict:
        model = import_openvino().Core().read_model(str(path))

        def one(port):
            shape = [d.get_length() if d.is_static else -1 for d in port.get_partial_shape()]
            names = sorted(port.get_names())  # an IR's output may carry no tensor name: use its index then
            return _tensor(names[0] if names else None, shape, port.get_element_type().to_dtype())

        return {"inputs": [one(t) for t in model.inputs], "outputs": [one(t) for t in model.outputs]}


class LiteRTBackend(Backend):
    """LiteRT (ai-edge-litert; tflite-runtime where it is absent). ``set_tensor`` / ``get_tensor`` copy: no view of
    the interpreter's buffers is ever held (the safe use of its Python API)."""

    format = "tflite"

    def __init__(self, path: Path, threads: int):
        super().__init__(path, threads)
        interp = litert_interpreter()(model_path=str(path), num_threads=threads)
        interp.allocate_tensors()
        inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
        self._runtime = interp
        self._out_quant = out["quantization"] if out["dtype"] != np.float32 else None
        self.input_buffer = np.zeros(inp["shape"], inp["dtype"])
        if inp["dtype"] != np.float32:
            self.input_quant = (float(inp["quantization"][0]), int(inp["quantization"][1]))
        self._in_index, self._out_index = inp["index"], out["index"]

    def invoke(self) -> np.ndarray:
        self._runtime.set_tensor(self._in_index, self.input_buffer)
        self._runtime.invoke()
        y = self._runtime.get_tensor(self._out_index).reshape(-1)
        if self._out_quant is None:
            return y
        scale, zero = self._out_quant
        return (y.astype(np.float32) - zero) * np.float32(scale)

    @staticmethod
    def describe(path: Path) -> dict:
        interp = litert_interpreter()(model_path=str(path))

        def one(d):
            scale, zero = d["quantization"]
            quant = {"scale": float(scale), "zero_point": int(zero)} if scale else None
            return _tensor(d["name"], d["shape_signature"], d["dtype"], quant)

        return {"inputs": [one(d) for d in interp.get_input_details()],
                "outputs": [one(d) for d in interp.get_output_details()]}


MAX_THREADS = 256
"""The most runtime threads any command or call takes (``predict --threads 100000`` hung starting them)."""


def check_threads(threads) -> int:
    """``threads`` as an int from 1 to :data:`MAX_THREADS`, or one :class:`EdgeLandmarksError`."""
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 1 <= threads <= MAX_THREADS:
        raise EdgeLandmarksError(f"threads must be a whole number from 1 to {MAX_THREADS}, not {threads!r}")
    return int(threads)


def load_backend(path: str | Path, threads: int = 1, allow_unvalidated: bool = False):
    """(:class:`Backend`, ModelConfig, metadata) for a checkpoint or an exported artefact, opened by the class its
    row of the format table names. An artefact whose sidecar holds no validation (its export was interrupted, or
    it was never checked) is refused with a clear error; ``allow_unvalidated`` is for the export's own check."""
    from ..formats import backend_class, format_for_path, known_suffixes

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
    backend = backend_class(spec).open(p, threads)
    return backend, backend.config, backend.metadata


def _tensor(name: str, shape, dtype, quantization=None) -> dict:
    out = {"name": name, "shape": [int(d) if d is not None and int(d) >= 0 else None for d in shape],
           "dtype": str(np.dtype(dtype))}
    out["quantization"] = quantization
    return out


def describe_io(path: str | Path) -> dict:
    """The file's own inputs and outputs as its runtime reports them: names, shapes (None for a free batch), dtypes
    and, for integer tensors, the (scale, zero point) that maps them to real values."""
    from ..formats import backend_class, format_for_path

    p = Path(path)
    spec = format_for_path(p)
    if spec is None or not spec.exporter:
        raise EdgeLandmarksError(f"{p}: no runtime description for {p.suffix.lower()!r} files")
    return backend_class(spec).describe(p)
