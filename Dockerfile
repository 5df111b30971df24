# syntax=docker/dockerfile:1
# Helpdesk AI: one image for the web (ASGI), Celery worker and Celery beat processes.
#
#   docker build -t helpdesk-ai .
#   docker run -e SECRET_KEY=... -e ALLOWED_HOSTS=... -p 8000:8000 helpdesk-ai
#
# Docker cannot run on the project's own machines: this file is not built or exercised by CI
# (.ci/run). See docker-compose.yml for the multi-service shape.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libmagic1: python-magic classifies uploads with it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so that code changes do not reinstall them.
# constraints.txt pins torch==2.13.0, the CPU build. This image is built elsewhere, not on the
# project's machines (where the CPU wheel is on local disk), so pip must find that build on the
# PyTorch CPU index; from PyPI alone torch would be the CUDA build with gigabytes of nvidia wheels.
# The extra index belongs here (and in the GitHub workflow) only, never in requirements files.
COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt --extra-index-url https://download.pytorch.org/whl/cpu

COPY . .

# Static files, collected once at build time (WhiteNoise serves them, with hashed names).
# The settings put STATIC_ROOT at $VAR_DIR/static, and VAR_DIR is a volume at run time, which
# would hide (or keep stale copies of) anything built into it. So collect into /app/build/static
# inside the image, and let the entrypoint point $VAR_DIR/static at it on every start.
# The SECRET_KEY here is a build-time dummy: it is never set in the image's environment.
RUN DEBUG=false VAR_DIR=/app/build \
    SECRET_KEY=build-time-dummy-key-for-collectstatic-only-never-used-to-sign-anything \
    python manage.py collectstatic --noinput

COPY --chmod=0755 <<'EOF' /usr/local/bin/helpdesk-entrypoint
#!/bin/sh
# $VAR_DIR/static -> this image's collected static files (see the Dockerfile). Idempotent; safe
# when web, worker and beat start together on one shared volume.
set -eu
var_dir="${VAR_DIR:-/app/var}"
target=/app/build/static
link="$var_dir/static"
mkdir -p "$var_dir"
if [ "$(readlink "$link" 2>/dev/null)" != "$target" ]; then
    rm -rf "$link"
    ln -sfn "$target" "$link" 2>/dev/null || true  # another container may have just made it
    if [ "$(readlink "$link" 2>/dev/null)" != "$target" ]; then
        echo "helpdesk-entrypoint: cannot link $link to $target" >&2
        exit 1
    fi
fi
exec "$@"
EOF

# Run as an unprivileged user that owns only VAR_DIR (SQLite file, uploads, embedded Chroma).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app app \
    && mkdir -p /app/var \
    && chown app:app /app/var

# OMP_NUM_THREADS=1: one torch/BLAS thread per process (measured: more threads on a busy
# 2-core host made embeddings 5-10x slower).
ENV DEBUG=false \
    VAR_DIR=/app/var \
    DJANGO_SETTINGS_MODULE=helpdesk.settings.main \
    OMP_NUM_THREADS=1
VOLUME ["/app/var"]
USER app

EXPOSE 8000

# /healthz answers 200 without the database. Django checks the Host header against
# ALLOWED_HOSTS, so the probe sends the first allowed host name (".example.com" -> example.com).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os,sys,urllib.request as u; h=(os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('*.') or 'localhost'; sys.exit(0 if u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=4).status == 200 else 1)"

ENTRYPOINT ["/usr/local/bin/helpdesk-entrypoint"]
# --proxy-headers: trust X-Forwarded-For/-Proto only from the addresses in FORWARDED_ALLOW_IPS
# (uvicorn's default: 127.0.0.1). Set it to the TLS proxy's address when one is in front.
CMD ["uvicorn", "helpdesk.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
