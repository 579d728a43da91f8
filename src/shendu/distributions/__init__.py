"""Probability distributions, as ``torch.distributions`` names them.

    import shendu.distributions as D
    pi = D.Categorical(logits=policy(obs))
    action = pi.sample()
    loss = -(pi.log_prob(action) * advantage).mean()     # REINFORCE: gradients reach the logits

``log_prob``, ``entropy``, ``mean``, ``variance`` and ``rsample`` are built from shendu's
differentiable ops, so gradients flow to the parameters; ``sample`` draws without a graph from
shendu's generator (``shendu.manual_seed``). Arguments are checked as PyTorch checks them
(``validate_args=True`` by default).
"""
from .distribution import Distribution
from .gamma import Beta, Gamma
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .simple import Bernoulli, Categorical, Independent, Normal, OneHotCategorical, Uniform

__all__ = ["Distribution", "Bernoulli", "Beta", "Categorical", "Gamma", "Independent", "MultivariateNormal",
           "Normal",
           "OneHotCategorical", "Uniform", "kl_divergence", "register_kl"]
