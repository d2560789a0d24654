"""Kernels: the presets the lecture uses, normalisation, and the JSON file format."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from core.kernels import (
    DEFAULT_PRESET,
    MAX_KERNEL_SIZE,
    PRESET_NAMES,
    Kernel,
    KernelError,
    kernel_from_dict,
    kernel_to_json,
    load_kernel,
    preset,
    resolve_kernel,
    save_kernel,
)

BLURS = ("box-blur-3", "box-blur-5", "gaussian-3", "gaussian-5", "gaussian-7")
EDGE_DETECTORS = (
    "horizontal-lines",
    "vertical-lines",
    "sobel-x",
    "sobel-y",
    "prewitt-x",
    "prewitt-y",
    "scharr-x",
    "scharr-y",
    "laplacian",
    "laplacian-8",
    "outline",
    "diagonal-45",
    "diagonal-135",
    "log-5",
)


# ------------------------------------------------------------------------------------ presets


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_preset_has_a_one_sentence_lesson(name):
    kernel = preset(name)
    assert kernel.name == name
    lesson = kernel.lesson.strip()
    assert lesson, f"{name} has no lesson"
    assert lesson[0].isupper() and lesson.endswith(".")
    # One sentence: no sentence end followed by another sentence inside it.
    assert not re.search(r"[.!?]\s+[A-Z]", lesson), lesson
    assert len(lesson) <= 120


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_preset_is_a_finite_odd_square_grid(name):
    kernel = preset(name)
    kh, kw = kernel.shape
    assert kh == kw and kh % 2 == 1
    assert np.isfinite(kernel.effective).all()
    assert kernel.effective.dtype == np.float32
    assert kernel.bias == 0.0


def test_preset_names_are_kebab_case_and_include_the_lecture():
    for name in PRESET_NAMES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name
    assert {"identity", "horizontal-lines", "vertical-lines", *BLURS, *EDGE_DETECTORS} <= set(
        PRESET_NAMES
    )
    assert DEFAULT_PRESET == "horizontal-lines"


def test_lecture_kernels_exactly():
    np.testing.assert_array_equal(preset("identity").effective, [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    horizontal = [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]
    np.testing.assert_array_equal(preset("horizontal-lines").effective, horizontal)
    np.testing.assert_array_equal(preset("vertical-lines").effective, np.transpose(horizontal))


@pytest.mark.parametrize("name", BLURS)
def test_blur_presets_sum_to_one(name):
    kernel = preset(name)
    assert kernel.sum == pytest.approx(1.0, abs=1e-12)
    assert float(kernel.effective.sum()) == pytest.approx(1.0, abs=1e-6)
    assert (kernel.effective > 0).all()
    # Gaussians trust the centre most.
    if name.startswith("gaussian"):
        c = kernel.shape[0] // 2
        assert kernel.effective[c, c] == kernel.effective.max()


@pytest.mark.parametrize("name", EDGE_DETECTORS)
def test_edge_presets_sum_to_zero(name):
    assert preset(name).sum == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("name", ["identity", "sharpen", "emboss"])
def test_brightness_keeping_presets_sum_to_one(name):
    assert preset(name).sum == pytest.approx(1.0)


def test_unknown_preset_lists_the_choices():
    with pytest.raises(KernelError, match="horizontal-lines"):
        preset("no-such-kernel")


# ------------------------------------------------------------------------------ value type


def test_weights_are_a_read_only_private_copy():
    source = np.ones((3, 3))
    kernel = Kernel(source)
    source[0, 0] = 42
    assert kernel.weights[0, 0] == 1
    with pytest.raises(ValueError):
        kernel.weights[0, 0] = 5
    assert kernel.weights.dtype == np.float64


def test_effective_applies_scale():
    kernel = Kernel(np.array([[1, 2], [3, 4]]), scale=0.5, bias=1.0)
    np.testing.assert_array_equal(kernel.effective, [[0.5, 1.0], [1.5, 2.0]])
    assert kernel.sum == 5.0
    assert kernel.shape == (2, 2)


def test_equality():
    a = Kernel(np.ones((3, 3)), scale=2.0, name="x")
    assert a == Kernel(np.ones((3, 3)), scale=2.0, name="x", lesson="other lesson")
    assert a != Kernel(np.ones((3, 3)), scale=1.0, name="x")
    assert a != Kernel(np.ones((1, 9)), scale=2.0, name="x")
    assert a != Kernel(np.ones((3, 3)), scale=2.0, name="y")
    with pytest.raises(TypeError):
        hash(a)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scale", "2"),
        ("scale", True),
        ("bias", None),
        ("bias", float("nan")),
        ("scale", float("inf")),
    ],
)
def test_bad_scale_or_bias(field, value):
    with pytest.raises(KernelError, match=field):
        Kernel(np.ones((3, 3)), **{field: value})


# ------------------------------------------------------------------------------ normalisation


def test_normalized_sums_to_one():
    kernel, message = Kernel(np.ones((3, 3)), name="box").normalized()
    assert kernel.sum == pytest.approx(1.0)
    assert kernel.scale == pytest.approx(1 / 9)
    np.testing.assert_array_equal(kernel.weights, np.ones((3, 3)))  # weights kept, scale changed
    assert kernel.name == "box"
    assert "sum to 1" in message


def test_normalized_negative_sum():
    kernel, _ = Kernel(np.array([[-1.0, -2.0], [0.5, 0.5]])).normalized()
    assert kernel.sum == pytest.approx(1.0)
    # sum is -2, so the scale is -1/2
    np.testing.assert_allclose(kernel.effective, [[0.5, 1], [-0.25, -0.25]], rtol=1e-6)


def test_normalized_replaces_an_existing_scale():
    kernel, _ = preset("gaussian-5").normalized()
    assert kernel.sum == pytest.approx(1.0)
    kernel, _ = Kernel(np.ones((2, 2)), scale=3.0).normalized()
    assert kernel.sum == pytest.approx(1.0)


@pytest.mark.parametrize("name", EDGE_DETECTORS)
def test_zero_sum_kernel_left_alone_with_a_message(name):
    kernel = preset(name)
    same, message = kernel.normalized()
    assert same == kernel
    np.testing.assert_array_equal(same.effective, kernel.effective)
    assert "sum to 0" in message and "left" in message


def test_sum_is_exact_even_for_the_largest_weights():
    weights = np.array([[1e6, 1e6, 1e6], [0, 0, 0], [-1e6, -1e6, -1e6]])
    assert Kernel(weights).sum == 0.0
    assert Kernel(np.array([[1e6, 1e-9, -1e6]])).sum == 1e-9


@pytest.mark.parametrize(
    ("data", "word"),
    [
        ({"weights": [[1e308, 1e308, 0], [0, 0, 0], [0, 0, 0]]}, "weight"),
        ({"weights": [[1.0000001e6]]}, "weight"),
        ({"weights": [[-2e6, 0]]}, "weight"),
        ({"weights": [[1]], "scale": 1e7}, "scale"),
        ({"weights": [[1]], "bias": -1e300}, "bias"),
    ],
)
def test_a_loaded_value_past_the_typing_cap_is_refused_with_one_clear_message(data, word):
    # The same rule as typing a weight (|w| <= 1e6): a file of 1e308s once overflowed Kernel.sum.
    with pytest.raises(KernelError, match=rf"{word}.*too large \(at most 1e\+06"):
        kernel_from_dict(data)
    assert kernel_from_dict({"weights": [[1e6, -1e6]], "scale": 1e6, "bias": -1e6}).sum == 0.0


def test_normalizing_a_sum_too_small_for_the_scale_cap_leaves_the_kernel():
    kernel = Kernel(np.array([[1.0, -1.0 + 1e-8]]))  # sums to 1e-8: scale would be 1e8
    same, message = kernel.normalized()
    assert same is kernel
    assert "beyond 1e+06" in message
    scaled, _ = Kernel(np.array([[1.0, -1.0 + 1e-6]])).normalized()  # scale 1e6: allowed
    assert scaled.scale == pytest.approx(1e6, rel=1e-6)


def test_nearly_zero_sum_from_rounding_is_zero_sum():
    weights = np.array([[0.1, 0.2, -0.3]])  # sums to ~5.5e-17, not exactly 0
    same, message = Kernel(weights).normalized()
    assert same.scale == 1.0
    assert "sum to 0" in message


# ----------------------------------------------------------------------------------- JSON


def _save_or_skip(path, kernel):
    try:
        from core.images import atomic_write  # noqa: F401  (save_kernel needs it)
    except ImportError:
        pytest.skip("core.images.atomic_write is not written yet")
    save_kernel(path, kernel)


@pytest.mark.parametrize(
    "kernel",
    [
        preset("gaussian-5"),
        preset("horizontal-lines"),
        Kernel(np.array([[0.1, -2.5e-7, 3], [1e6, 0, -1]]), scale=1 / 3, bias=-0.25, name="odd"),
        Kernel(np.array([[7.0]]), name="one by one"),
    ],
)
def test_json_round_trip(tmp_path, kernel):
    path = tmp_path / "kernel.json"
    _save_or_skip(path, kernel)
    loaded = load_kernel(path)
    assert loaded == kernel
    np.testing.assert_array_equal(loaded.weights, kernel.weights)  # bit-exact floats
    assert (loaded.scale, loaded.bias, loaded.name) == (kernel.scale, kernel.bias, kernel.name)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) == {"name", "weights", "scale", "bias"}
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "k.json"
    path.write_text("old contents")
    _save_or_skip(path, preset("sharpen"))
    assert load_kernel(path) == preset("sharpen")


def test_kernel_to_json_is_readable():
    text = kernel_to_json(preset("identity"))
    assert text.endswith("\n")
    assert json.loads(text)["weights"] == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]


def test_optional_fields_default(tmp_path):
    path = tmp_path / "minimal.json"
    path.write_text('{"weights": [[1, 2], [3, 4]]}')
    kernel = load_kernel(path)
    assert (kernel.scale, kernel.bias, kernel.name) == (1.0, 0.0, "custom")
    np.testing.assert_array_equal(kernel.weights, [[1, 2], [3, 4]])


def test_scale_and_bias_from_file(tmp_path):
    path = tmp_path / "blur.json"
    path.write_text(
        '{"name": "b", "weights": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "scale": 0.0625, "bias": -1}'
    )
    kernel = load_kernel(path)
    assert kernel.sum == pytest.approx(1.0)
    assert kernel.bias == -1.0


def test_non_square_and_even_kernels_load(tmp_path):
    path = tmp_path / "k.json"
    path.write_text('{"weights": [[1, -1]]}')
    assert load_kernel(path).shape == (1, 2)
    path.write_text(json.dumps({"weights": np.ones((MAX_KERNEL_SIZE, 2)).tolist()}))
    assert load_kernel(path).shape == (MAX_KERNEL_SIZE, 2)


BAD_FILES = {
    "ragged rows": ('{"weights": [[1, 2, 3], [4, 5]]}', "ragged"),
    "NaN token": ('{"weights": [[1, NaN], [0, 1]]}', "NaN"),
    "Infinity token": ('{"weights": [[1, Infinity], [0, 1]]}', "Infinity"),
    "-Infinity token": ('{"weights": [[1, -Infinity]]}', "Infinity"),
    "string weight": ('{"weights": [[1, "2"], [3, 4]]}', "numbers"),
    "bool weight": ('{"weights": [[1, true], [3, 4]]}', "numbers"),
    "null weight": ('{"weights": [[1, null]]}', "numbers"),
    "empty file": ("", "empty"),
    "whitespace only": ("  \n\t ", "empty"),
    "empty list": ('{"weights": []}', "non-empty"),
    "empty rows": ('{"weights": [[], []]}', "non-empty"),
    "flat list": ('{"weights": [1, 2, 3]}', "rows"),
    "3-level nesting": ('{"weights": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]}', "numbers"),
    "100x100 kernel": (json.dumps({"weights": [[1] * 100] * 100}), "too large"),
    "missing weights key": ('{"name": "x", "scale": 1}', "weights"),
    "not an object": ("[[1, 2], [3, 4]]", "object"),
    "a bare number": ("3", "object"),
    "invalid JSON": ('{"weights": [[1, 2], [3, 4]]', "not valid"),
    "trailing comma": ('{"weights": [[1, 2],]}', "not valid"),
    "string scale": ('{"weights": [[1]], "scale": "0.5"}', "scale"),
    "bool scale": ('{"weights": [[1]], "scale": false}', "scale"),
    "null bias": ('{"weights": [[1]], "bias": null}', "bias"),
    "list bias": ('{"weights": [[1]], "bias": [1]}', "bias"),
    "NaN scale": ('{"weights": [[1]], "scale": NaN}', "NaN"),
    "huge scale": ('{"weights": [[1]], "scale": 1e999}', "scale"),
    "non-string name": ('{"weights": [[1]], "name": 5}', "name"),
    "weights not a list": ('{"weights": "[[1]]"}', "rows"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_raise_kernel_error_naming_the_file(tmp_path, case):
    text, reason = BAD_FILES[case]
    path = tmp_path / f"bad {case}.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KernelError) as info:
        load_kernel(path)
    message = str(info.value)
    assert str(path) in message
    assert reason in message


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.json"
    with pytest.raises(KernelError, match="no such file") as info:
        load_kernel(path)
    assert str(path) in str(info.value)


def test_not_utf8(tmp_path):
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00{weights")
    with pytest.raises(KernelError, match="cannot be read") as info:
        load_kernel(path)
    assert str(path) in str(info.value)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(KernelError) as info:
        load_kernel(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_kernel_error_is_a_value_error():
    assert issubclass(KernelError, ValueError)


def test_kernel_from_dict():
    kernel = kernel_from_dict({"weights": [[1, 0], [0, 1]], "name": "diag", "bias": 2})
    assert kernel.name == "diag" and kernel.bias == 2.0
    with pytest.raises(KernelError):
        kernel_from_dict({"weights": [[1, float("nan")]]})


def test_resolve_kernel(tmp_path):
    assert resolve_kernel("sobel-x") == preset("sobel-x")
    path = tmp_path / "mine.json"
    path.write_text('{"name": "mine", "weights": [[0, 1, 0]]}')
    assert resolve_kernel(str(path)).name == "mine"
    with pytest.raises(KernelError, match="no such file"):
        resolve_kernel(str(tmp_path / "missing.json"))
    with pytest.raises(KernelError, match="neither a preset nor a kernel file"):
        resolve_kernel("sobel-z")
