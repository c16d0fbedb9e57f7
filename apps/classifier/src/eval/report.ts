import { LABELS } from '../labels';
import type { ClassMetrics, EvaluationReport } from './metrics';

const pct = (x: number): string => x.toFixed(4);
const pad = (s: string, n: number): string => s.padStart(n);

function metricsLine(name: string, m: ClassMetrics): string {
  return `${name.padEnd(8)}${pad(pct(m.precision), 10)}${pad(pct(m.recall), 10)}${pad(pct(m.f1), 10)}${pad(String(m.support), 9)}`;
}

/**
 * The eval CLI's output: per-class precision/recall, the confusion matrix (rows true, columns
 * predicted, none/low/high as in the design), `notes` (confidence interval, baseline on the same
 * rows) and `accuracy=0.xxxx` as the last line, which scripts and docs grep for.
 */
export function formatReport(
  report: EvaluationReport,
  header: readonly string[] = [],
  notes: readonly string[] = [],
): string {
  const lines: string[] = [...header];
  const width = 8;
  const tableHeader = `${'class'.padEnd(8)}${pad('precision', 10)}${pad('recall', 10)}${pad('f1', 10)}${pad('support', 9)}`;
  if (report.kind === 'class') {
    lines.push(tableHeader);
    for (const label of LABELS) lines.push(metricsLine(label, report.perClass[label]));
  } else {
    lines.push(
      'two-way evaluation: the file labels rows only HQ or LQ, so none and low both count as LQ;',
      'this accuracy is not comparable with a three-way accuracy.',
      tableHeader,
    );
    for (const quality of report.rowLabels)
      lines.push(metricsLine(quality, report.perQuality[quality]));
  }
  lines.push('', `confusion matrix (rows: true, columns: predicted), n=${report.total}`);
  lines.push(`${'true\\pred'.padEnd(10)}${LABELS.map((l) => pad(l, width)).join('')}`);
  const rowNames = report.kind === 'class' ? LABELS : report.rowLabels;
  report.matrix.forEach((row, i) => {
    lines.push(
      `${String(rowNames[i]).padEnd(10)}${row.map((n) => pad(String(n), width)).join('')}`,
    );
  });
  // Confidence interval and baseline comparison go just above the line scripts grep for.
  if (notes.length > 0) lines.push('', ...notes);
  lines.push(`accuracy=${pct(report.accuracy)}`);
  return lines.join('\n');
}
