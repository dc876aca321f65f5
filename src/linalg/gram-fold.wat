;; Gram fold, f64x2 SIMD: the J^T J / J^T r accumulation of the streamed normal equations
;; (src/estimate/least-squares.ts), hand-written in the WebAssembly text format and assembled by
;; wabt's wat2wasm in `npm run build` into dist/src/linalg/gram-fold.wasm (loaded by gram-fold.ts).
;;
;;   fold(cols, n, m, S):  S[i n + j] += sum_{k < m} X_i[k] X_j[k]   for the tiles below,
;;
;; where X_i is the f64 row at byte address cols[i] (an i32 table of n entries; n a multiple of 4):
;; the block's J^T rows of the dense columns, then the residual row (so one column of S is J^T r),
;; then rows of zeros up to n. Tiles are 2 x 4 over (i, j): i = a, a + 1 for even a, and
;; j = b .. b + 3 for b = (a & ~3), (a & ~3) + 4, ... < n, so every entry with i <= j is
;; covered (some with i > j too; the caller reads only the upper triangle). Each tile keeps its eight
;; sums in f64x2 registers over k (lane 0: even k, lane 1: odd k), six loads per two k; an odd m
;; ends with one step of half-loads (v128.load64_zero). Addresses and lengths are in bytes or
;; elements as named; the caller guarantees they lie inside the memory.
(module
  (import "env" "memory" (memory 1))
  (func (export "fold") (param $cols i32) (param $n i32) (param $m i32) (param $S i32)
    (local $a i32) (local $b i32) (local $k i32) (local $kEnd i32) (local $rowBytes i32) (local $dst i32)
    (local $pa0 i32) (local $pa1 i32) (local $pb0 i32) (local $pb1 i32) (local $pb2 i32) (local $pb3 i32)
    (local $x0 v128) (local $x1 v128) (local $y v128)
    (local $s00 v128) (local $s01 v128) (local $s02 v128) (local $s03 v128)
    (local $s10 v128) (local $s11 v128) (local $s12 v128) (local $s13 v128)
    ;; kEnd: bytes of the even part of the block; rowBytes: one row of S
    (local.set $kEnd (i32.shl (i32.and (local.get $m) (i32.const -2)) (i32.const 3)))
    (local.set $rowBytes (i32.shl (local.get $n) (i32.const 3)))
    (local.set $a (i32.const 0))
    (block $aDone
      (loop $aLoop
        (br_if $aDone (i32.ge_u (local.get $a) (local.get $n)))
        (local.set $pa0 (i32.load (i32.add (local.get $cols) (i32.shl (local.get $a) (i32.const 2)))))
        (local.set $pa1 (i32.load offset=4 (i32.add (local.get $cols) (i32.shl (local.get $a) (i32.const 2)))))
        (local.set $b (i32.and (local.get $a) (i32.const -4)))
        (block $bDone
          (loop $bLoop
            (br_if $bDone (i32.ge_u (local.get $b) (local.get $n)))
            (local.set $pb0 (i32.load (i32.add (local.get $cols) (i32.shl (local.get $b) (i32.const 2)))))
            (local.set $pb1 (i32.load offset=4 (i32.add (local.get $cols) (i32.shl (local.get $b) (i32.const 2)))))
            (local.set $pb2 (i32.load offset=8 (i32.add (local.get $cols) (i32.shl (local.get $b) (i32.const 2)))))
            (local.set $pb3 (i32.load offset=12 (i32.add (local.get $cols) (i32.shl (local.get $b) (i32.const 2)))))
            (local.set $s00 (v128.const f64x2 0 0))
            (local.set $s01 (v128.const f64x2 0 0))
            (local.set $s02 (v128.const f64x2 0 0))
            (local.set $s03 (v128.const f64x2 0 0))
            (local.set $s10 (v128.const f64x2 0 0))
            (local.set $s11 (v128.const f64x2 0 0))
            (local.set $s12 (v128.const f64x2 0 0))
            (local.set $s13 (v128.const f64x2 0 0))
            (local.set $k (i32.const 0))
            (block $kDone
              (loop $kLoop
                (br_if $kDone (i32.ge_u (local.get $k) (local.get $kEnd)))
                (local.set $x0 (v128.load (i32.add (local.get $pa0) (local.get $k))))
                (local.set $x1 (v128.load (i32.add (local.get $pa1) (local.get $k))))
                (local.set $y (v128.load (i32.add (local.get $pb0) (local.get $k))))
                (local.set $s00 (f64x2.add (local.get $s00) (f64x2.mul (local.get $x0) (local.get $y))))
                (local.set $s10 (f64x2.add (local.get $s10) (f64x2.mul (local.get $x1) (local.get $y))))
                (local.set $y (v128.load (i32.add (local.get $pb1) (local.get $k))))
                (local.set $s01 (f64x2.add (local.get $s01) (f64x2.mul (local.get $x0) (local.get $y))))
                (local.set $s11 (f64x2.add (local.get $s11) (f64x2.mul (local.get $x1) (local.get $y))))
                (local.set $y (v128.load (i32.add (local.get $pb2) (local.get $k))))
                (local.set $s02 (f64x2.add (local.get $s02) (f64x2.mul (local.get $x0) (local.get $y))))
                (local.set $s12 (f64x2.add (local.get $s12) (f64x2.mul (local.get $x1) (local.get $y))))
                (local.set $y (v128.load (i32.add (local.get $pb3) (local.get $k))))
                (local.set $s03 (f64x2.add (local.get $s03) (f64x2.mul (local.get $x0) (local.get $y))))
                (local.set $s13 (f64x2.add (local.get $s13) (f64x2.mul (local.get $x1) (local.get $y))))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $kLoop)))
            ;; odd m: the last k, lane 1 zero
            (if (i32.and (local.get $m) (i32.const 1))
              (then
                (local.set $x0 (v128.load64_zero (i32.add (local.get $pa0) (local.get $k))))
                (local.set $x1 (v128.load64_zero (i32.add (local.get $pa1) (local.get $k))))
                (local.set $y (v128.load64_zero (i32.add (local.get $pb0) (local.get $k))))
                (local.set $s00 (f64x2.add (local.get $s00) (f64x2.mul (local.get $x0) (local.get $y))))
                (local.set $s10 (f64x2.add (local.get $s10) (f64x2.mul (local.get $x1) (local.get $y))))
                (local.set $y (v128.load64_zero (i32.add (local.get $pb1) (local.get $k))))
                (local.set $s01 (f64x2.add (local.get $s01) (f64x2.mul (local.get $x0) (local.get $y))))
                (local.set $s11 (f64x2.add (local.get $s11) (f64x2.mul (local.get $x1) (local.get $y))))
                (local.set $y (v128.load64_zero (i32.add (local.get $pb2) (local.get $k))))
                (local.set $s02 (f64x2.add (local.get $s02) (f64x2.mul (local.get $x0) (local.get $y))))
                (local.set $s12 (f64x2.add (local.get $s12) (f64x2.mul (local.get $x1) (local.get $y))))
                (local.set $y (v128.load64_zero (i32.add (local.get $pb3) (local.get $k))))
                (local.set $s03 (f64x2.add (local.get $s03) (f64x2.mul (local.get $x0) (local.get $y))))
                (local.set $s13 (f64x2.add (local.get $s13) (f64x2.mul (local.get $x1) (local.get $y))))))
            ;; S[a, b .. b + 3] += lane sums, two entries per store: [u0 + u1, v0 + v1] from [u0, v0] + [u1, v1]
            (local.set $dst (i32.add (local.get $S)
              (i32.shl (i32.add (i32.mul (local.get $a) (local.get $n)) (local.get $b)) (i32.const 3))))
            (v128.store (local.get $dst) (f64x2.add (v128.load (local.get $dst)) (f64x2.add
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $s00) (local.get $s01))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $s00) (local.get $s01)))))
            (v128.store offset=16 (local.get $dst) (f64x2.add (v128.load offset=16 (local.get $dst)) (f64x2.add
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $s02) (local.get $s03))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $s02) (local.get $s03)))))
            (local.set $dst (i32.add (local.get $dst) (local.get $rowBytes)))
            (v128.store (local.get $dst) (f64x2.add (v128.load (local.get $dst)) (f64x2.add
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $s10) (local.get $s11))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $s10) (local.get $s11)))))
            (v128.store offset=16 (local.get $dst) (f64x2.add (v128.load offset=16 (local.get $dst)) (f64x2.add
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $s12) (local.get $s13))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $s12) (local.get $s13)))))
            (local.set $b (i32.add (local.get $b) (i32.const 4)))
            (br $bLoop)))
        (local.set $a (i32.add (local.get $a) (i32.const 2)))
        (br $aLoop)))))
