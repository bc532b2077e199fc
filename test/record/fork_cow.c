/* fork + copy-on-write: the parent writes 4 pages, forks; the child writes
 * pages 0 and 1 and exits; the parent, once the child is gone, writes page 2. */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void)
{
	char *p = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%p\n", (void *)p);
	(void)!write(1, buf, n);
	for (int i = 0; i < 4; i++) p[i * 4096] = 1;
	pid_t c = fork();
	if (c == 0) {
		p[0] = 2;
		p[4096] = 2;
		_exit(0);
	}
	waitpid(c, 0, 0);
	p[2 * 4096] = 3;
	return 0;
}
