"""Structured channel pruning that removes channels for real: the layers get smaller.

``prune_channels(model, amount)`` walks a Sequential (``nn.Sequential``, nested ones, or a Keras
``Sequential``) and, for every Conv2d/Conv1d/Linear whose output feeds another Conv/Linear, drops
the fraction ``amount`` of its output channels with the smallest L1 norm

    importance(c) = Σ_{i,kh,kw} |W[c, i, kh, kw]|     (Li et al., "Pruning Filters for Efficient ConvNets")

and shrinks everything the dropped channels touched:

- the layer itself: ``weight[keep]``, ``bias[keep]``, ``out_channels`` / ``out_features``;
- a BatchNorm in between: ``weight``, ``bias``, ``running_mean``, ``running_var``, ``num_features``;
- the next Conv: ``weight[:, keep]``, ``in_channels``; the next Linear: ``weight[:, keep]``;
- a Flatten between a Conv and a Linear: channel c of a (C, H, W) map owns the in-features
  c·HW … c·HW + HW − 1 (NCHW, PyTorch) or h·W·C + w·C + c (channels-last, Keras), so those columns go.

Element-wise layers, pooling and Dropout between them pass channels through unchanged. The output
layer keeps its outputs (they are the classes). A chain broken by anything else that holds weights
(LayerNorm, an Embedding, a grouped conv) leaves that producer unpruned, and ``plan`` says why.
The parameters are new tensors: build the optimizer (or ``compile`` a Keras model) after pruning.
"""
import numpy as np

from .. import nn
from ..nn.parameter import Parameter
from ..tensor import Tensor

__all__ = ["prune_channels", "channel_importance"]


def _arr(t):
    return np.asarray(t.array if isinstance(t, Tensor) else t)


def _has_weights(module):
    return any(True for _ in module.parameters())


def _roles(model):
    """The model as a flat list of (role, module, keras_layer, extra)."""
    keras_layers = getattr(model, "layers", None)
    if keras_layers is not None and not isinstance(model, nn.Sequential):
        out = []
        for layer in keras_layers:
            kind = type(layer).__name__
            if hasattr(layer, "conv") and isinstance(layer.conv, (nn.Conv2d,)) and \
                    not getattr(layer.conv, "transposed", False):
                cf = getattr(layer, "data_format", "channels_last") == "channels_first"
                out.append(("conv", layer.conv, layer, cf))
            elif hasattr(layer, "linear") and isinstance(layer.linear, nn.Linear):
                out.append(("linear", layer.linear, layer, None))
            elif kind == "BatchNormalization" and hasattr(layer, "bn"):
                out.append(("bn", layer.bn, layer, None))
            elif kind == "Flatten":
                fmt = getattr(layer, "data_format", "channels_last")
                out.append(("flatten", layer, layer, "reshape" if fmt == "channels_last" else "permute"))
            elif _has_weights(layer):
                out.append(("other", layer, layer, None))
            else:
                out.append(("pass", layer, layer, None))
        return out
    out = []

    def walk(m):
        for child in m.children():
            if isinstance(child, nn.Sequential):
                walk(child)
            elif isinstance(child, nn.Conv2d) and not child.transposed:  # Conv1d is a Conv2d
                out.append(("conv", child, None, True))
            elif isinstance(child, nn.Linear):
                out.append(("linear", child, None, None))
            elif isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)):
                out.append(("bn", child, None, None))
            elif isinstance(child, nn.Flatten):
                out.append(("flatten", child, None, "reshape"))
            elif _has_weights(child):
                out.append(("other", child, None, None))
            else:
                out.append(("pass", child, None, None))

    if not isinstance(model, nn.Sequential):
        raise TypeError(f"prune_channels: expected an nn.Sequential or a Keras Sequential, got "
                        f"{type(model).__name__}; for other models, call prune.ln_structured per layer")
    walk(model)
    return out


def channel_importance(module):
    """L1 norm of each output channel's weights (Conv: over in-channels and kernel; Linear: over inputs)."""
    w = _arr(module.weight)
    return np.abs(w.reshape(w.shape[0], -1)).sum(axis=1)


def _set_param(module, name, value):
    old = module._parameters.get(name)
    if old is None:
        return
    module.register_parameter(name, Parameter(np.ascontiguousarray(value), requires_grad=old.requires_grad))


def _shrink_out(module, keep):
    _set_param(module, "weight", _arr(module.weight)[keep])
    if module.bias is not None:
        _set_param(module, "bias", _arr(module.bias)[keep])
    if isinstance(module, nn.Linear):
        module.out_features = len(keep)
    else:
        module.out_channels = len(keep)


def _shrink_bn(bn, keep):
    for name in ("weight", "bias"):
        if bn._parameters.get(name) is not None:
            _set_param(bn, name, _arr(bn._parameters[name])[keep])
    for name in ("running_mean", "running_var"):
        if bn._buffers.get(name) is not None:
            bn.register_buffer(name, Tensor(np.ascontiguousarray(_arr(bn._buffers[name])[keep])))
    bn.num_features = len(keep)


def _shrink_in(module, cols):
    _set_param(module, "weight", _arr(module.weight)[:, cols])
    if isinstance(module, nn.Linear):
        module.in_features = len(cols)
    else:
        module.in_channels = len(cols)


def _flat_columns(keep, c_old, in_features, layout, where):
    if in_features % c_old:
        raise ValueError(f"prune_channels: {where} has {in_features} in-features after a Flatten of "
                         f"{c_old} channels; expected a multiple of {c_old}")
    s = in_features // c_old
    idx = np.arange(in_features)
    if layout == "channels_first":
        chan = idx // s
    else:
        chan = idx % c_old
    return idx[np.isin(chan, keep)]


def prune_channels(model, amount=0.5, min_channels=1, verbose=False):
    """Remove the fraction ``amount`` of output channels (smallest L1 norm) of every prunable layer.

    Returns a list of dicts, one per layer considered: ``layer`` (repr name), ``before``, ``after``
    (channels), or ``skipped`` (why). The model is changed in place.
    """
    if not 0.0 <= float(amount) < 1.0:
        raise ValueError(f"prune_channels: amount must be in [0, 1), got {amount}")
    roles = _roles(model)
    plan = []
    for i, (role, mod, klayer, cf) in enumerate(roles):
        if role not in ("conv", "linear"):
            continue
        label = getattr(klayer, "name", None) or f"{i}:{type(mod).__name__}"
        if role == "conv" and mod.groups != 1:
            plan.append({"layer": label, "skipped": "grouped convolution"})
            continue
        # follow the chain to the next producer/consumer
        bns, flatten, consumer, why = [], None, None, None
        for role2, mod2, k2, extra2 in roles[i + 1:]:
            if role2 == "pass":
                continue
            if role2 == "bn":
                bns.append(mod2)
                continue
            if role2 == "flatten":
                flatten = extra2
                continue
            if role2 in ("conv", "linear"):
                if role2 == "conv" and mod2.groups != 1:
                    why = "the next layer is a grouped convolution"
                else:
                    consumer = (role2, mod2, k2)
                break
            why = f"{type(mod2).__name__} follows"
            break
        if consumer is None:
            plan.append({"layer": label, "skipped": why or "output layer"})
            continue
        if role == "linear" and flatten is not None:
            plan.append({"layer": label, "skipped": "a Flatten follows a Linear"})
            continue
        if flatten == "permute" and not cf:
            plan.append({"layer": label, "skipped": "a channels_first Flatten after a channels_last conv"})
            continue
        c_old = _arr(mod.weight).shape[0]
        n_drop = min(int(round(amount * c_old)), c_old - min_channels)
        if n_drop <= 0:
            plan.append({"layer": label, "before": c_old, "after": c_old})
            continue
        order = np.argsort(channel_importance(mod), kind="stable")
        keep = np.sort(order[n_drop:])
        _shrink_out(mod, keep)
        for bn in bns:
            _shrink_bn(bn, keep)
        role2, mod2, k2 = consumer
        if role2 == "linear" and flatten is not None:
            # a reshape of NCHW maps keeps channel blocks; of NHWC (or a permute to it), interleaves them
            layout = "channels_first" if (cf and flatten == "reshape") else "channels_last"
            cols = _flat_columns(keep, c_old, mod2.in_features, layout, type(mod2).__name__)
        else:
            cols = keep
        _shrink_in(mod2, cols)
        if klayer is not None:
            if hasattr(klayer, "filters"):
                klayer.filters = len(keep)
            if hasattr(klayer, "units"):
                klayer.units = len(keep)
        plan.append({"layer": label, "before": c_old, "after": len(keep)})
        if verbose:
            print(f"{label}: {c_old} -> {len(keep)} channels")
    if any(k is not None for _, _, k, _ in roles):
        _refresh_keras_shapes(model)
    return plan


def _refresh_keras_shapes(model):
    """Forget the output shapes a Keras model remembers, and learn them again from one dummy batch."""
    for layer in [model] + list(model.layers):
        if "_output_shape" in layer.__dict__ and not type(layer).__name__ == "InputLayer":
            layer._output_shape = None
    shape = getattr(model, "input_shape", None)
    if shape and all(d is not None for d in shape[1:]):
        from ..autograd import no_grad
        from ..nn.module import training_mode

        with no_grad(), training_mode(False):
            model(np.zeros((1,) + tuple(shape[1:]), dtype=np.float32))
