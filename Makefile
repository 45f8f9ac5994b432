# Two commands take a fresh clone to green: `make synth` and `make test`.
# Each first runs scripts/bootstrap.py, which creates .venv, installs the pinned Python
# packages, a supported Node.js if the machine's is too old, and the CDK CLI pinned in
# package.json. Repeated runs skip what is already installed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
# The bootstrap's Node.js (if it installed one) and the venv's tools come first.
export PATH := $(CURDIR)/$(VENV)/node/bin:$(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help bootstrap synth test compliance compliance-tests compliance-gate lint typecheck pytest pytest-cdk pytest-app pytest-runtime pytest-local snapshot-update diff bench diagram openapi local local-token local-trigger redrive docs docs-serve clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

bootstrap:  ## Install or update the toolchain (.venv, Node.js if needed, CDK CLI)
	@$(PYTHON) scripts/bootstrap.py

synth: bootstrap  ## Synthesize every stack of the app into cdk.out/ (no AWS account needed)
	npx --no-install cdk synth --quiet $(CDK_ARGS)
	@echo "Synthesized: $$(ls cdk.out/*.template.json | xargs -n1 basename | tr '\n' ' ')"

test: bootstrap  ## Run ruff, mypy, and pytest (snapshots, cdk-nag, cfn-lint, handlers, local runner)
	@$(MAKE) --no-print-directory -j4 --output-sync=target pytest-cdk pytest-app pytest-runtime pytest-local

# `make test` runs four pytest processes on two cores: much of the suite waits rather than computes
# (local runs waiting out visibility timeouts and retries, workers starting, pip installing the
# consumer app), and another process's work fills those waits. Two synthesize, each with its own
# jsii Node.js process: tests/app (the reference app, with its session-wide synths, and apps
# served end to end by the local runner) and the rest. Two never start jsii (RUNTIME_TESTS): ruff,
# mypy, the handlers, runtime helpers, the docs' strict build and the packaging test (it
# synthesizes only in subprocesses of its own venv); and the local runner's own tests. The groups
# are balanced by measurement (docs/performance.md, Where make test's time goes).
APP_TESTS := tests/app
RUNTIME_TESTS := tests/handlers tests/runtime tests/ops tests/test_docs.py tests/local tests/test_packaging.py
LOCAL_TESTS := tests/local

pytest-cdk:
	pytest $(PYTEST_ARGS) $(addprefix --ignore=,$(APP_TESTS) $(RUNTIME_TESTS) $(COMPLIANCE_TESTS))

pytest-app:
	pytest $(PYTEST_ARGS) $(APP_TESTS)

pytest-runtime: lint typecheck
	pytest $(PYTEST_ARGS) $(filter-out $(LOCAL_TESTS),$(RUNTIME_TESTS))

pytest-local:
	pytest $(PYTEST_ARGS) $(LOCAL_TESTS)

# The compliance gate (scripts/compliance.py) over the reference app's dev and prod stages, beside its own
# test (a seeded finding per scanner fails it). Two synths with every policy-validation plugin plus checkov
# cost more than `make test`'s budget, so CI (.ci/run) runs this target after `make test`.
COMPLIANCE_TESTS := tests/test_compliance_gate.py

compliance: bootstrap  ## checkov, Control Tower guard rules, cdk-nag NIST/HIPAA/PCI, cfn-lint over dev and prod
	@$(MAKE) --no-print-directory -j2 --output-sync=target compliance-gate compliance-tests

compliance-gate:
	python scripts/compliance.py $(COMPLIANCE_ARGS)

compliance-tests:
	pytest -q -p no:cacheprovider $(COMPLIANCE_TESTS)

lint:
	ruff check .
	ruff format --check .

typecheck:
	mypy

pytest:  ## The whole suite in one process (PYTEST_ARGS="-k name" to select)
	pytest $(PYTEST_ARGS)

snapshot-update: bootstrap  ## Refresh the syrupy snapshots after an intended infrastructure change
	pytest --snapshot-update $(PYTEST_ARGS)
	@# The example consumer app snapshots its template too (tests/test_packaging.py runs its tests).
	cd examples/consumer-app && pytest --snapshot-update -q -p no:cacheprovider -k snapshot

# The library's own command (constructs-lib-diff), as a consumer's CI runs it; DIFF_ARGS="--fail-on data-loss,security".
# The app command is given in full: the base commit's worktree has no .venv of its own.
diff: bootstrap  ## Per-stack template diff against BASE (default: merge base with main), offline
	CDK_VALIDATION=false python -m constructs_lib.diff $(if $(BASE),--base $(BASE),) --app "$(CURDIR)/$(VENV)/bin/python app.py" $(DIFF_ARGS)

bench: bootstrap  ## Every performance budget, measured (BENCH_ARGS="--quick", "--only fanout", "--skip tests")
	python -m benchmarks.bench $(BENCH_ARGS)

diagram: bootstrap  ## Regenerate the architecture diagram and the dashboard layout picture from the synthesized app
	CDK_VALIDATION=false python -m scripts.architecture_diagram
	CDK_VALIDATION=false python -m scripts.dashboard_layout

openapi: bootstrap  ## Write the reference app's OpenAPI 3.0 document (openapi/image-sharing.json) from the synthesized app
	CDK_VALIDATION=false python -m scripts.openapi_document

local: synth  ## Run the app on 127.0.0.1 without Docker or AWS, reloading on edits (LOCAL_ARGS="--port 4000 --iam report")
	python -m constructs_lib.local run --watch $(LOCAL_ARGS)

local-token: bootstrap  ## Print an ID token for EMAIL from the running `make local` (TOKEN_ARGS="--port 4005" picks a run)
	@$(if $(EMAIL),,$(error give the user, e.g. make local-token EMAIL=you@example.com))python -m constructs_lib.local token --email "$(EMAIL)" $(TOKEN_ARGS)

local-trigger: bootstrap  ## Fire SCHEDULE (name or group/name) of the running `make local` now (TRIGGER_ARGS="--port 4005")
	@$(if $(SCHEDULE),,$(error give the schedule, e.g. make local-trigger SCHEDULE=Sweep))python -m constructs_lib.local trigger "$(SCHEDULE)" $(TRIGGER_ARGS)

redrive: bootstrap  ## Re-drive dead-letter queue QUEUE's failed events to their source (REDRIVE_ARGS="--local", "--yes")
	@$(if $(QUEUE),,$(error give the dead-letter queue, e.g. make redrive QUEUE=my-dlq))python -m constructs_lib.ops redrive "$(QUEUE)" $(REDRIVE_ARGS)

# The docs site (mkdocs.yml): strict, offline. Material's notice about its successor is not a build problem.
DOCS_ADDR ?= 127.0.0.1:8000
docs: bootstrap  ## Build the docs site, strict (warnings fail), into site/
	NO_MKDOCS_2_WARNING=1 mkdocs build --strict --site-dir site

docs-serve: bootstrap  ## Serve the docs with live reload on DOCS_ADDR (default 127.0.0.1:8000)
	NO_MKDOCS_2_WARNING=1 mkdocs serve --strict --dev-addr $(DOCS_ADDR)

clean:  ## Remove synthesized output and caches (keeps .venv and node_modules)
	rm -rf cdk.out site .pytest_cache .mypy_cache .ruff_cache .hypothesis
