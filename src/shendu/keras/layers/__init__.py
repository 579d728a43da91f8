"""Keras layers: ``from shendu.keras import layers`` then ``layers.Dense(64, activation='relu')``."""

from .._registry import Registry
from . import (
    activation_layers,
    attention,
    augmentation,
    conv,
    conv_extra,
    core,
    embedding,
    experimental,
    image_preprocessing,
    merge,
    normalization,
    normalization_extra,
    pooling,
    preprocessing_layers,
    recurrent,
    wrappers,
)
from .activation_layers import *  # noqa: F403
from .attention import *  # noqa: F403
from .augmentation import *  # noqa: F403
from .base import Input, InputLayer, InputSpec, KerasTensor, Layer
from .conv import *  # noqa: F403
from .conv_extra import *  # noqa: F403
from .core import *  # noqa: F403
from .embedding import *  # noqa: F403
from .image_preprocessing import *  # noqa: F403
from .lookup import *  # noqa: F403
from .merge import *  # noqa: F403
from .normalization import *  # noqa: F403
from .normalization_extra import *  # noqa: F403
from .pooling import *  # noqa: F403
from .preprocessing_layers import *  # noqa: F403
from .recurrent import *  # noqa: F403
from .wrappers import *  # noqa: F403

__all__ = ["Layer", "Input", "InputLayer", "InputSpec", "KerasTensor", "serialize", "deserialize",
           "get_registered"]
for _module in (core, conv, conv_extra, pooling, normalization, normalization_extra, embedding, recurrent,
                wrappers, merge, attention, activation_layers, preprocessing_layers, augmentation):
    __all__ += _module.__all__
__all__ += lookup.__all__ + image_preprocessing.__all__  # noqa: F405


class _LayerRegistry(Registry):
    """Layers and models by class name: ``custom_objects`` first, then the classes registered with
    ``register_keras_serializable`` or in a ``custom_object_scope``, then the built-in ones."""

    def _class(self, class_name, custom_objects=None):
        from .. import models
        from ..utils import get_custom_objects

        known = {"Sequential": models.Sequential, "Functional": models.Model, "Model": models.Model}
        return super()._class(class_name, {**known, **get_custom_objects(), **(custom_objects or {})})


_REGISTRY = _LayerRegistry("layer", classes=[v for v in globals().values()
                                             if isinstance(v, type) and issubclass(v, Layer)], base=Layer)
serialize, deserialize = _REGISTRY.serialize, _REGISTRY.deserialize


def get_registered(custom_objects=None):
    """Layer classes by class name: the built-in ones, then registered ones and ``custom_objects``."""
    from ..utils import get_custom_objects

    extra = {**get_custom_objects(), **(custom_objects or {})}
    return {**_REGISTRY.classes, **{k: v for k, v in extra.items() if isinstance(v, type)}}
