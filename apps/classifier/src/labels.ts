/**
 * The three classes the decoder predicts, in the design's order (rows/columns of the confusion
 * matrix): `none` = closed without edits, `low` = edited and left open, `high` = good as asked.
 */
export const LABELS = ['none', 'low', 'high'] as const;
export type Label = (typeof LABELS)[number];

/** The data set's labels (Kaggle "60k Stack Overflow Questions with Quality Rating"). */
const DATASET_LABELS: Readonly<Record<string, Label>> = {
  HQ: 'high',
  LQ_EDIT: 'low',
  LQ_CLOSE: 'none',
};

export function isLabel(value: string): value is Label {
  return (LABELS as readonly string[]).includes(value);
}

/** Maps HQ / LQ_EDIT / LQ_CLOSE to the class word; undefined for anything else. */
export function labelFromDataset(value: string): Label | undefined {
  return DATASET_LABELS[value.trim()];
}

export function labelIndex(label: Label): number {
  return LABELS.indexOf(label);
}

/** The two-way view used when a file only says HQ or LQ (raw-sample.csv collapses LQ_EDIT and LQ_CLOSE). */
export type Quality = 'HQ' | 'LQ';
export function qualityOf(label: Label): Quality {
  return label === 'high' ? 'HQ' : 'LQ';
}
