// The Unigram Viterbi search of tokenizers.js (Unigram.tokenize: populate_nodes + viterbi),
// restated over typed arrays. The library builds an object per lattice node and clones nodes
// while comparing paths; for a long question most of its time was garbage collection. This keeps
// its semantics step for step — the same candidate pieces in the same order, an <unk> node
// wherever no one-character piece starts, the same float additions and strict comparisons (so
// ties resolve the same way) — and its result is tested against the library's on real text.

/** What the search reads from tokenizers.js's Unigram model. */
export interface UnigramModelData {
  /** The pieces the model's trie was built from (tokenizer.json's vocab), in order. */
  readonly pieces: readonly string[];
  /** Piece → id as the model resolves it (added tokens included). */
  readonly tokensToIds: ReadonlyMap<string, number>;
  /** Score by id (the unk id already holds the model's unk score). */
  readonly scores: readonly number[];
  readonly unkTokenId: number;
  readonly unkScore: number;
}

interface TrieNode {
  readonly children: Map<string, TrieNode>;
  /** Set when a piece ends here: its id and score as the model would look them up. */
  id?: number;
  score?: number;
  length: number;
}

const newNode = (length: number): TrieNode => ({ children: new Map(), length });

/** Lattice storage reused across calls (JavaScript runs one search at a time). */
let capacity = 0;
let nodePos = new Int32Array(0);
let nodeLen = new Int32Array(0);
let nodeId = new Int32Array(0);
let nodeScore = new Float64Array(0);
let nodeBacktrace = new Float64Array(0);
let nodePrev = new Int32Array(0);
let endOrder = new Int32Array(0);

/** Makes room for `nodes` lattice nodes, keeping the ones already stored. */
function ensureCapacity(nodes: number): void {
  if (nodes <= capacity) return;
  capacity = Math.max(nodes, capacity * 2, 1024);
  const grow = <A extends Int32Array | Float64Array>(old: A, make: (n: number) => A): A => {
    const next = make(capacity);
    next.set(old);
    return next;
  };
  nodePos = grow(nodePos, (n) => new Int32Array(n));
  nodeLen = grow(nodeLen, (n) => new Int32Array(n));
  nodeId = grow(nodeId, (n) => new Int32Array(n));
  nodeScore = grow(nodeScore, (n) => new Float64Array(n));
  nodeBacktrace = grow(nodeBacktrace, (n) => new Float64Array(n));
  nodePrev = grow(nodePrev, (n) => new Int32Array(n));
  endOrder = new Int32Array(capacity);
}

export class UnigramSearch {
  private readonly root = newNode(0);
  private readonly unkId: number;
  private readonly unkScore: number;

  constructor(model: UnigramModelData) {
    for (const piece of model.pieces) {
      let node = this.root;
      for (const ch of piece) {
        let child = node.children.get(ch);
        if (!child) {
          child = newNode(node.length + 1);
          node.children.set(ch, child);
        }
        node = child;
      }
      if (node === this.root) continue; // the library's search never yields an empty piece
      const id = model.tokensToIds.get(piece) as number;
      node.id = id;
      node.score = model.scores[id] as number;
    }
    this.unkId = model.unkTokenId;
    this.unkScore = model.unkScore;
  }

  /** The pieces of one pre-tokenized word, as tokenizers.js's Unigram.tokenize returns them. */
  tokenize(word: string): string[] {
    const chars = Array.from(word);
    const len = chars.length;
    ensureCapacity(2 + len);
    // Node 0 is bos (ends at 0), node 1 is eos (begins at len); then per start position, the
    // pieces found in order of length, then <unk> if no one-character piece starts there.
    nodePos[0] = 0;
    nodeLen[0] = 0;
    nodeBacktrace[0] = 0;
    nodePrev[0] = -1;
    nodePos[1] = len;
    nodeLen[1] = 0;
    nodeScore[1] = 0;
    let count = 2;
    const beginStart = new Int32Array(len + 2); // nodes beginning at p: [beginStart[p], beginStart[p+1])
    for (let begin = 0; begin < len; begin++) {
      beginStart[begin] = count;
      let single = false;
      let node: TrieNode | undefined = this.root;
      for (let i = begin; i < len; i++) {
        node = node.children.get(chars[i] as string);
        if (!node) break;
        if (node.id !== undefined) {
          ensureCapacity(count + 2);
          nodePos[count] = begin;
          nodeLen[count] = node.length;
          nodeId[count] = node.id;
          nodeScore[count] = node.score as number;
          count++;
          if (node.length === 1) single = true;
        }
      }
      if (!single) {
        ensureCapacity(count + 1);
        nodePos[count] = begin;
        nodeLen[count] = 1;
        nodeId[count] = this.unkId;
        nodeScore[count] = this.unkScore;
        count++;
      }
    }
    beginStart[len] = count;
    beginStart[len + 1] = count;
    // Nodes ending at p in insertion order (a stable bucket sort by end; bos ends at 0).
    const endStart = new Int32Array(len + 2);
    endStart[1] = 1; // bos
    for (let n = 2; n < count; n++)
      (endStart[(nodePos[n] as number) + (nodeLen[n] as number) + 1] as number)++;
    for (let p = 1; p <= len + 1; p++)
      endStart[p] = (endStart[p] as number) + (endStart[p - 1] as number);
    const fill = endStart.slice();
    endOrder[(fill[0] as number)++] = 0;
    for (let n = 2; n < count; n++)
      endOrder[(fill[(nodePos[n] as number) + (nodeLen[n] as number)] as number)++] = n;
    // Viterbi: every node beginning at p takes the best path ending at p (first best on ties).
    for (let p = 0; p <= len; p++) {
      const from = p === len ? 1 : (beginStart[p] as number);
      const to = p === len ? 2 : (beginStart[p + 1] as number);
      if (from === to) return [];
      for (let r = from; r < to; r++) {
        let best = -1;
        let bestScore = 0;
        for (let e = endStart[p] as number; e < (endStart[p + 1] as number); e++) {
          const l = endOrder[e] as number;
          const score = (nodeBacktrace[l] as number) + (nodeScore[r] as number);
          if (best === -1 || score > bestScore) {
            best = l;
            bestScore = score;
          }
        }
        if (best === -1) return [];
        nodePrev[r] = best;
        nodeBacktrace[r] = bestScore;
      }
    }
    const out: string[] = [];
    for (let n = nodePrev[1] as number; n > 0; n = nodePrev[n] as number) {
      out.push(chars.slice(nodePos[n], (nodePos[n] as number) + (nodeLen[n] as number)).join(''));
    }
    return out.reverse();
  }
}
