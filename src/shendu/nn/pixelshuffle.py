"""``PixelShuffle`` and ``PixelUnshuffle``: move values between the channel axis and the spatial grid."""
from . import functional as F
from .module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle"]


class PixelShuffle(Module):
    """(*, C·r², H, W) → (*, C, H·r, W·r) with r = ``upscale_factor`` (sub-pixel convolution upsampling).

    out[..., c, h·r + i, w·r + j] = in[..., c·r² + i·r + j, h, w]; a reshape and a permutation, so the
    gradient is the inverse rearrangement.
    """

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = int(upscale_factor)

    def forward(self, x):
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H·r, W·r) → (*, C·r², H, W) with r = ``downscale_factor``: the inverse of PixelShuffle."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = int(downscale_factor)

    def forward(self, x):
        return F.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
