"""The examples in the compiler's docstrings are true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["compiler", "compiler.importer", "compiler.lowering", "compiler.passes", "compiler.ops.shapes",
           "compiler.ops.dtypes", "compiler.zoo"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
