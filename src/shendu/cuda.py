"""``torch.cuda`` as PyTorch code calls it: there is no CUDA backend, so ``is_available()`` is False.

Programs that pick their device with ``torch.cuda.is_available()`` take the CPU path; seeding and
synchronisation calls are accepted and do nothing beyond what they mean on the CPU.
"""
from .random import manual_seed as _manual_seed


def is_available():
    return False


def device_count():
    return 0


def is_bf16_supported(including_emulation=True):
    return False


def manual_seed(seed):
    """Seeds shendu's generator (the only one there is), like ``shendu.manual_seed``."""
    _manual_seed(seed)


manual_seed_all = manual_seed


def synchronize(device=None):
    """Nothing to wait for: CPU work is finished when the call returns."""


def empty_cache():
    """No device memory is cached."""


def current_device():
    raise RuntimeError("no CUDA device: shendu.cuda.is_available() is False")
