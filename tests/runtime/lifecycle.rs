//! Hand-written lifecycle guests (WAT) for the multi-component host: a relay that messages a
//! peer, and faulty guests (a loop, runaway memory, deep recursion, a trap).
//!
//! Every guest exports `airssys:core/component-lifecycle@1.0.0` and imports
//! `airssys:core/host-services@1.0.0`; the core module is WAT written against the canonical
//! ABI's lowered signatures (checked by `wit-component` when it encodes the component).
#![allow(dead_code)]

const WORLD: &str = r#"
package test:guest;
world guest {
    import airssys:core/host-services@1.0.0;
    export airssys:core/component-lifecycle@1.0.0;
}
"#;

/// The module around an `execute` body. The body sees `$in` / `$len` (the input) and ends by
/// returning a pointer to a result area: `(call $ok (ptr) (len))` for `ok(bytes)`.
fn module(imports: &str, execute_body: &str, extra: &str) -> String {
    format!(
        r#"(module
  (import "airssys:core/host-services@1.0.0" "send-message" (func $send_message (param i32 i32 i32 i32 i32)))
  (import "airssys:core/host-services@1.0.0" "send-request" (func $send_request (param i32 i32 i32 i32 i64 i32)))
  (import "airssys:core/host-services@1.0.0" "log" (func $log (param i32 i32 i32)))
  {imports}
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  ;; 1024..1032: result area; 1100: the peer's name; 2048..4096: the last message or callback.
  (data (i32.const 1100) "peer")
  (global $stored (mut i32) (i32.const 0))
  (func $alloc (param $size i32) (param $align i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (global.get $heap) (i32.const 16)) (i32.const 1)))
                        (i32.const -1)) (then unreachable))))
    (local.get $ptr))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (call $alloc (local.get 3) (local.get 2)))
  (func $ok (param $ptr i32) (param $len i32) (result i32)
    (i32.store8 (i32.const 1024) (i32.const 0))
    (i32.store (i32.const 1028) (local.get $ptr))
    (i32.store (i32.const 1032) (local.get $len))
    (i32.const 1024))
  (func $unit_ok (result i32)
    (i32.store8 (i32.const 1024) (i32.const 0))
    (i32.const 1024))
  ;; Keeps a copy of bytes at 2048 (at most 2000 of them).
  (func $store (param $ptr i32) (param $len i32)
    (if (i32.gt_u (local.get $len) (i32.const 2000)) (then (local.set $len (i32.const 2000))))
    (memory.copy (i32.const 2048) (local.get $ptr) (local.get $len))
    (global.set $stored (local.get $len)))
  (func (export "airssys:core/component-lifecycle@1.0.0#init") (param i32 i32) (result i32)
    (call $unit_ok))
  (func (export "airssys:core/component-lifecycle@1.0.0#execute") (param $in i32) (param $len i32) (result i32)
    {execute_body})
  (func (export "airssys:core/component-lifecycle@1.0.0#handle-message") (param i32 i32 i32 i32) (result i32)
    (call $store (local.get 2) (local.get 3))
    (call $unit_ok))
  (func (export "airssys:core/component-lifecycle@1.0.0#handle-callback") (param i64 i32 i32 i32) (result i32)
    (call $store (local.get 2) (local.get 3))
    (call $unit_ok))
  (func (export "airssys:core/component-lifecycle@1.0.0#metadata") (result i32)
    (memory.fill (i32.const 1200) (i32.const 0) (i32.const 64))
    (i32.const 1200))
  (func (export "airssys:core/component-lifecycle@1.0.0#health") (result i32)
    (memory.fill (i32.const 1200) (i32.const 0) (i32.const 64))
    (i32.const 1200))
  (func (export "airssys:core/component-lifecycle@1.0.0#shutdown") (result i32)
    (call $unit_ok))
  {extra}
)"#
    )
}

/// Encodes a lifecycle guest with `execute_body` and `extra` functions.
pub fn guest(execute_body: &str, extra: &str) -> Vec<u8> {
    guest_in(WORLD, "guest", "", execute_body, extra)
}

/// [`guest`] in the world `world` of the package `wit` (which imports `host-services` and
/// whatever `imports`, core-module import lines, need).
fn guest_in(wit: &str, world: &str, imports: &str, execute_body: &str, extra: &str) -> Vec<u8> {
    let (resolve, world) = crate::common::resolve_world(wit, world);
    let wat = module(imports, execute_body, extra);
    let core = wat::parse_str(&wat).unwrap_or_else(|e| panic!("guest WAT: {e}\n{wat}"));
    crate::common::encode_core(core, &resolve, world)
}

/// The relay: `execute(b"m" ++ x)` sends `x` to `peer` as a message, `b"r" ++ x` sends it as a
/// request (timeout 2 s); both answer one status byte (0 ok, 1 + the host-error case
/// otherwise). `b"g"` answers the last message or callback payload it was given; anything else
/// is echoed (so a request to a relay is answered with its own payload).
pub fn relay() -> Vec<u8> {
    guest(
        r#"
    (local $cmd i32)
    (if (i32.eqz (local.get $len)) (then (return (call $ok (local.get $in) (i32.const 0)))))
    (local.set $cmd (i32.load8_u (local.get $in)))
    (if (i32.eq (local.get $cmd) (i32.const 109)) ;; 'm'
      (then
        (call $send_message (i32.const 1100) (i32.const 4)
          (i32.add (local.get $in) (i32.const 1)) (i32.sub (local.get $len) (i32.const 1)) (i32.const 1040))
        (return (call $status (i32.const 1044)))))
    (if (i32.eq (local.get $cmd) (i32.const 114)) ;; 'r'
      (then
        (call $send_request (i32.const 1100) (i32.const 4)
          (i32.add (local.get $in) (i32.const 1)) (i32.sub (local.get $len) (i32.const 1))
          (i64.const 2000) (i32.const 1040))
        (return (call $status (i32.const 1048)))))
    (if (i32.eq (local.get $cmd) (i32.const 103)) ;; 'g'
      (then (return (call $ok (i32.const 2048) (global.get $stored)))))
    (call $ok (local.get $in) (local.get $len))"#,
        r#"
;; One byte at 1060: 0 when the result at 1040 is ok, else 1 + its error case, which
  ;; `result<_, host-error>` keeps at 1044 and `result<u64, host-error>` at 1048.
  (func $status (param $case_at i32) (result i32)
    (if (i32.eqz (i32.load8_u (i32.const 1040)))
      (then (i32.store8 (i32.const 1060) (i32.const 0)))
      (else (i32.store8 (i32.const 1060) (i32.add (i32.const 1) (i32.load8_u (local.get $case_at))))))
    (call $ok (i32.const 1060) (i32.const 1)))"#,
    )
}

/// `execute` never returns.
pub fn infinite_loop() -> Vec<u8> {
    guest("(loop $forever (br $forever)) (unreachable)", "")
}

/// `execute` grows memory a page at a time until the limit stops it.
pub fn memory_hog() -> Vec<u8> {
    guest(
        "(loop $more (drop (memory.grow (i32.const 16))) (br $more)) (unreachable)",
        "",
    )
}

/// `execute` recurses without end.
pub fn deep_recursion() -> Vec<u8> {
    guest(
        "(call $recurse (i64.const 0)) (unreachable)",
        "(func $recurse (param i64) (result i64) (call $recurse (i64.add (local.get 0) (i64.const 1))))",
    )
}

/// `execute` traps at once.
pub fn trap() -> Vec<u8> {
    guest("(unreachable)", "")
}

/// `execute` echoes its input.
pub fn echo() -> Vec<u8> {
    guest("(call $ok (local.get $in) (local.get $len))", "")
}

/// The bundled `run` example (`docs/examples/file-reader`): `execute(path)` returns the bytes of
/// the file at `path` through `filesystem.read-file`. A filesystem error comes back as the
/// matching `component-error` (`permission-denied` stays `permission-denied`), so a denial is
/// visible to the caller as well as in the audit log.
pub fn file_reader() -> Vec<u8> {
    file_reader_wat("(call $unit_ok)", "(call $unit_ok)", "")
}

/// [`file_reader`] that also reads `init_path` in `init` and `shutdown_path` in `shutdown`
/// (ignoring what comes back), so that each phase of the lifecycle makes a decision.
pub fn file_reader_reading_in(init_path: &str, shutdown_path: &str) -> Vec<u8> {
    let read = |at: usize, path: &str| {
        format!(
            "(call $read_file (i32.const {at}) (i32.const {}) (i32.const 1024)) (call $unit_ok)",
            path.len()
        )
    };
    let data = format!("(data (i32.const 3000) \"{init_path}\")\n  (data (i32.const 3500) \"{shutdown_path}\")");
    file_reader_wat(&read(3000, init_path), &read(3500, shutdown_path), &data)
}

fn file_reader_wat(init_body: &str, shutdown_body: &str, data: &str) -> Vec<u8> {
    const WORLD: &str = r#"
package example:file-reader;
world file-reader {
    import airssys:ext-filesystem/filesystem@1.0.0;
    export airssys:core/component-lifecycle@1.0.0;
}
"#;
    let (resolve, world) = crate::common::resolve_world(WORLD, "file-reader");
    let wat = r#"(module
  (import "airssys:ext-filesystem/filesystem@1.0.0" "read-file" (func $read_file (param i32 i32 i32)))
  (memory (export "memory") 1){data}
  (global $heap (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
    (global.set $heap (i32.add (local.get $ptr) (local.get 3)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $heap)
                                                  (i32.mul (memory.size) (i32.const 65536))) (i32.const 16))
                                              (i32.const 1)))
                        (i32.const -1))
              (then unreachable))))
    (local.get $ptr))
  (func $unit_ok (result i32)
    (i32.store8 (i32.const 1024) (i32.const 0))
    (i32.const 1024))
  (func (export "airssys:core/component-lifecycle@1.0.0#init") (param i32 i32) (result i32) {init_body})
  ;; `result<list<u8>, fs-error>` and `result<list<u8>, component-error>` share their layout:
  ;; the tag at 0, the list (ptr, len) or the error (case at 4, message at 8/12) after it. Only
  ;; the error case numbers differ, so the answer is the host's, with the case translated.
  (func (export "airssys:core/component-lifecycle@1.0.0#execute") (param $path i32) (param $len i32) (result i32)
    (local $case i32)
    (call $read_file (local.get $path) (local.get $len) (i32.const 1024))
    (if (i32.load8_u (i32.const 1024))
      (then
        (local.set $case (i32.load8_u (i32.const 1028)))
        ;; invalid-handle and timeout carry no message
        (if (i32.or (i32.eq (local.get $case) (i32.const 8)) (i32.eq (local.get $case) (i32.const 9)))
          (then (i32.store (i32.const 1032) (i32.const 0)) (i32.store (i32.const 1036) (i32.const 0))))
        ;; permission-denied 0 -> 0, not-found 1 -> 2, invalid-input 7 -> 1, anything else -> internal 6
        (i32.store8 (i32.const 1028)
          (select (i32.const 0)
            (select (i32.const 2)
              (select (i32.const 1) (i32.const 6) (i32.eq (local.get $case) (i32.const 7)))
              (i32.eq (local.get $case) (i32.const 1)))
            (i32.eqz (local.get $case))))))
    (i32.const 1024))
  (func (export "airssys:core/component-lifecycle@1.0.0#handle-message") (param i32 i32 i32 i32) (result i32)
    (call $unit_ok))
  (func (export "airssys:core/component-lifecycle@1.0.0#handle-callback") (param i64 i32 i32 i32) (result i32)
    (call $unit_ok))
  (func (export "airssys:core/component-lifecycle@1.0.0#metadata") (result i32)
    (memory.fill (i32.const 1200) (i32.const 0) (i32.const 64))
    (i32.const 1200))
  (func (export "airssys:core/component-lifecycle@1.0.0#health") (result i32)
    (memory.fill (i32.const 1200) (i32.const 0) (i32.const 64))
    (i32.const 1200))
  (func (export "airssys:core/component-lifecycle@1.0.0#shutdown") (result i32) {shutdown_body})
)"#
    .replace(
        "{data}",
        &if data.is_empty() {
            String::new()
        } else {
            format!("\n  {data}")
        },
    )
    .replace("{init_body}", init_body)
    .replace("{shutdown_body}", shutdown_body);
    let core = wat::parse_str(&wat).unwrap_or_else(|e| panic!("file-reader WAT: {e}"));
    crate::common::encode_core(core, &resolve, world)
}

/// `execute(command)` starts `command` with `lifecycle.spawn-shell` (no environment, standard
/// streams to /dev/null) and then never returns, so that the host is busy while the child runs.
pub fn shell_spawner() -> Vec<u8> {
    const WORLD: &str = r#"
package test:spawner;
world spawner {
    import airssys:core/host-services@1.0.0;
    import airssys:ext-process/lifecycle@1.0.0;
    export airssys:core/component-lifecycle@1.0.0;
}
"#;
    guest_in(
        WORLD,
        "spawner",
        r#";; spawn-shell(command, shell-options { env, cwd, stdin, stdout, stderr }) -> result<child, process-error>
  (import "airssys:ext-process/lifecycle@1.0.0" "spawn-shell"
    (func $spawn_shell (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))"#,
        r#"
    ;; no env, cwd none, stdin/stdout/stderr null; the result at 1040
    (call $spawn_shell (local.get $in) (local.get $len) (i32.const 0) (i32.const 0)
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1040))
    ;; A refused spawn traps, so that the caller sees it at once.
    (if (i32.load8_u (i32.const 1040)) (then unreachable))
    (loop $forever (br $forever))
    (unreachable)"#,
        "",
    )
}
