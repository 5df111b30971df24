"""gunicorn settings for the REST API (decision 0009): `gunicorn -c python:helpdesk.gunicorn_conf
helpdesk.wsgi:application`. Options on the command line or in GUNICORN_CMD_ARGS still apply.

With PROMETHEUS_MULTIPROC_DIR set (decision 0019), each worker keeps its metric values in files
there and /metrics sums every worker's: the folder is emptied when gunicorn starts (values of an
earlier run would be summed too), and a worker that exits has its live gauges removed.

Without a broker each worker starts the periodic jobs' scheduler once it is forked and has loaded
the application (post_worker_init), never the master, --preload or not; one worker of the machine is
elected to run them (helpdesk.jobs).
"""

from __future__ import annotations

import os
from pathlib import Path

worker_class = "gthread"
threads = 4
# No access log of gunicorn's: helpdesk.request writes one line per request (JSON when DEBUG is off).
accesslog = None


def on_starting(server) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    from helpdesk import jobs

    jobs.start_embedded()


def worker_exit(server, worker) -> None:
    from helpdesk import jobs

    jobs.stop_embedded()
