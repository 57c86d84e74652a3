import pytest


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read English messages, whatever translations exist."""
    settings.LANGUAGE_CODE = "en"
