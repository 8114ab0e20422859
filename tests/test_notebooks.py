"""Every notebook runs from top to bottom (with small settings) and is committed clean.

A run passes when no cell raises, no cell writes a warning to stderr (a user would see it
under the cell), and every cell that draws a figure shows one.
"""

import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
#: A cell that calls one of these draws a figure and should show it.
DRAWS = re.compile(r"\b(view\.\w+|plt\.subplots?|plt\.figure)\(")


def _execute(nb, folder, monkeypatch):
    """Run ``nb`` in place in a fresh kernel started in ``folder``; a cell's error becomes
    its output (so that the test names the cell) instead of stopping the run."""
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("FACENMF_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # no migration warning from jupyter
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def _problems(nb, name):
    """One line per problem in the outputs of an executed notebook, naming the cell."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        first = next((line for line in cell.source.splitlines()
                      if line.strip() and not line.startswith("%")), "")
        where = f"{name}, cell {i} ({first.strip()[:50]!r})"
        outputs = cell.get("outputs", [])
        for out in outputs:
            if out.get("output_type") == "error":
                problems.append(f"{where} raised {out['ename']}: {out['evalue']}")
            elif (out.get("output_type") == "stream" and out.get("name") == "stderr"
                  and "Warning" in out.get("text", "")):
                warning = next(line for line in out["text"].splitlines() if "Warning" in line)
                problems.append(f"{where} warned: {warning.strip()}")
        if DRAWS.search(cell.source) and not any("image/png" in out.get("data", {})
                                                 for out in outputs):
            problems.append(f"{where} draws a figure but shows none")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nb = _execute(nbformat.read(path, as_version=4), path.parent, monkeypatch)
    problems = _problems(nb, path.name)
    assert not problems, "\n".join(problems)
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, "the notebook should show figures"


def test_a_broken_notebook_is_reported(tmp_path, monkeypatch):
    """The checks above can fail: an error, a warning and a figure not shown are each
    reported with their cell, and the cells after an error still run."""
    nbformat = pytest.importorskip("nbformat")
    cells = ["%matplotlib inline\nimport warnings\nwarnings.warn('careful', RuntimeWarning)",
             "1 / 0",
             "import numpy as np\nfrom facenmf import view\n"
             "fig = view.basis_montage(np.ones((6, 2)), (3, 2))",
             "view.basis_montage(np.ones((6, 2)), (3, 2))"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    problems = _problems(_execute(nb, tmp_path, monkeypatch), "broken.ipynb")
    assert len(problems) == 3, problems
    assert problems[0].startswith("broken.ipynb, cell 0 ('import warnings') warned: ")
    assert "RuntimeWarning: careful" in problems[0]
    assert problems[1:] == [
        "broken.ipynb, cell 1 ('1 / 0') raised ZeroDivisionError: division by zero",
        "broken.ipynb, cell 2 ('import numpy as np') draws a figure but shows none"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None


def test_there_are_notebooks():
    assert {p.stem for p in NOTEBOOKS} >= {"parts_of_faces", "api_tour", "recognition"}
