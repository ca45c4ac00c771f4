"""Regularization: weight penalties and dropout."""
