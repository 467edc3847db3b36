;; A WASI command that imports nothing: it exports `wasi:cli/run` and its `run` returns `ok`.
;; The WIT005 example of docs/check.md (`check --kind airssys`).
(component
  (core module $main
    (func (export "run") (result i32) i32.const 0)
  )
  (core instance $main (instantiate $main))
  (func $run (result (result)) (canon lift (core func $main "run")))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-instance))
)
