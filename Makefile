# Peyvand developer commands. `make run` and `make test` are the two that matter.

CARGO ?= cargo
PYTHON ?= python3
VENV ?= .venv
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)

.PHONY: run test test-rust contract lint fmt openapi bench-http clean

## Start the server on SQLite (./data/peyvand.db) at http://127.0.0.1:8080 (docs at /docs).
run:
	$(CARGO) run --release --bin peyvand -- serve

## Unit and integration tests on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set;
## then the contract tests (OpenAPI validation, schemathesis, generated Python and
## TypeScript clients).
test: test-rust contract

# The e-mail tests talk to real mail servers (aiosmtpd, pymap) run by the venv's Python.
test-rust: $(VENV)/.installed
	PEYVAND_TEST_PYTHON="$${PEYVAND_TEST_PYTHON:-$(abspath $(VENV))/bin/python}" $(CARGO) test --workspace --all-targets

contract: $(VENV)/.installed
	$(CARGO) build --bin peyvand
	PYTHON=$(VENV)/bin/python PEYVAND_BIN=$(TARGET_DIR)/debug/peyvand bash tests/contract/run.sh

$(VENV)/.installed: tests/contract/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r tests/contract/requirements.txt
	touch $@

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Rewrite openapi/v1.json from the code (a test fails when they differ).
openapi:
	$(CARGO) run --quiet --bin peyvand -- export-openapi --out openapi/v1.json

clean:
	$(CARGO) clean
	rm -rf $(VENV)
