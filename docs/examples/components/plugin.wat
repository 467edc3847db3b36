(module
  (import "https://evil.example/x" "f" (func))
)
