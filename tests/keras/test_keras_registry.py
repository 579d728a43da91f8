"""One get/serialize/deserialize registry behind losses, optimizers, initializers, regularizers,
activations, metrics and layers: the same identifiers work everywhere and round-trip through configs."""
import numpy as np
import pytest

from shendu import optim
from shendu.keras import activations, initializers, losses, metrics, optimizers, regularizers
from shendu.keras._registry import Registry, maker

ROUND_TRIPS = [
    (losses, losses.Huber(delta=2.0), lambda a, b: a.delta == b.delta == 2.0),
    (losses, losses.mean_squared_error, lambda a, b: a is b),
    (optimizers, optimizers.Adam(learning_rate=0.01), lambda a, b: b.learning_rate == pytest.approx(0.01)),
    (initializers, initializers.RandomNormal(stddev=0.5), lambda a, b: b.get_config() == a.get_config()),
    (regularizers, regularizers.L1L2(l1=0.1, l2=0.2), lambda a, b: b.get_config() == a.get_config()),
    (activations, activations.relu, lambda a, b: a is b),
    (metrics, metrics.Precision(), lambda a, b: type(b) is metrics.Precision),
]


@pytest.mark.parametrize("module,obj,same", ROUND_TRIPS, ids=[m.__name__.split(".")[-1] for m, _, _ in ROUND_TRIPS])
def test_serialize_deserialize_round_trip(module, obj, same):
    again = module.deserialize(module.serialize(obj))
    assert same(obj, again)


def test_names_classes_and_dicts_resolve_the_same_way():
    assert losses.get("mse") is losses.mean_squared_error
    assert isinstance(losses.get("MeanSquaredError"), losses.MeanSquaredError)
    assert isinstance(optimizers.get("ADAM"), optimizers.Adam)
    assert isinstance(optimizers.get({"class_name": "Adam", "config": {}}), optimizers.Adam)
    assert isinstance(initializers.get("GlorotUniform"), initializers.GlorotUniform)
    assert isinstance(initializers.get("he_normal"), initializers.HeNormal)
    l1l2 = regularizers.get("l1_l2")
    assert isinstance(l1l2, regularizers.L1L2) and l1l2.get_config()["l1"] == pytest.approx(0.01)
    assert isinstance(regularizers.get(regularizers.L2), regularizers.L2)
    assert activations.get(None) is activations.linear and activations.serialize(None) == "linear"
    assert activations.get("SiLU") is activations.swish


def test_unknown_identifiers_name_the_kind():
    for module, kind in ((losses, "loss"), (optimizers, "optimizer"), (initializers, "initializer"),
                         (regularizers, "regularizer"), (activations, "activation")):
        with pytest.raises(ValueError, match=f"Unknown {kind} 'nope'"):
            module.get("nope")
        with pytest.raises(ValueError, match=f"Unknown {kind} config"):
            module.get({"class_name": "Nope", "config": {}})
    with pytest.raises(TypeError, match="optimizer"):
        optimizers.get(len)


def test_custom_objects_come_first():
    class MyLoss(losses.Loss):
        def call(self, y_true, y_pred):
            return (y_pred - y_true) ** 2

    def my_act(x):
        return x

    assert isinstance(losses.deserialize("MyLoss", {"MyLoss": MyLoss}), MyLoss)
    assert activations.deserialize("my_act", {"my_act": my_act}) is my_act
    w = np.ones(3, dtype=np.float32)
    sgd = optim.SGD([__import__("shendu").tensor(w, requires_grad=True)], lr=0.1)
    assert optimizers.get(sgd) is sgd  # a shendu.optim optimizer is used as it is
    assert optimizers.serialize(sgd) is None


def test_registry_on_its_own():
    class Thing:
        def __init__(self, size=1):
            self.size = size

        def get_config(self):
            return {"size": self.size}

    reg = Registry("thing", names={"big": maker(lambda: Thing(10)), "one": Thing}, classes=(Thing,), base=Thing)
    assert reg.get("BIG").size == 10 and reg.get("one").size == 1
    assert reg.serialize(Thing(3)) == {"class_name": "Thing", "config": {"size": 3}}
    assert reg.deserialize({"class_name": "Thing", "config": {"size": 3}}).size == 3
    assert reg.get(None) is None and reg.serialize(None) is None
    with pytest.raises(TypeError, match="thing must be"):
        reg.get(3)


def test_layers_use_the_same_registry_with_scopes_and_custom_objects():
    from shendu.keras import layers, utils

    assert isinstance(layers._REGISTRY, Registry)
    config = layers.serialize(layers.Dense(3, activation="relu", name="d"))
    assert config["class_name"] == "Dense" and config["config"]["units"] == 3
    assert layers.deserialize(config).get_config() == config["config"]

    class Twice(layers.Layer):
        def call(self, x):
            return x * 2

    saved = layers.serialize(Twice(name="t"))
    with pytest.raises(ValueError, match=r"Unknown layer config .*custom_objects=\{'Twice': Twice\}"):
        layers.deserialize(saved)
    assert isinstance(layers.deserialize(saved, {"Twice": Twice}), Twice)
    with utils.custom_object_scope({"Twice": Twice}):
        assert isinstance(layers.deserialize(saved), Twice)

    def double(x):
        return x * 2

    lam = layers.serialize(layers.Lambda(double))
    with pytest.raises(ValueError, match="uses the function 'double', which is not saved"):
        layers.deserialize(lam)
    assert layers.deserialize(lam, {"double": double}).function is double
