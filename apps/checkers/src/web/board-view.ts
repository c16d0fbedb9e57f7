import type { LegalMoveView, PieceView, PlayedMoveView } from '../game-view';
import { CELL, cellAt, squareAtPoint, squareCentre, type Point } from './board-geometry';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** Milliseconds per hop when a move is animated; multi-captures take one hop per capture. */
const HOP_MS = 220;
/** Pointer travel (SVG units) that turns a press into a drag rather than a click. */
const DRAG_THRESHOLD = 12;

export interface BoardState {
  readonly board: readonly PieceView[];
  /** Moves the user may make now; empty when it is not their turn. */
  readonly legalMoves: readonly LegalMoveView[];
  readonly lastMove?: PlayedMoveView;
}

interface Selection {
  readonly from: number;
  /** Landing squares chosen so far, to tell apart captures that end on the same square. */
  readonly prefix: readonly number[];
}

interface Drag {
  readonly pointerId: number;
  readonly square: number;
  readonly start: Point;
  moved: boolean;
}

/**
 * The SVG board: draws squares and pieces, lets the user pick a move by clicking or dragging
 * (only pieces with a legal move are selectable, so when a capture is compulsory only capturing
 * pieces are), and animates moves hop by hop.
 */
export class BoardView {
  private flipped = false;
  private state: BoardState = { board: [], legalMoves: [] };
  private selection: Selection | undefined;
  private drag: Drag | undefined;
  private readonly squaresLayer: SVGGElement;
  private readonly marksLayer: SVGGElement;
  private readonly piecesLayer: SVGGElement;
  private readonly targetsLayer: SVGGElement;

  constructor(
    private readonly svg: SVGSVGElement,
    private readonly onMove: (notation: string) => void,
  ) {
    this.squaresLayer = this.layer('squares');
    this.marksLayer = this.layer('marks');
    this.piecesLayer = this.layer('pieces');
    this.targetsLayer = this.layer('targets');
    svg.addEventListener('pointerdown', (e) => this.pointerDown(e));
    svg.addEventListener('pointermove', (e) => this.pointerMove(e));
    svg.addEventListener('pointerup', (e) => this.pointerUp(e));
    svg.addEventListener('pointercancel', () => this.cancelDrag());
    this.drawSquares();
  }

  setFlipped(flipped: boolean): void {
    this.flipped = flipped;
    this.drawSquares();
    this.draw();
  }

  isFlipped(): boolean {
    return this.flipped;
  }

  render(state: BoardState): void {
    this.state = state;
    this.selection = undefined;
    this.draw();
  }

  /**
   * Animates `move` from the `before` board: the piece travels through every landing square, then
   * the captured pieces fade out. Resolves when done; call render() with the new state after.
   */
  async animate(before: readonly PieceView[], move: PlayedMoveView): Promise<void> {
    this.state = { board: before, legalMoves: [] };
    this.selection = undefined;
    this.draw();
    const piece = this.pieceElement(move.from);
    if (!piece) return;
    this.piecesLayer.appendChild(piece); // on top of the others while it travels
    let at = squareCentre(move.from, this.flipped);
    for (const square of move.path) {
      const to = squareCentre(square, this.flipped);
      await tween(HOP_MS, (t) => {
        piece.setAttribute(
          'transform',
          translate({ x: at.x + (to.x - at.x) * t, y: at.y + (to.y - at.y) * t }),
        );
      });
      at = to;
    }
    const fading = move.captured
      .map((s) => this.pieceElement(s))
      .filter((p): p is SVGGElement => !!p);
    for (const p of fading) p.classList.add('captured-fade');
    if (fading.length > 0) await delay(250);
  }

  // ---- drawing ----

  private layer(name: string): SVGGElement {
    const g = svgElement('g', { class: name });
    this.svg.appendChild(g);
    return g;
  }

  private drawSquares(): void {
    this.squaresLayer.replaceChildren();
    for (let vr = 0; vr < 8; vr++) {
      for (let vc = 0; vc < 8; vc++) {
        const { square } = cellAt(vc, vr, this.flipped);
        const rect = svgElement('rect', {
          x: vc * CELL,
          y: vr * CELL,
          width: CELL,
          height: CELL,
          class: `square ${square === undefined ? 'light' : 'dark'}`,
        });
        if (square !== undefined) rect.dataset['square'] = String(square);
        this.squaresLayer.appendChild(rect);
        if (square !== undefined) {
          const label = svgElement('text', {
            x: vc * CELL + 6,
            y: vr * CELL + 20,
            class: 'square-number',
          });
          label.textContent = String(square);
          this.squaresLayer.appendChild(label);
        }
      }
    }
  }

  private draw(): void {
    this.marksLayer.replaceChildren();
    this.piecesLayer.replaceChildren();
    this.targetsLayer.replaceChildren();
    const last = this.state.lastMove;
    if (last) {
      for (const square of [last.from, ...last.path])
        this.marksLayer.appendChild(this.cellRect(square, 'last-move'));
    }
    const movable = new Set(this.state.legalMoves.map((m) => m.from));
    for (const piece of this.state.board) {
      const g = drawPiece(piece, squareCentre(piece.square, this.flipped));
      if (movable.has(piece.square)) g.classList.add('movable');
      if (this.selection?.from === piece.square) g.classList.add('selected');
      this.piecesLayer.appendChild(g);
    }
    for (const target of this.targets()) {
      const rect = this.cellRect(target.square, target.capture ? 'target capture' : 'target');
      rect.dataset['target'] = String(target.square);
      this.targetsLayer.appendChild(rect);
    }
  }

  private cellRect(square: number, cls: string): SVGRectElement {
    const c = squareCentre(square, this.flipped);
    return svgElement('rect', {
      x: c.x - CELL / 2,
      y: c.y - CELL / 2,
      width: CELL,
      height: CELL,
      class: cls,
    });
  }

  private pieceElement(square: number): SVGGElement | undefined {
    return (
      (this.piecesLayer.querySelector(`[data-square="${square}"]`) as SVGGElement | null) ??
      undefined
    );
  }

  // ---- choosing a move ----

  /** Legal moves still possible given the selection. */
  private candidates(): LegalMoveView[] {
    const sel = this.selection;
    if (!sel) return [];
    return this.state.legalMoves.filter(
      (m) => m.from === sel.from && sel.prefix.every((square, i) => m.path[i] === square),
    );
  }

  /** Squares to highlight: each candidate's destination, or the next hop when destinations coincide. */
  private targets(): { square: number; capture: boolean }[] {
    const sel = this.selection;
    if (!sel) return [];
    const out = new Map<number, boolean>();
    for (const m of this.candidates()) {
      const sameEnd = this.candidates().filter((o) => o.to === m.to).length > 1;
      const square = sameEnd ? (m.path[sel.prefix.length] ?? m.to) : m.to;
      out.set(square, m.captured.length > 0);
    }
    return [...out].map(([square, capture]) => ({ square, capture }));
  }

  private clickSquare(square: number | undefined): void {
    if (square === undefined) return this.clearSelection();
    const movable = this.state.legalMoves.some((m) => m.from === square);
    const sel = this.selection;
    if (sel && this.targets().some((t) => t.square === square)) {
      const candidates = this.candidates();
      const ending = candidates.filter((m) => m.to === square);
      if (ending.length === 1 && ending[0]) {
        this.selection = undefined;
        this.onMove(ending[0].notation);
        return;
      }
      this.selection = { from: sel.from, prefix: [...sel.prefix, square] };
      const remaining = this.candidates();
      if (remaining.length === 1 && remaining[0]) {
        this.selection = undefined;
        this.onMove(remaining[0].notation);
        return;
      }
      return this.draw();
    }
    if (movable && sel?.from !== square) {
      this.selection = { from: square, prefix: [] };
      return this.draw();
    }
    this.clearSelection();
  }

  private clearSelection(): void {
    if (!this.selection) return;
    this.selection = undefined;
    this.draw();
  }

  // ---- pointer handling: a press without travel is a click, with travel a drag ----

  private svgPoint(e: PointerEvent): Point {
    const matrix = this.svg.getScreenCTM();
    if (!matrix) return { x: -1, y: -1 };
    const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(matrix.inverse());
    return { x: p.x, y: p.y };
  }

  private pointerDown(e: PointerEvent): void {
    if (e.button !== 0) return;
    const point = this.svgPoint(e);
    const square = squareAtPoint(point, this.flipped);
    if (square !== undefined && this.state.legalMoves.some((m) => m.from === square)) {
      this.drag = { pointerId: e.pointerId, square, start: point, moved: false };
      this.svg.setPointerCapture(e.pointerId);
    }
    e.preventDefault();
  }

  private pointerMove(e: PointerEvent): void {
    const drag = this.drag;
    if (!drag || drag.pointerId !== e.pointerId) return;
    const point = this.svgPoint(e);
    if (!drag.moved && Math.hypot(point.x - drag.start.x, point.y - drag.start.y) < DRAG_THRESHOLD)
      return;
    if (!drag.moved) {
      drag.moved = true;
      this.selection = { from: drag.square, prefix: [] };
      this.draw();
    }
    const piece = this.pieceElement(drag.square);
    if (piece) {
      piece.classList.add('dragging');
      this.piecesLayer.appendChild(piece);
      piece.setAttribute('transform', translate(point));
    }
  }

  private pointerUp(e: PointerEvent): void {
    const drag = this.drag;
    const square = squareAtPoint(this.svgPoint(e), this.flipped);
    this.drag = undefined;
    if (!drag || !drag.moved) {
      this.clickSquare(square);
      return;
    }
    if (
      square !== undefined &&
      square !== drag.square &&
      this.targets().some((t) => t.square === square)
    ) {
      this.clickSquare(square);
    } else {
      this.draw(); // dropped elsewhere: the piece goes back, still selected
    }
  }

  private cancelDrag(): void {
    this.drag = undefined;
    this.draw();
  }
}

function drawPiece(piece: PieceView, at: Point): SVGGElement {
  const g = svgElement('g', {
    class: `piece ${piece.color}${piece.king ? ' king' : ''}`,
    transform: translate(at),
  });
  g.dataset['square'] = String(piece.square);
  g.dataset['color'] = piece.color;
  g.dataset['king'] = String(piece.king);
  g.appendChild(svgElement('circle', { r: 38, class: 'body' }));
  g.appendChild(svgElement('circle', { r: 27, class: 'ring' }));
  if (piece.king) {
    // A crown: unmistakable at phone size, unlike a stacked second disc.
    g.appendChild(
      svgElement('path', {
        class: 'crown',
        d: 'M -20 12 L -24 -12 L -11 0 L 0 -18 L 11 0 L 24 -12 L 20 12 Z',
      }),
    );
  }
  return g;
}

function svgElement<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, String(value));
  return el;
}

const translate = (p: Point) => `translate(${p.x.toFixed(1)} ${p.y.toFixed(1)})`;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function tween(ms: number, step: (t: number) => void): Promise<void> {
  return new Promise((resolve) => {
    const start = performance.now();
    const frame = (now: number) => {
      const t = Math.min(1, (now - start) / ms);
      step(t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2); // ease in-out
      if (t < 1) requestAnimationFrame(frame);
      else resolve();
    };
    requestAnimationFrame(frame);
  });
}
