"""An airssys component in Python (componentize-py, world `airssys:core/filesystem-component`)
that is a TCP or UDP client through Python's own `socket` module, which CPython's libc turns into
`wasi:sockets` calls.

`execute(input)` sends `ping` to `input` and returns what the server answers: over TCP for
`HOST:PORT` (an IP literal), as one datagram for `udp:HOST:PORT`. A refused connect or send is a
component error.
"""
import socket
from typing import List, Tuple
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import airssys_core_types as t


class ComponentLifecycle(exports.ComponentLifecycle):
    def init(self, config: List[Tuple[str, str]]) -> None:
        pass

    def execute(self, input: bytes) -> bytes:
        request = input.decode()
        if request.startswith("udp:"):
            host, port = request[len("udp:"):].rsplit(":", 1)
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.sendto(b"ping", (host, int(port)))
                    data, _ = s.recvfrom(100)
                    return data
            except OSError as e:
                raise Err(t.ComponentError_PermissionDenied(f"sendto: {e}"))
        host, port = request.rsplit(":", 1)
        try:
            # `socket.connect` with an ASCII literal, not `create_connection`: the latter goes
            # through `getaddrinfo`, which needs the `idna` codec componentize-py leaves out.
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.connect((host, int(port)))
                s.sendall(b"ping")
                return s.recv(100)
        except OSError as e:
            raise Err(t.ComponentError_PermissionDenied(f"connect: {e}"))

    def handle_message(self, sender: str, payload: bytes) -> None:
        pass

    def handle_callback(self, request_id: int, result) -> None:
        pass

    def metadata(self) -> t.ComponentMetadata:
        return t.ComponentMetadata("py-client", "0.1.0", None, None, None, [])

    def health(self) -> t.HealthStatus:
        return t.HealthStatus_Healthy()

    def shutdown(self) -> None:
        pass
