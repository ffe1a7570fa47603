"""Fixtures shared by every test package."""

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (real reference data); skips where it is absent.

    Tests that use it are marked ``@pytest.mark.shared_data`` so they can be selected or left out.
    """
    if not SHARED_DATA.is_dir():
        pytest.skip(
            "../shared/data not found beside the checkout "
            "(reference data is only on the developers' and CI machines)"
        )
    return SHARED_DATA.resolve()
