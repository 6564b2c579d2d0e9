"""Fraud detection on card transaction sequences."""
