"""What every ``convscope`` sub-command shares: exit codes, argument types, error lines."""

from __future__ import annotations

import argparse
import math
import sys

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
"""0: everything done; 1: some inputs failed (the rest done); 2: usage or an unusable file."""


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= 1")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def print_error(message: str) -> None:
    """One line on stderr, prefixed like every other message of the command."""
    print(f"convscope: {message}", file=sys.stderr)
