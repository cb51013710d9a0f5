"""Prometheus multiprocess mode for one instance of several workers.

Apart from server.observability on purpose: this runs in the main process before anything
imports prometheus_client, which reads the folder's variable once, at import.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def share_metrics_between_workers(folder: str) -> Path:
    """Prometheus multiprocess mode for one instance: every worker writes its samples to
    files in `folder` (a fresh temporary one when empty), and a scrape of any worker adds
    them all up. Called in the main process before the workers start and before they import
    prometheus_client. Emptied first: samples of an earlier run would be counted again."""
    if folder:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob("*.db"):
            old.unlink()
    else:
        path = Path(tempfile.mkdtemp(prefix="lingpao-metrics-"))
        atexit.register(shutil.rmtree, path, True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path
