import numpy as np

import shendu as sd
import shendu.nn as nn
import shendu.nn.functional as F


def test_mish_matches_torch_and_gradchecks(reference):
    x = np.linspace(-5, 5, 11)
    ref = reference(lambda torch: (lambda t: {"y": torch.nn.functional.mish(t), "g": torch.autograd.grad(
        torch.nn.functional.mish(t).sum(), t)[0]})(torch.tensor(x, requires_grad=True)))
    t = sd.tensor(x, requires_grad=True)
    y = nn.Mish()(t)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), ref["y"], atol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), ref["g"], atol=1e-12)
    assert sd.gradcheck(F.mish, sd.tensor(x + 0.05, requires_grad=True))
