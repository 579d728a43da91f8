"""``torch.nn.modules`` and its submodules, as PyTorch programs name them.

``torch.nn.modules.rnn.LSTM``, ``torch.nn.modules.sparse.Embedding`` and the rest (used, for
instance, in the list given to ``torch.serialization.safe_globals``) are the classes of
``shendu.nn`` under PyTorch's module names: each submodule here holds the same class objects, not
copies, and ``import shendu.nn.modules.rnn`` works.
"""
import sys
import types

from .. import activation as _activation
from .. import attention as _attention
from .. import containers as _containers
from .. import conv as _conv
from .. import dropout as _dropout
from .. import embedding as _embedding
from .. import flatten as _flatten
from .. import linear as _linear
from .. import loss as _loss
from .. import module as _module
from .. import normalization as _normalization
from .. import pixelshuffle as _pixelshuffle
from .. import pooling as _pooling
from .. import rnn as _rnn
from .. import transformer as _transformer
from ..activation import *  # noqa: F403
from ..attention import MultiheadAttention, NonDynamicallyQuantizableLinear  # noqa: F401
from ..containers import *  # noqa: F403
from ..conv import *  # noqa: F403
from ..dropout import *  # noqa: F403
from ..embedding import *  # noqa: F403
from ..flatten import *  # noqa: F403
from ..linear import *  # noqa: F403
from ..loss import *  # noqa: F403
from ..module import Module  # noqa: F401
from ..normalization import *  # noqa: F403
from ..pixelshuffle import *  # noqa: F403
from ..pooling import *  # noqa: F403
from ..rnn import *  # noqa: F403
from ..transformer import *  # noqa: F403

# PyTorch's submodule name: the shendu modules whose public classes it holds
_LAYOUT = {
    "activation": (_activation, _attention),
    "batchnorm": (_normalization,),
    "container": (_containers,),
    "conv": (_conv,),
    "dropout": (_dropout,),
    "flatten": (_flatten,),
    "instancenorm": (_normalization,),
    "linear": (_linear, _attention),
    "loss": (_loss,),
    "module": (_module,),
    "normalization": (_normalization,),
    "pixelshuffle": (_pixelshuffle,),
    "pooling": (_pooling,),
    "rnn": (_rnn,),
    "sparse": (_embedding,),
    "transformer": (_transformer,),
    "upsampling": (_pooling,),
}


def _alias(name, sources):
    mod = types.ModuleType(f"{__name__}.{name}", f"torch.nn.modules.{name}: classes of shendu.nn")
    for src in sources:
        for key, value in vars(src).items():
            if isinstance(value, type) and not key.startswith("_"):
                setattr(mod, key, value)
    sys.modules[mod.__name__] = mod
    return mod


for _name, _sources in _LAYOUT.items():
    globals()[_name] = _alias(_name, _sources)
del _name, _sources
