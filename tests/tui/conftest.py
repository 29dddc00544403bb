"""Fixtures of the TUI tests; the data and app builders are in tuidata.py."""
from __future__ import annotations

import pytest

from tuidata import make_app, make_entries


@pytest.fixture
def entries():
    return make_entries()


@pytest.fixture
def app_factory():
    return make_app
