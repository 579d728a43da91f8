"""nn.functional's Keras-named losses and the one sample-weighted reduction (used by nn, train and keras)."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn.functional as F

RNG = np.random.default_rng(0)
Y = RNG.uniform(0.1, 0.9, (4, 3))
P = RNG.uniform(0.1, 0.9, (4, 3))

FORMULAS = {
    "mean_squared_error": lambda y, p: ((y - p) ** 2).mean(-1),
    "mean_absolute_error": lambda y, p: np.abs(y - p).mean(-1),
    "mean_absolute_percentage_error": lambda y, p: 100 * (np.abs(y - p) / np.abs(y)).mean(-1),
    "mean_squared_logarithmic_error": lambda y, p: ((np.log1p(p) - np.log1p(y)) ** 2).mean(-1),
    "huber": lambda y, p: np.where(np.abs(p - y) <= 1, 0.5 * (p - y) ** 2, np.abs(p - y) - 0.5).mean(-1),
    "kl_divergence": lambda y, p: (y * np.log(y / p)).sum(-1),
    "hinge": lambda y, p: np.maximum(1 - y * p, 0).mean(-1),
    "squared_hinge": lambda y, p: (np.maximum(1 - y * p, 0) ** 2).mean(-1),
    "categorical_hinge": lambda y, p: np.maximum(((1 - y) * p).max(-1) - (y * p).sum(-1) + 1, 0),
    "log_cosh": lambda y, p: np.log(np.cosh(p - y)).mean(-1),
    "poisson": lambda y, p: (p - y * np.log(p + 1e-7)).mean(-1),
    "cosine_similarity": lambda y, p: -(y * p).sum(-1) / np.linalg.norm(y, axis=-1) / np.linalg.norm(p, axis=-1),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_keras_named_loss_matches_its_formula_and_reductions(name):
    fn = getattr(F, name)
    per = fn(Y, P, reduction="none").numpy()
    np.testing.assert_allclose(per, FORMULAS[name](Y, P), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fn(Y, P).numpy(), per.mean(), rtol=1e-6)
    np.testing.assert_allclose(fn(Y, P, reduction="sum").numpy(), per.sum(), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_keras_named_loss_gradcheck(name):
    fn = getattr(F, name)
    assert sd.gradcheck(lambda p: fn(sd.tensor(Y), p, reduction="none"), P)


def test_sample_weighted_reduce_is_sum_of_weighted_per_sample_over_n():
    per = sd.tensor(np.arange(12, dtype=np.float64).reshape(4, 3))  # per-sample means 1, 4, 7, 10
    w = np.array([1.0, 0.0, 2.0, 0.5])
    means = np.array([1.0, 4.0, 7.0, 10.0])
    np.testing.assert_allclose(F.sample_weighted_reduce(per).numpy(), means.mean())
    np.testing.assert_allclose(F.sample_weighted_reduce(per, w).numpy(), (w * means).sum() / 4)
    np.testing.assert_allclose(F.sample_weighted_reduce(per, w, "sum").numpy(), (w * means).sum())
    np.testing.assert_allclose(F.sample_weighted_reduce(per, w, "none").numpy(), w * means)
    with pytest.raises(ValueError, match="reduction"):
        F.sample_weighted_reduce(per, w, "batchmean")


def test_keras_loss_objects_and_trainer_share_the_reduction():
    from shendu.keras import losses

    w = np.array([1.0, 0.0, 2.0, 0.5])
    got = losses.MeanSquaredError()(Y, P, sample_weight=w).numpy()
    np.testing.assert_allclose(got, F.sample_weighted_reduce(F.mean_squared_error(Y, P, reduction="none"), w).numpy())


def test_keras_epsilon_is_one_setting():
    from shendu.keras import backend

    assert backend.epsilon() == F.keras_epsilon() == 1e-7
    try:
        backend.set_epsilon(1e-3)
        assert F.keras_epsilon() == 1e-3
        # MAPE divides by max(|y|, ε): with y = 0 the ε shows
        np.testing.assert_allclose(F.mean_absolute_percentage_error([[0.0]], [[1.0]]).numpy(), 1e5)
    finally:
        backend.set_epsilon(1e-7)
