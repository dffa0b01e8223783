"""The package under test is this folder's ``snowyowl_spark`` (and ``streams``, the test streams);
``snowyowl`` is whichever Python host is importable (``make test-spark`` sets that up)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
