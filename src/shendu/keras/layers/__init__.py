"""Keras layers: ``from shendu.keras import layers`` then ``layers.Dense(64, activation='relu')``."""

from .activation_layers import ELU, LeakyReLU, ReLU, Softmax
from .attention import MultiHeadAttention
from .augmentation import RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom
from .base import Input, InputLayer, InputSpec, KerasTensor, Layer
from .conv import Conv1D, Conv2D, Conv2DTranspose, Convolution1D, Convolution2D
from .conv_extra import Conv1DTranspose, Conv3D, Convolution3D, DepthwiseConv2D, SeparableConv2D
from .core import Activation, Dense, Dropout, Flatten, Identity, Lambda, Permute, RepeatVector, Reshape
from .embedding import Embedding
from .merge import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from .normalization import BatchNormalization, LayerNormalization
from .normalization_extra import GroupNormalization
from .pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AvgPool1D,
    AvgPool2D,
    Cropping1D,
    Cropping2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool1D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)
from .preprocessing_layers import Masking, Normalization, Rescaling, TextVectorization
from .recurrent import GRU, LSTM, SimpleRNN
from .wrappers import Bidirectional, TimeDistributed

__all__ = [
    "Layer",
    "Input",
    "InputLayer",
    "InputSpec",
    "KerasTensor",
    "Dense",
    "Activation",
    "Dropout",
    "Flatten",
    "Reshape",
    "Permute",
    "RepeatVector",
    "Lambda",
    "Identity",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "Convolution1D",
    "Convolution2D",
    "Conv1DTranspose",
    "Conv3D",
    "Convolution3D",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "GroupNormalization",
    "MultiHeadAttention",
    "Masking",
    "Normalization",
    "Rescaling",
    "TextVectorization",
    "RandomFlip",
    "RandomRotation",
    "RandomZoom",
    "RandomTranslation",
    "RandomContrast",
    "MaxPooling1D",
    "MaxPooling2D",
    "AveragePooling1D",
    "AveragePooling2D",
    "MaxPool1D",
    "MaxPool2D",
    "AvgPool1D",
    "AvgPool2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "UpSampling1D",
    "UpSampling2D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "Cropping1D",
    "Cropping2D",
    "BatchNormalization",
    "LayerNormalization",
    "Embedding",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "Bidirectional",
    "TimeDistributed",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
    "Dot",
    "add",
    "subtract",
    "multiply",
    "average",
    "maximum",
    "minimum",
    "concatenate",
    "dot",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "Softmax",
    "serialize",
    "deserialize",
    "get_registered",
]


def get_registered(custom_objects=None):
    """Layer classes by class name: the built-in ones, then ``custom_objects`` (which win)."""
    table = {name: obj for name, obj in globals().items() if isinstance(obj, type) and issubclass(obj, Layer)}
    from ..utils import get_custom_objects

    table.update({k: v for k, v in get_custom_objects().items() if isinstance(v, type)})
    if custom_objects:
        table.update({k: v for k, v in custom_objects.items() if isinstance(v, type)})
    return table


def serialize(layer):
    """``{"class_name": ..., "config": layer.get_config()}``."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config, custom_objects=None):
    """A layer from ``{"class_name", "config"}``; unknown classes must be passed in ``custom_objects``."""
    import inspect

    name = config["class_name"]
    table = get_registered(custom_objects)
    if name in ("Sequential", "Functional", "Model"):
        from ..models import model_from_config

        return model_from_config(config, custom_objects)
    cls = table.get(name)
    if cls is None:
        raise ValueError(
            f"Unknown layer: '{name}'. Please ensure you are using a `keras.utils.custom_object_scope` "
            f"and that this object is included in the scope, or pass it to load_model("
            f"custom_objects={{'{name}': {name}}})"
        )
    cfg = dict(config.get("config", {}))
    if name == "Lambda" and isinstance(cfg.get("function"), str):
        fn_name = cfg["function"]
        fn = (custom_objects or {}).get(fn_name)
        if fn is None:
            from ..utils import get_custom_objects

            fn = get_custom_objects().get(fn_name)
        if fn is None:
            raise ValueError(
                f"Lambda layer '{cfg.get('name')}' uses the function {fn_name!r}, which is not saved "
                f"in the file: pass it as load_model(..., custom_objects={{'{fn_name}': {fn_name}}})"
            )
        cfg["function"] = fn
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(cfg, custom_objects=custom_objects)
    return cls.from_config(cfg)
