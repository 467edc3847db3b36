// Prints the GREETING environment variable (the environment is what the operator passes).
#include <stdio.h>
#include <stdlib.h>
int main(void) { const char *v = getenv("GREETING"); printf("%s\n", v ? v : "(unset)"); return 0; }
