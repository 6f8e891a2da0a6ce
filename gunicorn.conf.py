"""gunicorn's settings for `gunicorn config.wsgi` run from the project root (gunicorn reads this
file from the working directory by itself; flags on the command line still win)."""

from __future__ import annotations

import os

# One OpenMP (and OpenBLAS) thread per worker, set before a worker loads faiss and numpy: a
# request searches one mention, and on two shared cores a second thread spinning for it cost
# 26-33% of a suggestion's time over HTTP. Scale with workers, not threads.
os.environ.setdefault("OMP_NUM_THREADS", "1")
