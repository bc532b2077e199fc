/* madvise(MADV_DONTNEED) on pages 1-2 of 4 written pages; then page 1 is
 * read (the zero page) and page 2 written (a new page). */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void)
{
	volatile char *p = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%p\n", (void *)p);
	(void)!write(1, buf, n);
	for (int i = 0; i < 4; i++) p[i * 4096] = 1;
	madvise((void *)(p + 4096), 2 * 4096, MADV_DONTNEED);
	char c = p[4096];
	p[2 * 4096] = 2;
	return c;
}
