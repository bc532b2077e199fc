/*
 * report.c — the two commands that report state: maps (the window part of
 * /proc/PID/maps, normalised) and frames (which window pages share a
 * physical frame, from /proc/PID/pagemap), printed exactly as the spec says.
 *
 * Why apart: these read the kernel's own view of the workers, not the
 * syscalls' results, and are where the output format lives.
 */
#include "vmrun.h"

/* ------------------------------------------------------------------ */
/* /proc/PID/maps                                                      */

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

/* the window part of a process's mappings, ascending, clipped */
size_t get_vmas(int p, struct vma **out)
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

void do_maps(int p)
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

int *g_order; /* process indices in name order */

int cmp_names(const void *a, const void *b)
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

void do_frames(void)
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
