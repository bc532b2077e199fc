/*
 * vmrun — execute a vmtrace v1 file (spec: vmtrace.md) on the running Linux
 * kernel and print exactly the spec's output, so the TypeScript simulator
 * can be diffed against Linux.
 *
 *   usage: vmrun [--check] [--name NAME] TRACE
 *          vmrun --probe
 *          TRACE "-" = stdin, reported as "<stdin>"; --check: validate only,
 *          run nothing; --name: the FILE shown in messages instead of TRACE
 *          (src/oracle/native.ts feeds traces on stdin with it);
 *          --probe: print what this kernel does that traces can see
 *          ("zero-page on" or "zero-page off", see 4. below) and exit
 *   exit:  0 ok, 1 usage / unreadable input, 2 bad trace (docs/trace-errors.md),
 *          3 not portable (a call would touch memory outside the window),
 *          4 internal error (a worker died, a syscall of the runner failed, ...)
 *
 * How it works
 *
 * 1. Validation. The whole trace is read into memory and checked line by
 *    line, completely, before anything runs, with exactly the rules,
 *    messages and check order of docs/trace-errors.md. The first error
 *    prints "FILE:LINE: MESSAGE" on stderr and exits 2 with nothing on
 *    stdout. Validation also resolves every name to an index.
 *
 * 2. Controller. This process. It becomes a child subreaper (orphaned
 *    workers are reparented to it), makes a private directory with
 *    mkdtemp under /tmp, and creates every file the trace declares there,
 *    empty, opened O_RDWR once each, before any worker exists: every worker
 *    inherits the same open file descriptions at the same fd numbers. (A
 *    file that exists, empty, before its `file` line is unobservable: no
 *    earlier line can name it.) The `file` line then does the ftruncate.
 *    fwrite/fread/ftruncate are done by the controller on those fds with
 *    raw pwrite64/pread64/ftruncate syscalls (offsets >= 2^63 become
 *    negative loff_t, as the kernel sees them).
 *
 * 3. Workers. One real process per trace process, serving requests on its
 *    own AF_UNIX SOCK_STREAM socketpair:
 *       request  struct wreq  { op, a[6] }            (fixed size)
 *       reply    struct wresp { kind, err, val, nbytes } + nbytes payload
 *    kind is OK (val = result), ERR (err = errno), SIG (err = signal).
 *    `spawn P`: the controller forks; the child closes every fd except its
 *    channel, the trace files and stdio, sets PR_SET_THP_DISABLE, resets
 *    the controller's signal handlers, installs SIGSEGV/SIGBUS handlers and
 *    drops all capabilities (the spec's caller is unprivileged: root with
 *    CAP_SYS_RAWIO could map page 0, for instance).
 *    `fork P Q`: the controller makes a new socketpair and sends one end
 *    with the FORK request (SCM_RIGHTS); P's worker calls fork(); the child
 *    closes P's channel, switches to the new one and sends a hello with its
 *    pid; the parent closes its copy and replies with the pid.
 *    `exit P`: the worker _exit()s; it is then reaped by its OS parent: the
 *    controller (waitpid) or the worker that forked it (REAP request). When
 *    a worker dies its children are reparented to the controller before it
 *    becomes reapable, so the controller's bookkeeping stays exact.
 *    mmap/munmap/mprotect/mremap/madvise are raw syscall(SYS_...) with the
 *    trace's 64-bit numbers. read/write are volatile 32-bit accesses with
 *    SIGSEGV/SIGBUS caught by sigsetjmp/siglongjmp (SA_NODEFER, no mask
 *    save: no syscall per access).
 *    A worker whose channel reaches EOF exits, so nothing outlives the
 *    controller; a worker that dies makes the controller see EOF and exit 4.
 *
 * 4. maps / frames. The controller reads /proc/PID/maps (clipped to the
 *    window, normalised: anon vs the trace's files by dev+inode, runs merged
 *    by protection, mode, backing and contiguous offset). For frames, every
 *    live worker in name order is asked to read every page of its readable
 *    mappings in the window (TOUCH; reply = the ranges read without a
 *    fault); then the controller reads /proc/PID/pagemap (present bit 63,
 *    PFN bits 0-54; needs CAP_SYS_ADMIN, which the controller keeps) and
 *    groups pages by PFN. Whether the kernel has a shared zero page, and its
 *    PFN, is found at start-up: the controller reads two fresh anonymous
 *    private pages; stock Linux maps both to the zero page (one PFN), a
 *    kernel that forbids it (s390's mm_forbids_zeropage(), sandbox kernels
 *    booted without it) gives each a zeroed page of its own (two PFNs),
 *    and then `frames` has no zero: group.
 *
 * 5. Portability. Before each memory call the controller checks that the
 *    range it affects lies in [0x100000000000, 0x200000000000). If not, the
 *    call is still run when Linux is certain to reject it before touching
 *    anything (unaligned address, length 0 or wrapping, address past
 *    0x7ffffffff000, mmap below mmap_min_addr -> EPERM, access below 4096 or
 *    past 0x7ffffffff000 -> SIGSEGV, ...); otherwise exit 3 with
 *    "FILE:LINE: not portable: ...". Nothing a trace does can reach the
 *    worker's own memory.
 *
 * Test hook: VMRUN_TEST_KILL_LINE=N kills (SIGKILL) the worker named by line N
 * just before running it, to test that an unexpected death gives exit 4.
 *
 * Linux notes (things that surprised or are easy to get wrong):
 *  - root can mmap at address 0 (cap_mmap_addr only asks for CAP_SYS_RAWIO),
 *    so the workers drop their capabilities to get the spec's EPERM.
 *  - shared anonymous memory shows in /proc/PID/maps as
 *    "/dev/zero (deleted)" on device 00:01 with a shmem inode, and its
 *    offset column is the shmem pgoff, not 0 in general.
 *  - pagemap shows the shared zero page's real PFN (present bit set) for
 *    read-faulted anonymous pages, even though it is not a "normal" page.
 *  - /proc/PID/pagemap only shows PFNs to an opener with CAP_SYS_ADMIN, and
 *    the check is done against the opener's credentials, so the privileged
 *    controller reads the unprivileged workers' pagemaps.
 *  - mmap of a file at an offset >= 2^63, or where OFF+LEN passes 2^63-1,
 *    gives EOVERFLOW (file_mmap_ok), not EINVAL; an offset that is not
 *    page-aligned gives EINVAL before anything else is looked at (x86
 *    sys_mmap), even for MAP_ANONYMOUS.
 *  - ext4's size limit with 4 KiB blocks is 16 TiB - 4 KiB: ftruncate to
 *    0xffffffff000 works, one byte more is EFBIG; pwrite likewise.
 *  - a shrinking mremap whose ADDR is in a hole is EFAULT and unmaps
 *    nothing; only with a vma at ADDR is all of [ADDR+NEWLEN, ADDR+OLDLEN)
 *    unmapped, other vmas included.
 *  - mprotect/madvise at or past TASK_SIZE are ENOMEM (no vma), and even the
 *    vsyscall page (not a vma) is not touched by them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#define MADV_KEEPONFORK 19
#endif
#ifndef MREMAP_FIXED
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#endif

#define PAGE 4096ULL
#define WLO 0x100000000000ULL
#define WHI 0x200000000000ULL
/* TASK_SIZE on x86-64 with 4-level paging (checked for at start-up). */
#define TASK_SZ 0x7ffffffff000ULL

static const char *g_file = "<stdin>";

/* ------------------------------------------------------------------ */
/* small utilities                                                     */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fprintf(stderr, "vmrun: out of memory\n");
		exit(4);
	}
	return q;
}

typedef struct {
	const char *p;
	size_t n;
} tok_t;

static int tok_is(tok_t t, const char *s)
{
	size_t n = strlen(s);
	return t.n == n && memcmp(t.p, s, n) == 0;
}

/* A quoted token: bytes 0x21..0x7e as is, others \xNN, first 32 bytes then "...". */
static const char *san(tok_t t)
{
	static char buf[32 * 4 + 8];
	size_t k = 0, m = t.n > 32 ? 32 : t.n;
	for (size_t i = 0; i < m; i++) {
		unsigned char c = (unsigned char)t.p[i];
		if (c >= 0x21 && c <= 0x7e)
			buf[k++] = (char)c;
		else
			k += (size_t)sprintf(buf + k, "\\x%02x", c);
	}
	if (t.n > 32) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = 0;
	return buf;
}

/* ------------------------------------------------------------------ */
/* name tables (processes and files: separate namespaces)              */

struct names {
	tok_t *v;        /* index -> name */
	size_t cnt, cap; /* entries in v */
	int32_t *slot;   /* open addressing: index+1, 0 = empty */
	size_t nslot;
};

static uint64_t hash_tok(tok_t t)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < t.n; i++) {
		h ^= (unsigned char)t.p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static int names_find(const struct names *nt, tok_t t)
{
	if (!nt->nslot)
		return -1;
	size_t mask = nt->nslot - 1, i = (size_t)hash_tok(t) & mask;
	for (;;) {
		int32_t s = nt->slot[i];
		if (!s)
			return -1;
		tok_t u = nt->v[s - 1];
		if (u.n == t.n && memcmp(u.p, t.p, t.n) == 0)
			return s - 1;
		i = (i + 1) & mask;
	}
}

static int names_add(struct names *nt, tok_t t)
{
	if ((nt->cnt + 1) * 2 > nt->nslot) {
		size_t ns = nt->nslot ? nt->nslot * 2 : 64;
		int32_t *s = xrealloc(NULL, ns * sizeof *s);
		memset(s, 0, ns * sizeof *s);
		for (size_t k = 0; k < nt->cnt; k++) {
			size_t i = (size_t)hash_tok(nt->v[k]) & (ns - 1);
			while (s[i])
				i = (i + 1) & (ns - 1);
			s[i] = (int32_t)k + 1;
		}
		free(nt->slot);
		nt->slot = s;
		nt->nslot = ns;
	}
	if (nt->cnt == nt->cap) {
		nt->cap = nt->cap ? nt->cap * 2 : 64;
		nt->v = xrealloc(nt->v, nt->cap * sizeof *nt->v);
	}
	int idx = (int)nt->cnt++;
	nt->v[idx] = t;
	size_t i = (size_t)hash_tok(t) & (nt->nslot - 1);
	while (nt->slot[i])
		i = (i + 1) & (nt->nslot - 1);
	nt->slot[i] = idx + 1;
	return idx;
}

/* ------------------------------------------------------------------ */
/* commands                                                            */

enum kind {
	K_FILE, K_FWRITE, K_FREAD, K_FTRUNCATE, K_SPAWN, K_FORK, K_EXIT, K_FRAMES, K_RECLAIM,
	K_MMAP, K_MUNMAP, K_MPROTECT, K_MREMAP, K_MADVISE, K_READ, K_WRITE, K_MAPS,
};

static const char *const GLOBALS[] = {
	"file", "fwrite", "fread", "ftruncate", "spawn", "fork", "exit", "frames", "reclaim",
};
static const char *const OPS[] = {
	"mmap", "munmap", "mprotect", "mremap", "madvise", "read", "write", "maps",
};
/* tokens after the command word; -1 = see special cases */
static const int NARGS[] = { 2, 3, 2, 2, 1, 2, 1, 0, 1, -1, 2, 3, -1, 3, 1, 2, 0 };

static const char *const PROT_NAMES[] = { "none", "r", "rw", "rx", "rwx" };
static const int PROT_BITS[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE,
				 PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC };
static const char *const ADV_NAMES[] = { "dontneed", "dontfork", "dofork", "wipeonfork", "keeponfork" };
static const int ADV_BITS[] = { MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK };

struct cmd {
	uint64_t line;
	uint64_t a, b, c, d; /* numbers in argument order */
	int32_t p, q, f;     /* process, second process, file */
	uint32_t val;
	uint8_t kind, prot, shared, fixed, hasfile, hasnew, advice;
};

static struct cmd *g_cmds;
static size_t g_ncmds, g_capcmds;
static struct names g_procs, g_files;
static uint8_t *g_vstate; /* validation: 1 live, 2 exited */
static size_t g_vstate_cap;

static _Noreturn void bad(uint64_t line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%" PRIu64 ": ", g_file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static int is_global(tok_t t)
{
	for (size_t i = 0; i < sizeof GLOBALS / sizeof *GLOBALS; i++)
		if (tok_is(t, GLOBALS[i]))
			return (int)i;
	return -1;
}

static int name_ok(tok_t t)
{
	if (t.n == 0)
		return 0;
	unsigned char c = (unsigned char)t.p[0];
	if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
		return 0;
	for (size_t i = 1; i < t.n; i++) {
		c = (unsigned char)t.p[i];
		if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

/* decimal, or lowercase "0x" + hex digits of either case; < 2^64 */
static int num_ok(tok_t t, uint64_t *out)
{
	uint64_t v = 0;
	if (t.n >= 2 && t.p[0] == '0' && t.p[1] == 'x') {
		if (t.n == 2)
			return 0;
		for (size_t i = 2; i < t.n; i++) {
			unsigned char c = (unsigned char)t.p[i];
			unsigned d;
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				return 0;
			if (v >> 60)
				return 0;
			v = v << 4 | d;
		}
	} else {
		if (t.n == 0)
			return 0;
		for (size_t i = 0; i < t.n; i++) {
			unsigned char c = (unsigned char)t.p[i];
			if (c < '0' || c > '9')
				return 0;
			unsigned d = c - '0';
			if (v > (UINT64_MAX - d) / 10)
				return 0;
			v = v * 10 + d;
		}
	}
	*out = v;
	return 1;
}

static uint64_t want_num(uint64_t line, tok_t t)
{
	uint64_t v;
	if (!num_ok(t, &v))
		bad(line, "bad number '%s'", san(t));
	return v;
}

static uint32_t want_val(uint64_t line, tok_t t)
{
	uint64_t v = want_num(line, t);
	if (v > 0xffffffffULL)
		bad(line, "value out of range '%s'", san(t));
	return (uint32_t)v;
}

static void want_name(uint64_t line, tok_t t)
{
	if (!name_ok(t))
		bad(line, "bad name '%s'", san(t));
}

/* an existing, live process */
static int want_proc(uint64_t line, tok_t t)
{
	want_name(line, t);
	int i = names_find(&g_procs, t);
	if (i < 0)
		bad(line, "unknown process '%s'", san(t));
	if (g_vstate[i] != 1)
		bad(line, "process '%s' has exited", san(t));
	return i;
}

/* a new process name */
static int want_new_proc(uint64_t line, tok_t t)
{
	want_name(line, t);
	if (is_global(t) >= 0)
		bad(line, "process may not be named '%s'", san(t));
	if (names_find(&g_procs, t) >= 0)
		bad(line, "process '%s' already exists", san(t));
	int i = names_add(&g_procs, t);
	if ((size_t)i >= g_vstate_cap) {
		g_vstate_cap = g_vstate_cap ? g_vstate_cap * 2 : 64;
		g_vstate = xrealloc(g_vstate, g_vstate_cap);
	}
	g_vstate[i] = 1;
	return i;
}

static int want_file(uint64_t line, tok_t t)
{
	want_name(line, t);
	int i = names_find(&g_files, t);
	if (i < 0)
		bad(line, "unknown file '%s'", san(t));
	return i;
}

static int want_kw(uint64_t line, tok_t t, const char *const *tab, int n, const char *what)
{
	for (int i = 0; i < n; i++)
		if (tok_is(t, tab[i]))
			return i;
	bad(line, "unknown %s '%s'", what, san(t));
}

#define MAXTOK 9 /* the longest command has 8 tokens; more is counted only */

static void parse_line(uint64_t line, const char *s, size_t n)
{
	/* lexical check: printable ASCII, space, tab; a final \r; '#' comment */
	size_t end = n;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '#') {
			end = i;
			break;
		}
		if (c == '\r' && i == n - 1) {
			end = i;
			break;
		}
		if (!((c >= 0x21 && c <= 0x7e) || c == ' ' || c == '\t'))
			bad(line, "invalid character");
	}
	tok_t tk[MAXTOK];
	int nt = 0;
	for (size_t i = 0; i < end;) {
		while (i < end && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i >= end)
			break;
		size_t st = i;
		while (i < end && s[i] != ' ' && s[i] != '\t')
			i++;
		if (nt < MAXTOK)
			tk[nt] = (tok_t){ s + st, i - st };
		nt++;
	}
	if (nt == 0)
		return;

	struct cmd c;
	memset(&c, 0, sizeof c);
	c.line = line;
	c.p = c.q = c.f = -1;
	int g = is_global(tk[0]);
	if (g >= 0) {
		c.kind = (uint8_t)g;
		if (nt - 1 != NARGS[g])
			bad(line, "wrong number of arguments for %s", GLOBALS[g]);
		switch (g) {
		case K_FILE:
			want_name(line, tk[1]);
			if (names_find(&g_files, tk[1]) >= 0)
				bad(line, "file '%s' already declared", san(tk[1]));
			c.a = want_num(line, tk[2]);
			c.f = names_add(&g_files, tk[1]);
			break;
		case K_FWRITE:
		case K_FREAD:
			c.f = want_file(line, tk[1]);
			c.a = want_num(line, tk[2]);
			if (c.a & 3)
				bad(line, "unaligned offset '%s'", san(tk[2]));
			if (g == K_FWRITE)
				c.val = want_val(line, tk[3]);
			break;
		case K_FTRUNCATE:
			c.f = want_file(line, tk[1]);
			c.a = want_num(line, tk[2]);
			break;
		case K_SPAWN:
			c.p = want_new_proc(line, tk[1]);
			break;
		case K_FORK:
			c.p = want_proc(line, tk[1]);
			c.q = want_new_proc(line, tk[2]);
			break;
		case K_EXIT:
			c.p = want_proc(line, tk[1]);
			g_vstate[c.p] = 2;
			break;
		case K_FRAMES:
			break;
		case K_RECLAIM:
			c.a = want_num(line, tk[1]);
			break;
		}
	} else {
		int op = -1;
		if (nt >= 2)
			for (size_t i = 0; i < sizeof OPS / sizeof *OPS; i++)
				if (tok_is(tk[1], OPS[i]))
					op = (int)i;
		if (op < 0)
			bad(line, "unknown command '%s'", san(nt >= 2 ? tk[1] : tk[0]));
		int k = K_MMAP + op;
		int na = nt - 2;
		int okc = k == K_MMAP ? (na == 4 || na == 6) : k == K_MREMAP ? (na == 3 || na == 4) : na == NARGS[k];
		if (!okc)
			bad(line, "wrong number of arguments for %s", OPS[op]);
		c.kind = (uint8_t)k;
		c.p = want_proc(line, tk[0]);
		switch (k) {
		case K_MMAP:
			c.a = want_num(line, tk[2]);
			c.b = want_num(line, tk[3]);
			c.prot = (uint8_t)want_kw(line, tk[4], PROT_NAMES, 5, "protection");
			{
				tok_t m = tk[5];
				if (tok_is(m, "private") || tok_is(m, "shared") || tok_is(m, "private,fixed") ||
				    tok_is(m, "shared,fixed")) {
					c.shared = m.p[0] == 's';
					c.fixed = m.n > 7;
				} else
					bad(line, "unknown mode '%s'", san(m));
			}
			if (na == 6) {
				c.hasfile = 1;
				c.f = want_file(line, tk[6]);
				c.c = want_num(line, tk[7]);
			}
			break;
		case K_MUNMAP:
			c.a = want_num(line, tk[2]);
			c.b = want_num(line, tk[3]);
			break;
		case K_MPROTECT:
			c.a = want_num(line, tk[2]);
			c.b = want_num(line, tk[3]);
			c.prot = (uint8_t)want_kw(line, tk[4], PROT_NAMES, 5, "protection");
			break;
		case K_MREMAP:
			c.a = want_num(line, tk[2]);
			c.b = want_num(line, tk[3]);
			c.c = want_num(line, tk[4]);
			if (na == 4) {
				c.hasnew = 1;
				c.d = want_num(line, tk[5]);
			}
			break;
		case K_MADVISE:
			c.a = want_num(line, tk[2]);
			c.b = want_num(line, tk[3]);
			c.advice = (uint8_t)want_kw(line, tk[4], ADV_NAMES, 5, "advice");
			break;
		case K_READ:
		case K_WRITE:
			c.a = want_num(line, tk[2]);
			if (c.a & 3)
				bad(line, "unaligned address '%s'", san(tk[2]));
			if (k == K_WRITE)
				c.val = want_val(line, tk[3]);
			break;
		case K_MAPS:
			break;
		}
	}
	if (g_ncmds == g_capcmds) {
		g_capcmds = g_capcmds ? g_capcmds * 2 : 256;
		g_cmds = xrealloc(g_cmds, g_capcmds * sizeof *g_cmds);
	}
	g_cmds[g_ncmds++] = c;
}

static void parse_all(const char *buf, size_t n)
{
	uint64_t line = 0;
	size_t pos = 0;
	while (pos < n) {
		const char *nl = memchr(buf + pos, '\n', n - pos);
		size_t len = nl ? (size_t)(nl - (buf + pos)) : n - pos;
		line++;
		parse_line(line, buf + pos, len);
		pos += len + 1;
	}
}

/* ------------------------------------------------------------------ */
/* run-time state of the controller                                    */

struct proc {
	pid_t pid;
	int ch;      /* controller's end of the channel */
	int ospar;   /* OS parent: -1 controller, else process index */
	int live;
	uint32_t rank; /* position in name order */
};
static struct proc *g_rp;
static size_t g_nprocs;

struct rfile {
	int fd;
	dev_t dev;
	ino_t ino;
};
static struct rfile *g_rf;
static size_t g_nfiles;

static char g_dir[64];
static int g_dirfd = -1;
static uint64_t g_line; /* line being executed, for messages */
static uint64_t g_zero_pfn = UINT64_MAX; /* UINT64_MAX: no zero page on this kernel */
static int g_zero_ok;                    /* PFNs are readable (the probe saw them) */
static int g_zero_page;                  /* read faults of private anon memory map the zero page */
static uint64_t g_min_addr = 4096;
static int g_vsys_readable;

/* async-signal-safe: kill every worker we know, remove the temp dir */
static void cleanup_files(void)
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

static void kill_workers(void)
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

static void on_signal(int sig)
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

static void finish(int status)
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

static _Noreturn void internal(const char *fmt, ...)
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

static _Noreturn void not_portable(const char *what)
{
	fflush(stdout);
	fprintf(stderr, "%s:%" PRIu64 ": not portable: %s\n", g_file, g_line, what);
	finish(3);
	exit(3);
}

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);
	static char buf[32];
	if (s)
		return s;
	snprintf(buf, sizeof buf, "E%d", e);
	return buf;
}

/* ------------------------------------------------------------------ */
/* channel protocol                                                    */

enum op { OP_MMAP = 1, OP_MUNMAP, OP_MPROTECT, OP_MREMAP, OP_MADVISE, OP_READ, OP_WRITE,
	  OP_TOUCH, OP_FORK, OP_EXIT, OP_REAP, OP_PING };
enum rkind { RK_OK = 1, RK_ERR, RK_SIG };

struct wreq {
	uint32_t op;
	uint32_t pad;
	uint64_t a[6];
};
struct wresp {
	int32_t kind;
	int32_t err;
	uint64_t val;
	uint64_t nbytes;
};

/* returns 0 ok, -1 error/EOF */
static int send_all(int fd, const void *buf, size_t n, int passfd)
{
	const char *p = buf;
	while (n) {
		struct iovec iov = { (void *)p, n };
		struct msghdr mh;
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr al;
		} cb;
		memset(&mh, 0, sizeof mh);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (passfd >= 0) {
			memset(&cb, 0, sizeof cb);
			mh.msg_control = cb.b;
			mh.msg_controllen = sizeof cb.b;
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &passfd, sizeof(int));
		}
		ssize_t r = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		passfd = -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* returns 0 ok, -1 error/EOF; *gotfd receives a passed descriptor */
static int recv_all(int fd, void *buf, size_t n, int *gotfd)
{
	char *p = buf;
	while (n) {
		struct iovec iov = { p, n };
		struct msghdr mh;
		union {
			char b[CMSG_SPACE(sizeof(int) * 4)];
			struct cmsghdr al;
		} cb;
		memset(&mh, 0, sizeof mh);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cb.b;
		mh.msg_controllen = sizeof cb.b;
		ssize_t r = recvmsg(fd, &mh, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			return -1;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
				size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (size_t j = 0; j < k; j++) {
					int f;
					memcpy(&f, CMSG_DATA(cm) + j * sizeof(int), sizeof f);
					if (gotfd && *gotfd < 0)
						*gotfd = f;
					else
						close(f);
				}
			}
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* worker                                                              */

static sigjmp_buf g_jb;
static volatile sig_atomic_t g_probing;

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (g_probing) {
		g_probing = 0;
		siglongjmp(g_jb, sig);
	}
	/* a fault outside a probe is a bug of ours: die with it */
	signal(sig, SIG_DFL);
}

static int probe_read(uint64_t addr, uint32_t *out)
{
	int sig = sigsetjmp(g_jb, 0);
	if (sig)
		return sig;
	g_probing = 1;
	uint32_t v = *(volatile uint32_t *)(uintptr_t)addr;
	g_probing = 0;
	*out = v;
	return 0;
}

static int probe_write(uint64_t addr, uint32_t v)
{
	int sig = sigsetjmp(g_jb, 0);
	if (sig)
		return sig;
	g_probing = 1;
	*(volatile uint32_t *)(uintptr_t)addr = v;
	g_probing = 0;
	return 0;
}

static _Noreturn void worker_fatal(void)
{
	_exit(111);
}

static void wreply(int ch, int kind, int err, uint64_t val, const void *payload, uint64_t nbytes)
{
	struct wresp r = { kind, err, val, nbytes };
	if (send_all(ch, &r, sizeof r, -1) < 0)
		worker_fatal();
	if (nbytes && send_all(ch, payload, (size_t)nbytes, -1) < 0)
		worker_fatal();
}

static void wreply_sys(int ch, long r)
{
	if (r == -1)
		wreply(ch, RK_ERR, errno, 0, NULL, 0);
	else
		wreply(ch, RK_OK, 0, (uint64_t)r, NULL, 0);
}

static void worker_setup(void)
{
	/* signal dispositions: nothing of the controller's */
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
		worker_fatal();
	/* the spec's caller is unprivileged: drop every capability */
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	if (syscall(SYS_capset, &h, d) != 0)
		worker_fatal();
}

static _Noreturn void worker_loop(int ch)
{
	for (;;) {
		struct wreq q;
		int fd = -1;
		if (recv_all(ch, &q, sizeof q, &fd) < 0)
			_exit(0); /* controller gone */
		switch (q.op) {
		case OP_MMAP:
			wreply_sys(ch, syscall(SYS_mmap, q.a[0], q.a[1], q.a[2], q.a[3], q.a[4], q.a[5]));
			break;
		case OP_MUNMAP:
			wreply_sys(ch, syscall(SYS_munmap, q.a[0], q.a[1]));
			break;
		case OP_MPROTECT:
			wreply_sys(ch, syscall(SYS_mprotect, q.a[0], q.a[1], q.a[2]));
			break;
		case OP_MREMAP:
			wreply_sys(ch, syscall(SYS_mremap, q.a[0], q.a[1], q.a[2], q.a[3], q.a[4]));
			break;
		case OP_MADVISE:
			wreply_sys(ch, syscall(SYS_madvise, q.a[0], q.a[1], q.a[2]));
			break;
		case OP_READ: {
			uint32_t v = 0;
			int sig = probe_read(q.a[0], &v);
			if (sig)
				wreply(ch, RK_SIG, sig, 0, NULL, 0);
			else
				wreply(ch, RK_OK, 0, v, NULL, 0);
			break;
		}
		case OP_WRITE: {
			int sig = probe_write(q.a[0], (uint32_t)q.a[1]);
			wreply(ch, sig ? RK_SIG : RK_OK, sig, 0, NULL, 0);
			break;
		}
		case OP_TOUCH: {
			/* read every page of [a0, a1); reply the ranges read without fault */
			uint64_t *rg = NULL;
			size_t nr = 0, cap = 0;
			uint64_t rs = 0;
			int in = 0;
			for (uint64_t p = q.a[0]; p < q.a[1]; p += PAGE) {
				uint32_t v;
				int ok = probe_read(p, &v) == 0;
				if (ok && !in) {
					rs = p;
					in = 1;
				} else if (!ok && in) {
					if (nr + 2 > cap) {
						cap = cap ? cap * 2 : 64;
						rg = realloc(rg, cap * sizeof *rg);
						if (!rg)
							worker_fatal();
					}
					rg[nr++] = rs;
					rg[nr++] = p;
					in = 0;
				}
			}
			if (in) {
				if (nr + 2 > cap) {
					cap = cap + 2;
					rg = realloc(rg, cap * sizeof *rg);
					if (!rg)
						worker_fatal();
				}
				rg[nr++] = rs;
				rg[nr++] = q.a[1];
			}
			wreply(ch, RK_OK, 0, 0, rg, nr * sizeof *rg);
			free(rg);
			break;
		}
		case OP_FORK: {
			if (fd < 0)
				worker_fatal();
			pid_t pid = fork();
			if (pid == 0) {
				close(ch);
				ch = fd;
				if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
					worker_fatal();
				wreply(ch, RK_OK, 0, (uint64_t)getpid(), NULL, 0);
				fd = -1;
				break;
			}
			int e = errno;
			close(fd);
			fd = -1;
			if (pid < 0)
				wreply(ch, RK_ERR, e, 0, NULL, 0);
			else
				wreply(ch, RK_OK, 0, (uint64_t)pid, NULL, 0);
			break;
		}
		case OP_EXIT:
			_exit(0);
		case OP_PING:
			wreply(ch, RK_OK, 0, (uint64_t)getpid(), NULL, 0);
			break;
		case OP_REAP: {
			int st = 0;
			pid_t r;
			do
				r = waitpid((pid_t)q.a[0], &st, 0);
			while (r < 0 && errno == EINTR);
			if (r < 0)
				wreply(ch, RK_ERR, errno, 0, NULL, 0);
			else
				wreply(ch, RK_OK, 0, (uint64_t)(uint32_t)st, NULL, 0);
			break;
		}
		default:
			worker_fatal();
		}
		if (fd >= 0)
			close(fd);
	}
}

/* ------------------------------------------------------------------ */
/* controller side of the protocol                                     */

static const char *pname(int p)
{
	return san(g_procs.v[p]);
}

static void csend(int p, const struct wreq *q, int passfd)
{
	if (send_all(g_rp[p].ch, q, sizeof *q, passfd) < 0)
		internal("process '%s' (pid %d) is gone", pname(p), (int)g_rp[p].pid);
}

static void crecv_raw(int ch, int p, struct wresp *r, void **payload)
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

static struct wresp call(int p, uint32_t op, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
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

static void print_sysresult(struct wresp r)
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

static void spawn_worker(int p)
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
/* /proc/PID/maps                                                      */

struct vma {
	uint64_t s, e, off;
	char perm[5];
	int file; /* -1 anonymous */
};

static char *slurp_fd(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *b = xrealloc(NULL, cap);
	for (;;) {
		if (n + 4096 > cap) {
			cap *= 2;
			b = xrealloc(b, cap);
		}
		ssize_t r = read(fd, b + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(b);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b[n] = 0;
	*len = n;
	return b;
}

static struct wresp call(int p, uint32_t op, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			 uint64_t a4, uint64_t a5, void **payload);

/* the window part of a process's mappings, ascending, clipped */
static size_t get_vmas(int p, struct vma **out)
{
	/* a round trip first: the worker is alive and idle while /proc is read */
	struct wresp pr = call(p, OP_PING, 0, 0, 0, 0, 0, 0, NULL);
	if (pr.kind != RK_OK || (pid_t)pr.val != g_rp[p].pid)
		internal("bad ping reply from '%s'", san(g_procs.v[p]));
	pid_t pid = g_rp[p].pid;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		internal("open %s: %s", path, strerror(errno));
	size_t len;
	char *b = slurp_fd(fd, &len);
	close(fd);
	if (!b)
		internal("read %s: %s", path, strerror(errno));
	struct vma *v = NULL;
	size_t n = 0, cap = 0;
	char *line = b;
	while (*line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		unsigned long long s, e, off, ino;
		unsigned maj, min;
		char perm[8];
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &s, &e, perm, &off, &maj, &min, &ino) != 7)
			internal("cannot parse %s line '%s'", path, line);
		if (e > WLO && s < WHI) {
			if (s < WLO) {
				off += WLO - s;
				s = WLO;
			}
			if (e > WHI)
				e = WHI;
			int file = -1;
			for (size_t i = 0; i < g_nfiles; i++)
				if (g_rf[i].ino == (ino_t)ino && major(g_rf[i].dev) == maj && minor(g_rf[i].dev) == min)
					file = (int)i;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				v = xrealloc(v, cap * sizeof *v);
			}
			v[n].s = s;
			v[n].e = e;
			v[n].off = file >= 0 ? off : 0;
			memcpy(v[n].perm, perm, 4);
			v[n].perm[4] = 0;
			v[n].file = file;
			n++;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	free(b);
	*out = v;
	return n;
}

static void do_maps(int p)
{
	struct vma *v;
	size_t n = get_vmas(p, &v);
	printf("maps %.*s\n", (int)g_procs.v[p].n, g_procs.v[p].p);
	size_t i = 0;
	while (i < n) {
		struct vma r = v[i];
		size_t j = i + 1;
		while (j < n && v[j].s == r.e && memcmp(v[j].perm, r.perm, 4) == 0 && v[j].file == r.file &&
		       (r.file < 0 || v[j].off == r.off + (r.e - r.s))) {
			r.e = v[j].e;
			j++;
		}
		printf("  0x%" PRIx64 "-0x%" PRIx64 " %s ", r.s, r.e, r.perm);
		if (r.file < 0)
			fputs("anon\n", stdout);
		else
			printf("%.*s@0x%" PRIx64 "\n", (int)g_files.v[r.file].n, g_files.v[r.file].p, r.off);
		i = j;
	}
	free(v);
}

/* ------------------------------------------------------------------ */
/* frames                                                              */

struct fent {
	uint64_t pfn;
	uint64_t addr;
	uint32_t rank;
	int32_t proc;
};

static int cmp_member(const struct fent *x, const struct fent *y)
{
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

static int cmp_fent(const void *a, const void *b)
{
	const struct fent *x = a, *y = b;
	if (x->pfn != y->pfn)
		return x->pfn < y->pfn ? -1 : 1;
	return cmp_member(x, y);
}

struct group {
	size_t start, n;
};
static struct fent *g_fe;
static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	return cmp_member(&g_fe[x->start], &g_fe[y->start]);
}

static int *g_order; /* process indices in name order */

static int cmp_names(const void *a, const void *b)
{
	tok_t x = g_procs.v[*(const int *)a], y = g_procs.v[*(const int *)b];
	size_t m = x.n < y.n ? x.n : y.n;
	int c = memcmp(x.p, y.p, m);
	if (c)
		return c;
	return (x.n > y.n) - (x.n < y.n);
}

static void print_member(const struct fent *f)
{
	printf(" %.*s:0x%" PRIx64, (int)g_procs.v[f->proc].n, g_procs.v[f->proc].p, f->addr);
}

static void do_frames(void)
{
	if (!g_zero_ok)
		internal("physical frame numbers are not readable (need root: CAP_SYS_ADMIN for /proc/PID/pagemap)");
	/* phase 1: every live process reads its readable window pages, in name order */
	uint64_t **ranges = xrealloc(NULL, g_nprocs * sizeof *ranges);
	size_t *nrange = xrealloc(NULL, g_nprocs * sizeof *nrange);
	for (size_t k = 0; k < g_nprocs; k++) {
		int p = g_order[k];
		ranges[p] = NULL;
		nrange[p] = 0;
		if (!g_rp[p].live)
			continue;
		struct vma *v;
		size_t n = get_vmas(p, &v);
		for (size_t i = 0; i < n; i++) {
			if (v[i].perm[0] != 'r')
				continue;
			void *pl;
			struct wresp r = call(p, OP_TOUCH, v[i].s, v[i].e, 0, 0, 0, 0, &pl);
			if (r.kind != RK_OK)
				internal("touch failed");
			size_t m = (size_t)(r.nbytes / 16);
			ranges[p] = xrealloc(ranges[p], (nrange[p] + m) * 16);
			memcpy(ranges[p] + nrange[p] * 2, pl, m * 16);
			nrange[p] += m;
			free(pl);
		}
		free(v);
	}
	/* phase 2: their frame numbers */
	struct fent *fe = NULL;
	size_t nfe = 0, capfe = 0;
	for (size_t k = 0; k < g_nprocs; k++) {
		int p = g_order[k];
		if (!g_rp[p].live)
			continue;
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/pagemap", (int)g_rp[p].pid);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			internal("open %s: %s", path, strerror(errno));
		for (size_t i = 0; i < nrange[p]; i++) {
			uint64_t s = ranges[p][2 * i], e = ranges[p][2 * i + 1];
			static uint64_t ent[4096];
			for (uint64_t a = s; a < e;) {
				size_t cnt = (size_t)((e - a) / PAGE);
				if (cnt > 4096)
					cnt = 4096;
				ssize_t r = pread(fd, ent, cnt * 8, (off_t)(a / PAGE * 8));
				if (r != (ssize_t)(cnt * 8))
					internal("read %s: %s", path, r < 0 ? strerror(errno) : "short read");
				for (size_t j = 0; j < cnt; j++) {
					uint64_t addr = a + j * PAGE;
					uint64_t x = ent[j];
					for (int tries = 0; !(x >> 63) && tries < 3; tries++) {
						/* reclaimed or migrating since it was read: read it again */
						struct wresp rr = call(p, OP_TOUCH, addr, addr + PAGE, 0, 0, 0, 0, NULL);
						(void)rr;
						if (pread(fd, &x, 8, (off_t)(addr / PAGE * 8)) != 8)
							internal("read %s failed", path);
					}
					if (!(x >> 63))
						internal("page 0x%" PRIx64 " of '%s' read fine but is not present",
							 addr, pname(p));
					if (nfe == capfe) {
						capfe = capfe ? capfe * 2 : 1024;
						fe = xrealloc(fe, capfe * sizeof *fe);
					}
					fe[nfe].pfn = x & ((1ULL << 55) - 1);
					fe[nfe].addr = addr;
					fe[nfe].rank = g_rp[p].rank;
					fe[nfe].proc = p;
					nfe++;
				}
				a += cnt * PAGE;
			}
		}
		close(fd);
		free(ranges[p]);
	}
	free(ranges);
	free(nrange);
	qsort(fe, nfe, sizeof *fe, cmp_fent);
	fputs("frames\n", stdout);
	struct group *gr = NULL;
	size_t ng = 0;
	for (size_t i = 0; i < nfe;) {
		size_t j = i;
		while (j < nfe && fe[j].pfn == fe[i].pfn)
			j++;
		if (fe[i].pfn == g_zero_pfn) {
			fputs("  zero:", stdout);
			for (size_t k = i; k < j; k++)
				print_member(&fe[k]);
			fputc('\n', stdout);
		} else if (j - i >= 2) {
			gr = xrealloc(gr, (ng + 1) * sizeof *gr);
			gr[ng].start = i;
			gr[ng].n = j - i;
			ng++;
		}
		i = j;
	}
	g_fe = fe;
	qsort(gr, ng, sizeof *gr, cmp_group);
	for (size_t g = 0; g < ng; g++) {
		fputc(' ', stdout);
		for (size_t k = gr[g].start; k < gr[g].start + gr[g].n; k++)
			print_member(&fe[k]);
		fputc('\n', stdout);
	}
	free(gr);
	free(fe);
}

/* ------------------------------------------------------------------ */
/* portability: is the call confined to the window, or certain to fail? */

static uint64_t palign(uint64_t x)
{
	return (x + PAGE - 1) & ~(PAGE - 1); /* wraps to 0 like the kernel's PAGE_ALIGN */
}

/* [s, s+len) inside the window (len 0: s inside or at its end) */
static int inwin(uint64_t s, uint64_t len)
{
	return s >= WLO && s <= WHI && len <= WHI - s;
}

static void check_portable(const struct cmd *c)
{
	uint64_t a = c->a, len = c->b, al = palign(c->b);
	switch (c->kind) {
	case K_MMAP:
		if (len != 0 && al != 0 && inwin(a, al))
			return;
		/* do_mmap / __get_unmapped_area / security_mmap_addr reject these first */
		if ((c->hasfile && (c->c & (PAGE - 1))) || len == 0 || al == 0 || al > TASK_SZ ||
		    a > TASK_SZ - al || (a & (PAGE - 1)) || a < g_min_addr)
			return;
		not_portable("mmap outside the window");
	case K_MUNMAP:
		if ((a & (PAGE - 1)) || a > TASK_SZ || len > TASK_SZ - a || al == 0)
			return; /* EINVAL */
		if (inwin(a, al))
			return;
		not_portable("munmap outside the window");
	case K_MPROTECT:
	case K_MADVISE:
		/* unaligned: EINVAL; length 0: nothing; wrapping: error; no vma at or past TASK_SIZE */
		if ((a & (PAGE - 1)) || len == 0 || al == 0 || a + al < a || a >= TASK_SZ)
			return;
		if (inwin(a, al))
			return;
		not_portable(c->kind == K_MPROTECT ? "mprotect outside the window" : "madvise outside the window");
	case K_MREMAP: {
		uint64_t ol = palign(c->b), nl = palign(c->c);
		if ((a & (PAGE - 1)) || c->c == 0 || nl == 0 || c->c > TASK_SZ)
			return; /* EINVAL */
		if (c->hasnew && ((c->d & (PAGE - 1)) || c->d > TASK_SZ - nl))
			return; /* EINVAL */
		if (a >= TASK_SZ)
			return; /* no vma there: EFAULT (or EINVAL first) */
		if (a >= WLO && a < WHI && inwin(a, ol) &&
		    (c->hasnew ? inwin(c->d, nl) : inwin(a, nl)))
			return;
		not_portable("mremap outside the window");
	}
	case K_READ:
	case K_WRITE:
		if (a >= WLO && a < WHI)
			return;
		if (a < 4096)
			return; /* nothing can be mapped there: SIGSEGV */
		if (a >= TASK_SZ) {
			/* never a user mapping there; the vsyscall page is execute-only on 6.x
			 * (vsyscall=xonly), but if it is readable a read would succeed */
			if (c->kind == K_READ && g_vsys_readable && a >= 0xffffffffff600000ULL &&
			    a < 0xffffffffff601000ULL)
				not_portable("read of the vsyscall page");
			return;
		}
		not_portable(c->kind == K_READ ? "read outside the window" : "write outside the window");
	default:
		return;
	}
}

/* ------------------------------------------------------------------ */
/* execution                                                           */

static void detect_environment(void)
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

static void setup_files(void)
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

static uint64_t g_test_kill_line; /* VMRUN_TEST_KILL_LINE: tests of worker death */

static void exec_cmd(const struct cmd *c)
{
	g_line = c->line;
	check_portable(c);
	if (g_test_kill_line && c->line == g_test_kill_line && c->p >= 0 && g_rp[c->p].live) {
		kill(g_rp[c->p].pid, SIGKILL);
		usleep(20000);
	}
	printf("%" PRIu64 " ", c->line);
	switch (c->kind) {
	case K_FILE:
	case K_FTRUNCATE: {
		long r = syscall(SYS_ftruncate, g_rf[c->f].fd, (long)c->a);
		if (r == -1)
			printf("%s\n", errname(errno));
		else
			fputs("ok\n", stdout);
		break;
	}
	case K_FWRITE: {
		unsigned char b[4] = { (unsigned char)c->val, (unsigned char)(c->val >> 8),
				       (unsigned char)(c->val >> 16), (unsigned char)(c->val >> 24) };
		long r = syscall(SYS_pwrite64, g_rf[c->f].fd, b, 4, (long)c->a);
		if (r == -1)
			printf("%s\n", errname(errno));
		else
			fputs("ok\n", stdout);
		break;
	}
	case K_FREAD: {
		unsigned char b[4];
		long r = syscall(SYS_pread64, g_rf[c->f].fd, b, 4, (long)c->a);
		if (r == -1)
			printf("%s\n", errname(errno));
		else if (r < 4)
			fputs("EOF\n", stdout);
		else
			printf("%" PRIu32 "\n",
			       (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
		break;
	}
	case K_SPAWN: {
		spawn_worker(c->p);
		/* sanity: the new worker's window is empty */
		struct vma *v;
		size_t n = get_vmas(c->p, &v);
		free(v);
		if (n)
			internal("a fresh worker has mappings in the window");
		fputs("ok\n", stdout);
		break;
	}
	case K_FORK: {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
			internal("socketpair: %s", strerror(errno));
		struct wreq q;
		memset(&q, 0, sizeof q);
		q.op = OP_FORK;
		csend(c->p, &q, sv[1]);
		close(sv[1]);
		struct wresp r;
		crecv_raw(g_rp[c->p].ch, c->p, &r, NULL);
		if (r.kind != RK_OK)
			internal("fork in '%s' failed: %s", pname(c->p), errname(r.err));
		g_rp[c->q].pid = (pid_t)r.val;
		g_rp[c->q].ch = sv[0];
		g_rp[c->q].ospar = c->p;
		g_rp[c->q].live = 1;
		struct wresp h;
		crecv_raw(sv[0], c->q, &h, NULL);
		if (h.kind != RK_OK || (pid_t)h.val != g_rp[c->q].pid)
			internal("bad hello from the child of '%s'", pname(c->p));
		fputs("ok\n", stdout);
		break;
	}
	case K_EXIT: {
		int p = c->p;
		struct wreq q;
		memset(&q, 0, sizeof q);
		q.op = OP_EXIT;
		csend(p, &q, -1);
		int st = 0;
		if (g_rp[p].ospar < 0) {
			pid_t w;
			do
				w = waitpid(g_rp[p].pid, &st, 0);
			while (w < 0 && errno == EINTR);
			if (w < 0)
				internal("waitpid: %s", strerror(errno));
		} else {
			struct wresp r = call(g_rp[p].ospar, OP_REAP, (uint64_t)g_rp[p].pid, 0, 0, 0, 0, 0, NULL);
			if (r.kind != RK_OK)
				internal("reaping '%s': %s", pname(p), errname(r.err));
			st = (int)r.val;
		}
		g_rp[p].live = 0;
		close(g_rp[p].ch);
		g_rp[p].ch = -1;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			internal("process '%s' ended abnormally (status 0x%x)", pname(p), st);
		/* its children were reparented to us (subreaper) before it became reapable */
		for (size_t i = 0; i < g_nprocs; i++)
			if (g_rp[i].live && g_rp[i].ospar == p)
				g_rp[i].ospar = -1;
		fputs("ok\n", stdout);
		break;
	}
	case K_FRAMES:
		do_frames();
		break;
	case K_RECLAIM:
		fputs("ok\n", stdout);
		break;
	case K_MMAP: {
		long flags = (c->shared ? MAP_SHARED : MAP_PRIVATE) | (c->fixed ? MAP_FIXED : MAP_FIXED_NOREPLACE);
		long fd = -1;
		uint64_t off = 0;
		if (c->hasfile) {
			fd = g_rf[c->f].fd;
			off = c->c;
		} else
			flags |= MAP_ANONYMOUS;
		struct wresp r = call(c->p, OP_MMAP, c->a, c->b, (uint64_t)PROT_BITS[c->prot], (uint64_t)flags,
				      (uint64_t)fd, off, NULL);
		if (r.kind == RK_OK && r.val != c->a)
			internal("mmap returned 0x%" PRIx64 " for 0x%" PRIx64, r.val, c->a);
		print_sysresult(r);
		break;
	}
	case K_MUNMAP:
		print_sysresult(call(c->p, OP_MUNMAP, c->a, c->b, 0, 0, 0, 0, NULL));
		break;
	case K_MPROTECT:
		print_sysresult(call(c->p, OP_MPROTECT, c->a, c->b, (uint64_t)PROT_BITS[c->prot], 0, 0, 0, NULL));
		break;
	case K_MREMAP:
		print_sysresult(call(c->p, OP_MREMAP, c->a, c->b, c->c,
				     c->hasnew ? (uint64_t)(MREMAP_MAYMOVE | MREMAP_FIXED) : 0, c->hasnew ? c->d : 0,
				     0, NULL));
		break;
	case K_MADVISE:
		print_sysresult(call(c->p, OP_MADVISE, c->a, c->b, (uint64_t)ADV_BITS[c->advice], 0, 0, 0, NULL));
		break;
	case K_READ:
	case K_WRITE: {
		struct wresp r = c->kind == K_READ ? call(c->p, OP_READ, c->a, 0, 0, 0, 0, 0, NULL)
						   : call(c->p, OP_WRITE, c->a, c->val, 0, 0, 0, 0, NULL);
		if (r.kind == RK_SIG)
			fputs(r.err == SIGBUS ? "SIGBUS\n" : r.err == SIGSEGV ? "SIGSEGV\n" : "SIG?\n", stdout);
		else if (r.kind != RK_OK)
			internal("unexpected reply");
		else if (c->kind == K_READ)
			printf("%" PRIu64 "\n", r.val);
		else
			fputs("ok\n", stdout);
		break;
	}
	case K_MAPS:
		do_maps(c->p);
		break;
	}
	if (fflush(stdout) != 0) {
		/* nobody listens any more */
		kill_workers();
		cleanup_files();
		_exit(4);
	}
}

static char *read_input(const char *path, size_t *len)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	size_t cap = 65536, n = 0;
	char *b = xrealloc(NULL, cap);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			b = xrealloc(b, cap);
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(b);
			if (fd)
				close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (fd)
		close(fd);
	*len = n;
	return b;
}

int main(int argc, char **argv)
{
	int check_only = 0;
	const char *name = NULL;
	int ai = 1;
	if (argc == 2 && strcmp(argv[1], "--probe") == 0) {
		detect_environment();
		if (!g_zero_ok) {
			fprintf(stderr, "vmrun: physical frame numbers are not readable "
					"(need root: CAP_SYS_ADMIN for /proc/PID/pagemap)\n");
			return 4;
		}
		printf("zero-page %s\n", g_zero_page ? "on" : "off");
		return 0;
	}
	for (; ai < argc && strncmp(argv[ai], "--", 2) == 0; ai++) {
		if (strcmp(argv[ai], "--check") == 0)
			check_only = 1;
		else if (strcmp(argv[ai], "--name") == 0 && ai + 1 < argc)
			name = argv[++ai];
		else
			break;
	}
	if (argc - ai != 1) {
		fprintf(stderr, "usage: vmrun [--check] [--name NAME] TRACE\n"
				"       vmrun --probe\n"
				"  TRACE '-' reads stdin; --check: validate only; --name: FILE shown in messages;\n"
				"  --probe: print 'zero-page on' or 'zero-page off' for this kernel\n");
		return 1;
	}
	argv += ai - 1;
	g_file = name ? name : strcmp(argv[1], "-") == 0 ? "<stdin>" : argv[1];
	size_t n;
	char *text = read_input(argv[1], &n);
	if (!text) {
		fprintf(stderr, "vmrun: cannot read %s: %s\n", g_file, strerror(errno));
		return 1;
	}
	parse_all(text, n);
	if (check_only)
		return 0;

	/* run */
	static char outbuf[1 << 16];
	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
	/* dispositions and mask may be inherited: SIGCHLD ignored would auto-reap */
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
		sigaction(sigs[i], &sa, NULL);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
		internal("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));

	g_nprocs = g_procs.cnt;
	g_rp = xrealloc(NULL, (g_nprocs ? g_nprocs : 1) * sizeof *g_rp);
	memset(g_rp, 0, (g_nprocs ? g_nprocs : 1) * sizeof *g_rp);
	g_order = xrealloc(NULL, (g_nprocs ? g_nprocs : 1) * sizeof *g_order);
	for (size_t i = 0; i < g_nprocs; i++) {
		g_order[i] = (int)i;
		g_rp[i].ch = -1;
		g_rp[i].ospar = -1;
	}
	qsort(g_order, g_nprocs, sizeof *g_order, cmp_names);
	for (size_t i = 0; i < g_nprocs; i++)
		g_rp[g_order[i]].rank = (uint32_t)i;

	const char *tk = getenv("VMRUN_TEST_KILL_LINE");
	if (tk)
		g_test_kill_line = strtoull(tk, NULL, 10);
	detect_environment();
	setup_files();
	for (size_t i = 0; i < g_ncmds; i++)
		exec_cmd(&g_cmds[i]);
	finish(0);
	return 0;
}
