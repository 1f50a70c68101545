"""The example notebook runs from top to bottom in a real Jupyter kernel and shows the
derivation typeset."""
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "example.ipynb"


def test_the_example_notebook_runs_and_displays_the_derivation():
    try:
        import nbclient
        import nbformat
    except ImportError:
        pytest.fail("nbclient, nbformat and ipykernel are test dependencies: pip install -e '.[test]'")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        "commit the notebook without outputs"
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = next(o for o in outputs if o.output_type == "execute_result")
    assert r"\delta c_{t} &= p_{o} \odot \delta \bar{o}_{t}" in shown.data["text/latex"]
    assert "#### Parameter gradients" in shown.data["text/markdown"]
    printed = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")
    assert "every gradient agrees" in printed and "finite differences" in printed
