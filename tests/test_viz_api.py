"""segbook.viz's public names: every figure and widget of its topic modules is re-exported by the package."""

import ast
import importlib
import inspect
import pkgutil

import pytest

import segbook.viz

TOPIC_MODULES = sorted(
    info.name for info in pkgutil.iter_modules(segbook.viz.__path__) if not info.name.startswith("_")
)


def public_definitions(module):
    """Public functions, classes and constants written in ``module`` itself (not imported into it)."""
    names = set()
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if not name.startswith("_")}


def test_the_topic_modules_are_the_ones_the_package_docstring_maps():
    assert TOPIC_MODULES  # the package is split into topic modules
    for name in TOPIC_MODULES:
        assert f":mod:`.{name}`" in segbook.viz.__doc__, f"segbook.viz's docstring does not map viz.{name}"


@pytest.mark.parametrize("name", TOPIC_MODULES)
def test_every_public_figure_and_widget_is_exported(name):
    module = importlib.import_module(f"segbook.viz.{name}")
    assert "chapter" in module.__doc__.lower(), f"viz.{name}'s docstring must name its chapter"
    defined = public_definitions(module)
    assert defined, f"viz.{name} defines no public figure"
    assert set(module.__all__) == defined, f"viz.{name}.__all__ differs from what it defines"
    missing = defined - set(segbook.viz.__all__)
    assert not missing, f"segbook.viz.__all__ lacks {sorted(missing)} (from viz.{name})"
    for public in defined:
        assert getattr(segbook.viz, public) is getattr(module, public)


def test_every_listed_name_resolves_once():
    assert len(segbook.viz.__all__) == len(set(segbook.viz.__all__))
    for name in segbook.viz.__all__:
        assert hasattr(segbook.viz, name), f"segbook.viz.__all__ lists {name!r} but segbook.viz has no such name"


def test_the_model_probes_the_chapters_call_through_viz_are_the_models_ones():
    from segbook.models import probes

    assert segbook.viz.unet_feature_sizes is probes.unet_feature_sizes
    assert segbook.viz.fcn_logits_with_skip_weight is probes.fcn_logits_with_skip_weight
