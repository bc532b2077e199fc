/*
 * controller.c — the controller's run-time state and its side of the
 * protocol: the table of live workers and trace files, clean-up on every way
 * out (finish, internal error, not portable, a signal), spawning a worker,
 * request/reply with a worker, and what this kernel does that a trace can
 * see (detect_environment: the zero page, mmap_min_addr, vsyscall, paging).
 *
 * Why one file: everything that must be undone when vmrun stops (workers,
 * channels, the temporary directory) is created and destroyed here.
 */
#include "vmrun.h"

struct proc *g_rp;
size_t g_nprocs;

struct rfile *g_rf;
size_t g_nfiles;

static char g_dir[64];
static int g_dirfd = -1;
uint64_t g_line; /* line being executed, for messages */
uint64_t g_zero_pfn = UINT64_MAX; /* UINT64_MAX: no zero page on this kernel */
int g_zero_ok;                    /* PFNs are readable (the probe saw them) */
int g_zero_page;                  /* read faults of private anon memory map the zero page */
uint64_t g_min_addr = 4096;
int g_vsys_readable;

/* async-signal-safe: kill every worker we know, remove the temp dir */
void cleanup_files(void)
{
	if (g_dirfd >= 0) {
		for (size_t i = 0; i < g_nfiles; i++) {
			char nm[32];
			int k = 0;
			size_t x = i;
			char rev[24];
			int r = 0;
			do {
				rev[r++] = (char)('0' + x % 10);
				x /= 10;
			} while (x);
			nm[k++] = 'f';
			while (r)
				nm[k++] = rev[--r];
			nm[k] = 0;
			unlinkat(g_dirfd, nm, 0);
		}
		close(g_dirfd);
		g_dirfd = -1;
		rmdir(g_dir);
	}
}

void kill_workers(void)
{
	for (size_t i = 0; i < g_nprocs; i++)
		if (g_rp && g_rp[i].live && g_rp[i].pid > 0)
			kill(g_rp[i].pid, SIGKILL);
}

/*
 * Close every channel before reaping: a worker we do not know yet (forked,
 * hello not received) only exits when its channel reaches EOF.
 */
static void close_channels(void)
{
	syscall(SYS_close_range, 3U, ~0U, 0);
}

void on_signal(int sig)
{
	kill_workers();
	cleanup_files();
	close_channels();
	/* every worker ends up as our child (subreaper); all are dying */
	while (waitpid(-1, NULL, 0) > 0)
		;
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

void finish(int status)
{
	fflush(stdout);
	kill_workers();
	for (size_t i = 0; i < g_nprocs; i++)
		if (g_rp)
			g_rp[i].live = 0;
	cleanup_files();
	close_channels();
	/* the controller is a subreaper: every worker ends up as its child */
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	exit(status);
}

_Noreturn void internal(const char *fmt, ...)
{
	va_list ap;
	__fpurge(stdout); /* the current command's partial result; earlier ones are flushed */
	fprintf(stderr, "%s:%" PRIu64 ": internal error: ", g_file, g_line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	finish(4);
	exit(4);
}

_Noreturn void not_portable(const char *what)
{
	fflush(stdout);
	fprintf(stderr, "%s:%" PRIu64 ": not portable: %s\n", g_file, g_line, what);
	finish(3);
	exit(3);
}

const char *errname(int e)
{
	const char *s = strerrorname_np(e);
	static char buf[32];
	if (s)
		return s;
	snprintf(buf, sizeof buf, "E%d", e);
	return buf;
}

/* ------------------------------------------------------------------ */
/* controller side of the protocol                                     */

const char *pname(int p)
{
	return san(g_procs.v[p]);
}

void csend(int p, const struct wreq *q, int passfd)
{
	if (send_all(g_rp[p].ch, q, sizeof *q, passfd) < 0)
		internal("process '%s' (pid %d) is gone", pname(p), (int)g_rp[p].pid);
}

void crecv_raw(int ch, int p, struct wresp *r, void **payload)
{
	if (recv_all(ch, r, sizeof *r, NULL) < 0)
		internal("process '%s' (pid %d) died unexpectedly", pname(p), (int)g_rp[p].pid);
	if (payload) {
		*payload = NULL;
		if (r->nbytes) {
			*payload = xrealloc(NULL, (size_t)r->nbytes);
			if (recv_all(ch, *payload, (size_t)r->nbytes, NULL) < 0)
				internal("process '%s' died unexpectedly", pname(p));
		}
	} else if (r->nbytes) {
		internal("unexpected payload from '%s'", pname(p));
	}
}

struct wresp call(int p, uint32_t op, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			 uint64_t a4, uint64_t a5, void **payload)
{
	struct wreq q;
	memset(&q, 0, sizeof q);
	q.op = op;
	q.a[0] = a0, q.a[1] = a1, q.a[2] = a2, q.a[3] = a3, q.a[4] = a4, q.a[5] = a5;
	csend(p, &q, -1);
	struct wresp r;
	crecv_raw(g_rp[p].ch, p, &r, payload);
	return r;
}

void print_sysresult(struct wresp r)
{
	if (r.kind == RK_OK)
		fputs("ok\n", stdout);
	else if (r.kind == RK_ERR)
		printf("%s\n", errname(r.err));
	else
		internal("unexpected reply kind %d", r.kind);
}

static int cmp_fd(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

void spawn_worker(int p)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		internal("socketpair: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		internal("fork: %s", strerror(errno));
	if (pid == 0) {
		int ch = sv[1];
		/* keep stdio (stdin/stdout -> /dev/null), the channel, the files */
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		size_t nk = g_nfiles + 4;
		int *keep = malloc(nk * sizeof *keep);
		if (!keep)
			_exit(111);
		size_t k = 0;
		keep[k++] = 0, keep[k++] = 1, keep[k++] = 2, keep[k++] = ch;
		for (size_t i = 0; i < g_nfiles; i++)
			keep[k++] = g_rf[i].fd;
		qsort(keep, k, sizeof *keep, cmp_fd);
		unsigned lo = 0;
		for (size_t i = 0; i < k; i++) {
			if ((unsigned)keep[i] > lo)
				syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
			lo = (unsigned)keep[i] + 1;
		}
		syscall(SYS_close_range, lo, ~0U, 0);
		free(keep);
		worker_setup();
		worker_loop(ch);
	}
	close(sv[1]);
	g_rp[p].pid = pid;
	g_rp[p].ch = sv[0];
	g_rp[p].ospar = -1;
	g_rp[p].live = 1;
}

/* ------------------------------------------------------------------ */
/* environment and trace files                                         */

void detect_environment(void)
{
	/* zero page: read two fresh anonymous private pages, compare their PFNs */
	void *m = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m != MAP_FAILED) {
		volatile uint32_t x = *(volatile uint32_t *)m;
		x = *(volatile uint32_t *)((char *)m + PAGE);
		(void)x;
		int fd = open("/proc/self/pagemap", O_RDONLY);
		uint64_t e[2] = { 0, 0 };
		const uint64_t pfn_mask = (1ULL << 55) - 1;
		if (fd >= 0 && pread(fd, e, sizeof e, (off_t)((uintptr_t)m / PAGE * 8)) == (ssize_t)sizeof e &&
		    (e[0] >> 63) && (e[1] >> 63) && (e[0] & pfn_mask) && (e[1] & pfn_mask)) {
			g_zero_ok = 1;
			g_zero_page = (e[0] & pfn_mask) == (e[1] & pfn_mask);
			if (g_zero_page)
				g_zero_pfn = e[0] & pfn_mask;
		}
		if (fd >= 0)
			close(fd);
		munmap(m, 2 * PAGE);
	}
	FILE *f = fopen("/proc/sys/vm/mmap_min_addr", "r");
	if (f) {
		unsigned long long v;
		if (fscanf(f, "%llu", &v) == 1 && v < g_min_addr)
			g_min_addr = v; /* below both the spec's 4096 and the sysctl: EPERM */
		fclose(f);
	}
	f = fopen("/proc/self/maps", "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof line, f))
			if (strstr(line, "[vsyscall]")) {
				char *sp = strchr(line, ' ');
				if (sp && sp[1] == 'r')
					g_vsys_readable = 1;
			}
		fclose(f);
	}
	/* 5-level paging would move TASK_SIZE: refuse to pretend */
	f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[4096];
		while (fgets(line, sizeof line, f))
			if (strncmp(line, "flags", 5) == 0 && strstr(line, " la57")) {
				void *hi = mmap((void *)0x800000000000ULL, PAGE, PROT_NONE,
						MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
				if (hi != MAP_FAILED) {
					munmap(hi, PAGE);
					fclose(f);
					internal("this kernel uses 5-level paging; the spec assumes 4-level");
				}
				break;
			}
		fclose(f);
	}
}

void setup_files(void)
{
	if (g_files.cnt == 0)
		return;
	strcpy(g_dir, "/tmp/vmrun.XXXXXX");
	if (!mkdtemp(g_dir))
		internal("mkdtemp: %s", strerror(errno));
	g_dirfd = open(g_dir, O_RDONLY | O_DIRECTORY);
	if (g_dirfd < 0) {
		rmdir(g_dir);
		internal("open %s: %s", g_dir, strerror(errno));
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	g_rf = xrealloc(NULL, g_files.cnt * sizeof *g_rf);
	for (size_t i = 0; i < g_files.cnt; i++) {
		char nm[32];
		snprintf(nm, sizeof nm, "f%zu", i);
		g_nfiles = i + 1; /* cleanup removes it even if open fails below */
		int fd = openat(g_dirfd, nm, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			internal("create file %zu: %s", i, strerror(errno));
		struct stat st;
		if (fstat(fd, &st) != 0)
			internal("fstat: %s", strerror(errno));
		g_rf[i].fd = fd;
		g_rf[i].dev = st.st_dev;
		g_rf[i].ino = st.st_ino;
	}
}
