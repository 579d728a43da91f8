"""``torch.accelerator``: which accelerator the program may use. shendu computes on the CPU only.

``current_accelerator()`` is None, as PyTorch's is on a machine without one, so the common line
``torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"``
chooses ``"cpu"``.
"""


def is_available():
    return False


def device_count():
    return 0


def current_accelerator(check_available=False):
    return None


def synchronize(device=None):
    """Nothing to wait for on the CPU."""
