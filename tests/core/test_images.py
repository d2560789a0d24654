"""core.images: decoding every kind of file (and every kind of broken file), and atomic saving.

Files are made with OpenCV's encoder and byte-level surgery (EXIF segments, PNG chunks with fixed
CRCs), and expected values are written from the formats' definitions, not from core.images.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from core import images
from core.images import (
    ImageError,
    SaveError,
    atomic_write,
    is_image_file,
    load_image,
    save_png,
    save_raw,
    to_grayscale,
)

# ---------------------------------------------------------------------------------- helpers


def write_encoded(path: Path, image: np.ndarray, extension: str | None = None) -> Path:
    ok, encoded = cv2.imencode(extension or path.suffix, image)
    assert ok
    path.write_bytes(encoded.tobytes())
    return path


def exif_app1(orientation: int) -> bytes:
    """A JPEG APP1 segment holding a little-endian TIFF IFD with one Orientation (0x0112) tag."""
    entry = struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)  # SHORT, count 1, value
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + entry + struct.pack("<I", 0)
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def png_with_size(width: int, height: int) -> bytes:
    """A valid small PNG whose IHDR is rewritten to claim width x height, with a correct CRC."""
    png = cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))[1].tobytes()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return png[:8] + chunk + png[33:]


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name not in keep)


# ---------------------------------------------------------------------------------- loading


def test_8bit_gray_is_2d_float32_divided_by_255(tmp_path: Path) -> None:
    pixels = np.array([[0, 1, 128], [200, 254, 255]], np.uint8)
    image = load_image(write_encoded(tmp_path / "gray.png", pixels))
    assert image.dtype == np.float32
    assert image.shape == (2, 3)
    assert image.flags.c_contiguous
    np.testing.assert_array_equal(image, pixels.astype(np.float32) / np.float32(255))
    assert image.max() == 1.0


def test_16bit_gray_scales_by_65535(tmp_path: Path) -> None:
    pixels = np.array([[0, 1000, 32768, 65535]], np.uint16)
    image = load_image(write_encoded(tmp_path / "deep.png", pixels))
    assert image.dtype == np.float32
    np.testing.assert_allclose(image, [[0.0, 1000 / 65535, 32768 / 65535, 1.0]], rtol=1e-6)
    assert image[0, 3] == 1.0


def test_colour_is_rgb_order(tmp_path: Path) -> None:
    red_bgr = np.zeros((3, 5, 3), np.uint8)
    red_bgr[..., 2] = 255  # OpenCV writes BGR: channel 2 is red
    image = load_image(write_encoded(tmp_path / "red.png", red_bgr))
    assert image.shape == (3, 5, 3)
    assert image.flags.c_contiguous
    np.testing.assert_array_equal(image[..., 0], 1.0)
    np.testing.assert_array_equal(image[..., 1:], 0.0)


def test_rgba_drops_alpha_without_premultiplying(tmp_path: Path) -> None:
    bgra = np.zeros((2, 2, 4), np.uint8)
    bgra[..., 0] = 255  # blue
    bgra[..., 3] = 10  # nearly transparent
    image = load_image(write_encoded(tmp_path / "rgba.png", bgra))
    assert image.shape == (2, 2, 3)
    np.testing.assert_array_equal(image[..., 2], 1.0)
    np.testing.assert_array_equal(image[..., :2], 0.0)


def test_16bit_colour(tmp_path: Path) -> None:
    bgr = np.zeros((1, 1, 3), np.uint16)
    bgr[0, 0] = (65535, 0, 13107)  # B, G, R
    image = load_image(write_encoded(tmp_path / "deep.png", bgr))
    np.testing.assert_allclose(image[0, 0], [0.2, 0.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize("orientation", [6, 8])
def test_jpeg_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    bgr = np.zeros((20, 40, 3), np.uint8)
    bgr[:6, :6] = 255  # a white block in the stored top-left corner
    jpeg = cv2.imencode(".jpg", bgr)[1].tobytes()
    path = tmp_path / "rotated.jpg"
    path.write_bytes(jpeg[:2] + exif_app1(orientation) + jpeg[2:])

    image = load_image(path)
    assert image.shape == (40, 20, 3)  # rotated a quarter turn
    # 6: rotate 90 degrees clockwise to display, so the top-left corner goes to the top-right;
    # 8: counter-clockwise, so it goes to the bottom-left.
    corner = image[:6, -6:] if orientation == 6 else image[-6:, :6]
    assert corner.mean() > 0.9
    assert image[:6, :6].mean() < 0.1 if orientation == 6 else image[-6:, -6:].mean() < 0.1


def test_float_tiff_in_unit_range_keeps_values(tmp_path: Path) -> None:
    values = np.random.default_rng(1).random((5, 7), dtype=np.float32)
    image = load_image(write_encoded(tmp_path / "unit.tiff", values))
    np.testing.assert_array_equal(image, values)


def test_float_tiff_out_of_range_is_rescaled_and_non_finite_replaced(tmp_path: Path) -> None:
    values = np.array([[-2.0, 0.0, 2.0, np.nan], [np.inf, -np.inf, 1.0, 6.0]], np.float32)
    image = load_image(write_encoded(tmp_path / "wide.tiff", values))
    # finite range -2..6 -> 0..1; NaN -> 0, +inf -> 1, -inf -> 0
    expected = np.array([[0.0, 0.25, 0.5, 0.0], [1.0, 0.0, 0.375, 1.0]], np.float32)
    np.testing.assert_allclose(image, expected, atol=1e-7)


def test_four_channel_float_tiff_loads_as_rgb(tmp_path: Path) -> None:
    # OpenCV 5 fails this file with IMREAD_ANYCOLOR; load_image falls back to IMREAD_UNCHANGED.
    bgra = np.random.default_rng(2).random((3, 4, 4), dtype=np.float32)
    image = load_image(write_encoded(tmp_path / "rgba.tiff", bgra))
    np.testing.assert_array_equal(image, bgra[..., 2::-1])


def test_non_ascii_path(tmp_path: Path) -> None:
    folder = tmp_path / "Bilder 画像"
    folder.mkdir()
    path = write_encoded(folder / "straße.png", np.full((2, 2), 51, np.uint8))
    np.testing.assert_allclose(load_image(path), 0.2)
    np.testing.assert_allclose(load_image(str(path)), 0.2)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.png", True),
        ("a.PNG", True),
        ("photo.JPeG", True),
        ("scan.tif", True),
        ("x.webp", True),
        ("kernel.json", False),
        ("notes.txt", False),
        ("png", False),
        ("archive.png.gz", False),
    ],
)
def test_is_image_file(name: str, expected: bool) -> None:
    assert is_image_file(name) is expected
    assert is_image_file(Path("folder") / name) is expected


# ---------------------------------------------------------------------------- broken files


def assert_image_error(path: Path, reason: str) -> ImageError:
    with pytest.raises(ImageError) as info:
        load_image(path)
    message = str(info.value)
    assert str(path) in message
    assert reason in message
    assert isinstance(info.value, ValueError)
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    assert_image_error(tmp_path / "nope.png", "no such file")


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "looks-like.png"
    folder.mkdir()
    assert_image_error(folder, "folder")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    assert_image_error(path, "empty file")


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.png"
    path.write_bytes(np.random.default_rng(3).bytes(4096))
    assert_image_error(path, "not an image OpenCV can read")


def test_text_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "readme.jpg"
    path.write_text("This is not a JPEG.\n" * 20, encoding="utf-8")
    assert_image_error(path, "not an image OpenCV can read")


@pytest.mark.parametrize(
    "extension",
    [
        ".png",
        ".tiff",
        # OpenCV 4 decodes a truncated JPEG (grey bottom, a warning on stderr); OpenCV 5 refuses it.
        pytest.param(
            ".jpg",
            marks=pytest.mark.skipif(
                int(cv2.__version__.split(".")[0]) < 5, reason="OpenCV 4 decodes truncated JPEGs"
            ),
        ),
    ],
)
def test_truncated_file(tmp_path: Path, extension: str) -> None:
    picture = (np.random.default_rng(4).random((64, 64, 3)) * 255).astype(np.uint8)
    encoded = cv2.imencode(extension, picture)[1].tobytes()
    path = tmp_path / f"cut{extension}"
    path.write_bytes(encoded[: len(encoded) // 2])
    assert_image_error(path, "not an image OpenCV can read")


def test_png_claiming_huge_size_is_refused_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_with_size(200_000, 200_000))
    error = assert_image_error(path, "too large: 200000 x 200000 pixels")
    assert f"{images.MAX_PIXELS // 1_000_000} megapixels" in error.reason


def test_png_just_over_the_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    # 20000 x 20000 is under OpenCV's own 2**30-pixel limit: without the header check, OpenCV
    # would try to decode (and allocate) it.
    path = tmp_path / "big.png"
    path.write_bytes(png_with_size(20_000, 20_000))
    assert_image_error(path, "too large: 20000 x 20000 pixels")


def test_jpeg_claiming_huge_size_is_refused_from_its_header(tmp_path: Path) -> None:
    jpeg = bytearray(cv2.imencode(".jpg", np.zeros((8, 8), np.uint8))[1].tobytes())
    sof = jpeg.find(b"\xff\xc0")
    assert sof > 0
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", 60_000, 50_000)  # height, width
    path = tmp_path / "bomb.jpg"
    path.write_bytes(bytes(jpeg))
    assert_image_error(path, "too large: 50000 x 60000 pixels")


def test_opencv_size_assertion_becomes_image_error(tmp_path: Path) -> None:
    # BMP headers are not parsed by load_image; OpenCV raises cv2.error for this one.
    bmp = bytearray(cv2.imencode(".bmp", np.zeros((4, 4, 3), np.uint8))[1].tobytes())
    bmp[18:26] = struct.pack("<ii", 200_000, 200_000)
    path = tmp_path / "bomb.bmp"
    path.write_bytes(bytes(bmp))
    assert_image_error(path, "too large")


def test_decoded_size_is_checked_for_formats_without_a_header_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images, "MAX_PIXELS", 99)
    path = write_encoded(tmp_path / "small.bmp", np.zeros((10, 10, 3), np.uint8))
    assert_image_error(path, "too large: 10 x 10 pixels")


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root reads unreadable files"
)
def test_unreadable_file(tmp_path: Path) -> None:
    path = write_encoded(tmp_path / "secret.png", np.zeros((2, 2), np.uint8))
    path.chmod(0)
    assert_image_error(path, "permission denied")


def test_permission_error_while_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same failure as above, simulated so it also runs as root.
    path = write_encoded(tmp_path / "secret.png", np.zeros((2, 2), np.uint8))

    def denied(self: Path) -> bytes:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert_image_error(path, "permission denied")


# -------------------------------------------------------------------------------- grayscale


def test_grayscale_uses_bt601_weights() -> None:
    rgb = np.array([[[0.2, 0.4, 0.8], [1.0, 0.0, 0.0]]], np.float32)
    gray = to_grayscale(rgb)
    assert gray.dtype == np.float32
    assert gray.shape == (1, 2)
    # 0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 0.8 = 0.0598 + 0.2348 + 0.0912
    np.testing.assert_allclose(gray, [[0.3858, 0.299]], rtol=1e-6)


def test_grayscale_of_gray_is_unchanged() -> None:
    gray = np.array([[0.1, -3.0], [7.5, 0.0]], np.float32)
    assert to_grayscale(gray) is gray
    from_float64 = to_grayscale(gray.astype(np.float64))
    assert from_float64.dtype == np.float32
    np.testing.assert_array_equal(from_float64, gray)


@pytest.mark.parametrize("shape", [(4,), (2, 2, 4), (2, 2, 1, 3)])
def test_grayscale_rejects_other_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="shape"):
        to_grayscale(np.zeros(shape, np.float32))


# ----------------------------------------------------------------------------------- saving

RAW_ARRAYS = {
    "gray": np.random.default_rng(5).standard_normal((6, 9)).astype(np.float32) * 100,
    "rgb": np.random.default_rng(6).standard_normal((6, 9, 3)).astype(np.float32) * 100,
}


@pytest.mark.parametrize("kind", RAW_ARRAYS)
def test_save_raw_npy_round_trips_exactly(tmp_path: Path, kind: str) -> None:
    values = RAW_ARRAYS[kind]
    path = tmp_path / "raw.npy"
    save_raw(path, values)
    loaded = np.load(path, allow_pickle=False)
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, values)
    assert leftovers(tmp_path, {"raw.npy"}) == []


@pytest.mark.parametrize("kind", RAW_ARRAYS)
@pytest.mark.parametrize("extension", [".tif", ".tiff", ".TIFF"])
def test_save_raw_tiff_round_trips_exactly(tmp_path: Path, kind: str, extension: str) -> None:
    values = RAW_ARRAYS[kind]
    values[0, 0] = -0.0  # the sign of zero and the extremes survive too
    values[0, 1] = np.finfo(np.float32).max
    values[0, 2] = np.finfo(np.float32).tiny
    path = tmp_path / f"raw{extension}"
    save_raw(path, values)
    stored = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    assert stored.dtype == np.float32
    if values.ndim == 3:
        stored = stored[..., ::-1]  # the file is BGR, as image readers expect
    assert stored.view(np.uint32).tolist() == values.view(np.uint32).tolist()


def test_save_raw_tiff_reads_back_through_load_image_in_rgb(tmp_path: Path) -> None:
    values = np.random.default_rng(7).random((4, 5, 3), dtype=np.float32)
    save_raw(tmp_path / "unit.tiff", values)
    np.testing.assert_array_equal(load_image(tmp_path / "unit.tiff"), values)


def test_save_raw_converts_to_float32(tmp_path: Path) -> None:
    save_raw(tmp_path / "raw.npy", np.arange(6, dtype=np.float64).reshape(2, 3))
    loaded = np.load(tmp_path / "raw.npy")
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, np.arange(6).reshape(2, 3))


def test_save_raw_npy_takes_any_shape_tiff_does_not(tmp_path: Path) -> None:
    stack = np.zeros((4, 5, 8), np.float32)
    save_raw(tmp_path / "stack.npy", stack)
    assert np.load(tmp_path / "stack.npy").shape == (4, 5, 8)
    with pytest.raises(ValueError, match=r"\(4, 5, 8\)"):
        save_raw(tmp_path / "stack.tiff", stack)
    assert not (tmp_path / "stack.tiff").exists()


def test_save_raw_rejects_other_extensions(tmp_path: Path) -> None:
    with pytest.raises(SaveError, match="unsupported raw format") as info:
        save_raw(tmp_path / "raw.png", np.zeros((2, 2), np.float32))
    assert str(tmp_path / "raw.png") in str(info.value)
    assert leftovers(tmp_path, set()) == []


def test_save_png_rgb_and_gray(tmp_path: Path) -> None:
    rgb = np.zeros((3, 4, 3), np.uint8)
    rgb[..., 0] = 255  # red
    rgb[1, 2] = (10, 20, 30)
    save_png(tmp_path / "shown.png", rgb)
    stored_bgr = cv2.imdecode(np.fromfile(tmp_path / "shown.png", np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(stored_bgr[..., ::-1], rgb)

    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    save_png(tmp_path / "gray.png", gray)
    stored = cv2.imdecode(np.fromfile(tmp_path / "gray.png", np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(stored, gray)
    assert leftovers(tmp_path, {"shown.png", "gray.png"}) == []


@pytest.mark.parametrize(
    "image", [np.zeros((2, 2), np.float32), np.zeros((2, 2, 4), np.uint8), np.zeros(3, np.uint8)]
)
def test_save_png_rejects_non_display_arrays(tmp_path: Path, image: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8"):
        save_png(tmp_path / "x.png", image)
    assert leftovers(tmp_path, set()) == []


def test_save_png_needs_png_name(tmp_path: Path) -> None:
    with pytest.raises(SaveError, match=r"\.png"):
        save_png(tmp_path / "x.jpg", np.zeros((2, 2), np.uint8))


def test_atomic_write_creates_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "kernel.json"
    atomic_write(path, b'{"a": 1}')
    assert path.read_bytes() == b'{"a": 1}'
    atomic_write(str(path), b"[]")
    assert path.read_bytes() == b"[]"
    assert leftovers(tmp_path, {"kernel.json"}) == []


def test_saved_file_gets_the_usual_mode_not_the_temp_files_0600(tmp_path: Path) -> None:
    path = tmp_path / "new.bin"
    atomic_write(path, b"x")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_overwriting_keeps_the_existing_mode(tmp_path: Path) -> None:
    path = tmp_path / "private.bin"
    path.write_bytes(b"old")
    path.chmod(0o640)
    atomic_write(path, b"new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_disk_full_midway_leaves_no_temp_and_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "raw.npy"
    target.write_bytes(b"previous contents")

    def save_half_then_fail(file, array, allow_pickle=False) -> None:
        file.write(b"\x93NUMPY half a header")
        assert leftovers(tmp_path, {"raw.npy"}) != []  # the temp file really exists now
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(images.np, "save", save_half_then_fail)
    with pytest.raises(SaveError) as info:
        save_raw(target, np.ones((3, 3), np.float32))

    assert info.value.errno == errno.ENOSPC
    assert "disk full" in str(info.value)
    assert str(target) in str(info.value)
    assert isinstance(info.value, OSError)
    assert target.read_bytes() == b"previous contents"
    assert leftovers(tmp_path, {"raw.npy"}) == []


def test_failure_at_fsync_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Delayed-allocation file systems (and NFS) often report a full disk only on flush/fsync.
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(SaveError, match="disk full"):
        save_png(tmp_path / "shown.png", np.zeros((2, 2), np.uint8))
    assert leftovers(tmp_path, set()) == []


def test_interrupt_midway_leaves_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(file, array, allow_pickle=False) -> None:
        file.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(images.np, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_raw(tmp_path / "raw.npy", np.zeros(2, np.float32))
    assert leftovers(tmp_path, set()) == []


def test_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "no-such-folder" / "out.png"
    with pytest.raises(SaveError, match="folder does not exist") as info:
        save_png(path, np.zeros((2, 2), np.uint8))
    assert str(path) in str(info.value)
    assert not path.parent.exists()


def test_target_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "out.npy").mkdir()
    with pytest.raises(SaveError, match="folder"):
        save_raw(tmp_path / "out.npy", np.zeros(2, np.float32))
    assert leftovers(tmp_path, {"out.npy"}) == []


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root writes into read-only folders"
)
def test_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(SaveError, match="permission denied"):
            atomic_write(folder / "out.bin", b"data")
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o700)


def test_unwritable_folder_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What creating the temp file raises in a read-only folder, simulated so it runs as root.
    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(images.tempfile, "NamedTemporaryFile", denied)
    with pytest.raises(SaveError, match="permission denied") as info:
        atomic_write(tmp_path / "out.bin", b"data")
    assert info.value.errno == errno.EACCES
    assert leftovers(tmp_path, set()) == []


def test_core_image_modules_do_not_import_qt() -> None:
    code = (
        "import sys, core.images, core.display, resources\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]\n"
        "assert not bad, bad\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=60)
