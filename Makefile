# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PARAMS ?= params/default.yaml

.PHONY: run test lint notebooks bench clean-venv

# (Re)install when the venv is missing, or pyproject.toml, setup.py, a C source or a parse
# module changed since the last install (the install compiles bedrock_finops/*.c, and the
# parse modules with Cython, when it can: see bedrock_finops/compiled.py).
$(STAMP): pyproject.toml setup.py $(wildcard bedrock_finops/*.c) $(wildcard bedrock_finops/parse*.py)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/bedrock-finops run --params $(PARAMS)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check bedrock_finops tests benchmarks notebooks setup.py
	$(BIN)/ruff format --check bedrock_finops tests benchmarks notebooks setup.py

# Re-execute the committed notebooks on their own defaults so nbval has fresh outputs
# (PARAMS does not apply: nbval compares against the notebooks' defaults).
notebooks: $(STAMP)
	$(BIN)/bedrock-finops notebooks refresh

# Scale runs and side-by-side comparisons (minutes; not part of `make test`). See benchmarks/README.md.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/sample_scale.py
	$(BIN)/python benchmarks/ingest.py --records 1000000
	$(BIN)/python benchmarks/notebooks_scale.py --records 1000000
	$(BIN)/python benchmarks/long_prompts.py
	$(BIN)/python benchmarks/s3_listing.py
	$(BIN)/python benchmarks/s3_ingest.py
	$(BIN)/python benchmarks/s3_big_object.py
	$(BIN)/python benchmarks/cur_read.py
	$(BIN)/python benchmarks/pricing.py
	$(BIN)/python benchmarks/ingest_shapes.py
	$(BIN)/python benchmarks/name_checks.py
	$(BIN)/python benchmarks/sizing_segments.py

clean-venv:
	rm -rf $(VENV)
