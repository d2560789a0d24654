"""Loading and saving images: decoding with OpenCV, float32 conversion, atomic writes.

Everything the app reads goes through :func:`load_image` (float32 in [0, 1], RGB order) and
everything it writes goes through :func:`atomic_write`, so a failed save never leaves half a file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import struct
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_PIXELS",
    "RAW_EXTENSIONS",
    "ImageError",
    "SaveError",
    "atomic_write",
    "is_image_file",
    "load_image",
    "os_error_reason",
    "remove_stale_staging_files",
    "save_png",
    "save_raw",
    "staging_name",
    "to_grayscale",
]

#: Largest image :func:`load_image` accepts (width * height). 200 megapixels of RGB float32 is
#: already 2.4 GB, before the pipeline makes any copies.
MAX_PIXELS = 200_000_000

#: File extensions OpenCV's imgcodecs reads in the opencv-python-headless wheels (OpenEXR is left
#: out: the wheels build it disabled).
IMAGE_EXTENSIONS = frozenset(
    {
        ".bmp", ".dib",
        ".jpg", ".jpeg", ".jpe",
        ".jp2",
        ".png",
        ".webp",
        ".avif",
        ".gif",
        ".tif", ".tiff",
        ".pbm", ".pgm", ".ppm", ".pxm", ".pnm", ".pfm",
        ".sr", ".ras",
        ".hdr", ".pic",
    }
)  # fmt: skip

#: Extensions :func:`save_raw` writes.
RAW_EXTENSIONS = frozenset({".npy", ".tif", ".tiff"})

# ANYDEPTH keeps 16-bit and float data; ANYCOLOR keeps gray files 2-D and drops alpha. Unlike
# IMREAD_UNCHANGED, these flags let OpenCV apply the EXIF orientation.
_IMREAD_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}

# NamedTemporaryFile creates files 0600; a saved file should get the usual mode instead. The umask
# can only be read by setting it, so read it once at import rather than racing other threads later.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class ImageError(ValueError):
    """An image file cannot be loaded.

    Parameters
    ----------
    path : str or os.PathLike
        The file that failed to load.
    reason : str
        Why, in words for the user ("no such file", "empty file", ...).
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(f"Cannot load {os.fspath(path)}: {reason}")
        self.path = Path(path)
        self.reason = reason


class SaveError(OSError):
    """A file cannot be saved; no partial file is left behind.

    Parameters
    ----------
    path : str or os.PathLike
        The file that failed to save.
    reason : str
        Why, in words for the user ("disk full", "folder does not exist", ...).
    errno : int, optional
        The operating-system error number, when there is one.
    """

    def __init__(
        self, path: str | os.PathLike[str], reason: str, *, errno: int | None = None
    ) -> None:
        super().__init__(f"Cannot save {os.fspath(path)}: {reason}")
        self.path = Path(path)
        self.reason = reason
        # Only errno, not filename/strerror: those would make OSError.__str__ replace our message.
        self.errno = errno


# --------------------------------------------------------------------------------------- loading


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Return whether `path` has an extension OpenCV can read (case-insensitive).

    Only the name is checked; the file is not opened.
    """
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Load an image file as float32 in [0, 1].

    Parameters
    ----------
    path : str or os.PathLike
        Any file OpenCV decodes: 8/16-bit integer or float, gray, RGB or RGBA.

    Returns
    -------
    np.ndarray
        C-contiguous float32, shape (H, W) for gray files and (H, W, 3) in RGB order for colour
        files (alpha is dropped). The EXIF orientation is applied. Integer images are divided by
        their type's maximum. Float images already within [0, 1] keep their values; others are
        rescaled from their finite min..max to 0..1. NaN becomes 0, +inf 1, -inf 0.

    Raises
    ------
    ImageError
        The file is missing, unreadable, empty, not a decodable image, or larger than
        :data:`MAX_PIXELS`. The message names the file and the reason.
    """
    path = Path(path)
    data = _read_bytes(path)
    if not data:
        raise ImageError(path, "empty file")
    header_size = _header_size(data)
    if header_size is not None:
        _check_size(path, *header_size)

    image = _decode(path, data)
    _check_size(path, image.shape[1], image.shape[0])
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return _to_unit_float32(image)


def _read_bytes(path: Path) -> bytes:
    # Python I/O rather than cv2.imread: clear errors, and non-ASCII paths work on every platform.
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageError(path, "no such file") from None
    except IsADirectoryError:
        raise ImageError(path, "is a folder, not a file") from None
    except PermissionError:
        raise ImageError(path, "permission denied") from None
    except MemoryError:
        raise ImageError(path, "file too large to read into memory") from None
    except OSError as exc:
        raise ImageError(path, exc.strerror or str(exc)) from None


def _header_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) from a PNG or JPEG header, or None for other/unparsable data.

    Lets :func:`load_image` refuse a huge image before OpenCV allocates it. Other formats are
    checked after decoding (OpenCV itself refuses more than 2**30 pixels).
    """
    if data.startswith(_PNG_SIGNATURE) and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD9:  # markers without a length field
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF_MARKERS:
            if pos + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        if marker == 0xDA:  # start of scan without a frame header: let the decoder complain
            return None
        pos += 2 + length
    return None


def _check_size(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageError(
            path,
            f"too large: {width} x {height} pixels exceeds the limit of "
            f"{MAX_PIXELS // 1_000_000} megapixels",
        )


def _decode(path: Path, data: bytes) -> np.ndarray:
    buffer = np.frombuffer(data, dtype=np.uint8)
    try:
        image = cv2.imdecode(buffer, _IMREAD_FLAGS)
        if image is None:
            # OpenCV 5 cannot read a 4-channel float TIFF with ANYCOLOR (assertion in the TIFF
            # decoder) but can with UNCHANGED; that path skips the orientation, which TIFFs
            # from numeric tools do not set anyway.
            image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
            if image is not None and image.ndim == 3 and image.shape[2] == 4:
                image = image[:, :, :3]
    except cv2.error as exc:
        if "CV_IO_MAX_IMAGE_PIXELS" in str(exc) or "validateInputImageSize" in str(exc):
            raise ImageError(path, "too large for OpenCV to decode") from None
        raise ImageError(path, "not an image OpenCV can read (the decoder failed)") from None
    except MemoryError:
        raise ImageError(path, "too large to decode in the available memory") from None
    if image is None or image.size == 0:
        raise ImageError(path, "not an image OpenCV can read")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ImageError(path, f"unsupported image layout {image.shape}")
    return image


def _to_unit_float32(image: np.ndarray) -> np.ndarray:
    if image.dtype.kind == "u":
        # Divide (not multiply by 1/max) so the maximum maps to exactly 1.0.
        return np.ascontiguousarray(image / np.float32(np.iinfo(image.dtype).max), np.float32)

    result = np.array(image, dtype=np.float32, order="C")  # a copy we may modify in place
    finite = np.isfinite(result)
    if not finite.all():
        if not finite.any():
            return np.zeros_like(result)
        low, high = float(result[finite].min()), float(result[finite].max())
    else:
        low, high = float(result.min()), float(result.max())
    if low < 0.0 or high > 1.0:
        span = high - low
        if span > 0:
            result -= np.float32(low)
            result /= np.float32(span)
            np.clip(result, 0.0, 1.0, out=result)  # float rounding can step just past 1
        else:
            result.fill(0.0)
    np.nan_to_num(result, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    return result


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """Convert an RGB image to gray with the BT.601 weights OpenCV uses.

    Parameters
    ----------
    image : np.ndarray
        (H, W, 3) in RGB order, or (H, W) already gray.

    Returns
    -------
    np.ndarray
        float32 (H, W): ``0.299 R + 0.587 G + 0.114 B``. Values are not rescaled. A 2-D input is
        returned as C-contiguous float32 with its values unchanged (the same array when it
        already is one).
    """
    array = np.asarray(image)
    if array.ndim == 2:
        return np.ascontiguousarray(array, dtype=np.float32)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {array.shape}")
    return cv2.cvtColor(np.ascontiguousarray(array, dtype=np.float32), cv2.COLOR_RGB2GRAY)


# ---------------------------------------------------------------------------------------- saving

_ERRNO_REASONS = {
    errno.ENOSPC: "disk full (no space left on device)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOENT: "folder does not exist",
    errno.ENOTDIR: "folder does not exist",
    errno.EISDIR: "a folder has that name",
    errno.ENAMETOOLONG: "file name too long",
}


def os_error_reason(exc: OSError) -> str:
    """Why an operating-system call failed, in words for the user ("disk full ...")."""
    return _ERRNO_REASONS.get(exc.errno or 0) or exc.strerror or str(exc)


def _save_error(path: Path, exc: OSError) -> SaveError:
    return SaveError(path, os_error_reason(exc), errno=exc.errno)


# Staging (temporary) files are named ".<final name>.convscope-<pid>-<tag><ext>": hidden, clearly
# ours, and carrying the process id, so a later run can tell one left by a killed process (gone)
# from one a concurrent run is writing right now.
_STAGING_RE = re.compile(r"^\..+\.convscope-(\d+)-\w+(\.\w+)?$", re.ASCII)
#: A staging file this old is stale even if a process with its pid exists (pids get reused).
STALE_STAGING_SECONDS = 3600.0


def staging_name(final_name: str, tag: str) -> str:
    """Hidden name for a file being written before it becomes ``final_name``.

    ``tag`` (letters, digits, ``_``) tells apart several staging files of one process; it may
    end with an extension, which some writers need to pick the format.
    """
    return f".{final_name}.convscope-{os.getpid()}-{tag}"


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # exists under another user, or we cannot tell: keep the file
    return True


def remove_stale_staging_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete staging files that a killed ConvScope process left in ``folder``.

    Only files named by :func:`staging_name` (or the temporary files of :func:`atomic_write`)
    are touched, and only when the process that made them is gone or they are older than
    :data:`STALE_STAGING_SECONDS`. Files that cannot be removed are skipped silently.

    Returns
    -------
    list of Path
        The files removed.
    """
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _STAGING_RE.match(entry.name)
        if match is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_STAGING_SECONDS
            if old or not _process_alive(int(match.group(1))):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


@contextlib.contextmanager
def _atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Yield a temporary file beside `path`; on success it replaces `path`, on failure vanishes."""
    folder = path.parent
    if not folder.is_dir():
        raise SaveError(path, "folder does not exist", errno=errno.ENOENT)
    if path.is_dir():
        raise SaveError(path, "a folder has that name", errno=errno.EISDIR)
    try:
        # Same folder as the target, so os.replace is a rename on one file system.
        tmp = tempfile.NamedTemporaryFile(
            dir=folder, prefix=staging_name(path.name, ""), suffix=".tmp", delete=False
        )
    except OSError as exc:
        raise _save_error(path, exc) from exc
    tmp_path = Path(tmp.name)
    try:
        with tmp:
            yield tmp
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_path, _existing_mode(path))
        os.replace(tmp_path, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if isinstance(exc, OSError) and not isinstance(exc, SaveError):
            raise _save_error(path, exc) from exc
        raise


def _existing_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_UMASK


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically.

    The bytes go to a temporary file in the same folder, which then replaces `path` with
    ``os.replace``. Readers see the old file or the complete new one, never half a file.

    Raises
    ------
    SaveError
        The folder is missing or not writable, the disk is full, ... The temporary file is
        removed and an existing `path` is left untouched.
    """
    with _atomic_file(Path(path)) as file:
        file.write(data)


def save_raw(path: str | os.PathLike[str], array: np.ndarray, *, pages: bool = False) -> None:
    """Save values losslessly as float32: ``.npy``, or float32 ``.tif``/``.tiff``.

    Parameters
    ----------
    path : str or os.PathLike
        Target file; the extension picks the format.
    array : np.ndarray
        Values to save, converted to float32. For TIFF: (H, W) or (H, W, 3) in RGB order
        (stored BGR, as image readers expect); :func:`load_image` on a TIFF whose values lie
        outside [0, 1] rescales them, so read raw TIFFs back with ``cv2.imdecode(...,
        cv2.IMREAD_UNCHANGED)``. ``.npy`` takes any shape.
    pages : bool
        TIFF only: store an (H, W) or (H, W, C) stack of maps (any C) as one float32 page per
        channel, in channel order (what ImageJ and ``cv2.imdecodemulti`` read as a stack).

    Raises
    ------
    SaveError
        Unsupported extension, or the write failed (see :func:`atomic_write`).
    ValueError
        TIFF requested for an array that is not (H, W) or (H, W, 3).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    values = np.ascontiguousarray(array, dtype=np.float32)
    if suffix == ".npy":
        with _atomic_file(path) as file:
            np.save(file, values, allow_pickle=False)
    elif suffix in (".tif", ".tiff") and pages:
        if values.ndim not in (2, 3):
            raise ValueError(f"a TIFF stack holds (H, W, C) values; got shape {values.shape}")
        stack = values[:, :, None] if values.ndim == 2 else values
        planes = [np.ascontiguousarray(stack[:, :, c]) for c in range(stack.shape[2])]
        try:
            ok, encoded = cv2.imencodemulti(".tiff", planes)
        except cv2.error as exc:
            raise SaveError(path, f"OpenCV could not encode the stack: {exc}") from None
        if not ok:
            raise SaveError(path, "OpenCV could not encode the stack")
        atomic_write(path, np.asarray(encoded).tobytes())
    elif suffix in (".tif", ".tiff"):
        if values.ndim == 3 and values.shape[2] == 3:
            values = cv2.cvtColor(values, cv2.COLOR_RGB2BGR)
        elif values.ndim != 2:
            raise ValueError(
                f"a TIFF holds (H, W) or (H, W, 3) values; got shape {values.shape} "
                "(save it as .npy instead)"
            )
        atomic_write(path, _encode(path, ".tiff", values))
    else:
        raise SaveError(path, f"unsupported raw format {path.suffix!r} (use .npy, .tif or .tiff)")


def save_png(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Save an "as displayed" image as PNG.

    Parameters
    ----------
    path : str or os.PathLike
        Target file ending in ``.png``.
    image : np.ndarray
        uint8, RGB (H, W, 3) or gray (H, W).

    Raises
    ------
    SaveError
        The extension is not ``.png`` or the write failed (see :func:`atomic_write`).
    ValueError
        `image` is not uint8 (H, W) or (H, W, 3).
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise SaveError(path, f"expected a .png file name, got {path.suffix!r}")
    array = np.asarray(image)
    if array.dtype != np.uint8 or not (
        array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)
    ):
        raise ValueError(
            f"save_png needs uint8 (H, W) or (H, W, 3); got {array.dtype} {array.shape}"
        )
    if array.ndim == 3:
        array = cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_RGB2BGR)
    atomic_write(path, _encode(path, ".png", array))


def _encode(path: Path, extension: str, array: np.ndarray) -> bytes:
    try:
        ok, encoded = cv2.imencode(extension, array)
    except cv2.error as exc:
        raise SaveError(path, f"OpenCV could not encode the image: {exc}") from None
    if not ok:
        raise SaveError(path, "OpenCV could not encode the image")
    return encoded.tobytes()
