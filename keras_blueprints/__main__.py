"""``python -m keras_blueprints``: the ``blueprint`` command line."""

import sys

from keras_blueprints.cli import main

sys.exit(main())
