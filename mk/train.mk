# mk/train.mk: training the embedded model pair and shipping it in models/ (docs/training.md).
#   make train        train (or resume) target + draft into TRAIN_OUT, niced, one thread each
#   make model-card   export TRAIN_OUT's best checkpoints to models/, measure them, write models/README.md
# Their tests (tools/train/test_*.py) run in test-py with the other Python tool tests.
TRAIN_OUT ?= build/train

.PHONY: train model-card

train:                                        ## train/resume the target + draft pair (TRAIN_OUT=build/train; hours)
	OPENBLAS_NUM_THREADS=1 nice -n 19 $(PY) tools/train/train.py --models target,draft --out $(TRAIN_OUT)

model-card: build/trit                        ## export TRAIN_OUT's models to models/, evaluate, plot, models/README.md
	$(PY) tools/train/model_card.py --run $(TRAIN_OUT)
