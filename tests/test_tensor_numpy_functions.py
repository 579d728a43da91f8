import numpy as np

import shendu as sd


def test_numpy_functions_on_tensors_give_numpy_results():
    t = sd.tensor(np.array([[0.25, 0.75]], dtype=np.float32), requires_grad=True)
    squeezed = np.squeeze(t)
    assert isinstance(squeezed, np.ndarray) and squeezed.dtype == np.float32
    assert np.argmax(t) == 1 and isinstance(np.concatenate([t, t]), np.ndarray)
    # a float32 softmax output works as np.random.choice's p, as TensorFlow's eager tensors do
    probs = sd.nn.functional.softmax(sd.randn(1, 7), dim=-1)
    assert 0 <= np.random.default_rng(0).choice(7, p=np.squeeze(probs)) < 7
    # a Tensor's own methods stay on the graph
    assert isinstance(t.squeeze(), sd.Tensor) and t.squeeze().requires_grad
