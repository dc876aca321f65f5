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
;; The log-likelihood needs log tot once per sample; wasm has no log, so the kernel keeps the product
;; of the tot (each in [1, k]) per lane, renormalised to [1, 2) after every pair with its biased
;; exponent added to an i64 counter: O = [sum m (f64x2), mantissa product (f64x2), exponent sum (i64x2)],
;; and the caller forms sum m + log(mantissa) + (exponents - 1023 pairs) ln 2 per lane.
;; Scratch at W + 48 j = [lw_j or w_j, u, h] (f64x2 each). X and Y hold n values each, padded with
;; zeros to an even count; an odd n masks lane 1 of the last pair out of every sum.
;;
;; exp is written here by hand because wasm has no exp instruction and no library provides a
;; vectorised one for wasm SIMD: for t <= 0,
;;   t = k ln2 + r, k = round(t log2 e) (by the 1.5 2^52 shifter, which also leaves k in the low bits),
;;   r = (t - k ln2_hi) - k ln2_lo (Cody-Waite: ln2_hi has 32 significant bits, so k ln2_hi is exact),
;;   |r| <= ln2 / 2 (plus rounding), exp(r) = sum_{i <= 12} r^i / i! (Horner; the truncation error is
;;   below |r|^13 / 13! < 1.7e-16 relative), then exp(t) = (exp(r) 2^(k + 60)) 2^-60: the exponent bits
;;   of 2^(k + 60) are built from the shifter's low bits, and the last multiply rounds once into the
;;   subnormals. t is first raised to -746 (where exp underflows to 0), which also maps -inf to 0.
;;   exp(0) = 1 exactly (r = 0, k = 0).
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

  ;; in place at $at, $at + $stride, ... < $end (byte addresses): v = exp(v - $m) in both lanes (v - m <= 0; see above)
  (func $expShifted (param $at i32) (param $end i32) (param $stride i32) (param $m v128)
    (local $t v128) (local $kd v128) (local $kf v128) (local $r v128) (local $r2 v128) (local $r4 v128) (local $p v128)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $t (f64x2.pmax (f64x2.sub (v128.load (local.get $at)) (local.get $m)) (v128.load (i32.const 0))))
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
        (local.set $at (i32.add (local.get $at) (local.get $stride)))
        (br $next))))

  ;; exp in place over m values at byte address $at (m even; for tests)
  (func (export "exp") (param $at i32) (param $m i32)
    (call $expShifted (local.get $at) (i32.add (local.get $at) (i32.shl (local.get $m) (i32.const 3))) (i32.const 16) (v128.const f64x2 0 0)))

  ;; the pass: records P, sums S, scratch W (k components), data X at $x and Y at $y (n values), out O
  (func (export "pass") (param $P i32) (param $S i32) (param $W i32) (param $k i32) (param $x i32) (param $y i32)
    (param $n i32) (param $stats i32) (param $O i32)
    (local $ib i32) (local $end i32) (local $tail i32) (local $pj i32) (local $wj i32) (local $sj i32) (local $wEnd i32)
    (local $mask v128) (local $xv v128) (local $yv v128) (local $mx v128) (local $tot v128) (local $inv v128)
    (local $sumM v128) (local $prod v128) (local $ex v128)
    (local $u v128) (local $h v128) (local $e v128) (local $z v128) (local $v v128) (local $r v128) (local $ru v128) (local $ry v128)
    ;; end: bytes of the padded pairs; tail: byte offset of a half-filled last pair, else -1
    (local.set $end (i32.shl (i32.shr_u (i32.add (local.get $n) (i32.const 1)) (i32.const 1)) (i32.const 4)))
    (local.set $tail (select (i32.sub (local.get $end) (i32.const 16)) (i32.const -1) (i32.and (local.get $n) (i32.const 1))))
    (local.set $wEnd (i32.add (local.get $W) (i32.mul (local.get $k) (i32.const 48))))
    (if (local.get $stats)
      (then
        (local.set $sj (local.get $S))
        (block $zDone
          (loop $z
            (br_if $zDone (i32.ge_u (local.get $sj) (i32.add (local.get $S) (i32.mul (local.get $k) (i32.const 96)))))
            (v128.store (local.get $sj) (v128.const i64x2 0 0))
            (local.set $sj (i32.add (local.get $sj) (i32.const 16)))
            (br $z)))))
    (local.set $sumM (v128.const f64x2 0 0))
    (local.set $prod (v128.const f64x2 1 1))
    (local.set $ex (v128.const i64x2 0 0))
    (local.set $ib (i32.const 0))
    (block $iDone
      (loop $i
        (br_if $iDone (i32.ge_u (local.get $ib) (local.get $end)))
        (local.set $mask (select (v128.const i64x2 -1 0) (v128.const i64x2 -1 -1) (i32.eq (local.get $ib) (local.get $tail))))
        (local.set $xv (v128.load (i32.add (local.get $x) (local.get $ib))))
        (local.set $yv (v128.load (i32.add (local.get $y) (local.get $ib))))
        ;; log weights and their maximum
        (local.set $mx (v128.const f64x2 -inf -inf))
        (local.set $pj (local.get $P))
        (local.set $wj (local.get $W))
        (block $j1Done
          (loop $j1
            (br_if $j1Done (i32.ge_u (local.get $wj) (local.get $wEnd)))
            (local.set $u (f64x2.sub (local.get $xv) (v128.load64_splat (local.get $pj))))
            (local.set $h (f64x2.sub (local.get $yv) (v128.load64_splat offset=8 (local.get $pj))))
            (local.set $e (f64x2.sub (local.get $h) (f64x2.mul (v128.load64_splat offset=16 (local.get $pj)) (local.get $u))))
            (local.set $z (f64x2.mul (v128.load64_splat offset=24 (local.get $pj)) (local.get $u)))
            (local.set $v (f64x2.sub (v128.load64_splat offset=32 (local.get $pj))
              (f64x2.mul (v128.load offset=320 (i32.const 0))
                (f64x2.add (f64x2.mul (local.get $z) (local.get $z))
                  (f64x2.mul (f64x2.mul (local.get $e) (local.get $e)) (v128.load64_splat offset=40 (local.get $pj)))))))
            (v128.store (local.get $wj) (local.get $v))
            (v128.store offset=16 (local.get $wj) (local.get $u))
            (v128.store offset=32 (local.get $wj) (local.get $h))
            (local.set $mx (f64x2.pmax (local.get $mx) (local.get $v)))
            (local.set $pj (i32.add (local.get $pj) (i32.const 48)))
            (local.set $wj (i32.add (local.get $wj) (i32.const 48)))
            (br $j1)))
        ;; weights w_j = exp(lw_j - m) and their total
        (call $expShifted (local.get $W) (local.get $wEnd) (i32.const 48) (local.get $mx))
        (local.set $tot (v128.const f64x2 0 0))
        (local.set $wj (local.get $W))
        (block $j2Done
          (loop $j2
            (br_if $j2Done (i32.ge_u (local.get $wj) (local.get $wEnd)))
            (local.set $tot (f64x2.add (local.get $tot) (v128.load (local.get $wj))))
            (local.set $wj (i32.add (local.get $wj) (i32.const 48)))
            (br $j2)))
        ;; log-likelihood parts: sum m, and the product of the tot kept in [1, 2) with its exponents counted
        (local.set $sumM (f64x2.add (local.get $sumM) (v128.and (local.get $mx) (local.get $mask))))
        (local.set $prod (f64x2.mul (local.get $prod) (v128.bitselect (local.get $tot) (v128.const f64x2 1 1) (local.get $mask))))
        (local.set $ex (i64x2.add (local.get $ex) (i64x2.shr_u (local.get $prod) (i32.const 52))))
        (local.set $prod (v128.or (v128.and (local.get $prod) (v128.load offset=336 (i32.const 0)))
          (v128.load offset=352 (i32.const 0))))
        (if (local.get $stats)
          (then
            (local.set $inv (v128.and (f64x2.div (v128.const f64x2 1 1) (local.get $tot)) (local.get $mask)))
            (local.set $wj (local.get $W))
            (local.set $sj (local.get $S))
            (block $j3Done
              (loop $j3
                (br_if $j3Done (i32.ge_u (local.get $wj) (local.get $wEnd)))
                (local.set $r (f64x2.mul (v128.load (local.get $wj)) (local.get $inv)))
                (local.set $u (v128.load offset=16 (local.get $wj)))
                (local.set $h (v128.load offset=32 (local.get $wj)))
                (local.set $ru (f64x2.mul (local.get $r) (local.get $u)))
                (local.set $ry (f64x2.mul (local.get $r) (local.get $h)))
                (v128.store (local.get $sj) (f64x2.add (v128.load (local.get $sj)) (local.get $r)))
                (v128.store offset=16 (local.get $sj) (f64x2.add (v128.load offset=16 (local.get $sj)) (local.get $ru)))
                (v128.store offset=32 (local.get $sj) (f64x2.add (v128.load offset=32 (local.get $sj)) (local.get $ry)))
                (v128.store offset=48 (local.get $sj) (f64x2.add (v128.load offset=48 (local.get $sj)) (f64x2.mul (local.get $ru) (local.get $u))))
                (v128.store offset=64 (local.get $sj) (f64x2.add (v128.load offset=64 (local.get $sj)) (f64x2.mul (local.get $ru) (local.get $h))))
                (v128.store offset=80 (local.get $sj) (f64x2.add (v128.load offset=80 (local.get $sj)) (f64x2.mul (local.get $ry) (local.get $h))))
                (local.set $wj (i32.add (local.get $wj) (i32.const 48)))
                (local.set $sj (i32.add (local.get $sj) (i32.const 96)))
                (br $j3)))))
        (local.set $ib (i32.add (local.get $ib) (i32.const 16)))
        (br $i)))
    (v128.store (local.get $O) (local.get $sumM))
    (v128.store offset=16 (local.get $O) (local.get $prod))
    (v128.store offset=32 (local.get $O) (local.get $ex))))
