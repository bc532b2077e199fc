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
 * The parts (vmrun.h lists them): parse.c (1.), controller.c (2., the
 * controller's state and its side of the protocol), worker.c (3.),
 * report.c (4.), exec.c (5. and the execution of each command), main.c.
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
#include "vmrun.h"

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