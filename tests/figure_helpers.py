"""Helpers for the tests of segbook's drawings (architecture figures built from matplotlib patches)."""

from collections import Counter


def patch_counts_by_gid(fig) -> Counter:
    """How many patches of the figure's first axes carry each gid (the drawings tag nodes, arrows, heads ...)."""
    return Counter(patch.get_gid() for patch in fig.axes[0].patches)
