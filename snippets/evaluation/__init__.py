"""Snippets for the model evaluation and tuning pages."""
