/* Unit tests for libdrover-adaptor's daemon protocol framing, connection
 * files, private sockets and the peer credential check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../lib/adaptor/adaptor-int.h"

static char err[DROVER__ERRMAX];

static void
test_encode_decode_roundtrip(void **state)
{
	struct drover__reader rd = DROVER__READER_INIT;
	struct dbuf out = DBUF_INIT;
	json_t *a, *b, *msg;
	size_t i, first;
	(void)state;

	a = json_pack("{s:s, s:I, s:s}", "t", "line", "seq", (json_int_t)7,
	    "text", "two\nlines \"quoted\" \xc3\xa9");
	b = json_pack("{s:s, s:i}", "t", "ping", "ack", 7);
	assert_int_equal(drover__proto_encode(&out, a), 0);
	assert_int_equal(drover__proto_encode(&out, b), 0);
	/* one line per message: the embedded newline is escaped */
	assert_non_null(strstr(out.s, "\\n"));
	first = (size_t)(strchr(out.s, '\n') - out.s) + 1;
	assert_true(first < out.len);
	/* fed one byte at a time, nothing comes out before the newline */
	for (i = 0; i + 1 < first; i++) {
		assert_int_equal(drover__reader_feed(&rd, out.s + i, 1), 0);
		assert_int_equal(drover__reader_next(&rd, &msg, err,
		    sizeof(err)), 0);
	}
	assert_int_equal(drover__reader_feed(&rd, out.s + i, out.len - i), 0);
	assert_int_equal(drover__reader_next(&rd, &msg, err, sizeof(err)), 1);
	assert_true(json_equal(msg, a));
	assert_string_equal(drover__proto_type(msg), "line");
	json_decref(msg);
	assert_int_equal(drover__reader_next(&rd, &msg, err, sizeof(err)), 1);
	assert_true(json_equal(msg, b));
	json_decref(msg);
	assert_int_equal(drover__reader_next(&rd, &msg, err, sizeof(err)), 0);
	json_decref(a);
	json_decref(b);
	drover__dbuf_release(&out);
	drover__reader_release(&rd);
}

static void
test_bad_messages(void **state)
{
	struct drover__reader rd = DROVER__READER_INIT;
	unsigned long long v;
	json_t *msg;
	char *big;
	(void)state;

	drover__reader_feed(&rd, "{\"t\": \n[1]\n{\"t\":\"ok\"}\n", 23);
	assert_int_equal(drover__reader_next(&rd, &msg, err, sizeof(err)),
	    DROVER_EPROTO);
	assert_non_null(strstr(err, "bad message"));
	assert_int_equal(drover__reader_next(&rd, &msg, err, sizeof(err)),
	    DROVER_EPROTO);
	assert_string_equal(err, "bad message: not an object");
	/* the stream goes on after a bad frame */
	assert_int_equal(drover__reader_next(&rd, &msg, err, sizeof(err)), 1);
	assert_string_equal(drover__proto_type(msg), "ok");
	assert_int_equal(drover__proto_uint(msg, "seq", &v), DROVER_EPROTO);
	json_decref(msg);
	drover__reader_release(&rd);

	/* a frame that never ends is refused past the size limit */
	big = malloc(DROVER__MSG_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', DROVER__MSG_MAX + 1);
	drover__reader_feed(&rd, big, DROVER__MSG_MAX + 1);
	assert_int_equal(drover__reader_next(&rd, &msg, err, sizeof(err)),
	    DROVER_EPROTO);
	assert_non_null(strstr(err, "longer than"));
	free(big);
	drover__reader_release(&rd);

	msg = json_pack("{s:i, s:i}", "neg", -1, "ok", 42);
	assert_int_equal(drover__proto_uint(msg, "neg", &v), DROVER_EPROTO);
	assert_int_equal(drover__proto_uint(msg, "ok", &v), 0);
	assert_int_equal(v, 42);
	json_decref(msg);
}

static void
test_peer_allowed(void **state)
{
	(void)state;
	assert_true(drover__peer_allowed(1000, 1000));
	assert_false(drover__peer_allowed(1001, 1000));
	/* not even root may talk to someone else's daemon */
	assert_false(drover__peer_allowed(0, 1000));
	assert_false(drover__peer_allowed(1000, 0));
}

static void
test_peer_check_same_uid(void **state)
{
	int sv[2];
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(drover__peer_check(sv[0], err, sizeof(err)), 0);
	close(sv[0]);
	close(sv[1]);
}

/* A client running as another uid is refused by the credential check. */
static void
test_peer_check_other_uid(void **state)
{
	char dir[] = "/tmp/u-adaptor-peer-XXXXXX", path[96];
	struct sockaddr_un sa;
	int lfd, cfd, st;
	pid_t pid;
	(void)state;

	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/s", dir);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	chmod(path, 0777);
	assert_int_equal(listen(lfd, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;

		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			_exit(3);
		/* The client end refuses the root-owned server too. */
		_exit(drover__peer_check(fd, NULL, 0) == DROVER_EPERM ? 0 : 4);
	}
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	assert_int_equal(drover__peer_check(cfd, err, sizeof(err)),
	    DROVER_EPERM);
	assert_non_null(strstr(err, "peer uid 65534 is not allowed"));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(cfd);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

static void
test_listen_private_and_connect(void **state)
{
	char *dir, *sock;
	struct stat st;
	int lfd, cfd, afd;
	(void)state;

	assert_int_equal(drover__listen_private(&dir, &sock, &lfd, err,
	    sizeof(err)), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(drover__connect(sock, &cfd, err, sizeof(err)), 0);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(drover__peer_check(afd, err, sizeof(err)), 0);
	close(afd);
	close(cfd);
	close(lfd);
	unlink(sock);
	rmdir(dir);
	/* nobody listens any more */
	assert_int_equal(drover__connect(sock, &cfd, err, sizeof(err)),
	    DROVER_ECONN);
	assert_non_null(strstr(err, sock));
	free(dir);
	free(sock);
}

static void
test_connection_file(void **state)
{
	char dir[] = "/tmp/u-adaptor-cf-XXXXXX", path[96], *sock;
	struct stat st;
	dev_t dev;
	ino_t ino;
	FILE *fp;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/conn.json", dir);
	assert_int_equal(drover__connfile_write(path, "/run/x/socket", 42,
	    &dev, &ino, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(st.st_ino == ino && st.st_dev == dev);
	assert_int_equal(drover__connfile_read(path, &sock, err, sizeof(err)),
	    0);
	assert_string_equal(sock, "/run/x/socket");
	free(sock);
	/* never overwritten */
	assert_int_equal(drover__connfile_write(path, "/other", 1, &dev, &ino,
	    err, sizeof(err)), DROVER_EEXIST);
	assert_int_equal(drover__connfile_read(path, &sock, err, sizeof(err)),
	    0);
	assert_string_equal(sock, "/run/x/socket");
	free(sock);
	/* the Python runtime's format is read too; junk is refused */
	fp = fopen(path, "w");
	fputs("{\"port\": 5}", fp);
	fclose(fp);
	assert_int_equal(drover__connfile_read(path, &sock, err, sizeof(err)),
	    DROVER_EINVAL);
	assert_non_null(strstr(err, "has no \"socket\""));
	unlink(path);
	assert_int_equal(drover__connfile_read(path, &sock, err, sizeof(err)),
	    DROVER_ENOENT);
	assert_non_null(strstr(err, "does not exist"));
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_decode_roundtrip),
		cmocka_unit_test(test_bad_messages),
		cmocka_unit_test(test_peer_allowed),
		cmocka_unit_test(test_peer_check_same_uid),
		cmocka_unit_test(test_peer_check_other_uid),
		cmocka_unit_test(test_listen_private_and_connect),
		cmocka_unit_test(test_connection_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
