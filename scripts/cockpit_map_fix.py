"""Check a map's features against the division reference and fix what changed since the map was drawn.

Usage: python scripts/cockpit_map_fix.py <in.geojson> <out.geojson>
Each feature's id must be a GB/T 2260 code of include/govlake/cockpit/data/divisions.csv and its name
that code's name; a feature under a former name or code (黔西县 520522 became 黔西市 520581 in 2021) is
renamed to the current one. Anything else unknown stops the script with the feature named.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

DIVISIONS = Path(__file__).resolve().parents[1] / "include/govlake/cockpit/data/divisions.csv"
RENAMED = {"520522": "520581"}  # 黔西县 -> 黔西市 (国函〔2021〕42号)


def main(source: str, target: str) -> None:
    with DIVISIONS.open(encoding="utf-8") as f:
        names = {r["code"]: r["name"] for r in csv.DictReader(f)}
    doc = json.loads(Path(source).read_text(encoding="utf-8"))
    for feature in doc["features"]:
        code = RENAMED.get(str(feature["id"]), str(feature["id"]))
        if code not in names:
            sys.exit(
                f"{source}: feature {feature['id']} {feature['properties'].get('name')} is not a known division"
            )
        if feature["properties"].get("name") != names[code] or feature["id"] != code:
            print(f"  {feature['id']} {feature['properties'].get('name')} -> {code} {names[code]}")
        feature["id"] = code
        feature["properties"] = {"name": names[code], "code": code, "cp": feature["properties"].get("cp")}
    Path(target).write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:3])
