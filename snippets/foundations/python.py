"""Python's numerical tools: NumPy vectorisation and broadcasting, pandas cleaning, a Matplotlib figure.

Run ``python -m snippets.foundations.python --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_wine
from sklearn.impute import SimpleImputer

# --8<-- [end:setup]

from snippets.common import make_parser, positive_float, positive_int, run_cli


# --8<-- [start:loops]
def linear_layer_loops(x: list[list[float]], w: list[list[float]], b: list[float]) -> list[list[float]]:
    """y[i][j] = sum_k x[i][k] * w[k][j] + b[j], one multiplication at a time."""
    n_in, n_out = len(w), len(b)
    y = []
    for row in x:
        out = []
        for j in range(n_out):
            total = b[j]
            for k in range(n_in):
                total += row[k] * w[k][j]
            out.append(total)
        y.append(out)
    return y


# --8<-- [end:loops]


# --8<-- [start:numpy]
def linear_layer_numpy(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The same layer as one matrix product; b of shape (n_out,) is broadcast over the rows."""
    return x @ w + b


def best_time(function, *args, repeats: int = 3) -> float:
    """The fastest of a few runs, in seconds (the least disturbed by other programs)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def compare_speed(n_rows: int, n_in: int, n_out: int, rng: np.random.Generator) -> dict[str, float]:
    """Time both versions of the layer on the same random data; also report their largest difference."""
    x, w, b = rng.normal(size=(n_rows, n_in)), rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)
    lists = (x.tolist(), w.tolist(), b.tolist())
    difference = np.abs(np.array(linear_layer_loops(*lists)) - linear_layer_numpy(x, w, b)).max()
    loops, vectorised = best_time(linear_layer_loops, *lists), best_time(linear_layer_numpy, x, w, b)
    return {
        "loops_s": loops,
        "numpy_s": vectorised,
        "ratio": loops / vectorised,
        "max_diff": float(difference),
    }


# --8<-- [end:numpy]


# --8<-- [start:broadcast]
def standardize(x: np.ndarray) -> np.ndarray:
    """Give every column mean 0 and standard deviation 1: (n, d) minus (d,), divided by (d,)."""
    return (x - x.mean(axis=0)) / x.std(axis=0)


def pairwise_sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All squared distances ||a_i - b_j||^2: (n, 1, d) - (1, m, d) broadcasts to (n, m, d)."""
    differences = a[:, None, :] - b[None, :, :]
    return (differences**2).sum(axis=-1)


# --8<-- [end:broadcast]


# --8<-- [start:pandas-load]
GAPPY_COLUMNS = ["alcohol", "flavanoids", "color_intensity", "proline"]


def wine_table() -> pd.DataFrame:
    """The 178 wines of scikit-learn's copy of the UCI wine data, with a text column for the cultivar."""
    wine = load_wine(as_frame=True)
    table = wine.frame.drop(columns="target")
    table["cultivar"] = wine.target.map(dict(enumerate(wine.target_names)))
    return table


def make_messy(table: pd.DataFrame, rng: np.random.Generator, missing: float = 0.1) -> pd.DataFrame:
    """Typical defects: missing cells, untidy spellings and repeated rows."""
    messy = table.copy()
    for column in GAPPY_COLUMNS:
        messy.loc[rng.random(len(messy)) < missing, column] = np.nan
    untidy = rng.random(len(messy)) < 0.2
    variants = [lambda name: f" {name}", lambda name: f"{name} ", str.capitalize]  # class_0 -> Class_0
    messy.loc[untidy, "cultivar"] = [
        variants[rng.integers(len(variants))](name) for name in messy.loc[untidy, "cultivar"]
    ]
    repeats = messy.iloc[rng.choice(len(messy), size=10, replace=False)]
    return pd.concat([messy, repeats]).sample(frac=1.0, random_state=int(rng.integers(2**31)))


# --8<-- [end:pandas-load]


# --8<-- [start:pandas-clean]
def clean(messy: pd.DataFrame) -> pd.DataFrame:
    """Tidy the labels, drop repeated rows, fill each gap with the median of the wine's cultivar."""
    table = messy.assign(cultivar=messy["cultivar"].str.strip().str.lower())
    table = table.drop_duplicates().sort_index()
    numeric = table.columns.drop("cultivar")
    by_cultivar = table.groupby("cultivar")[numeric]
    table[numeric] = table[numeric].fillna(by_cultivar.transform("median"))
    return table


# --8<-- [end:pandas-clean]


# --8<-- [start:pandas-fill]
def fill_with_column_median(table: pd.DataFrame) -> pd.DataFrame:
    """The simplest repair in pandas: each gap gets the median of its whole column."""
    numeric = table.select_dtypes("number").columns
    return table.fillna(table[numeric].median())


# --8<-- [end:pandas-fill]


# --8<-- [start:sklearn-impute]
def fill_with_simple_imputer(table: pd.DataFrame) -> pd.DataFrame:
    """The same repair with scikit-learn, which can be fitted on training data and reused."""
    numeric = table.select_dtypes("number").columns
    filled = table.copy()
    filled[numeric] = SimpleImputer(strategy="median").fit_transform(table[numeric])
    return filled


# --8<-- [end:sklearn-impute]


def imputation_errors(truth: pd.DataFrame, messy: pd.DataFrame, filled: pd.DataFrame) -> pd.Series:
    """Mean absolute error on the cells that were missing, in units of each column's std."""
    rows = messy[~messy.index.duplicated()].sort_index()
    errors = {}
    for column in GAPPY_COLUMNS:
        gaps = rows.index[rows[column].isna()]
        difference = (filled.loc[gaps, column] - truth.loc[gaps, column]).abs()
        errors[column] = difference.mean() / truth[column].std()
    return pd.Series(errors)


# --8<-- [start:solution-softmax]
def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax: subtract each row's maximum (keepdims keeps it broadcastable)."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=axis, keepdims=True)


# --8<-- [end:solution-softmax]


# --8<-- [start:solution-distances]
def pairwise_sq_distances_lean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a||^2 - 2 a.b + ||b||^2: an (n, m) result without the (n, m, d) intermediate."""
    squared = (a**2).sum(axis=1)[:, None] - 2 * a @ b.T + (b**2).sum(axis=1)[None, :]
    return np.maximum(squared, 0.0)  # rounding can make a true 0 slightly negative


# --8<-- [end:solution-distances]


# --8<-- [start:plot]
def plot_wine_cleaning(seed: int = 0):
    """Left: two cleaned features, coloured by cultivar, filled gaps marked. Right: imputation error."""
    import matplotlib.pyplot as plt

    truth = wine_table()
    messy = make_messy(truth, np.random.default_rng(seed))
    cleaned = clean(messy)
    errors = pd.DataFrame(
        {
            "column median": imputation_errors(truth, messy, fill_with_column_median(messy)),
            "cultivar median": imputation_errors(truth, messy, cleaned),
        }
    )
    was_missing = messy[~messy.index.duplicated()].sort_index()[["flavanoids", "proline"]].isna().any(axis=1)

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for (name, group), color in zip(
        cleaned.groupby("cultivar"), ["#1b6ca8", "#d95f02", "#2e7d32"], strict=True
    ):
        left.scatter(group["flavanoids"], group["proline"], s=14, color=color, label=name)
    filled = cleaned[was_missing]
    left.scatter(
        filled["flavanoids"], filled["proline"], s=60, facecolors="none", edgecolors="black", label="filled"
    )
    left.set_xlabel("flavanoids")
    left.set_ylabel("proline")
    left.legend(fontsize=8)
    errors.plot.bar(ax=right, color=["#9e9e9e", "#5c6bc0"], rot=0)
    right.set_ylim(0, 1.3 * errors.to_numpy().max())
    right.set_ylabel("mean |error| / column std")
    right.set_title("filled cells vs true values")
    fig.tight_layout()
    return fig


# --8<-- [end:plot]

FIGURES = {"python-wine-cleaning": plot_wine_cleaning}


def report(args: argparse.Namespace) -> None:
    """Show each tool at work; time the two linear layers only when asked."""
    if args.missing >= 0.5:
        raise ValueError(f"--missing must be below 0.5, got {args.missing}")
    rng = np.random.default_rng(args.seed)
    x, w, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    loops = np.array(linear_layer_loops(x.tolist(), w.tolist(), b.tolist()))
    print(f"linear layer, loops vs NumPy: same result {np.allclose(loops, linear_layer_numpy(x, w, b))}")
    if args.benchmark:
        speed = compare_speed(args.rows, 128, 64, rng)
        print(
            f"{args.rows}x128 @ 128x64: loops {speed['loops_s'] * 1e3:.1f} ms, "
            f"NumPy {speed['numpy_s'] * 1e6:.1f} us, ratio {speed['ratio']:.0f}x, "
            f"max difference {speed['max_diff']:.1e}"
        )
    data = rng.normal(loc=[0.0, 50.0, -3.0], scale=[1.0, 10.0, 0.1], size=(200, 3))
    scaled = standardize(data)
    print(f"standardize: column means {np.round(scaled.mean(axis=0), 6) + 0.0}, stds {scaled.std(axis=0)}")
    distances = pairwise_sq_distances(data[:5], data[5:9])
    print(f"pairwise squared distances: shape {distances.shape}")

    truth = wine_table()
    messy = make_messy(truth, np.random.default_rng(args.seed), missing=args.missing)
    print(f"messy table: {messy.shape[0]} rows, {messy.duplicated().sum()} repeated rows")
    print("missing cells:", messy.isna().sum()[GAPPY_COLUMNS].to_dict())
    print("cultivar spellings:", messy["cultivar"].nunique())
    cleaned = clean(messy)
    print(
        f"cleaned table: {cleaned.shape[0]} rows, {int(cleaned.isna().sum().sum())} missing cells, "
        f"cultivars {sorted(cleaned['cultivar'].unique())}"
    )
    errors = pd.DataFrame(
        {
            "column median": imputation_errors(truth, messy, fill_with_column_median(messy)),
            "cultivar median": imputation_errors(truth, messy, cleaned),
        }
    )
    print("mean |error| of the filled cells, in column standard deviations:")
    print(errors.round(3).to_string())
    summary = cleaned.groupby("cultivar")[["alcohol", "flavanoids", "proline"]].mean().round(2)
    print("mean per cultivar after cleaning:")
    print(summary.to_string())


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.foundations.python",
        "NumPy vectorisation and broadcasting, cleaning a table with pandas.",
    )
    parser.add_argument("--benchmark", action="store_true", help="time the loop and NumPy versions")
    parser.add_argument(
        "--rows", type=positive_int, default=256, help="rows of the benchmark input (default: 256)"
    )
    parser.add_argument(
        "--missing",
        type=positive_float,
        default=0.1,
        help="fraction of cells to blank in four columns (default: 0.1)",
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
