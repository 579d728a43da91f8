"""Pooling and resizing layers, shaped like ``torch.nn``: ``MaxPool1d``, ``MaxPool2d``, ``AvgPool1d``,
``AvgPool2d``, ``AdaptiveAvgPool1d``, ``AdaptiveAvgPool2d``, ``AdaptiveMaxPool2d``, ``Upsample`` and
``UpsamplingNearest2d``. They hold no parameters; the math lives in :mod:`shendu.ops.conv`.

Each accepts a batch (N, C, H, W) — (N, C, L) for the 1-D layers — or, like PyTorch, one unbatched
sample (C, H, W) / (C, L).
"""
from ..errors import ShapeError
from ..ops import conv as _C
from ..ops import reshape as _reshape
from ..tensor import Tensor
from .module import Module, as_input

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "AdaptiveMaxPool2d", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]

_LAYOUTS = {1: ("(N, C, L)", "(C, L)"), 2: ("(N, C, H, W)", "(C, H, W)")}


def _prepare(layer, x, nd):
    """Batched float input (adding a batch axis to one unbatched sample); errors name the layer."""
    if type(x) is not Tensor:
        x = as_input(x)
    if x.array.dtype.kind != "f":
        raise TypeError(f"{layer._layer_name()}: got a tensor of dtype {x.array.dtype}; pooling works on "
                        f"floating-point tensors, convert it first, e.g. x.float()")
    shape = tuple(x.array.shape)
    batched, unbatched = _LAYOUTS[nd]
    if len(shape) == nd + 2:
        return x, False
    if len(shape) == nd + 1:
        return _reshape(x, (1,) + shape), True
    raise ShapeError(f"{layer._layer_name()}: got input of shape {shape}; expected {nd + 2}-D {batched} "
                     f"or {nd + 1}-D {unbatched} for one unbatched sample")


def _finish(y, added):
    if isinstance(y, tuple):
        return tuple(_finish(t, added) for t in y)
    return _reshape(y, y.shape[1:]) if added else y


class MaxPool2d(Module):
    """Max over sliding windows: y[n,c,i,j] = max_{p,q} x[n, c, i·s + p·d − pad, j·s + q·d − pad].

    H_out = ⌊(H + 2·padding − dilation·(kernel − 1) − 1)/stride⌋ + 1 (⌈·⌉ with ``ceil_mode``);
    ``stride`` defaults to ``kernel_size``. The gradient flows to each window's maximum.
    ``return_indices=True`` also returns the argmax positions (flat h·W + w, as PyTorch).
    """

    _nd = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, x):
        x, added = _prepare(self, x, self._nd)
        y = _C._max_pool(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                         self.return_indices, self._nd, self._layer_name)
        return _finish(y, added)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(MaxPool2d):
    """Max over sliding windows of (N, C, L); see :class:`MaxPool2d`."""

    _nd = 1


class AvgPool2d(Module):
    """Mean over sliding windows: y[n,c,i,j] = (1/D) Σ_{p,q} x̃[n, c, i·s + p, j·s + q] (x̃ zero-padded).

    D is the window size counting padded cells (``count_include_pad=True``, the default) or only
    cells inside the input, or ``divisor_override``. The gradient spreads ∂L/∂y / D over the window.
    """

    _nd = 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x):
        x, added = _prepare(self, x, self._nd)
        y = _C._avg_pool(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                         self.count_include_pad, self.divisor_override if self._nd == 2 else None,
                         self._nd, self._layer_name())
        return _finish(y, added)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(AvgPool2d):
    """Mean over sliding windows of (N, C, L); see :class:`AvgPool2d`."""

    _nd = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        def single(v):
            return (v,) if isinstance(v, int) else tuple(v)

        # PyTorch keeps AvgPool1d's sizes as 1-tuples
        super().__init__(single(kernel_size), single(stride if stride is not None else kernel_size),
                         single(padding), ceil_mode, count_include_pad)


class AdaptiveAvgPool2d(Module):
    """Average down to a fixed ``output_size`` whatever the input size (``1`` = global average pooling).

    Output cell i averages input rows [⌊i·H/H_out⌋, ⌈(i+1)·H/H_out⌉) (and likewise columns);
    ``None`` in ``output_size`` keeps that axis' size.
    """

    _nd = 2

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        x, added = _prepare(self, x, self._nd)
        fn = _C.adaptive_avg_pool2d if self._nd == 2 else _C.adaptive_avg_pool1d
        return _finish(fn(x, self.output_size), added)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """Average (N, C, L) down to ``output_size`` positions; see :class:`AdaptiveAvgPool2d`."""

    _nd = 1


class AdaptiveMaxPool2d(Module):
    """Max over the adaptive bins of :class:`AdaptiveAvgPool2d`; the gradient flows to each maximum."""

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        if return_indices:
            raise NotImplementedError("AdaptiveMaxPool2d: return_indices=True is not available")
        self.output_size = output_size
        self.return_indices = False

    def forward(self, x):
        x, added = _prepare(self, x, 2)
        return _finish(_C.adaptive_max_pool2d(x, self.output_size), added)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class Upsample(Module):
    """Resize: give ``size`` or ``scale_factor`` (output = ⌊in·factor⌋); :func:`F.interpolate` as a layer.

    ``mode="nearest"`` (output pixel i copies input pixel min(⌊i/scale_factor⌋, size − 1)) works on
    (N, C, L) and (N, C, H, W); "linear" on (N, C, L), "bilinear" and "bicubic" on (N, C, H, W),
    "trilinear" on (N, C, D, H, W), with ``align_corners`` as in PyTorch.
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        if mode not in ("nearest", "linear", "bilinear", "bicubic", "trilinear"):
            raise ValueError(f"Upsample: mode must be one of 'nearest', 'linear', 'bilinear', 'bicubic', "
                             f"'trilinear', got {mode!r}")
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample: give exactly one of size and scale_factor")
        self.size = size
        if isinstance(scale_factor, (tuple, list)):
            scale_factor = tuple(float(f) for f in scale_factor)
        elif scale_factor is not None:
            scale_factor = float(scale_factor)
        self.scale_factor = scale_factor
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, x):
        if type(x) is not Tensor:
            x = as_input(x)
        if x.array.dtype.kind != "f":
            raise TypeError(f"{self._layer_name()}: got a tensor of dtype {x.array.dtype}; convert it to a "
                            f"floating-point tensor first, e.g. x.float()")
        want = {"nearest": (3, 4), "linear": (3,), "bilinear": (4,), "bicubic": (4,), "trilinear": (5,)}
        if x.ndim not in want[self.mode]:
            layouts = {3: "(N, C, L)", 4: "(N, C, H, W)", 5: "(N, C, D, H, W)"}
            raise ShapeError(f"{self._layer_name()}: got input of shape {tuple(x.shape)}; mode={self.mode!r} "
                             f"expects {' or '.join(layouts[n] for n in want[self.mode])}")
        return _C.interpolate(x, self.size, self.scale_factor, self.mode, align_corners=self.align_corners,
                              recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        if self.scale_factor is not None:
            return f"scale_factor={self.scale_factor!r}, mode={self.mode!r}"
        return f"size={self.size!r}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode='nearest')`` under PyTorch's older name."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode='bilinear', align_corners=True)`` under PyTorch's older name."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
