"""A layer's C maps as one labelled image: the grid the window shows and the batch PNG holds.

::

    image, layout = layer_grid(output.map, title="conv1")
    layout.locate(y, x)        # -> (channel, row, col) under grid pixel (y, x), or None
    layout.tile_rect(channel)  # -> (top, left, height, width) of that map in the image

All maps of a layer share one colour scale (a diverging one, symmetric around 0, when any
value is negative), so tiles compare. A title row names the layer and its shape; a caption
above each tile gives the filter index. Small maps are enlarged by a whole factor (nearest
neighbour) so a 13x13 map stays visible and every map pixel is a clean square.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from core.display import (
    apply_colormap,
    colormap_lut,
    compute_levels,
    is_signed,
    resolve_colormap,
)

BACKGROUND = (32, 32, 32)
TEXT = (230, 230, 230)
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_FONT_SCALE = 0.4
_TITLE_HEIGHT = 18
_CAPTION_HEIGHT = 13


@dataclass(frozen=True)
class GridLayout:
    """Where each map of a layer sits in its grid image (all in grid pixels)."""

    channels: int
    columns: int
    rows: int
    map_shape: tuple[int, int]  # (height, width) of one map, in map pixels
    scale: int  # grid pixels per map pixel
    gap: int
    title_height: int  # the label row on top (0 without a title)
    caption_height: int  # above each tile (0 without captions)
    size: tuple[int, int]  # (height, width) of the whole image
    levels: tuple[float, float]  # the one colour scale of the layer
    colormap: str

    @property
    def tile_shape(self) -> tuple[int, int]:
        return self.map_shape[0] * self.scale, self.map_shape[1] * self.scale

    def tile_rect(self, channel: int) -> tuple[int, int, int, int]:
        """(top, left, height, width) of map ``channel`` in the image."""
        if not 0 <= channel < self.channels:
            raise IndexError(f"channel {channel} of {self.channels}")
        th, tw = self.tile_shape
        row, col = divmod(channel, self.columns)
        top = self.title_height + self.gap + row * (self.caption_height + th + self.gap)
        left = self.gap + col * (tw + self.gap)
        return top + self.caption_height, left, th, tw

    def locate(self, y: float, x: float) -> tuple[int, int, int] | None:
        """(channel, row, col) of the map pixel drawn at image pixel (y, x); None off maps."""
        th, tw = self.tile_shape
        y0 = math.floor(y) - self.title_height - self.gap
        x0 = math.floor(x) - self.gap
        if y0 < 0 or x0 < 0:
            return None
        grid_row, ty = divmod(y0, self.caption_height + th + self.gap)
        grid_col, tx = divmod(x0, tw + self.gap)
        ty -= self.caption_height
        if not (0 <= ty < th and 0 <= tx < tw) or grid_col >= self.columns:
            return None
        channel = grid_row * self.columns + grid_col
        if channel >= self.channels:
            return None
        return channel, ty // self.scale, tx // self.scale


def _as_stack(data: np.ndarray) -> np.ndarray:
    array = np.asarray(data)
    if array.ndim == 1:  # a flatten/dense vector: one row of values
        return array[None, :, None]
    if array.ndim == 2:
        return array[:, :, None]
    if array.ndim != 3 or 0 in array.shape:
        raise ValueError(f"layer_grid needs an (H, W, C), (H, W) or (N,) map, not {array.shape}")
    return array


def shape_text(data: np.ndarray) -> str:
    """``26x26x32`` for an (H, W, C) map, ``(1024,)`` for a vector."""
    shape = np.shape(data)
    return "x".join(map(str, shape)) if len(shape) > 1 else f"({shape[0]},)"


def layer_grid(
    data: np.ndarray,
    *,
    title: str | None = None,
    columns: int | None = None,
    gap: int = 2,
    min_tile: int = 48,
    colormap: str | None = None,
    levels: tuple[float, float] | str = "auto",
    captions: bool = True,
) -> tuple[np.ndarray, GridLayout]:
    """Tile a layer's maps into one RGB image on one colour scale, with labels.

    Parameters
    ----------
    data
        The layer's map: (H, W, C) (any memory layout), (H, W), or an (N,) vector.
    title
        Layer name; the title row reads ``"<title>  HxWxC"``. None: no title row.
    columns
        Tiles per row; by default about square (``ceil(sqrt(C))``).
    gap
        Background pixels between tiles and around the grid.
    min_tile
        Maps smaller than this (longest side, pixels) are enlarged by a whole factor.
    colormap, levels
        One colour scale for every map: by default "coolwarm" with symmetric levels when any
        value is negative, else "gray" from min to max (:func:`core.display.compute_levels`
        modes, or explicit (low, high)).
    captions
        Draw the filter index above each tile.

    Returns
    -------
    image : np.ndarray
        uint8 (height, width, 3) RGB.
    layout : GridLayout
        Maps image pixels to (channel, row, col) and back.
    """
    stack = _as_stack(data)
    h, w, count = stack.shape
    if isinstance(levels, str):
        levels = compute_levels(stack, mode=levels)  # type: ignore[arg-type]
    if colormap is None:  # resolved only when needed: is_signed is a pass over the maps
        colormap = resolve_colormap(None, is_signed(stack))
    lut = colormap_lut(colormap)
    columns = max(1, min(count, columns or math.ceil(math.sqrt(count))))
    rows = math.ceil(count / columns)
    scale = max(1, math.ceil(min_tile / max(h, w))) if max(h, w) < min_tile else 1
    caption_height = _CAPTION_HEIGHT if captions else 0
    title_height = _TITLE_HEIGHT if title is not None else 0
    label = f"{title}  {shape_text(data)}" if title is not None else ""
    th, tw = h * scale, w * scale
    width = gap + columns * (tw + gap)
    if label:
        text_width = cv2.getTextSize(label, _FONT, _FONT_SCALE, 1)[0][0] + 2 * gap + 4
        width = max(width, text_width)
    height = title_height + gap + rows * (caption_height + th + gap)
    layout = GridLayout(
        channels=count,
        columns=columns,
        rows=rows,
        map_shape=(h, w),
        scale=scale,
        gap=gap,
        title_height=title_height,
        caption_height=caption_height,
        size=(height, width),
        levels=(float(levels[0]), float(levels[1])),
        colormap=colormap,
    )
    image = np.empty((height, width, 3), np.uint8)
    image[:] = BACKGROUND
    if label:
        cv2.putText(image, label, (gap + 2, title_height - 5), _FONT, _FONT_SCALE, TEXT, 1,
                    cv2.LINE_AA)  # fmt: skip
    for c in range(count):
        top, left, _, _ = layout.tile_rect(c)
        tile = apply_colormap(np.ascontiguousarray(stack[:, :, c]), lut, layout.levels)
        if scale > 1:
            tile = cv2.resize(tile, (tw, th), interpolation=cv2.INTER_NEAREST)
        image[top : top + th, left : left + tw] = tile
        if captions:
            cv2.putText(image, f"#{c}", (left, top - 3), _FONT, 0.33, TEXT, 1, cv2.LINE_AA)
    return image, layout
