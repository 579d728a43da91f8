"""nn.functional helpers the Keras layers borrow: L2 normalisation, standardisation, step masks, the
attention mask bias and the TensorFlow-style transposed-convolution padding."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
import shendu.nn.functional as F


def test_normalize_is_v_over_its_norm_and_gradchecks_in_float64():
    x = np.random.default_rng(0).standard_normal((3, 4))
    got = F.normalize(sd.tensor(x), dim=-1).numpy()
    np.testing.assert_allclose(got, x / np.linalg.norm(x, axis=-1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(F.normalize(sd.tensor(x), p=1.0, dim=0).numpy(),
                               x / np.abs(x).sum(axis=0, keepdims=True), rtol=1e-12)
    assert F.normalize(sd.tensor(np.zeros((1, 3))), dim=-1).numpy().tolist() == [[0.0, 0.0, 0.0]]
    assert sd.gradcheck(lambda t: F.normalize(t, dim=-1), sd.tensor(x))
    assert sd.gradcheck(lambda t: F.normalize(t, p=3.0, dim=0), sd.tensor(x + 3.0))


def test_attention_mask_bias_combines_the_masks():
    assert F.attention_mask_bias(2, 3, 4) is None
    q = np.array([[1, 1, 0], [1, 1, 1]], dtype=bool)
    k = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], dtype=bool)
    bias = F.attention_mask_bias(2, 3, 4, q, (k, None), causal=True).numpy()
    assert bias.shape == (2, 1, 3, 4)
    allowed = q[:, :, None] & k[:, None, :] & np.tril(np.ones((3, 4), dtype=bool))
    np.testing.assert_array_equal(bias[:, 0] == 0, allowed)
    assert set(np.unique(bias)) == {0.0, np.float32(-1e9)}
    with pytest.raises(ValueError, match="attn_mask"):
        F.attention_mask_bias(1, 2, 2, attn_mask=np.ones((1, 1, 2, 2), dtype=bool))


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("k, s", [(1, 1), (2, 3), (3, 2), (4, 2), (5, 1), (3, 3)])
def test_conv_transpose_padding_gives_the_tensorflow_output_length(padding, k, s):
    n = 5
    pad, out_pad, crop = F.conv_transpose_padding(k, s, padding)
    module = nn.ConvTranspose1d(1, 1, k, stride=s, padding=pad, output_padding=out_pad)
    length = module(sd.tensor(np.ones((1, 1, n), dtype="float32"))).shape[-1] - crop
    assert length == F.conv_transpose_output_length(n, k, s, padding)
    assert length == (n * s if padding == "same" else n * s + max(k - s, 0))
    assert F.conv_transpose_output_length(None, k, s, padding) is None


def test_conv_transpose_with_output_padding():
    pad, out_pad, crop = F.conv_transpose_padding(3, 2, "same", 1)
    assert (pad, out_pad, crop) == (1, 1, 0)
    assert F.conv_transpose_output_length(4, 3, 2, "same", 1) == (4 - 1) * 2 + 3 - 2 + 1


def test_standardize_is_x_minus_mean_over_the_clipped_std_and_gradchecks():
    rng = np.random.default_rng(1)
    x, mean, var = rng.standard_normal((4, 2, 3)), rng.standard_normal(3), rng.random(3) + [0.5, 0.0, 1.0]
    var[1] = 1e-20  # below eps²: divided by eps instead of the tiny std
    want = (x - mean) / np.maximum(np.sqrt(var), 1e-7)
    np.testing.assert_allclose(F.standardize(sd.tensor(x), mean, var).numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(F.standardize(sd.tensor(want), mean, var, invert=True).numpy(), x, rtol=1e-9)
    per_axis1 = F.standardize(sd.tensor(x), [1.0, 2.0], [4.0, 9.0], axis=(1,)).numpy()
    np.testing.assert_allclose(per_axis1, (x - [[1.0], [2.0]]) / [[2.0], [3.0]], rtol=1e-12)
    np.testing.assert_allclose(F.standardize(sd.tensor(x), 1.0, 4.0, axis=()).numpy(), (x - 1) / 2, rtol=1e-12)
    assert sd.gradcheck(lambda t: F.standardize(t, mean, var + 0.5), sd.tensor(x))


def test_mask_steps_zeroes_the_steps_whose_features_all_equal_the_mask_value():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]]])
    out, keep = F.mask_steps(sd.tensor(x))
    assert keep.numpy().tolist() == [[True, False, True]]
    np.testing.assert_array_equal(out.numpy(), x)
    out, keep = F.mask_steps(sd.tensor(x), mask_value=1.0)
    assert keep.numpy().tolist() == [[True, True, True]]
    out, keep = F.mask_steps(sd.tensor(np.full((1, 2, 2), 5.0)), mask_value=5.0)
    assert out.numpy().tolist() == [[[0.0, 0.0], [0.0, 0.0]]] and not keep.numpy().any()
    assert sd.gradcheck(lambda t: F.mask_steps(t)[0], sd.tensor(x + 0.5))
