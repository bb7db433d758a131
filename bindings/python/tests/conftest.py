"""Shared fixtures of the Python module's tests."""
import os
import shutil
import tempfile

import pytest


@pytest.fixture
def scratch():
    """A fresh directory under FREEZEFRAME_TEST_TMPDIR (CTest sets it), removed afterwards."""
    base = os.environ.get("FREEZEFRAME_TEST_TMPDIR")
    if base:
        os.makedirs(base, exist_ok=True)
    path = tempfile.mkdtemp(prefix="py-", dir=base)
    yield path
    shutil.rmtree(path, ignore_errors=True)
