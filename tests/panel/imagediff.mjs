// Screenshot comparison that is independent of size and tolerant of
// anti-aliasing: both images are reduced to a grid of mean colours, then
// compared cell by cell (max channel difference, 0-255).
import { PNG } from 'pngjs';

/** Mean colour of each cell of a grid laid over the image (size-independent fingerprint). */
export function grid(pngBuffer, cols = 48, rows = 30) {
  const img = PNG.sync.read(pngBuffer);
  const out = new Float64Array(cols * rows * 3);
  const count = new Float64Array(cols * rows);
  for (let y = 0; y < img.height; y++) {
    const gy = Math.min(rows - 1, Math.floor((y / img.height) * rows));
    for (let x = 0; x < img.width; x++) {
      const gx = Math.min(cols - 1, Math.floor((x / img.width) * cols));
      const i = (y * img.width + x) * 4;
      const c = gy * cols + gx;
      out[c * 3] += img.data[i];
      out[c * 3 + 1] += img.data[i + 1];
      out[c * 3 + 2] += img.data[i + 2];
      count[c]++;
    }
  }
  for (let c = 0; c < cols * rows; c++) {
    for (let k = 0; k < 3; k++) {
      out[c * 3 + k] /= Math.max(1, count[c]);
    }
  }
  return { cells: out, width: img.width, height: img.height };
}

export function compare(a, b) {
  let sum = 0;
  let bad = 0;
  for (let c = 0; c < a.cells.length / 3; c++) {
    let d = 0;
    for (let k = 0; k < 3; k++) {
      d = Math.max(d, Math.abs(a.cells[c * 3 + k] - b.cells[c * 3 + k]));
    }
    sum += d;
    if (d > 40) {
      bad++;
    }
  }
  const n = a.cells.length / 3;
  return { meanDiff: sum / n, badCells: bad / n };
}

export function variance(g) {
  const n = g.cells.length;
  let mean = 0;
  for (const v of g.cells) {
    mean += v / n;
  }
  let v2 = 0;
  for (const v of g.cells) {
    v2 += (v - mean) ** 2 / n;
  }
  return v2;
}
