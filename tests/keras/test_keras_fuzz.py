"""Fuzz test for ``.keras`` model files: a small saved model with bytes flipped, inserted, deleted or
cut off either loads or raises shendu's FileFormatError naming the file, within a small memory bound
and without writing any file. The zip is rewritten too with its members' CRCs fixed up, so the mutations
also reach the config and weights parsers instead of all stopping at the zip checksum."""
import io
import zipfile

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import FUZZ, check_reader, mutated
from shendu.keras import layers, models
from shendu.keras.utils import set_random_seed


def _saved_model():
    from shendu.keras._saving import model_to_bytes

    set_random_seed(0)
    model = models.Sequential([layers.Dense(3, activation="relu", input_shape=(4,)), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 4), np.float32), np.zeros((4, 2), np.float32), epochs=1, verbose=0)
    return model_to_bytes(model)


MODEL = _saved_model()
with zipfile.ZipFile(io.BytesIO(MODEL)) as _zf:
    MEMBERS = {name: _zf.read(name) for name in _zf.namelist()}


@st.composite
def _member_mutated(draw):
    """A well-formed zip whose one member (config or weights) has mutated content."""
    name = draw(st.sampled_from(sorted(MEMBERS)))
    content = draw(mutated(MEMBERS[name]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        for member, data in MEMBERS.items():
            zf.writestr(member, content if member == name else data)
    return buffer.getvalue()


@FUZZ
@given(blob=st.one_of(mutated(MODEL), _member_mutated()))
def test_fuzz_keras_file_loads_or_raises_naming_it(tmp_path, blob):
    check_reader(tmp_path, "model.keras", blob, models.load_model)
