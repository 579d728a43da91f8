"""Loss functions, each ONE Function with an analytic backward (they run on every training step).

Every loss takes ``reduction``: "none" (one value per element/sample), "sum", or "mean"
(the sum divided by the number of terms, or by the total class weight where a ``weight`` applies).
In the formulas below, G is the upstream gradient of the reduced loss times 1/denominator for "mean".
"""
import numpy as np

from ..autograd import Function, unbroadcast
from ..backend import xp
from ..errors import ShapeError

_REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction, name, extra=()):
    if reduction not in _REDUCTIONS + tuple(extra):
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS + tuple(extra)}, got {reduction!r}")


def _over(a, denom, dtype):
    """a / denom in ``dtype``; a zero (all samples ignored) or non-finite denominator gives inf or NaN
    without NumPy's warning, as in PyTorch."""
    d = float(denom)
    if d != 0.0 and d - d == 0.0:          # finite and nonzero: nothing to silence (errstate costs 2 us)
        return a / xp.asarray(denom, dtype=dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return a / xp.asarray(denom, dtype=dtype)


def _reduce(loss, reduction, denom):
    """Apply ``reduction`` to the per-element ``loss``; ``denom`` is what "mean" divides by."""
    if reduction == "none":
        return loss
    total = loss.sum(dtype=loss.dtype)
    if reduction == "sum":
        return xp.asarray(total)
    return xp.asarray(_over(total, denom, loss.dtype))


def _grad_scale(g, reduction, denom, dtype):
    """The factor each element's local derivative is multiplied by in backward."""
    if reduction == "none":
        return g
    if reduction == "sum":
        return g
    return _over(g, denom, dtype)


def _classes_last(a):
    """(N, C, d1, …) → (N, d1, …, C), so the class axis is the last one (a view, no copy)."""
    return a if a.ndim <= 2 else xp.moveaxis(a, 1, -1)


def _classes_back(a):
    return a if a.ndim <= 2 else xp.moveaxis(a, -1, 1)


def _class_targets(name, target, n_classes, ignore_index, lead_shape):
    """Validate integer class targets; return (safe targets, valid mask). ``ignore_index=None``
    ignores no class."""
    if target.dtype.kind == "f":
        raise TypeError(f"{name}: class-index targets must be integers, got dtype {target.dtype}; "
                        "convert them with y.long() (or pass class probabilities with the input's shape)")
    if target.shape != lead_shape:
        raise ShapeError(f"{name}: target has shape {target.shape}, expected {lead_shape} (one class index "
                         f"per sample for an input of {n_classes} classes)")
    if ignore_index is None:        # no class is ignored: target != None would compare each label as a
        valid = xp.ones(target.shape, dtype=bool)            # Python object (4 us warm for 128 labels)
        safe = target
    else:
        valid = target != ignore_index
        safe = xp.where(valid, target, 0)
    if safe.size and (safe.min() < 0 or safe.max() >= n_classes):
        bad = int(safe[(safe < 0) | (safe >= n_classes)].flat[0])
        raise IndexError(f"{name}: target {bad} is out of bounds for {n_classes} classes (valid targets are "
                         f"0..{n_classes - 1}, or ignore_index={ignore_index})")
    return safe, valid


class CrossEntropy(Function):
    """Cross-entropy of logits z against class indices t or class probabilities y (log-softmax + NLL).

    With log pᵢc = zᵢc − log Σₖ e^(zᵢk), smoothing ε and class weights w (default 1):
      index targets:  Lᵢ = −(1−ε)·w_tᵢ·log pᵢ,tᵢ − (ε/C)·Σc w_c·log pᵢc   (0 where tᵢ = ignore_index);
                      "mean" divides Σ Lᵢ by Σᵢ w_tᵢ over the non-ignored samples (PyTorch's rule);
      probabilities:  Lᵢ = −Σc w_c·y'ᵢc·log pᵢc with y' = (1−ε)·y + ε/C; "mean" divides by the sample count.
    Writing Lᵢ = −Σc qᵢc log pᵢc, the gradient is ∂Lᵢ/∂zᵢc = pᵢc·Σₖ qᵢk − qᵢc (softmax − target).
    Input (N, C) or (N, C, d1, …) (or (C,) unbatched); the class axis is 1.
    """

    def forward(self, logits, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
        name = "cross_entropy"
        self.unbatched = logits.ndim == 1
        if self.unbatched:
            logits = logits[None]
            target = target[None]
        if logits.ndim < 2:
            raise ShapeError(f"{name}: input of shape {logits.shape} has no class axis")
        z = _classes_last(logits)
        C = z.shape[-1]
        eps, dtype = float(label_smoothing), logits.dtype
        w = None if weight is None else xp.asarray(weight, dtype=dtype)
        if w is not None and w.shape != (C,):
            raise ShapeError(f"{name}: weight has shape {w.shape}, expected ({C},): one weight per class")
        shifted = z - z.max(axis=-1, keepdims=True)
        e = xp.exp(shifted)
        sumexp = e.sum(axis=-1, keepdims=True)
        self.p = e / sumexp
        lse = xp.log(sumexp)
        self.index_targets = target.dtype.kind != "f"
        self.reduction, self.eps, self.w, self.C = reduction, eps, w, C
        if self.index_targets:
            t, valid = _class_targets(name, target, C, ignore_index, z.shape[:-1])
            wt = valid.astype(dtype) if w is None else w[t] * valid
            if z.ndim == 2:      # (N, C): the picked logits by one fancy index (take_along_axis is slower)
                picked = shifted[xp.arange(len(t)), t]
            else:
                picked = xp.take_along_axis(shifted, t[..., None], axis=-1)[..., 0]
            loss = (lse[..., 0] - picked) * wt
            if eps > 0:
                logp = shifted - lse
                smooth = -(logp.sum(axis=-1) if w is None else logp @ w) * valid
                loss = (1 - eps) * loss + (eps / C) * smooth
            self.t, self.valid, self.wt = t, valid, wt
            self.denom = wt.sum()
        else:
            if target.shape == z.shape[:-1]:
                _class_targets(name, target, C, ignore_index, z.shape[:-1])  # float class indices: TypeError
            if target.shape != logits.shape:
                raise ShapeError(f"{name}: probability targets must have the input's shape "
                                 f"{logits.shape}, got {target.shape}")
            y = _classes_last(target).astype(dtype, copy=False)
            if eps > 0:
                y = y * (1 - eps) + eps / C
            self.q = y if w is None else y * w
            self.logp = shifted - lse
            loss = -(self.q * self.logp).sum(axis=-1)
            self.denom = loss.size
        self.out_shape = loss.shape
        out = _reduce(loss, reduction, self.denom)
        return out[0] if self.unbatched and reduction == "none" else out

    def backward(self, g):
        s = _grad_scale(g, self.reduction, self.denom, self.p.dtype)
        if self.reduction == "none":
            s = s.reshape(self.out_shape)[..., None]
        if self.index_targets:
            eps, C = self.eps, self.C
            coef = (1 - eps) * self.wt
            if eps > 0:
                wsum = float(self.C) if self.w is None else float(self.w.sum())
                total = coef + (eps / C) * wsum * self.valid
            else:
                total = coef
            grad = self.p * total[..., None]
            flat = grad.reshape(-1, C)
            flat[np.arange(flat.shape[0]), self.t.reshape(-1)] -= coef.reshape(-1)
            grad = flat.reshape(grad.shape)
            if eps > 0:
                ws = xp.ones(C, dtype=grad.dtype) if self.w is None else self.w
                grad -= (eps / C) * ws * self.valid[..., None]
            grad = grad * s
            gt = None
        else:
            q = self.q
            grad = (self.p * q.sum(axis=-1, keepdims=True) - q) * s
            gt = None
            if self.needs_grad[1]:
                factor = (1 - self.eps) * (1 if self.w is None else self.w)
                gt = _classes_back(-factor * self.logp * s)
        grad = _classes_back(grad)
        if self.unbatched:
            grad = grad[0]
            gt = None if gt is None else gt[0]
        return grad, gt


class NLL(Function):
    """Negative log-likelihood of log-probabilities x: Lᵢ = −w_tᵢ·xᵢ,tᵢ (0 where tᵢ = ignore_index).

    "mean" divides by Σᵢ w_tᵢ over the non-ignored samples. ∂Lᵢ/∂xᵢc = −w_tᵢ where c = tᵢ, else 0.
    """

    def forward(self, logp, target, weight=None, ignore_index=-100, reduction="mean"):
        self.unbatched = logp.ndim == 1
        if self.unbatched:
            logp, target = logp[None], target[None]
        x = _classes_last(logp)
        C = x.shape[-1]
        w = None if weight is None else xp.asarray(weight, dtype=logp.dtype)
        t, valid = _class_targets("nll_loss", target, C, ignore_index, x.shape[:-1])
        wt = valid.astype(logp.dtype) if w is None else w[t] * valid
        loss = -xp.take_along_axis(x, t[..., None], axis=-1)[..., 0] * wt
        self.t, self.wt, self.shape, self.reduction = t, wt, x.shape, reduction
        self.denom = wt.sum()
        out = _reduce(loss, reduction, self.denom)
        return out[0] if self.unbatched and reduction == "none" else out

    def backward(self, g):
        s = _grad_scale(g, self.reduction, self.denom, self.wt.dtype)
        if self.reduction == "none":
            s = s.reshape(self.wt.shape)
        grad = xp.zeros(self.shape, dtype=self.wt.dtype)
        flat = grad.reshape(-1, self.shape[-1])
        flat[np.arange(flat.shape[0]), self.t.reshape(-1)] = (-self.wt * s).reshape(-1)
        grad = _classes_back(flat.reshape(self.shape))
        return (grad[0] if self.unbatched else grad), None


def _same_shape(name, x, y):
    if x.shape != y.shape:
        raise ShapeError(f"{name}: target shape {y.shape} differs from input shape {x.shape}; they must "
                         "match (reshape one of them, e.g. y.reshape(-1, 1) or out.squeeze(1))")


class BinaryCrossEntropy(Function):
    """L = −w·[y·log p + (1−y)·log(1−p)], each log clamped at −100 (PyTorch's rule).

    ∂L/∂p = w·(p − y) / max(p(1−p), 1e-12);  ∂L/∂y = −w·(log p − log(1−p)).
    """

    def forward(self, p, y, weight=None, reduction="mean"):
        _same_shape("binary_cross_entropy", p, y)
        if p.size and (p.min() < 0 or p.max() > 1):
            raise ValueError("binary_cross_entropy: input values must lie in [0, 1] (probabilities); for raw "
                             "scores use binary_cross_entropy_with_logits / nn.BCEWithLogitsLoss")
        with np.errstate(divide="ignore"):
            self.log_p = xp.maximum(xp.log(p), -100)
            self.log_1mp = xp.maximum(xp.log1p(-p), -100)
        self.w = None if weight is None else xp.asarray(weight, dtype=p.dtype)
        loss = -(y * self.log_p + (1 - y) * self.log_1mp)
        if self.w is not None:
            loss = loss * self.w
        self.p, self.y, self.reduction, self.denom = p, y, reduction, loss.size
        self.loss_shape = loss.shape
        return _reduce(loss, reduction, self.denom)

    def backward(self, g):
        s = _grad_scale(g, self.reduction, self.denom, self.p.dtype)
        w = 1 if self.w is None else self.w
        gp = s * w * (self.p - self.y) / xp.maximum(self.p * (1 - self.p), 1e-12)
        gy = None
        if self.needs_grad[1]:
            gy = unbroadcast(-s * w * (self.log_p - self.log_1mp), self.y.shape)
        return unbroadcast(gp, self.p.shape), gy


def _softplus(x):
    """log(1 + eˣ) without overflow: max(x, 0) + log(1 + e^(−|x|))."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


class BinaryCrossEntropyWithLogits(Function):
    """L = w·[pw·y·softplus(−x) + (1−y)·softplus(x)] = −w·[pw·y·log σ(x) + (1−y)·log(1−σ(x))], stable.

    ``pos_weight`` pw weights the positive term (broadcast over the last, class, axis).
    ∂L/∂x = w·[σ(x)·(pw·y + 1 − y) − pw·y];  ∂L/∂y = w·[pw·softplus(−x) − softplus(x)].
    """

    def forward(self, x, y, weight=None, pos_weight=None, reduction="mean"):
        _same_shape("binary_cross_entropy_with_logits", x, y)
        dtype = x.dtype
        self.sp_pos = _softplus(x)
        self.sp_neg = self.sp_pos - x
        self.pw = None if pos_weight is None else xp.asarray(pos_weight, dtype=dtype)
        self.w = None if weight is None else xp.asarray(weight, dtype=dtype)
        pos = y * self.sp_neg if self.pw is None else self.pw * y * self.sp_neg
        loss = pos + (1 - y) * self.sp_pos
        if self.w is not None:
            loss = loss * self.w
        self.x, self.y, self.reduction, self.denom = x, y, reduction, loss.size
        return _reduce(loss.astype(dtype, copy=False), reduction, self.denom)

    def backward(self, g):
        s = _grad_scale(g, self.reduction, self.denom, self.x.dtype)
        x, y = self.x, self.y
        pw = 1 if self.pw is None else self.pw
        w = 1 if self.w is None else self.w
        e = xp.exp(-xp.abs(x))
        sig = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        gx = s * w * (sig * (pw * y + 1 - y) - pw * y)
        gy = None
        if self.needs_grad[1]:
            gy = unbroadcast(s * w * (pw * self.sp_neg - self.sp_pos), y.shape)
        return unbroadcast(gx, x.shape), gy


class PointwiseLoss(Function):
    """Regression losses of the difference d = x − y (x and y broadcast together):

      "mse":        ℓ = d²                                          ℓ' = 2d
      "l1":         ℓ = |d|                                         ℓ' = sign(d)
      "smooth_l1":  ℓ = ½d²/β if |d| < β else |d| − ½β              ℓ' = d/β or sign(d)
      "huber":      ℓ = ½d² if |d| < δ else δ·(|d| − ½δ)           ℓ' = d or δ·sign(d)
    ∂L/∂x = G·ℓ'(d), ∂L/∂y = −G·ℓ'(d) (summed back over broadcast axes).
    """

    def forward(self, x, y, kind="mse", param=1.0, reduction="mean"):
        d = x - y
        self.sx, self.sy = x.shape, getattr(y, "shape", ())
        if kind == "mse":
            loss, self.deriv = d * d, 2 * d
        elif kind == "l1" or (kind == "smooth_l1" and param == 0):
            loss, self.deriv = xp.abs(d), xp.sign(d)
        elif kind == "smooth_l1":
            small = xp.abs(d) < param
            loss = xp.where(small, 0.5 * d * d / param, xp.abs(d) - 0.5 * param)
            self.deriv = xp.where(small, d / param, xp.sign(d))
        elif kind == "huber":
            small = xp.abs(d) < param
            loss = xp.where(small, 0.5 * d * d, param * (xp.abs(d) - 0.5 * param))
            self.deriv = xp.where(small, d, param * xp.sign(d))
        else:
            raise ValueError(f"PointwiseLoss: unknown kind {kind!r}")
        loss = loss.astype(d.dtype, copy=False)
        self.reduction, self.denom = reduction, loss.size
        return _reduce(loss, reduction, self.denom)

    def backward(self, g):
        gd = _grad_scale(g, self.reduction, self.denom, self.deriv.dtype) * self.deriv
        gy = unbroadcast(-gd, self.sy) if len(self.needs_grad) > 1 and self.needs_grad[1] else None
        return unbroadcast(gd, self.sx), gy


class KLDiv(Function):
    """Kullback–Leibler divergence with log-probabilities x as input and target y:

      ℓ = y·(log y − x)  (0 where y = 0);  with ``log_target`` t = log y: ℓ = eᵗ·(t − x).
    ∂ℓ/∂x = −y;  ∂ℓ/∂y = log y + 1 − x  (log target: ∂ℓ/∂t = eᵗ·(t − x + 1)).
    "batchmean" divides the sum by the batch size x.shape[0] (the true KL divergence per sample).
    """

    def forward(self, x, y, reduction="mean", log_target=False):
        self.sx, self.sy = x.shape, y.shape
        self.x, self.y, self.log_target = x, y, log_target
        if log_target:
            self.ey = xp.exp(y)
            loss = self.ey * (y - x)
        else:
            pos = y > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                self.logy = xp.where(pos, xp.log(xp.where(pos, y, 1)), 0)
            loss = y * self.logy - y * x
            self.pos = pos
        loss = loss.astype(xp.result_type(x, y), copy=False)
        if reduction == "batchmean":
            self.denom = x.shape[0] if x.ndim else 1
            self.reduction = "mean"
        else:
            self.denom, self.reduction = loss.size, reduction
        return _reduce(loss, self.reduction, self.denom)

    def backward(self, g):
        s = _grad_scale(g, self.reduction, self.denom, self.x.dtype)
        if self.log_target:
            gx = -s * self.ey
            gy = s * self.ey * (self.y - self.x + 1)
        else:
            gx = -s * self.y
            gy = s * (xp.where(self.pos, self.logy + 1, 0) - self.x)
        gy = unbroadcast(gy, self.sy) if self.needs_grad[1] else None
        return unbroadcast(gx, self.sx), gy
