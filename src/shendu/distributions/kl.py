"""KL(p ‖ q) = E_p[log p(x) - log q(x)] in closed form, for the pairs PyTorch registers among ours."""
import numpy as np

from .. import ops
from ..tensor import Tensor
from .simple import Bernoulli, Categorical, Independent, Normal, OneHotCategorical, Uniform

_KL = {}


def register_kl(type_p, type_q):
    """Decorator: ``@register_kl(P, Q) def kl(p, q): ...`` adds a closed form for a pair of types."""
    def add(fn):
        _KL[type_p, type_q] = fn
        return fn
    return add


def kl_divergence(p, q):
    """KL(p ‖ q), batched like the distributions; the most specific registered pair is used."""
    for tp in type(p).__mro__:
        for tq in type(q).__mro__:
            if (tp, tq) in _KL:
                return _KL[tp, tq](p, q)
    raise NotImplementedError(f"no KL divergence is registered for {type(p).__name__} and {type(q).__name__}")


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    """log(σq/σp) + (σp² + (μp - μq)²) / (2σq²) - ½."""
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    """Σ_k p_k (log p_k - log q_k); terms with p_k = 0 count 0, terms with q_k = 0 < p_k are +∞."""
    t = p.probs * (p.logits - q.logits)
    pd, qd = p.probs.array, q.probs.array
    t = ops.where(Tensor(np.broadcast_to(pd == 0, t.shape)), Tensor(np.zeros(t.shape, t.dtype)), t)
    infinite = Tensor(np.broadcast_to((qd == 0) & (pd > 0), t.shape))
    t = ops.where(infinite, Tensor(np.full(t.shape, np.inf, t.dtype)), t)
    return t.sum(axis=-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    """p (softplus(-lq) - softplus(-lp)) + (1 - p)(softplus(lq) - softplus(lp)), in logits l."""
    t1 = p.probs * (ops.softplus(-q.logits) - ops.softplus(-p.logits))
    t2 = (1 - p.probs) * (ops.softplus(q.logits) - ops.softplus(p.logits))
    return t1 + t2


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    """log((hq - lq) / (hp - lp)) when [lp, hp) ⊆ [lq, hq), else +∞."""
    result = ((q.high - q.low) / (p.high - p.low)).log()
    outside = (q.low.array > p.low.array) | (q.high.array < p.high.array)
    return ops.where(Tensor(outside), Tensor(np.full(result.shape, np.inf, result.dtype)), result)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("KL of Independent distributions with different reinterpreted_batch_ndims")
    return p._sum(kl_divergence(p.base_dist, q.base_dist))
