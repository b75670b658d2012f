# mk/server.mk: `trit serve`, the OpenAI-compatible HTTP server (js/server.mjs), included by the
# Makefile. docs/server.md explains it.
#   make test-server   the real server on 127.0.0.1 driven by the openai npm client: API, streaming,
#                      aborts, API key, a bounded load test, bad input, the router's remote route
NODE ?= node
SERVER_TESTS := $(sort $(wildcard tests/server/*.test.mjs))

.PHONY: test-server

TESTS += test-server

test-server: wasm                             ## server tests (node:test, ~2 min): openai client, load, bad input, remote route
	$(NODE) --test $(SERVER_TESTS)
