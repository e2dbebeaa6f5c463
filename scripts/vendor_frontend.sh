#!/usr/bin/env bash
# Refresh the portal's vendored front-end files (no CDN, no build step).
#
# Each package is fetched at a pinned version with `npm pack` (npm checks the tarball against the
# registry's integrity hash), and only the built files the portal loads are copied, with the package's
# licence files, into include/govlake/web/static/vendor/<name>/. VERSIONS.txt records what was copied.
# To upgrade: change a pin below, run `bash scripts/vendor_frontend.sh`, check the pages, commit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/include/govlake/web/static/vendor"

# name@version  destination-folder  files to copy (paths inside the package)
PACKAGES=(
  "htmx.org@2.0.11|htmx|dist/htmx.min.js LICENSE"
  "echarts@6.1.0|echarts|dist/echarts.min.js LICENSE NOTICE"
  "cytoscape@3.34.4|cytoscape|dist/cytoscape.min.js LICENSE"
  # cytoscape-dagre 4 bundles @dagrejs/dagre 3.0.0 into its dist file (no separate dagre script needed);
  # the dagre entry below only brings that bundled code's licence.
  "cytoscape-dagre@4.0.1|cytoscape-dagre|dist/cytoscape-dagre.min.js LICENSE"
  "@dagrejs/dagre@3.0.0|dagre|LICENSE"
  "swagger-ui-dist@5.36.0|swagger-ui|swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE NOTICE"
)

command -v npm >/dev/null || { echo "npm is needed to refresh the vendored files" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$VENDOR"
{
  echo "# Vendored front-end files: package@version, integrity (from npm pack), files"
  echo "# Written by scripts/vendor_frontend.sh; do not edit by hand."
} >"$WORK/VERSIONS.txt"

for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r spec dest files <<<"$entry"
  (cd "$WORK" && npm pack --silent --json "$spec" >"$WORK/pack.json")
  tarball="$WORK/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["filename"])' "$WORK/pack.json")"
  integrity="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["integrity"])' "$WORK/pack.json")"
  rm -rf "$WORK/pkg" && mkdir "$WORK/pkg"
  tar xzf "$tarball" -C "$WORK/pkg"
  rm -rf "${VENDOR:?}/$dest" && mkdir -p "$VENDOR/$dest"
  for f in $files; do
    cp "$WORK/pkg/package/$f" "$VENDOR/$dest/$(basename "$f")"
  done
  echo "$spec $integrity -> $dest/: $files" >>"$WORK/VERSIONS.txt"
  echo "vendored $spec into static/vendor/$dest/"
done
cp "$WORK/VERSIONS.txt" "$VENDOR/VERSIONS.txt"
