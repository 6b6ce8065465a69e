"""Atomic file writes: a temporary file beside the target, then a rename; nothing half-written is left behind."""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write_text", "atomic_write_bytes", "atomic_write_json", "atomic_write", "refuse_overwrite",
           "publish", "plain_mode", "write_image", "temporary", "remove_stale_temporaries", "process_alive"]


def temporary(path: str | Path, suffix: str = "", folder: bool = False) -> str:
    """A new temporary file (or folder) beside ``path``, named ``.<name>.<pid>.<random><suffix>``: a process killed
    before its rename leaves it behind, and the next write of ``path`` removes it
    (:func:`remove_stale_temporaries`) once that process is gone."""
    path = Path(path)
    remove_stale_temporaries(path)
    prefix = f".{path.name}.{os.getpid()}."
    try:
        if folder:
            return tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=path.parent)
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    except OSError as exc:  # a read-only or full folder: name the file the user asked for, not our temporary
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)
    return tmp


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove the temporaries of ``path`` (:func:`temporary`) whose process no longer runs; a running writer's are
    kept. Returns what was removed."""
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    head = f".{path.name}."
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*"):
        pid = tmp.name[len(head):].split(".", 1)[0]
        if not pid.isdigit() or process_alive(int(pid)):
            continue
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


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
    tmp = temporary(path, suffix=suffix or path.suffix)
    try:
        writer(tmp)
        publish(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def plain_mode() -> int:
    """The permissions a plain ``open(path, "w")`` gives a new file under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


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
