"""Claims of docs/resources.md: every recommended library is installed and pinned."""

from __future__ import annotations

import re

from snippets.resources import RECOMMENDED, installed_versions
from tests.helpers import ROOT

PINS = dict(
    re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", (ROOT / "requirements.txt").read_text(), flags=re.MULTILINE)
)


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_recommended_library_is_pinned_and_installed_at_that_version() -> None:
    pins = {normalise(name): pinned for name, pinned in PINS.items()}
    for name, installed in installed_versions(RECOMMENDED).items():
        assert normalise(name) in pins, f"{name} is recommended but not pinned in requirements.txt"
        assert installed == pins[normalise(name)], (
            f"{name}: installed {installed}, pinned {pins[normalise(name)]}"
        )


def test_missing_library_is_reported_as_none() -> None:
    assert installed_versions(["no-such-distribution-xyz"]) == {"no-such-distribution-xyz": None}
