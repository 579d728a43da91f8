"""``torch.backends``: the flags PyTorch programs set on their first lines (``cudnn.benchmark = True``).

They are accepted and kept, and change nothing: shendu has no cuDNN or MPS backend.
"""
from . import cudnn, mps  # noqa: F401
