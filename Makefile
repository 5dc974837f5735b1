# Vigil — the two commands: `make demo` and `make test` (and `make bench`).
# Each installs what is missing (Debian packages with apt, Python test tools with pip) and works
# on a fresh machine, as root or through sudo.

SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := postgresql postgresql-contrib libqrencode-dev libgeoip-dev geoip-database oathtool
PYTHON_PACKAGES := pytest requests openapi-spec-validator pyyaml rfc8785 PyJWT cryptography schemathesis~=4.32
PORT ?= 8080
DATA_DIR ?= .vigil

.PHONY: demo test bench deps python-deps build build-tests build-release

## demo: build, create the demo tenant on an embedded PostgreSQL, serve on http://127.0.0.1:$(PORT)
demo: deps build
	.build/debug/vigil demo --data-dir $(DATA_DIR) --port $(PORT)

## test: every test — unit, integration (real PostgreSQL) and system — plus a benchmark smoke run
test: deps python-deps build-tests
	swift test --skip-build
	python3 -m openapi_spec_validator Sources/VigilApp/Resources/openapi.yaml
	VIGIL_BIN=$(CURDIR)/.build/debug/vigil python3 -m pytest Tests/system -q -p no:cacheprovider
	python3 Benchmarks/b9_startup.py --smoke --vigil .build/debug/vigil
	.build/debug/vigil-bench b0 --smoke
	.build/debug/vigil-bench b7 --smoke

## bench: the benchmarks against a release build; results go in docs/benchmarks.md by hand
bench: deps build-release
	python3 Benchmarks/b9_startup.py --vigil .build/release/vigil
	.build/release/vigil-bench b0
	.build/release/vigil-bench b7

deps:
	@missing=""; for package in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

python-deps:
	@python3 -c "import pytest, requests, openapi_spec_validator, yaml, rfc8785, jwt, cryptography, schemathesis" 2>/dev/null || \
		python3 -m pip install --quiet $(PYTHON_PACKAGES)

build:
	swift build --product vigil

build-tests:
	swift build --build-tests

build-release:
	swift build -c release --product vigil
	swift build -c release --product vigil-bench
