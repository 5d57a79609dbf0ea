"""``python -m mlcicd.course``: run the course (see :mod:`mlcicd.course.run`)."""

import sys

from mlcicd.course.run import main

sys.exit(main())
