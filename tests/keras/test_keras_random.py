"""Every name of shendu.keras.random: shapes, ranges, statistics and seeding."""
import numpy as np

import shendu as sd
from shendu.keras import random


def test_normal_and_uniform_statistics_and_seed():
    x = random.normal((4000,), mean=2.0, stddev=0.5, seed=1).numpy()
    assert abs(x.mean() - 2.0) < 0.05 and abs(x.std() - 0.5) < 0.05 and x.dtype == np.float32
    np.testing.assert_array_equal(x, random.normal((4000,), mean=2.0, stddev=0.5, seed=1).numpy())
    u = random.uniform((4000,), minval=-1, maxval=3, seed=2).numpy()
    assert u.min() >= -1 and u.max() < 3 and abs(u.mean() - 1) < 0.1


def test_seed_generator_advances_reproducibly():
    g1, g2 = random.SeedGenerator(7), random.SeedGenerator(7)
    a, b = random.normal((3,), seed=g1).numpy(), random.normal((3,), seed=g1).numpy()
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, random.normal((3,), seed=g2).numpy())


def test_global_generator_follows_manual_seed():
    sd.manual_seed(3)
    a = random.uniform((5,)).numpy()
    sd.manual_seed(3)
    np.testing.assert_array_equal(a, random.uniform((5,)).numpy())


def test_truncated_normal_stays_within_two_stddevs():
    x = random.truncated_normal((2000,), stddev=1.0, seed=0).numpy()
    assert np.abs(x).max() <= 2.0


def test_randint_range_and_dtype():
    x = random.randint((1000,), 2, 5, seed=0).numpy()
    assert x.dtype == np.int32 and set(np.unique(x)) == {2, 3, 4}


def test_categorical_follows_the_logits():
    logits = np.log(np.array([[0.1, 0.9], [0.99, 0.01]], "float32"))
    s = random.categorical(logits, 2000, seed=0).numpy()
    assert s.shape == (2, 2000)
    assert abs(s[0].mean() - 0.9) < 0.05 and s[1].mean() < 0.05


def test_dropout_zeroes_and_rescales():
    x = random.dropout(np.ones((10000,), "float32"), 0.25, seed=0).numpy()
    assert set(np.unique(x)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((x == 0).mean() - 0.25) < 0.03


def test_shuffle_is_a_permutation():
    x = random.shuffle(np.arange(10), seed=0).numpy()
    assert sorted(x) == list(range(10)) and list(x) != list(range(10))


def test_gamma_binomial_beta_means():
    assert abs(random.gamma((4000,), alpha=3.0, seed=0).numpy().mean() - 3.0) < 0.15
    assert abs(random.binomial((4000,), 10, 0.3, seed=0).numpy().mean() - 3.0) < 0.15
    assert abs(random.beta((4000,), 2.0, 2.0, seed=0).numpy().mean() - 0.5) < 0.03


def test_every_name_is_tested():
    tested = {"SeedGenerator", "normal", "uniform", "truncated_normal", "categorical", "randint", "dropout",
              "shuffle", "gamma", "binomial", "beta"}
    assert set(random.__all__) == tested
