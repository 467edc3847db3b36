// Writes a file: fopen for writing (path_open), fputs, fclose.
#include <stdio.h>
int main(int argc, char **argv) {
    FILE *f = fopen(argc > 1 ? argv[1] : "/data/out.txt", "w");
    if (!f) { perror("open"); return 1; }
    fputs("written\n", f);
    return fclose(f) != 0;
}
