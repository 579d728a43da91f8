"""The device layer PyTorch programs touch on their first lines: devices, cuda, accelerator, backends, paths."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
from conftest import require


def test_device_objects_look_like_pytorchs():
    d = sd.device("cpu")
    assert d.type == "cpu" and d.index is None and str(d) == "cpu" and repr(d) == "device(type='cpu')"
    assert d == "cpu" and d == sd.device("cpu") and hash(d) == hash(sd.device("cpu"))
    c = sd.device("cuda:1")
    assert (c.type, c.index, str(c)) == ("cuda", 1, "cuda:1") and c == sd.device("cuda", 1) and c != d
    assert sd.device(d) == d
    with pytest.raises(RuntimeError, match="unknown device type 'tpu'"):
        sd.device("tpu")


def test_the_usual_device_choice_picks_the_cpu():
    assert sd.cuda.is_available() is False and sd.cuda.device_count() == 0
    assert sd.accelerator.is_available() is False and sd.accelerator.current_accelerator() is None
    device = sd.device("cuda" if sd.cuda.is_available() else "cpu")
    acc = sd.accelerator.current_accelerator().type if sd.accelerator.is_available() else "cpu"
    assert device == acc == "cpu"
    assert sd.backends.mps.is_available() is False
    sd.backends.cudnn.benchmark = True      # accepted and kept, changes nothing
    assert sd.backends.cudnn.benchmark is True
    sd.backends.cudnn.benchmark = False
    sd.cuda.manual_seed(3)
    a = sd.randn(3).numpy()
    sd.manual_seed(3)
    np.testing.assert_array_equal(a, sd.randn(3).numpy())


def test_tensors_and_modules_move_to_the_cpu_and_refuse_other_devices():
    device = sd.device("cpu")
    x = sd.randn(2, 3, device=device)
    assert x.device == device and x.device == "cpu" and x.is_cuda is False
    assert x.to(device) is x and x.to("cpu", sd.float64).dtype == np.float64
    assert x.to(device=device, dtype=sd.float64).dtype == np.float64
    model = nn.Linear(3, 2).to(device)
    assert model(x).shape == (2, 2)
    for bad in ("cuda", sd.device("cuda:0"), 0):
        with pytest.raises(RuntimeError, match="runs on the CPU"):
            x.to(bad)
    with pytest.raises(RuntimeError, match="runs on the CPU"):
        sd.zeros(2, device="cuda")


@pytest.mark.parametrize("make", [
    lambda d: sd.zeros(2, 3, device=d), lambda d: sd.ones((2, 3), device=d), lambda d: sd.empty(2, device=d),
    lambda d: sd.full((2,), 1.5, device=d), lambda d: sd.rand(2, device=d), lambda d: sd.randn(2, device=d),
    lambda d: sd.randint(5, (2,), device=d), lambda d: sd.randperm(4, device=d),
    lambda d: sd.arange(3, device=d), lambda d: sd.linspace(0, 1, 3, device=d), lambda d: sd.eye(2, device=d),
    lambda d: sd.tensor([1.0], device=d), lambda d: sd.as_tensor(np.ones(2), device=d),
    lambda d: sd.zeros_like(sd.ones(2), device=d), lambda d: sd.ones_like(sd.ones(2), device=d),
    lambda d: sd.full_like(sd.ones(2), 3.0, device=d), lambda d: sd.rand_like(sd.ones(2), device=d),
    lambda d: sd.randn_like(sd.ones(2), device=d),
])
def test_every_creation_function_takes_device(make):
    assert make("cpu").device == "cpu"
    assert make(sd.device("cpu")).device == "cpu"
    with pytest.raises(RuntimeError, match="cuda"):
        make("cuda")


def test_randint_reads_its_arguments_as_pytorch_does():
    sd.manual_seed(0)
    x = sd.randint(10, (1000,))
    assert x.shape == (1000,) and x.dtype == np.int64 and x.min().item() >= 0 and x.max().item() == 9
    y = sd.randint(5, 8, (2, 3))
    assert y.shape == (2, 3) and 5 <= y.min().item() and y.max().item() < 8
    assert sd.randint(3, size=(4,)).shape == (4,)
    assert sd.randint(low=2, high=3, size=(2,)).numpy().tolist() == [2, 2]
    assert sd.randint(4, (2,), generator=np.random.default_rng(0)).shape == (2,)
    with pytest.raises(TypeError, match="randint"):
        sd.randint(size=(2,))


def test_format_spec_on_a_one_element_tensor():
    loss = sd.tensor(0.123456)
    assert f"{loss:.2f}" == "0.12" and f"{sd.tensor([2.5]):.1f}" == "2.5" and "tensor" in f"{loss}"


def test_pytorch_module_paths():
    import shendu.nn.modules.rnn
    import shendu.utils.data
    from shendu.nn.modules import Linear, Module
    from shendu.nn.parallel import DataParallel
    from shendu.utils.data import DataLoader, Dataset, TensorDataset, random_split

    assert shendu.utils.data is sd.data and DataLoader is sd.data.DataLoader
    assert Dataset is sd.data.Dataset and TensorDataset and random_split
    assert Module is nn.Module and Linear is nn.Linear
    inner = nn.Linear(3, 2)
    wrapped = DataParallel(inner)
    x = sd.randn(4, 3)
    assert wrapped.module is inner and np.array_equal(wrapped(x).numpy(), inner(x).numpy())
    assert "module.weight" in wrapped.state_dict()


def test_nn_modules_submodules_hold_the_same_classes_as_pytorchs_paths():
    import shendu.nn.modules.sparse as sparse

    m = sd.nn.modules
    assert sparse.Embedding is nn.Embedding and m.rnn.LSTM is nn.LSTM and m.rnn.GRU is nn.GRU
    assert m.activation.MultiheadAttention is nn.MultiheadAttention and m.activation.ReLU is nn.ReLU
    assert m.container.ModuleList is nn.ModuleList and m.dropout.Dropout is nn.Dropout
    assert m.linear.Linear is nn.Linear and issubclass(m.linear.NonDynamicallyQuantizableLinear, nn.Linear)
    assert m.normalization.LayerNorm is nn.LayerNorm and m.batchnorm.BatchNorm2d is nn.BatchNorm2d
    assert m.transformer.TransformerEncoderLayer is nn.TransformerEncoderLayer
    assert m.loss.CrossEntropyLoss is nn.CrossEntropyLoss and m.conv.Conv2d is nn.Conv2d


def test_legacy_typed_constructors():
    assert sd.LongTensor(6).zero_().view(-1, 2).shape == (3, 2) and sd.LongTensor(2).dtype == np.int64
    assert sd.FloatTensor([1, 2]).dtype == np.float32 and sd.FloatTensor([1, 2]).numpy().tolist() == [1.0, 2.0]
    assert sd.DoubleTensor(2, 3).shape == (2, 3) and sd.DoubleTensor(1).dtype == np.float64
    assert sd.IntTensor([3]).dtype == np.int32 and sd.BoolTensor([1, 0]).dtype == np.bool_


def test_onnx_module_imports_and_exports_outside_tracing(tmp_path):
    import shendu.onnx

    assert shendu.onnx.is_in_onnx_export() is False
    require("onnx")
    shendu.onnx.export(nn.Linear(2, 2), sd.zeros(1, 2), tmp_path / "m.onnx")
    assert (tmp_path / "m.onnx").stat().st_size > 0 and shendu.onnx.is_in_onnx_export() is False


def test_generator_objects_as_pytorch_programs_pass_them():
    from shendu.data import DataLoader, TensorDataset, random_split

    g = sd.Generator().manual_seed(42)
    assert g.initial_seed() == 42
    a = sd.randn(3, generator=g).numpy()
    state = g.get_state()
    b = sd.randperm(5, generator=g).numpy()
    g.set_state(state)
    np.testing.assert_array_equal(sd.randperm(5, generator=g).numpy(), b)
    np.testing.assert_array_equal(sd.randn(3, generator=sd.Generator().manual_seed(42)).numpy(), a)
    sd.manual_seed(0)
    before = sd.rand(2).numpy()
    sd.manual_seed(0)
    sd.randn(4, generator=g)                 # the library's generator is left alone
    np.testing.assert_array_equal(sd.rand(2).numpy(), before)
    ds = TensorDataset(np.arange(10))
    s1 = [s.indices for s in random_split(ds, [0.8, 0.2], generator=sd.Generator().manual_seed(1))]
    s2 = [s.indices for s in random_split(ds, [0.8, 0.2], generator=sd.Generator().manual_seed(1))]
    assert [list(x) for x in s1] == [list(x) for x in s2]
    order = [b[0].numpy().tolist() for b in DataLoader(ds, batch_size=5, shuffle=True,
                                                        generator=sd.Generator().manual_seed(3))]
    assert sorted(sum(order, [])) == list(range(10))
