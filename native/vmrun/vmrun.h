/*
 * vmrun.h — what the parts of vmrun share: the parsed trace, the controller's
 * run-time state, the controller<->worker protocol, and each part's entry
 * points. How vmrun works as a whole is told at the top of main.c.
 *
 *   parse.c       read and validate a trace (the command table), name tables
 *   controller.c  the controller's state, errors and clean-up; its side of the
 *                 protocol; spawning workers; what this kernel does (probe)
 *   worker.c      the protocol's transport, and the worker: one real process
 *                 per trace process, running syscalls and probed accesses
 *   report.c      maps (/proc/PID/maps) and frames (/proc/PID/pagemap)
 *   exec.c        the portability check and the execution of one command
 *   main.c        command line, input, start-up
 */
#ifndef VMRUN_H
#define VMRUN_H

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

/* ---- the trace (parse.c) ------------------------------------------- */

/* a token: bytes of the input, not NUL-terminated */
typedef struct {
	const char *p;
	size_t n;
} tok_t;

/* a name table (processes and files: separate namespaces) */
struct names {
	tok_t *v;        /* index -> name */
	size_t cnt, cap; /* entries in v */
	int32_t *slot;   /* open addressing: index+1, 0 = empty */
	size_t nslot;
};

/* the commands, in the order of parse.c's command table */
enum kind {
	K_FILE, K_FWRITE, K_FREAD, K_FTRUNCATE, K_SPAWN, K_FORK, K_EXIT, K_FRAMES, K_RECLAIM,
	K_MMAP, K_MUNMAP, K_MPROTECT, K_MREMAP, K_MADVISE, K_READ, K_WRITE, K_MAPS,
	K_COUNT
};

struct cmd {
	uint64_t line;
	uint64_t a, b, c, d; /* numbers in argument order */
	int32_t p, q, f;     /* process, second process, file */
	uint32_t val;
	uint8_t kind, prot, shared, fixed, advice;
	uint8_t opt;         /* optional arguments given: mmap's FILE OFF, mremap's NEWADDR */
};

extern const char *g_file;      /* FILE in messages */
extern struct cmd *g_cmds;      /* the validated trace */
extern size_t g_ncmds;
extern struct names g_procs, g_files;
extern const int PROT_BITS[];   /* by struct cmd.prot */
extern const int ADV_BITS[];    /* by struct cmd.advice */

void *xrealloc(void *p, size_t n);
const char *san(tok_t t);
void parse_all(const char *buf, size_t n);

/* ---- the controller's run-time state (controller.c) ------------------ */

struct proc {
	pid_t pid;
	int ch;      /* controller's end of the channel */
	int ospar;   /* OS parent: -1 controller, else process index */
	int live;
	uint32_t rank; /* position in name order */
};
extern struct proc *g_rp;
extern size_t g_nprocs;

struct rfile {
	int fd;
	dev_t dev;
	ino_t ino;
};
extern struct rfile *g_rf;
extern size_t g_nfiles;

extern uint64_t g_line;          /* line being executed, for messages */
extern uint64_t g_zero_pfn;      /* UINT64_MAX: no zero page on this kernel */
extern int g_zero_ok;            /* PFNs are readable (the probe saw them) */
extern int g_zero_page;          /* read faults of private anon memory map the zero page */
extern uint64_t g_min_addr;
extern int g_vsys_readable;

void cleanup_files(void);
void kill_workers(void);
void on_signal(int sig);
void finish(int status);
_Noreturn void internal(const char *fmt, ...);
_Noreturn void not_portable(const char *what);
const char *errname(int e);
void detect_environment(void);
void setup_files(void);

/* ---- the channel protocol (worker.c, controller.c) ------------------- */

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

int send_all(int fd, const void *buf, size_t n, int passfd);
int recv_all(int fd, void *buf, size_t n, int *gotfd);
void worker_setup(void);
_Noreturn void worker_loop(int ch);

const char *pname(int p);
void csend(int p, const struct wreq *q, int passfd);
void crecv_raw(int ch, int p, struct wresp *r, void **payload);
struct wresp call(int p, uint32_t op, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
		  uint64_t a4, uint64_t a5, void **payload);
void print_sysresult(struct wresp r);
void spawn_worker(int p);

/* ---- reports (report.c) ---------------------------------------------- */

struct vma {
	uint64_t s, e, off;
	char perm[5];
	int file; /* -1 anonymous */
};

extern int *g_order; /* process indices in name order */

int cmp_names(const void *a, const void *b);
size_t get_vmas(int p, struct vma **out);
void do_maps(int p);
void do_frames(void);

/* ---- execution (exec.c) ---------------------------------------------- */

extern uint64_t g_test_kill_line; /* VMRUN_TEST_KILL_LINE: tests of worker death */

void exec_cmd(const struct cmd *c);

#endif
