"""Small counts are shown as "<k", with the open zone's k (persons and entities)."""

from __future__ import annotations

from govlake.cockpit.suppression import cockpit_k, display, is_suppressed
from govlake.opendata.definitions import load_open_registry
from govlake.settings import Settings


def test_below_k_shows_less_than_k() -> None:
    assert is_suppressed(3, 5) and display(3, suppressed=True, k=5) == "<5"
    assert is_suppressed(0, 5)  # the open zone withholds an empty cell as well
    assert not is_suppressed(5, 5) and display(5, suppressed=False, k=5) == "5"
    assert display(123456.0) == "123,456" and display(12.345, digits=2) == "12.35"
    assert display(None) == "—"


def test_k_is_the_open_zones() -> None:
    settings = Settings()
    persons, entities = cockpit_k(settings)
    registry = load_open_registry()
    assert persons == registry.get("population-by-county-gender-age").k_for(settings.open_k_anonymity)
    assert entities == registry.get("legal-entities-by-county-industry-status-year").k_for(
        settings.open_k_anonymity
    )
