;; A component that imports an interface of a package the catalogue does not have: the WIT002
;; example of docs/check.md.
(component
  (import "example:evil/backdoor@1.0.0" (instance
    (export "open-door" (func))
  ))
)
