// Sets the times of the first preopened directory (file descriptor 3) with
// fd_filestat_set_times, without ever calling path_open.
#include <wasi/api.h>

int main(void) {
    return __wasi_fd_filestat_set_times(3, 0, 0, __WASI_FSTFLAGS_ATIM_NOW | __WASI_FSTFLAGS_MTIM_NOW) != 0;
}
