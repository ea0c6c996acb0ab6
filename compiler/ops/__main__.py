"""``python -m compiler.ops``: print docs/ops.md (the operator table) to stdout."""

from __future__ import annotations

import sys

from .costs import markdown

sys.stdout.write(markdown())
