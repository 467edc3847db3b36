"""An airssys component in Python (componentize-py, world `http-client` of `world.wit`: the
airssys component world plus `wasi:http/outgoing-handler`).

`execute(input)` sends `GET http://<input>/hello` through `wasi:http` and returns the status and
the body (`200 hello`); a request the host refuses is a component error naming the HTTP error.
Resources are dropped in order (`with`): a body's stream before the body, the response after.
"""
from typing import List, Tuple
from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import airssys_core_types as t
from wit_world.imports import outgoing_handler
from wit_world.imports import wasi_http_types as http

class ComponentLifecycle(exports.ComponentLifecycle):
    def init(self, config: List[Tuple[str, str]]) -> None:
        pass
    def execute(self, input: bytes) -> bytes:
        authority = input.decode()
        request = http.OutgoingRequest(http.Fields())
        request.set_scheme(http.Scheme_Http())
        request.set_authority(authority)
        request.set_path_with_query("/hello")
        try:
            future = outgoing_handler.handle(request, None)
        except Err as e:
            raise Err(t.ComponentError_PermissionDenied(f"handle: {e.value}"))
        with future:
            with future.subscribe() as pollable:
                pollable.block()
            result = future.get()
        if isinstance(result.value, Err):
            raise Err(t.ComponentError_PermissionDenied(f"response: {result.value.value}"))
        with result.value.value as response:
            status = response.status()
            data = b""
            with response.consume() as body:
                with body.stream() as stream:
                    while True:
                        try:
                            data += stream.blocking_read(4096)
                        except Err:
                            break
        return f"{status} ".encode() + data

    def handle_message(self, sender: str, payload: bytes) -> None:
        pass
    def handle_callback(self, request_id: int, result) -> None:
        pass
    def metadata(self) -> t.ComponentMetadata:
        return t.ComponentMetadata("py-http", "0.1.0", None, None, None, [])
    def health(self) -> t.HealthStatus:
        return t.HealthStatus_Healthy()
    def shutdown(self) -> None:
        pass
