/* brk: grow the break by 3 pages, write them, shrink it by 2 pages. */
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	uintptr_t cur = syscall(SYS_brk, 0);
	uintptr_t base = (cur + 4095) & ~(uintptr_t)4095;
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%#lx\n", (unsigned long)base);
	(void)!write(1, buf, n);
	syscall(SYS_brk, base + 3 * 4096);
	for (int i = 0; i < 3; i++) ((volatile char *)base)[i * 4096] = 1;
	syscall(SYS_brk, base + 4096);
	return 0;
}
