"""Adam and AdamW: momentum on the gradient plus per-coordinate scaling by its running RMS."""
from ..backend import xp
from .optimizer import Optimizer, _adam_moments_, _compiled_kernels, _kernel_arrays

__all__ = ["Adam", "AdamW"]


def _compiled_update(param, grad, state, group, lr, eps, wd, beta1, beta2, step_size, bias_correction2_sqrt):
    """``Adam._update``'s arithmetic by the one-pass kernel; False (nothing changed) where it does not
    apply (see ``_kernel_arrays``)."""
    amsgrad = group["amsgrad"]
    extra = (state["max_exp_avg_sq"],) if amsgrad else ()
    flat = _kernel_arrays(param, grad, state["exp_avg"], state["exp_avg_sq"], *extra)
    if flat is None:
        return False
    dt = param.dtype.type
    decoupled = group.get("decoupled_weight_decay", False)
    weight = 1.0 - beta1                       # _lerp_(m, g, weight): from m below ½, from g above
    unused = xp.empty(0, param.dtype)          # not another argument's memory: that would stop vectorising
    _compiled_kernels().adam_update(
        flat[0], flat[1], flat[2], flat[3], flat[4] if amsgrad else unused,
        dt(1.0 - lr * wd) if decoupled and wd else dt(1.0), bool(group["maximize"]), dt(wd),
        bool(wd) and not decoupled, dt(weight) if weight < 0.5 else dt(1.0 - weight), not weight < 0.5,
        dt(beta2), dt(1.0 - beta2), bool(amsgrad), dt(bias_correction2_sqrt), dt(eps), dt(step_size))
    return True


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with PyTorch's update rule, names and defaults.

    With g the gradient (negated when ``maximize``), (β₁, β₂) = ``betas``, t the step count
    (from 1) and η = ``lr``::

        g ← g + λ·θ                       (λ = weight_decay, L2 style; see AdamW for decoupled)
        m ← β₁·m + (1 − β₁)·g             (first moment: a running mean of gradients)
        v ← β₂·v + (1 − β₂)·g²            (second moment: a running mean of squared gradients)
        amsgrad:  v̂ ← max(v̂, v), and v̂ replaces v below
        θ ← θ − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)

    The factors 1/(1 − βᵗ) undo the bias of m and v towards their zero start.
    ``decoupled_weight_decay=True`` turns this into :class:`AdamW`.
    """

    _fusable = True    # elementwise update: groups may run as one flat array (see Optimizer)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, foreach=None, fused=None, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay,
                        foreach=foreach, fused=fused)
        super().__init__(params, defaults)

    def _init_state(self, param, state, group):
        state["step"] = 0
        state["exp_avg"] = xp.zeros_like(param)
        state["exp_avg_sq"] = xp.zeros_like(param)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = xp.zeros_like(param)

    def _update(self, param, grad, state, group):
        state["step"] += 1
        step = state["step"]
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        step_size = lr / (1.0 - beta1 ** step)
        bias_correction2_sqrt = (1.0 - beta2 ** step) ** 0.5
        if group["amsgrad"]:
            state.setdefault("max_exp_avg_sq", xp.zeros_like(param))
        if _compiled_update(param, grad, state, group, lr, eps, wd, beta1, beta2, step_size,
                            bias_correction2_sqrt):
            return                                   # the same numbers, in one pass (shendu[fast])
        _, exp_avg, exp_avg_sq = _adam_moments_(param, grad, state, group, lr, wd, beta1, beta2)
        second = exp_avg_sq
        if group["amsgrad"]:
            second = state["max_exp_avg_sq"]
            xp.maximum(second, exp_avg_sq, out=second)
        denom = xp.sqrt(second)
        denom /= bias_correction2_sqrt
        denom += eps
        xp.divide(exp_avg, denom, out=denom)
        denom *= step_size
        param -= denom


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019): Adam with weight decay decoupled from the gradient.

    Same as :class:`Adam` except that, instead of adding λ·θ to the gradient, each step first
    shrinks the weights directly::

        θ ← θ·(1 − η·λ)                   (λ = weight_decay, default 1e-2)

    then takes the Adam step with the raw gradient. The decay is then not rescaled by the
    adaptive denominator, which regularises large-gradient weights as much as the others.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, foreach=foreach, fused=fused,
                         decoupled_weight_decay=True)
