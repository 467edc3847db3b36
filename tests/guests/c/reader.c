// Copies a file to standard output: fopen for reading (path_open), fread, fwrite.
#include <stdio.h>
int main(int argc, char **argv) {
    FILE *f = fopen(argc > 1 ? argv[1] : "/data/in.txt", "r");
    if (!f) { perror("open"); return 1; }
    char buf[256]; size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
}
