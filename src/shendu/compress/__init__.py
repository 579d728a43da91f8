"""``shendu.compress``: smaller models — pruning, structured channel pruning, int8 quantization, report.

- :mod:`shendu.compress.prune` — masks beside the weights, ``torch.nn.utils.prune``'s names;
- :func:`prune_channels` — structured pruning that removes channels and shrinks the neighbours;
- :func:`quantize` — post-training int8 (BatchNorm folded, per-channel weights, calibrated activations);
- :func:`report` — size, sparsity and parameter counts per layer.
"""
from . import prune
from .report import report
from .structured import channel_importance, prune_channels

__all__ = ["prune", "report", "prune_channels", "channel_importance"]
from .lower import to_sequential  # noqa: E402
from .qdq import export_qdq, float_equivalent, insert_qdq  # noqa: E402
from .quantize import (  # noqa: E402
    QuantizedConv2d,
    QuantizedLinear,
    QuantizedSequential,
    fold_batchnorm,
    load_quantized,
    quantize,
    save_quantized,
)

__all__ += ["export_qdq", "float_equivalent", "insert_qdq", "to_sequential", "quantize", "fold_batchnorm",
            "save_quantized", "load_quantized", "QuantizedConv2d", "QuantizedLinear", "QuantizedSequential"]
