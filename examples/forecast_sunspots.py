"""Forecast next year's sunspot number with a GRU, against the naive "same as last year" forecast.

    pip install statsmodels            # ships the yearly sunspot series 1700–2008
    python examples/forecast_sunspots.py

Windows of the last ``w`` years (``shendu.data.timeseries_windows``), scaled by the training mean and
standard deviation, go through a GRU whose last state feeds a linear layer: ``ŷ_{t+1} = W h_t + b``. The last
40 years are the test set. Prints test MAE and RMSE of both forecasts.
"""
import argparse

import numpy as np

import shendu as sd
import shendu.nn as nn
from shendu import optim
from shendu.data import timeseries_windows


def sunspots():
    import statsmodels.api as sm

    return sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(np.float64)


class Forecaster(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):                       # x: (batch, window, 1)
        out, _ = self.gru(x)
        return self.head(out[:, -1]).squeeze(-1)


def run(window=20, test_years=40, epochs=300, hidden=32, seed=0, verbose=True):
    sd.manual_seed(seed)
    s = sunspots()
    train = s[:-test_years]
    mu, sigma = train.mean(), train.std()
    z = ((s - mu) / sigma).astype(np.float32)
    x, y = timeseries_windows(z, window)
    x = x[..., None]
    split = len(x) - test_years                      # targets of the last test_years samples are test years
    model = Forecaster(hidden)
    opt = optim.Adam(model.parameters(), lr=5e-3)
    lossf = nn.MSELoss()
    xt, yt = sd.tensor(x[:split]), sd.tensor(y[:split])
    for epoch in range(epochs):
        opt.zero_grad()
        loss = lossf(model(xt), yt)
        loss.backward()
        opt.step()
        if verbose and (epoch + 1) % 100 == 0:
            print(f"epoch {epoch + 1}: training MSE (scaled) {float(loss.item()):.4f}")
    model.eval()
    with sd.no_grad():
        pred = model(sd.tensor(x[split:])).numpy() * sigma + mu
    truth = s[window:][split:]
    naive = s[window - 1:-1][split:]
    result = {"gru_mae": float(np.abs(pred - truth).mean()), "naive_mae": float(np.abs(naive - truth).mean()),
              "gru_rmse": float(np.sqrt(((pred - truth) ** 2).mean())),
              "naive_rmse": float(np.sqrt(((naive - truth) ** 2).mean())), "test_years": test_years}
    if verbose:
        print(f"test years {2008 - test_years + 1}–2008: GRU MAE {result['gru_mae']:.1f} RMSE "
              f"{result['gru_rmse']:.1f}; last-value MAE {result['naive_mae']:.1f} "
              f"RMSE {result['naive_rmse']:.1f}")
    return result


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--window", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    run(window=a.window, epochs=a.epochs, seed=a.seed)
