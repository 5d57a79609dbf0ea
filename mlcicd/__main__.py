"""``python -m mlcicd`` is the ``mlcicd`` command."""

import sys

from mlcicd.cli import main

sys.exit(main())
