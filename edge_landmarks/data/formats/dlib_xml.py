"""dlib / 300-W XML lists (``labels_ibug_300W_train.xml``, imglab files).

    <?xml version='1.0' encoding='ISO-8859-1'?>
    <?xml-stylesheet type='text/xsl' href='image_metadata_stylesheet.xsl'?>
    <dataset><images>
      <image file='helen/trainset/146827737_1.jpg'>
        <box top='224' left='182' width='254' height='254'>
          <part name='00' x='196' y='294'/> ...
        </box>
      </image>
    </images></dataset>

Parsed with expat so that every error names its line; stylesheet lines and comments are ignored. Coordinates are
dlib's 0-based pixels; a box with ``ignore='1'`` is skipped. Image paths are relative to the XML file's folder.
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.parsers import expat

import numpy as np

from ...errors import DataFormatError
from ..samples import LandmarkSet, Sample
from .pts import _SCHEME_BY_COUNT, _split_of

__all__ = ["read", "sniff"]


def sniff(path: Path) -> bool:
    if not (path.is_file() and path.suffix.lower() == ".xml"):
        return False
    with open(path, "rb") as f:
        head = f.read(4096).lower()
    return b"<dataset" in head or b"<images" in head


def _num(path: Path, line: int, attrs: dict, key: str) -> float:
    if key not in attrs:
        raise DataFormatError(path, f"missing attribute {key!r}", line)
    try:
        value = float(attrs[key])
    except ValueError:
        raise DataFormatError(path, f"attribute {key}={attrs[key]!r} is not a number", line) from None
    if not math.isfinite(value):
        raise DataFormatError(path, f"attribute {key} is NaN or infinite", line)
    return value


def read(path: str | Path, skip_bad: bool = False) -> LandmarkSet:
    path = Path(path)
    out = LandmarkSet(fmt="dlib-xml", root=str(path))
    state: dict = {"image": None, "box": None}
    parser = expat.ParserCreate()

    def fail(message: str, line: int | None = None):
        err = DataFormatError(path, message, line if line is not None else parser.CurrentLineNumber)
        if not skip_bad:
            raise err
        out.skipped.append(err)

    def start(name: str, attrs: dict):
        try:
            _start(name, attrs)
        except DataFormatError as err:  # with skip_bad, the <image> or <box> it is in is left out, nothing more
            if not skip_bad:
                raise
            out.skipped.append(err)
            if name == "image":
                state["image"] = (None, err.line)
            elif state["box"] is not None or name == "box":
                state["box"] = {"bad": True}

    def _start(name: str, attrs: dict):
        line = parser.CurrentLineNumber
        if name == "image":
            if "file" not in attrs:
                raise DataFormatError(path, "<image> without a 'file' attribute", line)
            state["image"] = (attrs["file"], line)
        elif name == "box":
            if state["image"] is None:
                raise DataFormatError(path, "<box> outside an <image>", line)
            top, left = _num(path, line, attrs, "top"), _num(path, line, attrs, "left")
            w, h = _num(path, line, attrs, "width"), _num(path, line, attrs, "height")
            if w <= 0 or h <= 0:
                raise DataFormatError(path, f"box has non-positive size {w}x{h}", line)
            state["box"] = {"line": line, "box": (left, top, left + w, top + h), "parts": {},
                            "ignore": attrs.get("ignore", "0") == "1" or state["image"][0] is None}
        elif name == "part":
            if state["box"] is None:
                raise DataFormatError(path, "<part> outside a <box>", line)
            if state["box"].get("bad"):
                return
            if "name" not in attrs:
                raise DataFormatError(path, "<part> without a 'name'", line)
            try:
                idx = int(attrs["name"])
            except ValueError:
                raise DataFormatError(path, f"part name {attrs['name']!r} is not a number", line) from None
            if idx in state["box"]["parts"]:
                raise DataFormatError(path, f"part {idx} appears twice in one box", line)
            state["box"]["parts"][idx] = (_num(path, line, attrs, "x"), _num(path, line, attrs, "y"))

    def end(name: str):
        if name == "box" and state["box"] is not None:
            box, state["box"] = state["box"], None
            if box.get("bad") or box["ignore"]:
                return
            parts = box["parts"]
            n = len(parts)
            if sorted(parts) != list(range(n)):
                return fail(f"part names must be 0..{n - 1} without gaps", box["line"])
            scheme = _SCHEME_BY_COUNT.get(n)
            if scheme is None:
                return fail(f"{n} parts match no known scheme (68, 98, 15, 12)", box["line"])
            file, _ = state["image"]
            rel = Path(file)
            split, subset = _split_of(rel)
            out.append(Sample(
                np.array([parts[i] for i in range(n)], dtype=np.float64), scheme,
                image_path=str(path.parent / rel), box=box["box"], split=split, subset=subset,
                source=f"{path}:{box['line']}",
            ))
        elif name == "image":
            state["image"] = None

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        with open(path, "rb") as f:
            parser.ParseFile(f)
    except FileNotFoundError:
        raise DataFormatError(path, "file not found") from None
    except expat.ExpatError as exc:
        raise DataFormatError(path, f"malformed XML: {expat.errors.messages[exc.code]}", exc.lineno) from None
    if not out and not out.skipped:
        raise DataFormatError(path, "no annotated <box> found")
    return out
