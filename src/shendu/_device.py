"""Devices, as PyTorch code names them. shendu computes on the CPU (NumPy).

``shendu.device("cpu")`` is a real object with PyTorch's attributes (``type``, ``index``), so
``device = torch.device("cuda" if torch.cuda.is_available() else "cpu")`` and
``x.to(device)`` run unchanged. An accelerator device can be named (as in PyTorch, naming one
does not need it to exist) but putting data on it raises, saying that this backend runs on the CPU.
"""

KNOWN_TYPES = ("cpu", "cuda", "mps", "xpu", "meta")


class device:  # noqa: N801  (PyTorch's name)
    """A device: ``device("cpu")``, ``device("cuda:0")``, ``device("cuda", 0)``."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):  # noqa: A002  (PyTorch's argument name)
        if isinstance(type, device):
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device() takes a string such as 'cpu' or 'cuda:0', got {type!r}")
        name, _, idx = type.partition(":")
        if name not in KNOWN_TYPES:
            raise RuntimeError(f"unknown device type {name!r}; expected one of {', '.join(KNOWN_TYPES)}")
        if idx:
            if index is not None or not idx.isdigit():
                raise RuntimeError(f"invalid device string {type!r}")
            index = int(idx)
        self.type, self.index = name, index

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


CPU = device("cpu")


def check_device(dev, what="this tensor"):
    """Return the CPU device if ``dev`` names it (or is None); raise for any other device."""
    if dev is None:
        return CPU
    if isinstance(dev, int):  # PyTorch reads a bare int as an accelerator index
        dev = device("cuda", dev)
    elif not isinstance(dev, device):
        dev = device(getattr(dev, "type", dev))
    if dev.type != "cpu":
        raise RuntimeError(f"cannot put {what} on device {str(dev)!r}: this shendu backend runs on the CPU "
                           "(shendu.cuda.is_available() is False)")
    return CPU
