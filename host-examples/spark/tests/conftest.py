"""The package under test is this directory's ``snowyowl_spark``; ``snowyowl`` is whichever Python
host is installed (``make test-spark`` puts today's in the venv)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
