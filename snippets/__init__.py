"""Runnable code for every page of the deep learning roadmap.

Each page topic has one module, ``snippets/<section>/<topic>.py``. Pages include
parts of it with pymdownx.snippets section markers, and ``tests/`` checks the
claims the pages make about it.
"""
