/**
 * A small SVG line chart (no dependencies): throughput against requests in flight, one line per
 * server. X values are spaced evenly (1, 16, 64 are categories, not a linear scale).
 */
export interface Series { name: string; ys: number[] }

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function lineChart(opts: { title: string; xLabel: string; yLabel: string; xs: number[]; series: Series[] }): string {
  // The right margin holds the legend: names up to ~30 characters.
  const [w, h, left, right, top, bottom] = [760, 360, 70, 230, 40, 50];
  const max = Math.max(1, ...opts.series.flatMap((s) => s.ys));
  const step = 10 ** Math.floor(Math.log10(max));
  const yMax = Math.ceil(max / step) * step;
  const x = (i: number) => left + (opts.xs.length === 1 ? 0 : (i * (w - left - right)) / (opts.xs.length - 1));
  const y = (v: number) => h - bottom - (v / yMax) * (h - top - bottom);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`];
  out.push(`<rect width="${w}" height="${h}" fill="white"/>`, `<text x="${w / 2}" y="22" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`);
  for (let t = 0; t <= 5; t++) {
    const v = (yMax * t) / 5;
    out.push(`<line x1="${left}" x2="${w - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`, `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v).toLocaleString('en')}</text>`);
  }
  opts.xs.forEach((xv, i) => out.push(`<text x="${x(i)}" y="${h - bottom + 18}" text-anchor="middle">${xv}</text>`));
  out.push(`<text x="${(left + w - right) / 2}" y="${h - 10}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(top + h - bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  opts.series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length]!;
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${s.ys.map((v, i) => `${x(i)},${y(v)}`).join(' ')}"/>`);
    s.ys.forEach((v, i) => out.push(`<circle cx="${x(i)}" cy="${y(v)}" r="3" fill="${color}"/>`));
    out.push(`<rect x="${w - right + 14}" y="${top + k * 20}" width="12" height="3" fill="${color}"/>`, `<text x="${w - right + 32}" y="${top + k * 20 + 5}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
