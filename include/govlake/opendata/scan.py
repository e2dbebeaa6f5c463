"""The release gate: every file of a release is scanned before anything is uploaded.

Two checks, either blocks the whole release:

* identifiers in any file — resident IDs (valid GB 11643 check character), mobile numbers and bank card
  numbers (Luhn), found by ``govlake.policy.leak_scan`` in CSV/JSON text and Parquet values alike;
* items in any data file that the open type does not allow — each column a file carries is looked up in
  the release's item grades (from the registry and catalog classification); a direct identifier, a grade
  above the allowance, or a column nobody classified (fail closed) blocks.
"""

from __future__ import annotations

from collections.abc import Mapping

from govlake.opendata.definitions import ItemGrade, grade_violations
from govlake.opendata.release_files import DATA_FILES, Content, published_columns
from govlake.policy.leak_scan import Leak, scan_release


class ReleaseBlocked(RuntimeError):
    """The release carries an identifier or an item its open type does not allow; nothing was uploaded."""

    def __init__(self, dataset: str, leaks: list[Leak], problems: list[str]):
        self.dataset, self.leaks, self.problems = dataset, leaks, problems
        found = [str(leak) for leak in leaks[:10]] + problems[:10]
        more = len(leaks) + len(problems) - len(found)
        super().__init__(
            f"open release of {dataset} blocked: {'; '.join(found)}{f' (and {more} more)' if more else ''}. "
            "Fix the definition in config/open_datasets.yaml or the library, then re-run the release."
        )


def item_problems(files: Mapping[str, Content], grades: Mapping[str, ItemGrade], open_type: str) -> list[str]:
    problems: list[str] = []
    for name, data in files.items():
        if name not in DATA_FILES:
            continue
        carried = published_columns(name, data)
        unknown = [c for c in carried if c not in grades]
        problems += [
            f"{name}: column {c} has no classification (not in the data dictionary)" for c in unknown
        ]
        problems += [
            f"{name}: {p}"
            for p in grade_violations(open_type, {c: grades[c] for c in carried if c in grades})
        ]
    return problems


def scan_files(
    dataset: str, files: Mapping[str, Content], grades: Mapping[str, ItemGrade], open_type: str
) -> None:
    """Raise ReleaseBlocked naming every file, row/line and column that may not be published."""
    leaks = scan_release(files)
    problems = item_problems(files, grades, open_type)
    if leaks or problems:
        raise ReleaseBlocked(dataset, leaks, problems)
