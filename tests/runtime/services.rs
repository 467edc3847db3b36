//! `host-services` through a guest, outside a multi-component host.

use wasmtime::component::Val;

use crate::guest::{Proxy, err_case, ok, s};

const MANIFEST: &str = r#"
[component]
name = "svc-test"
version = "1.2.3"
description = "exercises host services"
license = "Apache-2.0"
"#;

#[test]
fn metadata_of_itself_comes_from_its_manifest() {
    let mut p = Proxy::services(MANIFEST);
    let meta = ok(p.call("host-services.get-component-metadata", &[s("svc-test")]));
    let Val::Record(fields) = meta else { panic!("{meta:?}") };
    let field = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(field("name"), s("svc-test"));
    assert_eq!(field("version"), s("1.2.3"));
    assert_eq!(field("license"), Val::Option(Some(Box::new(s("Apache-2.0")))));
    assert_eq!(field("author"), Val::Option(None));
}

#[test]
fn messages_need_a_loaded_target() {
    let mut p = Proxy::services(MANIFEST);
    let payload = Val::List(vec![Val::U8(1)]);
    let r = p.call("host-services.send-message", &[s("nobody"), payload.clone()]);
    assert_eq!(err_case(&r), Some("not-found"), "{r:?}");
    let r = p.call("host-services.send-message", &[s(""), payload.clone()]);
    assert_eq!(err_case(&r), Some("invalid-input"), "{r:?}");
    let r = p.call("host-services.send-message", &[s("svc-test"), payload.clone()]);
    assert_eq!(
        err_case(&r),
        Some("invalid-input"),
        "a component cannot message itself: {r:?}"
    );
    let r = p.call("host-services.cancel-request", &[Val::U64(7)]);
    assert_eq!(err_case(&r), Some("not-found"), "{r:?}");
    let r = p.call("host-services.get-component-metadata", &[s("other")]);
    assert_eq!(err_case(&r), Some("not-found"), "{r:?}");
    assert_eq!(
        p.call("host-services.list-components", &[]),
        Val::List(vec![s("svc-test")])
    );
}

#[test]
fn oversized_payloads_are_refused_before_delivery() {
    let mut p = Proxy::services(MANIFEST);
    let big = Val::List(vec![Val::U8(0); (1 << 20) + 1]);
    let r = p.call("host-services.send-message", &[s("svc-test-2"), big]);
    assert_eq!(err_case(&r), Some("limit-exceeded"), "{r:?}");
}

#[test]
fn host_services_need_no_grant_and_write_no_audit_line() {
    let mut p = Proxy::services(MANIFEST);
    p.call("host-services.log", &[Val::Enum("info".into()), s("hello")]);
    p.call("host-services.sleep-millis", &[Val::U64(1)]);
    assert!(p.audit().is_empty(), "{:?}", p.audit());
}
