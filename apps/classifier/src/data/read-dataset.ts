import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse';
import {
  DatasetError,
  detectFormat,
  exampleFromRecord,
  type DatasetFormat,
  type Example,
} from './formats';

export interface Dataset {
  readonly file: string;
  readonly format: DatasetFormat;
  /** 'windows-1252' when the file was not valid UTF-8 (raw-sample.csv has such bytes). */
  readonly encoding: 'utf-8' | 'windows-1252';
  readonly examples: readonly Example[];
}

/**
 * Kaggle's exports are mostly UTF-8, but some rows were saved as Windows-1252 (e.g. "I´ve" as
 * byte 0xB4). Decoding strictly first and falling back keeps UTF-8 files exact and the others
 * readable instead of full of replacement characters.
 */
function decode(bytes: Buffer): { text: string; encoding: Dataset['encoding'] } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8' };
  } catch {
    return { text: new TextDecoder('windows-1252').decode(bytes), encoding: 'windows-1252' };
  }
}

/** Reads any supported CSV, detecting its format from the header; errors name the file and line. */
export async function readDataset(
  file: string,
  options: { limit?: number } = {},
): Promise<Dataset> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new DatasetError(`cannot read data file ${file}: ${(error as Error).message}`);
  }
  const { text, encoding } = decode(bytes);
  const parser = parse(text, { bom: true, columns: false, info: true, skip_empty_lines: true });
  let header: string[] | undefined;
  let format: DatasetFormat | undefined;
  const examples: Example[] = [];
  let previousEnd = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      // info.lines is the line where the record ends (bodies span lines); it starts after the previous one.
      const line = previousEnd + 1;
      previousEnd = info.lines;
      if (!header) {
        header = record.map((column) => column.trim());
        format = detectFormat(header, file);
        continue;
      }
      if (record.length !== header.length) {
        throw new DatasetError(
          `${file}:${line}: record has ${record.length} fields but the header has ${header.length}`,
        );
      }
      const fields: Record<string, string> = {};
      header.forEach((column, i) => (fields[column] = record[i] ?? ''));
      examples.push(exampleFromRecord(format as DatasetFormat, fields, file, line));
      if (options.limit !== undefined && examples.length >= options.limit) break;
    }
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    throw new DatasetError(`${file}: invalid CSV: ${(error as Error).message}`);
  }
  if (!format) throw new DatasetError(`${file}:1: the file is empty; expected a CSV header row`);
  return { file, format, encoding, examples };
}
