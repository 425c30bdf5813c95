# segbook: the two commands that do everything are `make book` and `make test`.
.PHONY: book test unit lint fast student handouts stamp colab bench bench-data env clean

## book: create .venv if needed, execute every notebook and build the website into _build/html
book:
	bash tools/build_book.sh

## test: build the site, then run every test (unit tests, nbval over every notebook, student notebooks, browser)
test:
	bash tools/test.sh

# The targets that execute notebooks run them without progress bars, as the site build (tools/build_book.sh) and
# tools/test.sh do: kernels inherit TQDM_DISABLE, which segbook.training.fit and tqdm >= 4.66 read.
unit fast bench: export TQDM_DISABLE = 1

## unit: the tests under tests/ without the site build and the browser test
unit: env
	.venv/bin/python -m pytest -n 2 --dist loadfile tests --ignore=tests/test_site.py

## lint: the static checks (tools/lint.sh): ruff check, ruff format --check (120 columns), mypy on the lower
## layers, chapters stored without outputs. `make test` runs it first. Fix formatting with .venv/bin/ruff format .
lint: env
	bash tools/lint.sh

## fast: what CI's fast job runs: lint, then the unit tests and doctests (no site build, no browser, no chapter
## executed; the tests that need the built site skip)
fast: lint
	.venv/bin/python -m pytest -n 2 --dist loadfile -p no:cacheprovider tests --ignore=tests/test_site.py \
		-k "not real_chapters"

## student: write student notebooks (solutions removed, outputs cleared) into student/, from the Colab edition when
## make book wrote it; their Colab badges open the published student versions (branch colab, folder student/)
student: env
	.venv/bin/python -m segbook.book.student --output student

## handouts: what make book publishes (needs the built site and _build/colab): the student notebooks into
## _build/colab/student (for the Colab branch) and _build/html/student, with segbook-student-notebooks.zip
handouts: env
	.venv/bin/python -m segbook.book.handouts

## colab: write the Colab edition (MyST as plain Markdown, the last build's glued numbers) into _build/colab
## (make book runs it; needs a built site for the glued values)
colab: env
	.venv/bin/python -m segbook.book.colab_edition

## stamp: write the Colab badge and setup cell, from _config.yml's repository, into every notebook
stamp: env
	.venv/bin/python -m segbook.book.colab

## bench: time every notebook (table for the README), the data generator, the from-scratch ops and the losses
## against plain PyTorch (bench_losses exits 1 if a loss is over 1.3x its plain equivalent)
bench: env
	.venv/bin/python benchmarks/bench_notebooks.py
	.venv/bin/python benchmarks/bench_data.py
	.venv/bin/python benchmarks/bench_upsampling.py
	.venv/bin/python benchmarks/bench_sliding_window.py
	.venv/bin/python benchmarks/bench_losses.py

bench-data: env
	.venv/bin/python benchmarks/bench_data.py

env:
	bash tools/env.sh

clean:
	rm -rf _build student
