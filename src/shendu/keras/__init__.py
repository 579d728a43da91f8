"""shendu.keras: Keras's API on shendu's engine. Change ``tensorflow.keras`` to ``shendu.keras``::

    from shendu.keras import layers, models
    model = models.Sequential([
        layers.Dense(512, activation="relu", input_shape=(784,)),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5, validation_split=0.1)

Layers are :class:`shendu.nn.Module` s holding the nn modules that do the math; training runs on
:class:`shendu.train.Trainer`. See docs/keras.md for what is supported and the save format.
"""

from .. import __version__
from . import (
    activations,
    backend,
    callbacks,
    constraints,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    preprocessing,
    random,
    regularizers,
    utils,
)
from .layers import Input, InputLayer, Layer
from .models import Model, Sequential, load_model, save_model
from .variables import Variable

__all__ = ["activations", "backend", "callbacks", "constraints", "datasets", "initializers", "layers",
           "losses", "metrics", "models", "ops", "optimizers", "preprocessing", "random", "regularizers",
           "utils", "wrappers", "Input", "InputLayer", "Layer", "Model", "Sequential", "Variable",
           "load_model", "save_model", "__version__"]


def __getattr__(name):
    if name == "wrappers":
        import importlib

        return importlib.import_module(".wrappers", __name__)
    raise AttributeError(f"module 'shendu.keras' has no attribute {name!r}")
