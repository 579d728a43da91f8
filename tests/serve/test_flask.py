"""The tutorial's Flask route, unchanged but for its imports, serving a shendu Keras model."""
import numpy as np
from serve_fixtures import make_cnn

from conftest import require


def test_tutorial_flask_snippet_with_flask_test_client(tmp_path):
    require("flask")
    path = str(tmp_path / "model.keras")
    make_cnn().save(path)

    # ---- the tutorial's code; only the load_model import names shendu ----
    from flask import Flask, jsonify, request

    from shendu.keras.models import load_model

    app = Flask(__name__)
    model = load_model(path)

    @app.route("/predict", methods=["POST"])
    def predict():
        data = request.json["data"]
        prediction = model.predict(np.array(data))
        return jsonify({"prediction": prediction.tolist()})
    # ------------------------------------------------------------------------

    x = np.random.default_rng(0).random((2, 8, 8, 1)).astype(np.float32)
    r = app.test_client().post("/predict", json={"data": x.tolist()})
    assert r.status_code == 200
    got = np.array(r.get_json()["prediction"])
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1, rtol=1e-5)
