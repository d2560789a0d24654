"""A spin box for scale and bias that keeps full precision and reads fractions like 1/16."""

from __future__ import annotations

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QWidget

from core.kernel_math import as_fraction, parse_number


class NumberSpinBox(QDoubleSpinBox):
    """A double spin box that keeps full precision and reads/writes fractions like ``1/16``."""

    def __init__(self, parent: QWidget | None = None, *, fractions: bool = False) -> None:
        super().__init__(parent)
        self._fractions = fractions
        self.setDecimals(15)
        self.setKeyboardTracking(False)
        self.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        self.setAccelerated(True)

    def textFromValue(self, value: float) -> str:
        if self._fractions:
            fraction = as_fraction(value)
            if fraction is not None:
                return fraction
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return parse_number(self._strip(text))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> QValidator.State:
        body = self._strip(text).strip()
        try:
            value = parse_number(body)
        except ValueError:
            partial = body in ("", "-", "+", ".", "-.") or body.endswith(("/", "e", "e-", "-"))
            if partial:
                return QValidator.State.Intermediate
            return QValidator.State.Invalid
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable
        return QValidator.State.Intermediate

    def _strip(self, text: str) -> str:
        return text.removeprefix(self.prefix()).removesuffix(self.suffix())


# --------------------------------------------------------------------------------------------
# The editor
# --------------------------------------------------------------------------------------------
