/* threads: two threads each write their own page of one shared mapping. */
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
static char *p;
static void *work(void *arg)
{
	p[(long)arg * 4096] = 1;
	return 0;
}
int main(void)
{
	p = mmap(0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%p\n", (void *)p);
	(void)!write(1, buf, n);
	pthread_t t[2];
	for (long i = 0; i < 2; i++) pthread_create(&t[i], 0, work, (void *)i);
	for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
	return 0;
}
