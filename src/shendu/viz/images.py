"""torchvision.utils' ``make_grid`` and ``save_image``: a batch of images tiled into one picture.

``save_image(x, "sample.png", nrow=8)`` with ``x`` shaped (N, C, H, W) (or (C, H, W), (H, W)),
float values in [0, 1] (or uint8), writes the same grid torchvision writes: ``nrow`` images a
row, ``padding`` pixels of ``pad_value`` between them, values clamped to [0, 1] and rounded to
0..255. The PNG is encoded by Pillow (the ``[data]`` extra) and written atomically.
"""
import numpy as np

from ._figure import write_atomic


def _array(x):
    return np.asarray(x.detach().numpy() if hasattr(x, "detach") else x)


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """(N, C, H, W) images → one (3, H', W') grid (grey images are repeated to 3 channels, as torchvision)."""
    x = _array(tensor).astype(np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 3:
        x = x[None] if x.shape[0] in (1, 3) else x[:, None]
    if x.ndim != 4:
        raise ValueError(f"make_grid: expected images (N, C, H, W), (C, H, W) or (H, W), got shape {x.shape}")
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    if normalize:
        def norm(a):
            lo, hi = value_range if value_range is not None else (a.min(), a.max())
            return np.clip((a - lo) / max(hi - lo, 1e-5), 0, 1)
        x = np.stack([norm(a) for a in x]) if scale_each else norm(x)
    if len(x) == 1:
        return x[0]
    n, c, h, w = x.shape
    cols = min(nrow, n)
    rows = -(-n // cols)
    hp, wp = h + padding, w + padding
    grid = np.full((c, rows * hp + padding, cols * wp + padding), pad_value, np.float32)
    for k in range(n):
        r, q = divmod(k, cols)
        grid[:, r * hp + padding: r * hp + padding + h, q * wp + padding: q * wp + padding + w] = x[k]
    return grid


def save_image(tensor, fp, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
               pad_value=0.0, format=None):  # noqa: A002  (torchvision's argument name)
    """Write ``make_grid(tensor, ...)`` as an image (PNG unless ``format`` or the suffix says otherwise)."""
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("save_image needs Pillow: pip install 'shendu[data]' or Pillow") from exc
    grid = make_grid(tensor, nrow, padding, normalize, value_range, scale_each, pad_value)
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    image = Image.fromarray(pixels)
    if hasattr(fp, "write"):
        image.save(fp, format=format or "PNG")
        return fp
    fmt = format or ("PNG" if not str(fp).lower().endswith((".jpg", ".jpeg")) else "JPEG")
    return write_atomic(fp, lambda tmp: image.save(tmp, format=fmt))
