"""The sample every reader returns, and a list of them with what was skipped."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataFormatError

__all__ = ["Sample", "LandmarkSet", "read_image", "image_header_size", "check_image_header", "IMAGE_SUFFIXES",
           "SPLITS_300W", "HELD_OUT_ORDER", "MAX_IMAGE_PIXELS"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp")
MAX_IMAGE_PIXELS = 100_000_000
"""The largest image any command decodes (100 MP: a 12000 x 8000 photo, 300 MB as BGR); checked from the file's
header before the decoder allocates anything (a 20000 x 20000 PNG took 80 s, then MemoryError)."""


def image_header_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, JPEG, BMP, PNM, WebP, GIF or TIFF file, reading a few kB at most;
    None where the header says nothing (another type, or damaged: the decoder then gives its own error)."""
    import struct

    with open(path, "rb") as f:
        head = f.read(64)
        try:
            if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
                return struct.unpack(">II", head[16:24])
            if head[:2] == b"BM":
                w, h = struct.unpack("<ii", head[18:26])
                return abs(w), abs(h)
            if head[:6] in (b"GIF87a", b"GIF89a"):
                return struct.unpack("<HH", head[6:10])
            if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
                kind = head[12:16]
                if kind == b"VP8X":
                    return (int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1)
                if kind == b"VP8L":
                    bits = int.from_bytes(head[21:25], "little")
                    return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
                if kind == b"VP8 ":
                    w, h = struct.unpack("<HH", head[26:30])
                    return w & 0x3FFF, h & 0x3FFF
            if head[:1] == b"P" and head[1:2] in b"123456":
                f.seek(2)
                words: list[int] = []
                text = f.read(4096).split(b"\n")
                for line in text:
                    words += [int(w) for w in line.split(b"#")[0].split()]
                    if len(words) >= 2:
                        return words[0], words[1]
            if head[:2] == b"\xff\xd8":
                return _jpeg_size(f)
            if head[:4] in (b"II*\0", b"MM\0*"):
                return _tiff_size(f, "<" if head[:2] == b"II" else ">")
        except (struct.error, ValueError, OSError):
            return None
    return None


def _jpeg_size(f) -> tuple[int, int] | None:
    import struct

    f.seek(2)
    for _ in range(1000):  # markers before the frame header: a few, each skipped by its length
        marker = f.read(2)
        while marker[:1] == b"\xff" and marker[1:2] == b"\xff":  # fill bytes
            marker = marker[1:] + f.read(1)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        code = marker[1]
        if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:
            continue
        (length,) = struct.unpack(">H", f.read(2))
        if code in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            h, w = struct.unpack(">xHH", f.read(5))
            return w, h
        f.seek(length - 2, 1)
    return None


def _tiff_size(f, order: str) -> tuple[int, int] | None:
    import struct

    f.seek(4)
    (offset,) = struct.unpack(order + "I", f.read(4))
    f.seek(offset)
    (count,) = struct.unpack(order + "H", f.read(2))
    size = {}
    for _ in range(min(count, 1000)):
        tag, kind, _n = struct.unpack(order + "HHI", f.read(8))
        raw = f.read(4)
        if tag in (256, 257):
            size[tag] = struct.unpack(order + ("H" if kind == 3 else "I"), raw[:2] if kind == 3 else raw)[0]
    return (size[256], size[257]) if len(size) == 2 else None


def check_image_header(path: str | Path) -> tuple[int, int] | None:
    """The size the file's header promises, refused over :data:`MAX_IMAGE_PIXELS` (or with a zero side) before
    anything decodes it: one :class:`DataFormatError` naming the file. None where the header says nothing."""
    size = image_header_size(path)
    if size is not None:
        w, h = size
        if w < 1 or h < 1 or w * h > MAX_IMAGE_PIXELS:
            raise DataFormatError(path, f"a {w} x {h} image: more than the {MAX_IMAGE_PIXELS:,} pixels an image may "
                                        "have here (or a side of 0); scale it down first")
    return size


@dataclass
class Sample:
    """One annotated face.

    ``landmarks`` is (K, 2) float64 in image pixels with a 0-based origin (the centre of the top-left pixel is
    (0, 0)); points a dataset leaves out (Kaggle) are NaN with ``mask`` False. ``box`` is (x0, y0, x1, y1) or None.
    Either ``image`` (H x W or H x W x 3 uint8, BGR) or ``image_path`` is set.
    """

    landmarks: np.ndarray
    scheme: str
    image_path: str | None = None
    image: np.ndarray | None = None
    box: tuple[float, float, float, float] | None = None
    split: str = "all"
    subset: str = ""
    source: str = ""
    """Where the annotation came from, as ``file`` or ``file:line``."""
    attributes: dict = field(default_factory=dict)
    mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.mask is None:
            self.mask = np.isfinite(self.landmarks).all(axis=1)

    def load_image(self) -> np.ndarray:
        if self.image is not None:
            return self.image
        if self.image_path is None:
            raise DataFormatError(self.source or "<sample>", "sample has neither an image nor an image path")
        return read_image(self.image_path, self.source)


def read_image(path: str | Path, referenced_from: str = "") -> np.ndarray:
    """Read an image as uint8 BGR (grey files stay grey, 16-bit is scaled by its full range, alpha dropped); the one
    image reader of the package. A missing or unreadable file is an error naming it (and the annotation that refers
    to it)."""
    import cv2

    p = Path(path)

    def fail(what: str):
        raise DataFormatError(referenced_from, f"{what}: {p}") if referenced_from else DataFormatError(p, what)

    if not p.is_file():
        fail("image file not found")
    try:
        check_image_header(p)
    except DataFormatError as exc:
        fail(exc.reason)
    img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        fail("not an image OpenCV can read")
    if img.dtype == np.uint16:  # by the type's full range, as a viewer shows it (not stretched to its brightest)
        img = ((img.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif img.dtype.kind == "f":  # float TIFF / EXR: 0..1
        img = (np.clip(np.nan_to_num(img), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = cv2.convertScaleAbs(img, alpha=255.0 / max(1, int(img.max())))
    if img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return img


SPLITS_300W = ("common", "challenge", "full")
"""300W's test subsets: scored together, ``full`` last (the headline number)."""

HELD_OUT_ORDER = {"score": ("test", "val"), "check": ("val", "test")}
"""The one rule for the faces a command holds out when no split is named. Scores (``eval``, ``bench``) take test
first (300W: its three subsets); checks of an export and INT8 budgets take the validation faces first, so nothing is
tuned on test. With neither split, every face."""


class LandmarkSet(list):
    """A list of :class:`Sample` plus the name of its format, and the errors that were skipped."""

    def __init__(self, samples=(), fmt: str = "", root: str = "", skipped: list[DataFormatError] | None = None):
        super().__init__(samples)
        self.format = fmt
        self.root = root
        self.skipped: list[DataFormatError] = skipped or []

    def split(self, name: str | None) -> LandmarkSet:
        """The samples of one split (``None`` or ``"all"`` for every sample); an unknown split raises."""
        if name in (None, "all"):
            return self
        names = self.splits()
        if name not in names:
            raise DataFormatError(self.root, f"no split {name!r} here; splits: {', '.join(sorted(names)) or 'none'}")
        return LandmarkSet([s for s in self if name in _split_names(s)], self.format, self.root, self.skipped)

    def for_scheme(self, scheme: str) -> tuple[LandmarkSet, dict[str, int]]:
        """The samples a ``scheme`` model can use (its own scheme, or one that converts to it), and the count left
        out per other scheme: Menpo 2D mixes 68-point semi-frontal and 39-point profile faces in one folder."""
        from ..schemes import convertible

        kept, dropped = [], {}
        for s in self:
            if s.scheme == scheme or convertible(s.scheme, scheme):
                kept.append(s)
            else:
                dropped[s.scheme] = dropped.get(s.scheme, 0) + 1
        return LandmarkSet(kept, self.format, self.root, self.skipped), dropped

    def held_out_splits(self, split: str | None = None, purpose: str = "score") -> list[str]:
        """The split names to hold out: ``split`` if given, else :data:`HELD_OUT_ORDER`'s choice for ``purpose``."""
        if split:
            return [split]
        names = self.splits()
        if purpose == "score" and all(s in names for s in SPLITS_300W):
            return list(SPLITS_300W)
        return [next((s for s in HELD_OUT_ORDER[purpose] if s in names), "all")]

    @contextmanager
    def entry(self, skip_bad: bool):
        """Read one entry inside ``with data.entry(skip_bad):``: a bad entry raises, or is counted in ``skipped``."""
        try:
            yield
        except DataFormatError as exc:
            if not skip_bad:
                raise
            self.skipped.append(exc)

    def require_any(self, what: str) -> LandmarkSet:
        if not self and not self.skipped:
            raise DataFormatError(self.root, f"no {what} found")
        return self

    def splits(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self:
            for n in _split_names(s):
                counts[n] = counts.get(n, 0) + 1
        return counts


def _split_names(sample: Sample) -> list[str]:
    return [n for n in sample.split.split("+") if n]


def read_text(path: str | Path) -> str:
    """A text file as str (UTF-8, BOM allowed); a missing file or bad bytes give an error naming file and line."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise DataFormatError(p, "file not found") from None
    except IsADirectoryError:
        raise DataFormatError(p, "is a folder, expected a file") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataFormatError(p, f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line) from None
