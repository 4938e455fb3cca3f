"""Where the experiment scripts find the repository and the shared data.

The shared data (../shared: netlists, reference costs) lies beside the
repository, as CI and the README lay it out; the environment variable
PLACER_SHARED names another folder (for a checkout or worktree elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PLACER_SHARED", ROOT.parent / "shared")).resolve()
ARIANE = SHARED / "netlists" / "ariane133_ng45"
