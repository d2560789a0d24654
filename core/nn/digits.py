"""Digit pictures made the way MNIST made them, and synthetic digits drawn with OpenCV.

MNIST (LeCun, Cortes, Burges): each digit's ink was fitted into a 20x20 box keeping its
aspect ratio, then placed in a 28x28 field with its centre of mass at the centre. Any drawing
or photo goes through the same steps before the network sees it, ink bright on black.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

SIDE = 28
BOX = 20
Polarity = Literal["auto", "dark-on-light", "light-on-dark"]
POLARITIES = ("auto", "dark-on-light", "light-on-dark")
#: Pixels brighter than this fraction of the brightest (after removing the background) are ink.
INK_THRESHOLD = 0.25


def _gray(image: np.ndarray) -> np.ndarray:
    """Gray float32 in [0, 1] from uint8/uint16 or float (H, W), (H, W, 1|3|4) arrays."""
    image = np.asarray(image)
    integer = np.issubdtype(image.dtype, np.integer)
    scale = float(np.iinfo(image.dtype).max) if integer else 1.0
    if image.ndim == 3 and image.shape[2] in (3, 4):
        image = image[:, :, :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim != 2 or min(image.shape) < 1:
        raise ValueError(
            f"a digit picture must be a non-empty gray or RGB image, not {image.shape}"
        )
    return np.nan_to_num(image.astype(np.float32) / np.float32(scale))


def preprocess_digit(image: np.ndarray, polarity: Polarity = "auto") -> np.ndarray:
    """A digit picture as MNIST's 28x28: float32 in [0, 1], ink bright on black.

    Parameters
    ----------
    image
        (H, W) or (H, W, 3) array: uint8, or float in [0, 1].
    polarity
        ``"dark-on-light"`` (pen on paper), ``"light-on-dark"`` (MNIST, chalk) or ``"auto"``:
        the border's median tells which is the background.

    Returns
    -------
    np.ndarray
        (28, 28) float32. The ink is cropped, scaled to fit 20x20 keeping its aspect ratio,
        and shifted so its centre of mass is at the centre; an inkless picture gives zeros.
    """
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {', '.join(POLARITIES)}, not {polarity!r}")
    gray = _gray(image)
    if polarity == "auto":
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        polarity = "dark-on-light" if np.median(border) > 0.5 else "light-on-dark"
    ink = 1.0 - gray if polarity == "dark-on-light" else gray
    # Paper is rarely pure white in a photo: the border's median is the background level.
    border = np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])
    ink = np.clip(ink - np.median(border), 0.0, None)
    peak = float(ink.max())
    if peak <= 1e-3:
        return np.zeros((SIDE, SIDE), np.float32)
    ink /= peak
    ink[ink < INK_THRESHOLD / 2] = 0.0  # faint paper texture is not ink
    rows = np.flatnonzero((ink > 0).any(axis=1))
    cols = np.flatnonzero((ink > 0).any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(crop, (new_w, new_h), interpolation=interpolation)
    total = float(small.sum())
    ys, xs = np.indices(small.shape)
    cy = float((ys * small).sum()) / total if total > 0 else (new_h - 1) / 2
    cx = float((xs * small).sum()) / total if total > 0 else (new_w - 1) / 2
    # Translate so the centre of mass lands on pixel (14, 14), where MNIST's digits have it
    # (measured: mean 13.96, 14.01 over its test images); sub-pixel shifts are bilinear.
    centre = SIDE / 2
    shift = np.float32([[1, 0, centre - cx], [0, 1, centre - cy]])
    out = cv2.warpAffine(
        small, shift, (SIDE, SIDE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return np.clip(out, 0.0, 1.0).astype(np.float32)


# --- synthetic digits ------------------------------------------------------------------------

_FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
)


def draw_synthetic_digit(digit: int, rng: np.random.Generator) -> np.ndarray:
    """One digit drawn with a random Hershey font, stroke width, affine warp, blur and noise,
    then made MNIST-like by :func:`preprocess_digit`: (28, 28) uint8, ink bright."""
    canvas = np.zeros((96, 96), np.uint8)
    font = int(_FONTS[rng.integers(len(_FONTS))]) | (cv2.FONT_ITALIC if rng.random() < 0.3 else 0)
    thickness = int(rng.integers(2, 9))
    scale = cv2.getFontScaleFromHeight(font, 48, thickness)
    (tw, th), _ = cv2.getTextSize(str(digit), font, scale, thickness)
    origin = ((96 - tw) // 2, (96 + th) // 2)
    cv2.putText(canvas, str(digit), origin, font, scale, 255, thickness, cv2.LINE_AA)
    angle = rng.uniform(-15, 15)
    zoom = rng.uniform(0.8, 1.1)
    warp = cv2.getRotationMatrix2D((48, 48), angle, zoom)
    warp[0, 1] += rng.uniform(-0.3, 0.3)  # shear, as slanted handwriting
    warp[1, 0] += rng.uniform(-0.1, 0.1)
    canvas = cv2.warpAffine(canvas, warp, (96, 96), flags=cv2.INTER_LINEAR)
    sigma = rng.uniform(0.3, 1.5)
    canvas = cv2.GaussianBlur(canvas, (0, 0), sigma)
    digit28 = preprocess_digit(canvas, "light-on-dark")
    noisy = digit28 + rng.normal(0, rng.uniform(0, 0.08), digit28.shape)
    return (np.clip(noisy, 0, 1) * 255 + 0.5).astype(np.uint8)


def synthetic_digits(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` synthetic digits, classes in turn: images (N, 28, 28) uint8, labels (N,)."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(count) % 10).astype(np.uint8)
    rng.shuffle(labels)
    images = np.stack([draw_synthetic_digit(int(d), rng) for d in labels]) if count else None
    if images is None:
        images = np.zeros((0, SIDE, SIDE), np.uint8)
    return images, labels
