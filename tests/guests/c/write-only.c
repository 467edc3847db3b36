// Writes to standard output with write(1, ...), no stdio buffering.
#include <unistd.h>
int main(void) { return write(1, "hello\n", 6) != 6; }
