;; The evaluation pass of the planted layer for prompts whose keys and values do not depend on the
;; image (VPT-deep and key-value prompts; src/vit/planted-layer.ts, `pass`), hand-written in the
;; WebAssembly text format and assembled by wabt's wat2wasm in `npm run build` into
;; dist/src/vit/planted-pass.wasm (loaded by planted-pass-kernel.ts).
;;
;; Per query row r = (image i, token t) and head h (q, nu0 at r d + h dh, m0 at r H + h), with the
;; prompts' keys K_j, values V_j (head h's slice at j d + h dh) and biases b_j:
;;   s_j = b_j + sum_c q_c K_jc,  mx = max(m0, s_j),  w0 = exp(m0 - mx),  w_j = exp(s_j - mx),
;;   z = w0 + sum_j w_j,  f_c = (w0 nu0_c + sum_j w_j V_jc) / z (as f_c * (1 / z)),
;; and, by mode: 4 writes f to OUT; 1 adds sum_c (f_c - y_c)^2 to the returned sum of squares;
;; 2 (with 1) accumulates the unscaled gradient sums, with e = f - y and g_j = w_j / z:
;;   GV_jc += g_j e_c,   ds_j = g_j sum_c (V_jc - f_c) e_c,   GB_j += ds_j,   GK_jc += ds_j q_c.
;; Every sum runs in the JavaScript pass's order, one f64 operation for each of its operations
;; (wasm has no fused multiply-add, and exp is JavaScript's Math.exp, imported), so the results are
;; the JavaScript pass's to the bit (test/vit/planted-pass-kernel.test.ts); the kernel only saves
;; the JIT's bounds checks and indexing.
;; Scratch at S: s (L f64), w (L f64), f (dh f64), e (dh f64).
(module
  (import "env" "memory" (memory 1))
  (import "env" "exp" (func $exp (param f64) (result f64)))

  (func (export "pass")
    (param $rows i32) (param $H i32) (param $dh i32) (param $d i32) (param $L i32)
    (param $Q i32) (param $NU i32) (param $M0 i32) (param $Y i32)
    (param $KP i32) (param $VP i32) (param $B i32)
    (param $GK i32) (param $GV i32) (param $GB i32) (param $S i32) (param $OUT i32) (param $mode i32)
    (result f64)
    (local $r i32) (local $h i32) (local $j i32) (local $c i32)
    (local $qp i32) (local $np i32) (local $yp i32) (local $op i32)
    (local $kp i32) (local $vp i32) (local $gkp i32) (local $gvp i32)
    (local $sp i32) (local $wp i32) (local $fp i32) (local $ep i32)
    (local $ho8 i32) (local $d8 i32) (local $dh8 i32)
    (local $m0 f64) (local $mx f64) (local $v f64) (local $w0 f64) (local $z f64) (local $iz f64)
    (local $wj f64) (local $gj f64) (local $ds f64) (local $e f64) (local $fc f64) (local $sse f64)
    (local.set $d8 (i32.shl (local.get $d) (i32.const 3)))
    (local.set $dh8 (i32.shl (local.get $dh) (i32.const 3)))
    (local.set $sp (local.get $S))
    (local.set $wp (i32.add (local.get $S) (i32.shl (local.get $L) (i32.const 3))))
    (local.set $fp (i32.add (local.get $wp) (i32.shl (local.get $L) (i32.const 3))))
    (local.set $ep (i32.add (local.get $fp) (local.get $dh8)))
    (local.set $sse (f64.const 0))
    (local.set $r (i32.const 0))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $h (i32.const 0))
        (block $heads_done
          (loop $heads_loop
            (br_if $heads_done (i32.ge_u (local.get $h) (local.get $H)))
            (local.set $ho8 (i32.mul (local.get $h) (local.get $dh8)))
            ;; row r, head h: q, nu0, y, out at (r d + h dh) f64
            (local.set $qp (i32.add (i32.add (local.get $Q) (i32.mul (local.get $r) (local.get $d8))) (local.get $ho8)))
            (local.set $np (i32.add (i32.add (local.get $NU) (i32.mul (local.get $r) (local.get $d8))) (local.get $ho8)))
            (local.set $yp (i32.add (i32.add (local.get $Y) (i32.mul (local.get $r) (local.get $d8))) (local.get $ho8)))
            (local.set $op (i32.add (i32.add (local.get $OUT) (i32.mul (local.get $r) (local.get $d8))) (local.get $ho8)))
            (local.set $m0 (f64.load (i32.add (local.get $M0)
              (i32.shl (i32.add (i32.mul (local.get $r) (local.get $H)) (local.get $h)) (i32.const 3)))))
            (local.set $mx (local.get $m0))
            ;; scores s_j = b_j + sum_c q_c K_jc, and their max with m0
            (local.set $j (i32.const 0))
            (block $s_done
              (loop $s_loop
                (br_if $s_done (i32.ge_u (local.get $j) (local.get $L)))
                (local.set $v (f64.load (i32.add (local.get $B) (i32.shl (local.get $j) (i32.const 3)))))
                (local.set $kp (i32.add (i32.add (local.get $KP) (i32.mul (local.get $j) (local.get $d8))) (local.get $ho8)))
                (local.set $c (i32.const 0))
                (block $c_done
                  (loop $c_loop
                    (br_if $c_done (i32.ge_u (local.get $c) (local.get $dh8)))
                    (local.set $v (f64.add (local.get $v)
                      (f64.mul (f64.load (i32.add (local.get $qp) (local.get $c))) (f64.load (i32.add (local.get $kp) (local.get $c))))))
                    (local.set $c (i32.add (local.get $c) (i32.const 8)))
                    (br $c_loop)))
                (f64.store (i32.add (local.get $sp) (i32.shl (local.get $j) (i32.const 3))) (local.get $v))
                (if (f64.gt (local.get $v) (local.get $mx)) (then (local.set $mx (local.get $v))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $s_loop)))
            (local.set $w0 (call $exp (f64.sub (local.get $m0) (local.get $mx))))
            (local.set $z (local.get $w0))
            (local.set $j (i32.const 0))
            (block $w_done
              (loop $w_loop
                (br_if $w_done (i32.ge_u (local.get $j) (local.get $L)))
                (local.set $v (call $exp (f64.sub (f64.load (i32.add (local.get $sp) (i32.shl (local.get $j) (i32.const 3)))) (local.get $mx))))
                (f64.store (i32.add (local.get $wp) (i32.shl (local.get $j) (i32.const 3))) (local.get $v))
                (local.set $z (f64.add (local.get $z) (local.get $v)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $w_loop)))
            (local.set $iz (f64.div (f64.const 1) (local.get $z)))
            ;; f = w0 nu0, then + w_j V_j in j order, then * (1 / z)
            (local.set $c (i32.const 0))
            (block $f0_done
              (loop $f0_loop
                (br_if $f0_done (i32.ge_u (local.get $c) (local.get $dh8)))
                (f64.store (i32.add (local.get $fp) (local.get $c))
                  (f64.mul (local.get $w0) (f64.load (i32.add (local.get $np) (local.get $c)))))
                (local.set $c (i32.add (local.get $c) (i32.const 8)))
                (br $f0_loop)))
            (local.set $j (i32.const 0))
            (block $fj_done
              (loop $fj_loop
                (br_if $fj_done (i32.ge_u (local.get $j) (local.get $L)))
                (local.set $wj (f64.load (i32.add (local.get $wp) (i32.shl (local.get $j) (i32.const 3)))))
                (local.set $vp (i32.add (i32.add (local.get $VP) (i32.mul (local.get $j) (local.get $d8))) (local.get $ho8)))
                (local.set $c (i32.const 0))
                (block $fc_done
                  (loop $fc_loop
                    (br_if $fc_done (i32.ge_u (local.get $c) (local.get $dh8)))
                    (f64.store (i32.add (local.get $fp) (local.get $c))
                      (f64.add (f64.load (i32.add (local.get $fp) (local.get $c)))
                        (f64.mul (local.get $wj) (f64.load (i32.add (local.get $vp) (local.get $c))))))
                    (local.set $c (i32.add (local.get $c) (i32.const 8)))
                    (br $fc_loop)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $fj_loop)))
            (local.set $c (i32.const 0))
            (block $fz_done
              (loop $fz_loop
                (br_if $fz_done (i32.ge_u (local.get $c) (local.get $dh8)))
                (local.set $fc (f64.mul (f64.load (i32.add (local.get $fp) (local.get $c))) (local.get $iz)))
                (f64.store (i32.add (local.get $fp) (local.get $c)) (local.get $fc))
                (if (i32.and (local.get $mode) (i32.const 4))
                  (then (f64.store (i32.add (local.get $op) (local.get $c)) (local.get $fc))))
                (local.set $c (i32.add (local.get $c) (i32.const 8)))
                (br $fz_loop)))
            (if (i32.and (local.get $mode) (i32.const 1))
              (then
                ;; e = f - y, sum of squares
                (local.set $c (i32.const 0))
                (block $e_done
                  (loop $e_loop
                    (br_if $e_done (i32.ge_u (local.get $c) (local.get $dh8)))
                    (local.set $e (f64.sub (f64.load (i32.add (local.get $fp) (local.get $c))) (f64.load (i32.add (local.get $yp) (local.get $c)))))
                    (f64.store (i32.add (local.get $ep) (local.get $c)) (local.get $e))
                    (local.set $sse (f64.add (local.get $sse) (f64.mul (local.get $e) (local.get $e))))
                    (local.set $c (i32.add (local.get $c) (i32.const 8)))
                    (br $e_loop)))
                (if (i32.and (local.get $mode) (i32.const 2))
                  (then
                    (local.set $j (i32.const 0))
                    (block $g_done
                      (loop $g_loop
                        (br_if $g_done (i32.ge_u (local.get $j) (local.get $L)))
                        (local.set $gj (f64.mul (f64.load (i32.add (local.get $wp) (i32.shl (local.get $j) (i32.const 3)))) (local.get $iz)))
                        (local.set $vp (i32.add (i32.add (local.get $VP) (i32.mul (local.get $j) (local.get $d8))) (local.get $ho8)))
                        (local.set $gvp (i32.add (i32.add (local.get $GV) (i32.mul (local.get $j) (local.get $d8))) (local.get $ho8)))
                        (local.set $gkp (i32.add (i32.add (local.get $GK) (i32.mul (local.get $j) (local.get $d8))) (local.get $ho8)))
                        (local.set $ds (f64.const 0))
                        (local.set $c (i32.const 0))
                        (block $gc_done
                          (loop $gc_loop
                            (br_if $gc_done (i32.ge_u (local.get $c) (local.get $dh8)))
                            (local.set $e (f64.load (i32.add (local.get $ep) (local.get $c))))
                            (local.set $ds (f64.add (local.get $ds)
                              (f64.mul (f64.sub (f64.load (i32.add (local.get $vp) (local.get $c))) (f64.load (i32.add (local.get $fp) (local.get $c)))) (local.get $e))))
                            (f64.store (i32.add (local.get $gvp) (local.get $c))
                              (f64.add (f64.load (i32.add (local.get $gvp) (local.get $c))) (f64.mul (local.get $gj) (local.get $e))))
                            (local.set $c (i32.add (local.get $c) (i32.const 8)))
                            (br $gc_loop)))
                        (local.set $ds (f64.mul (local.get $ds) (local.get $gj)))
                        (f64.store (i32.add (local.get $GB) (i32.shl (local.get $j) (i32.const 3)))
                          (f64.add (f64.load (i32.add (local.get $GB) (i32.shl (local.get $j) (i32.const 3)))) (local.get $ds)))
                        (local.set $c (i32.const 0))
                        (block $gk_done
                          (loop $gk_loop
                            (br_if $gk_done (i32.ge_u (local.get $c) (local.get $dh8)))
                            (f64.store (i32.add (local.get $gkp) (local.get $c))
                              (f64.add (f64.load (i32.add (local.get $gkp) (local.get $c)))
                                (f64.mul (local.get $ds) (f64.load (i32.add (local.get $qp) (local.get $c))))))
                            (local.set $c (i32.add (local.get $c) (i32.const 8)))
                            (br $gk_loop)))
                        (local.set $j (i32.add (local.get $j) (i32.const 1)))
                        (br $g_loop)))))))
            (local.set $h (i32.add (local.get $h) (i32.const 1)))
            (br $heads_loop)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows_loop)))
    (local.get $sse))
)
