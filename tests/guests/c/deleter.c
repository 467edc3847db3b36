// Deletes a file with unlink (path_unlink_file).
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (unlink(argc > 1 ? argv[1] : "/data/old.txt") != 0) { perror("unlink"); return 1; }
    return 0;
}
