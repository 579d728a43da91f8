"""``shendu.keras.utils``: to_categorical, set_random_seed, custom objects, and a few array helpers."""

import numpy as np

from ..data.directory import (
    PyDataset,
    Sequence,
    image_dataset_from_directory,
    split_dataset,
    text_dataset_from_directory,
    timeseries_dataset_from_array,
)
from ..data.download import get_file, hash_file, validate_file
from ..data.image import array_to_img, img_to_array, load_img, save_img
from ..data.text import pad_sequences, to_categorical
from ..random import manual_seed
from ._custom import unpack as unpack_x_y_sample_weight
from ._plot import model_to_dot, plot_model

__all__ = ["to_categorical", "set_random_seed", "pad_sequences", "normalize", "get_custom_objects",
           "custom_object_scope", "CustomObjectScope", "register_keras_serializable", "get_file",
           "image_dataset_from_directory", "text_dataset_from_directory", "timeseries_dataset_from_array",
           "split_dataset", "PyDataset", "Sequence", "array_to_img", "img_to_array", "load_img", "save_img",
           "hash_file", "validate_file", "plot_model", "model_to_dot", "serialize_keras_object",
           "deserialize_keras_object", "pack_x_y_sample_weight", "unpack_x_y_sample_weight"]

_CUSTOM_OBJECTS = {}
_SCOPES = []


def set_random_seed(seed):
    """Seed every random draw (shendu's generator, NumPy's and Python's ``random``), as Keras does."""
    import random

    random.seed(int(seed))
    manual_seed(int(seed))


def normalize(x, axis=-1, order=2):
    """x divided by its ``order``-norm along ``axis`` (zero vectors stay zero)."""
    x = np.asarray(x)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    norm[norm == 0] = 1
    return x / norm


def get_custom_objects():
    """The global name -> object table consulted when loading models (plus any active scopes)."""
    if not _SCOPES:
        return _CUSTOM_OBJECTS
    return {k: v for table in (_CUSTOM_OBJECTS, *_SCOPES) for k, v in table.items()}


class CustomObjectScope:
    """``with custom_object_scope({"MyLayer": MyLayer}): load_model(...)``."""

    def __init__(self, *mappings):
        self.objects = {k: v for m in mappings for k, v in m.items()}

    def __enter__(self):
        _SCOPES.append(self.objects)
        return self

    def __exit__(self, *exc):
        _SCOPES.remove(self.objects)


custom_object_scope = CustomObjectScope


def register_keras_serializable(package="Custom", name=None):
    """Decorator that makes a custom layer/model class loadable by name."""

    def decorator(obj):
        key = name or obj.__name__
        _CUSTOM_OBJECTS[key] = _CUSTOM_OBJECTS[f"{package}>{key}"] = obj
        return obj

    return decorator


def serialize_keras_object(obj):
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    return getattr(obj, "__name__", obj)


def deserialize_keras_object(config, custom_objects=None):
    from .layers import deserialize

    return deserialize(config, custom_objects)


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Keras's packing of a batch: ``x`` (``(x,)`` for a tuple), ``(x, y)`` or ``(x, y, w)``."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    return (x, y) if sample_weight is None else (x, y, sample_weight)
