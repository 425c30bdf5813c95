"""segbook.compare: one table of cost and accuracy for every architecture, and its command line."""

import math

import pytest
import torch
from test_folder_dataset import indexed, write_folder

from segbook.compare import ARCHITECTURES, compare_architectures, foreground_target, main, pareto_front, plot_comparison
from segbook.models import model_cost

TINY = dict(size=16, train_images=4, val_images=2, epochs=1, batch_size=4, latency_repeats=2, device="cpu")


@pytest.fixture(scope="module")
def tiny_comparison():
    return compare_architectures(["SmallSegNet", "UNet++", "FCN-32s"], **TINY)


def test_every_architecture_builds_and_returns_logits_at_the_input_size():
    x = torch.rand(1, 3, 16, 16)
    for name, architecture in ARCHITECTURES.items():
        model = architecture(3).eval()
        with torch.no_grad():
            out = model(x)
        last = out[-1] if isinstance(out, (list, tuple)) else out
        assert last.shape == (1, 3, 16, 16), name


def test_the_table_has_every_requested_architecture_with_sane_columns(tiny_comparison):
    rows = tiny_comparison.rows
    assert [r.name for r in rows] == ["SmallSegNet", "UNet++", "FCN-32s"]
    for r in rows:
        cost = model_cost(ARCHITECTURES[r.name](tiny_comparison.settings["num_classes"]), (3, 16, 16))
        assert (r.parameters, r.trainable, r.flops) == (cost.parameters, cost.trainable, cost.flops)
        assert r.flops > 0 and r.latency_ms > 0 and r.train_seconds > 0
        assert 0.0 <= r.miou <= 1.0 and (0.0 <= r.boundary_f1 <= 1.0 or math.isnan(r.boundary_f1))
    fcn32 = rows[2]
    assert fcn32.trainable < fcn32.parameters  # FCN's final bilinear upsampling is frozen
    table = tiny_comparison.to_markdown()
    assert table.count("\n") == 2 + len(rows) - 1 and all(f"| {r.name} |" in table for r in rows)
    assert tiny_comparison.settings["dataset"] == "scenes"
    assert tiny_comparison.column("miou") == {r.name: r.miou for r in rows}


def test_accuracy_columns_repeat_exactly_for_a_fixed_seed(tiny_comparison):
    again = compare_architectures(["SmallSegNet", "UNet++", "FCN-32s"], **TINY)
    for a, b in zip(tiny_comparison.rows, again.rows):
        assert (a.miou, a.boundary_f1, a.parameters, a.flops) == (b.miou, b.boundary_f1, b.parameters, b.flops)


def test_the_same_initial_weights_and_batches_for_every_call_order():
    alone = compare_architectures(["FCN-8s"], **TINY).rows[0]
    second = compare_architectures(["SmallSegNet", "FCN-8s"], **TINY).rows[1]
    assert (alone.miou, alone.boundary_f1) == (second.miou, second.boundary_f1)


def test_foreground_target_merges_every_object_class_and_keeps_ignored_pixels():
    masks = torch.tensor([[[0, 1, 2], [3, 4, 255]]])
    assert foreground_target(masks).tolist() == [[[0, 1, 1], [1, 1, 255]]]
    assert foreground_target(masks, ignore_index=None).tolist() == [[[0, 1, 1], [1, 1, 1]]]
    assert foreground_target(masks[0]).shape == (2, 3)
    with pytest.raises(TypeError, match="masks"):
        foreground_target(masks.float())


def test_the_foreground_target_trains_two_class_models_on_the_same_images():
    result = compare_architectures(["SmallSegNet"], target="foreground", **TINY)
    row, settings = result.rows[0], result.settings
    assert settings["num_classes"] == 2 and settings["target"] == "foreground"
    assert row.parameters == model_cost(ARCHITECTURES["SmallSegNet"](2), (3, 16, 16)).parameters
    five = model_cost(ARCHITECTURES["SmallSegNet"](5), (3, 16, 16)).parameters
    assert row.parameters < five  # the head has 2 output channels, not 5


def test_unknown_names_are_refused_with_the_list_of_names():
    with pytest.raises(ValueError, match=r"unknown architecture name\(s\) \['VGG'\].*UNet\+\+"):
        compare_architectures(["UNet", "VGG"], **TINY)
    with pytest.raises(TypeError, match="list of architecture names"):
        compare_architectures("UNet", **TINY)
    with pytest.raises(ValueError, match="duplicates"):
        compare_architectures(["UNet", "UNet"], **TINY)


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("size", 4, "size"),
        ("epochs", 0, "epochs"),
        ("lr", 0.0, "lr"),
        ("dataset", "mnist", "dataset"),
        ("loss", "focal", "loss"),
        ("target", "objects", "target must be one of 'classes', 'foreground'"),
    ],
)
def test_a_bad_budget_is_refused(option, value, message):
    with pytest.raises(ValueError, match=message):
        compare_architectures(["SmallSegNet"], **{**TINY, option: value})


@pytest.mark.parametrize(
    "costs, scores, front",
    [
        ([1, 2, 3, 4], [0.5, 0.4, 0.7, 0.7], [0, 2]),
        ([3, 1, 2], [0.9, 0.1, 0.5], [1, 2, 0]),  # sorted by cost, not by position
        ([1, 1], [0.5, 0.5], [0, 1]),  # equal points: neither dominates
        ([1, 1], [0.5, 0.6], [1]),  # same cost, better score
    ],
)
def test_pareto_front_keeps_exactly_the_undominated_points(costs, scores, front):
    assert pareto_front(costs, scores) == front


def test_plot_comparison_labels_every_point_on_a_log_axis(tiny_comparison):
    import matplotlib.pyplot as plt

    fig = plot_comparison(tiny_comparison, x="parameters", y="boundary_f1")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_title() and "parameters" in ax.get_xlabel()
    assert "boundary F1" in ax.get_ylabel()
    assert {t.get_text() for t in ax.texts} == {r.name for r in tiny_comparison.rows}
    plt.close(fig)
    with pytest.raises(ValueError, match="x must be one of"):
        plot_comparison(tiny_comparison, x="miou")
    with pytest.raises(TypeError, match="Comparison"):
        plot_comparison(tiny_comparison.rows)


def test_the_command_line_writes_the_table_and_the_figure(tmp_path, capsys):
    table, figure = tmp_path / "table.md", tmp_path / "fig.png"
    code = main(
        [
            "--names",
            "SmallSegNet",
            "FCN-8s",
            "--epochs",
            "1",
            "--train-images",
            "8",
            "--val-images",
            "2",
            "--size",
            "16",
            "--device",
            "cpu",
            "--quiet",
            "--out",
            str(table),
            "--figure",
            str(figure),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "| SmallSegNet |" in printed and "| FCN-8s |" in printed and "Data: scenes" in printed
    assert table.read_text().startswith("| architecture |") and "target classes (5 classes" in printed
    assert figure.stat().st_size > 1000 and figure.read_bytes()[:4] == b"\x89PNG"


def test_the_command_line_passes_the_target_on(capsys):
    main(
        [
            "--names",
            "SmallSegNet",
            "--target",
            "foreground",
            "--epochs",
            "1",
            "--train-images",
            "4",
            "--val-images",
            "2",
            "--size",
            "16",
            "--device",
            "cpu",
            "--quiet",
        ]
    )
    assert "target foreground (2 classes" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--names", "VGG"], "unknown architecture"),
        (["--epochs", "0"], "--epochs must be >= 1"),
        (["--size", "abc"], "invalid int value"),
        (["--dataset", "mnist"], "invalid choice: --dataset must be one of 'scenes', 'cells', "),
        (["--dataset", "folder:"], "--dataset 'folder:' names no folder"),
        (["--dataset", "folder:/no/such/folder"], "--dataset folder:/no/such/folder: /no/such/folder is not a folder"),
        (["--lr", "-1"], "--lr must be > 0"),
        (["--target", "objects"], "invalid choice"),
    ],
)
def test_the_command_line_refuses_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.fixture
def own_folder(tmp_path):
    """Six images of the reader's own (16 x 16, classes 0-2 and an ignored pixel): 5 train, 1 val."""
    return write_folder(tmp_path / "mine", indexed(6))


def test_the_comparison_trains_on_the_reader_s_own_folder(own_folder):
    result = compare_architectures(["SmallSegNet"], **{**TINY, "dataset": f"folder:{own_folder}", "val_images": 1})
    settings = result.settings
    assert settings["dataset"] == f"folder:{own_folder}" and settings["num_classes"] == 3
    assert (settings["train_images"], settings["val_images"]) == (4, 1)
    assert 0.0 <= result.rows[0].miou <= 1.0
    with pytest.raises(ValueError, match="dataset 'folder:' names no folder"):
        compare_architectures(["SmallSegNet"], **{**TINY, "dataset": "folder:"})


def test_the_command_line_trains_on_a_folder_using_all_its_images_by_default(own_folder, capsys):
    argv = ["--names", "SmallSegNet", "--dataset", f"folder:{own_folder}", "--epochs", "1", "--size", "16"]
    assert main([*argv, "--device", "cpu", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"Data: folder:{own_folder}, target classes (3 classes; 5 training and 1 validation images" in printed
    assert "| SmallSegNet |" in printed


@pytest.mark.parametrize(
    "option, message",
    [
        ("--train-images", "--train-images 6, but the train split of folder:{} holds 5 images: pass --train-images 5"),
        ("--val-images", "--val-images 6, but the val split of folder:{} holds 1 image: pass --val-images 1"),
    ],
)
def test_the_command_line_refuses_more_images_than_the_folder_holds(own_folder, capsys, option, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["--names", "SmallSegNet", "--dataset", f"folder:{own_folder}", option, "6"])
    assert exit_info.value.code == 2 and message.format(own_folder) in capsys.readouterr().err


def test_the_command_line_names_the_file_a_folder_lacks(own_folder, capsys):
    (own_folder / "masks" / "img_03.png").unlink()
    with pytest.raises(SystemExit) as exit_info:
        main(["--names", "SmallSegNet", "--dataset", f"folder:{own_folder}"])
    assert exit_info.value.code == 2 and "img_03.png has no mask: expected" in capsys.readouterr().err
