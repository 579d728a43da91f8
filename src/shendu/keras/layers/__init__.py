"""Keras layers: ``from shendu.keras import layers`` then ``layers.Dense(64, activation='relu')``."""

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
