"""``torch.utils`` paths that PyTorch programs import: ``shendu.utils.data`` is ``shendu.data``."""
import sys

from .. import data

sys.modules[__name__ + ".data"] = data  # the same module under PyTorch's path, not a copy
