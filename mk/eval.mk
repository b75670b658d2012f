# mk/eval.mk: `trit eval` (perplexity with saved logits, KL divergence, multiple choice), included by the
# Makefile. docs/eval.md explains the commands, the saved-logits format and the statistics.
#   make test-eval    C unit tests (ASan/UBSan), CLI acceptance against the oracle's llama-perplexity runs,
#                     wasm CLI == native CLI byte for byte, evaluate() in Node
# TRIT_BIN="node js/cli.js" runs tests/test_eval.py on the wasm CLI; TRIT_EVAL_CHUNKS=25 on all of ppl.txt.
.PHONY: test-eval

TESTS += test-eval

test-eval: build/test_eval build/trit wasm    ## eval: task parsing, saved logits, KLD/PPL vs llama-perplexity, mc scoring, wasm twin
	build/test_eval
	TRIT_EVAL_SUITE=1 $(PY) -m pytest -q tests/test_eval.py tests/test_eval_wasm.py
	$(NODE) --test tests/test_eval_node.mjs
