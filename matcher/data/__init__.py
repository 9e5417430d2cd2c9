"""Bundled segmentation data (domain dictionary, stopwords), shipped as package data."""
