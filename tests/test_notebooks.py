"""Every notebook runs top to bottom on the demo data, and is stored without outputs.

The kernel is the `python3` kernelspec that ipykernel installs into this same environment
(`pip install -e .[test]`), so nothing is registered on the machine.
"""

import re
from pathlib import Path

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DEMO = ROOT / "data" / "demo"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    """A SQLite database with the demo data: data/demo as committed, else freshly generated."""
    from etl.db import engine_from_url
    from etl.load import load_paths

    tmp = tmp_path_factory.mktemp("demo")
    source = DEMO
    if not any(DEMO.glob("*")):
        from data.generate import generate

        source = tmp / "exports"
        generate(source, packages=600, seed=2026)
    url = f"sqlite:///{tmp / 'demo.db'}"
    engine = engine_from_url(url)
    results = load_paths(engine, [source])
    engine.dispose()
    assert results and not [r.error for r in results if r.error]
    return url


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["analisis-penghematan.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_on_demo_data(path, demo_db, tmp_path, monkeypatch):
    monkeypatch.setenv("HEMAT_DATABASE_URL", demo_db)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, if one fails

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "Cocok: jumlah per provinsi = angka utama" in text
    assert re.search(r"Cocok: \d+ satuan kerja, jumlahnya = angka utama", text)
    figures = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert figures, "the province chart was not drawn"
    written = list(tmp_path.glob("hemat-*.xlsx"))
    assert len(written) == 1 and f"Ditulis: {written[0]}" in text
