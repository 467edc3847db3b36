;; Text that assembles but does not validate: `main` declares a result and returns nothing. The
;; CMP001 example of docs/check.md.
(component
  (core module $main
    (func (export "main") (result i32))
  )
)
