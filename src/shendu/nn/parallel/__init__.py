"""``torch.nn.parallel``: wrappers that PyTorch programs put around a model for several GPUs.

shendu runs in one process on the CPU, so ``DataParallel(model)`` is the model itself behind a
``.module`` attribute, as in PyTorch, and computes exactly what the model computes.
"""
from ..module import Module


class DataParallel(Module):
    """Holds ``module`` (PyTorch's attribute name) and forwards every call to it."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)


DistributedDataParallel = DataParallel
