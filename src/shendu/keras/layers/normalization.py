"""BatchNormalization and LayerNormalization with Keras's defaults (momentum 0.99, epsilon 1e-3).

Keras's moving average ``moving = moving·momentum + batch·(1 − momentum)`` is PyTorch's with
momentum 1 − 0.99, so the ``nn.BatchNorm`` inside gets ``momentum=1 - momentum``.
"""


import shendu as sd

from ... import nn
from .base import Arg, Bool, Con, Float, Init, Int, Layer, Reg, W, _owner, channels_first

__all__ = ["BatchNormalization", "LayerNormalization"]


def _one_axis(layer, name, axis):
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise NotImplementedError(f"{_owner(layer)}: only one normalisation axis is supported, "
                                      f"got {axis!r}")
        axis = axis[0]
    return Int().parse(layer, name, axis)


def _last_axis(layer, name, axis):
    if axis not in (-1, [-1], (-1,)):
        raise NotImplementedError(f"{type(layer).__name__}: only axis=-1 is supported")
    return -1


def norm_args(moving=False, **head):
    """``head`` then the Keras arguments of a normalisation with gamma and beta, in Keras's order
    (``moving``: BatchNormalization's initializers of the moving statistics after gamma's)."""
    args = dict(head, center=Bool(True), scale=Bool(True), beta_initializer=Init("zeros"),
                gamma_initializer=Init("ones"))
    if moving:
        args.update(moving_mean_initializer=Init("zeros"), moving_variance_initializer=Init("ones"))
    return dict(args, beta_regularizer=Reg(), gamma_regularizer=Reg(), beta_constraint=Con(),
                gamma_constraint=Con())


def _gamma_beta(module):
    return (W("gamma", f"{module}.weight", lambda s, c: (c,), when="scale"),
            W("beta", f"{module}.bias", lambda s, c: (c,), when="center"))


class BatchNormalization(Layer):
    """Normalise each channel (``axis``, default the last) with batch statistics in training and moving
    averages in inference. Weights: gamma, beta (trainable), moving_mean, moving_variance (not trainable).

    A layer set ``trainable = False`` also runs in inference mode, as in Keras (fine-tuning rule).
    """

    keras_args = dict(norm_args(True, axis=Arg(-1, _one_axis), momentum=Float(0.99), epsilon=Float(1e-3)),
                      synchronized=Bool(False, save=False))
    keras_weights = _gamma_beta("bn") + (
        W("moving_mean", "bn.running_mean", lambda s, c: (c,), state=True),
        W("moving_variance", "bn.running_var", lambda s, c: (c,), state=True),
    )

    _feature_name = property(lambda self: f"axis {self.axis}")

    def _feature_axis(self, ndim):
        return self.axis % ndim

    def build(self, input_shape):
        nd = len(input_shape)
        self._axis = self.axis % nd
        if self._axis == 0:
            raise ValueError(f"BatchNormalization '{self.name}': cannot normalise over the batch axis")
        self._ndim = nd
        bn_cls = nn.BatchNorm2d if nd == 4 else nn.BatchNorm1d
        self.bn = bn_cls(self._known_features(input_shape), eps=self.epsilon, momentum=1.0 - self.momentum)
        self.bn.unbiased_running_var = False  # Keras keeps the batch's own (biased) variance

    def call(self, inputs, training=None):
        bn = self.bn
        use_batch = bool(training) and self.trainable
        if bn.training != use_batch:
            bn.train(use_batch)
        if inputs.ndim <= 4:
            return channels_first(inputs, self._axis, bn)
        return channels_first(inputs, self._axis, lambda x: sd.reshape(bn(sd.reshape(x, x.shape[:2] + (-1,))),
                                                                        x.shape))

    compute_output_shape = Layer._same_shape


class LayerNormalization(Layer):
    """Normalise each sample over the last axis: gamma·(x − μ)/√(σ² + ε) + beta (epsilon 1e-3)."""

    keras_args = norm_args(axis=Arg(-1, _last_axis), epsilon=Float(1e-3))
    keras_weights = _gamma_beta("ln")

    def build(self, input_shape):
        self.ln = nn.LayerNorm(self._known_features(input_shape), eps=self.epsilon)

    def call(self, inputs):
        return self.ln(inputs)

    compute_output_shape = Layer._same_shape
