"""The tracking layer: the MLflow client, tag names, the one run lifecycle, training loggers, the Model Registry."""
