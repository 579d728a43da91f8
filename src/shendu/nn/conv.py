"""Convolution layers, shaped like ``torch.nn``: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``,
``ConvTranspose2d`` and ``LazyConv2d``.

Parameter names, shapes and default initialisation follow PyTorch, so state_dicts interchange:
``weight`` (out, in/groups, *kernel) — (in, out/groups, *kernel) for transposed layers — and
``bias`` (out,), both drawn from U(−1/√fan_in, 1/√fan_in) with fan_in = weight.shape[1]·Πkernel
(kaiming_uniform with a = √5). The math lives in :mod:`shendu.ops.conv`.
"""
import math
import numbers

from .. import ops as _ops
from ..backend import xp
from ..errors import ShapeError
from ..ops import conv as _C
from ..ops import reshape as _reshape
from ..tensor import Tensor, as_dtype, get_default_dtype
from . import init
from .module import Module, as_input, match_float
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "LazyConv2d", "conv3d"]

_LAYOUTS = {1: ("(N, C, L)", "(C, L)"), 2: ("(N, C, H, W)", "(C, H, W)"),
            3: ("(N, C, D, H, W)", "(C, D, H, W)")}


def _tuple(v, n):
    return (int(v),) * n if isinstance(v, numbers.Integral) else tuple(int(a) for a in v)


def _prepare(layer, x, nd, channels):
    """The input as a batched float Tensor of the layer's dtype, and whether a batch axis was added.

    Accepts (N, C, *spatial) or, as PyTorch does, one unbatched sample (C, *spatial). Wrong ranks,
    wrong channel counts and integer tensors raise errors that name the layer.
    """
    if type(x) is not Tensor:
        x = as_input(x)
    w = layer.weight
    if w is not None and x.array.dtype != w.array.dtype:
        x = match_float(x, w.array.dtype, layer)
    elif x.array.dtype.kind != "f":
        x = match_float(x, get_default_dtype(), layer)
    shape = tuple(x.array.shape)
    batched, unbatched = _LAYOUTS[nd]
    if len(shape) not in (nd + 1, nd + 2):
        raise ShapeError(f"{layer._layer_name()}: got input of shape {shape}; expected {nd + 2}-D "
                         f"{batched} or {nd + 1}-D {unbatched} for one unbatched sample")
    if len(shape) == nd + 1:
        if channels is not None and shape[0] != channels:
            hint = (f"; if this is a batch of single-channel inputs, add the channel axis with "
                    f"x.unsqueeze(1) to get shape {(shape[0], 1) + shape[1:]}") if channels == 1 else ""
            raise ShapeError(f"{layer._layer_name()}: got a {nd + 1}-D input of shape {shape}; expected "
                             f"{batched} with C={channels}, or {unbatched} = ({channels}, ...) unbatched"
                             f"{hint}")
        return _reshape(x, (1,) + shape), True
    if channels is not None and shape[1] != channels:
        plural = "channel" if shape[1] == 1 else "channels"
        expected = batched.replace("C", str(channels), 1)
        raise ShapeError(f"{layer._layer_name()}: got input of shape {shape} with {shape[1]} {plural}, "
                         f"expected {channels} channels: {expected} (in_channels={channels})")
    return x, False


def _pad_mode(x, pad, mode, where):
    """x padded by ``F.pad(x, pad, mode)``; a pad wider than reflect/circular allow names the layer."""
    from .functional import pad as _fpad

    spatial = tuple(x.shape[2:])[::-1]
    for i, size in enumerate(spatial):
        widest = max(pad[2 * i], pad[2 * i + 1])
        if (mode == "reflect" and widest >= size) or (mode == "circular" and widest > size):
            raise ShapeError(f"{where}: padding {widest} with padding_mode={mode!r} needs a spatial size of "
                             f"more than {widest if mode == 'reflect' else widest - 1}, got input of shape "
                             f"{tuple(x.shape)}")
    return _fpad(x, pad, mode=mode)


def _finish(y, added):
    return _reshape(y, y.shape[1:]) if added else y


class _ConvNd(Module):
    """Shared construction, initialisation and repr of the convolution layers."""

    _nd = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", output_padding=0, device=None, dtype=None):
        super().__init__()
        nd, name = self._nd, type(self).__name__
        if groups < 1 or (in_channels and in_channels % groups) or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
                             f"got {padding_mode!r}")
        if padding_mode != "zeros" and self.transposed:
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _tuple(kernel_size, nd)
        self.stride = _tuple(stride, nd)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be an int, a tuple, 'same' or 'valid', "
                                 f"got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' needs stride 1, got stride={self.stride}")
            self.padding = padding
        else:
            self.padding = _tuple(padding, nd)
        self.dilation = _tuple(dilation, nd)
        self.output_padding = _tuple(output_padding, nd)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        self._dtype = as_dtype(dtype) or get_default_dtype()
        self._use_bias = bool(bias)
        if self.in_channels:
            self._make_parameters()
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def _weight_shape(self):
        if self.transposed:
            return (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        return (self.out_channels, self.in_channels // self.groups) + self.kernel_size

    def _make_parameters(self):
        self.weight = Parameter(xp.empty(self._weight_shape(), dtype=self._dtype))
        if self._use_bias:
            self.bias = Parameter(xp.empty((self.out_channels,), dtype=self._dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """weight ~ kaiming_uniform(a=√5) = U(±1/√fan_in), bias ~ U(±1/√fan_in), as PyTorch does."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if not self._use_bias:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _mode_padding(self):
        """F.pad's tuple for a non-zero padding_mode: (left, right) of the last axis first, as PyTorch."""
        nd = self._nd
        if self.padding == "valid":
            return (0, 0) * nd
        if self.padding == "same":
            out = []
            for d, k in zip(reversed(self.dilation), reversed(self.kernel_size)):
                total = d * (k - 1)
                out += [total // 2, total - total // 2]
            return tuple(out)
        return tuple(p for p in reversed(self.padding) for _ in range(2))


class Conv2d(_ConvNd):
    """2-D convolution: y = conv2d(x, weight) + bias over (N, C_in, H, W) → (N, C_out, H_out, W_out).

    H_out = ⌊(H + 2·padding − dilation·(kernel − 1) − 1)/stride⌋ + 1; ``padding`` may be 'same'
    (stride 1) or 'valid'. ``groups`` splits the channels into independent groups (``groups =
    in_channels`` is a depthwise convolution). ``weight``: (C_out, C_in/groups, kH, kW).
    The forward formula and the derivatives are in :class:`shendu.ops.conv.Conv2d`.
    """

    _nd = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, 0, device, dtype)

    def forward(self, x):
        x, added = _prepare(self, x, self._nd, self.in_channels)
        padding = self.padding
        if self.padding_mode != "zeros":
            x = _pad_mode(x, self._mode_padding(), self.padding_mode, self._layer_name())
            padding = (0,) * self._nd
        y = _C._conv(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups,
                     self._nd, self._layer_name)
        return _finish(y, added)


class Conv1d(Conv2d):
    """1-D convolution over (N, C_in, L) → (N, C_out, L_out), L_out = ⌊(L + 2p − d(k − 1) − 1)/s⌋ + 1.

    ``weight``: (C_out, C_in/groups, k). See :class:`Conv2d` for the options.
    """

    _nd = 1


class LazyConv2d(Conv2d):
    """``Conv2d`` whose ``in_channels`` is read from the first input.

    The weight is created (and initialised exactly as ``Conv2d(in_channels, ...)`` would be) at the
    first call or when a state_dict is loaded. Create the optimizer after the first forward pass.
    """

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)

    def has_uninitialized_params(self):
        return self.weight is None

    def _materialize(self, in_channels):
        if in_channels % self.groups:
            raise ShapeError(f"{type(self).__name__}: the input has {in_channels} channels, which "
                             f"groups={self.groups} does not divide")
        self.in_channels = int(in_channels)
        self._make_parameters()

    def _materialize_from_state_dict(self, prefix, state_dict):
        if self.weight is None and prefix + "weight" in state_dict:
            self._materialize(state_dict[prefix + "weight"].shape[1] * self.groups)

    def forward(self, x):
        if self.weight is None:
            x = as_input(x)
            if x.ndim not in (3, 4):
                raise ShapeError(f"{type(self).__name__}: got input of shape {tuple(x.shape)}; expected "
                                 f"(N, C, H, W) or (C, H, W) unbatched")
            self._materialize(x.shape[-3])
        return super().forward(x)

    def extra_repr(self):
        if self.weight is None:
            return (f"0, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
                    f" (in_channels inferred at first call)")
        return super().extra_repr()


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution ("deconvolution"): the adjoint of Conv2d with respect to its input.

    (N, C_in, H, W) → (N, C_out, H_out, W_out) with
    H_out = (H − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1.
    ``weight``: (C_in, C_out/groups, kH, kW). ``forward(x, output_size=None)``: giving the wanted
    output size picks the output_padding that produces it.
    """

    _nd = 2
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device, dtype)
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op >= max(s, d):
                raise ValueError(f"{type(self).__name__}: output_padding {self.output_padding} must be "
                                 f"smaller than stride {self.stride} or dilation {self.dilation}")

    def _output_padding(self, x_shape, output_size):
        if output_size is None:
            return self.output_padding
        nd = self._nd
        size = tuple(int(s) for s in output_size)[-nd:]
        pads = []
        for i in range(nd):
            smallest = ((x_shape[2 + i] - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            extra = size[i] - smallest
            if not 0 <= extra < max(self.stride[i], self.dilation[i]):
                raise ShapeError(f"{self._layer_name()}: output_size {tuple(size)} cannot be reached from "
                                 f"input {tuple(x_shape)}; sizes from {smallest} to "
                                 f"{smallest + max(self.stride[i], self.dilation[i]) - 1} are possible "
                                 f"on axis {i}")
            pads.append(extra)
        return tuple(pads)

    def forward(self, x, output_size=None):
        x, added = _prepare(self, x, self._nd, self.in_channels)
        out_pad = self._output_padding(x.shape, output_size)
        y = _C._conv_transpose(x, self.weight, self.bias, self.stride, self.padding, out_pad, self.groups,
                               self.dilation, self._nd, self._layer_name())
        return _finish(y, added)


class ConvTranspose1d(ConvTranspose2d):
    """Transposed 1-D convolution, (N, C_in, L) → (N, C_out, L_out); see :class:`ConvTranspose2d`."""

    _nd = 1


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution over (N, C_in, D, H, W) with weight (C_out, C_in/groups, kD, kH, kW).

    D_out = ⌊(D + 2·pad − dilation·(kD − 1) − 1)/stride⌋ + 1 (likewise H, W). Computed as a sum over the
    kD depth taps of 2-D convolutions: y[:, :, d] = Σ_j conv2d(x[:, :, d·s + j·dil], weight[:, :, j]),
    so the gradients are those of :func:`conv2d`.
    """
    x = x if isinstance(x, Tensor) else Tensor(xp.asarray(x))
    if x.ndim != 5:
        raise ShapeError(f"conv3d: got input of shape {tuple(x.shape)}; expected 5-D (N, C, D, H, W)")
    if weight.ndim != 5:
        raise ShapeError(f"conv3d: weight must be 5-D (C_out, C_in/groups, kD, kH, kW), got "
                         f"{tuple(weight.shape)}")
    stride, dilation = _tuple(stride, 3), _tuple(dilation, 3)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0, 0)
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"conv3d: padding='same' needs stride 1, got stride={stride}")
            totals = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
            x = _ops.pad(x, [(0, 0), (0, 0)] + [(t // 2, t - t // 2) for t in totals])
            padding = (0, 0, 0)
        else:
            raise ValueError(f"conv3d: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
    padding = _tuple(padding, 3)
    if padding[0]:
        x = _ops.pad(x, [(0, 0), (0, 0), (padding[0], padding[0]), (0, 0), (0, 0)])
    n, c, depth = x.shape[0], x.shape[1], x.shape[2]
    kd = weight.shape[2]
    d_out = (depth - dilation[0] * (kd - 1) - 1) // stride[0] + 1
    if d_out < 1:
        raise ShapeError(f"conv3d: input depth {depth} (padded) is smaller than the kernel depth {kd} "
                         f"(dilation {dilation[0]})")
    total = None
    for j in range(kd):
        start = j * dilation[0]
        sl = x[:, :, start:start + (d_out - 1) * stride[0] + 1:stride[0]]       # (N, C, D_out, H, W)
        sl = _reshape(_ops.permute(sl, (0, 2, 1, 3, 4)), (n * d_out, c) + tuple(x.shape[3:]))
        y = _C.conv2d(sl, weight[:, :, j], None, stride[1:], padding[1:], dilation[1:], groups)
        total = y if total is None else total + y
    o, ho, wo = total.shape[1], total.shape[2], total.shape[3]
    out = _ops.permute(_reshape(total, (n, d_out, o, ho, wo)), (0, 2, 1, 3, 4))
    if bias is not None:
        out = out + _reshape(bias, (1, o, 1, 1, 1))
    return out


class Conv3d(_ConvNd):
    """3-D convolution over (N, C_in, D, H, W) → (N, C_out, D_out, H_out, W_out); see :func:`conv3d`.

    ``weight``: (C_out, C_in/groups, kD, kH, kW), initialised as :class:`Conv2d`'s.
    """

    _nd = 3

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv3d: only padding_mode='zeros' is supported, got {padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, 0, device, dtype)

    def forward(self, x):
        x, added = _prepare(self, x, self._nd, self.in_channels)
        return _finish(conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                              self.groups), added)
