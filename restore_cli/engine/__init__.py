"""The restore engine: everything between a decoded image and a restored one.

Modules (imported directly, so that importing this package pulls in neither torch nor models):

* :mod:`restore_cli.engine.tiling`: tile plans, partition-of-unity blend windows and the official
  MambaIR 200 px partition (pure numpy);
* :mod:`restore_cli.engine.ensemble`: the x8 flip/transpose self-ensemble (torch).
"""

from __future__ import annotations
