# mk/eval.mk: `trit eval` (perplexity with saved logits, KL divergence, multiple choice), included by the
# Makefile. docs/eval.md explains the commands, the saved-logits format and the statistics.
#   make test-eval    C unit tests (ASan/UBSan) + CLI acceptance against the oracle's llama-perplexity runs
.PHONY: test-eval

TESTS += test-eval

test-eval: build/test_eval build/trit         ## eval: task parsing, saved logits, KLD/PPL vs llama-perplexity, mc scoring
	build/test_eval
	TRIT_EVAL_SUITE=1 $(PY) -m pytest -q tests/test_eval.py
