/* fqdnkit guest loader: runs as a static binary inside a qemu guest (initramfs).
 *
 * Contract: `loader [-t L2_SECS] [-T L4_SECS] DATA_DEV OBJ...` loads every program of every
 * object ALONE (one bpf_object per program, the others autoload=false) at log level 2|4
 * (BPF_LOG_LEVEL2 | BPF_LOG_STATS; | BPF_LOG_FIXED from 6.4 on, so the head is kept) into
 * a 4 MB buffer within L2_SECS (default 15). When the buffer fills up or the time budget
 * runs out, the program is loaded again at level 4 alone (error and statistics, no
 * per-instruction output) within L4_SECS (default 90); that load gives the verdict.
 * One framed record per program goes to DATA_DEV (the guest's raw NVMe data disk, or
 * /dev/ttyS1, a raw serial port the host sends to a file):
 *
 *   @@FQDNKIT-RELEASE <uname -r>@@
 *   @@FQDNKIT-BEGIN obj=<i> prog=<name> sec=<section> type=<prog type> attach=<n>
 *        ret=<0|-errno> insn_cnt=<n> xlated_insns=<n> verified_insns=<n> log_len=<n>
 *        log_truncated=<0|1> log_size=<n> load_us=<n> l2_us=<n> l2_timeout=<0|1>
 *        l4_timeout=<0|1> elided=0@@        (one line)
 *   @@LOG@@      base64 lines of the gzip-compressed level-2 log (at most 4 MB)
 *   @@TAIL1@@    the level-4 log of the second load, when there was one
 *   @@LIBBPF@@   base64 lines of the gzip-compressed libbpf messages for this load
 *   @@FQDNKIT-END@@
 *   ...
 *   @@FQDNKIT-DONE <objects> <programs>@@
 *
 * A watcher thread ends a load early with SIGALRM (the verifier returns -EAGAIN when a
 * signal is pending): at the time budget, or in the level-2 pass once the buffer is full.
 * Objects that libbpf cannot open give one record with prog=* and ret=<-errno>.
 * Progress goes to stdout (the serial console): "fqdnkit: [i/N] obj prog verdict".
 * libbpf 1.1 does not know some section names (sk_skb/verdict, tcx/...): for programs it
 * left as BPF_PROG_TYPE_UNSPEC the type is set from the section name here.
 *
 * Built at capture time: gcc -static -O2 -pthread -Wl,--wrap=syscall loader.c -lbpf -lelf -lz
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <zlib.h>

#define LOG_LEVEL (2 | 4)
/* Level-2 logs are kept up to LOG_SIZE bytes (the head); beyond that the verifier's
 * own ending comes from a level-4 load (see load_one). */
#define LOG_SIZE (4u << 20)

static FILE *data_out;

/* ---- libbpf message capture (per load) ---- */
static char *lib_msgs;
static size_t lib_len, lib_cap;

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char tmp[4096];
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	if (n < 0)
		return 0;
	if ((size_t)n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	if (lib_len + n + 1 > lib_cap) {
		size_t cap = lib_cap ? lib_cap * 2 : 8192;
		while (cap < lib_len + n + 1)
			cap *= 2;
		char *p = realloc(lib_msgs, cap);
		if (!p)
			return 0;
		lib_msgs = p;
		lib_cap = cap;
	}
	memcpy(lib_msgs + lib_len, tmp, n);
	lib_len += n;
	lib_msgs[lib_len] = 0;
	return 0;
}

/* ---- framing: gzip + base64 ---- */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void emit_base64(const unsigned char *p, size_t n)
{
	char line[80];
	size_t i = 0;
	int col = 0;

	while (i < n) {
		unsigned v = p[i] << 16;
		int k = 1;
		if (i + 1 < n) { v |= p[i + 1] << 8; k++; }
		if (i + 2 < n) { v |= p[i + 2]; k++; }
		line[col++] = b64[(v >> 18) & 63];
		line[col++] = b64[(v >> 12) & 63];
		line[col++] = k > 1 ? b64[(v >> 6) & 63] : '=';
		line[col++] = k > 2 ? b64[v & 63] : '=';
		i += 3;
		if (col >= 76) {
			line[col++] = '\n';
			fwrite(line, 1, col, data_out);
			col = 0;
		}
	}
	if (col) {
		line[col++] = '\n';
		fwrite(line, 1, col, data_out);
	}
}

/* gzip-compress buf and emit it as base64; an empty buffer emits nothing. */
static void emit_gzip(const char *marker, const char *buf, size_t len)
{
	z_stream zs;
	unsigned char *out;
	size_t cap = len + len / 100 + 1024;

	fprintf(data_out, "@@%s@@\n", marker);
	if (!len)
		return;
	out = malloc(cap);
	if (!out) {
		fprintf(stdout, "fqdnkit: out of memory compressing %zu bytes\n", len);
		return;
	}
	memset(&zs, 0, sizeof(zs));
	/* 15 + 16: gzip header; level 1 is fast enough under TCG */
	deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = (unsigned char *)buf;
	zs.avail_in = len;
	zs.next_out = out;
	zs.avail_out = cap;
	deflate(&zs, Z_FINISH);
	emit_base64(out, zs.total_out);
	deflateEnd(&zs);
	free(out);
}

/* ---- section name -> program type for names libbpf 1.1 does not know ---- */
struct sec_type {
	const char *prefix;
	enum bpf_prog_type type;
	int attach;   /* -1: leave as is */
};

static const struct sec_type sec_types[] = {
	{ "sk_skb/stream_parser", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_PARSER },
	{ "sk_skb/stream_verdict", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_VERDICT },
	{ "sk_skb/verdict", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_VERDICT },
	{ "sk_skb", BPF_PROG_TYPE_SK_SKB, -1 },
	{ "sk_msg", BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT },
	{ "tcx/", BPF_PROG_TYPE_SCHED_CLS, -1 },
	{ "netkit/", BPF_PROG_TYPE_SCHED_CLS, -1 },
	{ "tc/", BPF_PROG_TYPE_SCHED_CLS, -1 },
	{ "tc", BPF_PROG_TYPE_SCHED_CLS, -1 },
	{ "classifier", BPF_PROG_TYPE_SCHED_CLS, -1 },
	{ "action", BPF_PROG_TYPE_SCHED_ACT, -1 },
	{ "cgroup_skb/ingress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS },
	{ "cgroup_skb/egress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS },
	{ "cgroup_skb", BPF_PROG_TYPE_CGROUP_SKB, -1 },
	{ "sockops", BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS },
	{ "xdp", BPF_PROG_TYPE_XDP, -1 },
	{ "socket", BPF_PROG_TYPE_SOCKET_FILTER, -1 },
	{ NULL, 0, 0 },
};

static void fix_prog_type(struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	const struct sec_type *st;

	if (bpf_program__type(prog) != BPF_PROG_TYPE_UNSPEC)
		return;
	for (st = sec_types; st->prefix; st++) {
		if (strncmp(sec, st->prefix, strlen(st->prefix)) == 0) {
			bpf_program__set_type(prog, st->type);
			if (st->attach >= 0)
				bpf_program__set_expected_attach_type(prog, st->attach);
			return;
		}
	}
}

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* libbpf 1.1 refuses log levels above 7, so BPF_LOG_FIXED (8, kernel 6.4+) is added on
 * the way to the kernel: the binary is linked with -Wl,--wrap=syscall and every
 * BPF_PROG_LOAD at log level 6 gets the flag while add_log_fixed is set. */
static int add_log_fixed;
long __real_syscall(long nr, ...);

long __wrap_syscall(long nr, ...)
{
	va_list ap;
	long a1, a2, a3, a4, a5, a6;

	va_start(ap, nr);
	a1 = va_arg(ap, long);
	a2 = va_arg(ap, long);
	a3 = va_arg(ap, long);
	a4 = va_arg(ap, long);
	a5 = va_arg(ap, long);
	a6 = va_arg(ap, long);
	va_end(ap);
	if (nr == __NR_bpf && a1 == BPF_PROG_LOAD && add_log_fixed && a2) {
		union bpf_attr *attr = (union bpf_attr *)a2;
		if (attr->log_level == LOG_LEVEL)
			attr->log_level |= 8;
	}
	return __real_syscall(nr, a1, a2, a3, a4, a5, a6);
}

static int l2_budget_s = 15, l4_budget_s = 90;
static int log_fixed;   /* BPF_LOG_FIXED (8) is known from 6.4 on */

static void on_alarm(int sig)
{
	(void)sig;
}

/* A watcher thread interrupts the load (SIGALRM to the loading thread; the verifier
 * returns -EAGAIN when a signal is pending) when the time budget runs out or, for the
 * level-2 pass, as soon as the log buffer is full: the rest of that level-2 log would be
 * dropped anyway and the level-4 pass gives the verdict. The signal is repeated every
 * 100 ms to cut libbpf's EAGAIN retries too. */
struct watch {
	pthread_t loader;
	long long deadline_us;
	const char *buf;
	size_t size;            /* 0: do not watch the buffer */
	volatile int done;
	volatile int reason;    /* 0 none, 1 time budget, 2 buffer full */
};

static void *watch_fn(void *arg)
{
	struct watch *w = arg;

	while (!w->done) {
		usleep(w->reason ? 100000 : 20000);
		if (w->done)
			break;
		if (!w->reason) {
			if (now_us() >= w->deadline_us)
				w->reason = 1;
			else if (w->size && w->buf[w->size - 2])
				w->reason = 2;
		}
		if (w->reason) {
			pthread_kill(w->loader, SIGALRM);
		}
	}
	return NULL;
}

struct attempt {
	int ret, type, attach, timed_out;   /* timed_out: 1 time budget, 2 buffer full */
	unsigned insn_cnt, xlated, verified;
	char sec[256];
	long long us;
};

/* One load of program `idx` alone at `level` into buf; fills *a. */
static void load_attempt(const char *path, int idx, int level, char *buf, size_t size,
			 int budget_s, int watch_buf, struct attempt *a)
{
	struct bpf_object *obj;
	struct bpf_program *p, *target = NULL;
	struct watch w;
	pthread_t th;
	long long t0;
	int i = 0;

	memset(a, 0, sizeof(*a));
	lib_len = 0;
	if (lib_msgs)
		lib_msgs[0] = 0;
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		a->ret = -errno;
		return;
	}
	bpf_object__for_each_program(p, obj) {
		if (i++ == idx)
			target = p;
		else
			bpf_program__set_autoload(p, false);
	}
	if (!target) {
		bpf_object__close(obj);
		a->ret = -ENOENT;
		return;
	}
	fix_prog_type(target);
	snprintf(a->sec, sizeof(a->sec), "%s", bpf_program__section_name(target));
	a->type = bpf_program__type(target);
	a->attach = bpf_program__expected_attach_type(target);
	a->insn_cnt = bpf_program__insn_cnt(target);
	bpf_program__set_log_level(target, level);
	bpf_program__set_log_buf(target, buf, size);
	t0 = now_us();
	memset(&w, 0, sizeof(w));
	w.loader = pthread_self();
	w.deadline_us = t0 + budget_s * 1000000LL;
	w.buf = buf;
	w.size = watch_buf ? size : 0;
	pthread_create(&th, NULL, watch_fn, &w);
	a->ret = bpf_object__load(obj);
	w.done = 1;
	pthread_join(th, NULL);
	a->us = now_us() - t0;
	a->timed_out = a->ret != 0 ? w.reason : 0;
	if (a->ret == 0) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_program__fd(target), &info, &len) == 0) {
			a->xlated = info.xlated_prog_len / 8;
			a->verified = info.verified_insns;
		}
	}
	bpf_object__close(obj);
}

/* Load program number `idx` of `path` alone; emit its record.
 *
 * Pass 1: log level 2|4 (|BPF_LOG_FIXED from 6.4 on) into LOG_SIZE bytes, within
 * l2_budget_s seconds. If the buffer filled up (ENOSPC) or the budget ran out (the
 * level-2 log of a program near the 1M-instruction limit takes minutes under TCG), pass 2
 * loads it again at level 4 only (error message and statistics, no per-instruction
 * output), within l4_budget_s: its verdict is the verdict, and its log is sent as TAIL1
 * after the head of the level-2 log. */
static void load_one(int obj_idx, const char *path, int idx, const char *name,
		     int progress_i, int progress_n)
{
	size_t size = LOG_SIZE;
	char *log = calloc(1, size), *tail = NULL;
	struct attempt a1, a2, *a = &a1;
	int truncated = 0, l2_timeout = 0, l4_timeout = 0;
	size_t log_len;

	if (!log) {
		printf("fqdnkit: out of memory for a %zu-byte log\n", size);
		exit(1);
	}
	add_log_fixed = log_fixed;
	load_attempt(path, idx, LOG_LEVEL, log, size, l2_budget_s, 1, &a1);
	add_log_fixed = 0;
	log_len = strnlen(log, size);
	truncated = a1.ret == -ENOSPC || a1.timed_out == 2;
	l2_timeout = a1.timed_out == 1;
	if (truncated || l2_timeout) {
		size_t tsize = 4u << 20;
		tail = calloc(1, tsize);
		if (tail) {
			char *save_lib = lib_msgs ? strdup(lib_msgs) : NULL;
			load_attempt(path, idx, 4, tail, tsize, l4_budget_s, 0, &a2);
			a = &a2;
			l4_timeout = a2.timed_out == 1;
			if (save_lib && !lib_len) {
				free(lib_msgs);
				lib_msgs = save_lib;
				lib_len = strlen(save_lib);
				lib_cap = lib_len + 1;
			} else {
				free(save_lib);
			}
		}
	}
	fprintf(data_out,
		"@@FQDNKIT-BEGIN obj=%d prog=%s sec=%s type=%d attach=%d ret=%d insn_cnt=%u "
		"xlated_insns=%u verified_insns=%u log_len=%zu log_truncated=%d log_size=%zu "
		"load_us=%lld l2_us=%lld l2_timeout=%d l4_timeout=%d elided=0@@\n",
		obj_idx, name, a->sec[0] ? a->sec : "?", a->type, a->attach, a->ret, a->insn_cnt,
		a->xlated, a->verified, log_len, truncated, size, a->us, a1.us, l2_timeout,
		l4_timeout);
	emit_gzip("LOG", log, log_len);
	emit_gzip("TAIL1", tail ? tail : "", tail ? strnlen(tail, 4u << 20) : 0);
	emit_gzip("LIBBPF", lib_msgs ? lib_msgs : "", lib_len);
	fprintf(data_out, "@@FQDNKIT-END@@\n");
	fflush(data_out);
	printf("fqdnkit: [%d/%d] %s %s %s (%lld ms%s)\n", progress_i, progress_n, path, name,
	       a->ret == 0 ? "accepted" : l4_timeout ? "timeout" : "rejected",
	       (a1.us + (a == &a2 ? a2.us : 0)) / 1000,
	       l2_timeout ? ", level-2 log cut at the time budget" :
	       truncated ? ", level-2 log cut at the buffer size" : "");
	fflush(stdout);
	free(log);
	free(tail);
}

static int open_data(const char *dev)
{
	struct termios t;
	int fd = open(dev, O_WRONLY | O_NOCTTY);

	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		cfsetospeed(&t, B4000000);
		tcsetattr(fd, TCSANOW, &t);
	}
	data_out = fdopen(fd, "w");
	if (!data_out)
		return -1;
	setvbuf(data_out, NULL, _IOFBF, 1 << 16);
	return 0;
}

int main(int argc, char **argv)
{
	struct utsname u;
	int nprogs = 0, i;

	struct sigaction sa;
	int major = 0, minor = 0;

	while (argc > 2 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "-t"))
			l2_budget_s = atoi(argv[2]);
		else if (!strcmp(argv[1], "-T"))
			l4_budget_s = atoi(argv[2]);
		else
			break;
		argv += 2;
		argc -= 2;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: %s [-t L2_SECS] [-T L4_SECS] DATA_DEV OBJ...\n", argv[0]);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;   /* no SA_RESTART: the bpf() syscall must see the signal */
	sigaction(SIGALRM, &sa, NULL);
	if (open_data(argv[1])) {
		fprintf(stderr, "fqdnkit: cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	libbpf_set_print(capture_print);
	uname(&u);
	sscanf(u.release, "%d.%d", &major, &minor);
	if (major > 6 || (major == 6 && minor >= 4))
		log_fixed = 8;   /* BPF_LOG_FIXED: keep the head, like older kernels */
	fprintf(data_out, "@@FQDNKIT-RELEASE %s@@\n", u.release);

	/* count programs for progress */
	int *counts = calloc(argc, sizeof(int));
	for (i = 2; i < argc; i++) {
		struct bpf_object *obj = bpf_object__open_file(argv[i], NULL);
		struct bpf_program *p;
		if (!obj) {
			counts[i] = -errno;
			continue;
		}
		bpf_object__for_each_program(p, obj)
			counts[i]++;
		nprogs += counts[i];
		bpf_object__close(obj);
	}
	printf("fqdnkit: kernel %s, %d objects, %d programs\n", u.release, argc - 2, nprogs);
	fflush(stdout);

	int done = 0;
	for (i = 2; i < argc; i++) {
		if (counts[i] < 0) {
			lib_len = 0;
			struct bpf_object *obj = bpf_object__open_file(argv[i], NULL);
			int err = obj ? 0 : -errno;
			if (obj)
				bpf_object__close(obj);
			fprintf(data_out,
				"@@FQDNKIT-BEGIN obj=%d prog=* sec=? type=0 attach=0 ret=%d insn_cnt=0 "
				"xlated_insns=0 verified_insns=0 log_len=0 log_truncated=0 log_size=0 "
				"load_us=0@@\n", i - 2, err ? err : counts[i]);
			emit_gzip("LOG", "", 0);
			emit_gzip("TAIL1", "", 0);
			emit_gzip("LIBBPF", lib_msgs ? lib_msgs : "", lib_len);
			fprintf(data_out, "@@FQDNKIT-END@@\n");
			continue;
		}
		struct bpf_object *obj = bpf_object__open_file(argv[i], NULL);
		struct bpf_program *p;
		char names[256][128];
		int n = 0, k;
		bpf_object__for_each_program(p, obj) {
			if (n < 256)
				snprintf(names[n++], sizeof(names[0]), "%s", bpf_program__name(p));
		}
		bpf_object__close(obj);
		for (k = 0; k < n; k++)
			load_one(i - 2, argv[i], k, names[k], ++done, nprogs);
	}
	fprintf(data_out, "@@FQDNKIT-DONE %d %d@@\n", argc - 2, done);
	fflush(data_out);
	fsync(fileno(data_out));
	tcdrain(fileno(data_out));
	return 0;
}
