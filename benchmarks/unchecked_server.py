"""``server.py`` with every permission and schema check replaced by "allow": what the checks cost.

Only for ``benchmarks/load.py``; never a way to run a real server (there is no switch for it in
``server.py``). Same arguments as ``server.py``. The validate-before-apply trial merge still runs:
it is how the server learns what a message would change, whoever then judges it.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parent.parent
if str(ROOT_DIR) not in sys.path:
    sys.path.insert(0, str(ROOT_DIR))

import server  # noqa: E402
from syncd.core.policy import AllowAll  # noqa: E402

if __name__ == "__main__":
    server.main(policy=AllowAll())
