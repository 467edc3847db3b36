// Lists a directory: opendir (path_open) and readdir (fd_readdir).
#include <stdio.h>
#include <dirent.h>
int main(int argc, char **argv) {
    DIR *d = opendir(argc > 1 ? argv[1] : "/data");
    if (!d) { perror("opendir"); return 1; }
    struct dirent *e;
    while ((e = readdir(d))) puts(e->d_name);
    closedir(d);
    return 0;
}
