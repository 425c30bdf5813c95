"""segbook."""
