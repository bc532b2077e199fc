/*
 * record — follow a command and every process it creates, and report what
 * its memory does as a stream of raw events; `vmtree record`
 * (src/record/) turns the stream into a vmtrace v1 file.
 *
 *   usage: record [--aslr] [--maps-at-exit] [--events FD] -- CMD ARGS...
 *          record --probe       (only check that this machine can record)
 *          events go to FD (default 1); CMD's own stdio is inherited
 *   exit:  0 CMD ran and every process ended (the last event, `R`, says how)
 *          2 usage
 *          3 this machine cannot record (not root where it must be, no
 *            seccomp RET_TRACE, no userfaultfd write-protect in async
 *            mode, no PAGEMAP_SCAN): one line on stderr says which
 *          4 CMD could not be started (not found, not executable): one line
 *          5 internal error (a ptrace or /proc operation failed)
 *          A SIGTERM/SIGINT ends the recording: every traced process is
 *          killed and the stream ends with `R interrupted`.
 *
 * How it sees memory (Linux >= 6.7, x86-64):
 *  - ptrace with a seccomp filter returning SECCOMP_RET_TRACE for the
 *    memory and process syscalls only, so the traced programs stop at
 *    nothing else. At such a stop PTRACE_GET_SYSCALL_INFO gives the
 *    arguments; the memory syscalls are then followed to their exit stop
 *    for the result.
 *  - kcmp(KCMP_VM) tells whether a new task shares its creator's mm
 *    (threads, vfork children): one event stream per mm, not per task.
 *  - Page touches: in each mm a userfaultfd with UFFD_FEATURE_WP_ASYNC |
 *    UFFD_FEATURE_WP_UNPOPULATED, created *in the tracee* by an injected
 *    syscall (the context binds to the creator's mm) and taken over with
 *    pidfd_getfd; every vma is registered for write-protection and
 *    write-protected (markers on unpopulated ptes). At every stop of a
 *    task of that mm the PAGEMAP_SCAN ioctl on /proc/PID/pagemap reads
 *    (a) which pages are present now, with whether each is a file page or
 *    the zero page, and (b) which were written since the last scan, and
 *    write-protects those again (PM_SCAN_WP_MATCHING). The difference with
 *    the previous scan is reported: pages that became present (first
 *    touches) and pages written again.
 *    A read of a page that is already present is invisible: no fault, no
 *    pte change. Only first touches and writes are seen.
 *
 * Events (one per line, numbers in hex with 0x, paths last):
 *   E MM TID BRK PATH        a new mm by exec (BRK: start_brk)
 *   M MM START END PERMS OFF KIND INO SIZE NAME
 *                            a mapping of that mm at exec (KIND f regular
 *                            file, a anonymous, s special ([vdso]...), o
 *                            other file (device, socket))
 *   F PARENT CHILD           fork: CHILD is a copy of PARENT's mm
 *   S MM NR A0..A5 RES [KIND INO SIZE DEV PATH]
 *                            a memory syscall and its result (negative:
 *                            -errno); mmap of an fd adds the file
 *   T MM START END FLAGS     pages [START,END) touched since the last
 *                            scan: FLAGS has n (newly present), w (written,
 *                            from the write-protect scan), f (file page),
 *                            z (zero page), u (mm not write-tracked yet)
 *   G MM NEWSTART OLDSTART   the stack vma grew down
 *   Q MM                     (--maps-at-exit) MM is exiting: M lines follow
 *   X MM                     the mm is gone (its last task exited or exec'd)
 *   N TEXT                   a note (what could not be followed)
 *   R exit CODE | R signal SIG | R interrupted
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- kernel interfaces newer than this system's headers ---- */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#define PM_SCAN_WP_MATCHING (1 << 0)
struct page_region {
	uint64_t start, end, categories;
};
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)

#ifndef PTRACE_GET_SYSCALL_INFO
#define PTRACE_GET_SYSCALL_INFO 0x420e
#endif
#define SYSINFO_ENTRY 1
#define SYSINFO_EXIT 2
#define SYSINFO_SECCOMP 3
struct sysinfo_ {
	uint8_t op;
	uint8_t pad[3];
	uint32_t arch;
	uint64_t ip, sp;
	union {
		struct { uint64_t nr, args[6]; } entry;
		struct { int64_t rval; uint8_t is_error; } exit;
		struct { uint64_t nr, args[6]; uint32_t ret_data; } seccomp;
	};
};
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#define KCMP_VM 1
#define USER_TOP 0x7ffffffff000ULL
#define PAGE 4096ULL

/* ---- events ---- */
static FILE *ev;

__attribute__((format(printf, 1, 2))) static void emit(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(ev, fmt, ap);
	va_end(ap);
}

static void die(int status, const char *fmt, ...)
{
	va_list ap;
	fputs("record: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (ev) fflush(ev);
	exit(status);
}

/* ---- tasks and mms ---- */
struct range {
	uint64_t start, end, cats;
};
struct rlist {
	struct range *v;
	size_t n, cap;
};

struct mm {
	int id;
	int ntasks;
	int uffd;	 /* our copy of the tracee's userfaultfd, -1 before setup */
	int pagemap;	 /* /proc/PID/pagemap of a task of this mm */
	int need_setup;	 /* write tracking not set up yet */
	int setup_failed;
	uint64_t brk;
	uint64_t stack_lo;
	struct rlist present;
	struct mm *next_free;
};

struct task {
	pid_t tid;
	struct mm *mm;	/* NULL: not recording yet (before the first exec) */
	int in_syscall; /* followed to its exit stop */
	uint64_t nr, args[6];
	char fileinfo[4400];
	int new_child;	/* initial SIGSTOP not seen yet */
	int pending_sig;
	int live;
};

#define MAX_TASKS 4096
static struct task tasks[MAX_TASKS];
static int next_mm_id = 1;
static int maps_at_exit;
static volatile sig_atomic_t interrupted;

static struct task *task_find(pid_t tid)
{
	for (int i = 0; i < MAX_TASKS; i++)
		if (tasks[i].live && tasks[i].tid == tid) return &tasks[i];
	return NULL;
}

static struct task *task_new(pid_t tid)
{
	for (int i = 0; i < MAX_TASKS; i++)
		if (!tasks[i].live) {
			memset(&tasks[i], 0, sizeof tasks[i]);
			tasks[i].tid = tid;
			tasks[i].live = 1;
			return &tasks[i];
		}
	die(5, "more than %d traced tasks at once", MAX_TASKS);
	return NULL;
}

static struct mm *mm_new(pid_t tid)
{
	struct mm *m = calloc(1, sizeof *m);
	if (!m) die(5, "out of memory");
	m->id = next_mm_id++;
	m->uffd = -1;
	m->need_setup = 1;
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/pagemap", tid);
	m->pagemap = open(p, O_RDONLY | O_CLOEXEC);
	if (m->pagemap < 0) die(5, "cannot open %s: %s", p, strerror(errno));
	return m;
}

static void mm_put(struct mm *m)
{
	if (--m->ntasks > 0) return;
	emit("X %d\n", m->id);
	if (m->uffd >= 0) close(m->uffd);
	close(m->pagemap);
	free(m->present.v);
	free(m);
}

static void rl_push(struct rlist *l, uint64_t s, uint64_t e, uint64_t c)
{
	if (l->n && l->v[l->n - 1].end == s && l->v[l->n - 1].cats == c) {
		l->v[l->n - 1].end = e;
		return;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v) die(5, "out of memory");
	}
	l->v[l->n++] = (struct range){ s, e, c };
}

/* ---- PAGEMAP_SCAN ---- */
static struct page_region scanbuf[4096];

static int pm_scan(int fd, uint64_t flags, uint64_t mask, uint64_t anyof, uint64_t ret, struct rlist *out)
{
	uint64_t start = 0;
	out->n = 0;
	while (start < USER_TOP) {
		struct pm_scan_arg a = {
			.size = sizeof a, .flags = flags, .start = start, .end = USER_TOP,
			.vec = (uint64_t)(uintptr_t)scanbuf, .vec_len = 4096,
			.category_mask = mask, .category_anyof_mask = anyof, .return_mask = ret,
		};
		long n = ioctl(fd, PAGEMAP_SCAN, &a);
		if (n < 0) return -errno;
		for (long i = 0; i < n; i++) rl_push(out, scanbuf[i].start, scanbuf[i].end, scanbuf[i].categories);
		if (a.walk_end <= start || a.walk_end >= USER_TOP) break;
		start = a.walk_end;
	}
	return 0;
}

/* Is [a, b) covered by list l (sorted)? Return the covering range's cats or -1. Uses a cursor. */
static int64_t cover(struct rlist *l, size_t *cur, uint64_t a)
{
	while (*cur < l->n && l->v[*cur].end <= a) (*cur)++;
	if (*cur < l->n && l->v[*cur].start <= a) return (int64_t)l->v[*cur].cats;
	return -1;
}

static uint64_t next_edge(struct rlist *l, size_t cur, uint64_t a)
{
	if (cur >= l->n) return USER_TOP;
	if (l->v[cur].start > a) return l->v[cur].start;
	return l->v[cur].end;
}

static void read_stack_lo(pid_t tid, struct mm *m);

/*
 * Report what changed in mm m since its last scan. Pages present now that
 * were not (first touches), and pages written since they were last
 * write-protected. Without write tracking yet (u), only presence is known.
 */
static void scan(struct mm *m, pid_t tid)
{
	static struct rlist now, written;
	int r;
	if (m->uffd >= 0) {
		r = pm_scan(m->pagemap, PM_SCAN_WP_MATCHING, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, &written);
		if (r == -ESRCH) return; /* the mm is going away */
		if (r < 0) die(5, "PAGEMAP_SCAN (write-protect) failed: %s", strerror(-r));
	} else {
		written.n = 0;
	}
	r = pm_scan(m->pagemap, 0, 0, PAGE_IS_PRESENT,
		    PAGE_IS_FILE | PAGE_IS_PFNZERO, &now);
	if (r == -ESRCH) return; /* the mm is going away */
	if (r < 0) die(5, "PAGEMAP_SCAN failed: %s", strerror(-r));

	/* did the stack grow below what we reported? */
	if (m->stack_lo) {
		for (size_t i = 0; i < now.n; i++) {
			if (now.v[i].start < m->stack_lo && now.v[i].end <= m->stack_lo &&
			    now.v[i].start + (1ULL << 30) >= m->stack_lo) {
				uint64_t old = m->stack_lo;
				read_stack_lo(tid, m);
				if (m->stack_lo < old) emit("G %d 0x%llx 0x%llx\n", m->id, (unsigned long long)m->stack_lo, (unsigned long long)old);
				break;
			}
		}
	}

	/* sweep the three lists */
	size_t cn = 0, cp = 0, cw = 0;
	uint64_t a = 0;
	uint64_t rs = 0, re = 0;
	char rf[8] = "";
	while (cn < now.n) {
		int64_t cnow = cover(&now, &cn, a);
		if (cn >= now.n) break;
		if (cnow < 0) {
			a = now.v[cn].start;
			continue;
		}
		int64_t cprev = cover(&m->present, &cp, a);
		int64_t cwr = cover(&written, &cw, a);
		uint64_t b = now.v[cn].end;
		uint64_t e1 = next_edge(&m->present, cp, a), e2 = next_edge(&written, cw, a);
		if (e1 < b) b = e1;
		if (e2 < b) b = e2;
		char f[8];
		int k = 0;
		if (cprev < 0) f[k++] = 'n';
		if (cwr >= 0) f[k++] = 'w';
		if (cnow & PAGE_IS_FILE) f[k++] = 'f';
		if (cnow & PAGE_IS_PFNZERO) f[k++] = 'z';
		if (m->uffd < 0) f[k++] = 'u';
		f[k] = 0;
		if (cprev < 0 || cwr >= 0) {
			if (re == a && strcmp(rf, f) == 0) {
				re = b;
			} else {
				if (re > rs) emit("T %d 0x%llx 0x%llx %s\n", m->id, (unsigned long long)rs, (unsigned long long)re, rf);
				rs = a;
				re = b;
				strcpy(rf, f);
			}
		}
		a = b;
	}
	if (re > rs) emit("T %d 0x%llx 0x%llx %s\n", m->id, (unsigned long long)rs, (unsigned long long)re, rf);
	/* now becomes the previous state */
	struct rlist t = m->present;
	m->present = now;
	now = t;
}

/* ---- /proc helpers ---- */
static void read_stack_lo(pid_t tid, struct mm *m)
{
	char p[64], line[4600];
	snprintf(p, sizeof p, "/proc/%d/maps", tid);
	FILE *f = fopen(p, "re");
	if (!f) return;
	while (fgets(line, sizeof line, f)) {
		unsigned long long s, e;
		if (strstr(line, "[stack]") && sscanf(line, "%llx-%llx", &s, &e) == 2) m->stack_lo = s;
	}
	fclose(f);
}

static uint64_t read_start_brk(pid_t tid)
{
	char p[64], buf[4096];
	snprintf(p, sizeof p, "/proc/%d/stat", tid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0) return 0;
	buf[n] = 0;
	char *s = strrchr(buf, ')'); /* comm may hold spaces */
	if (!s) return 0;
	/* field 3 follows ") "; start_brk is field 47 */
	int field = 2;
	for (char *q = s + 1; *q; q++) {
		if (*q == ' ') {
			field++;
			if (field == 47) return strtoull(q + 1, NULL, 10);
		}
	}
	return 0;
}

/* Describe the file behind a path: "KIND INO SIZE DEV". */
static void describe_file(const char *path, char *out, size_t outsz)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(out, outsz, "o 0x0 0x0 0x0");
		return;
	}
	char kind = S_ISREG(st.st_mode) ? 'f' : 'o';
	snprintf(out, outsz, "%c 0x%llx 0x%llx 0x%llx", kind, (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_size, (unsigned long long)st.st_dev);
}

/* Emit the M lines of /proc/TID/maps. */
static void emit_maps(pid_t tid, struct mm *m)
{
	char p[64], line[4600];
	snprintf(p, sizeof p, "/proc/%d/maps", tid);
	FILE *f = fopen(p, "re");
	if (!f) die(5, "cannot read %s: %s", p, strerror(errno));
	while (fgets(line, sizeof line, f)) {
		unsigned long long s, e, off, ino;
		char perms[8], dev[32];
		int pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %31s %llu %n", &s, &e, perms, &off, dev, &ino, &pos) < 6) continue;
		char *name = line + pos;
		name[strcspn(name, "\n")] = 0;
		char info[128];
		if (name[0] == '[') {
			snprintf(info, sizeof info, "s 0x0 0x%llx", e - s);
		} else if (ino == 0) {
			snprintf(info, sizeof info, "a 0x0 0x0");
		} else {
			char mf[96];
			snprintf(mf, sizeof mf, "/proc/%d/map_files/%llx-%llx", tid, s, e);
			char d[128];
			describe_file(mf, d, sizeof d);
			/* drop the device field: KIND INO SIZE */
			char *last = strrchr(d, ' ');
			if (last) *last = 0;
			snprintf(info, sizeof info, "%s", d);
		}
		emit("M %d 0x%llx 0x%llx %s 0x%llx %s %s\n", m->id, s, e, perms, off, info, name);
	}
	fclose(f);
}

/* ---- syscall injection ---- */
static int wait_tid(pid_t tid, int *st)
{
	for (;;) {
		pid_t r = waitpid(tid, st, __WALL);
		if (r == tid) return 0;
		if (r < 0 && errno == EINTR) continue;
		return -1;
	}
}

/*
 * Make task tid run one syscall and return its result. The task is in a
 * ptrace stop; at, the address of a `syscall` instruction in its memory.
 * Its registers are restored afterwards.
 */
static int inject(struct task *t, uint64_t at, long nr, uint64_t a0, uint64_t a1, uint64_t a2, long *res)
{
	struct user_regs_struct saved, r;
	int st;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &saved) < 0) return -1;
	r = saved;
	r.rax = nr;
	r.orig_rax = nr;
	r.rdi = a0;
	r.rsi = a1;
	r.rdx = a2;
	r.rip = at;
	if (ptrace(PTRACE_SETREGS, t->tid, 0, &r) < 0) return -1;
	for (int phase = 0; phase < 2;) {
		if (ptrace(PTRACE_SYSCALL, t->tid, 0, 0) < 0) return -1;
		if (wait_tid(t->tid, &st) < 0) return -1;
		if (!WIFSTOPPED(st)) return -1;
		if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
			phase++;
			continue;
		}
		if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP) t->pending_sig = WSTOPSIG(st);
	}
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) < 0) return -1;
	*res = (long)r.rax;
	if (ptrace(PTRACE_SETREGS, t->tid, 0, &saved) < 0) return -1;
	return 0;
}

static int is_syscall_insn(pid_t tid, uint64_t at)
{
	unsigned char b[2];
	struct iovec l = { b, 2 }, rm = { (void *)(uintptr_t)at, 2 };
	if (process_vm_readv(tid, &l, 1, &rm, 1, 0) != 2) return 0;
	return b[0] == 0x0f && b[1] == 0x05;
}

static void uffd_track(struct mm *m, uint64_t s, uint64_t e)
{
	if (m->uffd < 0 || e <= s) return;
	struct uffdio_register reg = { .range = { s, e - s }, .mode = UFFDIO_REGISTER_MODE_WP };
	if (ioctl(m->uffd, UFFDIO_REGISTER, &reg) < 0) return; /* not trackable (e.g. shared read-only) */
	struct uffdio_writeprotect wp = { .range = { s, e - s }, .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	ioctl(m->uffd, UFFDIO_WRITEPROTECT, &wp);
}

/* Register every vma of the mm (except special ones) for write tracking. */
static void uffd_track_all(struct mm *m, pid_t tid)
{
	char p[64], line[4600];
	snprintf(p, sizeof p, "/proc/%d/maps", tid);
	FILE *f = fopen(p, "re");
	if (!f) return;
	while (fgets(line, sizeof line, f)) {
		unsigned long long s, e;
		if (sscanf(line, "%llx-%llx", &s, &e) != 2) continue;
		if (e > USER_TOP || strstr(line, "[v")) continue; /* [vdso], [vvar], [vsyscall] */
		uffd_track(m, s, e);
	}
	fclose(f);
}

/*
 * Give mm m write tracking: a userfaultfd created in task t (stopped where
 * `at` is a syscall instruction), taken with pidfd_getfd, closed in t.
 */
static void setup_tracking(struct mm *m, struct task *t, uint64_t at)
{
	long fd;
	m->need_setup = 0;
	if (!is_syscall_insn(t->tid, at)) goto fail;
	if (inject(t, at, SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY, 0, 0, &fd) < 0 || fd < 0) goto fail;
	int pidfd = syscall(SYS_pidfd_open, t->tid, 0);
	if (pidfd < 0) pidfd = syscall(SYS_pidfd_open, t->tid, PIDFD_THREAD);
	int ours = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
	if (pidfd >= 0) close(pidfd);
	long ignored;
	inject(t, at, SYS_close, fd, 0, 0, &ignored);
	if (ours < 0) goto fail;
	fcntl(ours, F_SETFD, FD_CLOEXEC);
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_WP_HUGETLBFS_SHMEM };
	if (ioctl(ours, UFFDIO_API, &api) < 0) {
		close(ours);
		goto fail;
	}
	m->uffd = ours;
	uffd_track_all(m, t->tid);
	return;
fail:
	if (!m->setup_failed) emit("N mm %d: no write tracking (userfaultfd setup failed): writes to present pages are not seen\n", m->id);
	m->setup_failed = 1;
}

/* ---- the seccomp filter ---- */
static const int traced_nrs[] = {
	SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap, SYS_madvise, SYS_brk,
	SYS_clone, SYS_clone3, SYS_fork, SYS_vfork, SYS_execve, SYS_execveat, SYS_exit_group,
	SYS_shmat, SYS_shmdt, SYS_mlock, SYS_mlock2, SYS_mlockall, SYS_munlock, SYS_munlockall,
	SYS_remap_file_pages, SYS_process_madvise, SYS_process_vm_writev, SYS_pkey_mprotect,
};
#define NTRACED ((int)(sizeof traced_nrs / sizeof traced_nrs[0]))

static void install_filter(void)
{
	struct sock_filter f[4 + NTRACED * 2 + 2];
	int k = 0;
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e /* AUDIT_ARCH_X86_64 */, 1, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (int i = 0; i < NTRACED; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, traced_nrs[i], 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = (unsigned short)k, .filter = f };
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
		dprintf(2, "record: cannot install the seccomp filter: %s\n", strerror(errno));
		_exit(126);
	}
}

/* ---- feature probe (in this process) ---- */
static void probe(void)
{
	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (uffd < 0)
		die(3, "userfaultfd is not available here (%s)%s", strerror(errno),
		    geteuid() != 0 ? "; try as root" : "");
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	/* tests: ask for a feature no kernel has, as an older kernel sees WP_ASYNC */
	if (getenv("VMTREE_RECORD_PRETEND_OLD_KERNEL")) api.features |= 1ULL << 62;
	if (ioctl(uffd, UFFDIO_API, &api) < 0)
		die(3, "this kernel's userfaultfd has no asynchronous write-protect (UFFD_FEATURE_WP_ASYNC, WP_UNPOPULATED: Linux >= 6.7)");
	close(uffd);
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0) die(3, "cannot open /proc/self/pagemap: %s", strerror(errno));
	struct pm_scan_arg a = { .size = sizeof a, .start = 0, .end = PAGE, .category_anyof_mask = PAGE_IS_PRESENT,
				 .return_mask = PAGE_IS_PRESENT, .vec = (uint64_t)(uintptr_t)scanbuf, .vec_len = 1 };
	if (ioctl(pm, PAGEMAP_SCAN, &a) < 0)
		die(3, "this kernel has no PAGEMAP_SCAN ioctl on /proc/PID/pagemap (Linux >= 6.7): %s", strerror(errno));
	close(pm);
	if (syscall(SYS_kcmp, getpid(), getpid(), KCMP_VM, 0, 0) != 0)
		die(3, "kcmp(KCMP_VM) is not available (CONFIG_KCMP): %s", strerror(errno));
}

/* ---- main loop ---- */
static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static const char *nrname(uint64_t nr)
{
	switch (nr) {
	case SYS_mmap: return "mmap";
	case SYS_munmap: return "munmap";
	case SYS_mprotect: return "mprotect";
	case SYS_pkey_mprotect: return "pkey_mprotect";
	case SYS_mremap: return "mremap";
	case SYS_madvise: return "madvise";
	case SYS_brk: return "brk";
	case SYS_shmat: return "shmat";
	case SYS_shmdt: return "shmdt";
	case SYS_mlock: return "mlock";
	case SYS_mlock2: return "mlock2";
	case SYS_mlockall: return "mlockall";
	case SYS_munlock: return "munlock";
	case SYS_munlockall: return "munlockall";
	case SYS_remap_file_pages: return "remap_file_pages";
	case SYS_process_madvise: return "process_madvise";
	case SYS_process_vm_writev: return "process_vm_writev";
	default: return NULL;
	}
}

static void resume(struct task *t, int req)
{
	int sig = t->pending_sig;
	t->pending_sig = 0;
	if (ptrace(req, t->tid, 0, sig) < 0 && errno != ESRCH) die(5, "ptrace resume %d: %s", t->tid, strerror(errno));
}

/* A task's first stop after it was created by fork/vfork/clone. */
static void child_started(struct task *c, struct task *parent_task)
{
	(void)parent_task;
	c->new_child = 0;
	struct mm *m = c->mm;
	if (m && m->need_setup && m->ntasks == 1) {
		struct user_regs_struct r;
		if (ptrace(PTRACE_GETREGS, c->tid, 0, &r) == 0) setup_tracking(m, c, r.rip - 2);
		/* what the child starts with is the fork's copy, not a touch */
		static struct rlist now;
		if (pm_scan(m->pagemap, 0, 0, PAGE_IS_PRESENT, PAGE_IS_FILE | PAGE_IS_PFNZERO, &now) == 0) {
			struct rlist t = m->present;
			m->present = now;
			now = t;
		}
	}
	resume(c, PTRACE_CONT);
}

static void on_new_task(struct task *t, pid_t child)
{
	struct task *c = task_find(child);
	int early = c != NULL; /* its initial stop came before this event */
	if (!c) c = task_new(child);
	c->new_child = 1;
	if (t->mm == NULL) {
		c->mm = NULL;
	} else if (syscall(SYS_kcmp, t->tid, child, KCMP_VM, 0, 0) == 0) {
		c->mm = t->mm;
		t->mm->ntasks++;
	} else {
		struct mm *m = mm_new(child);
		m->ntasks = 1;
		m->brk = t->mm->brk;
		m->stack_lo = t->mm->stack_lo;
		c->mm = m;
		emit("F %d %d\n", t->mm->id, m->id);
	}
	if (!early) {
		int st;
		if (wait_tid(child, &st) < 0 || !WIFSTOPPED(st)) {
			/* killed before its first stop: it is gone already */
			if (c->mm) mm_put(c->mm);
			c->live = 0;
			return;
		}
	}
	child_started(c, t);
}

static void on_exec(struct task *t, pid_t oldtid)
{
	(void)oldtid;
	if (t->mm) mm_put(t->mm);
	struct mm *m = mm_new(t->tid);
	m->ntasks = 1;
	t->mm = m;
	m->brk = read_start_brk(t->tid);
	char p[64], exe[4096];
	snprintf(p, sizeof p, "/proc/%d/exe", t->tid);
	ssize_t n = readlink(p, exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = 0;
	emit("E %d %d 0x%llx %s\n", m->id, t->tid, (unsigned long long)m->brk, exe);
	emit_maps(t->tid, m);
	read_stack_lo(t->tid, m);
	scan(m, t->tid); /* the pages exec itself wrote: argv, envp, auxv */
}

static void on_seccomp(struct task *t)
{
	struct sysinfo_ si;
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof si, &si) < 0 || si.op != SYSINFO_SECCOMP) {
		resume(t, PTRACE_CONT);
		return;
	}
	struct mm *m = t->mm;
	if (!m) {
		resume(t, PTRACE_CONT);
		return;
	}
	scan(m, t->tid);
	uint64_t nr = si.seccomp.nr;
	if (nr == SYS_exit_group && maps_at_exit) {
		emit("Q %d\n", m->id);
		emit_maps(t->tid, m);
	}
	if (nrname(nr) == NULL) {
		resume(t, PTRACE_CONT);
		return;
	}
	t->nr = nr;
	memcpy(t->args, si.seccomp.args, sizeof t->args);
	t->fileinfo[0] = 0;
	if (nr == SYS_mmap && !(t->args[3] & 0x20 /* MAP_ANONYMOUS */) && (int)t->args[4] >= 0) {
		char fdp[64], path[4096], d[128];
		snprintf(fdp, sizeof fdp, "/proc/%d/fd/%d", t->tid, (int)t->args[4]);
		ssize_t n = readlink(fdp, path, sizeof path - 1);
		path[n > 0 ? n : 0] = 0;
		describe_file(fdp, d, sizeof d);
		snprintf(t->fileinfo, sizeof t->fileinfo, " %s %s", d, path);
	}
	t->in_syscall = 1;
	resume(t, PTRACE_SYSCALL);
}

static void on_syscall_exit(struct task *t)
{
	struct sysinfo_ si;
	t->in_syscall = 0;
	struct mm *m = t->mm;
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof si, &si) < 0 || si.op != SYSINFO_EXIT || !m) {
		resume(t, PTRACE_CONT);
		return;
	}
	int64_t res = si.exit.rval;
	uint64_t *a = t->args;
	emit("S %d %s 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx %lld%s\n", m->id, nrname(t->nr),
	     (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2],
	     (unsigned long long)a[3], (unsigned long long)a[4], (unsigned long long)a[5], (long long)res, t->fileinfo);
	if (m->need_setup) {
		setup_tracking(m, t, si.ip - 2); /* registers every vma, new ones included */
	} else if (res >= 0 || t->nr == SYS_brk) {
		switch (t->nr) {
		case SYS_mmap: uffd_track(m, (uint64_t)res, (uint64_t)res + ((a[1] + PAGE - 1) & ~(PAGE - 1))); break;
		case SYS_mremap: uffd_track(m, (uint64_t)res, (uint64_t)res + ((a[2] + PAGE - 1) & ~(PAGE - 1))); break;
		case SYS_shmat: uffd_track_all(m, t->tid); break;
		case SYS_brk: {
			uint64_t nb = (uint64_t)res;
			uint64_t o = (m->brk + PAGE - 1) & ~(PAGE - 1), n = (nb + PAGE - 1) & ~(PAGE - 1);
			if (n > o) uffd_track_all(m, t->tid); /* the brk vma may have grown in place */
			m->brk = nb;
			break;
		}
		}
	}
	if (t->nr == SYS_mremap && res >= 0 && (uint64_t)res != a[0]) {
		/* pages moved: they were present before, at the old address */
		uint64_t old = a[0], len = (a[1] < a[2] ? a[1] : a[2]), delta = (uint64_t)res - old;
		struct rlist moved = { 0 };
		for (size_t i = 0; i < m->present.n; i++) {
			struct range r = m->present.v[i];
			uint64_t s = r.start > old ? r.start : old, e = r.end < old + len ? r.end : old + len;
			if (s < e) rl_push(&moved, s + delta, e + delta, r.cats);
		}
		struct rlist merged = { 0 };
		size_t i = 0, j = 0;
		while (i < m->present.n || j < moved.n) {
			if (j >= moved.n || (i < m->present.n && m->present.v[i].start < moved.v[j].start)) {
				rl_push(&merged, m->present.v[i].start, m->present.v[i].end, m->present.v[i].cats);
				i++;
			} else {
				rl_push(&merged, moved.v[j].start, moved.v[j].end, moved.v[j].cats);
				j++;
			}
		}
		free(moved.v);
		free(m->present.v);
		m->present = merged;
	}
	scan(m, t->tid);
	resume(t, PTRACE_CONT);
}

int main(int argc, char **argv)
{
	int aslr = 0, evfd = 1, i = 1;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--probe")) {
			probe();
			return 0;
		}
		if (!strcmp(argv[i], "--aslr")) aslr = 1;
		else if (!strcmp(argv[i], "--maps-at-exit")) maps_at_exit = 1;
		else if (!strcmp(argv[i], "--events") && i + 1 < argc) evfd = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--")) { i++; break; }
		else die(2, "usage: record [--aslr] [--maps-at-exit] [--events FD] -- CMD ARGS...");
	}
	if (i >= argc) die(2, "usage: record [--aslr] [--maps-at-exit] [--events FD] -- CMD ARGS...");
	fcntl(evfd, F_SETFD, FD_CLOEXEC);
	ev = fdopen(evfd, "w");
	if (!ev) die(2, "cannot write events to fd %d: %s", evfd, strerror(errno));
	setvbuf(ev, NULL, _IOFBF, 1 << 16);
	probe();

	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC) < 0) die(5, "pipe: %s", strerror(errno));
	pid_t root = fork();
	if (root < 0) die(5, "fork: %s", strerror(errno));
	if (root == 0) {
		close(errpipe[0]);
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0) {
			int e = errno;
			(void)!write(errpipe[1], "T", 1);
			(void)!write(errpipe[1], &e, sizeof e);
			_exit(126);
		}
		if (!aslr) personality(ADDR_NO_RANDOMIZE);
		raise(SIGSTOP);
		install_filter();
		execvp(argv[i], argv + i);
		int e = errno;
		(void)!write(errpipe[1], "E", 1);
		(void)!write(errpipe[1], &e, sizeof e);
		_exit(127);
	}
	close(errpipe[1]);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	int st;
	if (wait_tid(root, &st) < 0 || !WIFSTOPPED(st)) {
		char kind = 0;
		int e = 0;
		if (read(errpipe[0], &kind, 1) == 1 && read(errpipe[0], &e, sizeof e) == sizeof e && kind == 'T')
			die(3, "ptrace is not permitted here (%s)", strerror(e));
		die(5, "the traced child did not start");
	}
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
		    PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL;
	if (ptrace(PTRACE_SETOPTIONS, root, 0, opts) < 0) die(3, "PTRACE_SETOPTIONS: %s", strerror(errno));
	struct task *rt = task_new(root);
	rt->mm = NULL;
	resume(rt, PTRACE_CONT);

	int root_status = -1, exec_seen = 0;
	for (;;) {
		if (interrupted) {
			kill(root, SIGKILL);
			for (int k = 0; k < MAX_TASKS; k++)
				if (tasks[k].live) kill(tasks[k].tid, SIGKILL);
			emit("R interrupted\n");
			fflush(ev);
			return 0;
		}
		pid_t tid = waitpid(-1, &st, __WALL);
		if (tid < 0) {
			if (errno == EINTR) continue;
			break; /* ECHILD: nothing left */
		}
		struct task *t = task_find(tid);
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (tid == root) root_status = st;
			if (t) {
				if (t->mm) mm_put(t->mm);
				t->live = 0;
			}
			continue;
		}
		if (!WIFSTOPPED(st)) continue;
		if (!t) {
			/* a new task's initial stop before its creator's event: wait for that */
			t = task_new(tid);
			t->new_child = 1;
			continue;
		}
		int sig = WSTOPSIG(st), event = st >> 16;
		if (sig == (SIGTRAP | 0x80)) {
			if (t->in_syscall) on_syscall_exit(t);
			else resume(t, PTRACE_CONT);
		} else if (sig == SIGTRAP && event) {
			unsigned long msg = 0;
			ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg);
			switch (event) {
			case PTRACE_EVENT_SECCOMP: on_seccomp(t); break;
			case PTRACE_EVENT_FORK:
			case PTRACE_EVENT_VFORK:
			case PTRACE_EVENT_CLONE:
				on_new_task(t, (pid_t)msg);
				resume(t, PTRACE_CONT);
				break;
			case PTRACE_EVENT_EXEC:
				if ((pid_t)msg != tid) {
					/* a thread exec'd: it now has the leader's id */
					struct task *old = task_find((pid_t)msg);
					if (old && old != t) {
						if (old->mm) mm_put(old->mm);
						old->live = 0;
					}
				}
				exec_seen = 1;
				on_exec(t, (pid_t)msg);
				resume(t, PTRACE_CONT);
				break;
			case PTRACE_EVENT_EXIT:
				if (t->mm) scan(t->mm, tid);
				resume(t, PTRACE_CONT);
				break;
			default: resume(t, PTRACE_CONT);
			}
		} else if (t->new_child) {
			/* initial stop; the creator's event will handle it (on_new_task) */
			continue;
		} else {
			/*
			 * A signal for the program: deliver it. A group-stop (a
			 * stop signal already delivered) has no siginfo; the task
			 * is resumed: job-control stops are not honoured.
			 */
			siginfo_t si;
			if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) < 0 && errno == EINVAL) {
				resume(t, PTRACE_CONT);
				continue;
			}
			t->pending_sig = sig;
			resume(t, PTRACE_CONT);
		}
	}
	if (!exec_seen) {
		char kind = 0;
		int e = 0;
		if (read(errpipe[0], &kind, 1) == 1 && read(errpipe[0], &e, sizeof e) == sizeof e && kind == 'E') {
			fflush(ev);
			die(4, "cannot run '%s': %s", argv[i], e == ENOENT ? "command not found" : strerror(e));
		}
	}
	if (root_status >= 0 && WIFSIGNALED(root_status)) emit("R signal %d\n", WTERMSIG(root_status));
	else emit("R exit %d\n", root_status >= 0 ? WEXITSTATUS(root_status) : -1);
	fflush(ev);
	return 0;
}
