# `make test` and `make run` set everything up on a fresh machine that has only python3:
# the first target that needs the venv creates it and installs the package into it.

VENV ?= .venv
PY = $(VENV)/bin/python
PYTHON3 ?= python3

.PHONY: install test test-slow run bench clean distclean

# The stamp is rebuilt when pyproject.toml changes (new dependency, new extra).
$(VENV)/.installed: pyproject.toml
	$(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[mpi,test]'
	touch $@

install: $(VENV)/.installed

test: $(VENV)/.installed
	$(PY) -m pytest -q -p no:cacheprovider

test-slow: $(VENV)/.installed
	$(PY) -m pytest -q -p no:cacheprovider -m slow

# One numba and one BLAS thread per MPI rank: the ranks already fill the cores (threaded
# BLAS on top of them oversubscribes the cores and can slow a run down tenfold).
run: export NUMBA_NUM_THREADS = 1
run: export OMP_NUM_THREADS = 1
run: $(VENV)/.installed
	mkdir -p out
	$(VENV)/bin/mpiexec -n 2 $(PY) -m mpi4py -m solvers runs/quickstart.toml --output out/quickstart.h5 --overwrite
	$(VENV)/bin/keldysh-plot out/quickstart.h5 --out out/
	@echo "results: out/quickstart.h5   figures: out/"

bench: $(VENV)/.installed
	$(PY) -m benchmarks

# Build and run artefacts; the venv stays (see distclean).
clean:
	rm -rf out build dist *.egg-info .pytest_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
