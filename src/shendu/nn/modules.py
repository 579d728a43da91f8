"""``torch.nn.modules``: the layer classes under PyTorch's longer path (``nn.modules.Module``)."""
from . import *  # noqa: F403
from .loss import *  # noqa: F403
from .module import Module  # noqa: F401
