"""Draw the bundled sample images (deterministic: numpy + OpenCV, fixed seed).

Run from the project root to regenerate the PNGs next to this file::

    python resources/make_samples.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20240601

BOXES_AND_LINES = "boxes-and-lines.png"
STREET_SCENE = "street-scene.png"
DIGIT_SEVEN = "digit-7.png"

BGR = tuple[float, float, float]


def boxes_and_lines() -> np.ndarray:
    """A 200x200 gray test card: bright and dark boxes, lines at 0, 90 and +-45 degrees.

    Step edges of both polarities and lines of 1 to 5 pixels make the classic edge kernels'
    behaviour obvious (a vertical-edge kernel lights up only the vertical sides, and so on).
    """
    size = 200
    image = np.full((size, size), 110, np.uint8)
    # Boxes: a white one, a black one, an outlined one, and a grey box inside a white frame.
    cv2.rectangle(image, (14, 14), (74, 64), 255, cv2.FILLED)
    cv2.rectangle(image, (92, 20), (130, 76), 20, cv2.FILLED)
    cv2.rectangle(image, (146, 14), (188, 56), 240, 3)
    cv2.rectangle(image, (120, 120), (186, 186), 250, cv2.FILLED)
    cv2.rectangle(image, (136, 136), (170, 170), 70, cv2.FILLED)
    # Horizontal lines of growing thickness (1, 2, 3, 5 px), alternately bright and dark.
    for y, thickness, value in ((90, 1, 255), (100, 2, 0), (112, 3, 255), (126, 5, 0)):
        image[y : y + thickness, 14:104] = value
    # Vertical lines, same idea.
    for x, thickness, value in ((20, 1, 255), (32, 2, 0), (46, 3, 255), (62, 5, 0)):
        image[142:190, x : x + thickness] = value
    # Diagonals in both directions, anti-aliased like a real photograph's slanted edges.
    cv2.line(image, (80, 186), (112, 142), 255, 2, cv2.LINE_AA)
    cv2.line(image, (90, 142), (114, 186), 15, 3, cv2.LINE_AA)
    cv2.line(image, (146, 108), (190, 68), 255, 1, cv2.LINE_AA)
    cv2.line(image, (140, 66), (184, 106), 0, 4, cv2.LINE_AA)
    return image


def _blend(canvas: np.ndarray, mask: np.ndarray, colour: np.ndarray | tuple[float, ...]) -> None:
    """Paint `colour` (BGR, 0..1, or an image) over `canvas` with `mask` (0..1) as alpha."""
    alpha = mask[..., None]
    canvas[:] = canvas * (1.0 - alpha) + np.asarray(colour, np.float32) * alpha


def _fill(
    shape: tuple[int, int], draw: Callable[[np.ndarray], object], blur: float = 0.0
) -> np.ndarray:
    """Return a float mask drawn by `draw(mask_uint8)` at 4x and downsampled (anti-aliasing)."""
    big = np.zeros((shape[0] * 4, shape[1] * 4), np.uint8)
    draw(big)
    mask = cv2.resize(big, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    mask = mask.astype(np.float32) / 255.0
    if blur > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), blur)
    return mask


def _noise(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Smooth value noise in about [-1, 1] with features about `scale` pixels across."""
    small = rng.standard_normal(
        (max(2, int(shape[0] / scale) + 2), max(2, int(shape[1] / scale) + 2))
    ).astype(np.float32)
    big = cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return big / (np.abs(big).max() + 1e-6)


def street_scene() -> np.ndarray:
    """A 640x480 photo-like colour scene: sky, sun, hills, houses, road, trees, grass.

    Drawn, but with gradients, texture, soft shadows and sensor-like noise, so convolutions
    behave as they do on a photograph: edges at many angles, fine texture, smooth regions.
    Returns BGR uint8 (for cv2.imwrite).
    """
    rng = np.random.default_rng(SEED)
    height, width = 480, 640
    shape = (height, width)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    horizon = 250

    # Sky: deep blue at the top to hazy pale blue at the horizon.
    t = np.clip(yy / horizon, 0, 1)[..., None]
    top, low = np.array([0.78, 0.45, 0.20]), np.array([0.95, 0.85, 0.72])  # BGR
    canvas = (top * (1 - t) + low * t).astype(np.float32)

    # Sun with a glow, upper right.
    sun_x, sun_y = 520, 70
    distance = np.hypot(xx - sun_x, yy - sun_y)
    _blend(canvas, np.clip(1.0 - distance / 170.0, 0, 1) ** 2 * 0.6, (0.85, 0.97, 1.0))
    _blend(canvas, np.clip((30.0 - distance) / 1.5, 0, 1), (0.80, 0.97, 1.0))

    # Clouds: soft noisy ellipses.
    for cx, cy, rx, ry in ((150, 60, 90, 22), (300, 110, 70, 16), (90, 140, 60, 12)):
        blob = np.clip(1.0 - ((xx - cx) / rx) ** 2 - ((yy - cy) / ry) ** 2, 0, 1)
        blob *= np.clip(0.8 + 0.6 * _noise(rng, shape, 18), 0, 1)
        _blend(canvas, np.clip(blob * 1.6, 0, 0.9), (0.98, 0.97, 0.96))

    # Distant hills: two bluish-green layers with wavy ridges.
    for base, amplitude, period, colour in (
        (205, 22, 170.0, (0.62, 0.62, 0.48)),
        (228, 16, 110.0, (0.42, 0.55, 0.38)),
    ):
        wobble = 8 * _noise(rng, (1, width), 40)[0]
        ridge = base - amplitude * np.sin(xx[0] / period + base) - wobble
        hill = np.clip(yy - ridge[None, :] + 0.5, 0, 1)
        _blend(canvas, hill, colour)

    # Ground: grass with texture, darker towards the viewer.
    grass_colour = (
        np.stack(
            [
                0.22 + 0.05 * _noise(rng, shape, 3),
                0.48 + 0.10 * _noise(rng, shape, 6),
                0.30 + 0.06 * _noise(rng, shape, 12),
            ],
            axis=-1,
        )
        * (1.05 - 0.25 * np.clip((yy - horizon) / (height - horizon), 0, 1))[..., None]
    )
    _blend(canvas, np.clip(yy - horizon + 0.5, 0, 1), grass_colour)

    # Road in perspective towards a vanishing point, with a sidewalk edge and dashed centre line.
    vanish = (330, horizon - 4)

    def road(mask: np.ndarray) -> None:
        pts = np.array([[(-120, height), (700, height), vanish, vanish]], np.int32) * 4
        cv2.fillPoly(mask, pts, 255)

    road_mask = _fill(shape, road) * np.clip(yy - horizon, 0, 1)
    asphalt = 0.33 + 0.04 * _noise(rng, shape, 2) + 0.03 * _noise(rng, shape, 25)
    _blend(canvas, road_mask, np.repeat(asphalt[..., None], 3, axis=2))

    def kerbs(mask: np.ndarray) -> None:
        for bottom_x in (-120, 700):
            cv2.line(mask, (bottom_x * 4, height * 4), (vanish[0] * 4, vanish[1] * 4), 255, 14)

    _blend(canvas, _fill(shape, kerbs) * np.clip(yy - horizon, 0, 1), (0.75, 0.76, 0.76))

    def dashes(mask: np.ndarray) -> None:
        # Equal steps in depth -> dashes that shrink towards the horizon.
        for i in range(9):
            near, far = 1.0 / (1.0 + 0.45 * i), 1.0 / (1.0 + 0.45 * i + 0.22)
            y0 = vanish[1] + (height - vanish[1]) * near
            y1 = vanish[1] + (height - vanish[1]) * far
            x0 = vanish[0] + (290 - vanish[0]) * near
            x1 = vanish[0] + (290 - vanish[0]) * far
            w = max(1, int(22 * near))
            cv2.line(mask, (int(x0 * 4), int(y0 * 4)), (int(x1 * 4), int(y1 * 4)), 255, w)

    _blend(canvas, _fill(shape, dashes) * 0.9, (0.55, 0.85, 0.92))

    # Houses: a lit front wall, a shaded side wall, a pitched roof, windows and a door.
    def house(
        left: int,
        right: int,
        top: int,
        bottom: int,
        depth: int,
        wall: BGR,
        roof: BGR,
        bricks: bool = False,
    ) -> None:
        wall_tex = np.asarray(wall, np.float32) * (1 + 0.04 * _noise(rng, shape, 2))[..., None]
        if bricks:
            # Running bond: mortar every 6 rows, joints every 14 px, offset on alternate courses.
            course = (yy // 6).astype(np.int32)
            mortar = (yy % 6 < 1) | (((xx + 7 * (course % 2)) % 14) < 1)
            shade = 1 + 0.08 * rng.standard_normal((height // 6 + 1, width // 14 + 2))
            brick_shade = shade[course, ((xx + 7 * (course % 2)) // 14).astype(np.int32)]
            wall_tex = wall_tex * np.where(mortar, 1.18, brick_shade)[..., None].astype(np.float32)

        def front(mask: np.ndarray) -> None:
            cv2.rectangle(mask, (left * 4, top * 4), (right * 4, bottom * 4), 255, cv2.FILLED)

        def side(mask: np.ndarray) -> None:
            pts = [(right, top), (right + depth, top - depth // 2),
                   (right + depth, bottom - depth // 2), (right, bottom)]  # fmt: skip
            cv2.fillPoly(mask, np.array([pts], np.int32) * 4, 255)

        def roof_shape(mask: np.ndarray) -> None:
            apex = ((left + right) // 2, top - (right - left) // 3)
            pts = [(left - 8, top + 2), apex, (apex[0] + depth, apex[1] - depth // 2),
                   (right + depth + 6, top - depth // 2 + 2), (right + 8, top + 2)]  # fmt: skip
            cv2.fillPoly(mask, np.array([pts], np.int32) * 4, 255)

        # Contact shadow on the ground to the left (the sun is to the right).
        shadow = _fill(shape, lambda m: cv2.rectangle(
            m, ((left - 30) * 4, (bottom - 6) * 4), (right * 4, (bottom + 8) * 4), 255, -1
        ), blur=5)  # fmt: skip
        _blend(canvas, shadow * 0.45, (0.05, 0.08, 0.06))
        _blend(canvas, _fill(shape, side), wall_tex * 0.62)
        _blend(canvas, _fill(shape, front), wall_tex)
        shingles = 0.85 + 0.15 * np.sin(yy * 1.3)[..., None]  # horizontal courses
        _blend(canvas, _fill(shape, roof_shape), np.asarray(roof, np.float32) * shingles)

        # Windows: dark glass with a sky reflection gradient and a white frame.
        cols = np.linspace(left + 14, right - 36, max(2, (right - left) // 50))
        rows = range(top + 14, bottom - 40, 52)
        for wy in rows:
            for wx in cols:
                x0, y0 = int(wx), int(wy)
                if x0 + 24 > right - 36 and y0 + 30 > bottom - 48:
                    continue  # the door is there

                def frame(mask: np.ndarray, x0: int = x0, y0: int = y0) -> None:
                    cv2.rectangle(mask, (x0 * 4, y0 * 4), ((x0 + 24) * 4, (y0 + 30) * 4), 255, -1)

                def glass(mask: np.ndarray, x0: int = x0, y0: int = y0) -> None:
                    for gx in (x0 + 2, x0 + 13):
                        cv2.rectangle(mask, (gx * 4 + 2, (y0 + 2) * 4 + 2),
                                      ((gx + 9) * 4, (y0 + 28) * 4), 255, -1)  # fmt: skip

                reflection = np.clip((yy - y0) / 30.0, 0, 1)[..., None]
                pane = np.array([0.45, 0.32, 0.22]) * (1 - reflection) + 0.12 * reflection
                _blend(canvas, _fill(shape, frame), (0.93, 0.94, 0.95))
                _blend(canvas, _fill(shape, glass), pane.astype(np.float32))

        def door(mask: np.ndarray) -> None:
            dx = right - 34
            cv2.rectangle(mask, (dx * 4, (bottom - 46) * 4), ((dx + 22) * 4, bottom * 4), 255, -1)

        _blend(canvas, _fill(shape, door), (0.16, 0.22, 0.38))

    house(40, 210, 200, 300, 34, (0.42, 0.52, 0.74), (0.18, 0.20, 0.45), bricks=True)
    house(440, 560, 225, 292, 24, (0.80, 0.80, 0.78), (0.25, 0.25, 0.28))

    # Trees: trunks, then foliage as clusters of noisy blobs lit from the upper right.
    def tree(cx: int, base: int, radius: int) -> None:
        centre_y = base - radius * 2.0

        def trunk(mask: np.ndarray) -> None:
            pts = [(cx - 6, base), (cx - 3, base - 2 * radius),
                   (cx + 3, base - 2 * radius), (cx + 6, base)]  # fmt: skip
            cv2.fillPoly(mask, np.array([pts], np.int32) * 4, 255)

        _blend(canvas, _fill(shape, trunk), (0.12, 0.22, 0.32))
        crown = np.zeros(shape, np.float32)
        for _ in range(14):
            ox, oy = rng.normal(0, radius * 0.4, 2)
            r = radius * rng.uniform(0.45, 0.7)
            d = np.hypot(xx - cx - ox, yy - centre_y - oy)
            crown = np.maximum(crown, np.clip((r - d) / 2.0, 0, 1))
        leaves = np.clip(0.7 + 0.9 * _noise(rng, shape, 2.5), 0, 1)
        crown *= np.clip(0.55 + leaves, 0, 1)  # ragged, see-through edge
        light = np.clip(0.7 + 0.5 * ((xx - cx) - (yy - centre_y)) / (2 * radius), 0.35, 1.2)
        foliage = np.stack([0.10 * leaves, 0.30 + 0.25 * leaves, 0.12 + 0.10 * leaves], -1)
        _blend(canvas, crown, foliage * light[..., None])

    tree(262, 310, 38)
    tree(600, 300, 30)
    tree(400, 262, 18)

    # A wooden fence along the right-hand verge, receding towards the vanishing point.
    def fence(mask: np.ndarray) -> None:
        for i in range(14):
            depth = 1.0 / (1.0 + 0.3 * i)
            x = vanish[0] + (690 - vanish[0]) * depth
            y = vanish[1] + (height + 30 - vanish[1]) * depth
            post_height, post_width = 70 * depth, max(1.0, 7 * depth)
            top_left = (int((x - post_width / 2) * 4), int((y - post_height) * 4))
            cv2.rectangle(mask, top_left, (int((x + post_width / 2) * 4), int(y * 4)), 255, -1)
        for rail in (0.35, 0.75):
            near = (690, height + 30 - 70 * rail)
            far_depth = 1.0 / (1.0 + 0.3 * 13)
            far = (
                vanish[0] + (690 - vanish[0]) * far_depth,
                vanish[1] + (height + 30 - vanish[1] - 70 * rail) * far_depth,
            )
            cv2.line(mask, (int(near[0] * 4), int(near[1] * 4)),
                     (int(far[0] * 4), int(far[1] * 4)), 255, 10)  # fmt: skip

    _blend(canvas, _fill(shape, fence), (0.30, 0.42, 0.55))

    # A street lamp and a sagging power line: thin verticals and a long shallow curve.
    def lamp(mask: np.ndarray) -> None:
        cv2.rectangle(mask, (226 * 4, 150 * 4), (230 * 4, 360 * 4), 255, -1)
        cv2.ellipse(mask, (244 * 4, 152 * 4), (16 * 4, 10 * 4), 0, 180, 300, 255, 12)
        cv2.rectangle(mask, (252 * 4, 154 * 4), (262 * 4, 158 * 4), 255, -1)

    _blend(canvas, _fill(shape, lamp), (0.20, 0.20, 0.22))
    cable_x = np.arange(0, 228, 2, dtype=np.float32)
    cable_y = 60 + 90 * ((cable_x - 0) / 228) ** 2 + 20 * np.sin(cable_x / 228 * np.pi)
    cable = np.stack([cable_x, cable_y], axis=1) * 4 * 16

    def wire(mask: np.ndarray) -> None:
        cv2.polylines(mask, [cable.astype(np.int32)], False, 255, 5, cv2.LINE_AA, shift=4)

    _blend(canvas, _fill(shape, wire) * 0.9, (0.15, 0.15, 0.15))

    # Camera: a touch of lens blur, vignetting and sensor noise.
    canvas = cv2.GaussianBlur(canvas, (0, 0), 0.6)
    vignette = 1.0 - 0.25 * (((xx - width / 2) / width) ** 2 + ((yy - height / 2) / height) ** 2)
    canvas *= vignette[..., None]
    canvas += rng.normal(0, 0.005, canvas.shape).astype(np.float32)
    return np.clip(canvas * 255 + 0.5, 0, 255).astype(np.uint8)


def digit_seven() -> np.ndarray:
    """A 28x28 MNIST-style handwritten 7: white anti-aliased stroke on black.

    Drawn at 8x with a slightly curved, slanted stroke, then fitted into a 20x20 box and centred
    by its centre of mass in 28x28, as MNIST's preprocessing does.
    """
    big = np.zeros((224, 224), np.uint8)
    top_bar = np.array([(40, 52), (90, 44), (140, 40), (176, 44)])
    leg = np.array([(176, 44), (160, 80), (138, 124), (118, 166), (104, 198)])
    cv2.polylines(big, [top_bar * 16, leg * 16], False, 255, 22, cv2.LINE_AA, shift=4)
    big = cv2.GaussianBlur(big, (0, 0), 3)

    ys, xs = np.nonzero(big > 20)
    crop = big[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = 20.0 / max(crop.shape)
    fitted = cv2.resize(
        crop,
        (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
        interpolation=cv2.INTER_AREA,
    )
    moments = cv2.moments(fitted)
    cx, cy = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]
    shift = np.float32([[1, 0, 14 - cx], [0, 1, 14 - cy]])
    return cv2.warpAffine(fitted, shift, (28, 28), flags=cv2.INTER_LINEAR)


def main(folder: Path = HERE) -> int:
    """Write every sample PNG into `folder`."""
    samples = {
        BOXES_AND_LINES: boxes_and_lines(),
        STREET_SCENE: street_scene(),
        DIGIT_SEVEN: digit_seven(),
    }
    for name, image in samples.items():
        path = folder / name
        if not cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            print(f"could not write {path}", file=sys.stderr)
            return 1
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
