"""A WASI command in Python (componentize-py, world `wasi:cli/command`): prints one line.

Used by `benches/start.rs` to compare the start of a large interpreter component under
`airssys-wasm run` and `wasmtime run`.
"""
from wit_world import exports


class Run(exports.Run):
    def run(self) -> None:
        print("hello from Python")
