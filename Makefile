# trit: ternary LLM inference. `make help` lists the targets.
SHELL := /bin/bash
CC ?= gcc
PY := /usr/bin/python3
ORACLE ?= $(abspath ../shared/oracle)
export TRIT_ORACLE := $(ORACLE)

CFLAGS_COMMON := -std=c11 -Wall -Wextra -Wshadow -Wno-unused-parameter -Isrc
CFLAGS ?= -O2 -g
SAN := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

CORE_SRC := src/gguf.c src/quant.c src/model.c src/forward.c src/pool.c src/sampler.c src/api.c src/error.c \
            src/vocab.c src/unicode.c src/eval.c src/eval_task.c
CORE_HDR := $(wildcard src/*.h)

.PHONY: all native test test-c test-asan test-py fuzz clean help

# `make test` runs every suite in TESTS, in order. Each mk/*.mk adds its own targets and suites.
TESTS := test-c test-py

all: native                                   ## default: the native CLI

help:                                         ## list targets
	@grep -hE '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

native: build/trit                            ## native CLI build/trit (gcc -O2)

build/trit: $(CORE_SRC) src/cli.c $(CORE_HDR) | build
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $(CORE_SRC) src/cli.c -lm

build/asan/trit: $(CORE_SRC) src/cli.c $(CORE_HDR) | build
	@mkdir -p build/asan
	$(CC) $(CFLAGS_COMMON) $(SAN) -o $@ $(CORE_SRC) src/cli.c -lm

build/test_%: tests/test_%.c $(CORE_SRC) $(CORE_HDR) | build
	$(CC) $(CFLAGS_COMMON) $(SAN) -o $@ $(CORE_SRC) $< -lm

build:
	@mkdir -p build

C_TESTS := build/test_quant build/test_vocab build/test_gguf_corrupt build/test_core

test-c: $(C_TESTS)                            ## C unit tests (kernels, tokenizer, corrupt files, API) under ASan/UBSan
	@set -e; for t in $(C_TESTS); do echo "== $$t"; $$t; done

test-asan: build/asan/trit test-c             ## C tests + CLI conformance with the ASan build
	TRIT_BIN=$(abspath build/asan/trit) $(PY) -m pytest -q tests/test_conformance.py -k "tokenize or logits_f32"

test-py: build/trit                           ## conformance vs llama.cpp fixtures + Python tool tests
	$(PY) -m pytest -q tests tools

# The root npm dev dependencies (playwright-core, openai, webgpu; package-lock.json), for the targets that
# install what they need themselves (the benchmarks). `make test` expects them installed (`.ci/run` runs
# npm ci first); test-js says so when they are missing.
NPM_STAMP := node_modules/.package-lock.json
$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund

include $(sort $(wildcard mk/*.mk))

test: $(TESTS)                                ## every test suite (the README's test command)

fuzz: | build                                 ## libFuzzer on GGUF parser, loader, tokenizer, decode (FUZZ_SECONDS=60; needs clang)
	clang $(CFLAGS_COMMON) -g -O1 -fsanitize=fuzzer,address,undefined -o build/fuzz_gguf $(CORE_SRC) tests/fuzz_gguf.c -lm
	$(PY) tools/make_corrupt.py build/fuzz-seeds
	@mkdir -p build/fuzz-corpus
	build/fuzz_gguf -max_total_time=$${FUZZ_SECONDS:-60} -max_len=262144 -rss_limit_mb=4096 build/fuzz-corpus build/fuzz-seeds

clean:                                        ## remove build outputs (keeps build/train: training checkpoints)
	find build -mindepth 1 -maxdepth 1 ! -name train -exec rm -rf {} + 2>/dev/null || true
	rm -rf .pytest_cache tests/__pycache__ tools/__pycache__
