// Lists the first preopened directory (file descriptor 3) with fd_readdir, without ever
// calling path_open: an attempt to read a directory past an analysis that only looks at opens.
#include <wasi/api.h>
#include <unistd.h>

int main(void) {
    static unsigned char buf[4096];
    __wasi_size_t used = 0;
    if (__wasi_fd_readdir(3, buf, sizeof buf, 0, &used) != 0) return 1;
    return write(1, buf, used) < 0;
}
