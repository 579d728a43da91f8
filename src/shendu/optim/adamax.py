"""Adamax: Adam with the infinity norm in place of the RMS."""
from ..backend import xp
from .optimizer import Optimizer, _decayed_grad, _lerp_

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7), with PyTorch's update rule, names and defaults.

    With g the gradient (negated when ``maximize``), (β₁, β₂) = ``betas``, t the step count
    (from 1) and η = ``lr``::

        g ← g + λ·θ                       (λ = weight_decay)
        m ← β₁·m + (1 − β₁)·g
        u ← max(β₂·u, |g| + ε)            (a decaying infinity norm of the gradients)
        θ ← θ − η/(1 − β₁ᵗ) · m/u
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _init_state(self, param, state, group):
        state["step"] = 0
        state["exp_avg"] = xp.zeros_like(param)
        state["exp_inf"] = xp.zeros_like(param)

    def _update(self, param, grad, state, group):
        state["step"] += 1
        step = state["step"]
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        g = _decayed_grad(grad, param, wd, group["maximize"])
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        _lerp_(exp_avg, g, 1.0 - beta1)
        exp_inf *= beta2
        norm = xp.abs(g)
        norm += eps
        xp.maximum(exp_inf, norm, out=exp_inf)
        clr = lr / (1.0 - beta1 ** step)
        xp.divide(exp_avg, exp_inf, out=norm)
        norm *= clr
        param -= norm
