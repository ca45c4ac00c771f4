"""Claims of docs/projects/image-recognition.ipynb."""

from __future__ import annotations

import inspect
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from snippets.common import seed_everything
from snippets.projects.image_recognition import (
    Config,
    Split,
    accuracy_under,
    augment,
    build_cnn,
    evaluate,
    evaluate_on_test,
    horizontal_flip,
    History,
    load_model,
    load_split,
    most_confused_pairs,
    predict,
    save_model,
    search,
    train_with_early_stopping,
)
from tests.helpers import ROOT, page_text, seeds, source_text_unavailable_under_mutation

CONFIG = Config(lr=1e-2, width=16)  # one of the configs of the small grid


@pytest.fixture(scope="module", params=seeds(3), ids=lambda seed: f"seed={seed}")
def trained(request: pytest.FixtureRequest) -> tuple[int, Split, torch.nn.Module, History]:
    seed = request.param
    seed_everything(seed)
    split = load_split(seed)
    model = build_cnn(CONFIG.width)
    history = train_with_early_stopping(model, split, CONFIG.lr, max_epochs=40, patience=5, seed=seed)
    return seed, split, model, history


def test_split_sizes_and_stratification() -> None:
    split = load_split(seeds(1)[0])
    sizes = [len(split.x_train), len(split.x_val), len(split.x_test)]
    assert sum(sizes) == 1797 and sizes[1] == sizes[2] == 360
    for labels in (split.y_val, split.y_test):
        counts = np.bincount(labels.numpy(), minlength=10)
        assert counts.max() - counts.min() <= 2  # every digit about equally represented


def test_test_accuracy_is_at_least_95_percent(trained) -> None:
    _, split, model, _ = trained
    accuracy, matrix, report = evaluate_on_test(model, split.x_test, split.y_test)
    assert accuracy >= 0.95
    assert matrix.sum() == len(split.y_test) and matrix.trace() / matrix.sum() == pytest.approx(accuracy)
    assert "f1-score" in report


def test_early_stopping_restores_the_best_validation_weights(trained) -> None:
    _, split, model, history = trained
    assert history.stopped_early
    assert history.best_epoch == int(np.argmin(history.val_loss))
    restored_loss, _ = evaluate(model, split.x_val, split.y_val)
    assert restored_loss == pytest.approx(history.best_val_loss, abs=1e-6)
    assert history.val_loss[-1] > history.best_val_loss  # the last epoch's weights were worse


@pytest.mark.parametrize("seed", seeds(3))
def test_augmentation_keeps_shape_and_range_and_changes_images(seed: int) -> None:
    images = load_split(seed).x_test
    generator = torch.Generator().manual_seed(seed)
    augmented = augment(images, generator)
    assert augmented.shape == images.shape and augmented.dtype == images.dtype
    assert augmented.min() >= 0 and augmented.max() <= 1 + 1e-6
    changed = (augmented - images).abs().flatten(1).amax(1)
    assert (changed > 0.05).all()  # every image changed
    identity = augment(images, generator, max_degrees=0.0, max_shift=0.0)
    torch.testing.assert_close(identity, images, atol=1e-5, rtol=0)


def test_augmented_digits_stay_recognisable_but_flipped_ones_do_not(trained) -> None:
    seed, split, model, _ = trained
    clean = accuracy_under(model, split.x_test, split.y_test, lambda x: x)
    generator = torch.Generator().manual_seed(seed)
    shifted = accuracy_under(model, split.x_test, split.y_test, lambda x: augment(x, generator))
    flipped = accuracy_under(model, split.x_test, split.y_test, horizontal_flip)
    assert shifted >= clean - 0.2
    assert flipped <= clean - 0.5


def test_reloaded_model_gives_identical_predictions(trained, tmp_path: Path) -> None:
    _, split, model, _ = trained
    save_model(model, CONFIG, tmp_path)
    reloaded = load_model(tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(reloaded(split.x_test), model.cpu()(split.x_test), atol=0, rtol=0)
    np.testing.assert_array_equal(predict(reloaded, split.x_test), predict(model, split.x_test))


class Payload:
    """Stands in for any object a pickle could rebuild (and run code while doing so)."""


def test_weights_only_refuses_arbitrary_objects(tmp_path: Path) -> None:
    path = tmp_path / "not-just-tensors.pt"
    torch.save({"weights": torch.zeros(2), "extra": Payload()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


@pytest.mark.parametrize("seed", seeds(3))
def test_search_chooses_on_validation_only(seed: int) -> None:
    assert not any("test" in name for name in inspect.signature(search).parameters)
    split = load_split(seed)
    configs = [Config(1e-3, 4), Config(1e-2, 4)]
    best, trials = search(configs, split.x_train, split.y_train, split.x_val, split.y_val, seed, max_epochs=2)
    for trial in trials:  # the scores it compared are validation scores
        loss, accuracy = evaluate(trial.model, split.x_val, split.y_val)
        assert (trial.val_loss, trial.val_accuracy) == pytest.approx((loss, accuracy), abs=1e-6)
    assert best is max(trials, key=lambda t: (t.val_accuracy, -t.val_loss))


def test_most_confused_pairs() -> None:
    matrix = np.array([[50, 1, 4], [0, 40, 2], [7, 3, 30]])
    assert most_confused_pairs(matrix, 2) == [(2, 0, 7), (0, 2, 4)]
    assert most_confused_pairs(np.diag([5, 6, 7]) + np.eye(3, k=1, dtype=int), 3) == [(1, 2, 1), (0, 1, 1)]
    assert most_confused_pairs(np.diag([5, 6, 7]), 3) == []


@pytest.mark.parametrize("page", ["image-recognition.ipynb", "image-recognition.zh.ipynb"])
def test_notebook_shows_the_tested_solution_code(page: str) -> None:
    source_text_unavailable_under_mutation()
    text = page_text(Path("projects") / page)
    source = (ROOT / "snippets" / "projects" / "image_recognition.py").read_text(encoding="utf-8")
    for name in ("solution-pairs", "solution-flip"):
        match = re.search(rf"# --8<-- \[start:{name}\]\n(.*?)# --8<-- \[end:{name}\]", source, re.S)
        assert match and match.group(1).strip() in text, f"{page} does not show the code of {name}"
