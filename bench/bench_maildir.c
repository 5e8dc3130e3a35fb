/*
 * maildir deliver: messages/s through deliver_maildir_open + send, for
 * messages of about 20 KB (CRLF, quoted-printable-like 76-column lines).
 *
 * Reference: the same bytes written directly: open a file in tmp/,
 * write, fsync, close, rename into new/, fsync new/ (kept open): the
 * least a durable maildir delivery can do.  The transport does more on
 * purpose (a lookup for an earlier copy in new/ and cur/, link instead of
 * rename so a second run cannot replace the first copy, opening new/ for
 * each fsync).
 *
 * K messages (RK_BENCH_MAILDIR_COUNT, default 1000) per run, best of 3,
 * interleaved; the delivered files are removed between runs, untimed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "renraku/deliver.h"

#define RUNS 3
#define MSG_SIZE 20480

static void make_message(struct rk_buf *msg)
{
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
	struct bench_rng r = {3};

	bench_check(rk_buf_adds(msg,
		"From: Bench CSIRT <csirt@bench.example>\r\n"
		"To: Org 1 Networks <abuse@org1.example>\r\n"
		"Subject: [BENCH #20261120-000001] Infected hosts on your network\r\n"
		"Message-ID: <20261120-000001.0123456789abcdef@bench.example>\r\n"
		"Date: Fri, 20 Nov 2026 00:00:00 +0000\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n"),
		"message");
	while (msg->len < MSG_SIZE - 80) {
		for (int i = 0; i < 75; i++)
			bench_check(rk_buf_addc(msg, alphabet[bench_randn(
					    &r, sizeof(alphabet) - 1)]),
				    "message");
		bench_check(rk_buf_adds(msg, "=\r\n"), "message");
	}
	bench_check(rk_buf_adds(msg, "-- \r\nBench CSIRT\r\n"), "message");
}

/* Remove every entry of dir (files only). */
static void empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		bench_die("cannot open '%s': %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = bench_join(dir, de->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			bench_die("write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

static double floor_run(const char *tmpd, const char *newd, int run,
			long long k, const struct rk_buf *msg)
{
	int dfd = open(newd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char tmp[512], final[512];
	double t0 = bench_now();

	if (dfd < 0)
		bench_die("open '%s': %s", newd, strerror(errno));
	for (long long i = 0; i < k; i++) {
		int fd;

		snprintf(tmp, sizeof(tmp), "%s/ref-%d-%lld.eml", tmpd, run, i);
		snprintf(final, sizeof(final), "%s/ref-%d-%lld.eml", newd, run, i);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			bench_die("open '%s': %s", tmp, strerror(errno));
		write_all(fd, msg->data, msg->len);
		if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, final) != 0 ||
		    fsync(dfd) != 0)
			bench_die("floor delivery: %s", strerror(errno));
	}
	t0 = bench_now() - t0;
	close(dfd);
	return t0;
}

static double transport_run(struct deliver_transport *t, int run, long long k,
			    const struct rk_buf *msg)
{
	const char *rcpts[] = {"abuse@org1.example"};
	struct deliver_result res;
	char key[64];
	double t0 = bench_now();

	for (long long i = 0; i < k; i++) {
		struct deliver_msg m = {key, "csirt@bench.example", rcpts, 1,
					msg->data, msg->len};

		snprintf(key, sizeof(key), "%d-%lld", run, i);
		if (t->send(t->self, &m, &res) != RK_OK)
			bench_die("maildir send: %s", res.reply);
	}
	return bench_now() - t0;
}

int main(void)
{
	long long k = bench_env_ll("RK_BENCH_MAILDIR_COUNT", 1000);
	char *dir = bench_tmpdir();
	char *md = bench_join(dir, "Maildir"), *ref = bench_join(dir, "ref");
	char *md_new = bench_join(md, "new");
	char *ref_tmp = bench_join(ref, "tmp"), *ref_new = bench_join(ref, "new");
	struct deliver_transport *t = NULL;
	struct rk_log log;
	struct rk_buf msg;
	double best = 1e30, best_ref = 1e30, rate, refrate;

	rk_log_init(&log, RK_LOG_ERROR);
	rk_buf_init(&msg, 1u << 20);
	make_message(&msg);
	bench_check(deliver_maildir_open(&t, md, &log), "deliver_maildir_open");
	bench_check(rk_mkdir_p(ref_tmp, 0700), "mkdir");
	bench_check(rk_mkdir_p(ref_new, 0700), "mkdir");
	fprintf(stderr, "maildir: %zu-byte messages, %lld per run, in %s\n",
		msg.len, k, dir);
	for (int run = 0; run < RUNS; run++) {
		double tr = floor_run(ref_tmp, ref_new, run, k, &msg);
		double tt = transport_run(t, run, k, &msg);

		if (tr < best_ref)
			best_ref = tr;
		if (tt < best)
			best = tt;
		fprintf(stderr, "maildir: run %d: floor %.0f/s, transport %.0f/s\n",
			run + 1, (double)k / tr, (double)k / tt);
		empty_dir(ref_new);
		empty_dir(md_new);
	}
	rate = (double)k / best;
	refrate = (double)k / best_ref;
	bench_result("maildir deliver (20 KB)", rate, "messages/s", refrate,
		     "write+fsync+rename", rate / refrate,
		     "- (SMTP: >= 1000 msg/s)", "-");
	deliver_close(t);
	rk_buf_release(&msg);
	bench_rmtree(dir);
	free(md);
	free(ref);
	free(md_new);
	free(ref_tmp);
	free(ref_new);
	free(dir);
	return 0;
}
