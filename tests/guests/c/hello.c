// Prints a greeting with printf: stdio only, no file, socket or process.
#include <stdio.h>

int main(void) {
    printf("hello from C\n");
    return 0;
}
