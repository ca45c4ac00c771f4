"""Snippets for the foundations pages: maths, Python and frameworks."""
