"""Training in the window (issue 11): the Train view and the ask-why canvas.

``TrainWindow`` (both, in tabs) is what the main window opens; ``DigitCanvasView`` also works
on its own. Training runs in :class:`ui.training.worker.TrainingWorker`'s thread.
"""

from ui.training.train_view import TrainView
from ui.training.why_view import DigitCanvasView
from ui.training.window import TrainWindow

__all__ = ["DigitCanvasView", "TrainView", "TrainWindow"]
