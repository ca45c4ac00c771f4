"""Serving: export a digits classifier to ONNX, check ONNX Runtime against PyTorch, and call
the FastAPI service of ``snippets.deployment.service`` in-process. ``app`` is that service with
the model loader below: ``uvicorn snippets.deployment.serving:app`` starts it.

Run ``python -m snippets.deployment.serving --help`` for the options.
"""

from __future__ import annotations

import math
import argparse
import os

# --8<-- [start:export]
from collections.abc import Iterator
from contextlib import contextmanager
import contextlib
import json
import logging
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
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


class DigitsNet(nn.Module):
    """Raw pixel values (0..16) in, 10 logits out. The scaling is part of the model, so the
    exported graph and every client see exactly what training saw."""

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net(pixels / 16.0)


def digits_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unscaled float32 pixels: 1347 training rows and 450 test rows."""
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data.astype(np.float32),
        digits.target,
        test_size=0.25,
        random_state=seed,
        stratify=digits.target,
    )
    return x_train, y_train, x_test, y_test


def train_model(seed: int, steps: int = 300) -> DigitsNet:
    """Full-batch Adam on the training rows; about 97% test accuracy."""
    torch.manual_seed(seed)
    x_train, y_train, _, _ = digits_data(seed)
    device = pick_device()
    model = DigitsNet().to(device)
    x, y = torch.from_numpy(x_train).to(device), torch.from_numpy(y_train).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    with one_thread():
        for _ in range(steps):
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.cpu().eval()


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """Hide the exporter's notes about optional packages (torchvision) and internal warnings."""
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        registration.setLevel(level)


def export_onnx(model: nn.Module, path: Path) -> Path:
    """torch.export-based ONNX export (the default exporter since PyTorch 2.9), with the
    batch dimension left dynamic so one file serves any batch size."""
    batch = torch.export.Dim("batch", min=1, max=4096)
    with quiet_exporter():
        torch.onnx.export(
            model.eval(),
            (torch.zeros(2, 64),),  # an example input: traced, not stored
            path,
            input_names=["pixels"],
            output_names=["logits"],
            dynamic_shapes=({0: batch},),
            external_data=False,  # one self-contained file
            dynamo=True,
            verbose=False,
        )
    return path


# --8<-- [end:export]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402
from snippets.deployment.service import (  # noqa: E402
    MAX_ROWS,
    OnnxClassifier,
    PredictRequest,
    classify,
    create_app,
)


# --8<-- [start:parity]
def parity(model: nn.Module, classifier: OnnxClassifier, pixels: np.ndarray) -> tuple[float, bool]:
    """Largest |PyTorch - ONNX Runtime| logit difference, and whether the predictions agree."""
    with torch.no_grad():
        expected = model(torch.from_numpy(pixels)).numpy()
    actual = classifier(pixels)
    same = bool((expected.argmax(axis=1) == actual.argmax(axis=1)).all())
    return float(np.abs(expected - actual).max()), same


def onnx_bytes(model: nn.Module) -> bytes:
    """Export to a temporary directory and return the file's bytes (nothing lands in the repo)."""
    with tempfile.TemporaryDirectory() as folder:
        return export_onnx(model, Path(folder) / "digits.onnx").read_bytes()


# --8<-- [end:parity]


def build_demo_classifier(seed: int = 0) -> OnnxClassifier:
    """What the service loads when no model file is given: train, export, load."""
    return OnnxClassifier(onnx_bytes(train_model(seed)))


def load_default_model() -> OnnxClassifier:
    """The model named by DIGITS_ONNX; without it, train and export a small one (a demo)."""
    path = os.environ.get("DIGITS_ONNX")
    return OnnxClassifier(path) if path else build_demo_classifier()


# ``uvicorn snippets.deployment.serving:app``: the service, given its model loader.
app = create_app(load_default_model)


# --8<-- [start:benchmark]
def median_ms(call: Callable[[], object], repeats: int) -> float:
    """Median CPU time of ``call()`` in milliseconds, after two warm-up calls. (CPU time of
    this thread: the latency on an idle core, without time spent waiting for a busy CPU.)"""
    call(), call()
    times = []
    for _ in range(repeats):
        start = time.thread_time()
        call()
        times.append(time.thread_time() - start)
    return 1000 * statistics.median(times)


def handle_json(classifier: OnnxClassifier, raw: bytes) -> bytes:
    """What /predict does with a request body, without the network: parse and validate the
    JSON, run the model, write the JSON answer."""
    request = PredictRequest.model_validate_json(raw)
    return classify(classifier, request).model_dump_json().encode()


def latency_by_batch(
    classifier: OnnxClassifier, pixels: np.ndarray, sizes: list[int], repeats: int
) -> dict[int, tuple[float, float]]:
    """Median ms per call, for each batch size: ONNX Runtime alone, and the whole request."""
    results = {}
    for size in sizes:
        batch = pixels[:size]
        raw = json.dumps({"instances": batch.tolist()}).encode()
        model_only = median_ms(lambda b=batch: classifier(b), repeats)
        whole_request = median_ms(lambda r=raw: handle_json(classifier, r), repeats)
        results[size] = (model_only, whole_request)
    return results


# --8<-- [end:benchmark]


# --8<-- [start:solution-quantize]
def quantized_onnx(model_bytes: bytes) -> bytes:
    """ONNX Runtime's own dynamic quantization: int8 weights for MatMul/Gemm."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "fp32.onnx", Path(folder) / "int8.onnx"
        source.write_bytes(model_bytes)
        quantize_dynamic(source, target, weight_type=QuantType.QInt8)
        return target.read_bytes()


# --8<-- [end:solution-quantize]


# --8<-- [start:solution-metrics]
def mean_latency_seconds(metrics_text: str) -> float:
    """Average /predict latency from the histogram's _sum and _count samples."""
    from prometheus_client.parser import text_string_to_metric_families

    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
    }
    return samples["predict_latency_seconds_sum"] / samples["predict_latency_seconds_count"]


# --8<-- [end:solution-metrics]


def demo_requests(pixels: np.ndarray) -> list[tuple[str, dict | str]]:
    """Good and bad requests a reader can compare: (what, JSON body or raw text)."""
    good = pixels[:3].tolist()
    short = [pixels[0].tolist()[:63]]
    text = [["abc"] + pixels[0].tolist()[1:]]
    return [
        ("3 rows", {"instances": good}),
        ("a row of 63 values", {"instances": short}),
        ("a string in a row", {"instances": text}),
        (f"{MAX_ROWS + 1} rows", {"instances": [pixels[0].tolist()] * (MAX_ROWS + 1)}),
        ("NaN in a row (raw JSON)", '{"instances": [[NaN' + ", 0" * 63 + "]]}"),
        ("an unknown field", {"instances": good[:1], "model": "v2"}),
    ]


def send(client, body: dict | str):
    if isinstance(body, str):
        return client.post("/predict", content=body, headers={"content-type": "application/json"})
    return client.post("/predict", json=body)


def plot_latency():
    """Latency and throughput against batch size: the model alone and the whole request."""
    import matplotlib.pyplot as plt

    classifier = OnnxClassifier(onnx_bytes(train_model(0)))
    _, _, x_test, _ = digits_data(0)
    sizes = [1, 4, 16, 64, 256]
    results = latency_by_batch(classifier, x_test, sizes, repeats=20)
    model_only = np.array([results[s][0] for s in sizes])
    whole = np.array([results[s][1] for s in sizes])
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    for values, label, style in [
        (model_only, "ONNX Runtime run()", "o-"),
        (whole, "JSON + pydantic + run()", "s-"),
    ]:
        left.plot(sizes, values, style, label=label)
        right.plot(sizes, 1000 * np.array(sizes) / values, style, label=label)
    left.set_ylabel("median CPU ms per call")
    right.set_ylabel("rows per second")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size (rows per call)")
        ax.grid(alpha=0.3, which="both")
    left.legend(fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"serving-latency": plot_latency}
# Points a figure may move between CPUs (tools/figures.py), measured with ATEN_CPU_CAPABILITY
# default, avx2 and avx512: the default level draws them differently; math.inf: only the labels are compared.
FIGURE_TOLERANCE = {"serving-latency": math.inf}


def report(args: argparse.Namespace) -> None:
    """Train, export, compare runtimes, then call the service in-process."""
    with warnings.catch_warnings():  # starlette 1.x would rather use httpx2 than httpx
        warnings.filterwarnings("ignore", message=".*httpx2")
        from fastapi.testclient import TestClient

    model = train_model(args.seed, args.steps)
    _, _, x_test, y_test = digits_data(args.seed)
    with torch.no_grad():
        accuracy = (model(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean()
    print(f"seed={args.seed} PyTorch model 64-64-10, {args.steps} steps, test accuracy {accuracy:.3f}")
    data = onnx_bytes(model)
    if args.save:
        try:
            Path(args.save).write_bytes(data)
        except OSError as error:
            raise ValueError(f"cannot write --save {args.save}: {error.strerror}") from None
        print(f"saved {args.save}")
    classifier = OnnxClassifier(data)
    session = classifier.session
    shapes = [(t.name, t.shape) for t in session.get_inputs() + session.get_outputs()]
    print(f"ONNX file: {len(data)} bytes, inputs/outputs {shapes}")
    for rows in (1, 7, len(x_test)):
        difference, same = parity(model, classifier, x_test[:rows])
        print(f"batch {rows:>3}: max |PyTorch - ONNX Runtime| = {difference:.1e}, same predictions: {same}")

    with TestClient(create_app(lambda: classifier)) as client:
        for what, body in demo_requests(x_test):
            response = send(client, body)
            answer = response.json()
            if response.status_code == 200:
                shown = f"predictions {answer['predictions']}, true labels {y_test[:3].tolist()}"
            else:
                shown = json.dumps(answer["detail"][0])
            print(f"POST /predict, {what}: {response.status_code} {shown}")
        health = client.get("/health")
        print(f"GET /health: {health.status_code} {health.json()}")
        metrics = client.get("/metrics").text
        print("GET /metrics (excerpt):")
        for line in metrics.splitlines():
            if line.startswith(
                ("predict_requests_total", "predict_latency_seconds_count", "predict_rows_total")
            ):
                print("  " + line)
    if args.benchmark:
        sizes = [1, 4, 16, 64, 256]
        print("batch  run() ms  request ms  rows/s (request)")
        for size, (model_only, whole) in latency_by_batch(classifier, x_test, sizes, args.repeats).items():
            print(f"{size:>5}  {model_only:>8.3f}  {whole:>10.3f}  {1000 * size / whole:>16.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.deployment.serving",
        "Export a digits classifier to ONNX, check ONNX Runtime and call the service in-process.",
    )
    parser.add_argument("--steps", type=positive_int, default=300, help="training steps (default: 300)")
    parser.add_argument("--save", metavar="PATH", help="also write the ONNX model to PATH")
    parser.add_argument("--benchmark", action="store_true", help="print latency by batch size")
    parser.add_argument("--repeats", type=positive_int, default=30, help="timed calls per size (default: 30)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
