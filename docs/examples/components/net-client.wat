;; A component built against version 2 of the catalogue's network package, which does not link
;; with the catalogue's 1.0.0: the WIT004 example of docs/check.md.
(component
  (import "airssys:ext-network/socket@2.0.0" (instance
    (export "send" (func (param "data" (list u8))))
  ))
)
