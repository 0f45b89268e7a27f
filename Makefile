# The two commands of the README:
#   make up    set up everything, then `pulumi up` on the dev stack (a local nats-server included)
#   make test  set up everything, then run the whole test suite
SHELL := /bin/bash
STACK ?= dev
PYTEST_ARGS ?=

.PHONY: setup up preview refresh destroy outputs verify estate test test-fast test-slow bench lint-subjects checks

setup:
	@bash scripts/setup.sh

up: setup
	@scripts/pulumi.sh dev up --yes --skip-preview --suppress-outputs
	@scripts/pulumi.sh dev stack output --json | .venv/bin/python -m components.ops.summary dev

preview: setup
	@scripts/pulumi.sh $(STACK) preview --diff

refresh: setup
	@scripts/pulumi.sh $(STACK) refresh --yes

destroy: setup
	@scripts/pulumi.sh $(STACK) destroy --yes

outputs: setup
	@scripts/pulumi.sh $(STACK) stack output --json

# Tenant isolation against the live servers, from the stack's outputs: a PASS/FAIL table, exit 1 on
# any FAIL (components/ops/verify.py; VERIFY_ARGS=--no-quota leaves out the connection-quota check).
verify: setup
	@set -o pipefail; scripts/pulumi.sh $(STACK) stack output --json --show-secrets \
	  | .venv/bin/python -m components.ops.verify --stack $(STACK) $(VERIFY_ARGS)

# Every stack of a sharded environment (platform.shard_stacks; components/ops/estate.py):
#   make estate ESTATE=up|preview|refresh|destroy|outputs|recover [ESTATE_ARGS="--all"]
ESTATE ?= preview
estate: setup
	@scripts/estate.sh $(STACK) $(ESTATE) $(ESTATE_ARGS)

test: checks
	@bash scripts/test.sh $(PYTEST_ARGS)

# ruff, mypy (strict on the model) and the import-layer contracts, configured in pyproject.toml.
checks: setup
	@bash scripts/checks.sh

test-fast: checks
	@bash scripts/test.sh -m "unit or mocks" $(PYTEST_ARGS)

test-slow: setup
	@bash scripts/test.sh -m slow --run-slow $(PYTEST_ARGS)

bench: setup
	@.venv/bin/python benchmarks/run.py --tenants 10,100 --floor --skip-checkpoints

# Subjects in code against an environment's layout (schema, tenant ids):
#   make lint-subjects ENV=environments/examples/xorb.yaml PATHS=src/
ENV ?= environments/$(STACK).yaml
PATHS ?= .
lint-subjects: setup
	@.venv/bin/python -m components.ops.subject_lint --env $(ENV) --paths $(PATHS)
