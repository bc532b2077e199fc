/*
 * worker.c — the channel protocol's transport (send_all/recv_all, with fd
 * passing for fork) and the worker: one real process per trace process,
 * serving requests on its socketpair (see main.c, 3.).
 *
 * Why apart from the controller: everything here runs in the worker, a
 * process with no capabilities whose address space is the trace's; it must
 * touch nothing of the controller's state.
 */
#include "vmrun.h"

/* ------------------------------------------------------------------ */
/* channel protocol (struct wreq / struct wresp: vmrun.h)               */

/* returns 0 ok, -1 error/EOF */
int send_all(int fd, const void *buf, size_t n, int passfd)
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
int recv_all(int fd, void *buf, size_t n, int *gotfd)
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

void worker_setup(void)
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

_Noreturn void worker_loop(int ch)
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
