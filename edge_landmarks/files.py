"""Atomic file writes: a temporary file beside the target, then a rename; nothing half-written is left behind."""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write_text", "atomic_write_bytes", "atomic_write_json", "atomic_write", "refuse_overwrite",
           "publish", "plain_mode", "write_image", "temporary", "remove_stale_temporaries", "process_alive",
           "TEMPORARY_MARKER", "read_json", "check_nesting", "MAX_DEPTH", "MAX_ITEMS", "MAX_JSON_BYTES",
           "exclusive"]


TEMPORARY_MARKER = ".edge-lmk-temporary"
"""The file inside every temporary folder of ours: it holds the writer's pid. A folder without it is never ours."""

MAX_DEPTH = 20
"""How deeply the files a command reads (sidecars, manifests, recipes) may nest: ours nest 4 levels at most."""
MAX_ITEMS = 100_000
"""How many values (keys, list items, scalars) such a file may hold, counted after YAML aliases are expanded."""
MAX_JSON_BYTES = 16 << 20
"""The largest sidecar or manifest read: ours are a few kB."""


def check_nesting(obj, where: str, max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS) -> None:
    """Refuse a parsed document that nests deeper than ``max_depth`` or holds more than ``max_items`` values (a
    YAML alias counts again each time it is used, so a billion laughs stops here, not when something expands it).
    Iterative: a deep document cannot exhaust the stack. Raises :class:`EdgeLandmarksError` naming ``where``."""
    from .errors import EdgeLandmarksError

    stack, count = [(obj, 1)], 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > max_items:
            raise EdgeLandmarksError(f"{where}: more than {max_items:,} values (a YAML anchor used again and again?)")
        if isinstance(value, dict):
            children = [*value.keys(), *value.values()]
        elif isinstance(value, (list, tuple)):
            children = value
        else:
            continue
        if depth >= max_depth and children:
            raise EdgeLandmarksError(f"{where}: nested more than {max_depth} levels deep")
        stack.extend((c, depth + 1) for c in children)


def read_json(path: str | Path, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_DEPTH):
    """A small JSON file of ours (sidecar, manifest), bounded before use: at most ``max_bytes``, UTF-8, valid JSON,
    nested at most ``max_depth`` levels. Anything else is one :class:`EdgeLandmarksError`
    naming the file."""
    from .errors import EdgeLandmarksError

    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise EdgeLandmarksError(f"{path}: file not found") from None
    if size > max_bytes:
        raise EdgeLandmarksError(f"{path}: {size:,} bytes, more than the {max_bytes:,} such a file may have")
    raw = path.read_bytes()[: max_bytes + 1]
    # the nesting is bounded on the text first: the parser itself recurses (RecursionError on ~100k brackets)
    depth = deepest = 0
    in_string = escaped = False
    for ch in raw.decode("utf-8", errors="replace"):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > max_depth:
                raise EdgeLandmarksError(f"{path}: nested more than {max_depth} levels deep")
        elif ch in "]}":
            depth -= 1
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise EdgeLandmarksError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:
        raise EdgeLandmarksError(f"{path}: not valid JSON ({exc})") from None


_RANDOM_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"
_RANDOM_LENGTH = 8


def _temporary_name(path: Path, suffix: str) -> str:
    """``.<name>.<pid>.<8 random characters of [a-z0-9_]><suffix>``: the only form :func:`remove_stale_temporaries`
    recognises."""
    rand = "".join(secrets.choice(_RANDOM_CHARS) for _ in range(_RANDOM_LENGTH))
    return f".{path.name}.{os.getpid()}.{rand}{suffix}"


def temporary(path: str | Path, suffix: str | None = None, folder: bool = False) -> str:
    """A new temporary file (or folder) beside ``path``, named ``.<name>.<pid>.<random><suffix>`` (``suffix``: the
    path's own for a file, none for a folder); a folder holds :data:`TEMPORARY_MARKER` with this process's pid. A
    process killed before its rename leaves it behind, and the next write of ``path`` removes it
    (:func:`remove_stale_temporaries`) once that process is gone."""
    path = Path(path)
    suffix = "" if folder else (path.suffix if suffix is None else suffix)
    remove_stale_temporaries(path)
    for _ in range(100):
        tmp = path.parent / _temporary_name(path, suffix)
        try:
            if folder:
                os.mkdir(tmp, 0o700)
                (tmp / TEMPORARY_MARKER).write_text(str(os.getpid()))
            else:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return str(tmp)
        except FileExistsError:
            continue
        except OSError as exc:  # a read-only or full folder: name the file the user asked for, not our temporary
            if folder and tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            raise OSError(exc.errno, exc.strerror, str(path)) from None
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


def _stale_pid(tmp: Path, path: Path) -> int | None:
    """The pid of the writer that made ``tmp``, if ``tmp`` is one of :func:`temporary`'s for ``path``: the exact
    name form, a plain file with the path's suffix, or a folder (no suffix) that holds our marker with that pid."""
    match = re.fullmatch(re.escape(f".{path.name}.") + rf"([0-9]+)\.[a-z0-9_]{{{_RANDOM_LENGTH}}}(.*)", tmp.name)
    if not match or tmp.is_symlink():
        return None
    pid, suffix = int(match.group(1)), match.group(2)
    if tmp.is_file() and suffix == path.suffix:
        return pid
    if tmp.is_dir() and suffix == "":
        try:
            return pid if (tmp / TEMPORARY_MARKER).read_text().strip() == str(pid) else None
        except (OSError, UnicodeDecodeError):
            return None
    return None


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove the temporaries of ``path`` (:func:`temporary`) whose process no longer runs; a running writer's are
    kept, and so is anything else: a name not in the exact form, a file without the path's suffix, a folder without
    our marker, a link. Returns what was removed."""
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*"):
        pid = _stale_pid(tmp, path)
        if pid is None or process_alive(pid):
            continue
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


@contextlib.contextmanager
def exclusive(path: str | Path):
    """Hold an exclusive lock for ``path`` for the block (``flock`` on its parent folder: no lock file is left
    beside the user's files): a second process that builds the same thing waits for the first, then finds it
    built. Where the platform has no ``fcntl`` the block runs unlocked."""
    path = Path(path)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux or macOS
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (this one does; another user's counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def atomic_write(path: str | Path, writer: Callable[[str], None], suffix: str = "") -> Path:
    """Call ``writer(tmp_path)`` then rename the temporary file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary(path, suffix=suffix or None)
    try:
        writer(tmp)
        publish(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _read_umask() -> int:
    umask = os.umask(0)  # the only way to read it is to set it: done once, at import, before any thread starts
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def plain_mode() -> int:
    """The permissions a plain ``open(path, "w")`` gives a new file under the process's umask (read once at import:
    flipping it on every write raced with ``--serve``'s threads)."""
    return 0o666 & ~_UMASK


def publish(tmp: str | Path, path: str | Path) -> None:
    """Rename a finished temporary file onto ``path`` with a plain file's permissions (mkstemp makes 0600)."""
    os.chmod(tmp, plain_mode())
    os.replace(tmp, path)


def write_image(path: str | Path, image) -> Path:
    """Write an image atomically (the format from the suffix, OpenCV's encoders), or raise one error naming the
    file: an unknown suffix, or a write that failed (a full disk, a folder that cannot be written)."""
    import cv2

    from .errors import EdgeLandmarksError

    path = Path(path)
    if not cv2.haveImageWriter(str(path)):
        raise EdgeLandmarksError(f"{path}: OpenCV writes no images of this type (use .png or .jpg)")

    def write(tmp: str) -> None:
        if not cv2.imwrite(tmp, image):
            raise EdgeLandmarksError(f"{path}: the image could not be written (is the disk full?)")

    return atomic_write(path, write, suffix=path.suffix)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def refuse_overwrite(path: str | Path, force: bool) -> None:
    from .errors import EdgeLandmarksError

    if Path(path).exists() and not force:
        raise EdgeLandmarksError(f"{path} exists; pass --force to overwrite it")
