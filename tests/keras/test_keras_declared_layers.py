"""The declared Keras arguments and weights of the built-in layers: checks that name the layer, the
argument and the value, configs that round-trip, planned weight shapes that match the built ones, and
regularizers / constraints that reach every declared weight."""
import numpy as np
import pytest

from shendu.keras import constraints, layers, models

L = layers


def _built(layer, shape):
    x = np.random.default_rng(0).standard_normal((2,) + shape).astype("float32")
    layer(x)
    return layer


CASES = [
    (lambda: L.Dense(4, activation="relu", kernel_regularizer="l2", bias_constraint="non_neg"), (3,)),
    (lambda: L.Conv1D(3, 3, padding="causal", dilation_rate=2), (9, 2)),
    (lambda: L.Conv2D(4, (3, 2), strides=2, padding="same", groups=2), (7, 7, 4)),
    (lambda: L.Conv2DTranspose(3, 3, strides=2, output_padding=1), (4, 4, 2)),
    (lambda: L.Conv1DTranspose(3, 2, strides=3, padding="same"), (5, 2)),
    (lambda: L.Conv3D(2, 2, padding="same", data_format="channels_first"), (2, 3, 4, 4)),
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"), (5, 5, 3)),
    (lambda: L.SeparableConv2D(4, 3, depth_multiplier=2, strides=2), (6, 6, 3)),
    (lambda: L.MaxPooling2D(3, strides=2, padding="same"), (7, 7, 3)),
    (lambda: L.AveragePooling1D(2), (7, 3)),
    (lambda: L.GlobalAveragePooling2D(keepdims=True), (4, 4, 3)),
    (lambda: L.UpSampling2D((2, 3)), (3, 3, 2)),
    (lambda: L.ZeroPadding2D(((1, 2), (0, 1))), (3, 3, 2)),
    (lambda: L.Cropping1D((1, 2)), (5, 2)),
    (lambda: L.BatchNormalization(axis=1, center=False), (3, 4, 4)),
    (lambda: L.BatchNormalization(), (3, 2, 2, 4)),
    (lambda: L.LayerNormalization(gamma_regularizer="l2"), (3, 4)),
    (lambda: L.GroupNormalization(groups=2, scale=False), (3, 4)),
    (lambda: L.Embedding(10, 4, mask_zero=True), None),
    (lambda: L.Reshape((2, -1)), (3, 4)),
    (lambda: L.Permute((2, 1)), (3, 4)),
    (lambda: L.RepeatVector(3), (4,)),
    (lambda: L.Dropout(0.25, seed=1), (4,)),
    (lambda: L.TimeDistributed(L.Dense(3)), (4, 5)),
    (lambda: L.SimpleRNN(3, activation="relu", return_sequences=True), (4, 2)),
    (lambda: L.LSTM(3, unit_forget_bias=False, recurrent_regularizer="l2", return_state=True), (4, 2)),
    (lambda: L.GRU(2, use_bias=True, go_backwards=True, bias_constraint="non_neg"), (4, 3)),
    (lambda: L.GRU(2, use_bias=False), (4, 3)),
    (lambda: L.Masking(-1.0), (3, 2)),
    (lambda: L.Rescaling(np.float32(0.5), offset=[1.0, 2.0]), (2,)),
    (lambda: L.Normalization(axis=1, mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0], invert=True), (3, 2)),
    (lambda: L.RandomFlip("vertical", seed=3), (4, 4, 1)),
    (lambda: L.RandomRotation((-0.1, 0.2), fill_mode="nearest", seed=1), (4, 4, 1)),
    (lambda: L.RandomZoom(0.2, interpolation="nearest"), (4, 4, 1)),
    (lambda: L.RandomTranslation(0.1, (0.0, 0.2), fill_value=1.0), (4, 4, 1)),
    (lambda: L.RandomContrast((0.1, 0.3), value_range=(0, 1)), (4, 4, 1)),
]


@pytest.mark.parametrize("make, shape", CASES)
def test_config_round_trips_and_planned_weights_match_the_built_ones(make, shape):
    layer = make()
    planned = layer._planned_weights((None,) + (shape or (5,)))
    if shape is None:
        layer(np.arange(10).reshape(2, 5) % 10)
    else:
        _built(layer, shape)
    if planned is not None:
        assert planned == [(w.name, tuple(w.shape)) for w in layer.weights]
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == {**config, "name": config["name"]}
    if layer.weights:  # the copy takes the same weights in Keras's layouts
        if shape is None:
            again(np.zeros((1, 5), dtype="int64"))
        else:
            _built(again, shape)
        again.set_weights(layer.get_weights())
        for a, b in zip(again.get_weights(), layer.get_weights()):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: L.Dense("8"), r"Dense 'dense\w*': argument 'units' must be an integer \(positive\), got '8'"),
        (lambda: L.Conv2D(4, 3, padding="full"),
         r"Conv2D 'conv2d\w*': argument 'padding' must be one of \('valid', 'same'\), got 'full'"),
        (lambda: L.Conv1D(4, 3, strides=(1, 2)), r"Conv1D 'conv1d\w*': argument 'strides' must be an integer or "
                                                 r"a tuple of 1 integers, got \(1, 2\)"),
        (lambda: L.Dropout(1.5), r"Dropout 'dropout\w*': argument 'rate' must be a number in \[0, 1\], got 1.5"),
        (lambda: L.MaxPooling2D(data_format="nhwc"), r"argument 'data_format' must be one of"),
        (lambda: L.Reshape(4), r"Reshape 'reshape\w*': argument 'target_shape' must be a tuple of integers"),
        (lambda: L.TimeDistributed("dense"), r"TimeDistributed: argument 'layer' must be a Keras layer"),
        (lambda: L.LSTM(0), r"LSTM 'lstm\w*': argument 'units' must be an integer \(positive\), got 0"),
        (lambda: L.GRU(2, recurrent_dropout=1.0), r"GRU 'gru\w*': recurrent_dropout must be in \[0, 1\)"),
        (lambda: L.RandomFlip("diagonal"), r"RandomFlip 'random_flip\w*': argument 'mode' must be one of"),
        (lambda: L.RandomZoom(-0.5), r"RandomZoom 'random_zoom\w*': height_factor as a single number"),
        (lambda: L.RandomZoom((-2, 0)), r"height_factor needs -1 <= lower <= upper"),
        (lambda: L.RandomRotation(0.1, fill_mode="edge"), r"argument 'fill_mode' must be one of"),
        (lambda: L.Normalization(mean=[0.0]), r"pass both mean and variance"),
    ],
)
def test_bad_arguments_name_the_layer_the_argument_and_the_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_unknown_missing_and_extra_positional_arguments_raise():
    with pytest.raises(TypeError, match=r"Dense: unexpected keyword argument\(s\) \['kernal_initializer'\]; "
                                        r"it takes .*kernel_initializer"):
        L.Dense(3, kernal_initializer="zeros")
    with pytest.raises(TypeError, match=r"Dense 'dense\w*': missing the required argument 'units'"):
        L.Dense()
    with pytest.raises(TypeError, match="at most 3 positional"):
        L.UpSampling2D(2, None, "nearest", 4)
    with pytest.raises(TypeError, match="two values for argument 'units'"):
        L.Dense(3, units=4)


@pytest.mark.parametrize(
    "make",
    [
        lambda: L.Dropout(0.5, noise_shape=(None, 1)),
        lambda: L.UpSampling2D(interpolation="bilinear"),
        lambda: L.MultiHeadAttention(2, 4, attention_axes=(1, 2)),
        lambda: L.LayerNormalization(axis=1),
        lambda: L.BatchNormalization(axis=[1, 2]),
        lambda: L.Conv2DTranspose(2, 3, dilation_rate=2),
        lambda: L.DepthwiseConv2D(3, kernel_constraint="non_neg"),
        lambda: L.LSTM(2, stateful=True),
        lambda: L.GRU(2, reset_after=False),
        lambda: L.SimpleRNN(2, time_major=True),
        lambda: L.LSTM(2, activation="relu"),
    ],
)
def test_unsupported_arguments_raise_instead_of_being_ignored(make):
    with pytest.raises(NotImplementedError):
        make()


def test_positional_arguments_follow_kerass_order():
    dw = L.DepthwiseConv2D(3, 1, "same", 2)
    assert (dw.kernel_size, dw.strides, dw.padding, dw.depth_multiplier) == ((3, 3), (1, 1), "same", 2)
    sep = L.SeparableConv2D(8, 3, 1, "valid", None, 1, 3)
    assert (sep.filters, sep.depth_multiplier) == (8, 3)
    t = L.Conv2DTranspose(4, 3, 2, "same", 1)
    assert t.output_padding == (1, 1)
    bn = L.BatchNormalization(1, 0.9, 1e-5)
    assert (bn.axis, bn.momentum, bn.epsilon) == (1, 0.9, 1e-5)


def test_configs_of_older_files_still_load():
    old = {"name": "dw", "trainable": True, "dtype": "float32", "kernel_size": [3, 3], "strides": [1, 1],
           "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear",
           "use_bias": True, "bias_initializer": {"class_name": "Zeros", "config": {}}, "bias_regularizer": None,
           "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
           "depth_multiplier": 2, "depthwise_initializer": {"class_name": "GlorotUniform", "config": {}},
           "depthwise_regularizer": None}
    layer = L.DepthwiseConv2D.from_config(old)
    assert layer.depth_multiplier == 2 and "kernel_constraint" not in layer.get_config()
    ln = L.LayerNormalization.from_config({"name": "ln", "axis": -1, "epsilon": 1e-3, "center": True,
                                           "scale": True, "beta_constraint": None, "gamma_constraint": None})
    assert ln.get_config()["gamma_regularizer"] is None


@pytest.mark.parametrize(
    "make, shape, constrained",
    [
        (lambda: L.Conv3D(2, 2, kernel_constraint="non_neg", bias_constraint="non_neg"), (3, 3, 3, 2),
         ["kernel", "bias"]),
        (lambda: L.DepthwiseConv2D(2, depthwise_constraint="non_neg"), (4, 4, 2), ["kernel"]),
        (lambda: L.SeparableConv2D(3, 2, depthwise_constraint="non_neg", pointwise_constraint="non_neg"),
         (4, 4, 2), ["depthwise_kernel", "pointwise_kernel"]),
        (lambda: L.GroupNormalization(groups=2, gamma_constraint="non_neg", beta_constraint="non_neg"), (4,),
         ["gamma", "beta"]),
        (lambda: L.MultiHeadAttention(2, 2, kernel_constraint="non_neg"), None,
         ["query/kernel", "key/kernel", "value/kernel", "attention_output/kernel"]),
        (lambda: L.Dense(3, kernel_constraint=constraints.NonNeg()), (4,), ["kernel"]),
    ],
)
def test_constraints_reach_every_declared_weight(make, shape, constrained):
    layer = make()
    inputs = layers.Input(shape or (3, 4))
    hidden = layer(inputs, inputs) if shape is None else layer(inputs)
    outputs = layers.Dense(1, use_bias=False)(layers.Flatten()(hidden))
    model = models.Model(inputs, outputs)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8,) + (shape or (3, 4))).astype("float32")
    y = rng.standard_normal((8, 1)).astype("float32") * 10
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=3, batch_size=4, verbose=0)
    weights = {w.name: w.numpy() for w in layer.weights}
    for name in constrained:  # glorot kernels start half negative; trained betas go negative unconstrained
        assert (weights[name] >= 0).all(), name


def test_layer_normalization_regularizers_are_kept_and_add_losses():
    ln = _built(L.LayerNormalization(gamma_regularizer="l2", beta_regularizer="l1"), (4,))
    assert len(ln.losses) == 2
    again = L.LayerNormalization.from_config(ln.get_config())
    assert again.gamma_regularizer.get_config() == ln.gamma_regularizer.get_config()


def test_switched_off_weights_are_frozen_and_not_keras_weights():
    bn = _built(L.BatchNormalization(scale=False), (3,))
    assert [w.name for w in bn.weights] == ["beta", "moving_mean", "moving_variance"]
    assert not bn.bn.weight.requires_grad
    bn.trainable = False
    bn.trainable = True
    assert not bn.bn.weight.requires_grad and bn.bn.bias.requires_grad


def test_five_d_batch_normalization_uses_the_channel_axis():
    x = np.random.default_rng(2).standard_normal((4, 2, 3, 3, 5)).astype("float32") * 3 + 1
    bn = L.BatchNormalization(epsilon=1e-5)
    y = bn(x, training=True).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(0, 1, 2, 3)), 1, atol=1e-3)


@pytest.mark.parametrize("make", [lambda: L.Dense(8), lambda: L.LSTM(3), lambda: L.GRU(2), lambda: L.Conv2D(2, 3),
                                  lambda: L.BatchNormalization(), lambda: L.Normalization()])
def test_an_unbuilt_layer_has_no_weights_yet(make):
    layer = make()
    assert layer.weights == layer.trainable_weights == layer.non_trainable_weights == []
    assert layer.get_weights() == [] and layer.losses == []


def test_recurrent_positional_arguments_and_older_configs():
    lstm = L.LSTM(4, "tanh", "sigmoid", False)
    assert (lstm.units, lstm.use_bias, lstm.unit_forget_bias) == (4, False, True)
    old = {"name": "g", "trainable": True, "dtype": "float32", "units": 2, "activation": "tanh",
           "recurrent_activation": "sigmoid", "use_bias": True, "kernel_initializer": "glorot_uniform",
           "dropout": 0.0, "recurrent_dropout": 0.0, "return_sequences": False, "return_state": False,
           "go_backwards": False, "reset_after": True, "time_major": False, "implementation": 2, "seed": None,
           "use_cudnn": "auto"}
    gru = L.GRU.from_config(old)
    assert gru(np.zeros((1, 3, 2), dtype="float32")).shape == (1, 2)
    assert [w.shape for w in gru.weights] == [(2, 6), (2, 6), (2, 6)]


def test_lstm_starts_the_forget_gate_bias_at_one():
    layer = _built(L.LSTM(3, bias_initializer="zeros"), (2, 4))
    np.testing.assert_array_equal(layer.get_weights()[2], np.repeat([0.0, 1.0, 0.0, 0.0], 3))
    layer = _built(L.LSTM(3, unit_forget_bias=False), (2, 4))
    assert not layer.get_weights()[2].any()


def test_layer_weights_assign_in_kerass_layout():
    from shendu import keras

    dense = _built(L.Dense(2), (3,))
    kernel = dense.weights[0]
    kernel.assign(np.ones((3, 2)))
    kernel.assign_add(np.full((3, 2), 2.0))
    kernel.assign_sub(keras.Variable(np.ones((3, 2))))
    np.testing.assert_array_equal(dense.get_weights()[0], np.full((3, 2), 2.0))
    np.testing.assert_array_equal(dense.linear.weight.numpy(), np.full((2, 3), 2.0))
    v = keras.Variable(np.zeros(2))
    v.assign_add([1.0, 2.0])
    v.assign_sub(np.ones(2))
    assert v.numpy().tolist() == [0.0, 1.0]


def test_gru_bias_regularizer_covers_both_stacked_biases():
    gru = _built(L.GRU(2, bias_regularizer="l1", bias_initializer="ones"), (3, 4))
    assert [round(float(loss.numpy()), 6) for loss in gru.losses] == [0.12]  # 0.01 · 12 entries of (2, 6)
    bias = gru.weights[2]
    assert tuple(bias.as_tensor().shape) == (2, 6)
    np.testing.assert_array_equal(bias.as_tensor().numpy(), bias.numpy())
