"""``python -m segbook.compare``: the comparison's command line (:func:`segbook.compare.cli.main`)."""

import sys

from segbook.compare.cli import main

if __name__ == "__main__":
    sys.exit(main())
