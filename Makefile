# Two commands do everything on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.PHONY: demo test lint typecheck unit bench clean install install-test

$(UV):
	python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.8"

# Bytecode is compiled at install: every job, serving worker and batch worker is a new process,
# and without .pyc files (PYTHONDONTWRITEBYTECODE is common) each would recompile pandas.
install: $(UV)
	$(UV) sync --frozen --inexact --extra ml --quiet --compile-bytecode
	$(PY) -m compileall -q src

# PyTorch's tests need torch, which is no dependency (PyPI's build brings GBs of CUDA): a CPU
# wheel installs from $(TORCH_WHEELS) when that folder holds it; elsewhere those tests skip.
TORCH_WHEELS := /opt/wheels
TORCH := torch==2.13.0+cpu

install-test: $(UV)
	$(UV) sync --frozen --inexact --extra ml --group test --quiet --compile-bytecode
	$(PY) -m compileall -q src
	@if ls $(TORCH_WHEELS)/torch-2.13.0+cpu-cp311-*.whl >/dev/null 2>&1; then \
		$(UV) pip install --quiet --compile-bytecode --python $(PY) --find-links $(TORCH_WHEELS) "$(TORCH)"; \
	else echo "no $(TORCH) wheel in $(TORCH_WHEELS): the PyTorch tests will be skipped"; fi
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(apt-get update -qq && apt-get install -y -qq postgresql >/dev/null)
	@# The web UI's tests drive Debian's chromium through Playwright (which cannot fetch browsers).
	@command -v chromium >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

demo: install
	$(PY) -m dockyard.demo

lint: install-test
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

# Niced: under `make test` it runs beside the suite and takes only the CPU the suite leaves.
typecheck: install-test
	nice $(VENV)/bin/mypy

# A module's tests run on one worker, the Ray cluster's modules together, slow ones next
# (tests/services/worker_groups.py). Three workers on two cores: a test waiting on the servers and
# jobs it started leaves its core to the other two (on 2 cores: 17-19 min, against 20 with two
# workers; four took 22 min against three's 21 in the same hour, and more tests waited past their
# timeouts). The thirty slowest tests and the modules that used most CPU
# (tests/services/cpu_report.py) are listed at the end: less work in the heaviest shortens it.
unit: install-test
	$(VENV)/bin/pytest -q -p no:cacheprovider -n 3 --dist loadscope --no-loadscope-reorder \
		--durations=30

# The type check (~1.5 min on 2 cores from a cold cache) runs beside the suite, whose tests
# spend much of their time waiting on the processes they start. Their output is not held
# back (the suite's progress shows as it goes): mypy's few lines may land among its dots.
test: install-test
	$(MAKE) --no-print-directory -j3 lint typecheck unit

# Benchmarks are run by hand (each takes minutes); results go to bench/RESULTS.md.
bench: install-test
	$(UV) sync --frozen --inexact --extra ml --group test --group bench --quiet --compile-bytecode
	@command -v wrk >/dev/null && command -v hyperfine >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq wrk hyperfine >/dev/null)
	$(PY) bench/tracking.py
	$(PY) bench/search.py
	$(PY) bench/models.py
	$(PY) bench/jobs.py
	$(PY) bench/serving.py
	$(PY) bench/batch.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
