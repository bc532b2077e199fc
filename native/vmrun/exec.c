/*
 * exec.c — running one validated command: first the portability check (is
 * the call confined to the window, or certain to fail before it touches
 * anything? see main.c, 5.), then the call itself, by the controller (file
 * commands) or by the worker of the named process, and its output line.
 */
#include "vmrun.h"

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
		if ((c->opt && (c->c & (PAGE - 1))) || len == 0 || al == 0 || al > TASK_SZ ||
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
		if (c->opt && ((c->d & (PAGE - 1)) || c->d > TASK_SZ - nl))
			return; /* EINVAL */
		if (a >= TASK_SZ)
			return; /* no vma there: EFAULT (or EINVAL first) */
		if (a >= WLO && a < WHI && inwin(a, ol) &&
		    (c->opt ? inwin(c->d, nl) : inwin(a, nl)))
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

uint64_t g_test_kill_line; /* VMRUN_TEST_KILL_LINE: tests of worker death */

void exec_cmd(const struct cmd *c)
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
		if (c->opt) {
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
				     c->opt ? (uint64_t)(MREMAP_MAYMOVE | MREMAP_FIXED) : 0, c->opt ? c->d : 0,
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
