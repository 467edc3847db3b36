// An airssys component in C, written against the world `airssys:core/filesystem-component`
// with wit-bindgen's C bindings: `execute` reads the file whose path is its input through the
// airssys filesystem extension (`read-file`) and returns its bytes. Like any C program it also
// uses stdio, which reaches WASI through wasi-libc and the preview1 adapter: `init` and
// `execute` report on stderr with fprintf.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filesystem_component.h"

static void error(exports_airssys_core_component_lifecycle_component_error_t *err, uint8_t tag, const char *msg) {
    err->tag = tag;
    filesystem_component_string_dup(&err->val.internal, msg);
}

bool exports_airssys_core_component_lifecycle_init(filesystem_component_list_tuple2_string_string_t *config,
                                                   exports_airssys_core_component_lifecycle_component_error_t *err) {
    (void)err;
    fprintf(stderr, "file-reader: init with %zu config entries\n", config->len);
    filesystem_component_list_tuple2_string_string_free(config);
    return true;
}

bool exports_airssys_core_component_lifecycle_execute(filesystem_component_list_u8_t *input,
                                                      filesystem_component_list_u8_t *ret,
                                                      exports_airssys_core_component_lifecycle_component_error_t *err) {
    filesystem_component_string_t path;
    filesystem_component_string_dup_n(&path, (const char *)input->ptr, input->len);
    filesystem_component_list_u8_free(input);
    airssys_ext_filesystem_filesystem_fs_error_t fs_err;
    bool ok = airssys_ext_filesystem_filesystem_read_file(&path, ret, &fs_err);
    fprintf(stderr, "file-reader: read %.*s: %s\n", (int)path.len, (const char *)path.ptr, ok ? "ok" : "failed");
    filesystem_component_string_free(&path);
    if (!ok) {
        error(err, AIRSSYS_CORE_TYPES_COMPONENT_ERROR_PERMISSION_DENIED, "read-file failed");
        airssys_ext_filesystem_filesystem_fs_error_free(&fs_err);
    }
    return ok;
}

bool exports_airssys_core_component_lifecycle_handle_message(exports_airssys_core_component_lifecycle_component_id_t *sender,
                                                             filesystem_component_list_u8_t *payload,
                                                             exports_airssys_core_component_lifecycle_component_error_t *err) {
    (void)err;
    exports_airssys_core_component_lifecycle_component_id_free(sender);
    filesystem_component_list_u8_free(payload);
    return true;
}

bool exports_airssys_core_component_lifecycle_handle_callback(uint64_t request_id,
                                                              exports_airssys_core_component_lifecycle_result_list_u8_string_t *result,
                                                              exports_airssys_core_component_lifecycle_component_error_t *err) {
    (void)request_id;
    (void)err;
    exports_airssys_core_component_lifecycle_result_list_u8_string_free(result);
    return true;
}

void exports_airssys_core_component_lifecycle_metadata(exports_airssys_core_component_lifecycle_component_metadata_t *ret) {
    memset(ret, 0, sizeof *ret);
    filesystem_component_string_dup(&ret->name, "file-reader");
    filesystem_component_string_dup(&ret->version, "0.1.0");
}

void exports_airssys_core_component_lifecycle_health(exports_airssys_core_component_lifecycle_health_status_t *ret) {
    ret->tag = AIRSSYS_CORE_TYPES_HEALTH_STATUS_HEALTHY;
}

bool exports_airssys_core_component_lifecycle_shutdown(exports_airssys_core_component_lifecycle_component_error_t *err) {
    (void)err;
    return true;
}
