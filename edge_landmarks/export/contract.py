"""The sidecar's ``contract``: everything a consumer needs to run an artefact with no edge-lmk code.

It states the file's own tensors (names, shapes, dtypes, quantisation, read back from its runtime), how to make the
input from an image (the crop, channel order, layout, value range, mean and std) and what the output means and how
to map it back to the image. docs/use-without-edge-lmk.md follows it in plain onnxruntime, OpenVINO and LiteRT,
and a test runs those examples.
"""

from __future__ import annotations

__all__ = ["contract", "input_bounds", "check_ranges", "float_layers", "HEAD_NOTE", "RANGES"]

RANGES = ("min-max", "vendor default")
"""INT8 activation ranges: min-max (what edge-lmk uses), or the quantiser's own default (kept to show the
difference: NNCF's averaged per-sample extremes and ai-edge-quantizer's moving average clip a regressor's extremes;
quantize/README.md)."""

HEAD_NOTE = ("the landmark head (the last weighted layer and what follows it) stays in float, so the output never "
             "clips: calibrated output ranges cut off points near and past the crop's edges")


def input_bounds(cfg) -> tuple[float, float]:
    """The true range of a normalised input: pixels 0 and 255 through each channel's mean and std (per tensor,
    as INT8 activations are), so the brightest blue is not clipped as a calibrated range would."""
    lo = min((0.0 - m) / s for m, s in zip(cfg.mean, cfg.std, strict=True))
    hi = max((1.0 - m) / s for m, s in zip(cfg.mean, cfg.std, strict=True))
    return float(lo), float(hi)


def float_layers(weighted: list, head: list, float_ends: bool = False, float_input: bool = False) -> list:
    """The layers an INT8 export keeps in float, in one order for every format: the first weighted layer
    (``float_input`` or ``float_ends``: the image is never quantised), the one before the head (``float_ends``), then
    ``head`` (what the format keeps in float at the end); each once."""
    first = weighted[:1] if float_ends or float_input else []
    return list(dict.fromkeys(first + (weighted[-2:-1] if float_ends else []) + list(head)))


def check_ranges(ranges: str) -> None:
    if ranges not in RANGES:
        raise ValueError(f"ranges must be one of {RANGES}, not {ranges!r}")


def contract(cfg, io: dict) -> dict:
    k, s = cfg.num_points, cfg.input_size
    grey = cfg.in_chans == 1
    inputs, outputs = io["inputs"], io["outputs"]
    return {
        "inputs": inputs,
        "outputs": outputs,
        "preprocess": {
            "layout": "NCHW",
            "channel_order": "grey" if grey else "RGB",
            "from_bgr": "cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)" if grey else "cv2.cvtColor(img, cv2.COLOR_BGR2RGB)",
            "value_range": [0, 255],
            "normalise": "x = (pixel / 255 - mean) / std, per channel",
            "mean": list(cfg.mean),
            "std": list(cfg.std),
            "crop": {
                "box": "(x0, y0, x1, y1): the bounding box of the face's landmarks in image pixels (0 = centre of the "
                       "first pixel); a face detector's box must first be mapped onto it",
                "side": f"max(x1 - x0, y1 - y0) * (1 + crop_margin), crop_margin = {cfg.crop_margin}",
                "left_top": "(cx - side / 2, cy - side / 2), with (cx, cy) the box centre",
                "matrix": f"cv2.warpAffine(image, [[t, 0, -t * left - 0.5], [0, t, -t * top - 0.5]], ({s}, {s}), "
                          f"flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT) with t = {s} / side "
                          "(outside the image: black)",
            },
            "integer_input": "where inputs[0].dtype is an integer type, q = clip(round(x / scale + zero_point)) "
                             "with its quantization; float inputs take x as is",
        },
        "postprocess": {
            "meaning": f"{2 * k} values x0, y0, x1, y1, ... of {k} points ({cfg.scheme}); divided by output_scale "
                       f"({cfg.output_scale}) they are (u, v) in [0, 1] of the crop: 0 = the left / top edge of its "
                       "first pixel, 1 = the right / bottom edge of its last",
            "output_scale": cfg.output_scale,
            "integer_output": "where outputs[0].dtype is an integer type, value = (q - zero_point) * scale",
            "to_image": "x = left + u * side, y = top + v * side (image pixels, 0 = centre of the first pixel)",
            "scheme": cfg.scheme,
        },
    }
