/**
 * A deliberately naive second implementation of the move rules, on an 8×8 array with
 * coordinates instead of bitboards, written straight from the rule text. Tests compare the
 * engine against it on many positions, so a bug would have to be made twice the same way.
 */
type Cell = { white: boolean; king: boolean } | null;

// Square n (1–32): row = floor((n-1)/4) from White's side; squares run right to left, and the
// bottom-right corner (row 0, column 7) is square 1.
export function toRC(n: number): [number, number] {
  const row = Math.floor((n - 1) / 4);
  const k = (n - 1) % 4;
  return [row, row % 2 === 0 ? 7 - 2 * k : 6 - 2 * k];
}

export function fromRC(row: number, col: number): number | null {
  if (row < 0 || row > 7 || col < 0 || col > 7 || (row + col) % 2 === 0) return null;
  const k = row % 2 === 0 ? (7 - col) / 2 : (6 - col) / 2;
  return row * 4 + k + 1;
}

export interface RefPosition {
  readonly whiteToMove: boolean;
  readonly pieces: ReadonlyMap<number, { white: boolean; king: boolean }>;
}

interface Seq {
  from: number;
  to: number;
  captured: number[];
  kings: number;
}

export function referenceMoves(pos: RefPosition): string[] {
  const board: Cell[][] = Array.from({ length: 8 }, () => Array<Cell>(8).fill(null));
  for (const [sq, p] of pos.pieces) {
    const [r, c] = toRC(sq);
    (board[r] as Cell[])[c] = { ...p };
  }
  const at = (r: number, c: number): Cell | undefined =>
    r < 0 || r > 7 || c < 0 || c > 7 ? undefined : (board[r] as Cell[])[c];
  const forward = pos.whiteToMove ? 1 : -1;
  const all: [number, number][] = [
    [1, 1],
    [1, -1],
    [-1, 1],
    [-1, -1],
  ];
  const seqs: Seq[] = [];
  for (const [sq, p] of pos.pieces) {
    if (p.white !== pos.whiteToMove) continue;
    const [r0, c0] = toRC(sq);
    (board[r0] as Cell[])[c0] = null; // the mover leaves its square
    const dirs = p.king ? all : all.filter(([dr]) => dr === forward);
    const walk = (r: number, c: number, captured: number[], kings: number): void => {
      let extended = false;
      for (const [dr, dc] of dirs) {
        let rr = r + dr;
        let cc = c + dc;
        if (p.king) {
          while (at(rr, cc) === null) {
            rr += dr;
            cc += dc;
          }
        }
        const victim = at(rr, cc);
        if (victim === undefined || victim === null || victim.white === p.white) continue;
        const vsq = fromRC(rr, cc) as number;
        if (captured.includes(vsq)) continue;
        let lr = rr + dr;
        let lc = cc + dc;
        while (at(lr, lc) === null) {
          extended = true;
          walk(lr, lc, [...captured, vsq], kings + (victim.king ? 1 : 0));
          if (!p.king) break;
          lr += dr;
          lc += dc;
        }
      }
      if (!extended && captured.length > 0)
        seqs.push({ from: sq, to: fromRC(r, c) as number, captured, kings });
    };
    walk(r0, c0, [], 0);
    (board[r0] as Cell[])[c0] = p;
  }
  if (seqs.length > 0) {
    const most = Math.max(...seqs.map((s) => s.captured.length));
    const longest = seqs.filter((s) => s.captured.length === most);
    const mostKings = Math.max(...longest.map((s) => s.kings));
    const chosen = longest.filter((s) => s.kings === mostKings);
    return [
      ...new Set(
        chosen.map((s) => `${s.from}x${s.to}[${[...s.captured].sort((a, b) => a - b).join(',')}]`),
      ),
    ].sort();
  }
  const out: string[] = [];
  for (const [sq, p] of pos.pieces) {
    if (p.white !== pos.whiteToMove) continue;
    const [r, c] = toRC(sq);
    for (const [dr, dc] of p.king ? all : all.filter(([d]) => d === forward)) {
      let rr = r + dr;
      let cc = c + dc;
      while (at(rr, cc) === null) {
        out.push(`${sq}-${fromRC(rr, cc)}`);
        if (!p.king) break;
        rr += dr;
        cc += dc;
      }
    }
  }
  return out.sort();
}
