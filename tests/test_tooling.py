"""The project's tooling stays wired up: lint settings, the lint extra, the scripts that run the checks, the CI jobs
and the git hooks. Each test names the file to fix when it fails."""

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / "tools"

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")


@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _requirement_names(requirements):
    return {re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower() for requirement in requirements}


def _commands(path: Path):
    """The lines of a shell script or recipe that are not comments, stripped."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _index(lines, pattern: str) -> int:
    """The index of the first line matching ``pattern``; fails naming the pattern when there is none."""
    for index, line in enumerate(lines):
        if re.search(pattern, line):
            return index
    pytest.fail(f"no line matches {pattern!r}")


# --------------------------------------------------------------------------------------- pyproject.toml


def test_ruff_formats_at_120_columns_and_lints_the_agreed_rules(pyproject):
    ruff = pyproject["tool"]["ruff"]
    assert ruff["line-length"] == 120, "pyproject.toml [tool.ruff]: the book's code is formatted at 120 columns"
    assert {"E", "F", "I", "B"} <= set(ruff["lint"]["select"])


def test_mypy_checks_the_lower_layers(pyproject):
    files = pyproject["tool"]["mypy"]["files"]
    for layer in ("src/segbook/conventions", "src/segbook/models", "src/segbook/losses", "src/segbook/metrics"):
        assert any(f.rstrip("/") == layer for f in files), f"pyproject.toml [tool.mypy] files lost {layer}"
    missing = [f for f in files if not (REPO / f).exists()]
    assert not missing, f"pyproject.toml [tool.mypy] files names paths that do not exist: {missing}"


def test_the_lint_extra_lists_the_linters(pyproject):
    extras = pyproject["project"]["optional-dependencies"]
    assert {"ruff", "mypy", "pre-commit"} <= _requirement_names(extras["lint"])


# --------------------------------------------------------------------------------------- scripts and make


def test_env_installs_the_lint_extra_with_the_book_and_test_extras():
    installs = [line for line in _commands(TOOLS / "env.sh") if "pip install" in line and " -e " in line]
    assert len(installs) == 1, "tools/env.sh: one editable install of segbook expected"
    extras = re.search(r"\[([a-z,\- ]+)\]", installs[0])
    assert extras, f"tools/env.sh installs no extras: {installs[0]}"
    assert {"book", "test", "lint"} <= {e.strip() for e in extras.group(1).split(",")}


def test_lint_script_runs_ruff_format_check_and_mypy():
    lines = _commands(TOOLS / "lint.sh")
    for pattern in (r"ruff check \.", r"ruff format --check \.", r"\.venv/bin/mypy\s*$", r"check_notebook_outputs\.py"):
        _index(lines, pattern)


def _fake_repo(tmp_path: Path, failing: str = "") -> Path:
    """A copy of tools/lint.sh and tools/env.sh beside a .venv of fake tools that log their calls; the tool named
    ``failing`` exits 1. The install stamp matches pyproject.toml, so env.sh installs nothing."""
    (tmp_path / "tools").mkdir()
    for name in ("lint.sh", "env.sh"):
        (tmp_path / "tools" / name).write_text((TOOLS / name).read_text(encoding="utf-8"))
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("python", "ruff", "mypy"):
        status = 1 if tool == failing else 0
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{tmp_path}/calls.log"\nexit {status}\n')
        (bin_dir / tool).chmod(0o755)
    digest = subprocess.run(["sha256sum", str(tmp_path / "pyproject.toml")], capture_output=True, text=True)
    (tmp_path / ".venv" / ".segbook-installed").write_text(digest.stdout.split()[0] + "\n")
    return tmp_path


@pytest.mark.parametrize("failing", ["", "ruff", "mypy", "python"])
def test_lint_script_runs_every_check_and_fails_when_one_fails(tmp_path, failing):
    repo = _fake_repo(tmp_path, failing)
    result = subprocess.run(["bash", str(repo / "tools" / "lint.sh")], capture_output=True, text=True, check=False)
    calls = (repo / "calls.log").read_text().splitlines()
    assert [call.split()[0] for call in calls] == ["ruff", "ruff", "mypy", "python"], calls
    assert calls[:2] == ["ruff check .", "ruff format --check ."]
    assert result.returncode == (1 if failing else 0), result.stderr
    if failing:
        assert f"FAILED: .venv/bin/{failing}" in result.stderr


def test_test_script_runs_the_lint_step_before_the_build_and_pytest():
    lines = _commands(TOOLS / "test.sh")
    lint = _index(lines, r"^bash tools/lint\.sh\b")
    assert lint < _index(lines, r"tools/build_book\.sh"), "tools/test.sh: lint first, before the long site build"
    assert lint < _index(lines, r"-m pytest\b")


def _make_targets():
    """``{target: (its '##' help lines, [prerequisites, recipe lines...])}`` parsed from the Makefile."""
    targets, comments, current = {}, [], None
    for line in (REPO / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("\t"):
            if current:
                targets[current][1].append(line.strip())
            continue
        current = None
        if line.startswith("##"):
            comments.append(line)
            continue
        match = re.match(r"^([a-z][\w-]*):(.*)$", line)
        if match:
            current = match.group(1)
            targets[current] = (comments, [match.group(2).strip()])
        comments = []
    return targets


def test_make_lint_runs_the_lint_script_and_is_documented():
    targets = _make_targets()
    assert "lint" in targets, "Makefile: no lint target"
    comments, recipe = targets["lint"]
    assert any(line.startswith("## lint:") for line in comments), "Makefile: document lint with a '## lint:' line"
    assert "bash tools/lint.sh" in recipe


def test_make_fast_lints_then_runs_the_tests_without_the_site():
    comments, recipe = _make_targets()["fast"]
    assert any(line.startswith("## fast:") for line in comments)
    assert recipe[0].split() == ["lint"], "Makefile: fast depends on lint"
    command = " ".join(recipe[1:])
    assert "-m pytest" in command and "--ignore=tests/test_site.py" in command


# --------------------------------------------------------------------------------------- CI


@pytest.fixture(scope="module")
def workflow():
    return yaml.safe_load((REPO / ".github" / "workflows" / "tests.yml").read_text(encoding="utf-8"))


def _runs(job):
    return [step["run"] for step in job["steps"] if "run" in step]


def test_the_fast_job_runs_on_python_3_11_and_colabs_3_12(workflow):
    fast = workflow["jobs"]["fast"]
    versions = {str(v) for v in fast["strategy"]["matrix"]["python-version"]}
    assert {"3.11", "3.12"} <= versions
    setup = next(step for step in fast["steps"] if step.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "${{ matrix.python-version }}", "the matrix must reach setup-python"
    assert any(run.strip() == "make fast" for run in _runs(fast))


def test_the_full_job_needs_the_fast_one_and_still_runs_ci_run(workflow):
    full = workflow["jobs"]["test"]
    needs = full.get("needs", [])
    assert "fast" in ([needs] if isinstance(needs, str) else needs), "tests.yml: the full job must need `fast`"
    assert any(run.strip() == "bash .ci/run" for run in _runs(full))
    assert "make test" in _commands(REPO / ".ci" / "run")


# --------------------------------------------------------------------------------------- pre-commit


@pytest.fixture(scope="module")
def hooks():
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def test_pre_commit_has_the_lint_hooks(hooks):
    assert {"ruff", "ruff-format", "mypy", "notebook-outputs"} <= set(hooks)
    assert hooks["ruff-format"]["entry"].split()[:2] == [".venv/bin/ruff", "format"]
    assert hooks["ruff"]["entry"].split()[:2] == [".venv/bin/ruff", "check"]
    assert hooks["mypy"].get("pass_filenames") is False, "mypy checks the configured files, as make lint does"


def test_pre_commit_local_hooks_call_tools_the_lint_extra_installs(hooks, pyproject):
    installed = _requirement_names(pyproject["project"]["optional-dependencies"]["lint"]) | {"python"}
    for hook_id, hook in hooks.items():
        if hook.get("language") != "system":
            continue
        program, *arguments = shlex.split(hook["entry"])
        assert program.startswith(".venv/bin/") and program.rsplit("/", 1)[1] in installed, (hook_id, program)
        scripts = [a for a in arguments if a.endswith(".py")]
        assert all((REPO / script).is_file() for script in scripts), (hook_id, scripts)


# --------------------------------------------------------------------------------------- the notebook check


def _notebook(path: Path, *, outputs=(), execution_count=None):
    cell = {"cell_type": "code", "metadata": {}, "source": "1 + 1", "outputs": list(outputs)}
    cell["execution_count"] = execution_count
    markdown = {"cell_type": "markdown", "metadata": {}, "source": "# A"}
    path.write_text(json.dumps({"cells": [markdown, cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def _check(*paths):
    command = [sys.executable, str(TOOLS / "check_notebook_outputs.py"), *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_notebook_check_refuses_outputs_and_execution_counts_naming_the_cell(tmp_path):
    clean = _notebook(tmp_path / "clean.ipynb")
    output = {"output_type": "stream", "name": "stdout", "text": "2\n"}
    with_output = _notebook(tmp_path / "output.ipynb", outputs=[output])
    counted = _notebook(tmp_path / "counted.ipynb", execution_count=1)
    assert _check(clean).returncode == 0
    for dirty in (with_output, counted):
        result = _check(clean, dirty)
        assert result.returncode == 1
        assert f"{dirty}: cells [1] have stored outputs" in result.stderr


def test_notebook_check_reports_a_file_that_is_not_a_notebook(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    result = _check(broken)
    assert result.returncode == 1 and "cannot read it as a notebook" in result.stderr


# ---------------------------------------------------------------- installing and reading locally (README)
def _readme_install_lines():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"pip install -e '\.\[([a-z,]+)\]'", text)


def test_the_readme_installs_only_extras_that_pyproject_defines(pyproject):
    extras = pyproject["project"]["optional-dependencies"]
    found = _readme_install_lines()
    assert found, "README.md: no `pip install -e '.[...]'` line for reading the book locally"
    for group in found:
        for extra in group.split(","):
            assert extra in extras, f"README.md installs the extra {extra!r}, which pyproject.toml does not define"


def test_the_read_extra_brings_jupyterlab_a_kernel_and_chapter_12s_libraries(pyproject):
    read = pyproject["project"]["optional-dependencies"]["read"]
    names = _requirement_names(read)
    assert {"jupyterlab", "ipykernel"} <= names, f"pyproject.toml [read] lacks JupyterLab or ipykernel: {read}"
    assert "hust-segbook" in names and any("[practice]" in r for r in read), "the read extra must include practice"


def test_env_sh_installs_the_read_extra_so_the_readme_commands_work_in_the_venv():
    assert re.search(r"\[book,test,lint,read\]", (TOOLS / "env.sh").read_text(encoding="utf-8"))
    jupyter = Path(sys.executable).parent / "jupyter-lab"
    if not jupyter.exists():
        pytest.skip(f"{jupyter} not installed in this environment (installed by tools/env.sh)")
    result = subprocess.run([str(jupyter), "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and re.match(r"\d+\.", result.stdout.strip()), result.stderr


def test_the_distribution_name_is_not_the_unrelated_pypi_project(pyproject):
    import segbook

    assert pyproject["project"]["name"] == segbook.DISTRIBUTION == "hust-segbook"
