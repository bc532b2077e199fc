/*
 * parse.c — reading and validating a trace, completely, before anything
 * runs (main.c, 1.): the lexical check, tokens, the command table, and the
 * name tables that resolve every process and file name to an index.
 *
 * Rules, messages and check order are docs/trace-errors.md's; the
 * TypeScript parser (src/trace/parse.ts) gives the same first error for
 * every input, which test/native.test.ts checks. The command table below is
 * the one place a command's word, argument count and argument kinds live;
 * each argument kind is checked the same way wherever it appears.
 */
#include "vmrun.h"

const char *g_file = "<stdin>";

/* ------------------------------------------------------------------ */
/* small utilities                                                     */

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fprintf(stderr, "vmrun: out of memory\n");
		exit(4);
	}
	return q;
}

static int tok_is(tok_t t, const char *s)
{
	size_t n = strlen(s);
	return t.n == n && memcmp(t.p, s, n) == 0;
}

/* A quoted token: bytes 0x21..0x7e as is, others \xNN, first 32 bytes then "...". */
const char *san(tok_t t)
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

static const char *const PROT_NAMES[] = { "none", "r", "rw", "rx", "rwx" };
const int PROT_BITS[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE,
			  PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC };
static const char *const ADV_NAMES[] = { "dontneed", "dontfork", "dofork", "wipeonfork", "keeponfork" };
const int ADV_BITS[] = { MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK };

/* What an argument must be, and where its value goes in struct cmd. */
enum arg {
	A_NUM = 1, /* a number < 2^64: the next of a, b, c, d */
	A_VAL,     /* a number < 2^32: val */
	A_OFF,     /* a 4-aligned number (file offset): the next of a, b, c, d */
	A_ADDR,    /* a 4-aligned number (address): the next of a, b, c, d */
	A_PROC,    /* a live process: the next of p, q */
	A_NEWPROC, /* a process name not used before: the next of p, q */
	A_FILE,    /* a declared file: f */
	A_NEWFILE, /* a file name not declared before: f */
	A_PROT,    /* none r rw rx rwx: prot */
	A_MODE,    /* private shared private,fixed shared,fixed: shared, fixed */
	A_ADVICE,  /* dontneed dontfork dofork wipeonfork keeponfork: advice */
};

#define MAXARGS 6

/*
 * One trace command. Global commands are "WORD ARGS"; process commands are
 * "P WORD ARGS" with P a live process. The argument count must be min or
 * max (mmap: 4 or 6, mremap: 3 or 4); arguments past min are the optional
 * ones (struct cmd.opt). Arguments are checked in order, and each check
 * fails with its own message, so the table order is the check order.
 */
struct cmddef {
	const char *word;
	uint8_t per_proc;
	uint8_t min, max;
	uint8_t arg[MAXARGS];
};

static const struct cmddef CMDS[K_COUNT] = {
	[K_FILE] = { "file", 0, 2, 2, { A_NEWFILE, A_NUM } },
	[K_FWRITE] = { "fwrite", 0, 3, 3, { A_FILE, A_OFF, A_VAL } },
	[K_FREAD] = { "fread", 0, 2, 2, { A_FILE, A_OFF } },
	[K_FTRUNCATE] = { "ftruncate", 0, 2, 2, { A_FILE, A_NUM } },
	[K_SPAWN] = { "spawn", 0, 1, 1, { A_NEWPROC } },
	[K_FORK] = { "fork", 0, 2, 2, { A_PROC, A_NEWPROC } },
	[K_EXIT] = { "exit", 0, 1, 1, { A_PROC } },
	[K_FRAMES] = { "frames", 0, 0, 0, { 0 } },
	[K_RECLAIM] = { "reclaim", 0, 1, 1, { A_NUM } },
	[K_MMAP] = { "mmap", 1, 4, 6, { A_NUM, A_NUM, A_PROT, A_MODE, A_FILE, A_NUM } },
	[K_MUNMAP] = { "munmap", 1, 2, 2, { A_NUM, A_NUM } },
	[K_MPROTECT] = { "mprotect", 1, 3, 3, { A_NUM, A_NUM, A_PROT } },
	[K_MREMAP] = { "mremap", 1, 3, 4, { A_NUM, A_NUM, A_NUM, A_NUM } },
	[K_MADVISE] = { "madvise", 1, 3, 3, { A_NUM, A_NUM, A_ADVICE } },
	[K_READ] = { "read", 1, 1, 1, { A_ADDR } },
	[K_WRITE] = { "write", 1, 2, 2, { A_ADDR, A_VAL } },
	[K_MAPS] = { "maps", 1, 0, 0, { 0 } },
};

struct cmd *g_cmds;
static size_t g_capcmds;
size_t g_ncmds;
struct names g_procs, g_files;
static uint8_t *g_vstate; /* validation: 1 live, 2 exited */
static size_t g_vstate_cap;

/* the command named by WORD among the global (per_proc 0) or process (1) ones, or -1 */
static int find_cmd(tok_t t, int per_proc)
{
	for (int k = 0; k < K_COUNT; k++)
		if (CMDS[k].per_proc == per_proc && tok_is(t, CMDS[k].word))
			return k;
	return -1;
}

static int is_global(tok_t t)
{
	return find_cmd(t, 0);
}

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
	int k = is_global(tk[0]);
	int first = 1; /* index of the first argument token */
	if (k < 0) {
		if (nt >= 2)
			k = find_cmd(tk[1], 1);
		if (k < 0)
			bad(line, "unknown command '%s'", san(nt >= 2 ? tk[1] : tk[0]));
		first = 2;
	}
	const struct cmddef *d = &CMDS[k];
	int na = nt - first;
	if (na != d->min && na != d->max)
		bad(line, "wrong number of arguments for %s", d->word);
	c.kind = (uint8_t)k;
	c.opt = na > d->min;
	if (d->per_proc)
		c.p = want_proc(line, tk[0]);
	uint64_t *nums[] = { &c.a, &c.b, &c.c, &c.d };
	int32_t *procs[] = { &c.p, &c.q };
	int nn = 0, np = 0;
	for (int i = 0; i < na; i++) {
		tok_t t = tk[first + i];
		switch (d->arg[i]) {
		case A_NUM:
			*nums[nn++] = want_num(line, t);
			break;
		case A_VAL:
			c.val = want_val(line, t);
			break;
		case A_OFF:
		case A_ADDR:
			*nums[nn] = want_num(line, t);
			if (*nums[nn++] & 3)
				bad(line, "unaligned %s '%s'", d->arg[i] == A_OFF ? "offset" : "address", san(t));
			break;
		case A_PROC:
			*procs[np++] = want_proc(line, t);
			break;
		case A_NEWPROC:
			*procs[np++] = want_new_proc(line, t);
			break;
		case A_FILE:
			c.f = want_file(line, t);
			break;
		case A_NEWFILE:
			want_name(line, t);
			if (names_find(&g_files, t) >= 0)
				bad(line, "file '%s' already declared", san(t));
			c.f = names_add(&g_files, t);
			break;
		case A_PROT:
			c.prot = (uint8_t)want_kw(line, t, PROT_NAMES, 5, "protection");
			break;
		case A_MODE:
			if (tok_is(t, "private") || tok_is(t, "shared") || tok_is(t, "private,fixed") ||
			    tok_is(t, "shared,fixed")) {
				c.shared = t.p[0] == 's';
				c.fixed = t.n > 7;
			} else
				bad(line, "unknown mode '%s'", san(t));
			break;
		case A_ADVICE:
			c.advice = (uint8_t)want_kw(line, t, ADV_NAMES, 5, "advice");
			break;
		}
	}
	if (k == K_EXIT)
		g_vstate[c.p] = 2; /* later lines may not name it */
	if (g_ncmds == g_capcmds) {
		g_capcmds = g_capcmds ? g_capcmds * 2 : 256;
		g_cmds = xrealloc(g_cmds, g_capcmds * sizeof *g_cmds);
	}
	g_cmds[g_ncmds++] = c;
}

void parse_all(const char *buf, size_t n)
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
