"""fit's progress bar: one step per batch over all epochs, the epoch, loss and mIoU in its postfix, hidden by
``progress=False`` or the environment variable TQDM_DISABLE (how the site build and the tests run the chapters),
in a terminal and in Jupyter; and no chapter hides it by hand."""

import io
import re
from pathlib import Path

import nbformat
import pytest
from tqdm.std import tqdm as text_tqdm
from training_helpers import NUM_CLASSES, banded_task, batches, tiny_net

from segbook.training import fit, loop

REPO = Path(__file__).resolve().parent.parent
TRAIN = batches(*banded_task(4, seed=0), 2)  # two batches per epoch


class RecordingBar(text_tqdm):
    """A text bar writing into a StringIO, recording its instances and the postfix shown at each update."""

    made: list = []

    def __init__(self, *args, **kwargs):
        self.text = io.StringIO()
        super().__init__(*args, file=self.text, **kwargs)
        self.hidden = self.disable  # close() sets disable to True
        self.shown = []  # the postfix at each update
        RecordingBar.made.append(self)

    def update(self, n=1):
        self.shown.append((n, self.postfix))
        return super().update(n)


@pytest.fixture
def bar(monkeypatch):
    """fit's bar, as recorded by :class:`RecordingBar` (bars shown: TQDM_DISABLE removed)."""
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setattr(loop, "tqdm", RecordingBar)
    RecordingBar.made = []

    def the_bar():
        assert len(RecordingBar.made) == 1, "fit should draw exactly one bar"
        return RecordingBar.made[0]

    return the_bar


def test_the_bar_advances_once_per_batch_over_all_epochs(bar):
    history = fit(tiny_net(), TRAIN, num_classes=NUM_CLASSES, epochs=3)
    shown = bar()
    assert (shown.total, shown.n, shown.unit) == (6, 6, "batch")
    assert [n for n, _ in shown.shown] == [1] * 6
    first, fourth = shown.shown[0][1], shown.shown[3][1]
    assert re.fullmatch(r"epoch=1/3, loss=\d\.\d{3}", first)  # no mIoU before an epoch has ended
    miou_of_epoch_1 = f"{history.records[0]['train_miou']:.3f}"
    assert re.fullmatch(rf"epoch=2/3, loss=\d\.\d{{3}}, train_mIoU={miou_of_epoch_1}", fourth)
    last = history.last()
    assert f"epoch=3/3, loss={last['train_loss']:.3f}, train_mIoU={last['train_miou']:.3f}" in shown.text.getvalue()
    assert "6/6" in shown.text.getvalue()


def test_with_validation_the_bar_shows_the_validation_miou(bar):
    history = fit(tiny_net(), TRAIN, num_classes=NUM_CLASSES, epochs=1, val_data=TRAIN)
    assert bar().postfix.endswith(f"val_mIoU={history.last()['val_miou']:.3f}")


def test_with_only_a_time_budget_the_bar_shows_one_epoch_at_a_time(bar):
    fit(tiny_net(), TRAIN, num_classes=NUM_CLASSES, time_budget=600, on_epoch_end=lambda r: r["epoch"] == 3)
    shown = bar()
    assert (shown.total, shown.n) == (2, 2)  # reset at each epoch
    assert len(shown.shown) == 6 and shown.postfix.startswith("epoch=3,")


def test_data_without_a_length_gets_a_bar_without_a_total(bar):
    class Reiterable:
        def __iter__(self):
            return iter(TRAIN)

    fit(tiny_net(), Reiterable(), num_classes=NUM_CLASSES, epochs=2)
    assert (bar().total, bar().n) == (None, 4)


def test_the_default_bar_is_drawn_on_stderr(monkeypatch, capsys):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    fit(tiny_net(), TRAIN, num_classes=NUM_CLASSES, epochs=2)
    err = capsys.readouterr().err
    assert "fit" in err and "4/4" in err and "epoch=2/2" in err


@pytest.mark.parametrize("value, hidden", [("1", True), ("true", True), ("yes", True), ("0", False), ("", False)])
def test_tqdm_disable_in_the_environment_hides_the_bar(bar, monkeypatch, value, hidden):
    monkeypatch.setenv("TQDM_DISABLE", value)
    fit(tiny_net(), TRAIN, num_classes=NUM_CLASSES, epochs=1)
    assert bar().hidden is hidden
    assert ("2/2" in bar().text.getvalue()) is not hidden


def test_progress_false_hides_the_bar(bar):
    fit(tiny_net(), TRAIN, num_classes=NUM_CLASSES, epochs=1, progress=False)
    assert bar().hidden and bar().text.getvalue() == ""


def test_tqdm_disable_hides_the_jupyter_bar_too(monkeypatch, capsys):
    # tqdm.auto's Jupyter bar passes disable=False itself, so tqdm alone would ignore TQDM_DISABLE there
    notebook = pytest.importorskip("tqdm.notebook")
    monkeypatch.setattr(loop, "tqdm", notebook.tqdm)
    monkeypatch.setenv("TQDM_DISABLE", "1")
    fit(tiny_net(), TRAIN, num_classes=NUM_CLASSES, epochs=1)
    assert capsys.readouterr() == ("", "")
    monkeypatch.delenv("TQDM_DISABLE")
    fit(tiny_net(), TRAIN, num_classes=NUM_CLASSES, epochs=1)
    assert "fit:" in capsys.readouterr().out  # outside a kernel the widget is displayed as text on stdout


# ---------------------------------------------------------------- the book's runs
def test_the_site_build_and_test_scripts_hide_the_bars():
    for script in ("tools/build_book.sh", "tools/test.sh"):
        lines = (REPO / script).read_text(encoding="utf-8").splitlines()
        assert "export TQDM_DISABLE=1" in lines, f"{script}: export TQDM_DISABLE=1 before executing notebooks"
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^unit fast bench: export TQDM_DISABLE = 1$", makefile, re.M), "Makefile: unit, fast, bench"


def test_no_chapter_hides_the_bar_by_hand():
    """The site build and the tests hide the bars through TQDM_DISABLE; a reader running a chapter should see them."""
    offenders = []
    for path in sorted((REPO / "chapters").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and re.search(r"progress\s*=\s*False", cell.source):
                offenders.append(path.name)
    assert not offenders, f"progress=False in {offenders}: drop it, the builds set TQDM_DISABLE=1"


def test_a_kernel_started_by_the_tests_runs_fit_without_a_bar():
    """conftest.py sets TQDM_DISABLE; the kernels nbval and the student test start inherit it."""
    nbclient = pytest.importorskip("nbclient")
    source = (
        "import os, torch\n"
        "from segbook.training import fit\n"
        "x = torch.rand(2, 1, 4, 4); y = (x[:, 0] > 0.5).long()\n"
        "print(os.environ.get('TQDM_DISABLE'))\n"
        "fit(torch.nn.Conv2d(1, 2, 1), [(x, y)], num_classes=2, epochs=1, device='cpu');"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert [o.get("text") for o in outputs] == ["1\n"], outputs  # the print, and no bar (widget or text)
