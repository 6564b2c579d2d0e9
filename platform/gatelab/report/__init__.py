"""The report layer: the verdict as tables, a self-contained HTML page and plots, published on the sweep's run."""
