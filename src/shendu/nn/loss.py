"""Loss modules. Each stores its options and calls the matching function in :mod:`shendu.nn.functional`.

``reduction``: "none" (a value per element/sample), "mean" (default) or "sum".
"""
from ..tensor import Tensor, _to_array
from . import functional as F
from .module import Module

__all__ = ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss",
           "CrossEntropyLoss",
           "NLLLoss", "KLDivLoss"]


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = F._legacy_reduction(size_average, reduce, reduction)

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", None if weight is None else
                             (weight if isinstance(weight, Tensor) else Tensor(_to_array(weight))))


class MSELoss(_Loss):
    """Mean squared error: ℓ = (x − y)², averaged (or summed) over all elements."""

    def forward(self, input, target):  # noqa: A002
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: ℓ = |x − y|."""

    def forward(self, input, target):  # noqa: A002
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """ℓ = ½(x − y)²/β where |x − y| < β, else |x − y| − ½β (quadratic near 0, linear far away)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):  # noqa: A002
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """ℓ = ½(x − y)² where |x − y| < δ, else δ·(|x − y| − ½δ)  (= δ·SmoothL1 with β = δ)."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):  # noqa: A002
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities p ∈ [0, 1]: ℓ = −w·[y·log p + (1 − y)·log(1 − p)]
    (each log clamped at −100, so p = 0 or 1 gives a finite loss). Put a Sigmoid before it, or better,
    use BCEWithLogitsLoss on the raw scores."""

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Sigmoid + binary cross-entropy in one stable step, on logits x:
    ℓ = −w·[pw·y·log σ(x) + (1 − y)·log(1 − σ(x))]; ``pos_weight`` pw (one per class) weights positives."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer("pos_weight", None if pos_weight is None else
                             (pos_weight if isinstance(pos_weight, Tensor) else
                              Tensor(_to_array(pos_weight))))

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy for classification, taking raw logits x of shape (N, C) or (N, C, d1, …).

    Class-index targets t (N,) or (N, d1, …):  ℓᵢ = −w_tᵢ·log softmax(xᵢ)_tᵢ,
    "mean" = Σᵢ ℓᵢ / Σᵢ w_tᵢ (samples with t = ``ignore_index`` are left out).
    Class-probability targets y (same shape as x): ℓᵢ = −Σc w_c·yᵢc·log softmax(xᵢ)_c, "mean" over N.
    ``label_smoothing`` ε mixes the target with the uniform distribution: (1 − ε)·y + ε/C.
    Do not put a Softmax before it: it applies log-softmax itself. Gradient: softmax(x) − target.
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):  # noqa: A002
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood for log-probabilities x (e.g. after LogSoftmax): ℓᵢ = −w_tᵢ·xᵢ,tᵢ;
    "mean" divides by Σᵢ w_tᵢ."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class KLDivLoss(_Loss):
    """KL divergence ℓ = y·(log y − x) for log-probabilities x and probabilities y
    (``log_target=True``: y given as log-probabilities). Use ``reduction="batchmean"`` for the true
    KL divergence averaged per sample."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):  # noqa: A002
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
