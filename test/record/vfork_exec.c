/* vfork + exec: the child shares the parent's mm until it execs true. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void)
{
	(void)!write(1, "0x0\n", 4);
	pid_t c = vfork();
	if (c == 0) {
		execl("/bin/true", "true", (char *)0);
		_exit(127);
	}
	int st;
	waitpid(c, &st, 0);
	return WEXITSTATUS(st);
}
