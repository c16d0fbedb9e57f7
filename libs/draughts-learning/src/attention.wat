;; Multi-head self-attention over the 32 squares of a draughts board, for heads of width 4 (the
;; committed model: d = 16, 4 heads), as one WebAssembly SIMD function.
;;
;; Compiled by `npx nx run draughts-learning:build-wasm` (wabt's wat2wasm, in
;; scripts/build-attention-wasm.ts) into src/attention-wasm.generated.ts, which attention-wasm.ts
;; instantiates; test/attention-wasm-source.spec.ts fails when the two differ.
;;
;; Why a hand-written kernel: on tfjs-backend-wasm the attention of a batch is 1,024 tiny products
;; per layer at batch 256 ([32, 4]·[4, 32] and [32, 32]·[32, 4]); as tfjs kernels the products,
;; the Softmax and the head-major copies in JS were ~60% of a large batch's cost
;; (docs/benchmarks/checkers-learning.md). Here one call does the whole batch: scores, softmax and
;; the weighted sum of values.
;;
;; Memory layout (all f32, byte addresses):
;;   0 … 1023   scratch: K of the current (position, head) transposed, KT[c][j] at (32 c + j) · 4,
;;              so that 4 consecutive keys' component c is one v128 load.
;;   $qkv       Q/K/V rows [n · 32, 3d] as the QKV projection writes them: row i holds
;;              Q | K | V, each d wide, head h at columns 4h … 4h+3. The 1/√d_head scale is
;;              already folded into Q.
;;   $out       output rows [n · 32, d], head h at columns 4h … 4h+3: what the output projection
;;              reads.
;; The JS side (attention-wasm.ts) places both buffers after the scratch and grows the memory.
;;
;; Per (position, head): transpose K into the scratch; then per query row i, the 32 scores are
;; 8 f32x4 vectors held in locals ($s0 … $s7, keys 4k … 4k+3 in $sk), the softmax subtracts the
;; row maximum, exponentiates, and the values are summed with the unnormalised weights e_j; the
;; sum is scaled by 1/Σ e_j once, at the store.
;;
;; exp(x) for x ≤ 0 (after the max-subtraction) is 2^t · p(r): x is clamped at −87 so that 2^t
;; stays a normal float; t = nearest(x · log2 e); r = x − t · ln 2 with ln 2 split Cody–Waite style
;; into 0.693359375 (few mantissa bits, so t · 0.693359375 is exact) and −2.1219444e-4, which keeps
;; r accurate with |r| ≤ ln2/2; p is the degree-6 Taylor polynomial of e^r (relative error < 2e-7),
;; evaluated by Horner; 2^t is built directly as float bits, (t + 127) << 23.
;;
;; The loops over keys, score blocks and lanes are unrolled by hand: the locals cannot be indexed,
;; and the unrolled form is the one measured in docs/benchmarks/checkers-learning.md. Vector loads
;; and stores carry align=1 (no alignment promised; the addresses are in fact 16-byte aligned for
;; d a multiple of 4) and are kept so, as are all other instructions, so that the module stays
;; byte for byte the one that was measured.
(module
  (memory (export "memory") 1)

  ;; Attention of n positions: reads $qkv, writes $out (byte addresses), model width $d (a
  ;; multiple of 4; d / 4 heads).
  (func $attend (export "attend")
    (param $qkv i32) (param $out i32) (param $n i32) (param $d i32)
    (local $rowBytes i32) ;; 12 d: one Q|K|V row
    (local $pos i32)      ;; Q/K/V row 0 of the current position
    (local $end i32)      ;; Q/K/V row 0 of position n
    (local $outPos i32)   ;; output row 0 of the current position
    (local $head i32)     ;; byte offset of the head's columns: 16 h
    (local $base i32)     ;; Q of row 0, this head
    (local $row i32)      ;; Q of row i, this head
    (local $outRow i32)   ;; output of row i, this head
    (local $ptr i32)      ;; walks the K column (transpose) or the V column (weighted sum)
    (local $j i32)        ;; key index (transpose) or query row index
    (local $dBytes i32)   ;; 4 d: one output row; also Q → K → V distance within a row
    ;; The query's 4 components, each splatted over a vector.
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    ;; The row's 32 scores, then e_j: keys 4k … 4k+3 in $sk.
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $s4 v128) (local $s5 v128) (local $s6 v128) (local $s7 v128)
    (local $x v128)       ;; lane-wise max / sum; inside exp: x, then r
    (local $t v128)       ;; inside exp: t = nearest(x · log2 e)
    (local $acc v128)     ;; Σ_j e_j · V_j of the current row
    ;; Constants of exp, set once per call (a v128.const inside the loop is rebuilt at every use).
    (local $expMin v128)  ;; −87: clamp, so 2^t stays normal
    (local $log2e v128)
    (local $ln2Hi v128)   ;; ln 2 = 0.693359375 − 2.1219444e-4 (Cody–Waite)
    (local $ln2Lo v128)
    (local $c720 v128)    ;; Taylor coefficients 1/6!, 1/5!, 1/4!, 1/3!, 1/2!, 1
    (local $c120 v128)
    (local $c24 v128)
    (local $c6 v128)
    (local $c2 v128)
    (local $c1 v128)
    (local $bias127 v128) ;; i32x4 127: float exponent bias
    (local $m f32)        ;; the row's maximum score, then Σ e_j

    (local.set $expMin (v128.const f32x4 -87 -87 -87 -87))
    (local.set $log2e (v128.const f32x4 1.442695 1.442695 1.442695 1.442695))
    (local.set $ln2Hi (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))
    (local.set $ln2Lo
      (v128.const f32x4 -0.00021219444 -0.00021219444 -0.00021219444 -0.00021219444))
    (local.set $c720 (v128.const f32x4 0.0013888889 0.0013888889 0.0013888889 0.0013888889))
    (local.set $c120 (v128.const f32x4 0.008333334 0.008333334 0.008333334 0.008333334))
    (local.set $c24 (v128.const f32x4 0.041666668 0.041666668 0.041666668 0.041666668))
    (local.set $c6 (v128.const f32x4 0.16666667 0.16666667 0.16666667 0.16666667))
    (local.set $c2 (v128.const f32x4 0.5 0.5 0.5 0.5))
    (local.set $c1 (v128.const f32x4 1 1 1 1))
    (local.set $bias127 (v128.const i32x4 127 127 127 127))

    (local.set $dBytes (i32.mul (local.get $d) (i32.const 4)))
    (local.set $rowBytes (i32.mul (local.get $dBytes) (i32.const 3)))
    (local.set $pos (local.get $qkv))
    (local.set $outPos (local.get $out))
    (local.set $end
      (i32.add
        (local.get $qkv)
        (i32.mul (local.get $n) (i32.mul (local.get $rowBytes) (i32.const 32)))))

    ;; Every loop below is do { … } while (condition): the caller never passes n = 0 (attend(0)
    ;; returns in JS), d ≥ 4, and there are always 32 keys and 32 query rows.
    (loop $positions
      (local.set $head (i32.const 0))
      (loop $heads
        (local.set $base (i32.add (local.get $pos) (local.get $head)))

        ;; K of this head (row j at $base + 4d + j · 12d) transposed into the scratch.
        (local.set $ptr (i32.add (local.get $base) (local.get $dBytes)))
        (local.set $j (i32.const 0))
        (loop $transpose
          (f32.store offset=0
            (i32.mul (local.get $j) (i32.const 4))
            (f32.load offset=0 (local.get $ptr)))
          (f32.store offset=128
            (i32.mul (local.get $j) (i32.const 4))
            (f32.load offset=4 (local.get $ptr)))
          (f32.store offset=256
            (i32.mul (local.get $j) (i32.const 4))
            (f32.load offset=8 (local.get $ptr)))
          (f32.store offset=384
            (i32.mul (local.get $j) (i32.const 4))
            (f32.load offset=12 (local.get $ptr)))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $transpose (i32.lt_u (local.get $j) (i32.const 32))))

        ;; One query row per iteration.
        (local.set $row (local.get $base))
        (local.set $outRow (i32.add (local.get $outPos) (local.get $head)))
        (local.set $j (i32.const 0))
        (loop $rows
          (local.set $q0 (f32x4.splat (f32.load offset=0 (local.get $row))))
          (local.set $q1 (f32x4.splat (f32.load offset=4 (local.get $row))))
          (local.set $q2 (f32x4.splat (f32.load offset=8 (local.get $row))))
          (local.set $q3 (f32x4.splat (f32.load offset=12 (local.get $row))))

          ;; Scores: $sk = Σ_c q_c · KT[c][4k … 4k+3] (the scratch is at address 0).
          ;; $s0: scores against keys 0–3
          (f32x4.mul (v128.load offset=0 align=1 (i32.const 0)) (local.get $q0))
          (f32x4.mul (v128.load offset=128 align=1 (i32.const 0)) (local.get $q1)) f32x4.add
          (f32x4.mul (v128.load offset=256 align=1 (i32.const 0)) (local.get $q2)) f32x4.add
          (f32x4.mul (v128.load offset=384 align=1 (i32.const 0)) (local.get $q3)) f32x4.add
          local.set $s0
          ;; $s1: scores against keys 4–7
          (f32x4.mul (v128.load offset=16 align=1 (i32.const 0)) (local.get $q0))
          (f32x4.mul (v128.load offset=144 align=1 (i32.const 0)) (local.get $q1)) f32x4.add
          (f32x4.mul (v128.load offset=272 align=1 (i32.const 0)) (local.get $q2)) f32x4.add
          (f32x4.mul (v128.load offset=400 align=1 (i32.const 0)) (local.get $q3)) f32x4.add
          local.set $s1
          ;; $s2: scores against keys 8–11
          (f32x4.mul (v128.load offset=32 align=1 (i32.const 0)) (local.get $q0))
          (f32x4.mul (v128.load offset=160 align=1 (i32.const 0)) (local.get $q1)) f32x4.add
          (f32x4.mul (v128.load offset=288 align=1 (i32.const 0)) (local.get $q2)) f32x4.add
          (f32x4.mul (v128.load offset=416 align=1 (i32.const 0)) (local.get $q3)) f32x4.add
          local.set $s2
          ;; $s3: scores against keys 12–15
          (f32x4.mul (v128.load offset=48 align=1 (i32.const 0)) (local.get $q0))
          (f32x4.mul (v128.load offset=176 align=1 (i32.const 0)) (local.get $q1)) f32x4.add
          (f32x4.mul (v128.load offset=304 align=1 (i32.const 0)) (local.get $q2)) f32x4.add
          (f32x4.mul (v128.load offset=432 align=1 (i32.const 0)) (local.get $q3)) f32x4.add
          local.set $s3
          ;; $s4: scores against keys 16–19
          (f32x4.mul (v128.load offset=64 align=1 (i32.const 0)) (local.get $q0))
          (f32x4.mul (v128.load offset=192 align=1 (i32.const 0)) (local.get $q1)) f32x4.add
          (f32x4.mul (v128.load offset=320 align=1 (i32.const 0)) (local.get $q2)) f32x4.add
          (f32x4.mul (v128.load offset=448 align=1 (i32.const 0)) (local.get $q3)) f32x4.add
          local.set $s4
          ;; $s5: scores against keys 20–23
          (f32x4.mul (v128.load offset=80 align=1 (i32.const 0)) (local.get $q0))
          (f32x4.mul (v128.load offset=208 align=1 (i32.const 0)) (local.get $q1)) f32x4.add
          (f32x4.mul (v128.load offset=336 align=1 (i32.const 0)) (local.get $q2)) f32x4.add
          (f32x4.mul (v128.load offset=464 align=1 (i32.const 0)) (local.get $q3)) f32x4.add
          local.set $s5
          ;; $s6: scores against keys 24–27
          (f32x4.mul (v128.load offset=96 align=1 (i32.const 0)) (local.get $q0))
          (f32x4.mul (v128.load offset=224 align=1 (i32.const 0)) (local.get $q1)) f32x4.add
          (f32x4.mul (v128.load offset=352 align=1 (i32.const 0)) (local.get $q2)) f32x4.add
          (f32x4.mul (v128.load offset=480 align=1 (i32.const 0)) (local.get $q3)) f32x4.add
          local.set $s6
          ;; $s7: scores against keys 28–31
          (f32x4.mul (v128.load offset=112 align=1 (i32.const 0)) (local.get $q0))
          (f32x4.mul (v128.load offset=240 align=1 (i32.const 0)) (local.get $q1)) f32x4.add
          (f32x4.mul (v128.load offset=368 align=1 (i32.const 0)) (local.get $q2)) f32x4.add
          (f32x4.mul (v128.load offset=496 align=1 (i32.const 0)) (local.get $q3)) f32x4.add
          local.set $s7

          ;; $m = the row maximum: lane-wise over the 8 vectors, then across the 4 lanes.
          local.get $s0
          local.get $s1 f32x4.max
          local.get $s2 f32x4.max
          local.get $s3 f32x4.max
          local.get $s4 f32x4.max
          local.get $s5 f32x4.max
          local.get $s6 f32x4.max
          local.get $s7 f32x4.max
          local.set $x
          (f32x4.extract_lane 0 (local.get $x))
          (f32x4.extract_lane 1 (local.get $x)) f32.max
          (f32x4.extract_lane 2 (local.get $x)) f32.max
          (f32x4.extract_lane 3 (local.get $x)) f32.max
          local.set $m
          (local.set $s0 (f32x4.sub (local.get $s0) (f32x4.splat (local.get $m))))
          (local.set $s1 (f32x4.sub (local.get $s1) (f32x4.splat (local.get $m))))
          (local.set $s2 (f32x4.sub (local.get $s2) (f32x4.splat (local.get $m))))
          (local.set $s3 (f32x4.sub (local.get $s3) (f32x4.splat (local.get $m))))
          (local.set $s4 (f32x4.sub (local.get $s4) (f32x4.splat (local.get $m))))
          (local.set $s5 (f32x4.sub (local.get $s5) (f32x4.splat (local.get $m))))
          (local.set $s6 (f32x4.sub (local.get $s6) (f32x4.splat (local.get $m))))
          (local.set $s7 (f32x4.sub (local.get $s7) (f32x4.splat (local.get $m))))

          ;; e_j = exp(s_j − m) = 2^t · p(r), see the header. p by Horner:
          ;; ((((((1/6! · r + 1/5!) · r + 1/4!) · r + 1/3!) · r + 1/2) · r + 1) · r + 1.
          ;; $s0 ← exp($s0)
          (local.set $x (f32x4.max (local.get $s0) (local.get $expMin)))
          (local.set $t (f32x4.nearest (f32x4.mul (local.get $x) (local.get $log2e))))
          (local.set $x
            (f32x4.sub
              (f32x4.sub (local.get $x) (f32x4.mul (local.get $t) (local.get $ln2Hi)))
              (f32x4.mul (local.get $t) (local.get $ln2Lo))))
          local.get $c720
          local.get $x f32x4.mul local.get $c120 f32x4.add
          local.get $x f32x4.mul local.get $c24 f32x4.add
          local.get $x f32x4.mul local.get $c6 f32x4.add
          local.get $x f32x4.mul local.get $c2 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          (i32x4.shl ;; 2^t
            (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $t)) (local.get $bias127))
            (i32.const 23))
          f32x4.mul
          local.set $s0
          ;; $s1 ← exp($s1)
          (local.set $x (f32x4.max (local.get $s1) (local.get $expMin)))
          (local.set $t (f32x4.nearest (f32x4.mul (local.get $x) (local.get $log2e))))
          (local.set $x
            (f32x4.sub
              (f32x4.sub (local.get $x) (f32x4.mul (local.get $t) (local.get $ln2Hi)))
              (f32x4.mul (local.get $t) (local.get $ln2Lo))))
          local.get $c720
          local.get $x f32x4.mul local.get $c120 f32x4.add
          local.get $x f32x4.mul local.get $c24 f32x4.add
          local.get $x f32x4.mul local.get $c6 f32x4.add
          local.get $x f32x4.mul local.get $c2 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          (i32x4.shl ;; 2^t
            (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $t)) (local.get $bias127))
            (i32.const 23))
          f32x4.mul
          local.set $s1
          ;; $s2 ← exp($s2)
          (local.set $x (f32x4.max (local.get $s2) (local.get $expMin)))
          (local.set $t (f32x4.nearest (f32x4.mul (local.get $x) (local.get $log2e))))
          (local.set $x
            (f32x4.sub
              (f32x4.sub (local.get $x) (f32x4.mul (local.get $t) (local.get $ln2Hi)))
              (f32x4.mul (local.get $t) (local.get $ln2Lo))))
          local.get $c720
          local.get $x f32x4.mul local.get $c120 f32x4.add
          local.get $x f32x4.mul local.get $c24 f32x4.add
          local.get $x f32x4.mul local.get $c6 f32x4.add
          local.get $x f32x4.mul local.get $c2 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          (i32x4.shl ;; 2^t
            (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $t)) (local.get $bias127))
            (i32.const 23))
          f32x4.mul
          local.set $s2
          ;; $s3 ← exp($s3)
          (local.set $x (f32x4.max (local.get $s3) (local.get $expMin)))
          (local.set $t (f32x4.nearest (f32x4.mul (local.get $x) (local.get $log2e))))
          (local.set $x
            (f32x4.sub
              (f32x4.sub (local.get $x) (f32x4.mul (local.get $t) (local.get $ln2Hi)))
              (f32x4.mul (local.get $t) (local.get $ln2Lo))))
          local.get $c720
          local.get $x f32x4.mul local.get $c120 f32x4.add
          local.get $x f32x4.mul local.get $c24 f32x4.add
          local.get $x f32x4.mul local.get $c6 f32x4.add
          local.get $x f32x4.mul local.get $c2 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          (i32x4.shl ;; 2^t
            (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $t)) (local.get $bias127))
            (i32.const 23))
          f32x4.mul
          local.set $s3
          ;; $s4 ← exp($s4)
          (local.set $x (f32x4.max (local.get $s4) (local.get $expMin)))
          (local.set $t (f32x4.nearest (f32x4.mul (local.get $x) (local.get $log2e))))
          (local.set $x
            (f32x4.sub
              (f32x4.sub (local.get $x) (f32x4.mul (local.get $t) (local.get $ln2Hi)))
              (f32x4.mul (local.get $t) (local.get $ln2Lo))))
          local.get $c720
          local.get $x f32x4.mul local.get $c120 f32x4.add
          local.get $x f32x4.mul local.get $c24 f32x4.add
          local.get $x f32x4.mul local.get $c6 f32x4.add
          local.get $x f32x4.mul local.get $c2 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          (i32x4.shl ;; 2^t
            (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $t)) (local.get $bias127))
            (i32.const 23))
          f32x4.mul
          local.set $s4
          ;; $s5 ← exp($s5)
          (local.set $x (f32x4.max (local.get $s5) (local.get $expMin)))
          (local.set $t (f32x4.nearest (f32x4.mul (local.get $x) (local.get $log2e))))
          (local.set $x
            (f32x4.sub
              (f32x4.sub (local.get $x) (f32x4.mul (local.get $t) (local.get $ln2Hi)))
              (f32x4.mul (local.get $t) (local.get $ln2Lo))))
          local.get $c720
          local.get $x f32x4.mul local.get $c120 f32x4.add
          local.get $x f32x4.mul local.get $c24 f32x4.add
          local.get $x f32x4.mul local.get $c6 f32x4.add
          local.get $x f32x4.mul local.get $c2 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          (i32x4.shl ;; 2^t
            (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $t)) (local.get $bias127))
            (i32.const 23))
          f32x4.mul
          local.set $s5
          ;; $s6 ← exp($s6)
          (local.set $x (f32x4.max (local.get $s6) (local.get $expMin)))
          (local.set $t (f32x4.nearest (f32x4.mul (local.get $x) (local.get $log2e))))
          (local.set $x
            (f32x4.sub
              (f32x4.sub (local.get $x) (f32x4.mul (local.get $t) (local.get $ln2Hi)))
              (f32x4.mul (local.get $t) (local.get $ln2Lo))))
          local.get $c720
          local.get $x f32x4.mul local.get $c120 f32x4.add
          local.get $x f32x4.mul local.get $c24 f32x4.add
          local.get $x f32x4.mul local.get $c6 f32x4.add
          local.get $x f32x4.mul local.get $c2 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          (i32x4.shl ;; 2^t
            (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $t)) (local.get $bias127))
            (i32.const 23))
          f32x4.mul
          local.set $s6
          ;; $s7 ← exp($s7)
          (local.set $x (f32x4.max (local.get $s7) (local.get $expMin)))
          (local.set $t (f32x4.nearest (f32x4.mul (local.get $x) (local.get $log2e))))
          (local.set $x
            (f32x4.sub
              (f32x4.sub (local.get $x) (f32x4.mul (local.get $t) (local.get $ln2Hi)))
              (f32x4.mul (local.get $t) (local.get $ln2Lo))))
          local.get $c720
          local.get $x f32x4.mul local.get $c120 f32x4.add
          local.get $x f32x4.mul local.get $c24 f32x4.add
          local.get $x f32x4.mul local.get $c6 f32x4.add
          local.get $x f32x4.mul local.get $c2 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          local.get $x f32x4.mul local.get $c1 f32x4.add
          (i32x4.shl ;; 2^t
            (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $t)) (local.get $bias127))
            (i32.const 23))
          f32x4.mul
          local.set $s7

          ;; $m = Σ e_j: lane-wise over the 8 vectors, then across the 4 lanes.
          local.get $s0
          local.get $s1 f32x4.add
          local.get $s2 f32x4.add
          local.get $s3 f32x4.add
          local.get $s4 f32x4.add
          local.get $s5 f32x4.add
          local.get $s6 f32x4.add
          local.get $s7 f32x4.add
          local.set $x
          (f32x4.extract_lane 0 (local.get $x))
          (f32x4.extract_lane 1 (local.get $x)) f32.add
          (f32x4.extract_lane 2 (local.get $x)) f32.add
          (f32x4.extract_lane 3 (local.get $x)) f32.add
          local.set $m

          ;; $acc = Σ_j e_j · V_j, V_j (this head) at $base + 8d + j · 12d; e_j is lane j mod 4
          ;; of $s(j div 4).
          (local.set $acc (v128.const f32x4 0 0 0 0))
          (local.set $ptr (i32.add (local.get $base) (i32.mul (local.get $dBytes) (i32.const 2))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 0 (local.get $s0)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 1 (local.get $s0)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 2 (local.get $s0)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 3 (local.get $s0)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 0 (local.get $s1)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 1 (local.get $s1)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 2 (local.get $s1)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 3 (local.get $s1)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 0 (local.get $s2)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 1 (local.get $s2)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 2 (local.get $s2)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 3 (local.get $s2)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 0 (local.get $s3)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 1 (local.get $s3)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 2 (local.get $s3)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 3 (local.get $s3)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 0 (local.get $s4)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 1 (local.get $s4)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 2 (local.get $s4)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 3 (local.get $s4)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 0 (local.get $s5)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 1 (local.get $s5)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 2 (local.get $s5)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 3 (local.get $s5)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 0 (local.get $s6)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 1 (local.get $s6)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 2 (local.get $s6)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 3 (local.get $s6)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 0 (local.get $s7)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 1 (local.get $s7)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 2 (local.get $s7)))
            (v128.load align=1 (local.get $ptr)))))
          (local.set $ptr (i32.add (local.get $ptr) (local.get $rowBytes)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (f32x4.splat (f32x4.extract_lane 3 (local.get $s7)))
            (v128.load align=1 (local.get $ptr)))))

          ;; Output row i, this head: $acc / Σ e_j.
          (v128.store align=1
            (local.get $outRow)
            (f32x4.mul (local.get $acc) (f32x4.splat (f32.div (f32.const 1) (local.get $m)))))

          (local.set $row (i32.add (local.get $row) (local.get $rowBytes)))
          (local.set $outRow (i32.add (local.get $outRow) (local.get $dBytes)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $rows (i32.lt_u (local.get $j) (i32.const 32))))

        (local.set $head (i32.add (local.get $head) (i32.const 16)))
        (br_if $heads (i32.lt_u (local.get $head) (local.get $dBytes))))

      (local.set $pos (i32.add (local.get $pos) (i32.mul (local.get $rowBytes) (i32.const 32))))
      (local.set $outPos (i32.add (local.get $outPos) (i32.mul (local.get $dBytes) (i32.const 32))))
      (br_if $positions (i32.lt_u (local.get $pos) (local.get $end))))))
