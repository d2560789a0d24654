"""Bundled resources (sample images, presets), resolved from this one place.

The sample PNGs are drawn by ``resources/make_samples.py``; rerun it to regenerate them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEFAULT_SAMPLE", "DIGIT_SAMPLE", "RESOURCES", "SAMPLES"]

#: Folder holding the resource files.
RESOURCES = Path(__file__).resolve().parent

#: Friendly name -> sample image file, in menu order.
SAMPLES: dict[str, Path] = {
    "Boxes and lines": RESOURCES / "boxes-and-lines.png",
    "Street scene": RESOURCES / "street-scene.png",
    "Handwritten 7 (28x28)": RESOURCES / "digit-7.png",
}

#: The image shown at start-up: a key of :data:`SAMPLES`.
DEFAULT_SAMPLE = "Boxes and lines"

#: The lecture's 28x28 digit (the Keras Conv2D(32) demo runs on it): a key of :data:`SAMPLES`.
DIGIT_SAMPLE = "Handwritten 7 (28x28)"
