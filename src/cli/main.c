/* main.c — placeholder until the subcommand table lands. */
#include <stdio.h>
int
main(void)
{
	fprintf(stderr, "pg2md: not built yet\n");
	return 2;
}
