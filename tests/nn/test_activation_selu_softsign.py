"""selu, softsign and hardsigmoid (Keras's named activations, in nn.functional) against PyTorch."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn.functional as F


@pytest.mark.parametrize("name", ["selu", "softsign", "hardsigmoid"])
def test_activation_matches_torch_and_gradchecks(reference, name):
    x = np.linspace(-5, 5, 21) + 0.013

    def record(torch):
        t = torch.tensor(x, requires_grad=True)
        y = getattr(torch.nn.functional, name)(t)
        return {"y": y, "g": torch.autograd.grad(y.sum(), t)[0]}

    ref = reference(record)
    t = sd.tensor(x, requires_grad=True)
    y = getattr(F, name)(t)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), ref["y"], atol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), ref["g"], atol=1e-12)
    assert sd.gradcheck(getattr(F, name), sd.tensor(x, requires_grad=True))
