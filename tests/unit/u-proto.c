/*
 * Unit tests for the daemon's building blocks: message framing and the
 * hello, the peer uid check (SO_PEERCRED on a socketpair: we are the
 * peer, so our uid passes and any other is refused), the configuration
 * file, and host requirement matching.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/hostreq.h"
#include "daemon/peer.h"
#include "daemon/proto.h"

static void
test_framing(void **state)
{
	struct proto_reader r = PROTO_READER_INIT;
	json_t *m = json_pack("{s:s, s:s}", "op", "x", "text", "two\nlines");
	char *line, *err = NULL;
	size_t len;
	json_t *got;
	(void)state;

	line = proto_encode(m, &len);
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));	/* one line */
	/* fed byte by byte: nothing until the newline */
	for (size_t i = 0; i < len - 1; i++) {
		proto_reader_feed(&r, line + i, 1);
		assert_int_equal(proto_reader_next(&r, &got, &err), 0);
	}
	proto_reader_feed(&r, line + len - 1, 1);
	assert_int_equal(proto_reader_next(&r, &got, &err), 1);
	assert_true(json_equal(got, m));
	json_decref(got);
	/* two messages in one chunk, then garbage */
	proto_reader_feed(&r, line, len);
	proto_reader_feed(&r, line, len);
	proto_reader_feed(&r, "[1]\n{bad\n", 9);
	assert_int_equal(proto_reader_next(&r, &got, &err), 1);
	json_decref(got);
	assert_int_equal(proto_reader_next(&r, &got, &err), 1);
	json_decref(got);
	assert_int_equal(proto_reader_next(&r, &got, &err), -1);
	assert_non_null(strstr(err, "not a JSON object"));
	free(err);
	assert_int_equal(proto_reader_next(&r, &got, &err), -1);
	assert_non_null(strstr(err, "bad message"));
	free(err);
	free(line);
	json_decref(m);
	proto_reader_release(&r);
}

static void
test_hello(void **state)
{
	json_t *h = proto_hello("test"), *old;
	char *err = NULL;
	(void)state;

	assert_int_equal(proto_check_hello(h, &err), 0);
	old = json_pack("{s:s, s:i}", "hello", "x", "protocol",
	    PROTO_VERSION + 1);
	assert_int_equal(proto_check_hello(old, &err), -1);
	assert_non_null(strstr(err, "protocol version"));
	free(err);
	json_object_set_new(h, "error", json_string("permission denied"));
	assert_int_equal(proto_check_hello(h, &err), -1);
	assert_string_equal(err, "permission denied");
	free(err);
	json_decref(h);
	json_decref(old);
}

static void
test_send_recv(void **state)
{
	int sv[2];
	struct proto_reader r = PROTO_READER_INIT;
	json_t *m = json_pack("{s:i}", "id", 7), *got = NULL;
	char *err = NULL;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(proto_send(sv[0], m), 0);
	assert_int_equal(proto_recv(sv[1], &r, &got, 1000, &err), 1);
	assert_int_equal(json_integer_value(json_object_get(got, "id")), 7);
	json_decref(got);
	assert_int_equal(proto_recv(sv[1], &r, &got, 50, &err), -1);
	assert_non_null(strstr(err, "timed out"));
	free(err);
	close(sv[0]);
	assert_int_equal(proto_recv(sv[1], &r, &got, 1000, &err), 0);
	close(sv[1]);
	json_decref(m);
	proto_reader_release(&r);
}

static void
test_peer(void **state)
{
	int sv[2];
	uid_t uid;
	pid_t pid;
	char *why = NULL;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(peer_cred(sv[0], &uid, &pid), 0);
	assert_int_equal(uid, geteuid());
	assert_int_equal(pid, getpid());
	assert_int_equal(peer_allowed(sv[0], geteuid(), &why), 1);
	/* an owner that is not us: refused, with who it was */
	assert_int_equal(peer_allowed(sv[0], geteuid() + 1, &why), 0);
	assert_non_null(strstr(why, "is not the daemon's owner"));
	free(why);
	close(sv[0]);
	close(sv[1]);
	/* not a socket: refused, not trusted */
	assert_int_equal(peer_allowed(0, geteuid(), &why), 0);
	free(why);
}

static void
test_config(void **state)
{
	char dir[] = "/tmp/u-proto.XXXXXX", *path, *err = NULL;
	struct config c = CONFIG_INIT;
	struct buf b = BUF_INIT;
	FILE *fp;
	(void)state;

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/sub/config", dir);
	assert_int_equal(config_parse_size("64M"), 64 << 20);
	assert_int_equal(config_parse_size("10"), 10);
	assert_int_equal(config_parse_size("2GiB"), 2LL << 30);
	assert_int_equal(config_parse_size("x"), -1);
	assert_int_equal(config_check("daemon.slots", "4", &err), 0);
	assert_int_equal(config_check("daemon.slots", "-1", &err), -1);
	free(err);
	assert_int_equal(config_check("jobs.on_error", "panic", &err), -1);
	assert_non_null(strstr(err, "continue|quit|terminate"));
	free(err);
	assert_int_equal(config_check("capabilities.amount.licenses", "x",
	    &err), -1);
	free(err);
	assert_int_equal(config_check("bogus.key", "1", &err), -1);
	free(err);

	assert_int_equal(config_set_file(path, "daemon.slots", "3", &err), 0);
	assert_int_equal(config_set_file(path, "jobs.priority", "70", &err), 0);
	assert_int_equal(config_set_file(path, "daemon.slots", "5", &err), 0);
	assert_int_equal(config_set_file(path, "jobs.priority", "x", &err), -1);
	free(err);
	assert_int_equal(config_load_file(&c, path, &err), 0);
	assert_string_equal(config_get(&c, "daemon.slots"), "5");
	assert_int_equal(config_get_int(&c, "jobs.priority", 0), 70);
	assert_string_equal(config_get(&c, "jobs.on_error"), "quit");
	assert_int_equal(config_get_int(&c, "daemon.task_log_max", 0), 64 << 20);
	config_release(&c);
	/* the key is replaced in place, comments kept */
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_non_null(strstr(b.s, "[daemon]\nslots = 5\n"));
	assert_null(strstr(b.s, "slots = 3"));
	buf_release(&b);
	assert_int_equal(config_set_file(path, "daemon.slots", NULL, &err), 0);
	assert_int_equal(config_load_file(&c, path, &err), 0);
	assert_null(config_get(&c, "daemon.slots"));	/* computed */
	config_release(&c);

	/* a later file wins; bad lines are reported with their position */
	fp = fopen(path, "w");
	fprintf(fp, "# comment\n[jobs]\nmax_retries = 2\n[capabilities]\n"
	    "amount.licenses = 4\nattr.gpu = nvidia, cuda\n");
	fclose(fp);
	assert_int_equal(config_load_file(&c, path, &err), 0);
	assert_int_equal(config_get_int(&c, "jobs.max_retries", 0), 2);
	assert_string_equal(config_get(&c, "capabilities.attr.gpu"),
	    "nvidia, cuda");
	fp = fopen(path, "w");
	fprintf(fp, "[jobs]\nmax_retries = 9\noops\n");
	fclose(fp);
	assert_int_equal(config_load_file(&c, path, &err), -1);
	assert_non_null(strstr(err, "config:3: expected 'key = value'"));
	free(err);
	config_release(&c);
	free(path);
	path = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
	free(path);
}

static void
test_hostreq(void **state)
{
	struct config c = CONFIG_INIT;
	struct host_caps h;
	char *why = NULL, *err = NULL, dir[] = "/tmp/u-proto.XXXXXX", *path;
	json_t *req;
	double *take;
	FILE *fp;
	(void)state;

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/config", dir);
	fp = fopen(path, "w");
	fprintf(fp, "[capabilities]\namount.worker.vcpu = 4\n"
	    "amount.licenses = 2\nattr.gpu = Nvidia, CUDA\n");
	fclose(fp);
	assert_int_equal(config_load_file(&c, path, &err), 0);
	host_caps_init(&h, &c, dir);

	assert_int_equal(host_check(&h, NULL, &why), 1);
	req = json_loads("{\"attributes\": [{\"name\": \"attr.worker.os.family\","
	    " \"anyOf\": [\"windows\", \"LINUX\"]}], \"amounts\": [{\"name\": "
	    "\"amount.worker.vcpu\", \"min\": 4}]}", 0, NULL);
	assert_int_equal(host_check(&h, req, &why), 1);
	json_decref(req);
	req = json_loads("{\"amounts\": [{\"name\": \"amount.worker.vcpu\", "
	    "\"min\": 64}]}", 0, NULL);
	assert_int_equal(host_check(&h, req, &why), 0);
	assert_string_equal(why, "amount.worker.vcpu: needs at least 64, this "
	    "host has 4");
	free(why);
	json_decref(req);
	req = json_loads("{\"attributes\": [{\"name\": \"attr.worker.os.family\","
	    " \"anyOf\": [\"macos\"]}]}", 0, NULL);
	assert_int_equal(host_check(&h, req, &why), 0);
	assert_non_null(strstr(why, "needs one of 'macos'"));
	free(why);
	json_decref(req);
	req = json_loads("{\"attributes\": [{\"name\": \"attr.gpu\", \"allOf\":"
	    " [\"cuda\", \"nvidia\"]}]}", 0, NULL);
	assert_int_equal(host_check(&h, req, &why), 1);
	json_decref(req);
	req = json_loads("{\"amounts\": [{\"name\": \"amount.nope\", \"min\": "
	    "1}]}", 0, NULL);
	assert_int_equal(host_check(&h, req, &why), 0);
	assert_non_null(strstr(why, "no such amount"));
	free(why);
	json_decref(req);

	/* reservations: two sessions of 1 licence fit, a third does not */
	req = json_loads("{\"amounts\": [{\"name\": \"amount.licenses\", "
	    "\"min\": 1}]}", 0, NULL);
	take = xcalloc(h.namounts, sizeof(double));
	host_amounts_needed(&h, req, take);
	assert_true(host_fits(&h, take));
	host_take(&h, take);
	assert_true(host_fits(&h, take));
	host_take(&h, take);
	assert_false(host_fits(&h, take));
	host_give(&h, take);
	assert_true(host_fits(&h, take));
	free(take);
	json_decref(req);

	host_caps_release(&h);
	config_release(&c);
	unlink(path);
	rmdir(dir);
	free(path);
}

static void
test_proc(void **state)
{
	char *p;
	(void)state;

	assert_true(proc_start_time(getpid()) > 0);
	assert_true(proc_alive(getpid(), proc_start_time(getpid())));
	assert_false(proc_alive(getpid(), proc_start_time(getpid()) + 1));
	assert_false(proc_alive(0, 0));
	p = daemon_attempt_log(3, 1, 42, 2);
	assert_string_equal(p, "3/1-42-2.log");
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_send_recv),
		cmocka_unit_test(test_peer),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_hostreq),
		cmocka_unit_test(test_proc),
	};

	log_init("u-proto", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
