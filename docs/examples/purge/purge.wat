;; A hand-written component whose `delete-file` import has another type than the catalogue's
;; (its error is a `u8`, not `fs-error`): the WIT003 example of docs/check.md.
(component
  (import "airssys:ext-filesystem/filesystem@1.0.0" (instance
    (export "delete-file" (func (param "path" string) (result (result (error u8)))))
  ))
)
