"""Traffic-flow forecasting: an LSTM against naive baselines on generated hourly traffic counts.

Run ``python -m snippets.applications.transportation --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:data]
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from threadpoolctl import threadpool_limits


@contextmanager
def one_thread() -> Iterator[None]:
    """Run PyTorch and NumPy's BLAS on one CPU thread (small models run faster), then restore."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(threads)


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


DAY, WEEK = 24, 168  # hours


def make_traffic(n_weeks: int, rng: np.random.Generator) -> np.ndarray:
    """Hourly vehicle counts at one road sensor: daily and weekly cycles, noise and incidents."""
    hours = np.arange(n_weeks * WEEK)
    hour, weekday = hours % DAY, (hours // DAY) % 7
    bump = lambda centre, width: np.exp(-0.5 * ((hour - centre) / width) ** 2)  # noqa: E731
    workday = 150 + 900 * bump(8, 1.2) + 750 * bump(17.5, 1.5) + 350 * bump(13, 3.5)
    weekend = 120 + 550 * bump(14, 3.5)
    flow = np.where(weekday < 5, workday, weekend) * (1 + 0.07 * rng.standard_normal(hours.size))
    for start in rng.choice(hours.size - 6, size=n_weeks * 2, replace=False):  # ~2 incidents a week
        flow[start : start + rng.integers(2, 6)] *= rng.uniform(0.3, 0.6)  # a crash blocks lanes
    return flow


def calendar_features(n_hours: int) -> np.ndarray:
    """Known in advance for every hour: time of day on a circle and a weekend flag."""
    hours = np.arange(n_hours)
    angle = 2 * np.pi * (hours % DAY) / DAY
    weekend = ((hours // DAY) % 7 >= 5).astype(float)
    return np.column_stack([np.sin(angle), np.cos(angle), weekend])


# --8<-- [end:data]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:split]
@dataclass
class Split:
    """Windows of past hours (inputs), the flow ``horizon`` hours later (targets) and their hour index."""

    inputs: np.ndarray  # (n, window, features)
    targets: np.ndarray  # (n,)
    target_hours: np.ndarray  # (n,) index of each target in the series


def make_windows(flow: np.ndarray, window: int, horizon: int, test_weeks: int) -> tuple[Split, Split, tuple]:
    """Cut the series into windows; the last ``test_weeks`` of targets form the test set.

    Normalisation statistics come from the training hours only.
    """
    split_hour = len(flow) - test_weeks * WEEK
    mean, std = flow[:split_hour].mean(), flow[:split_hour].std()  # train only: no peeking
    features = np.column_stack([(flow - mean) / std, calendar_features(len(flow))])
    target_hours = np.arange(window - 1 + horizon, len(flow))
    starts = target_hours - horizon - window + 1
    inputs = np.stack([features[s : s + window] for s in starts])
    train, test = target_hours < split_hour, target_hours >= split_hour
    make = lambda m: Split(inputs[m], flow[target_hours[m]], target_hours[m])  # noqa: E731
    return make(train), make(test), (mean, std)


# --8<-- [end:split]


# --8<-- [start:baselines]
def last_value(flow: np.ndarray, target_hours: np.ndarray, horizon: int) -> np.ndarray:
    """Naive forecast: the flow will stay what it was at the last observed hour."""
    return flow[target_hours - horizon]


def seasonal_naive(flow: np.ndarray, target_hours: np.ndarray, season: int = DAY) -> np.ndarray:
    """Seasonal naive forecast: the flow at the same hour one season (a day) earlier."""
    return flow[target_hours - season]


def mae(prediction: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.abs(prediction - truth)))


def rmse(prediction: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((prediction - truth) ** 2)))


# --8<-- [end:baselines]


# --8<-- [start:lstm]
class LSTMForecaster(nn.Module):
    """An LSTM reads the window hour by hour; a linear layer maps its last state to the forecast."""

    def __init__(self, n_features: int, hidden: int = 32) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(x)  # (batch, window, hidden)
        return self.head(outputs[:, -1]).squeeze(-1)


def train_forecaster(train: Split, stats: tuple, epochs: int = 12, seed: int = 0) -> LSTMForecaster:
    """Minimise the mean squared error of the normalised target with Adam in mini-batches."""
    torch.manual_seed(seed)
    device = pick_device()
    mean, std = stats
    x = torch.tensor(train.inputs, dtype=torch.float32, device=device)
    y = torch.tensor((train.targets - mean) / std, dtype=torch.float32, device=device)
    model = LSTMForecaster(x.shape[-1]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        for batch in torch.randperm(len(x), device=device).split(64):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
    return model


def forecast(model: LSTMForecaster, split: Split, stats: tuple) -> np.ndarray:
    """Forecasts in vehicles per hour (undo the normalisation)."""
    device = next(model.parameters()).device
    with torch.no_grad():
        z = model(torch.tensor(split.inputs, dtype=torch.float32, device=device))
    return z.cpu().numpy() * stats[1] + stats[0]


# --8<-- [end:lstm]


@dataclass
class Experiment:
    flow: np.ndarray
    train: Split
    test: Split
    stats: tuple
    model: LSTMForecaster


def run_experiment(
    seed: int, n_weeks: int = 8, test_weeks: int = 2, window: int = 24, horizon: int = 1, epochs: int = 12
) -> Experiment:
    """Generate the data, split it by time and train the LSTM."""
    flow = make_traffic(n_weeks, np.random.default_rng(seed))
    train, test, stats = make_windows(flow, window, horizon, test_weeks)
    with one_thread():
        model = train_forecaster(train, stats, epochs, seed)
    return Experiment(flow, train, test, stats, model)


def scores(exp: Experiment, horizon: int = 1) -> dict[str, tuple[float, float]]:
    """Test MAE and RMSE of the LSTM and both baselines."""
    truth, hours = exp.test.targets, exp.test.target_hours
    predictions = {
        "LSTM": forecast(exp.model, exp.test, exp.stats),
        "last value": last_value(exp.flow, hours, horizon),
        "same hour yesterday": seasonal_naive(exp.flow, hours),
    }
    return {name: (mae(p, truth), rmse(p, truth)) for name, p in predictions.items()}


# --8<-- [start:solution-weekly]
def baseline_errors(flow: np.ndarray, target_hours: np.ndarray, horizon: int) -> dict[str, float]:
    """Test MAE of three naive forecasts, including the same hour one week earlier."""
    truth = flow[target_hours]
    return {
        "last value": mae(last_value(flow, target_hours, horizon), truth),
        "same hour yesterday": mae(seasonal_naive(flow, target_hours, DAY), truth),
        "same hour last week": mae(seasonal_naive(flow, target_hours, WEEK), truth),
    }


# --8<-- [end:solution-weekly]


def plot_forecasts():
    """Top: three weeks of generated traffic. Bottom: three test days with the forecasts."""
    import matplotlib.pyplot as plt

    exp = run_experiment(seed=0)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.5))
    split_hour = int(exp.test.target_hours[0])
    shown = np.arange(split_hour - 2 * WEEK, split_hour + WEEK)
    top.plot(shown / DAY, exp.flow[shown], color="#555555", lw=0.8)
    top.axvline(split_hour / DAY, color="#d95f02", ls="--")
    top.text(split_hour / DAY + 0.2, exp.flow.max() * 0.92, "test →", color="#d95f02")
    top.text(split_hour / DAY - 0.2, exp.flow.max() * 0.92, "← train", color="#1b6ca8", ha="right")
    top.set_ylabel("vehicles / h")
    top.set_xlabel("day")
    days = slice(0, 3 * DAY)
    hours = exp.test.target_hours[days] / DAY
    bottom.plot(hours, exp.test.targets[days], color="black", lw=1.5, label="truth")
    bottom.plot(hours, forecast(exp.model, exp.test, exp.stats)[days], color="#1b6ca8", label="LSTM")
    bottom.plot(
        hours,
        last_value(exp.flow, exp.test.target_hours, 1)[days],
        color="#d95f02",
        ls=":",
        label="last value",
    )
    bottom.plot(
        hours,
        seasonal_naive(exp.flow, exp.test.target_hours)[days],
        color="#7570b3",
        ls="--",
        label="t − 24 h",
    )
    bottom.set_ylim(0, 1.3 * exp.test.targets[days].max())
    bottom.set_xlabel("day")
    bottom.set_ylabel("vehicles / h")
    bottom.legend(fontsize=8, ncol=4, loc="upper right")
    fig.tight_layout()
    return fig


FIGURES = {"transportation-forecast": plot_forecasts}


def report(args: argparse.Namespace) -> None:
    """Train the LSTM and print test errors next to the naive baselines."""
    if args.test_weeks >= args.weeks:
        raise ValueError("--test-weeks must be smaller than --weeks")
    if args.horizon > DAY:
        raise ValueError("--horizon must be at most 24 hours")
    exp = run_experiment(args.seed, args.weeks, args.test_weeks, args.window, args.horizon, args.epochs)
    print(
        f"seed={args.seed} weeks={args.weeks} (test: last {args.test_weeks}) window={args.window}h "
        f"horizon={args.horizon}h epochs={args.epochs}"
    )
    print(f"train windows {len(exp.train.targets)}, test windows {len(exp.test.targets)}")
    print(f"{'forecast':<22}{'MAE':>8}{'RMSE':>8}   (vehicles/h, test set)")
    for name, (m, r) in scores(exp, args.horizon).items():
        print(f"{name:<22}{m:>8.1f}{r:>8.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.applications.transportation",
        "Forecast hourly traffic flow with an LSTM and compare it with naive baselines.",
    )
    parser.add_argument("--weeks", type=positive_int, default=8, help="weeks of data (default: 8)")
    parser.add_argument("--test-weeks", type=positive_int, default=2, help="last weeks held out (default: 2)")
    parser.add_argument("--window", type=positive_int, default=24, help="hours the model sees (default: 24)")
    parser.add_argument(
        "--horizon", type=positive_int, default=1, help="hours ahead to forecast (default: 1)"
    )
    parser.add_argument("--epochs", type=positive_int, default=12, help="passes over the data (default: 12)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
