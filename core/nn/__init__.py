"""Training small CNNs in numpy: batch forward/backward, optimizers, data, and explanations.

    from core.nn import preset_network, load_bundled, train, TrainConfig, ask_why

    train_set, test_set = load_bundled()                      # the MNIST subset in resources/
    for event in train(preset_network(), train_set, test_set, TrainConfig(seconds=30)):
        ...          # Progress / EpochEnd / Checkpoint, then Finished or Failed (all carry
                     # copies of the weights as core.network.Network values)
    why = ask_why(event.network, drawing)                     # probabilities, maps, saliency,
                                                              # Grad-CAM for one digit picture

Modules: ``ops`` (per-layer forward/backward), ``model`` (a Network with mutable weights),
``optim`` (Adam, SGD), ``training`` (the training generator), ``data`` and ``digits`` (loaders,
synthetic digits, MNIST-style preprocessing), ``presets`` (networks to train), ``why``
(ask the model why), ``cli`` (the train/evaluate/predict commands).
"""

from core.nn.data import DataError, Dataset, load_bundled, load_folder, load_training_data
from core.nn.digits import preprocess_digit
from core.nn.model import Model
from core.nn.presets import PRESETS, as_classifier, preset_network
from core.nn.training import (
    Checkpoint,
    EpochEnd,
    Evaluation,
    Failed,
    Finished,
    Progress,
    TrainConfig,
    evaluate,
    train,
)
from core.nn.why import Why, ask_why

__all__ = [
    "PRESETS",
    "Checkpoint",
    "DataError",
    "Dataset",
    "EpochEnd",
    "Evaluation",
    "Failed",
    "Finished",
    "Model",
    "Progress",
    "TrainConfig",
    "Why",
    "as_classifier",
    "ask_why",
    "evaluate",
    "load_bundled",
    "load_folder",
    "load_training_data",
    "preprocess_digit",
    "preset_network",
    "train",
]
