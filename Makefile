# govlake — the two commands: `make demo` (run the platform's daily cycle) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
GOVLAKE := $(VENV)/bin/govlake
# The test suite runs its own stack beside the demo one (own data dir and ports), so a running demo survives.
# Its ports sit below the kernel's ephemeral range (32768-60999): a busy machine's outgoing connections can
# hold any port in that range for a moment, and a service starting then fails to bind.
TEST_ENV := GOVLAKE_HOME=$(CURDIR)/.govlake/test GOVLAKE_PG_PORT=25532 GOVLAKE_S3_ENDPOINT=127.0.0.1:25433 \
            GOVLAKE_AIRFLOW_PORT=25180 GOVLAKE_DEPARTMENT_API_PORT=25190 GOVLAKE_WEB_PORT=25170

.PHONY: help system-deps venv demo up down status env test test-unit test-scaleout bench bench-province bench-province-clean lint lint-sql clean

help:
	@echo "make demo   set up, start the local stack, generate a province, run one daily cycle through Airflow"
	@echo "make test   set up and run the whole test suite against real services"
	@echo "make down   stop the local stack          make status   show each component"
	@echo "make bench  throughput and memory at >= 1 million persons"
	@echo "make bench-province  the whole province: first load + next day's cycle (resumable; BENCH_ARGS=--scale large)"
	@echo "make bench-province-clean  stop the province stack and remove it, for a clean first load (--fresh)"

# Debian packages used when present: a CJK font so scorecard PDFs and the portal's pages render Chinese
# (WenQuanYi subsets fast), and Chromium for the portal's browser tests (Playwright drives /usr/bin/chromium;
# `playwright install` cannot download a browser of its own here).
system-deps:
	@if ! fc-list :lang=zh 2>/dev/null | grep -qi "wqy\|cjk"; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei fontconfig; \
	  else echo "warning: no CJK font found; install fonts-wqy-microhei or scorecard PDFs will refuse to render"; fi; \
	fi
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "warning: /usr/bin/chromium not found; install Debian's chromium or the browser tests are skipped"; fi; \
	fi
	@if ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; \
	  else echo "warning: redis-server not found; install Debian's redis-server for --executor celery"; fi; \
	fi

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

venv: $(VENV)/.installed

demo: system-deps venv
	$(GOVLAKE) demo

up: venv
	$(GOVLAKE) stack up

down:
	@if [ -x $(GOVLAKE) ]; then $(GOVLAKE) stack down; fi

status: venv
	$(GOVLAKE) stack status

env: venv
	@$(GOVLAKE) stack env

# `make test` runs the suite on the test stack, stops it, then the distributed stack's fault suite
# (tests/scaleout, marker scaleout) on a stack of its own, so the two never share the two cores.
# TEST_SCALEOUT=no skips the second part (e.g. with PYTEST_ARGS naming a few tests).
TEST_MARKERS ?= not scaleout
TEST_SCALEOUT ?= yes

test: system-deps venv
	$(TEST_ENV) $(GOVLAKE) stack up || { $(TEST_ENV) $(GOVLAKE) stack down; exit 1; }
	set -o pipefail; $(TEST_ENV) $(PY) -m pytest -p no:cacheprovider -m "$(TEST_MARKERS)" --durations=30 --durations-min=15 $(PYTEST_ARGS); status=$$?; \
	  $(TEST_ENV) $(GOVLAKE) stack down; \
	  if [ "$(TEST_SCALEOUT)" = yes ]; then $(MAKE) --no-print-directory test-scaleout PYTEST_ARGS= || status=1; fi; exit $$status

# The distributed stack's fault tests: Celery, Edge, SeaweedFS cluster, standby (a stack of their own).
test-scaleout: system-deps venv
	$(PY) -m pytest -p no:cacheprovider -m scaleout --durations=10 --durations-min=15 tests/scaleout $(PYTEST_ARGS)

# Pure-logic tests: no stack (a test using the `stack` fixture is integration: tests/conftest.py) and not
# the whole-project dbt checks (`lint` mark: sqlfluff over every model, dbt parse); `make test` runs all.
test-unit: venv
	$(PY) -m pytest -p no:cacheprovider -m "not integration and not e2e and not lint" $(PYTEST_ARGS)

# The benchmark also runs on a stack of its own, so its million-person province doesn't mix with the demo's.
BENCH_ENV := GOVLAKE_HOME=$(CURDIR)/.govlake/bench GOVLAKE_PG_PORT=25632 GOVLAKE_S3_ENDPOINT=127.0.0.1:25533 \
             GOVLAKE_AIRFLOW_PORT=25280 GOVLAKE_DEPARTMENT_API_PORT=25290 GOVLAKE_WEB_PORT=25270

bench: venv
	$(BENCH_ENV) $(GOVLAKE) stack up
	$(BENCH_ENV) $(PY) bench/run_bench.py $(BENCH_ARGS); status=$$?; $(BENCH_ENV) $(GOVLAKE) stack down; exit $$status

# The province (issue 19) on a stack of its own: first load + next day's cycle; resumes where it stopped.
PROVINCE_ENV := GOVLAKE_HOME=$(CURDIR)/.govlake/province GOVLAKE_PG_PORT=25732 GOVLAKE_S3_ENDPOINT=127.0.0.1:25633 \
                GOVLAKE_AIRFLOW_PORT=25380 GOVLAKE_DEPARTMENT_API_PORT=25390 GOVLAKE_WEB_PORT=25370

bench-province: venv
	$(PROVINCE_ENV) $(GOVLAKE) stack up
	$(PROVINCE_ENV) $(PY) bench/province_bench.py $(BENCH_ARGS); status=$$?; $(PROVINCE_ENV) $(GOVLAKE) stack down; exit $$status

# A clean slate for the next first load (`--fresh` refuses a warehouse that already holds batches).
bench-province-clean: venv
	$(PROVINCE_ENV) $(GOVLAKE) stack down
	rm -rf .govlake/province

lint: venv lint-sql
	$(VENV)/bin/ruff check include dags plugins tests bench
	$(VENV)/bin/ruff format --check include dags plugins tests bench

# The dbt project's SQL style (dbt_project/.sqlfluff); renders the models without a database.
# `make fix-sql` is not offered on purpose: read what `sqlfluff fix` would change, file by file.
lint-sql: venv
	cd dbt_project && ../$(VENV)/bin/sqlfluff lint . --processes 2 --disable-progress-bar

clean: down
	rm -rf .govlake
