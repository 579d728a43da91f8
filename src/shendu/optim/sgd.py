"""Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay."""
from ..backend import xp
from .optimizer import Optimizer, _compiled_kernels, _decayed_grad, _kernel_arrays

__all__ = ["SGD"]


def _compiled_update(param, grad, state, group, lr, momentum):
    """``SGD._update``'s arithmetic by the one-pass kernel; False (nothing changed) where it does not
    apply (see ``_kernel_arrays``)."""
    buf = state.get("momentum_buffer") if momentum != 0 else None
    first = momentum != 0 and buf is None
    if first:
        if _kernel_arrays(param, grad) is None:
            return False
        buf = xp.empty_like(param)
    flat = _kernel_arrays(param, grad, *(() if buf is None else (buf,)))
    if flat is None:
        return False
    if first:
        state["momentum_buffer"] = buf
    dt = param.dtype.type
    wd, dampening = float(group["weight_decay"]), float(group["dampening"])
    unused = xp.empty(0, param.dtype)          # not another argument's memory: that would stop vectorising
    _compiled_kernels().sgd_update(
        flat[0], flat[1], flat[2] if buf is not None else unused, dt(lr), bool(group["maximize"]), dt(wd),
        bool(wd), momentum != 0, dt(momentum), first, dt(1.0 - dampening), dampening != 0,
        bool(group["nesterov"]))
    return True


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's update rule, names and defaults).

    With g the gradient (negated when ``maximize``), λ = ``weight_decay``, μ = ``momentum``,
    τ = ``dampening`` and η = ``lr``, each step does::

        g ← g + λ·θ                              (if weight_decay ≠ 0)
        b ← g                 on the first step   (if momentum ≠ 0)
        b ← μ·b + (1 − τ)·g   afterwards
        g ← g + μ·b   if nesterov   else   g ← b
        θ ← θ − η·g

    Example::

        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        opt.zero_grad(); loss.backward(); opt.step()
    """

    _fusable = True    # elementwise update: groups may run as one flat array (see Optimizer)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, fused=None):
        if momentum < 0.0:
            raise ValueError(f"SGD: invalid momentum={momentum}; it must be >= 0")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={momentum}, dampening={dampening}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, fused=fused)
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group):
        lr, momentum = float(group["lr"]), float(group["momentum"])
        if _compiled_update(param, grad, state, group, lr, momentum):
            return                                   # the same numbers, in one pass (shendu[fast])
        g = _decayed_grad(grad, param, float(group["weight_decay"]), group["maximize"])
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                dampening = float(group["dampening"])
                buf *= momentum
                if dampening == 0:
                    buf += g
                else:
                    buf += (1.0 - dampening) * g
            g = g + momentum * buf if group["nesterov"] else buf
        step = xp.multiply(g, lr)
        param -= step
