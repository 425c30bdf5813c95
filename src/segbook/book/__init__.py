"""Tools that build the book, not used by its readers: Colab stamping, the Colab edition, student notebooks."""
