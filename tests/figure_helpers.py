"""Helpers for the tests of segbook's drawings (architecture figures built from matplotlib patches)."""

from collections import Counter


def patch_counts_by_gid(fig) -> Counter:
    """How many patches of the figure's first axes carry each gid (the drawings tag nodes, arrows, heads ...)."""
    return Counter(patch.get_gid() for patch in fig.axes[0].patches)


COLUMN_INCHES = 7.0  # the book's text column: about 690 px at the inline backend's 100 dpi
MIN_POINTS = 8.0  # the smallest label size: at least 9 px where the figure is shown at its natural size


def visible_texts(fig) -> list:
    """Every visible, non-empty text of the figure: titles, axis and tick labels, legends, annotations."""
    import matplotlib.text

    return [text for text in fig.findobj(matplotlib.text.Text) if text.get_visible() and text.get_text().strip()]


def assert_fits_the_column(fig) -> None:
    """The figure is at most COLUMN_INCHES wide and none of its texts is smaller than MIN_POINTS."""
    assert fig.get_figwidth() <= COLUMN_INCHES + 1e-9, f"{fig.get_figwidth():.2f} in wide"
    texts = visible_texts(fig)
    assert texts, "the figure has no text"
    small = [(text.get_text()[:30], text.get_fontsize()) for text in texts if text.get_fontsize() < MIN_POINTS]
    assert not small, f"texts under {MIN_POINTS} pt: {small}"
