"""Claims of docs/deployment/serving.md. Every request goes through FastAPI's in-process
TestClient: no test opens a network port."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from functools import lru_cache

import numpy as np
import pytest
import torch

from snippets.deployment.service import MAX_ROWS, OnnxClassifier, create_app, softmax
from snippets.deployment.serving import (
    DigitsNet,
    digits_data,
    handle_json,
    mean_latency_seconds,
    onnx_bytes,
    parity,
    quantized_onnx,
    train_model,
)
from tests.helpers import seeds

with warnings.catch_warnings():  # starlette 1.x asks for httpx2; httpx still works
    warnings.filterwarnings("ignore", message=".*httpx2")
    from fastapi.testclient import TestClient


@lru_cache(maxsize=3)
def exported(seed: int) -> tuple[DigitsNet, bytes]:
    """A trained model and its ONNX file (exported once per seed)."""
    model = train_model(seed)
    return model, onnx_bytes(model)


@pytest.fixture(scope="module")
def classifier() -> OnnxClassifier:
    return OnnxClassifier(exported(seeds(1)[0])[1])


@pytest.fixture()
def client(classifier: OnnxClassifier) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: classifier)) as test_client:  # runs the start-up
        yield test_client


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    return digits_data(seeds(1)[0])[2]


@pytest.mark.parametrize("seed", seeds(3))
def test_onnx_runtime_matches_pytorch_for_any_batch_size(seed: int) -> None:
    model, data = exported(seed)
    classifier = OnnxClassifier(data)
    batch_axis = classifier.session.get_inputs()[0].shape[0]
    assert isinstance(batch_axis, str)  # a named, dynamic dimension
    _, _, x_test, y_test = digits_data(seed)
    for rows in (1, 7, len(x_test)):
        difference, same = parity(model, classifier, x_test[:rows])
        assert difference < 1e-4 and same
    with torch.no_grad():
        accuracy = (model(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean()
    assert accuracy > 0.93


def test_good_request_returns_the_model_predictions(client: TestClient, classifier, pixels) -> None:
    response = client.post("/predict", json={"instances": pixels[:5].tolist()})
    assert response.status_code == 200
    body = response.json()
    assert body["predictions"] == classifier(pixels[:5]).argmax(axis=1).tolist()
    assert np.allclose(np.sum(body["probabilities"], axis=1), 1, atol=1e-3)


def row(value=0.0, length=64) -> list:
    return [value] + [0.0] * (length - 1)


BAD_REQUESTS = {
    "row too short": ({"instances": [row(length=63)]}, "at least 64 items"),
    "row too long": ({"instances": [row(length=65)]}, "at most 64 items"),
    "a string": ({"instances": [row("3")]}, "valid number"),
    "a boolean": ({"instances": [row(True)]}, "valid number"),
    "above the pixel range": ({"instances": [row(17)]}, "less than or equal to 16"),
    "negative": ({"instances": [row(-1)]}, "greater than or equal to 0"),
    "too many rows": ({"instances": [row()] * (MAX_ROWS + 1)}, f"at most {MAX_ROWS} items"),
    "no rows": ({"instances": []}, "at least 1 item"),
    "not a list of rows": ({"instances": row()}, "valid list"),
    "missing field": ({"rows": [row()]}, "Field required"),
    "unknown field": ({"instances": [row()], "version": 2}, "Extra inputs are not permitted"),
    "NaN": ('{"instances": [[NaN' + ", 0" * 63 + "]]}", "finite number"),
    "Infinity": ('{"instances": [[Infinity' + ", 0" * 63 + "]]}", "finite number"),
    "broken JSON": ('{"instances": [[0, 1', "JSON decode error"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_input_is_a_422_with_a_reason(client: TestClient, case: str) -> None:
    body, reason = BAD_REQUESTS[case]
    if isinstance(body, str):
        response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    else:
        response = client.post("/predict", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert any(reason in problem["msg"] for problem in detail), detail
    assert all("input" not in problem for problem in detail)  # the input is not echoed back


def test_health_reports_readiness(classifier) -> None:
    app = create_app(lambda: classifier)
    not_started = TestClient(app)  # without "with", the start-up (model loading) has not run
    assert not_started.get("/health").status_code == 503
    assert not_started.post("/predict", json={"instances": [row()]}).status_code == 503
    with TestClient(app) as started:
        response = started.get("/health")
        assert response.status_code == 200 and response.json() == {"status": "ok"}


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_metrics_count_requests_by_status_and_time_them(client: TestClient, classifier, pixels) -> None:
    for size in (1, 2, 3):
        assert client.post("/predict", json={"instances": pixels[:size].tolist()}).status_code == 200
    for body in ({"instances": []}, {"instances": [row(length=3)]}):
        assert client.post("/predict", json=body).status_code == 422
    client.get("/health")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert metric(text, 'predict_requests_total{status="200"}') == 3
    assert metric(text, 'predict_requests_total{status="422"}') == 2
    assert metric(text, "predict_latency_seconds_count") == 5  # /health and /metrics are not timed
    assert metric(text, 'predict_latency_seconds_bucket{le="+Inf"}') == 5
    assert metric(text, "predict_rows_total") == 6
    assert 0 < mean_latency_seconds(text) < 10
    total = metric(text, "predict_latency_seconds_sum")
    assert mean_latency_seconds(text) == pytest.approx(total / 5)  # the histogram's sum over its count
    # another app has its own registry: its counts start from zero
    with TestClient(create_app(lambda: classifier)) as other:
        assert metric(other.get("/metrics").text, 'predict_requests_total{status="200"}') == 0


def test_handle_json_gives_the_same_answer_as_the_endpoint(client: TestClient, classifier, pixels) -> None:
    body = {"instances": pixels[:4].tolist()}
    direct = json.loads(handle_json(classifier, json.dumps(body).encode()))
    assert direct == client.post("/predict", json=body).json()


@pytest.mark.parametrize("seed", seeds(3))
def test_onnx_runtime_int8_is_smaller_and_agrees(seed: int) -> None:
    _, data = exported(seed)
    small = quantized_onnx(data)
    assert len(data) / len(small) > 2  # int8 weights; graph and metadata stay the same size
    _, _, x_test, _ = digits_data(seed)
    agree = OnnxClassifier(small)(x_test).argmax(1) == OnnxClassifier(data)(x_test).argmax(1)
    assert agree.mean() >= 0.97


@pytest.mark.parametrize("seed", seeds(2))
def test_softmax_matches_scipy_row_by_row_even_for_huge_logits(seed: int) -> None:
    from scipy.special import softmax as scipy_softmax

    logits = np.random.default_rng(seed).normal(scale=5, size=(4, 10))
    logits[0] += 1000.0  # exp(1000) overflows unless each row's maximum is taken off first
    logits[1] -= 1000.0
    np.testing.assert_allclose(softmax(logits), scipy_softmax(logits, axis=1), rtol=1e-12, atol=1e-300)
