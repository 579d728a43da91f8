"""nn.init: distributions (checked statistically), gains, fans, in-place behaviour, layer defaults."""
import math

import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
from shendu.nn import init


def _uniform_ok(a, bound):
    a = a.numpy().ravel()
    assert a.min() >= -bound and a.max() <= bound
    assert abs(a.mean()) < 0.05 * bound
    assert abs(a.std() - bound / math.sqrt(3)) < 0.03 * bound


def _normal_ok(a, std, mean=0.0):
    a = a.numpy().ravel()
    assert abs(a.mean() - mean) < 0.05 * std + 1e-12
    assert abs(a.std() - std) < 0.03 * std


def test_linear_default_init_matches_torch_distribution():
    sd.manual_seed(0)
    lin = nn.Linear(300, 400)
    _uniform_ok(lin.weight, 1 / math.sqrt(300))
    assert np.abs(lin.bias.numpy()).max() <= 1 / math.sqrt(300)
    assert lin.weight.dtype == np.float32


def test_init_functions_in_place_and_return_their_argument():
    w = nn.Parameter(sd.zeros(200, 300))
    for fn, args in [(init.uniform_, (-2, 2)), (init.normal_, (1.0, 0.5)), (init.constant_, (0.3,)),
                     (init.zeros_, ()), (init.ones_, ()), (init.xavier_uniform_, ()), (init.kaiming_normal_, ())]:
        assert fn(w, *args) is w
    init.constant_(w, 0.3)
    assert np.all(w.numpy() == np.float32(0.3))
    init.uniform_(w, -2, 2)
    _uniform_ok(w, 2)
    init.normal_(w, 1.0, 0.5)
    _normal_ok(w, 0.5, 1.0)
    init.eye_(w)
    np.testing.assert_array_equal(w.numpy(), np.eye(200, 300))
    with pytest.raises(TypeError, match="Tensor"):
        init.zeros_(np.zeros(3))


GAINS = [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
         ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None), ("conv2d", None)]


def test_fans_and_gains(reference):
    assert init.calculate_fan_in_and_fan_out(sd.zeros(16, 3, 5, 5)) == (75, 400)
    assert init._calculate_fan_in_and_fan_out(sd.zeros(4, 7)) == (7, 4)

    def torch_side(torch):
        return {f"{name}.{param}": np.array(torch.nn.init.calculate_gain(name, param)) for name, param in GAINS}

    ref = reference(torch_side)
    for name, param in GAINS:
        assert math.isclose(init.calculate_gain(name, param), ref[f"{name}.{param}"].item()), (name, param)
    with pytest.raises(ValueError, match="nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="2 dimensions"):
        init.xavier_uniform_(sd.zeros(5))


def test_xavier_and_kaiming_distributions():
    sd.manual_seed(1)
    w = sd.zeros(256, 128)
    init.xavier_uniform_(w, gain=2.0)
    _uniform_ok(w, 2.0 * math.sqrt(6 / (256 + 128)))
    init.xavier_normal_(w)
    _normal_ok(w, math.sqrt(2 / (256 + 128)))
    init.kaiming_uniform_(w, nonlinearity="relu")
    _uniform_ok(w, math.sqrt(2) * math.sqrt(3 / 128))
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    _normal_ok(w, math.sqrt(2) / math.sqrt(256))
    init.kaiming_uniform_(w, a=math.sqrt(5))
    _uniform_ok(w, 1 / math.sqrt(128))
    c = sd.zeros(64, 16, 3, 3)
    init.kaiming_normal_(c, a=0.1)
    _normal_ok(c, math.sqrt(2 / (1 + 0.01)) / math.sqrt(16 * 9))


def test_keras_named_initializers():
    sd.manual_seed(2)
    w = sd.zeros(300, 200)
    init.glorot_uniform_(w)
    _uniform_ok(w, math.sqrt(6 / 500))
    init.he_uniform_(w)
    _uniform_ok(w, math.sqrt(6 / 200))
    for fn, std in [(init.he_normal_, math.sqrt(2 / 200)), (init.lecun_normal_, math.sqrt(1 / 200)),
                    (init.glorot_normal_, math.sqrt(2 / 500))]:
        fn(w)
        a = w.numpy()
        assert abs(a.std() - std) < 0.03 * std  # truncated normal rescaled to the target std
        assert np.abs(a).max() <= 2 * std / 0.87962566103423978 + 1e-6


@pytest.mark.parametrize("shape", [(50, 30), (30, 50), (8, 4, 3)])
def test_orthogonal(shape):
    w = sd.zeros(*shape)
    init.orthogonal_(w, gain=1.5)
    m = w.numpy().reshape(shape[0], -1)
    small = min(m.shape)
    gram = m @ m.T if m.shape[0] == small else m.T @ m
    np.testing.assert_allclose(gram, 1.5 ** 2 * np.eye(small), atol=1e-5)


def test_manual_seed_reproduces_initialisation():
    sd.manual_seed(42)
    a = nn.Sequential(nn.Linear(4, 4), nn.Embedding(5, 3)).state_dict()
    sd.manual_seed(42)
    b = nn.Sequential(nn.Linear(4, 4), nn.Embedding(5, 3)).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())
    c = nn.Linear(4, 4).state_dict()
    assert not np.array_equal(c["weight"].numpy(), a["0.weight"].numpy())


def test_norm_layers_start_as_identity():
    bn, ln = nn.BatchNorm2d(3), nn.LayerNorm(4)
    for m in (bn, ln):
        assert np.all(m.weight.numpy() == 1) and np.all(m.bias.numpy() == 0)
    assert np.all(bn.running_mean.numpy() == 0) and np.all(bn.running_var.numpy() == 1)


@pytest.mark.parametrize("distribution,check", [
    ("uniform", lambda a, s: np.abs(a).max() <= math.sqrt(3 * s) and abs(a.var() - s) < 0.05 * s),
    ("untruncated_normal", lambda a, s: abs(a.var() - s) < 0.05 * s),
    ("truncated_normal", lambda a, s: abs(a.var() - s) < 0.05 * s and np.abs(a).max() <= 2 * math.sqrt(s) / 0.8796),
])
def test_variance_scaling(distribution, check):
    w = sd.zeros(400, 100)
    for mode, fan in (("fan_in", 100), ("fan_out", 400), ("fan_avg", 250)):
        init.variance_scaling_(w, 3.0, mode, distribution, generator=np.random.default_rng(0))
        assert check(w.numpy().astype(np.float64), 3.0 / fan)
    with pytest.raises(ValueError, match="mode"):
        init.variance_scaling_(w, 1.0, "fan", "uniform")
    with pytest.raises(ValueError, match="distribution"):
        init.variance_scaling_(w, 1.0, "fan_in", "gamma")
