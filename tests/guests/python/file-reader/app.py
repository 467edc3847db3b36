"""An airssys component in Python (componentize-py, world `airssys:core/filesystem-component`).

`execute(input)` reads a file and returns its bytes, and reports on stdout (WASI stdio):
- `input` = a path: through the airssys filesystem extension (`read-file`);
- `input` = `open:` + a path: through Python's own `open()`, which CPython's libc turns into WASI
  filesystem calls on the preopened directories.
"""
import sys
from typing import List, Tuple
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import filesystem, airssys_core_types as t


class ComponentLifecycle(exports.ComponentLifecycle):
    def init(self, config: List[Tuple[str, str]]) -> None:
        print("init", len(config), file=sys.stderr)

    def execute(self, input: bytes) -> bytes:
        request = input.decode()
        try:
            if request.startswith("open:"):
                with open(request[len("open:"):], "rb") as f:
                    data = f.read()
                print(f"opened {len(data)} bytes")
            else:
                data = filesystem.read_file(request)
                print(f"read {len(data)} bytes")
        except OSError as e:
            raise Err(t.ComponentError_PermissionDenied(f"open: {e}"))
        except Err as e:
            raise Err(t.ComponentError_PermissionDenied(f"read-file: {e.value}"))
        return data

    def handle_message(self, sender: str, payload: bytes) -> None:
        pass

    def handle_callback(self, request_id: int, result) -> None:
        pass

    def metadata(self) -> t.ComponentMetadata:
        return t.ComponentMetadata("py-reader", "0.1.0", None, None, None, [])

    def health(self) -> t.HealthStatus:
        return t.HealthStatus_Healthy()

    def shutdown(self) -> None:
        pass
