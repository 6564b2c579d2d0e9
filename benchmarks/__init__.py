"""``make bench``: speed figures of the platform, each measured side by side in one run (see ``run.py``)."""
