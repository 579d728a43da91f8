"""Activations and Softmax/LogSoftmax/Hardmax, written with shendu's differentiable ops.

Selu: γ·(x if x > 0 else α(eˣ − 1)); HardSigmoid: clip(αx + β, 0, 1); HardSwish: x·HardSigmoid(x; 1/6, ½);
Softsign: x / (1 + |x|); Celu: max(0, x) + min(0, α(e^{x/α} − 1)); PRelu: x if x ≥ 0 else slope·x;
Mish: x·tanh(softplus x); Softmax before opset 13 flattens to 2-D at ``axis`` (default 1).
"""
import numpy as np

from ... import ops
from . import register
from ._common import arr, is_tensor, tensor


def _act(name, since=1):
    """Register an activation; a constant input is wrapped as a Tensor and unwrapped afterwards."""
    def deco(fn):
        def impl(ctx, inputs, attrs):
            x = inputs[0]
            if is_tensor(x):
                return fn(x, attrs, *inputs[1:])
            out = fn(tensor(x), attrs, *[tensor(v) if v is not None else None for v in inputs[1:]])
            return out.array
        register(name, since)(impl)
        return fn
    return deco


@_act("Relu")
def _relu(x, a):
    return ops.relu(x)


@_act("LeakyRelu")
def _leaky(x, a):
    return ops.leaky_relu(x, a.get("alpha", 0.01))


@_act("Elu")
def _elu(x, a):
    return ops.elu(x, a.get("alpha", 1.0))


@_act("Selu")
def _selu(x, a):
    alpha, gamma = a.get("alpha", 1.67326319217681884765625), a.get("gamma", 1.05070102214813232421875)
    pos = ops.relu(x)
    neg = ops.mul(ops.sub(ops.exp(ops.minimum(x, 0.0)), 1.0), alpha)
    return ops.mul(ops.add(pos, neg), gamma)


@_act("Sigmoid")
def _sigmoid(x, a):
    return ops.sigmoid(x)


@_act("Tanh")
def _tanh(x, a):
    return ops.tanh(x)


@_act("Softplus")
def _softplus(x, a):
    # log(1 + eˣ) = max(x, 0) + log1p(e^{−|x|}), exact everywhere
    return ops.add(ops.relu(x), ops.log1p(ops.exp(ops.neg(ops.abs(x)))))


@_act("Softsign")
def _softsign(x, a):
    return ops.div(x, ops.add(ops.abs(x), 1.0))


def _hard_sigmoid(x, alpha, beta):
    return ops.clip(ops.add(ops.mul(x, alpha), beta), 0.0, 1.0)


@_act("HardSigmoid")
def _hsig(x, a):
    return _hard_sigmoid(x, a.get("alpha", 0.2), a.get("beta", 0.5))


@_act("HardSwish", 14)
def _hswish(x, a):
    return ops.mul(x, _hard_sigmoid(x, 1.0 / 6.0, 0.5))


@_act("Gelu", 20)
def _gelu(x, a):
    return ops.gelu(x, a.get("approximate", "none"))


@_act("Celu", 12)
def _celu(x, a):
    alpha = a.get("alpha", 1.0)
    neg = ops.mul(ops.sub(ops.exp(ops.div(ops.minimum(x, 0.0), alpha)), 1.0), alpha)
    return ops.add(ops.relu(x), neg)


@_act("PRelu")
def _prelu(x, a, slope):
    neg = arr(x) < 0
    return ops.where(neg, ops.mul(x, slope), x)


@_act("ThresholdedRelu", 10)
def _threlu(x, a):
    return ops.where(arr(x) > a.get("alpha", 1.0), x, ops.mul(x, 0.0))


@_act("Mish", 18)
def _mish(x, a):
    return ops.mul(x, ops.tanh(_softplus(x, a)))


@_act("Shrink", 9)
def _shrink(x, a):
    lambd, bias = a.get("lambd", 0.5), a.get("bias", 0.0)
    v = arr(x)
    zero = ops.mul(x, 0.0)
    return ops.where(v < -lambd, ops.add(x, bias), ops.where(v > lambd, ops.sub(x, bias), zero))


def _softmax_family(fn, x, ctx, attrs):
    nd = arr(x).ndim
    if ctx.opset >= 13:
        return fn(x, attrs.get("axis", -1))
    axis = attrs.get("axis", 1) % max(nd, 1)
    shape = arr(x).shape
    flat = ops.reshape(x, (int(np.prod(shape[:axis], dtype=np.int64)), -1))
    return ops.reshape(fn(flat, 1), shape)


def _register_softmax(name, fn):
    def impl(ctx, inputs, attrs):
        x = inputs[0]
        out = _softmax_family(fn, tensor(x), ctx, attrs)
        return out if is_tensor(x) else out.array
    register(name, 1, 12)(impl)
    register(name, 13)(impl)


_register_softmax("Softmax", ops.softmax)
_register_softmax("LogSoftmax", ops.log_softmax)


def _hardmax(x, axis):
    v = arr(x)
    idx = np.argmax(v, axis=axis)
    out = np.zeros_like(v)
    np.put_along_axis(out, np.expand_dims(idx, axis), 1, axis=axis)
    return tensor(out)


_register_softmax("Hardmax", _hardmax)


@_act("Swish", 24)
def _swish(x, a):
    return ops.mul(x, ops.sigmoid(ops.mul(x, a.get("alpha", 1.0))))
