"""The committed notebooks are tidy: paired with an up-to-date .py, run top to bottom, no errors, every
figure titled. The cells themselves are run (and their claims checked) by nbval: `pytest notebooks/`."""
from pathlib import Path

import nbformat
import pytest

from gptlab import notebooks

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))  # generated from solutions/, never executed
COURSE = ["00_start_here", "01_causal_lm", "02_attention", "03_pre_post_ln", "04_weight_tying"]


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_notebook_is_tidy(path):
    problems = notebooks.check(path)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", COMMITTED + EXERCISES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_student_cells_hold_no_test_markers(path):
    """Every cell is read by a student: nbval's instructions go in cell tags, never in the text."""
    problems = notebooks.marker_comments(path)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", COURSE)
def test_course_notebook_exists(name):
    assert (ROOT / "notebooks" / f"{name}.ipynb").exists()


def test_every_paired_py_has_its_notebook():
    for folder in ("notebooks", "solutions"):
        for py in (ROOT / folder).glob("*.py"):
            assert py.with_suffix(".ipynb").exists(), f"{py} has no notebook beside it"


# ----------------------------------------------------------------------------------------------------
# The checker itself, on small hand-made notebooks


def _figure(title):
    return nbformat.v4.new_output(
        "display_data",
        data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"},
        metadata={notebooks.FIGURE_MIME: {"suptitle": "", "axes": [{"title": title, "xlabel": "", "ylabel": ""}]}},
    )


def _write(tmp_path, cells, counts, outputs=None, executed=True):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title")] + [nbformat.v4.new_code_cell(c) for c in cells]
    for cell, n in zip(nb.cells[1:], counts):
        cell.execution_count = n
    for i, outs in (outputs or {}).items():
        nb.cells[1 + i].outputs = outs
    if executed:
        nb.metadata["gptlab"] = {"executed_code": notebooks.code_fingerprint(nb)}
    return notebooks.write_pair(nb, tmp_path / "nb.ipynb")[0]


def test_check_accepts_a_tidy_notebook(tmp_path):
    path = _write(tmp_path, ["x = 1", "print(x)"], [1, 2], {0: [_figure("Loss")]})
    assert notebooks.check(path) == []


def test_check_finds_cells_run_out_of_order(tmp_path):
    path = _write(tmp_path, ["x = 1", "print(x)"], [2, 1])
    assert any("execution count 2, expected 1" in p for p in notebooks.check(path))


def test_check_finds_unrun_cells(tmp_path):
    path = _write(tmp_path, ["x = 1", "print(x)"], [1, None])
    assert any("execution count None" in p for p in notebooks.check(path))


def test_check_finds_error_outputs(tmp_path):
    error = nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])
    path = _write(tmp_path, ["1 / 0"], [1], {0: [error]})
    assert any("ZeroDivisionError" in p for p in notebooks.check(path))


def test_check_finds_untitled_and_undescribed_figures(tmp_path):
    bare = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    path = _write(tmp_path, ["plot()", "plot()"], [1, 2], {0: [_figure("")], 1: [bare]})
    problems = notebooks.check(path)
    assert any("cell 1: a figure without a title" in p for p in problems), problems
    assert any("cell 2: a figure not described" in p for p in problems), problems
    # a picture that is not a matplotlib figure (a diagram shown from a file) needs no title
    diagram = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=",
                                                           "text/plain": "<IPython.core.display.Image object>"})
    assert notebooks.check(_write(tmp_path, ["show()"], [1], {0: [diagram]})) == []


def test_check_finds_a_stale_or_missing_py(tmp_path):
    path = _write(tmp_path, ["x = 1"], [1])
    py = path.with_suffix(".py")
    py.write_text(py.read_text().replace("x = 1", "x = 2"))
    assert any("differs from nb.py" in p for p in notebooks.check(path))
    py.unlink()
    assert any("nb.py is missing" in p for p in notebooks.check(path))


def test_check_finds_stale_outputs_and_marker_comments(tmp_path):
    path = _write(tmp_path, ["x = 1", "print(x)"], [1, 2], executed=False)
    nb = nbformat.read(path, as_version=4)
    assert any("not run by `python -m gptlab.notebooks execute`" in p for p in notebooks.check(path))
    nb.metadata["gptlab"] = {"executed_code": notebooks.code_fingerprint(nb)}
    notebooks.write_pair(nb, path)
    assert notebooks.check(path) == []
    # a code cell edited after the run (as JupyterLab saves it, the .py kept in step): the outputs are stale
    nb.cells[2].source = "print(x + 1)"
    notebooks.write_pair(nb, path)
    assert any("code cells edited since the last run" in p for p in notebooks.check(path))
    # a marker comment in a cell's text is found, in code and in prose, with the tag to use instead
    nb.cells[1].source = "# NBVAL_IGNORE_OUTPUT\nx = 1"
    nb.cells[0].source = "# Title\nCells marked `# NBVAL_CHECK_OUTPUT` are compared."
    notebooks.write_pair(nb, path)
    problems = notebooks.marker_comments(path)
    assert len(problems) == 2 and "nbval-ignore-output" in problems[1], problems
    # a tag in the cell's metadata is what the course uses, and it is not text
    nb.cells[0].source, nb.cells[1].source = "# Title", "x = 1"
    nb.cells[1].metadata["tags"] = ["nbval-ignore-output"]
    notebooks.write_pair(nb, path)
    assert notebooks.marker_comments(path) == []


def test_check_rejects_a_broken_file(tmp_path):
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{ not json")
    assert any("not a readable notebook" in p for p in notebooks.check(bad))
    with pytest.raises(ValueError, match="expected a .ipynb"):
        notebooks.check(tmp_path / "notes.txt")


def test_execute_runs_a_py_into_a_described_notebook(tmp_path):
    """The whole loop: a .py written by hand becomes an executed notebook whose figure is described, in the
    notebook's own folder; a failing cell leaves the files as they were."""
    py = tmp_path / "demo.py"
    py.write_text(
        "# %% [markdown]\n# # Demo\n\n"
        "# %%\nimport os, matplotlib.pyplot as plt\nprint(os.path.basename(os.getcwd()))\n\n"
        "# %%\nfig, ax = plt.subplots()\nax.plot([1, 2])\nax.set_title('A line')\nplt.show()\n"
    )
    notebooks.execute(py, timeout=120)
    path = py.with_suffix(".ipynb")
    assert notebooks.check(path) == []
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[1].outputs[0]["text"].strip() == tmp_path.name
    figure = nb.cells[2].outputs[0]
    assert set(figure["data"]) == {"image/png", "text/plain"}  # nothing a viewer or nbval would compare
    assert figure["metadata"][notebooks.FIGURE_MIME]["axes"][0]["title"] == "A line"

    before = path.read_bytes()
    py.write_text(py.read_text() + "\n# %%\nraise ValueError('broken on purpose')\n")
    with pytest.raises(notebooks.NotebookError, match="broken on purpose"):
        notebooks.execute(py, timeout=120)
    assert path.read_bytes() == before
    assert "broken on purpose" in py.read_text()


# ----------------------------------------------------------------------------------------------------
# The plotting helpers the notebooks call: titled, labelled, and clear about bad input


def test_plotting_helpers_draw_titled_labelled_axes():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import torch

    from gptlab import plotting

    tokens = ["To", " be", ",", " or"]
    weights = torch.tensor([[1.0, 0, 0, 0], [0.5, 0.5, 0, 0], [0.2, 0.3, 0.5, 0], [0.1, 0.2, 0.3, 0.4]])
    fig, axes = plt.subplots(2, 3)
    drawn = [
        plotting.causal_mask_table(tokens, ax=axes[0, 0]),
        plotting.attention_heatmap(weights, tokens, ax=axes[0, 1], colorbar=False),
        plotting.loss_curves({"a": [3.0, 2.0], "b": ([0, 10], [3.0, 1.5])}, reference={"ln V": 4.17}, ax=axes[0, 2]),
        plotting.distribution_bars(tokens, [0.1, 0.2, 0.3, 0.4], highlight=[0, 1, 1, 1], top=3, ax=axes[1, 0]),
        plotting.grouped_bars({"tied": {"emb": 1, "blocks": 2}, "untied": {"emb": 2, "blocks": 2}},
                              title="Parameters", xlabel="part", ylabel="count", ax=axes[1, 1]),
    ]
    for ax in drawn:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), ax
    # the mask table's ✓/× cells are exactly the causal mask
    marks = [t.get_text() for t in axes[0, 0].texts]
    assert marks.count(plotting.CHECK) == 10 and marks.count(plotting.CROSS) == 6
    assert len(axes[0, 2].get_legend().get_texts()) == 3  # two curves and the reference line
    plt.close(fig)


def test_plotting_helpers_reject_mismatched_shapes():
    import torch

    from gptlab import plotting

    with pytest.raises(ValueError, match=r"expected \(3, 3\) for 3 tokens"):
        plotting.attention_heatmap(torch.rand(4, 4), ["a", "b", "c"])
    with pytest.raises(ValueError, match="2 labels for 3 values"):
        plotting.distribution_bars(["a", "b"], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="maps cover 5 positions"):
        plotting.attention_heads(torch.rand(2, 5, 5), ["a", "b"])
    assert plotting.printable(" the\n") == "\u2423the\u21b5"
