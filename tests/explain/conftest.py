"""The explainer's tests share ``explain_kit`` (graders whose attributions are known)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
