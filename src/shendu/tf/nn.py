"""``tf.nn``: activations and the losses written on logits, under their tf.nn names."""

from ..keras import ops as _k
from ..keras import random as _kr

__all__ = ["relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "elu", "selu", "gelu", "silu",
           "swish", "leaky_relu", "softplus", "sigmoid_cross_entropy_with_logits",
           "softmax_cross_entropy_with_logits", "sparse_softmax_cross_entropy_with_logits", "l2_normalize",
           "dropout", "moments"]


def relu(features, name=None):
    return _k.relu(features)


def relu6(features, name=None):
    return _k.relu6(features)


def sigmoid(x, name=None):
    return _k.sigmoid(x)


def tanh(x, name=None):
    return _k.tanh(x)


def softmax(logits, axis=None, name=None):
    return _k.softmax(logits, -1 if axis is None else axis)


def log_softmax(logits, axis=None, name=None):
    return _k.log_softmax(logits, -1 if axis is None else axis)


def elu(features, name=None):
    return _k.elu(features)


def selu(features, name=None):
    return _k.selu(features)


def gelu(features, approximate=False, name=None):
    return _k.gelu(features, approximate)


def silu(features, beta=1.0):
    return _k.silu(features)


swish = silu


def leaky_relu(features, alpha=0.2, name=None):
    return _k.leaky_relu(features, alpha)


def softplus(features, name=None):
    return _k.softplus(features)


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """Element-wise: max(x, 0) - x z + log(1 + exp(-|x|))."""
    return _k.binary_crossentropy(labels, logits, from_logits=True)


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    return _k.categorical_crossentropy(labels, logits, from_logits=True, axis=axis)


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None):
    return _k.sparse_categorical_crossentropy(labels, logits, from_logits=True)


def l2_normalize(x, axis=None, epsilon=1e-12, name=None):
    return _k.normalize(x, -1 if axis is None else axis)


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    return _kr.dropout(x, rate, noise_shape, seed)


def moments(x, axes, shift=None, keepdims=False, name=None):
    return _k.moments(x, axes, keepdims)
