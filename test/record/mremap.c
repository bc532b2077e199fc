/* mremap: 2 written pages move (MAYMOVE|FIXED) into a 4-page reservation,
 * growing to 4 pages; then pages 2 and 3 of the new place are written. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void)
{
	char *dst = mmap(0, 4 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p = mmap(0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%p %p\n", (void *)p, (void *)dst);
	(void)!write(1, buf, n);
	p[0] = 1;
	p[4096] = 1;
	char *q = mremap(p, 2 * 4096, 4 * 4096, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	q[2 * 4096] = 2;
	q[3 * 4096] = 2;
	return q == dst ? 0 : 1;
}
