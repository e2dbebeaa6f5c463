"""Small counts on cockpit pages are shown the way the open-data zone publishes them: not at all.

The open zone withholds a count below k (``opendata.deidentify``: ``keep = n >= k``, the cell empty and
``suppressed = true``). The cockpit uses the same thresholds — the k of the open population dataset for
counts of persons, the k of the open market-entity dataset for counts of entities, both defaulting to
``GOVLAKE_OPEN_K_ANONYMITY`` — and shows a withheld count as "<k" (e.g. "<5"), so a leader knows there
is something without learning how few. A sum of money over fewer than k findings is withheld with it.
"""

from __future__ import annotations

from decimal import Decimal

from govlake.settings import Settings

PERSONS_DATASET = "population-by-county-gender-age"
ENTITIES_DATASET = "legal-entities-by-county-industry-status-year"


def cockpit_k(settings: Settings) -> tuple[int, int]:
    """(k for counts of persons, k for counts of entities), as the open zone applies them."""
    from govlake.opendata.definitions import OpenDataConfigError, load_open_registry

    default = settings.open_k_anonymity
    try:
        registry = load_open_registry()
        persons = registry.get(PERSONS_DATASET).k_for(default)
        entities = registry.get(ENTITIES_DATASET).k_for(default)
    except (OpenDataConfigError, FileNotFoundError):
        persons = entities = default
    return persons, entities


def is_suppressed(n: int | None, k: int | None) -> bool:
    """Withheld when the count is below k (as in the open zone; a zero is withheld too)."""
    return n is not None and k is not None and n < k


def display(
    value: float | int | Decimal | None, *, suppressed: bool = False, k: int | None = None, digits: int = 0
) -> str:
    """The text a page shows for a figure: "<k" when withheld, "—" when unknown, else grouped digits."""
    if suppressed:
        return f"<{k}" if k else "—"
    if value is None:
        return "—"
    number = float(value)
    if digits == 0 and number == int(number):
        return f"{int(number):,}"
    return f"{number:,.{digits or 2}f}"
