// Sleeps for the number of seconds given as its first argument (wasi-libc's sleep: a
// `poll_oneoff` on a clock, which the preview1 adapter turns into `wasi:clocks` and
// `wasi:io/poll`), then prints "woke".
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    sleep(argc > 1 ? (unsigned)atoi(argv[1]) : 1);
    printf("woke\n");
    return 0;
}
