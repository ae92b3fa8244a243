"""``python -m aekit`` is the ``aekit`` command."""

import sys

from aekit.cli.main import main

sys.exit(main())
