;; A component that imports `get` from `wasi:keyvalue/store`, an interface outside WASI 0.2
;; (its type is a placeholder: the analyzer maps WASI functions by name): the CMP006 example of
;; docs/check.md.
(component
  (import "wasi:keyvalue/store@0.2.0" (instance
    (export "get" (func))
  ))
)
