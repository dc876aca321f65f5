;; The fused E-step pass of Gaussian-gated EM at d = 1 (src/estimate/em-gaussian-gated.ts, `emPassD1`)
;; as an f64x2 SIMD kernel, two samples per vector (lane 0: sample i, lane 1: sample i + 1),
;; hand-written in the WebAssembly text format and assembled by wabt's wat2wasm in `npm run build`
;; into dist/src/estimate/em-d1.wasm (loaded by em-d1-kernel.ts).
;;
;; Per sample and component j, with the component record at P + 48 j = [c, shiftY, A, Linv, logConst, invNu]:
;;   u = x - c,  h = y - shiftY,  e = h - A u,  z = Linv u,  lw_j = logConst - 1/2 (z^2 + e^2 invNu),
;;   m = max_j lw_j,  w_j = exp(lw_j - m),  tot = sum_j w_j,  r_j = w_j / tot,
;; and (stats != 0) the lane-pair sums at S + 96 j = [S0, Sx, Sy, Sxx, Sxy, Syy] (f64x2 each) of
;;   r, r u, r h, r u^2, r u h, r h^2.
;; The samples go in blocks of up to 32 pairs, component by component inside a block, so that a
;; component's constants and its six sums stay in registers and the only stores per sample pair and
;; component are lw_j, the running max and w_j: scratch at W holds the block's rows lw_j / w_j
;; (k rows of 32 f64x2), then m (32 f64x2), then 1 / tot (32 f64x2). u and h are recomputed where
;; the sums need them (the same operations, so the same values).
;; The log-likelihood needs log tot once per sample; wasm has no log, so the kernel keeps the product
;; of the tot (each in [1, k]) per lane, renormalised to [1, 2) after every pair with its biased
;; exponent added to an i64 counter: O = [sum m (f64x2), mantissa product (f64x2), exponent sum (i64x2)],
;; and the caller forms sum m + log(mantissa) + (exponents - 1023 pairs) ln 2 per lane.
;; X and Y hold n values each, padded with zeros to an even count; an odd n masks lane 1 of the
;; last pair out of every sum.
;;
;; exp is written here by hand because wasm has no exp instruction and no library provides a
;; vectorised one for wasm SIMD: for t <= 0,
;;   t = k ln2 + r, k = round(t log2 e) (by the 1.5 2^52 shifter, which also leaves k in the low bits),
;;   r = (t - k ln2_hi) - k ln2_lo (Cody-Waite: ln2_hi has 32 significant bits, so k ln2_hi is exact),
;;   |r| <= ln2 / 2 (plus rounding), exp(r) = sum_{i <= 12} r^i / i! (Estrin's scheme; the truncation
;;   error is below |r|^13 / 13! < 1.7e-16 relative), then exp(t) = (exp(r) 2^(k + 60)) 2^-60: the
;;   exponent bits of 2^(k + 60) are built from the shifter's low bits, and the last multiply rounds
;;   once into the subnormals. t is first raised to -746 (where exp underflows to 0), which also maps
;;   -inf to 0. exp(0) = 1 exactly (r = 0, k = 0).
(module
  (import "env" "memory" (memory 1))

  ;; the constant table at bytes 0 .. 368 (a v128.const costs several instructions in a loop; a load is one)
  (func $init
    (v128.store offset=0 (i32.const 0) (v128.const f64x2 -746 -746))  ;; NEG746
    (v128.store offset=16 (i32.const 0) (v128.const f64x2 1.4426950408889634 1.4426950408889634))  ;; LOG2E
    (v128.store offset=32 (i32.const 0) (v128.const f64x2 6755399441055744 6755399441055744))  ;; SHIFT
    (v128.store offset=48 (i32.const 0) (v128.const f64x2 0.6931471803691238 0.6931471803691238))  ;; LN2HI
    (v128.store offset=64 (i32.const 0) (v128.const f64x2 1.9082149292705877e-10 1.9082149292705877e-10))  ;; LN2LO
    (v128.store offset=80 (i32.const 0) (v128.const f64x2 2.08767569878681e-9 2.08767569878681e-9))  ;; C12
    (v128.store offset=96 (i32.const 0) (v128.const f64x2 2.505210838544172e-8 2.505210838544172e-8))  ;; C11
    (v128.store offset=112 (i32.const 0) (v128.const f64x2 2.755731922398589e-7 2.755731922398589e-7))  ;; C10
    (v128.store offset=128 (i32.const 0) (v128.const f64x2 2.7557319223985893e-6 2.7557319223985893e-6))  ;; C9
    (v128.store offset=144 (i32.const 0) (v128.const f64x2 2.48015873015873e-5 2.48015873015873e-5))  ;; C8
    (v128.store offset=160 (i32.const 0) (v128.const f64x2 1.984126984126984e-4 1.984126984126984e-4))  ;; C7
    (v128.store offset=176 (i32.const 0) (v128.const f64x2 0.001388888888888889 0.001388888888888889))  ;; C6
    (v128.store offset=192 (i32.const 0) (v128.const f64x2 0.008333333333333333 0.008333333333333333))  ;; C5
    (v128.store offset=208 (i32.const 0) (v128.const f64x2 0.041666666666666664 0.041666666666666664))  ;; C4
    (v128.store offset=224 (i32.const 0) (v128.const f64x2 0.16666666666666666 0.16666666666666666))  ;; C3
    (v128.store offset=240 (i32.const 0) (v128.const f64x2 0.5 0.5))  ;; C2
    (v128.store offset=256 (i32.const 0) (v128.const f64x2 1 1))  ;; C1
    (v128.store offset=272 (i32.const 0) (v128.const f64x2 1 1))  ;; C0
    (v128.store offset=288 (i32.const 0) (v128.const i64x2 1083 1083))  ;; BIAS
    (v128.store offset=304 (i32.const 0) (v128.const f64x2 8.673617379884035e-19 8.673617379884035e-19))  ;; TWOM60
    (v128.store offset=320 (i32.const 0) (v128.const f64x2 0.5 0.5))  ;; HALF
    (v128.store offset=336 (i32.const 0) (v128.const i64x2 0x000fffffffffffff 0x000fffffffffffff))  ;; MANT
    (v128.store offset=352 (i32.const 0) (v128.const i64x2 0x3ff0000000000000 0x3ff0000000000000))  ;; ONEBITS
  )
  (start $init)

  ;; in place over [$at, $end) (byte addresses), with shifts from $sh on: v = exp(v - s) in both lanes (v - s <= 0; see above)
  (func $expShifted (param $at i32) (param $end i32) (param $sh i32)
    (local $t v128) (local $kd v128) (local $kf v128) (local $r v128) (local $r2 v128) (local $r4 v128) (local $p v128)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $t (f64x2.pmax (f64x2.sub (v128.load (local.get $at)) (v128.load (local.get $sh))) (v128.load (i32.const 0))))
        (local.set $kd (f64x2.add (f64x2.mul (local.get $t) (v128.load offset=16 (i32.const 0)))
          (v128.load offset=32 (i32.const 0))))
        (local.set $kf (f64x2.sub (local.get $kd) (v128.load offset=32 (i32.const 0))))
        (local.set $r (f64x2.sub
          (f64x2.sub (local.get $t) (f64x2.mul (local.get $kf) (v128.load offset=48 (i32.const 0))))
          (f64x2.mul (local.get $kf) (v128.load offset=64 (i32.const 0)))))
        ;; exp(r) = sum_{i <= 12} r^i / i! by Estrin's scheme (a short dependency chain): with q_i = c_2i + c_2i+1 r,
        ;; p = (q_0 + r^2 q_1) + r^4 (q_2 + r^2 q_3) + r^8 ((q_4 + r^2 q_5) + r^4 c_12)
        (local.set $r2 (f64x2.mul (local.get $r) (local.get $r)))
        (local.set $r4 (f64x2.mul (local.get $r2) (local.get $r2)))
        (local.set $p (f64x2.add (f64x2.add (f64x2.add (v128.load offset=272 (i32.const 0)) (f64x2.mul (local.get $r) (v128.load offset=256 (i32.const 0)))) (f64x2.mul (local.get $r2) (f64x2.add (v128.load offset=240 (i32.const 0)) (f64x2.mul (local.get $r) (v128.load offset=224 (i32.const 0))))))
          (f64x2.mul (local.get $r4) (f64x2.add (f64x2.add (v128.load offset=208 (i32.const 0)) (f64x2.mul (local.get $r) (v128.load offset=192 (i32.const 0)))) (f64x2.mul (local.get $r2) (f64x2.add (v128.load offset=176 (i32.const 0)) (f64x2.mul (local.get $r) (v128.load offset=160 (i32.const 0)))))))))
        (local.set $p (f64x2.add (local.get $p) (f64x2.mul (f64x2.mul (local.get $r4) (local.get $r4))
          (f64x2.add (f64x2.add (f64x2.add (v128.load offset=144 (i32.const 0)) (f64x2.mul (local.get $r) (v128.load offset=128 (i32.const 0)))) (f64x2.mul (local.get $r2) (f64x2.add (v128.load offset=112 (i32.const 0)) (f64x2.mul (local.get $r) (v128.load offset=96 (i32.const 0)))))) (f64x2.mul (local.get $r4) (v128.load offset=80 (i32.const 0)))))))
        ;; 2^(k + 60): (k + 1083) in the exponent field; the shifter's low 12 bits are k mod 4096
        (v128.store (local.get $at) (f64x2.mul
          (f64x2.mul (local.get $p) (i64x2.shl (i64x2.add (local.get $kd) (v128.load offset=288 (i32.const 0))) (i32.const 52)))
          (v128.load offset=304 (i32.const 0))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (local.set $sh (i32.add (local.get $sh) (i32.const 16)))
        (br $next))))

  ;; exp(v - s) in place over m values at byte address $at, shifts s at $sh (m even; for tests)
  (func (export "exp") (param $at i32) (param $sh i32) (param $m i32)
    (call $expShifted (local.get $at) (i32.add (local.get $at) (i32.shl (local.get $m) (i32.const 3))) (local.get $sh)))

  ;; the pass: records P, sums S, scratch W (k components), data X at $x and Y at $y (n values), out O
  (func (export "pass") (param $P i32) (param $S i32) (param $W i32) (param $k i32) (param $x i32) (param $y i32)
    (param $n i32) (param $stats i32) (param $O i32)
    (local $end i32) (local $tail i32) (local $i0 i32) (local $bEnd i32) (local $b i32)
    (local $pj i32) (local $row i32) (local $sj i32) (local $mxAt i32) (local $invAt i32)
    (local $mask v128) (local $xv v128) (local $yv v128) (local $u v128) (local $h v128) (local $e v128) (local $z v128) (local $v v128)
    (local $c v128) (local $sY v128) (local $A v128) (local $L v128) (local $lc v128) (local $iN v128)
    (local $tot v128) (local $r v128) (local $ru v128) (local $ry v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128)
    (local $sumM v128) (local $prod v128) (local $ex v128)
    ;; end: bytes of the padded pairs; tail: byte offset of a half-filled last pair, else -1
    (local.set $end (i32.shl (i32.shr_u (i32.add (local.get $n) (i32.const 1)) (i32.const 1)) (i32.const 4)))
    (local.set $tail (select (i32.sub (local.get $end) (i32.const 16)) (i32.const -1) (i32.and (local.get $n) (i32.const 1))))
    (local.set $mxAt (i32.add (local.get $W) (i32.shl (local.get $k) (i32.const 9))))
    (local.set $invAt (i32.add (local.get $mxAt) (i32.const 512)))
    (if (local.get $stats)
      (then
        (local.set $sj (local.get $S))
        (block $zDone
          (loop $zero
            (br_if $zDone (i32.ge_u (local.get $sj) (i32.add (local.get $S) (i32.mul (local.get $k) (i32.const 96)))))
            (v128.store (local.get $sj) (v128.const i64x2 0 0))
            (local.set $sj (i32.add (local.get $sj) (i32.const 16)))
            (br $zero)))))
    (local.set $sumM (v128.const f64x2 0 0))
    (local.set $prod (v128.load offset=256 (i32.const 0)))
    (local.set $ex (v128.const i64x2 0 0))
    (local.set $i0 (i32.const 0))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.ge_u (local.get $i0) (local.get $end)))
        ;; bEnd: bytes of pairs in this block (at most 32 pairs)
        (local.set $bEnd (select (i32.const 512) (i32.sub (local.get $end) (local.get $i0))
          (i32.gt_u (i32.sub (local.get $end) (local.get $i0)) (i32.const 512))))
        ;; m = -inf
        (local.set $b (i32.const 0))
        (block $m0Done
          (loop $m0
            (br_if $m0Done (i32.ge_u (local.get $b) (local.get $bEnd)))
            (v128.store (i32.add (local.get $mxAt) (local.get $b)) (v128.const f64x2 -inf -inf))
            (local.set $b (i32.add (local.get $b) (i32.const 16)))
            (br $m0)))
        ;; rows lw_j and the running max, component by component
        (local.set $pj (local.get $P))
        (local.set $row (local.get $W))
        (block $jaDone
          (loop $ja
            (br_if $jaDone (i32.ge_u (local.get $row) (local.get $mxAt)))
            (local.set $c (v128.load64_splat (local.get $pj)))
            (local.set $sY (v128.load64_splat offset=8 (local.get $pj)))
            (local.set $A (v128.load64_splat offset=16 (local.get $pj)))
            (local.set $L (v128.load64_splat offset=24 (local.get $pj)))
            (local.set $lc (v128.load64_splat offset=32 (local.get $pj)))
            (local.set $iN (v128.load64_splat offset=40 (local.get $pj)))
            (local.set $b (i32.const 0))
            (block $baDone
              (loop $ba
                (br_if $baDone (i32.ge_u (local.get $b) (local.get $bEnd)))
                (local.set $u (f64x2.sub (v128.load (i32.add (local.get $x) (i32.add (local.get $i0) (local.get $b)))) (local.get $c)))
                (local.set $h (f64x2.sub (v128.load (i32.add (local.get $y) (i32.add (local.get $i0) (local.get $b)))) (local.get $sY)))
                (local.set $e (f64x2.sub (local.get $h) (f64x2.mul (local.get $A) (local.get $u))))
                (local.set $z (f64x2.mul (local.get $L) (local.get $u)))
                (local.set $v (f64x2.sub (local.get $lc)
                  (f64x2.mul (v128.load offset=320 (i32.const 0))
                    (f64x2.add (f64x2.mul (local.get $z) (local.get $z)) (f64x2.mul (f64x2.mul (local.get $e) (local.get $e)) (local.get $iN))))))
                (v128.store (i32.add (local.get $row) (local.get $b)) (local.get $v))
                (v128.store (i32.add (local.get $mxAt) (local.get $b))
                  (f64x2.pmax (v128.load (i32.add (local.get $mxAt) (local.get $b))) (local.get $v)))
                (local.set $b (i32.add (local.get $b) (i32.const 16)))
                (br $ba)))
            (local.set $pj (i32.add (local.get $pj) (i32.const 48)))
            (local.set $row (i32.add (local.get $row) (i32.const 512)))
            (br $ja)))
        ;; w_j = exp(lw_j - m), row by row
        (local.set $row (local.get $W))
        (block $jbDone
          (loop $jb
            (br_if $jbDone (i32.ge_u (local.get $row) (local.get $mxAt)))
            (call $expShifted (local.get $row) (i32.add (local.get $row) (local.get $bEnd)) (local.get $mxAt))
            (local.set $row (i32.add (local.get $row) (i32.const 512)))
            (br $jb)))
        ;; per pair: tot, the log-likelihood parts, 1 / tot (0 in a masked lane)
        (local.set $b (i32.const 0))
        (block $bcDone
          (loop $bc
            (br_if $bcDone (i32.ge_u (local.get $b) (local.get $bEnd)))
            (local.set $tot (v128.const f64x2 0 0))
            (local.set $row (i32.add (local.get $W) (local.get $b)))
            (block $jcDone
              (loop $jc
                (br_if $jcDone (i32.ge_u (local.get $row) (local.get $mxAt)))
                (local.set $tot (f64x2.add (local.get $tot) (v128.load (local.get $row))))
                (local.set $row (i32.add (local.get $row) (i32.const 512)))
                (br $jc)))
            (local.set $mask (select (v128.const i64x2 -1 0) (v128.const i64x2 -1 -1) (i32.eq (i32.add (local.get $i0) (local.get $b)) (local.get $tail))))
            (local.set $sumM (f64x2.add (local.get $sumM) (v128.and (v128.load (i32.add (local.get $mxAt) (local.get $b))) (local.get $mask))))
            (local.set $prod (f64x2.mul (local.get $prod) (v128.bitselect (local.get $tot) (v128.load offset=256 (i32.const 0)) (local.get $mask))))
            (local.set $ex (i64x2.add (local.get $ex) (i64x2.shr_u (local.get $prod) (i32.const 52))))
            (local.set $prod (v128.or (v128.and (local.get $prod) (v128.load offset=336 (i32.const 0))) (v128.load offset=352 (i32.const 0))))
            (v128.store (i32.add (local.get $invAt) (local.get $b))
              (v128.and (f64x2.div (v128.load offset=256 (i32.const 0)) (local.get $tot)) (local.get $mask)))
            (local.set $b (i32.add (local.get $b) (i32.const 16)))
            (br $bc)))
        ;; the sums, component by component, in registers over the block
        (if (local.get $stats)
          (then
            (local.set $pj (local.get $P))
            (local.set $row (local.get $W))
            (local.set $sj (local.get $S))
            (block $jdDone
              (loop $jd
                (br_if $jdDone (i32.ge_u (local.get $row) (local.get $mxAt)))
                (local.set $c (v128.load64_splat (local.get $pj)))
                (local.set $sY (v128.load64_splat offset=8 (local.get $pj)))
                (local.set $a0 (v128.const f64x2 0 0))
                (local.set $a1 (v128.const f64x2 0 0))
                (local.set $a2 (v128.const f64x2 0 0))
                (local.set $a3 (v128.const f64x2 0 0))
                (local.set $a4 (v128.const f64x2 0 0))
                (local.set $a5 (v128.const f64x2 0 0))
                (local.set $b (i32.const 0))
                (block $bdDone
                  (loop $bd
                    (br_if $bdDone (i32.ge_u (local.get $b) (local.get $bEnd)))
                    (local.set $r (f64x2.mul (v128.load (i32.add (local.get $row) (local.get $b))) (v128.load (i32.add (local.get $invAt) (local.get $b)))))
                    (local.set $u (f64x2.sub (v128.load (i32.add (local.get $x) (i32.add (local.get $i0) (local.get $b)))) (local.get $c)))
                    (local.set $h (f64x2.sub (v128.load (i32.add (local.get $y) (i32.add (local.get $i0) (local.get $b)))) (local.get $sY)))
                    (local.set $ru (f64x2.mul (local.get $r) (local.get $u)))
                    (local.set $ry (f64x2.mul (local.get $r) (local.get $h)))
                    (local.set $a0 (f64x2.add (local.get $a0) (local.get $r)))
                    (local.set $a1 (f64x2.add (local.get $a1) (local.get $ru)))
                    (local.set $a2 (f64x2.add (local.get $a2) (local.get $ry)))
                    (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $ru) (local.get $u))))
                    (local.set $a4 (f64x2.add (local.get $a4) (f64x2.mul (local.get $ru) (local.get $h))))
                    (local.set $a5 (f64x2.add (local.get $a5) (f64x2.mul (local.get $ry) (local.get $h))))
                    (local.set $b (i32.add (local.get $b) (i32.const 16)))
                    (br $bd)))
                (v128.store (local.get $sj) (f64x2.add (v128.load (local.get $sj)) (local.get $a0)))
                (v128.store offset=16 (local.get $sj) (f64x2.add (v128.load offset=16 (local.get $sj)) (local.get $a1)))
                (v128.store offset=32 (local.get $sj) (f64x2.add (v128.load offset=32 (local.get $sj)) (local.get $a2)))
                (v128.store offset=48 (local.get $sj) (f64x2.add (v128.load offset=48 (local.get $sj)) (local.get $a3)))
                (v128.store offset=64 (local.get $sj) (f64x2.add (v128.load offset=64 (local.get $sj)) (local.get $a4)))
                (v128.store offset=80 (local.get $sj) (f64x2.add (v128.load offset=80 (local.get $sj)) (local.get $a5)))
                (local.set $pj (i32.add (local.get $pj) (i32.const 48)))
                (local.set $row (i32.add (local.get $row) (i32.const 512)))
                (local.set $sj (i32.add (local.get $sj) (i32.const 96)))
                (br $jd)))))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 512)))
        (br $blocks)))
    (v128.store (local.get $O) (local.get $sumM))
    (v128.store offset=16 (local.get $O) (local.get $prod))
    (v128.store offset=32 (local.get $O) (local.get $ex))))
