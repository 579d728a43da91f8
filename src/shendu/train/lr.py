"""Reading and writing an optimizer's learning rate, whatever its style.

Keras-style optimizer objects expose a ``learning_rate`` attribute; PyTorch-style ones keep ``lr``
in each of their ``param_groups``. Callbacks that change the learning rate
(:class:`~shendu.train.ReduceLROnPlateau`, :class:`~shendu.train.LearningRateScheduler`) go through
these two functions so they work with both.
"""

__all__ = ["get_lr", "set_lr"]


def get_lr(optimizer):
    """The learning rate of ``optimizer`` as a Python float.

    Uses ``optimizer.learning_rate`` when it exists, else ``optimizer.param_groups[0]["lr"]``.
    """
    if optimizer is None:
        raise ValueError("get_lr: the model has no optimizer (compile it, or give the Trainer one)")
    if hasattr(optimizer, "learning_rate"):
        return float(optimizer.learning_rate)
    groups = getattr(optimizer, "param_groups", None)
    if groups:
        return float(groups[0]["lr"])
    raise TypeError(f"get_lr: {type(optimizer).__name__} has neither a 'learning_rate' attribute nor "
                    "'param_groups' with an 'lr' entry")


def set_lr(optimizer, value):
    """Set the learning rate of ``optimizer`` to ``value``.

    Writes ``optimizer.learning_rate`` when it exists, else ``lr`` in every parameter group.
    """
    if optimizer is None:
        raise ValueError("set_lr: the model has no optimizer (compile it, or give the Trainer one)")
    value = float(value)
    if hasattr(optimizer, "learning_rate"):
        optimizer.learning_rate = value
        return
    groups = getattr(optimizer, "param_groups", None)
    if not groups:
        raise TypeError(f"set_lr: {type(optimizer).__name__} has neither a 'learning_rate' attribute nor "
                        "'param_groups' with an 'lr' entry")
    for group in groups:
        group["lr"] = value
