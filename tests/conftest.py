"""Fixtures shared by the site tests: one strict build of the site per test session."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.helpers import ROOT

# Nothing may reach a model hub: the LLM pages build their models from a config, never from the hub.
# Set here so the test processes and everything they start (page code, snippet CLIs) inherit it.
for _variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_variable, "1")


def site_path_prefix() -> str:
    from mkdocs.config import load_config

    return urlparse(load_config(str(ROOT / "mkdocs.yml")).site_url or "/").path or "/"


def resolve_href(site: Path, html: Path, href: str) -> Path:
    """The directory a link in ``html`` points to inside the built site."""
    if href.startswith("/"):
        return (site / href.removeprefix(site_path_prefix()).lstrip("/")).resolve()
    return (html.parent / href).resolve()


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, float]:
    site = tmp_path_factory.mktemp("site")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "", "HOME": str(site.parent)},
    )
    seconds = time.perf_counter() - started
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{log}"
    (ROOT / ".build-seconds").write_text(f"{seconds:.1f}\n")
    return site, log, seconds
