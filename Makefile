# Two commands do everything:  `make lab` opens the course, `make test` runs every test.
# Both create a virtual environment in .venv first if there is none.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The default installs the CPU build of torch. With an NVIDIA GPU:  make lab TORCH_INDEX=https://download.pytorch.org/whl/cu128
TORCH  ?= torch==2.13.0
TORCH_INDEX ?=
TORCH_ARGS := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),)

.PHONY: lab test venv notebooks exercises bench clean

# JupyterLab's defaults for the course (no pop-up asking to fetch Jupyter news), read from the environment.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
# Extra flags for the server, e.g.  make lab LAB_ARGS="--port=8890 --no-browser"
LAB_ARGS ?=

venv: $(VENV)/.installed $(LAB_SETTINGS)

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH)" $(TORCH_ARGS)
	$(BIN)/python -m pip install --quiet -e ".[course,test]"
	@touch $@

$(LAB_SETTINGS): jupyterlab_overrides.json $(VENV)/.installed
	@mkdir -p $(@D)
	cp $< $@

# Serves the whole course (notebooks/, exercises/, the gptlab source) and opens the first notebook.
# ipywidgets ships as a prebuilt JupyterLab extension, so the sliders work with no extra step; the notebooks'
# kernel "python3" is this environment's Python (Jupyter starts it with the server's own interpreter).
lab: venv
	$(BIN)/jupyter lab --ServerApp.root_dir=. $(LAB_ARGS) notebooks/00_start_here.ipynb

# The suite runs on TEST_JOBS processes (pytest-xdist; conftest.py shares out the cores).
# A single file, serially:  .venv/bin/python -m pytest tests/test_model.py
TEST_JOBS ?= 2
test: venv
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadscope

notebooks: venv  ## re-run every notebook in place and refresh its paired .py file
	$(BIN)/python -m gptlab.notebooks execute notebooks/*.ipynb solutions/*.ipynb

exercises: venv  ## regenerate the student notebooks from solutions/
	$(BIN)/python -m gptlab release solutions --out exercises

bench: venv
	$(BIN)/python bench/generate.py
	$(BIN)/python bench/train.py

clean:
	rm -rf $(VENV) .pytest_cache
