"""``to_sequential(model)``: a model as one flat ``nn.Sequential`` of NCHW layers, the shape that
:func:`shendu.compress.quantize` and the QDQ export work on.

An ``nn.Sequential`` (nested ones are flattened) is copied as is. A Keras ``Sequential`` becomes
the same computation in PyTorch layout: its channels-last input is permuted to NCHW once at the
start, each ``Conv2D``/``Dense`` becomes its inner ``nn.Conv2d``/``nn.Linear`` followed by its
activation as a layer, and a ``Flatten`` after a conv is preceded by the permutation back to
channels-last, so the Dense weights need no change. The layers share their tensors with ``model``.
"""
from .. import nn
from ..ops import permute as _permute

__all__ = ["to_sequential", "Permute", "SUPPORTED"]


class Permute(nn.Module):
    """y = x.permute(dims) (channels-last <-> channels-first at the edge of a lowered Keras model)."""

    def __init__(self, dims):
        super().__init__()
        self.dims = tuple(int(d) for d in dims)

    def forward(self, x):
        return _permute(x, self.dims)

    def extra_repr(self):
        return f"dims={self.dims}"


_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
                "softmax": lambda: nn.Softmax(dim=-1), "log_softmax": lambda: nn.LogSoftmax(dim=-1)}
SUPPORTED = (nn.Conv2d, nn.Linear, nn.BatchNorm2d, nn.BatchNorm1d, nn.ReLU, nn.Sigmoid, nn.Tanh,
             nn.MaxPool2d, nn.AvgPool2d, nn.Flatten, nn.Softmax, nn.LogSoftmax, nn.Dropout, nn.Identity,
             Permute)


def _activation(layer, where):
    from ..keras import activations

    name = activations.serialize(getattr(layer, "activation", None))
    if name in (None, "linear"):
        return []
    if name not in _ACTIVATIONS:
        raise ValueError(f"to_sequential: {where} has activation {name!r}; supported: linear, "
                         f"{', '.join(_ACTIVATIONS)}")
    return [_ACTIVATIONS[name]()]


def _from_keras(model):
    out, channels_last = [], False
    for layer in model.layers:
        kind, where = type(layer).__name__, f"{type(layer).__name__} '{layer.name}'"
        if kind == "InputLayer":
            continue
        if kind in ("Conv2D",):
            if layer.data_format != "channels_last" or getattr(layer, "_manual_pad", False):
                raise ValueError(f"to_sequential: {where} (channels_first data or asymmetric 'same' "
                                 "padding) is not supported")
            if not channels_last:
                out.append(Permute((0, 3, 1, 2)))
                channels_last = True
            out.append(layer.conv)
            out += _activation(layer, where)
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            if layer.padding != "valid":
                raise ValueError(f"to_sequential: {where} with padding={layer.padding!r} is not supported")
            if not channels_last:
                out.append(Permute((0, 3, 1, 2)))
                channels_last = True
            out.append(layer.pool)
        elif kind == "BatchNormalization":
            if channels_last and layer.axis not in (-1, 3):
                raise ValueError(f"to_sequential: {where} normalises axis {layer.axis}; expected -1")
            out.append(layer.bn)
        elif kind == "Flatten":
            if channels_last:
                out.append(Permute((0, 2, 3, 1)))
                channels_last = False
            out.append(nn.Flatten())
        elif kind == "Dense":
            if channels_last:
                raise ValueError(f"to_sequential: {where} is applied to a 4-D map; Flatten first")
            out.append(layer.linear)
            out += _activation(layer, where)
        elif kind == "Dropout":
            continue
        elif kind == "Activation":
            out += _activation(layer, where)
        elif kind in ("ReLU", "Softmax"):
            out.append(nn.ReLU() if kind == "ReLU" else nn.Softmax(dim=-1))
        else:
            raise ValueError(f"to_sequential: {where} is not supported (supported Keras layers: Conv2D, "
                             "MaxPooling2D, AveragePooling2D, BatchNormalization, Flatten, Dense, Dropout, "
                             "Activation, ReLU, Softmax)")
    if channels_last:
        out.append(Permute((0, 2, 3, 1)))
    return nn.Sequential(*out)


def to_sequential(model):
    """``model`` (nn.Sequential or Keras Sequential) as a flat ``nn.Sequential`` of NCHW layers."""
    if isinstance(model, nn.Sequential):
        flat = []

        def walk(m):
            for child in m.children():
                if isinstance(child, nn.Sequential):
                    walk(child)
                elif not isinstance(child, SUPPORTED):
                    raise ValueError(f"to_sequential: layer {type(child).__name__} is not supported "
                                     f"(supported: {', '.join(c.__name__ for c in SUPPORTED)})")
                else:
                    flat.append(child)

        walk(model)
        return nn.Sequential(*flat)
    if hasattr(model, "layers") and hasattr(model, "get_config"):
        return _from_keras(model)
    raise TypeError(f"to_sequential: expected an nn.Sequential or a Keras Sequential, got "
                    f"{type(model).__name__}")


def input_layout(model):
    """'NHWC' for a lowered Keras conv model (it starts with a Permute), else 'NCHW' / 'flat'."""
    first = next(iter(model.children()), None)
    return "NHWC" if isinstance(first, Permute) else "NCHW"

