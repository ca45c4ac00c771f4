"""Fixtures for the architecture claim tests."""

from __future__ import annotations

import pytest

from snippets.common import one_thread


@pytest.fixture(scope="module")
def single_thread_module():
    """These models are tiny: on a shared 2-core machine one thread is much faster than two."""
    with one_thread():
        yield
