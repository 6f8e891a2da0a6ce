"""gunicorn's settings for `gunicorn config.wsgi` run from the project root (gunicorn reads this
file from the working directory by itself; flags on the command line still win).

Threaded workers (gthread), one per core by default (WEB_CONCURRENCY), each serving
CARELINE_WEB_THREADS requests at once. The threads of one worker share its model and index, and
the mentions they encode at the same moment go through the encoder as one batch
(suggestions.batching); every library computes on one thread per call, so a worker uses about one
core and the cores are shared out by the workers, not fought over inside one.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from config.env import envint

# One thread per library per call, set before a worker loads faiss, numpy or the tokenizer: a
# request searches one mention, and on two shared cores a second thread spinning for it cost
# 26-33% of a suggestion's time over HTTP (OpenMP: faiss; OpenBLAS/MKL: numpy, torch; the
# tokenizer's own pool). ONNX Runtime and torch take CARELINE_TORCH_THREADS (default 1).
for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(name, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

worker_class = "gthread"
workers = envint("WEB_CONCURRENCY", os.cpu_count() or 2)
threads = envint("CARELINE_WEB_THREADS", 8)
# Clients that keep their connection open (integrations asking one mention after another) skip
# a TCP handshake per request.
keepalive = 5
# The master imports the app and loads the encoder once, before forking, and the workers share
# those pages copy-on-write (bench.worker_memory measures it); each worker then loads the index
# (post_worker_init), mapped from its local file, so the page cache shares that too.
preload_app = True

logger = logging.getLogger("gunicorn.error")


def post_worker_init(worker: Any) -> None:
    """Load the model and the index before the first request (not in it), and start writing
    the request log off the response path (suggestions.request_log, PostgreSQL only)."""
    from django.db import connections

    from suggestions.batching import mention_encoder
    from suggestions.index_store import IndexUnavailable
    from suggestions.request_log import request_log_start
    from suggestions.serving import holder

    try:
        holder.get()
        mention_encoder().encode(["warming up"])
    except IndexUnavailable as exc:  # served once an index exists; readyz says so meanwhile
        logger.warning("No index to warm up: %s", exc)
    except Exception:  # the first request meets it again, and answers for it; the worker lives
        logger.exception("Warming up failed")
    if request_log_start():
        logger.info("Request log written off the response path")
    connections.close_all()  # the requests' threads open their own


def worker_exit(server: Any, worker: Any) -> None:
    """Write what the request log still holds before the worker ends."""
    from suggestions.request_log import request_log

    request_log.stop()
