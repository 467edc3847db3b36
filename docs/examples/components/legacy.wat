(module
  (import "airssys:ext-filesystem/filesystem@1.0.0" "write-file" (func))
)
