/*
 * kbench — the real kernel's side of `npm run bench` (src/bench/bench.ts):
 * the same work the simulator is timed on, done by real processes, timed
 * with CLOCK_MONOTONIC.
 *
 *   kbench trace FILE          run a vmtrace file (the workloads' traces:
 *                              `vmtree workload NAME`) on the kernel
 *   kbench write-fault PAGES   anonymous write faults (zero fill)
 *   kbench read-fault PAGES    read faults of untouched anonymous memory
 *   kbench read-file PAGES     read faults through a private file mapping
 *   kbench cow-fault PAGES     copy-on-write faults after fork
 *   kbench fork PAGES FORKS    fork of a process with PAGES resident pages
 *
 * Every mode prints one line of JSON on stdout. Exit status: 0 ok, 1 usage
 * or a system call of the harness failed, 2 a trace kbench cannot run.
 *
 * How a trace runs
 *
 * Unlike native/vmrun.c (the oracle), which sends every command to its
 * process over a socket — fine for checking results, far too slow to time
 * faults by — kbench hands the trace to the processes themselves. The trace
 * is parsed first (not timed) into an array of commands in a MAP_SHARED
 * region, so that fork copies no page table entries for it. One real
 * process per trace process; the process whose command comes next holds
 * the turn and runs commands until the next one belongs to another
 * process, then passes the turn (a per-process futex word in a shared
 * control page: one FUTEX_WAKE, no thundering herd). So a run of 1000
 * writes by one process is 1000 plain stores and their page faults, no
 * system call in between, and the cost beyond the trace's own work is one
 * futex hand-over per change of process (cow-storm: ~2000 for 10^6
 * faults; fork-chain: 3 per generation).
 *
 * `exit P` is _exit(); the next process to run first waits for P to be
 * gone (pidfd_open + poll: readable once exit_mm has torn down P's
 * address space), so that, as in the simulator, it sees P's pages
 * unmapped (fork-chain's next generation then reuses pages instead of
 * copying them). `spawn` is a fork of the controller (a small process).
 * File commands run in whichever process holds the turn, on descriptors
 * every process inherits. THP is disabled (PR_SET_THP_DISABLE), as in the
 * oracle, so that faults are 4 KiB faults.
 *
 * Timing runs from the first command to the moment the last one is done
 * (after a final `exit`, when the process is gone). Reads' values are kept
 * in the command array; the output gives their count and an FNV-1a hash
 * over (line, value) of each, and the count of failed system calls, so the
 * bench can check that both sides did the same thing.
 *
 * `maps`, `frames` and `reclaim` are not supported (exit 2): they are the
 * oracle's business, and the workloads do not use them. A trace must be
 * valid (the bench generates it); kbench checks only what it needs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#define MADV_KEEPONFORK 19
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static const char *prog = "kbench";

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static _Noreturn void unsupported(uint64_t line, const char *what)
{
	fprintf(stderr, "%s: line %llu: %s\n", prog, (unsigned long long)line, what);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *shared_region(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap (shared region)");
	return p;
}

/* ------------------------------------------------------------------ */
/* Trace parsing (not timed)                                           */

enum op {
	OP_FILE, OP_FWRITE, OP_FREAD, OP_FTRUNCATE, OP_SPAWN, OP_FORK, OP_EXIT,
	OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_MREMAP, OP_MADVISE, OP_READ, OP_WRITE,
};

struct cmd {
	uint8_t op;
	uint8_t has_new; /* mremap with NEWADDR */
	int32_t owner;   /* process that runs it; ANY: whoever holds the turn; CTL: the controller */
	int32_t other;   /* fork: the child; mmap/file commands: the file (-1 anonymous) */
	int32_t iarg;    /* mmap: prot; madvise: advice */
	int32_t flags;   /* mmap flags */
	uint32_t line;
	uint64_t a, b, c, d;
	int64_t result;  /* read: the value; syscalls: 0 or -errno */
};

#define ANY (-1)

struct names {
	char **name;
	int n, cap;
};

/* Name lookups hash into a table of indices (a trace may name 10^4 processes). */
#define HBITS 16
static int htab_proc[1 << HBITS], htab_file[1 << HBITS];

static uint32_t hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h & ((1u << HBITS) - 1);
}

static int lookup(struct names *t, int *htab, const char *s, size_t len, int add)
{
	uint32_t h = hash(s, len);
	for (;; h = (h + 1) & ((1u << HBITS) - 1)) {
		int i = htab[h] - 1;
		if (i < 0)
			break;
		if (strlen(t->name[i]) == len && memcmp(t->name[i], s, len) == 0)
			return i;
	}
	if (!add)
		return -1;
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->name = realloc(t->name, sizeof(char *) * t->cap);
		if (!t->name)
			die("realloc");
	}
	if (t->n >= (1 << HBITS) / 2) {
		fprintf(stderr, "%s: too many names\n", prog);
		exit(2);
	}
	t->name[t->n] = strndup(s, len);
	htab[h] = t->n + 1;
	return t->n++;
}

static uint64_t number(uint64_t line, const char *s, size_t len)
{
	uint64_t v = 0;
	size_t i = 0;
	int base = 10;
	if (len > 2 && s[0] == '0' && s[1] == 'x') {
		base = 16;
		i = 2;
	}
	if (i == len)
		unsupported(line, "bad number");
	for (; i < len; i++) {
		char ch = s[i];
		int d;
		if (ch >= '0' && ch <= '9') d = ch - '0';
		else if (base == 16 && ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
		else if (base == 16 && ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
		else unsupported(line, "bad number");
		v = v * (uint64_t)base + (uint64_t)d;
	}
	return v;
}

static int tok_eq(const char *s, size_t len, const char *w)
{
	return strlen(w) == len && memcmp(s, w, len) == 0;
}

static int prot_of(uint64_t line, const char *s, size_t len)
{
	if (tok_eq(s, len, "none")) return PROT_NONE;
	if (tok_eq(s, len, "r")) return PROT_READ;
	if (tok_eq(s, len, "rw")) return PROT_READ | PROT_WRITE;
	if (tok_eq(s, len, "rx")) return PROT_READ | PROT_EXEC;
	if (tok_eq(s, len, "rwx")) return PROT_READ | PROT_WRITE | PROT_EXEC;
	unsupported(line, "bad protection");
}

static struct names procs, files;
static struct cmd *cmds;
static size_t ncmds;

static void parse(char *buf, size_t n)
{
	size_t cap = 1024, count = 0;
	/* Count lines for an upper bound of commands. */
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			cap++;
	cmds = shared_region(cap * sizeof(struct cmd));
	uint64_t line = 0;
	size_t pos = 0;
	while (pos < n) {
		size_t end = pos;
		while (end < n && buf[end] != '\n')
			end++;
		line++;
		const char *t[8];
		size_t tl[8];
		int nt = 0;
		for (size_t i = pos; i < end;) {
			char ch = buf[i];
			if (ch == '#')
				break;
			if (ch == ' ' || ch == '\t' || ch == '\r') {
				i++;
				continue;
			}
			size_t s = i;
			while (i < end && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' && buf[i] != '#')
				i++;
			if (nt == 8)
				unsupported(line, "too many tokens");
			t[nt] = buf + s;
			tl[nt] = i - s;
			nt++;
		}
		pos = end + 1;
		if (nt == 0)
			continue;
		struct cmd *c = &cmds[count++];
		memset(c, 0, sizeof *c);
		c->line = (uint32_t)line;
		c->owner = ANY;
		c->other = -1;
#define NEED(k) do { if (nt != (k)) unsupported(line, "wrong number of arguments"); } while (0)
		if (tok_eq(t[0], tl[0], "file")) {
			NEED(3);
			c->op = OP_FILE;
			c->other = lookup(&files, htab_file, t[1], tl[1], 1);
			c->a = number(line, t[2], tl[2]);
		} else if (tok_eq(t[0], tl[0], "fwrite")) {
			NEED(4);
			c->op = OP_FWRITE;
			c->other = lookup(&files, htab_file, t[1], tl[1], 0);
			c->a = number(line, t[2], tl[2]);
			c->b = number(line, t[3], tl[3]);
		} else if (tok_eq(t[0], tl[0], "fread")) {
			NEED(3);
			c->op = OP_FREAD;
			c->other = lookup(&files, htab_file, t[1], tl[1], 0);
			c->a = number(line, t[2], tl[2]);
		} else if (tok_eq(t[0], tl[0], "ftruncate")) {
			NEED(3);
			c->op = OP_FTRUNCATE;
			c->other = lookup(&files, htab_file, t[1], tl[1], 0);
			c->a = number(line, t[2], tl[2]);
		} else if (tok_eq(t[0], tl[0], "spawn")) {
			NEED(2);
			c->op = OP_SPAWN;
			c->other = lookup(&procs, htab_proc, t[1], tl[1], 1);
			c->owner = -2; /* the controller: fixed up below */
		} else if (tok_eq(t[0], tl[0], "fork")) {
			NEED(3);
			c->op = OP_FORK;
			c->owner = lookup(&procs, htab_proc, t[1], tl[1], 0);
			c->other = lookup(&procs, htab_proc, t[2], tl[2], 1);
		} else if (tok_eq(t[0], tl[0], "exit")) {
			NEED(2);
			c->op = OP_EXIT;
			c->owner = lookup(&procs, htab_proc, t[1], tl[1], 0);
		} else if (tok_eq(t[0], tl[0], "frames") || tok_eq(t[0], tl[0], "reclaim")) {
			unsupported(line, "frames and reclaim are not supported by kbench");
		} else {
			if (nt < 2)
				unsupported(line, "unknown command");
			c->owner = lookup(&procs, htab_proc, t[0], tl[0], 0);
			const char *o = t[1];
			size_t ol = tl[1];
			if (tok_eq(o, ol, "mmap")) {
				if (nt != 6 && nt != 8)
					unsupported(line, "wrong number of arguments");
				c->op = OP_MMAP;
				c->a = number(line, t[2], tl[2]);
				c->b = number(line, t[3], tl[3]);
				c->iarg = prot_of(line, t[4], tl[4]);
				const char *m = t[5];
				size_t ml = tl[5];
				if (tok_eq(m, ml, "private")) c->flags = MAP_PRIVATE | MAP_FIXED_NOREPLACE;
				else if (tok_eq(m, ml, "shared")) c->flags = MAP_SHARED | MAP_FIXED_NOREPLACE;
				else if (tok_eq(m, ml, "private,fixed")) c->flags = MAP_PRIVATE | MAP_FIXED;
				else if (tok_eq(m, ml, "shared,fixed")) c->flags = MAP_SHARED | MAP_FIXED;
				else unsupported(line, "bad mode");
				if (nt == 8) {
					c->other = lookup(&files, htab_file, t[6], tl[6], 0);
					c->c = number(line, t[7], tl[7]);
				} else {
					c->flags |= MAP_ANONYMOUS;
				}
			} else if (tok_eq(o, ol, "munmap")) {
				NEED(4);
				c->op = OP_MUNMAP;
				c->a = number(line, t[2], tl[2]);
				c->b = number(line, t[3], tl[3]);
			} else if (tok_eq(o, ol, "mprotect")) {
				NEED(5);
				c->op = OP_MPROTECT;
				c->a = number(line, t[2], tl[2]);
				c->b = number(line, t[3], tl[3]);
				c->iarg = prot_of(line, t[4], tl[4]);
			} else if (tok_eq(o, ol, "mremap")) {
				if (nt != 5 && nt != 6)
					unsupported(line, "wrong number of arguments");
				c->op = OP_MREMAP;
				c->a = number(line, t[2], tl[2]);
				c->b = number(line, t[3], tl[3]);
				c->c = number(line, t[4], tl[4]);
				if (nt == 6) {
					c->has_new = 1;
					c->d = number(line, t[5], tl[5]);
				}
			} else if (tok_eq(o, ol, "madvise")) {
				NEED(5);
				c->op = OP_MADVISE;
				c->a = number(line, t[2], tl[2]);
				c->b = number(line, t[3], tl[3]);
				const char *v = t[4];
				size_t vl = tl[4];
				if (tok_eq(v, vl, "dontneed")) c->iarg = MADV_DONTNEED;
				else if (tok_eq(v, vl, "dontfork")) c->iarg = MADV_DONTFORK;
				else if (tok_eq(v, vl, "dofork")) c->iarg = MADV_DOFORK;
				else if (tok_eq(v, vl, "wipeonfork")) c->iarg = MADV_WIPEONFORK;
				else if (tok_eq(v, vl, "keeponfork")) c->iarg = MADV_KEEPONFORK;
				else unsupported(line, "bad advice");
			} else if (tok_eq(o, ol, "read")) {
				NEED(3);
				c->op = OP_READ;
				c->a = number(line, t[2], tl[2]);
			} else if (tok_eq(o, ol, "write")) {
				NEED(4);
				c->op = OP_WRITE;
				c->a = number(line, t[2], tl[2]);
				c->b = number(line, t[3], tl[3]);
			} else {
				unsupported(line, "maps is not supported by kbench (or unknown command)");
			}
		}
		if (c->owner == ANY && c->op != OP_FILE && c->op != OP_FWRITE && c->op != OP_FREAD && c->op != OP_FTRUNCATE)
			unsupported(line, "unknown process");
		if ((c->op == OP_FWRITE || c->op == OP_FREAD || c->op == OP_FTRUNCATE) && c->other < 0)
			unsupported(line, "unknown file");
		if (c->op == OP_MMAP && c->other < 0 && !(c->flags & MAP_ANONYMOUS))
			unsupported(line, "unknown file");
	}
	ncmds = count;
	int ctl = procs.n;
	for (size_t i = 0; i < ncmds; i++)
		if (cmds[i].owner == -2)
			cmds[i].owner = ctl;
}

/* ------------------------------------------------------------------ */
/* Running a trace                                                     */

struct control {
	size_t pc;            /* next command */
	pid_t exiting;        /* a process that has just _exit()ed; the next runner waits for it */
	int quit;
	uint64_t t_end;
	uint32_t turn[];      /* per process (and the controller, last): 1 = your turn */
};

static struct control *ctl;
static int *fds;
static int me;

static long futex(uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static void wait_turn(int p)
{
	while (__atomic_exchange_n(&ctl->turn[p], 0, __ATOMIC_ACQ_REL) == 0)
		futex(&ctl->turn[p], FUTEX_WAIT, 0);
}

static void give_turn(int p)
{
	__atomic_store_n(&ctl->turn[p], 1, __ATOMIC_RELEASE);
	futex(&ctl->turn[p], FUTEX_WAKE, 1);
}

static void wait_gone(void)
{
	pid_t pid = ctl->exiting;
	if (pid == 0)
		return;
	ctl->exiting = 0;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return; /* already reaped: gone */
	struct pollfd p = { .fd = pfd, .events = POLLIN };
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	close(pfd);
}

static void on_fault(int sig)
{
	static const char msg[] = "kbench: unexpected SIGSEGV/SIGBUS in a trace process\n";
	(void)sig;
	if (write(2, msg, sizeof msg - 1) < 0) {}
	kill(0, SIGKILL);
}

static int64_t sysres(long r)
{
	return r < 0 ? -(int64_t)errno : 0;
}

/*
 * Run commands while they are ours; then pass the turn on and return 0.
 * Returns 1 in a process that a fork or spawn has just made: it unwinds to
 * worker_loop() as that process (so the stack does not grow with each
 * generation of a fork chain).
 */
static int run(void)
{
	wait_gone();
	for (;;) {
		size_t pc = ctl->pc;
		if (pc == ncmds) {
			if (me != procs.n) {
				give_turn(procs.n);
				return 0;
			}
			ctl->t_end = now_ns();
			return 0;
		}
		struct cmd *c = &cmds[pc];
		if (c->owner != ANY && c->owner != me) {
			give_turn(c->owner);
			return 0;
		}
		ctl->pc = pc + 1;
		volatile uint32_t *w;
		switch (c->op) {
		case OP_FILE:
		case OP_FTRUNCATE:
			c->result = sysres(ftruncate(fds[c->other], (off_t)c->a));
			break;
		case OP_FWRITE: {
			uint32_t v = (uint32_t)c->b;
			c->result = sysres(pwrite(fds[c->other], &v, 4, (off_t)c->a));
			break;
		}
		case OP_FREAD: {
			uint32_t v = 0;
			long r = pread(fds[c->other], &v, 4, (off_t)c->a);
			c->result = r < 0 ? -(int64_t)errno : v;
			break;
		}
		case OP_SPAWN:
		case OP_FORK: {
			pid_t pid = fork();
			if (pid < 0)
				die("fork");
			if (pid == 0) {
				me = c->other;
				return 1;
			}
			break;
		}
		case OP_EXIT:
			ctl->exiting = getpid();
			if (ctl->pc == ncmds)
				give_turn(procs.n);
			else if (cmds[ctl->pc].owner == ANY)
				give_turn(procs.n); /* the controller runs what follows */
			else
				give_turn(cmds[ctl->pc].owner);
			_exit(0);
		case OP_MMAP: {
			long r = (long)syscall(SYS_mmap, c->a, c->b, c->iarg, c->flags,
					       c->other < 0 ? -1 : fds[c->other], c->c);
			c->result = r == -1 ? -(int64_t)errno : 0;
			break;
		}
		case OP_MUNMAP:
			c->result = sysres(syscall(SYS_munmap, c->a, c->b));
			break;
		case OP_MPROTECT:
			c->result = sysres(syscall(SYS_mprotect, c->a, c->b, c->iarg));
			break;
		case OP_MREMAP: {
			long r = c->has_new
				? (long)syscall(SYS_mremap, c->a, c->b, c->c, MREMAP_MAYMOVE | MREMAP_FIXED, c->d)
				: (long)syscall(SYS_mremap, c->a, c->b, c->c, 0);
			c->result = r == -1 ? -(int64_t)errno : 0;
			break;
		}
		case OP_MADVISE:
			c->result = sysres(syscall(SYS_madvise, c->a, c->b, c->iarg));
			break;
		case OP_READ:
			w = (volatile uint32_t *)(uintptr_t)c->a;
			c->result = *w;
			break;
		case OP_WRITE:
			w = (volatile uint32_t *)(uintptr_t)c->a;
			*w = (uint32_t)c->b;
			break;
		}
	}
}

/* A trace process: run whenever it is our turn, until told to quit. */
static _Noreturn void worker_loop(void)
{
	for (;;) {
		wait_turn(me);
		if (ctl->quit)
			_exit(0);
		run();
	}
}

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		die("fstat");
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		die("malloc");
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0)
			die("read");
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return buf;
}

static int trace_mode(const char *path)
{
	size_t len;
	char *buf = slurp(path, &len);
	parse(buf, len);
	free(buf);

	int ctl_index = procs.n;
	ctl = shared_region(sizeof *ctl + sizeof(uint32_t) * (size_t)(procs.n + 1));
	me = ctl_index;

	/* Files: created empty in a private directory before any process exists. */
	char dir[] = "/tmp/kbench.XXXXXX";
	fds = calloc((size_t)files.n + 1, sizeof(int));
	if (files.n > 0) {
		if (!mkdtemp(dir))
			die("mkdtemp");
		for (int i = 0; i < files.n; i++) {
			char p[64];
			snprintf(p, sizeof p, "%s/f%d", dir, i);
			fds[i] = open(p, O_RDWR | O_CREAT | O_EXCL, 0600);
			if (fds[i] < 0)
				die(p);
			unlink(p);
		}
		rmdir(dir);
	}

	/* Processes exit without their parents waiting: let the kernel reap them. */
	signal(SIGCHLD, SIG_IGN);
	signal(SIGSEGV, on_fault);
	signal(SIGBUS, on_fault);

	uint64_t t0 = now_ns();
	if (run())
		worker_loop();
	while (ctl->pc < ncmds || ctl->t_end == 0) {
		wait_turn(me);
		if (run())
			worker_loop();
	}
	uint64_t t1 = ctl->t_end;

	/* Processes the trace left alive go now. */
	ctl->quit = 1;
	for (int p = 0; p < procs.n; p++)
		give_turn(p);

	uint64_t h = 1469598103934665603ull;
	size_t reads = 0, failed = 0;
	for (size_t i = 0; i < ncmds; i++) {
		const struct cmd *c = &cmds[i];
		if (c->op == OP_READ || c->op == OP_FREAD) {
			reads++;
			uint64_t v[2] = { c->line, (uint64_t)c->result };
			const unsigned char *b = (const unsigned char *)v;
			for (size_t k = 0; k < sizeof v; k++)
				h = (h ^ b[k]) * 1099511628211ull;
		} else if (c->result < 0) {
			failed++;
		}
	}
	printf("{\"ns\":%llu,\"commands\":%zu,\"processes\":%d,\"reads\":%zu,\"readHash\":\"%016llx\",\"failed\":%zu}\n",
	       (unsigned long long)(t1 - t0), ncmds, procs.n, reads, (unsigned long long)h, failed);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Micro-benchmarks                                                    */

#define PAGE 4096ul
/* The simulator's bench maps at this address too (any free range would do). */
#define BASE ((uintptr_t)0x100000000000ull)

static volatile uint32_t *map_anon(size_t pages)
{
	void *p = mmap((void *)BASE, pages * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static void touch_all(volatile uint32_t *m, size_t pages, uint32_t v)
{
	for (size_t i = 0; i < pages; i++)
		m[i * (PAGE / 4)] = v + (uint32_t)i;
}

static int micro(const char *kind, size_t pages, int forks)
{
	volatile uint32_t *m;
	uint64_t t0, t1;
	uint32_t sink = 0;
	if (strcmp(kind, "write-fault") == 0) {
		m = map_anon(pages);
		t0 = now_ns();
		touch_all(m, pages, 7);
		t1 = now_ns();
	} else if (strcmp(kind, "read-fault") == 0) {
		m = map_anon(pages);
		t0 = now_ns();
		for (size_t i = 0; i < pages; i++)
			sink += m[i * (PAGE / 4)];
		t1 = now_ns();
	} else if (strcmp(kind, "read-file") == 0) {
		char path[] = "/tmp/kbench.XXXXXX";
		int fd = mkstemp(path);
		if (fd < 0)
			die("mkstemp");
		unlink(path);
		if (ftruncate(fd, (off_t)(pages * PAGE)) < 0)
			die("ftruncate");
		void *p = mmap((void *)BASE, pages * PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
		if (p == MAP_FAILED)
			die("mmap");
		m = p;
		t0 = now_ns();
		for (size_t i = 0; i < pages; i++)
			sink += m[i * (PAGE / 4)];
		t1 = now_ns();
	} else if (strcmp(kind, "cow-fault") == 0) {
		m = map_anon(pages);
		touch_all(m, pages, 1);
		int pfd[2];
		if (pipe(pfd) < 0)
			die("pipe");
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			/* The parent stays alive with every page mapped: each write copies. */
			uint64_t a = now_ns();
			touch_all(m, pages, 7);
			uint64_t d[2] = { a, now_ns() };
			if (write(pfd[1], d, sizeof d) != sizeof d)
				_exit(1);
			_exit(0);
		}
		uint64_t d[2];
		if (read(pfd[0], d, sizeof d) != sizeof d)
			die("read (cow child)");
		waitpid(pid, NULL, 0);
		t0 = d[0];
		t1 = d[1];
	} else if (strcmp(kind, "fork") == 0) {
		m = map_anon(pages);
		touch_all(m, pages, 1);
		printf("{\"kind\":\"fork\",\"pages\":%zu,\"forkNs\":[", pages);
		uint64_t *fe = calloc((size_t)forks, sizeof *fe);
		for (int i = 0; i < forks; i++) {
			uint64_t a = now_ns();
			pid_t pid = fork();
			if (pid < 0)
				die("fork");
			if (pid == 0)
				_exit(0);
			uint64_t b = now_ns();
			waitpid(pid, NULL, 0);
			fe[i] = now_ns() - a;
			printf("%s%llu", i ? "," : "", (unsigned long long)(b - a));
		}
		printf("],\"forkExitNs\":[");
		for (int i = 0; i < forks; i++)
			printf("%s%llu", i ? "," : "", (unsigned long long)fe[i]);
		printf("]}\n");
		return 0;
	} else {
		fprintf(stderr, "%s: unknown mode '%s'\n", prog, kind);
		return 1;
	}
	printf("{\"kind\":\"%s\",\"pages\":%zu,\"ns\":%llu,\"sink\":%u}\n", kind, pages,
	       (unsigned long long)(t1 - t0), sink);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: kbench trace FILE | kbench KIND PAGES | kbench fork PAGES FORKS\n");
		return 1;
	}
	/* 4 KiB faults, like the oracle (and the simulator). */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	/* Our own process group, so that a fault handler's kill(0) stops only us. */
	setpgid(0, 0);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (strcmp(argv[1], "trace") == 0)
		return trace_mode(argv[2]);
	size_t pages = (size_t)strtoull(argv[2], NULL, 10);
	int forks = argc > 3 ? atoi(argv[3]) : 1;
	return micro(argv[1], pages, forks);
}
