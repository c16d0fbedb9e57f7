/** The loss curve as a small standalone SVG (no plotting dependency): train and validation loss per step. */
export interface CurvePoint {
  readonly step: number;
  readonly trainLoss: number;
  readonly validationLoss: number;
}

export function lossCurveSvg(curve: readonly CurvePoint[], title: string): string {
  const w = 640;
  const h = 360;
  const m = { l: 60, r: 20, t: 40, b: 40 };
  const values = curve
    .flatMap((c) => [c.trainLoss, c.validationLoss])
    .filter((v) => Number.isFinite(v));
  const maxStep = Math.max(1, ...curve.map((c) => c.step));
  const lo = values.length ? Math.min(...values) : 0;
  const hi = values.length ? Math.max(...values) : 1;
  const span = hi - lo || 1;
  const x = (s: number): number => m.l + ((w - m.l - m.r) * s) / maxStep;
  const y = (v: number): number => m.t + (h - m.t - m.b) * (1 - (v - lo) / span);
  const line = (key: 'trainLoss' | 'validationLoss', colour: string): string => {
    const pts = curve
      .filter((c) => Number.isFinite(c[key]))
      .map((c) => `${x(c.step).toFixed(1)},${y(c[key]).toFixed(1)}`);
    return pts.length
      ? `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.join(' ')}"/>`
      : '';
  };
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = lo + f * span;
    return `<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v.toFixed(4)}</text>`;
  });
  const esc = title.replace(
    /[<&>]/g,
    (c) => ({ '<': '&lt;', '&': '&amp;', '>': '&gt;' })[c] as string,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${w / 2}" y="20" text-anchor="middle" font-size="14">${esc}</text>`,
    `<line x1="${m.l}" y1="${h - m.b}" x2="${w - m.r}" y2="${h - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${h - m.b}" stroke="black"/>`,
    ...ticks,
    `<text x="${w / 2}" y="${h - 8}" text-anchor="middle" font-size="12">optimiser step (of ${maxStep})</text>`,
    line('trainLoss', '#1f77b4'),
    line('validationLoss', '#d62728'),
    `<text x="${w - 200}" y="${m.t + 10}" font-size="12" fill="#1f77b4">train loss (EMA)</text>`,
    `<text x="${w - 200}" y="${m.t + 26}" font-size="12" fill="#d62728">validation loss</text>`,
    '</svg>',
    '',
  ].join('\n');
}
