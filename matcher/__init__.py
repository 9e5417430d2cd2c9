"""Matching engine: segmentation, lexical and dense scoring, fusion, filters, reasons."""
