# llmsim — the two Quick-start commands (README) and a few helpers.
# Each target first installs what a fresh Debian machine with the Swift toolchain lacks.

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: deps run test bench notebooks check-notebooks clean

deps:
	@dpkg -s libgsl-dev libsqlite3-dev pkg-config >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libgsl-dev libsqlite3-dev pkg-config)

# The main job: the DeepSeek-V3 reproduction (one simulated step, then the whole run:
# GPU-hours, dollars, energy), each figure beside the published one.
run: deps
	swift build -c release
	.build/release/llmsim step Experiments/deepseek-v3.yaml
	@echo
	.build/release/llmsim run Experiments/deepseek-v3.yaml

# The whole test suite (unit, golden, bad-input and end-to-end CLI tests).
test: deps
	swift build
	swift test

# The markdown notebooks (notebooks-md/): refresh their outputs, or check them byte for byte
# against a fresh run. CI runs the check (debug build: its hot targets are optimised, and the
# outputs are identical to a release build's).
notebooks: deps
	swift build
	.build/debug/llmsim notebook run notebooks-md/*.md

check-notebooks: deps
	swift build
	.build/debug/llmsim notebook check notebooks-md/*.md

# Engine benchmark (release build); results are recorded in BENCHMARKS.md.
bench: deps
	swift build -c release
	.build/release/llmsim bench

clean:
	rm -rf .build
