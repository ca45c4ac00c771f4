"""A FastAPI service for the digits classifier: validated input, /predict, /health, /metrics.

``create_app`` takes the function that loads the model as a parameter, so this module needs no
other page code; ``snippets.deployment.serving`` builds the app that ``uvicorn
snippets.deployment.serving:app`` starts.
"""

from __future__ import annotations

# --8<-- [start:runtime]
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import numpy as np
import onnxruntime as ort
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel, ConfigDict, Field

Classifier = Callable[[np.ndarray], np.ndarray]  # (n, 64) float32 pixels -> (n, 10) logits


class OnnxClassifier:
    """An ONNX Runtime session on the CPU, called like a function."""

    def __init__(self, model: str | Path | bytes, threads: int = 1) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # one worker process per core scales better
        source = model if isinstance(model, bytes) else str(model)
        self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: pixels.astype(np.float32)})[0]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


# --8<-- [end:runtime]


# --8<-- [start:schema]
N_FEATURES = 64  # an 8x8 image, pixel values 0..16 as in scikit-learn's digits
MAX_ROWS = 256  # larger batches are refused: they would hold the worker for too long

# strict: "3" or true is not a number; allow_inf_nan=False: NaN and Infinity are refused.
Pixel = Annotated[float, Field(strict=True, ge=0, le=16, allow_inf_nan=False)]
Row = Annotated[list[Pixel], Field(min_length=N_FEATURES, max_length=N_FEATURES)]


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # unknown fields are an error, not ignored
    instances: Annotated[list[Row], Field(min_length=1, max_length=MAX_ROWS)]


class PredictResponse(BaseModel):
    predictions: list[int]
    probabilities: list[list[float]]


# --8<-- [end:schema]


# --8<-- [start:app]
def classify(model: Classifier, request: PredictRequest) -> PredictResponse:
    """The work behind /predict, once the input is validated."""
    probabilities = softmax(model(np.asarray(request.instances, dtype=np.float32)))
    return PredictResponse(
        predictions=probabilities.argmax(axis=1).tolist(),
        probabilities=np.round(probabilities, 4).tolist(),
    )


def loaded_model(request: Request) -> Classifier:
    """A dependency: the model loaded at start-up, or 503 while there is none."""
    model = getattr(request.app.state, "model", None)
    if model is None:
        raise HTTPException(status_code=503, detail="model not loaded")
    return model


LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


def create_app(load_model: Callable[[], Classifier], registry: CollectorRegistry | None = None) -> FastAPI:
    """The service; ``load_model`` runs once at start-up. Metrics go to ``registry``."""
    registry = CollectorRegistry() if registry is None else registry
    requests = Counter(
        "predict_requests", "Prediction requests by HTTP status.", ["status"], registry=registry
    )
    latency = Histogram(
        "predict_latency_seconds", "Time to answer /predict.", buckets=LATENCY_BUCKETS, registry=registry
    )
    rows = Counter("predict_rows", "Rows classified.", registry=registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.model = load_model()  # before the first request is accepted
        yield

    app = FastAPI(title="Digits classifier", lifespan=lifespan)

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.url.path != "/predict":  # a fixed label set: never label by raw URL
            return await call_next(request)
        start = time.perf_counter()
        status = "500"
        try:
            response = await call_next(request)
            status = str(response.status_code)
            return response
        finally:
            latency.observe(time.perf_counter() - start)
            requests.labels(status=status).inc()

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, error: RequestValidationError) -> JSONResponse:
        """422 with the location and reason of each problem (without echoing the input)."""
        problems = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()[:5]]
        return JSONResponse(status_code=422, content={"detail": problems})

    @app.post("/predict")
    def predict(body: PredictRequest, model: Annotated[Classifier, Depends(loaded_model)]) -> PredictResponse:
        rows.inc(len(body.instances))
        return classify(model, body)

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        ready = getattr(request.app.state, "model", None) is not None
        return JSONResponse(
            status_code=200 if ready else 503, content={"status": "ok" if ready else "loading"}
        )

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


# --8<-- [end:app]
