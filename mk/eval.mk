# mk/eval.mk: `trit eval` (perplexity with saved logits, KL divergence, multiple choice), included by the
# Makefile. docs/eval.md explains the commands, the saved-logits format and the statistics.
#   make test-eval    C unit tests (ASan/UBSan), CLI acceptance against the oracle's llama-perplexity runs,
#                     wasm CLI == native CLI byte for byte, evaluate() in Node
# TRIT_BIN="node js/cli.js" runs tests/test_eval.py on the wasm CLI; TRIT_EVAL_CHUNKS=25 on all of ppl.txt.
.PHONY: test-eval eval-story

TESTS += test-eval

test-eval: build/test_eval build/trit wasm    ## eval: task parsing, saved logits, KLD/PPL vs llama-perplexity, mc scoring, wasm twin
	build/test_eval
	TRIT_EVAL_SUITE=1 $(PY) -m pytest -q tests/test_eval.py tests/test_eval_wasm.py
	$(NODE) --test tests/test_eval_node.mjs

EVAL_MODELS ?= models/trit-target.tq2_0.gguf models/trit-draft.tq2_0.gguf
EVAL_STORY := tools/eval/tinystories-next-sentence.jsonl

eval-story: build/trit                        ## the corpus task on the embedded models (EVAL_MODELS) -> build/eval-story.json
	@set -eo pipefail; for m in $(EVAL_MODELS); do echo "$$m" >&2; build/trit eval mc -m $$m -f $(EVAL_STORY) --json --progress; done \
	  | tee build/eval-story.json
