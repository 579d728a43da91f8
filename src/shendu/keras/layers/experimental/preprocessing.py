"""The preprocessing layers under tf.keras 2's ``layers.experimental.preprocessing`` names (the same
classes as ``shendu.keras.layers``)."""

from ..augmentation import *  # noqa: F403
from ..augmentation import __all__ as _augmentation
from ..image_preprocessing import *  # noqa: F403
from ..image_preprocessing import __all__ as _image
from ..lookup import *  # noqa: F403
from ..lookup import __all__ as _lookup
from ..preprocessing_layers import *  # noqa: F403
from ..preprocessing_layers import __all__ as _preprocessing

__all__ = list(_preprocessing) + list(_lookup) + list(_augmentation) + list(_image)
