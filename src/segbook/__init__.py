"""segbook: the package every chapter of the book imports.

The folders are the book's layers, bottom first. A module imports its own layer and the layers below it, never
one above (``tests/test_package_layout.py`` checks it, and this map):

=====================  ========================================================================  ==========
layer                  what it holds                                                             chapters
=====================  ========================================================================  ==========
``conventions``        the ignore index, the shape letters N, C, K, H, W, the argument checks,   all
                       ``check_segmentation_inputs``, ``safe_divide``, ``evaluating(model)``
``env``                the device, the seeds, a report of the environment                        all
``data``               procedural scenes and touching cells, the real data sets and the          1-12
                       reader's own folder behind one interface (``SegmentationDataset``),
                       their verified download, ``load_dataset``
``ops``                operations built from scratch: output sizes, sliding window,              2-4, 7
                       convolutionalization, receptive field, unpooling, transposed convolution
``losses``             the losses by family: distribution, region, combined, boundary, the       5, 6, 8, 9
                       U-Net weight map, deep supervision, and their ``nn.Module`` wrappers
``metrics``            confusion matrix and its scores, boundary F1, instance separation,        1, 6, 8, 12
                       the decision-threshold sweep
``models``             FCN, U-Net, U-Net++, stacked and coupled U-Nets, their cost, and the      2, 3, 7-11
                       probes that run them for a figure
``training``           ``fit`` (schedules, callbacks, history), ``evaluate``, ``predict``        1-12
``compare``            chapter 11's comparison of every architecture, and its command line       11
``debugging``          runnable checks for a model that does not learn                           appendix
``notebook``           what a chapter needs around the code: ``glue``, ``show_source``           all
``viz``                figures and widgets, one module per chapter, each widget beside its       1-12
                       static figure
``exercises``          the checks of every chapter's exercises                                   1-12
``book``               tools that build the book, not used by readers: Colab badges and          --
                       edition, student notebooks, the site's Colab button
=====================  ========================================================================  ==========

Each package re-exports its public names: ``from segbook import losses; losses.soft_dice_loss(...)``.
"""

#: The name segbook is installed under (pip, ``importlib.metadata``): ``segbook`` on PyPI is an unrelated
#: project. The import name stays ``segbook``. pyproject.toml's ``[project] name`` is the same string.
DISTRIBUTION = "hust-segbook"
#: Where the book lives (pyproject.toml's ``[project.urls]``); named in the User-Agent of its downloads.
HOMEPAGE = "https://github.com/hust-soict/segbook"
