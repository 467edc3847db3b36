// Prints its arguments and the GREETING environment variable, then exits with the status given
// as its first argument: what `run COMPONENT -- ARGS` and `--env` hand a WASI command, and
// what becomes `run`'s exit code.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
    const char *greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");
    const char *home = getenv("HOME");
    printf("HOME=%s\n", home ? home : "(unset)");
    fflush(stdout);
    return argc > 1 ? atoi(argv[1]) : 0;
}
