// A tiny PNG writer and line-plot raster for the bench's figure: RGB
// pixels, one IDAT compressed with node:zlib, CRC-32 computed here.

import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const BIT_DEPTH = 8, COLOR_RGB = 2;

export class Raster {
  constructor(width, height, background = [255, 255, 255]) {
    this.width = width;
    this.height = height;
    this.pixels = Buffer.alloc(width * height * 3);
    for (let i = 0; i < width * height; i++) this.pixels.set(background, i * 3);
  }

  set(x, y, rgb) {
    x = Math.round(x); y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.pixels.set(rgb, (y * this.width + x) * 3);
  }

  /** A line `thickness` pixels wide (Bresenham-like stepping along the longer axis). */
  line(x0, y0, x1, y1, rgb, thickness = 1) {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    const r = (thickness - 1) / 2;
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps, y = y0 + ((y1 - y0) * s) / steps;
      for (let dx = -r; dx <= r; dx++) for (let dy = -r; dy <= r; dy++) this.set(x + dx, y + dy, rgb);
    }
  }

  rect(x, y, w, h, rgb) {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.set(x + i, y + j, rgb);
  }

  /** Text in the 5×7 font below, `scale` pixels per font pixel; unknown characters are blank. */
  text(x, y, str, rgb, scale = 2) {
    for (const ch of str.toUpperCase()) {
      const glyph = FONT[ch];
      if (glyph) {
        for (let row = 0; row < 7; row++) {
          for (let col = 0; col < 5; col++) {
            if (glyph[row] & (1 << (4 - col))) this.rect(x + col * scale, y + row * scale, scale, scale, rgb);
          }
        }
      }
      x += 6 * scale;
    }
  }

  textWidth(str, scale = 2) { return str.length * 6 * scale; }

  png() {
    const stride = this.width * 3;
    const raw = Buffer.alloc((stride + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (stride + 1)] = 0; // filter: none
      this.pixels.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(this.width, 0);
    ihdr.writeUInt32BE(this.height, 4);
    ihdr[8] = BIT_DEPTH; ihdr[9] = COLOR_RGB; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
    return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
  }
}

/** 5×7 glyphs, one byte per row, bit 4 = leftmost column. */
const FONT = {
  '0': [14, 17, 19, 21, 25, 17, 14], '1': [4, 12, 4, 4, 4, 4, 14], '2': [14, 17, 1, 2, 4, 8, 31],
  '3': [31, 2, 4, 2, 1, 17, 14], '4': [2, 6, 10, 18, 31, 2, 2], '5': [31, 16, 30, 1, 1, 17, 14],
  '6': [6, 8, 16, 30, 17, 17, 14], '7': [31, 1, 2, 4, 8, 8, 8], '8': [14, 17, 17, 14, 17, 17, 14],
  '9': [14, 17, 17, 15, 1, 2, 12], '.': [0, 0, 0, 0, 0, 12, 12], ',': [0, 0, 0, 0, 12, 4, 8],
  '/': [1, 1, 2, 4, 8, 16, 16], '-': [0, 0, 0, 31, 0, 0, 0], '(': [2, 4, 8, 8, 8, 4, 2], ')': [8, 4, 2, 2, 2, 4, 8],
  ':': [0, 12, 12, 0, 12, 12, 0], '=': [0, 0, 31, 0, 31, 0, 0], '%': [24, 25, 2, 4, 8, 19, 3],
  A: [14, 17, 17, 31, 17, 17, 17], B: [30, 17, 17, 30, 17, 17, 30], C: [14, 17, 16, 16, 16, 17, 14],
  D: [28, 18, 17, 17, 17, 18, 28], E: [31, 16, 16, 30, 16, 16, 31], F: [31, 16, 16, 30, 16, 16, 16],
  G: [14, 17, 16, 23, 17, 17, 15], H: [17, 17, 17, 31, 17, 17, 17], I: [14, 4, 4, 4, 4, 4, 14],
  J: [7, 2, 2, 2, 2, 18, 12], K: [17, 18, 20, 24, 20, 18, 17], L: [16, 16, 16, 16, 16, 16, 31],
  M: [17, 27, 21, 21, 17, 17, 17], N: [17, 17, 25, 21, 19, 17, 17], O: [14, 17, 17, 17, 17, 17, 14],
  P: [30, 17, 17, 30, 16, 16, 16], Q: [14, 17, 17, 17, 21, 18, 13], R: [30, 17, 17, 30, 20, 18, 17],
  S: [15, 16, 16, 14, 1, 1, 30], T: [31, 4, 4, 4, 4, 4, 4], U: [17, 17, 17, 17, 17, 17, 14],
  V: [17, 17, 17, 17, 17, 10, 4], W: [17, 17, 17, 21, 21, 21, 10], X: [17, 17, 10, 4, 10, 17, 17],
  Y: [17, 17, 17, 10, 4, 4, 4], Z: [31, 1, 2, 4, 8, 16, 31],
};

/**
 * A panel with axes, ticks and labelled series.
 * series: [{ label, color, points: [[x, y], ...] }]
 */
export function plotPanel(r, box, { title, xMax, yMax, series, yFormat = String, xFormat = String }) {
  const AXIS = [60, 60, 60], GRID = [225, 225, 225];
  const { x, y, w, h } = box;
  r.text(x, y - 24, title, [0, 0, 0], 2);
  const TICKS = 5;
  for (let t = 0; t <= TICKS; t++) {
    const gy = y + h - (h * t) / TICKS;
    r.line(x, gy, x + w, gy, GRID);
    const label = yFormat((yMax * t) / TICKS);
    r.text(x - r.textWidth(label, 1) - 6, gy - 3, label, AXIS, 1);
    const gx = x + (w * t) / TICKS;
    r.line(gx, y + h, gx, y + h + 4, AXIS);
    const xl = xFormat((xMax * t) / TICKS);
    r.text(gx - r.textWidth(xl, 1) / 2, y + h + 8, xl, AXIS, 1);
  }
  r.line(x, y, x, y + h, AXIS);
  r.line(x, y + h, x + w, y + h, AXIS);
  let ly = y - 44;
  for (const s of series) {
    const px = (v) => x + (w * v) / xMax, py = (v) => y + h - (h * Math.min(v, yMax)) / yMax;
    for (let i = 1; i < s.points.length; i++) {
      r.line(px(s.points[i - 1][0]), py(s.points[i - 1][1]), px(s.points[i][0]), py(s.points[i][1]), s.color, 3);
    }
    for (const [vx, vy] of s.points) r.rect(px(vx) - 3, py(vy) - 3, 7, 7, s.color);
    r.rect(x + w - 200, ly, 14, 10, s.color);
    r.text(x + w - 180, ly - 2, s.label, [0, 0, 0], 2);
    ly += 18;
  }
}
