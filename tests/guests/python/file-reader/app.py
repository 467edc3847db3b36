"""An airssys component in Python: `execute` reads the file named by its input through the
airssys filesystem extension and reports its size on stdout (WASI stdio)."""
import sys
from typing import List, Tuple
from wit_world import exports
from wit_world.imports import filesystem, airssys_core_types as t


class ComponentLifecycle(exports.ComponentLifecycle):
    def init(self, config: List[Tuple[str, str]]) -> None:
        print("init", len(config), file=sys.stderr)

    def execute(self, input: bytes) -> bytes:
        data = filesystem.read_file(input.decode())
        print(f"read {len(data)} bytes")
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
