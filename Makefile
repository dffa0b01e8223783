# snowyowl — one front door. `make help` lists the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
# tools/wasm: wraps the core module into the component and checks the modules' imports (the
# crates wasm-tools is built on, in a tool that builds in a fraction of wasm-tools' install time).
WASM_TOOL_DIR := tools/wasm
WASM_TOOL_TARGET := target/tools
WASM_TOOL_ARGS := --release --quiet --manifest-path $(WASM_TOOL_DIR)/Cargo.toml --target-dir $(WASM_TOOL_TARGET)
WASM_TOOL := $(WASM_TOOL_TARGET)/release/snowyowl-wasm
CORE_WASM := target/wasm32-unknown-unknown/wasm/snowyowl.wasm
# The component and the browser build use WebAssembly SIMD (wasmtime, Node, browsers run it; the
# byte scans of memchr and the compiler's vectors use it): 10-15 % faster in wasmtime. They build
# in their own target directory, so the Fluent Bit module (no SIMD: WAMR runs it off) and they do
# not rebuild each other's dependencies.
SIMD_TARGET := target/simd128
SIMD_ENV := CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"
SIMD_WASM := $(SIMD_TARGET)/wasm32-unknown-unknown/wasm
COMPONENT := build/snowyowl.wasm
CLI := target/release/snowyowl
DEMO_INPUT := tests/data/demo-tenant.ndjson

FLB_MODULE := build/snowyowl-fluent-bit.wasm
# The Fluent Bit module's hash seed, drawn once per build directory: rebuilds keep it (and need
# no recompile); `make clean` draws a new one.
FLB_SEED := build/fluent-bit.seed
# An engine configuration file to bake into the Fluent Bit module (it cannot be passed at run time).
FLB_CONFIG ?=

WASM_BINDGEN_VERSION := 0.2.130
WEB := build/web
WEB_PORT ?= 8000
BROWSER_HOST := host-examples/browser
NODE_HOST := host-examples/node
PYTHON_HOST := host-examples/python
PYTHON ?= python3
# The Python package's virtual environment: maturin and pytest from PyPI, and the package `make
# python` builds (a wheel in build/wheels) installed into it.
VENV := build/venv
VENV_PYTHON := $(VENV)/bin/python
WHEELS := build/wheels
SPARK_HOST := host-examples/spark
# What `make spark` adds to that environment: PySpark and the job's dependencies, pinned.
SPARK_STAMP := $(VENV)/.spark-requirements

RSIGMA_VERSION := 0.23.0
# Where `cargo install` puts RSigma: the bench finds it there too when that is not on PATH.
CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
BENCH_EVENTS ?= 1000000

.PHONY: help tools component fluent-bit web demo-web build demo check test test-hosts test-browser bench bench-peers node node-example python python-example python-features spark spark-example test-spark bench-spark lint fmt clean fuzz

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := push scan engine_ops config

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

tools: ## Install what the build needs (wasm target) and build tools/wasm, skipping what is present
	@rustup target list --installed | grep -q '^wasm32-unknown-unknown$$' || rustup target add wasm32-unknown-unknown
	$(CARGO) build $(WASM_TOOL_ARGS)

component: tools ## Build the WebAssembly component (build/snowyowl.wasm) and check it imports nothing
	$(SIMD_ENV) $(CARGO) build --target wasm32-unknown-unknown --profile wasm --lib --features component \
		--target-dir $(SIMD_TARGET)
	@mkdir -p build
	$(WASM_TOOL) component $(SIMD_WASM)/snowyowl.wasm -o $(COMPONENT)

fluent-bit: tools ## Build the Fluent Bit filter module (build/snowyowl-fluent-bit.wasm); FLB_CONFIG=file bakes in a config
	@if [ -n "$(FLB_CONFIG)" ]; then $(MAKE) --no-print-directory build \
		&& $(CLI) scan --quiet --config "$(FLB_CONFIG)" /dev/null \
		&& echo "configuration $(FLB_CONFIG) is valid"; fi
	@mkdir -p build
	@[ -s $(FLB_SEED) ] || od -An -N8 -tu8 /dev/urandom | tr -d ' ' > $(FLB_SEED)
	SNOWYOWL_FLB_CONFIG="$$(if [ -n "$(FLB_CONFIG)" ]; then cat "$(FLB_CONFIG)"; else echo '{}'; fi)" \
	SNOWYOWL_FLB_SEED="$$(cat $(FLB_SEED))" \
		$(CARGO) build --target wasm32-unknown-unknown --profile wasm --lib --features fluent-bit
	cp $(CORE_WASM) $(FLB_MODULE)
	$(WASM_TOOL) check-module $(FLB_MODULE) --no-simd
	@echo "built $(FLB_MODULE) ($$(wc -c < $(FLB_MODULE)) bytes; exports snowyowl_filter, snowyowl_findings_only, malloc, free)"

web: tools ## Build the browser page into build/web (static files: wasm-bindgen build, worker, page)
	@command -v wasm-bindgen >/dev/null && wasm-bindgen --version | grep -q '$(WASM_BINDGEN_VERSION)' \
		|| $(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	$(SIMD_ENV) $(CARGO) build --target wasm32-unknown-unknown --profile wasm -p snowyowl-web \
		--target-dir $(SIMD_TARGET)
	rm -rf $(WEB) && mkdir -p $(WEB)/pkg $(WEB)/scenario
	wasm-bindgen --target web --no-typescript --out-dir $(WEB)/pkg $(SIMD_WASM)/snowyowl_web.wasm
	cp $(BROWSER_HOST)/web/* $(WEB)/
	cp tests/data/midnight-blizzard.ndjson $(WEB)/scenario/
	@echo "built $(WEB) (open it through a local web server: make demo-web)"

demo-web: web ## Build the browser page and serve it at http://127.0.0.1:8000 (WEB_PORT=…)
	@echo "open http://127.0.0.1:$(WEB_PORT)/ (Ctrl-C stops the server; nothing is uploaded anywhere)"
	$(PYTHON) -m http.server --bind 127.0.0.1 --directory $(WEB) $(WEB_PORT)

build: component ## Build the CLI (target/release/snowyowl) with the component inside
	@# The whole workspace, as `cargo test --workspace` resolves it: building one package alone
	@# unifies dependency features differently and would compile wasmtime a second time.
	$(CARGO) build --release --workspace

demo: build ## Run the CLI on the bundled sample tenant and print the findings
	@mkdir -p build
	$(CLI) scan --brief --output build/demo-findings.ndjson $(DEMO_INPUT)
	@echo "full OCSF findings: build/demo-findings.ndjson"

# The core's tests with the Fluent Bit glue (feature fluent-bit, off in the workspace build), in
# the `quick` profile (Cargo.toml): release speed, rebuilt incrementally after an edit.
CORE_TESTS := $(CARGO) test --profile quick -p snowyowl --features fluent-bit

check: lint ## The inner loop: rustfmt, clippy (as lint), the core's tests; no component or hosts
	$(CORE_TESTS)

test: component fluent-bit lint ## Run every test (what CI runs)
	$(CARGO) test --release --workspace
	@# The Fluent Bit glue's native tests: its feature is off in the workspace build.
	$(CARGO) test --release -p snowyowl --features fluent-bit --lib fluent_bit
	$(CARGO) test $(WASM_TOOL_ARGS)
	$(MAKE) --no-print-directory test-hosts

test-hosts: build node python web ## Run the Node, Python and browser tests against the real builds
	cd $(NODE_HOST) && npm test
	cd $(PYTHON_HOST) && ../../$(VENV_PYTHON) -m pytest -q
	$(MAKE) --no-print-directory test-spark
	$(MAKE) --no-print-directory test-browser

test-browser: web build ## Test the page in headless Chromium (screenshots in host-examples/browser/test-output)
	@command -v chromium >/dev/null || { echo "error: Debian's chromium is needed (apt-get install chromium; .ci/run installs it)" >&2; exit 1; }
	cd $(BROWSER_HOST) && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund; } && npm test

node: component ## Transpile the component for Node with jco (host-examples/node/dist)
	@command -v node >/dev/null || { echo "error: node (20+) is needed for the Node host" >&2; exit 1; }
	cd $(NODE_HOST) && { [ -d node_modules/@bytecodealliance/jco ] || npm ci --no-audit --no-fund; } && npm run build

node-example: node ## Run the Node example on the bundled scenario
	cd $(NODE_HOST) && npm run --silent example

python: component ## Build the Python package (native module: PyO3 + wasmtime, by maturin) into build/venv
	@[ -x $(VENV_PYTHON) ] || $(PYTHON) -m venv $(VENV)
	@$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -r $(PYTHON_HOST)/requirements.txt
	cp $(COMPONENT) $(PYTHON_HOST)/python/snowyowl/snowyowl.wasm
	@# A release build of snowyowl-python alone, against the wasmtime the workspace build made
	@# (python-features checks it is the same).
	rm -rf $(WHEELS)
	cd $(PYTHON_HOST) && ../../$(VENV)/bin/maturin build --release --interpreter ../../$(VENV_PYTHON) --out ../../$(WHEELS)
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps $(WHEELS)/snowyowl-*.whl

python-example: python ## Run the Python example on the bundled scenario
	cd $(PYTHON_HOST) && ../../$(VENV_PYTHON) example.py ../../tests/data/midnight-blizzard.ndjson

# maturin builds snowyowl-python alone, and Cargo then turns on only the features that package
# needs in its dependencies: where they differ from the workspace build's, every crate above them
# (wasmtime among them) is compiled a second time, 8-10 minutes. The crate depends on the CLI's
# library for that reason; this fails if a dependency of it still resolves differently.
python-features: ## Check that maturin's build of the Python module reuses the workspace's dependencies
	@for edges in normal,no-proc-macro normal,build; do \
		tree() { $(CARGO) tree --quiet -e $$edges -f '{p} [{f}]' --prefix none "$$@" | sed 's/ (\*)$$//' | sort -u; }; \
		extra=$$(comm -23 <(tree -p snowyowl-python) <(tree --workspace)); \
		if [ -n "$$extra" ]; then \
			echo "error: built alone, snowyowl-python's dependencies get other features than in the workspace build ($$edges edges):" >&2; \
			echo "$$extra" >&2; \
			echo "(make python would compile them, and wasmtime above them, again: add the dependency with those features to $(PYTHON_HOST)/Cargo.toml)" >&2; \
			exit 1; \
		fi; \
	done

spark: python $(SPARK_STAMP) ## Install PySpark and the Spark job's dependencies (pinned) into build/venv; a JDK 17+ must be present

$(SPARK_STAMP): $(SPARK_HOST)/requirements.txt
	@command -v java >/dev/null || { echo "error: Spark needs a JDK 17+ (apt-get install openjdk-17-jre-headless; .ci/run installs it)" >&2; exit 1; }
	@[ -x $(VENV_PYTHON) ] || $(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -r $(SPARK_HOST)/requirements.txt
	@touch $@

test-spark: build spark ## Test the Spark job on local[2]: tenants apart = scan per tenant, SIGKILL + restart loses nothing (4-6 min)
	cd $(SPARK_HOST) && SNOWYOWL_CLI=$(CURDIR)/$(CLI) $(CURDIR)/$(VENV_PYTHON) -m pytest -q

spark-example: build spark ## Run the Spark job on three generated tenants mixed in one stream (build/spark-example)
	cd $(SPARK_HOST) && $(CURDIR)/$(VENV_PYTHON) example.py --cli $(CURDIR)/$(CLI) --work $(CURDIR)/build/spark-example

bench-spark: build spark ## Measure the Spark job at 1, 10 and 100 tenants (build/bench/spark.md)
	cd $(SPARK_HOST) && $(CURDIR)/$(VENV_PYTHON) bench.py --cli $(CURDIR)/$(CLI) --out $(CURDIR)/build/bench

lint: ## rustfmt check and clippy with warnings as errors (native and wasm builds)
	$(CARGO) fmt --all --check
	$(CARGO) fmt --manifest-path $(WASM_TOOL_DIR)/Cargo.toml --check
	$(CARGO) clippy $(WASM_TOOL_ARGS) --all-targets -- -D warnings
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	$(MAKE) --no-print-directory python-features
	$(SIMD_ENV) $(CARGO) clippy --profile wasm --target wasm32-unknown-unknown --lib --features component \
		--target-dir $(SIMD_TARGET) -- -D warnings
	$(CARGO) clippy --profile wasm --target wasm32-unknown-unknown --lib --features fluent-bit -- -D warnings

fuzz: ## Run every cargo-fuzz target for FUZZ_SECONDS (default 60) each, seeded from tests/data
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --version 0.13.2
	@for target in $(FUZZ_TARGETS); do mkdir -p fuzz/corpus/$$target; done
	@# Seeds: every line of the golden scenarios and hostile corpus, one file each (push, scan), and
	@# a few configs.
	@for target in push scan; do \
		cat tests/data/*.ndjson tests/data/samples/*.jsonl | split -l 1 -a 5 - fuzz/corpus/$$target/seed-; done
	@echo '{}' > fuzz/corpus/config/empty
	@echo '{"detectors":{"password-spray":{"min_users":3,"window":"5m"}},"allowlist":{"trusted_cidrs":["10.0.0.0/8"]}}' > fuzz/corpus/config/typical
	@for target in $(FUZZ_TARGETS); do \
		echo "fuzzing $$target for $(FUZZ_SECONDS)s"; \
		(cd fuzz && $(CARGO) +nightly fuzz run $$target corpus/$$target -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536) || exit 1; \
	done

bench: ## Measure everything in BENCHMARKS.md on one generated file (BENCH_EVENTS, default 1M)
	@# The peers install while our own builds run, two jobs at a time: both are CPU-bound, but
	@# each has stretches on one core (linking, the WebAssembly builds' LTO) that the other fills.
	@# `tools` first, alone: two jobs starting cargo at once on a toolchain that lacks the wasm
	@# target both have rustup install it, and one fails.
	$(MAKE) --no-print-directory tools
	$(MAKE) --no-print-directory -j2 build fluent-bit node python bench-peers
	PATH="$$PATH:$(CARGO_BIN)" $(PYTHON) bench/bench.py --events $(BENCH_EVENTS)
	$(MAKE) --no-print-directory bench-spark

# RSigma without its daemon (the lightest feature set 0.23 builds with; see BENCHMARKS.md).
bench-peers: ## Install the benchmark's peers if missing: RSigma (crates.io) and DuckDB (PyPI)
	@PATH="$$PATH:$(CARGO_BIN)"; command -v rsigma >/dev/null && rsigma --version | grep -q '$(RSIGMA_VERSION)' \
		|| $(CARGO) install rsigma --version $(RSIGMA_VERSION) --locked --no-default-features --features logfmt
	@$(PYTHON) -c 'import duckdb' 2>/dev/null || $(PYTHON) -m pip install --quiet --disable-pip-version-check duckdb

fmt: ## Format the code
	$(CARGO) fmt --all

clean: ## Remove build outputs
	$(CARGO) clean
	rm -rf build
