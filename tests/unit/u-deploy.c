/*
 * Unit tests for dependency deployment: the deployment file, entry locks
 * (exclusion, stale and foreign holders, timeouts) and safe unpacking of
 * archives built here with libarchive's writer.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "cas/fsutil.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "deploy/deploy.h"
#include "deploy/lock.h"
#include "deploy/unpack.h"

#define TMPDIR_FIXTURE_NAME "u-deploy"
#include "tmpdir-fixture.h"

static void
write_text(const char *path, const char *text)
{
	write_file(path, text, strlen(text));
}

/* ---- deployment file ---- */

static int
load_text(struct deploy_file *f, const char *text, struct error_list *el)
{
	char *p = tpath("deploy.json");
	int rc;

	write_text(p, text);
	rc = deploy_file_load(f, p, el);
	free(p);
	return rc;
}

static void
expect_file_error(const char *text, const char *needle, int line)
{
	struct deploy_file f = DEPLOY_FILE_INIT;
	struct error_list el = ERROR_LIST_INIT;
	int found = 0;

	assert_int_equal(load_text(&f, text, &el), -1);
	for (size_t i = 0; i < el.n; i++) {
		char *m = error_format(&el.v[i]);

		if (strstr(m, needle) != NULL && (line == 0 || el.v[i].line == line))
			found = 1;
		free(m);
	}
	if (!found) {
		error_list_print(&el, stderr);
		fail_msg("no error mentioning '%s' at line %d", needle, line);
	}
	error_list_release(&el);
}

static void
test_file_valid(void **state)
{
	struct deploy_file f = DEPLOY_FILE_INIT;
	struct error_list el = ERROR_LIST_INIT;
	char *cwd = getcwd(NULL, 0), *want;

	(void)state;
	setenv("U_DEPLOY_DEST", "/opt/deps", 1);
	assert_int_equal(load_text(&f,
	    "{\n"
	    "  \"formatVersion\": 1,\n"
	    "  \"dependencies\": [\n"
	    "    {\"name\": \"ffmpeg\", \"version\": \"6.1\",\n"
	    "     \"platform\": \"linux-x86_64\",\n"
	    "     \"source\": \"https://deps.example.com/ff/ffmpeg-6.1.tar.xz?x=1\",\n"
	    "     \"hash\": \"xxh128:0123456789abcdef0123456789abcdef\",\n"
	    "     \"link\": \"hardlink\", \"keep_updated\": true,\n"
	    "     \"destination\": \"${U_DEPLOY_DEST}/ffmpeg\"},\n"
	    "    {\"name\": \"tool\", \"version\": \"1\", \"source\": \"dir/tool.bin\",\n"
	    "     \"destination\": \"rel/$$x\", \"executable\": true},\n"
	    "    {\"name\": \"blob\", \"version\": \"2\", \"source\": \"cas:store\",\n"
	    "     \"hash\": \"0123456789abcdef0123456789abcdef\", \"unpack\": \"zip\",\n"
	    "     \"destination\": \"/d\", \"max_unpacked_size\": 1000}\n"
	    "  ]\n"
	    "}\n", &el), 0);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.deps[0].kind, DEPLOY_SRC_HTTP);
	assert_string_equal(f.deps[0].repository, "deps.example.com");
	assert_int_equal(f.deps[0].unpack, DEPLOY_UNPACK_TAR_XZ);
	assert_int_equal(f.deps[0].link, DEPLOY_HARDLINK);
	assert_true(f.deps[0].keep_updated);
	assert_string_equal(f.deps[0].hash, "0123456789abcdef0123456789abcdef");
	assert_string_equal(f.deps[0].destination, "/opt/deps/ffmpeg");
	assert_string_equal(f.deps[0].filename, "ffmpeg-6.1.tar.xz");
	assert_int_equal(f.deps[1].kind, DEPLOY_SRC_FILE);
	want = xasprintf("%s/dir/tool.bin", tmpdir);
	assert_string_equal(f.deps[1].location, want);	/* next to the file */
	free(want);
	want = xasprintf("%s/rel/$x", cwd);
	assert_string_equal(f.deps[1].destination, want);	/* from cwd */
	free(want);
	assert_string_equal(f.deps[1].platform, "any");
	assert_string_equal(f.deps[1].repository, "local");
	assert_int_equal(f.deps[1].unpack, DEPLOY_UNPACK_NONE);
	assert_int_equal(f.deps[1].link, DEPLOY_SYMLINK);
	assert_true(f.deps[1].executable);
	assert_int_equal(f.deps[2].kind, DEPLOY_SRC_CAS);
	assert_string_equal(f.deps[2].repository, "cas");
	assert_int_equal(f.deps[2].max_size, 1000);
	assert_int_equal(f.deps[2].unpack, DEPLOY_UNPACK_ZIP);
	want = deploy_entry_dir("/c", &f.deps[0]);
	assert_string_equal(want, "/c/deps.example.com/linux-x86_64/ffmpeg/6.1");
	free(want);
	deploy_file_release(&f);
	free(cwd);
}

static void
test_file_errors(void **state)
{
	(void)state;
	unsetenv("U_DEPLOY_UNSET");
	expect_file_error("[1, 2]", "is an object", 1);
	expect_file_error("{\"formatVersion\": 2, \"dependencies\": []}",
	    "unsupported format version", 1);
	expect_file_error("{\"dependencies\": [], \"extra\": 1}", "unknown key", 1);
	expect_file_error("{\"dependencies\": [\n"
	    "  {\"version\": \"1\", \"source\": \"x\", \"destination\": \"d\"}]}",
	    "dependencies[0].name: is required", 2);
	expect_file_error("{\"dependencies\": [\n"
	    "  {\"name\": \"../evil\", \"version\": \"1\", \"source\": \"x\",\n"
	    "   \"destination\": \"d\"}]}", "dependencies[0].name: '../evil'", 2);
	expect_file_error("{\"dependencies\": [\n"
	    "  {\"name\": \"a\", \"version\": \"1\", \"source\": \"x\",\n"
	    "   \"destination\": \"d\",\n"
	    "   \"link\": \"junction\"}]}", "must be symlink, hardlink or copy", 4);
	expect_file_error("{\"dependencies\": [\n"
	    "  {\"name\": \"a\", \"version\": \"1\", \"source\": \"x\",\n"
	    "   \"hash\": \"md5:abc\", \"destination\": \"d\"}]}",
	    "'xxh128:' followed by 32", 3);
	expect_file_error("{\"dependencies\": [\n"
	    "  {\"name\": \"a\", \"version\": \"1\", \"source\": \"ftp://h/x\",\n"
	    "   \"destination\": \"d\"}]}", "unsupported scheme", 2);
	expect_file_error("{\"dependencies\": [\n"
	    "  {\"name\": \"a\", \"version\": \"1\", \"source\": \"cas:/s\",\n"
	    "   \"destination\": \"d\"}]}", "is required for a cas: source", 2);
	expect_file_error("{\"dependencies\": [\n"
	    "  {\"name\": \"a\", \"version\": \"1\", \"source\": \"x\",\n"
	    "   \"destination\": \"$U_DEPLOY_UNSET/d\"}]}",
	    "environment variable 'U_DEPLOY_UNSET' is not set", 3);
	expect_file_error("{\"dependencies\": [\n"
	    "  {\"name\": \"a\", \"version\": \"1\", \"source\": \"x\",\n"
	    "   \"destination\": \"d\", \"colour\": \"red\"}]}",
	    "dependencies[0].colour: unknown key", 3);
	expect_file_error("{\"dependencies\": [\n"
	    "  {\"name\": \"a\", \"version\": \"1\", \"source\": \"x.tar\",\n"
	    "   \"destination\": \"d\"},\n"
	    "  {\"name\": \"a\", \"version\": \"1\", \"source\": \"y.tar\",\n"
	    "   \"destination\": \"e\"}]}", "also defined at line 2", 4);
}

/* ---- locks ---- */

static void
write_lock(const char *path, const char *host, long pid, int age_secs)
{
	char *text = xasprintf("%s::%ld\n", host, pid);
	struct timespec ts[2];

	write_text(path, text);
	free(text);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age_secs;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void
test_lock_basic(void **state)
{
	char *lock = tpath("locks/a/entry.lock"), *err = NULL, *host = NULL;
	pid_t pid;

	(void)state;
	/* creates the directory, writes host::pid */
	assert_int_equal(deploy_lock_acquire(lock, "hostA", 0, &err), 0);
	assert_int_equal(deploy_lock_read(lock, &host, &pid), 0);
	assert_string_equal(host, "hostA");
	assert_int_equal(pid, getpid());
	free(host);
	/* not re-entrant */
	assert_int_equal(deploy_lock_acquire(lock, "hostA", 0, &err),
	    DEPLOY_LOCK_ERROR);
	assert_non_null(strstr(err, "already held by this process"));
	/* release only removes our own lock */
	deploy_lock_release(lock, "hostB");
	assert_int_equal(access(lock, F_OK), 0);
	deploy_lock_release(lock, "hostA");
	assert_int_equal(access(lock, F_OK), -1);
	free(err);
	free(lock);
}

static pid_t
spawn_sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void
test_lock_stale_and_foreign(void **state)
{
	char *lock = tpath("entry2.lock"), *err = NULL, *host = NULL;
	pid_t child, pid;
	double t0;
	int rc;

	(void)state;
	/* a dead holder on this host: broken at once */
	child = fork();
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	write_lock(lock, "me", (long)child, 0);
	assert_int_equal(deploy_lock_acquire(lock, "me", 5, &err), 0);
	assert_int_equal(deploy_lock_read(lock, &host, &pid), 0);
	assert_int_equal(pid, getpid());
	free(host);
	deploy_lock_release(lock, "me");

	/* a live holder on this host: waited for, then a timeout */
	child = spawn_sleeper();
	write_lock(lock, "me", (long)child, 0);
	t0 = cas_mono();
	rc = deploy_lock_acquire(lock, "me", 0.3, &err);
	assert_int_equal(rc, DEPLOY_LOCK_TIMEOUT);
	assert_true(cas_mono() - t0 >= 0.3);
	assert_non_null(strstr(err, "timed out"));
	assert_non_null(strstr(err, "me::"));
	assert_int_equal(deploy_lock_acquire(lock, "me", 0, &err),
	    DEPLOY_LOCK_BUSY);
	/* ... until it dies */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(deploy_lock_acquire(lock, "me", 5, &err), 0);
	deploy_lock_release(lock, "me");

	/* a live pid that started after the lock was written was reused */
	child = spawn_sleeper();
	write_lock(lock, "me", (long)child, 3600);
	assert_int_equal(deploy_lock_acquire(lock, "me", 5, &err), 0);
	deploy_lock_release(lock, "me");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	/* another host: never broken, a clean timeout naming the holder */
	write_lock(lock, "otherhost", 1, 7200);
	t0 = cas_mono();
	rc = deploy_lock_acquire(lock, "me", 0.3, &err);
	assert_int_equal(rc, DEPLOY_LOCK_TIMEOUT);
	assert_true(cas_mono() - t0 >= 0.3);
	assert_non_null(strstr(err, "otherhost::1"));
	assert_non_null(strstr(err, "another host"));
	assert_int_equal(deploy_lock_read(lock, &host, &pid), 0);
	assert_string_equal(host, "otherhost");
	free(host);

	/* an empty lock: being written if fresh, stale once old */
	write_text(lock, "");
	assert_int_equal(deploy_lock_acquire(lock, "me", 0.2, &err),
	    DEPLOY_LOCK_TIMEOUT);
	assert_non_null(strstr(err, "being written"));
	write_lock(lock, "", 0, 0);
	write_text(lock, "");
	{
		struct timespec ts[2];

		clock_gettime(CLOCK_REALTIME, &ts[0]);
		ts[0].tv_sec -= DEPLOY_LOCK_GRACE + 5;
		ts[1] = ts[0];
		assert_int_equal(utimensat(AT_FDCWD, lock, ts, 0), 0);
	}
	assert_int_equal(deploy_lock_acquire(lock, "me", 5, &err), 0);
	deploy_lock_release(lock, "me");
	free(err);
	free(lock);
}

static void
test_lock_mutual_exclusion(void **state)
{
	char *lock = tpath("entry3.lock"), *counter = tpath("counter");
	pid_t kids[6];
	int status;
	char buf[32];

	(void)state;
	write_text(counter, "0");
	for (int k = 0; k < 6; k++) {
		kids[k] = fork();
		assert_true(kids[k] >= 0);
		if (kids[k] == 0) {
			for (int i = 0; i < 40; i++) {
				char *err = NULL;
				FILE *fp;
				long v = 0;

				if (deploy_lock_acquire(lock, "me", 60, &err) != 0)
					_exit(2);
				fp = fopen(counter, "r");
				if (fp == NULL || fscanf(fp, "%ld", &v) != 1)
					_exit(3);
				fclose(fp);
				usleep(200);	/* widen the race window */
				fp = fopen(counter, "w");
				fprintf(fp, "%ld", v + 1);
				fclose(fp);
				deploy_lock_release(lock, "me");
			}
			_exit(0);
		}
	}
	for (int k = 0; k < 6; k++) {
		assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	{
		FILE *fp = fopen(counter, "r");

		assert_non_null(fgets(buf, sizeof(buf), fp));
		fclose(fp);
	}
	assert_string_equal(buf, "240");
	assert_int_equal(access(lock, F_OK), -1);
	free(lock);
	free(counter);
}

static void
test_host_id(void **state)
{
	char *a, *b;

	(void)state;
	setenv("DROVER_HOST_ID", "test-host-1", 1);
	a = deploy_host_id();
	assert_string_equal(a, "test-host-1");
	free(a);
	setenv("DROVER_HOST_ID", "bad::id", 1);	/* ignored */
	a = deploy_host_id();
	b = deploy_host_id();
	assert_string_not_equal(a, "bad::id");
	assert_string_equal(a, b);	/* stable */
	assert_null(strstr(a, "::"));
	free(a);
	free(b);
	unsetenv("DROVER_HOST_ID");
}

/* ---- unpacking ---- */

enum { E_FILE, E_DIR, E_LINK, E_HARD, E_CHR, E_FIFO };

struct ent {
	int		 type;
	const char	*path;
	const char	*arg;	/* data, link target */
	int64_t		 size;	/* E_FILE: 0 = strlen(arg); >0: that many zeros */
};

static void
make_archive(const char *path, const struct ent *e, size_t n, int zip, int gz)
{
	struct archive *a = archive_write_new();
	char *zeros = NULL;

	if (zip)
		archive_write_set_format_zip(a);
	else
		archive_write_set_format_pax_restricted(a);
	if (gz)
		archive_write_add_filter_gzip(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();

		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_perm(ae, 0755);
		archive_entry_set_mtime(ae, 1700000000, 0);
		switch (e[i].type) {
		case E_FILE:
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_size(ae, e[i].size ? e[i].size :
			    (int64_t)strlen(e[i].arg));
			break;
		case E_DIR:
			archive_entry_set_filetype(ae, AE_IFDIR);
			break;
		case E_LINK:
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e[i].arg);
			break;
		case E_HARD:
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].arg);
			archive_entry_set_size(ae, 0);
			break;
		case E_CHR:
			archive_entry_set_filetype(ae, AE_IFCHR);
			archive_entry_set_rdevmajor(ae, 1);
			archive_entry_set_rdevminor(ae, 3);
			break;
		case E_FIFO:
			archive_entry_set_filetype(ae, AE_IFIFO);
			break;
		}
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (e[i].type == E_FILE) {
			if (e[i].size) {
				zeros = xcalloc(1, (size_t)e[i].size);
				archive_write_data(a, zeros, (size_t)e[i].size);
				free(zeros);
			} else
				archive_write_data(a, e[i].arg, strlen(e[i].arg));
		}
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* Unpacks into a fresh directory; returns rc and the error in *errp. */
static int
try_unpack(const char *name, const struct ent *e, size_t n, int zip,
    uint64_t max_bytes, uint64_t max_entries, char **errp)
{
	char *arch = tpath("%s.%s", name, zip ? "zip" : "tar.gz");
	char *dest = tpath("%s.out", name);
	struct unpack_limits lim = { max_bytes, max_entries };
	struct unpack_result res;
	int rc;

	make_archive(arch, e, n, zip, !zip);
	assert_int_equal(cas_mkdirs(dest, 0755), 0);
	rc = deploy_unpack(arch, zip ? DEPLOY_UNPACK_ZIP : DEPLOY_UNPACK_TAR_GZ,
	    dest, &lim, &res, errp);
	free(arch);
	free(dest);
	return rc;
}

static void
expect_refused(const char *name, const struct ent *e, size_t n, int zip,
    uint64_t max_bytes, const char *needle)
{
	char *err = NULL, *outside = tpath("outside");

	if (try_unpack(name, e, n, zip, max_bytes, 1000, &err) != -1)
		fail_msg("%s: archive was not refused", name);
	if (err == NULL || strstr(err, needle) == NULL)
		fail_msg("%s: error '%s' does not mention '%s'", name,
		    err ? err : "(none)", needle);
	/* nothing escaped */
	assert_int_equal(access(outside, F_OK), -1);
	free(outside);
	free(err);
}

static void
test_unpack_good(void **state)
{
	static const struct ent e[] = {
		{ E_DIR, "./", NULL, 0 },
		{ E_DIR, "./bin/", NULL, 0 },
		{ E_FILE, "./bin/tool", "#!/bin/sh\necho hi\n", 0 },
		{ E_FILE, "share/doc/README", "read me", 0 },
		{ E_LINK, "bin/alias", "tool", 0 },
		{ E_LINK, "share/up", "../bin/tool", 0 },
		{ E_HARD, "bin/tool2", "bin/tool", 0 },
	};
	char *err = NULL, *p;
	struct stat a, b;
	char t[64];
	ssize_t n;

	(void)state;
	assert_int_equal(try_unpack("good", e, 7, 0, 1 << 20, 100, &err), 0);
	p = tpath("good.out/bin/tool");
	assert_int_equal(stat(p, &a), 0);
	assert_int_equal(a.st_size, 18);
	assert_int_equal(a.st_mode & 07777, 0555);
	assert_int_equal(a.st_mtime, 1700000000);
	free(p);
	p = tpath("good.out/bin/tool2");
	assert_int_equal(stat(p, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	free(p);
	p = tpath("good.out/share/up");
	n = readlink(p, t, sizeof(t) - 1);
	assert_int_equal(n, 11);
	t[n] = '\0';
	assert_string_equal(t, "../bin/tool");
	free(p);
	/* the same as a zip */
	assert_int_equal(try_unpack("goodzip", e + 2, 2, 1, 1 << 20, 100, &err),
	    0);
	p = tpath("goodzip.out/share/doc/README");
	assert_int_equal(stat(p, &a), 0);
	assert_int_equal(a.st_size, 7);
	free(p);
	free(err);
}

static void
test_unpack_refusals(void **state)
{
	(void)state;
	{
		static const struct ent e[] = {
			{ E_FILE, "ok", "x", 0 },
			{ E_FILE, "../outside", "evil", 0 } };

		expect_refused("trav", e, 2, 0, 1 << 20, "'..' component");
		expect_refused("travzip", e, 2, 1, 1 << 20, "'..' component");
	}
	{
		static const struct ent e[] = {
			{ E_FILE, "a/../../outside", "evil", 0 } };

		expect_refused("trav2", e, 1, 0, 1 << 20, "path traversal");
	}
	{
		char *abs = tpath("outside");
		struct ent e[] = { { E_FILE, abs, "evil", 0 } };

		expect_refused("abs", e, 1, 0, 1 << 20, "absolute path");
		expect_refused("abszip", e, 1, 1, 1 << 20, "absolute path");
		free(abs);
	}
	{
		static const struct ent e[] = {
			{ E_LINK, "link", "../outside", 0 },
			{ E_FILE, "link/file", "evil", 0 } };

		expect_refused("symesc", e, 2, 0, 1 << 20, "points outside");
	}
	{
		static const struct ent e[] = {
			{ E_LINK, "etc", "/etc", 0 } };

		expect_refused("symabs", e, 1, 0, 1 << 20, "absolute target");
	}
	{
		/* each link stays inside on paper; together they escape */
		static const struct ent e[] = {
			{ E_DIR, "d", NULL, 0 },
			{ E_LINK, "d/up", "..", 0 },
			{ E_LINK, "sneaky", "d/up/../outside", 0 } };

		expect_refused("symchain", e, 3, 0, 1 << 20, "points outside");
	}
	{
		/* an entry written through an (inside) link is refused */
		static const struct ent e[] = {
			{ E_DIR, "real", NULL, 0 },
			{ E_LINK, "alias", "real", 0 },
			{ E_FILE, "alias/f", "x", 0 } };

		expect_refused("through", e, 3, 0, 1 << 20, "symbolic link");
	}
	{
		static const struct ent e[] = { { E_CHR, "null", NULL, 0 } };

		expect_refused("dev", e, 1, 0, 1 << 20, "device file");
	}
	{
		static const struct ent e[] = { { E_FIFO, "fifo", NULL, 0 } };

		expect_refused("fifo", e, 1, 0, 1 << 20, "FIFO");
	}
	{
		static const struct ent e[] = {
			{ E_HARD, "h", "../outside", 0 } };

		expect_refused("hard", e, 1, 0, 1 << 20, "hard link");
	}
	{
		/* 2 MiB of zeros compress to almost nothing */
		static const struct ent e[] = {
			{ E_FILE, "small", "x", 0 },
			{ E_FILE, "bomb", NULL, 2 << 20 } };

		expect_refused("bomb", e, 2, 0, 1 << 20, "archive bomb");
		expect_refused("bombzip", e, 2, 1, 1 << 20, "archive bomb");
	}
	{
		struct ent e[30];
		char names[30][8];
		char *err = NULL;

		for (int i = 0; i < 30; i++) {
			snprintf(names[i], sizeof(names[i]), "f%d", i);
			e[i] = (struct ent){ E_FILE, names[i], "x", 0 };
		}
		assert_int_equal(try_unpack("many", e, 30, 0, 1 << 20, 10, &err),
		    -1);
		assert_non_null(strstr(err, "more than 10 entries"));
		free(err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_valid),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_lock_basic),
		cmocka_unit_test(test_lock_stale_and_foreign),
		cmocka_unit_test(test_lock_mutual_exclusion),
		cmocka_unit_test(test_host_id),
		cmocka_unit_test(test_unpack_good),
		cmocka_unit_test(test_unpack_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
