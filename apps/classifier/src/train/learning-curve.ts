/** One point of the training history, recorded at every evaluation. */
export interface CurvePoint {
  readonly step: number;
  readonly phase: 'pretrain' | 'finetune';
  /** Mean training loss since the previous point. */
  readonly trainLoss: number;
  readonly validationLoss?: number;
  readonly validationAccuracy?: number;
}

const W = 800;
const H = 420;
const M = { left: 60, right: 60, top: 40, bottom: 50 };

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return Math.ceil(x / p) * p;
}

/**
 * The learning curve as a self-contained SVG: losses on the left axis, validation accuracy
 * (0–1) on the right. Written by hand because it is one chart and a plotting stack (vega + a
 * canvas) would be the largest dependency of the app.
 */
export function learningCurveSvg(points: readonly CurvePoint[], title: string): string {
  const maxStep = Math.max(1, ...points.map((p) => p.step));
  const maxLoss = niceMax(
    Math.max(
      0,
      ...points
        .flatMap((p) => [p.trainLoss, p.validationLoss ?? 0])
        .filter((x) => Number.isFinite(x)),
    ),
  );
  const x = (step: number) => M.left + (step / maxStep) * (W - M.left - M.right);
  const yLoss = (loss: number) =>
    H - M.bottom - (Math.min(loss, maxLoss) / maxLoss) * (H - M.top - M.bottom);
  const yAcc = (acc: number) => H - M.bottom - acc * (H - M.top - M.bottom);
  const path = (pts: [number, number][]) =>
    pts.length === 0 ? '' : 'M' + pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' L');
  const series = (pick: (p: CurvePoint) => number | undefined, y: (v: number) => number) =>
    path(
      points
        .map((p) => [p.step, pick(p)] as const)
        .filter(
          (pair): pair is readonly [number, number] =>
            pair[1] !== undefined && Number.isFinite(pair[1]),
        )
        .map(([s, v]) => [x(s), y(v)]),
    );
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const pretrainEnd = Math.max(
    0,
    ...points.filter((p) => p.phase === 'pretrain').map((p) => p.step),
  );
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escape(title)}</text>`,
    ...ticks.map(
      (t) =>
        `<line x1="${M.left}" x2="${W - M.right}" y1="${yAcc(t)}" y2="${yAcc(t)}" stroke="#eee"/>` +
        `<text x="${M.left - 6}" y="${yAcc(t) + 4}" text-anchor="end">${(t * maxLoss).toFixed(2)}</text>` +
        `<text x="${W - M.right + 6}" y="${yAcc(t) + 4}">${t.toFixed(2)}</text>`,
    ),
    ...ticks.map(
      (t) =>
        `<text x="${x(t * maxStep)}" y="${H - M.bottom + 18}" text-anchor="middle">${Math.round(t * maxStep)}</text>`,
    ),
    `<text x="${W / 2}" y="${H - 10}" text-anchor="middle">step</text>`,
    `<text x="16" y="${H / 2}" transform="rotate(-90 16 ${H / 2})" text-anchor="middle">loss</text>`,
    `<text x="${W - 14}" y="${H / 2}" transform="rotate(90 ${W - 14} ${H / 2})" text-anchor="middle">validation accuracy</text>`,
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#888"/>`,
    pretrainEnd > 0
      ? `<line x1="${x(pretrainEnd)}" x2="${x(pretrainEnd)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#aaa" stroke-dasharray="4 4"/>` +
        `<text x="${x(pretrainEnd) - 4}" y="${M.top + 14}" text-anchor="end" fill="#666">pre-training | fine-tuning</text>`
      : '',
    `<path d="${series((p) => p.trainLoss, yLoss)}" fill="none" stroke="#1f77b4" stroke-width="2"/>`,
    `<path d="${series((p) => p.validationLoss, yLoss)}" fill="none" stroke="#ff7f0e" stroke-width="2"/>`,
    `<path d="${series((p) => p.validationAccuracy, yAcc)}" fill="none" stroke="#2ca02c" stroke-width="2"/>`,
    `<g transform="translate(${M.left + 10},${M.top + 10})">` +
      `<rect width="170" height="58" fill="white" stroke="#ccc"/>` +
      `<line x1="8" x2="28" y1="14" y2="14" stroke="#1f77b4" stroke-width="2"/><text x="34" y="18">training loss</text>` +
      `<line x1="8" x2="28" y1="32" y2="32" stroke="#ff7f0e" stroke-width="2"/><text x="34" y="36">validation loss</text>` +
      `<line x1="8" x2="28" y1="50" y2="50" stroke="#2ca02c" stroke-width="2"/><text x="34" y="54">validation accuracy</text>` +
      `</g>`,
    '</svg>',
  ];
  return parts.join('\n') + '\n';
}
