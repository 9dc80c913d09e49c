/*
 * Unit tests for the content-addressed store layer: hashing, canonical
 * manifests (encoding, UTF-16 order, strict reading), the hash cache, the
 * store, and tree snapshot/upload/download.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cas/fsutil.h"
#include "cas/hash.h"
#include "cas/hashcache.h"
#include "cas/manifest.h"
#include "cas/progress.h"
#include "cas/store.h"
#include "cas/tree.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define TMPDIR_FIXTURE_NAME "u-cas"
#include "tmpdir-fixture.h"

/* Sets a file's mtime to `secs` seconds ago (out of the racy window). */
static void
age(const char *path, int secs)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= secs;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* ---- hashing ---- */

static void
test_hash_known_answers(void **state)
{
	char hex[CAS_HASH_HEXLEN + 1];

	(void)state;
	/* from `xxhsum -H2` (Debian's xxhash 0.8.1) */
	cas_hash_mem("", 0, hex);
	assert_string_equal(hex, "99aa06d3014798d86001c324468d497f");
	cas_hash_mem("abc", 3, hex);
	assert_string_equal(hex, "06b05ab6733a618578af5f94892f3950");
	assert_true(cas_hash_valid(hex));
	assert_false(cas_hash_valid("06B05AB6733A618578AF5F94892F3950"));
	assert_false(cas_hash_valid("06b05ab6733a618578af5f94892f395"));
	assert_false(cas_hash_valid("06b05ab6733a618578af5f94892f3950a"));
	assert_false(cas_hash_valid("../../../../etc/passwd0123456789"));
}

static void
test_hash_streaming_matches_oneshot(void **state)
{
	static const size_t sizes[] = { 0, 1, 4095, CAS_IO_BUFSZ - 1,
	    CAS_IO_BUFSZ, CAS_IO_BUFSZ + 1, 3 * CAS_IO_BUFSZ + 17 };
	char *path = tpath("stream.bin"), *data, *buf;
	char a[CAS_HASH_HEXLEN + 1], b[CAS_HASH_HEXLEN + 1];
	struct cas_hasher h;
	uint64_t n;
	size_t max = sizes[6];
	int fd;

	(void)state;
	data = xmalloc(max);
	for (size_t i = 0; i < max; i++)
		data[i] = (char)(i * 2654435761u >> 13);
	buf = xmalloc(CAS_IO_BUFSZ);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		write_file(path, data, sizes[k]);
		fd = open(path, O_RDONLY);
		assert_int_equal(cas_hash_fd(fd, buf, CAS_IO_BUFSZ, a, &n), 0);
		close(fd);
		assert_int_equal(n, sizes[k]);
		cas_hash_mem(data, sizes[k], b);
		assert_string_equal(a, b);
		/* odd-sized updates give the same digest */
		cas_hasher_init(&h);
		for (size_t off = 0; off < sizes[k]; off += 7777)
			cas_hasher_update(&h, data + off,
			    sizes[k] - off < 7777 ? sizes[k] - off : 7777);
		cas_hasher_final(&h, b);
		cas_hasher_release(&h);
		assert_string_equal(a, b);
	}
	free(buf);
	free(data);
	free(path);
}

/* ---- canonical JSON and ordering ---- */

static void
check_json(const char *in, const char *want)
{
	struct buf b = BUF_INIT;

	cas_json_string(&b, in);
	assert_string_equal(b.s, want);
	buf_release(&b);
}

static void
test_json_escaping(void **state)
{
	(void)state;
	check_json("plain/path.txt", "\"plain/path.txt\"");
	check_json("q\"b\\s", "\"q\\\"b\\\\s\"");
	check_json("\t\n\r\b\f", "\"\\t\\n\\r\\b\\f\"");
	check_json("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
	check_json("caf\xc3\xa9", "\"caf\\u00e9\"");		/* é */
	check_json("\xe6\x97\xa5", "\"\\u65e5\"");		/* 日 */
	check_json("\xf0\x9f\x98\x80", "\"\\ud83d\\ude00\"");	/* U+1F600 */
	check_json("\xef\xbf\xbf", "\"\\uffff\"");
	check_json("", "\"\"");
}

static void
test_utf16_order(void **state)
{
	/* expected UTF-16 order; UTF-8 byte order would put U+1F600 last */
	static const char *const want[] = {
		"A", "Z", "a", "a b", "a/b", "ab", "~",
		"\xc3\xa9",		/* U+00E9 */
		"\xed\x9f\xbf",		/* U+D7FF */
		"\xf0\x9f\x98\x80",	/* U+1F600: surrogates D83D DE00 */
		"\xf0\x9f\x98\x80x",
		"\xee\x80\x80",		/* U+E000 */
		"\xef\xbc\xa1",		/* U+FF21 */
	};
	size_t n = sizeof(want) / sizeof(want[0]);
	struct cas_manifest m = CAS_MANIFEST_INIT;

	(void)state;
	for (size_t i = n; i-- > 0;)
		cas_manifest_add(&m, want[(i * 7) % n]);
	cas_manifest_sort(&m);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(m.files[i].path, want[i]);
	for (size_t i = 0; i + 1 < n; i++) {
		assert_true(cas_path_cmp(want[i], want[i + 1]) < 0);
		assert_true(cas_path_cmp(want[i + 1], want[i]) > 0);
	}
	assert_int_equal(cas_path_cmp("x", "x"), 0);
	assert_non_null(cas_manifest_find(&m, "\xee\x80\x80"));
	assert_null(cas_manifest_find(&m, "nope"));
	cas_manifest_release(&m);
}

static void
test_encode_canonical(void **state)
{
	struct cas_manifest m = CAS_MANIFEST_INIT;
	struct cas_file *f;
	struct buf b = BUF_INIT;

	(void)state;
	f = cas_manifest_add(&m, "z.txt");
	strcpy(f->hash, "0123456789abcdef0123456789abcdef");
	f->size = 10;
	f->mtime_us = 1700000000123456;
	f = cas_manifest_add(&m, "caf\xc3\xa9/a");
	strcpy(f->hash, "ffffffffffffffffffffffffffffffff");
	f->size = 0;
	f->mtime_us = 0;
	f = cas_manifest_add(&m, "A");
	strcpy(f->hash, "00000000000000000000000000000000");
	f->size = 1099511627776ULL;
	f->mtime_us = 1;
	cas_manifest_encode(&m, &b);
	assert_string_equal(b.s,
	    "{\"hashAlg\":\"xxh128\",\"manifestVersion\":\"2023-03-03\","
	    "\"paths\":["
	    "{\"hash\":\"00000000000000000000000000000000\",\"mtime\":1,"
	    "\"path\":\"A\",\"size\":1099511627776},"
	    "{\"hash\":\"ffffffffffffffffffffffffffffffff\",\"mtime\":0,"
	    "\"path\":\"caf\\u00e9/a\",\"size\":0},"
	    "{\"hash\":\"0123456789abcdef0123456789abcdef\","
	    "\"mtime\":1700000000123456,\"path\":\"z.txt\",\"size\":10}"
	    "],\"totalSize\":1099511627786}");
	assert_int_equal(m.total_size, 1099511627786ULL);
	buf_release(&b);
	cas_manifest_release(&m);

	/* an empty tree */
	cas_manifest_encode(&m, &b);
	assert_string_equal(b.s, "{\"hashAlg\":\"xxh128\",\"manifestVersion\":"
	    "\"2023-03-03\",\"paths\":[],\"totalSize\":0}");
	buf_release(&b);
}

/* ---- strict reading ---- */

#define H32 "0123456789abcdef0123456789abcdef"
#define ENTRY(p) "{\"hash\":\"" H32 "\",\"mtime\":5,\"path\":\"" p "\",\"size\":1}"
#define DOC(paths, total) "{\"hashAlg\":\"xxh128\",\"manifestVersion\":" \
	"\"2023-03-03\",\"paths\":[" paths "],\"totalSize\":" total "}"

static void
expect_reject(const char *text, const char *needle)
{
	struct cas_manifest m = CAS_MANIFEST_INIT;
	struct error_list el = ERROR_LIST_INIT;
	char *msg;

	assert_int_equal(cas_manifest_parse(&m, "m.json", text, strlen(text),
	    &el), -1);
	assert_true(el.n > 0);
	msg = error_list_first(&el);
	if (strstr(msg, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", msg, needle);
	free(msg);
	assert_int_equal(m.n, 0);
	error_list_release(&el);
}

static void
test_parse_rejects(void **state)
{
	(void)state;
	expect_reject("{nope", "not a valid JSON");
	expect_reject("[]", "must be a JSON object");
	expect_reject("{\"hashAlg\":\"xxh128\",\"paths\":[],\"totalSize\":0}",
	    "manifestVersion");
	expect_reject("{\"hashAlg\":\"xxh128\",\"manifestVersion\":\"2025-12-04\","
	    "\"paths\":[],\"totalSize\":0}", "unsupported manifest version "
	    "'2025-12-04'");
	expect_reject("{\"hashAlg\":\"sha256\",\"manifestVersion\":\"2023-03-03\","
	    "\"paths\":[],\"totalSize\":0}", "unsupported hash algorithm 'sha256'");
	expect_reject("{\"hashAlg\":\"xxh128\",\"manifestVersion\":\"2023-03-03\","
	    "\"paths\":[],\"totalSize\":0,\"extra\":1}", "unknown key 'extra'");
	expect_reject(DOC(ENTRY("/etc/passwd"), "1"), "is absolute");
	expect_reject(DOC(ENTRY("C:/x"), "1"), "is absolute");
	expect_reject(DOC(ENTRY("../x"), "1"), "not a clean relative path");
	expect_reject(DOC(ENTRY("a/../../x"), "1"), "not a clean relative path");
	expect_reject(DOC(ENTRY("a//b"), "1"), "not a clean relative path");
	expect_reject(DOC(ENTRY("./a"), "1"), "not a clean relative path");
	expect_reject(DOC(ENTRY("a/"), "1"), "not a clean relative path");
	expect_reject(DOC(ENTRY(""), "1"), "not a clean relative path");
	expect_reject(DOC(ENTRY("a") "," ENTRY("a"), "2"), "duplicate path 'a'");
	expect_reject(DOC(ENTRY("a") "," ENTRY("a/b"), "2"),
	    "'a' is both a file and a directory");
	expect_reject(DOC(ENTRY("x/y") "," ENTRY("x/y/z/w"), "2"),
	    "'x/y' is both a file and a directory");
	expect_reject(DOC("{\"hash\":\"0123456789ABCDEF0123456789abcdef\","
	    "\"mtime\":5,\"path\":\"a\",\"size\":1}", "1"), "hash must be");
	expect_reject(DOC("{\"hash\":\"../../x\",\"mtime\":5,\"path\":\"a\","
	    "\"size\":1}", "1"), "hash must be");
	expect_reject(DOC("{\"hash\":\"" H32 "\",\"mtime\":5,\"path\":\"a\","
	    "\"size\":-1}", "1"), "size must be");
	expect_reject(DOC("{\"hash\":\"" H32 "\",\"mtime\":5,\"path\":\"a\","
	    "\"size\":1.0}", "1"), "size must be");
	expect_reject(DOC("{\"hash\":\"" H32 "\",\"mtime\":\"5\",\"path\":\"a\","
	    "\"size\":1}", "1"), "mtime must be");
	expect_reject(DOC("{\"hash\":\"" H32 "\",\"mtime\":5,\"path\":\"a\","
	    "\"size\":1,\"runnable\":true}", "1"), "unknown key 'runnable'");
	expect_reject(DOC("{\"hash\":\"" H32 "\",\"mtime\":5,\"path\":\"a\"}",
	    "1"), "needs 'path', 'hash', 'size' and 'mtime'");
	expect_reject(DOC(ENTRY("a"), "2"), "does not match the sum");
	expect_reject("{\"hashAlg\":\"xxh128\",\"hashAlg\":\"xxh128\","
	    "\"manifestVersion\":\"2023-03-03\",\"paths\":[],\"totalSize\":0}",
	    "duplicate");
	expect_reject(DOC(ENTRY("a\\u0000b"), "1"), "not a valid JSON");
}

static void
test_parse_roundtrip(void **state)
{
	static const char canon[] = DOC(ENTRY("A") "," ENTRY("b/c") ","
	    ENTRY("caf\\u00e9") "," ENTRY("\\ud83d\\ude00") ","
	    ENTRY("\\uff21"), "5");
	static const char shuffled[] = "{\"totalSize\":5,\"paths\":["
	    ENTRY("\\uff21") "," ENTRY("caf\\u00e9") "," ENTRY("A") ","
	    ENTRY("\\ud83d\\ude00") "," ENTRY("b/c") "],"
	    "\"manifestVersion\":\"2023-03-03\",\"hashAlg\":\"xxh128\"}";
	struct cas_manifest m = CAS_MANIFEST_INIT;
	struct error_list el = ERROR_LIST_INIT;
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(cas_manifest_parse(&m, "m", canon, strlen(canon), &el),
	    0);
	assert_int_equal(m.n, 5);
	assert_string_equal(m.files[2].path, "caf\xc3\xa9");
	cas_manifest_encode(&m, &b);
	assert_string_equal(b.s, canon);
	cas_manifest_release(&m);
	buf_reset(&b);
	assert_int_equal(cas_manifest_parse(&m, "m", shuffled, strlen(shuffled),
	    &el), 0);
	cas_manifest_encode(&m, &b);
	assert_string_equal(b.s, canon);
	buf_release(&b);
	cas_manifest_release(&m);
	assert_int_equal(el.n, 0);
}

static void
diff_collect(void *arg, enum cas_change ch, const struct cas_file *a,
    const struct cas_file *b)
{
	struct buf *out = arg;

	buf_addf(out, "%c %s;", (int)ch, (a ? a : b)->path);
}

static void
test_diff(void **state)
{
	struct cas_manifest a = CAS_MANIFEST_INIT, b = CAS_MANIFEST_INIT;
	struct buf out = BUF_INIT;
	struct cas_file *f;
	const char *names[] = { "same", "gone", "changed", "touched" };

	(void)state;
	for (int i = 0; i < 4; i++) {
		f = cas_manifest_add(&a, names[i]);
		memset(f->hash, 'a', CAS_HASH_HEXLEN);
		f->size = 1;
		f->mtime_us = 1;
	}
	for (int i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		f = cas_manifest_add(&b, names[i]);
		memset(f->hash, i == 2 ? 'b' : 'a', CAS_HASH_HEXLEN);
		f->size = 1;
		f->mtime_us = i == 3 ? 2 : 1;
	}
	f = cas_manifest_add(&b, "new");
	memset(f->hash, 'c', CAS_HASH_HEXLEN);
	cas_manifest_sort(&a);
	cas_manifest_sort(&b);
	assert_int_equal(cas_manifest_diff(&a, &b, diff_collect, &out), 4);
	assert_string_equal(out.s, "M changed;D gone;A new;T touched;");
	buf_reset(&out);
	assert_int_equal(cas_manifest_diff(&a, &a, diff_collect, &out), 0);
	buf_release(&out);
	cas_manifest_release(&a);
	cas_manifest_release(&b);
}

static void
test_paths_helpers(void **state)
{
	(void)state;
	assert_true(cas_relpath_safe("a/b.c"));
	assert_true(cas_relpath_safe("...a/.b"));
	assert_false(cas_relpath_safe("a/./b"));
	assert_false(cas_relpath_safe("a/.."));
	assert_false(cas_relpath_safe("/a"));
	assert_false(cas_relpath_safe("a\xff"));
	assert_true(cas_utf8_valid("\xf0\x9f\x98\x80", 4));
	assert_false(cas_utf8_valid("\xc0\xaf", 2));		/* overlong */
	assert_false(cas_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	assert_false(cas_utf8_valid("\xf0\x9f\x98", 3));	/* truncated */
	assert_null(cas_manifest_path_error("a:b"));
	assert_non_null(cas_manifest_path_error("c:"));
}

static void
test_progress_format(void **state)
{
	char line[256];

	(void)state;
	cas_progress_format(line, sizeof(line), "downloading", 5, 10,
	    1024 * 1024, 4 * 1024 * 1024, 2.0);
	assert_non_null(strstr(line, " 25%"));
	assert_non_null(strstr(line, "1.0 MiB / 4.0 MiB"));
	assert_non_null(strstr(line, "512.0 KiB/s"));
	assert_non_null(strstr(line, "5/10 files"));
	assert_non_null(strstr(line, "2 files/s"));
	/* totals not known yet: no bar, no percentage */
	cas_progress_format(line, sizeof(line), "hashing", 300, 0, 3 * 1024,
	    0, 1.5);
	assert_null(strstr(line, "%"));
	assert_non_null(strstr(line, "300 files  200 files/s"));
	assert_non_null(strstr(line, "2.0 KiB/s"));
}

/* ---- hash cache ---- */

static void
scan_collect(void *arg, const char *path, const struct cas_stat *st,
    const char *hash)
{
	buf_addf(arg, "%s %llu %.4s;", path, (unsigned long long)st->size, hash);
}

static void
test_hashcache(void **state)
{
	char *db = tpath("hc/cache.db"), *err = NULL;
	struct cas_hashcache *hc = NULL;
	struct cas_hashcache_row rows[3];
	struct buf seen = BUF_INIT;
	char hex[CAS_HASH_HEXLEN + 1];
	sqlite3 *raw;
	sqlite3_stmt *s;
	int64_t now = cas_now_ns();

	(void)state;
	assert_int_equal(cas_hashcache_open(&hc, db, &err), 0);
	memset(rows, 0, sizeof(rows));
	rows[0].path = "/r/a";
	rows[1].path = "/r/a/b";
	rows[2].path = "/r/racy";
	for (int i = 0; i < 3; i++) {
		rows[i].st.size = 10 + (uint64_t)i;
		rows[i].st.mtime_ns = now - 60LL * 1000000000LL;
		rows[i].st.ctime_ns = rows[i].st.mtime_ns;
		rows[i].st.ino = 100 + (uint64_t)i;
		memset(rows[i].hash, '0' + i, CAS_HASH_HEXLEN);
		rows[i].hashed_at_ns = now;
	}
	rows[2].st.mtime_ns = now - 1000;	/* modified just now: racy */
	assert_true(cas_hashcache_racy(&rows[2]));
	assert_false(cas_hashcache_racy(&rows[0]));
	assert_int_equal(cas_hashcache_put_many(hc, rows, 3, &err), 0);

	assert_int_equal(cas_hashcache_get(hc, "/r/a", &rows[0].st, hex), 1);
	assert_string_equal(hex, rows[0].hash);
	assert_int_equal(cas_hashcache_get(hc, "/r/racy", &rows[2].st, hex), 0);
	rows[0].st.size++;
	assert_int_equal(cas_hashcache_get(hc, "/r/a", &rows[0].st, hex), 0);
	rows[0].st.size--;
	rows[0].st.mtime_ns++;
	assert_int_equal(cas_hashcache_get(hc, "/r/a", &rows[0].st, hex), 0);
	rows[0].st.mtime_ns--;
	rows[0].st.ino++;
	assert_int_equal(cas_hashcache_get(hc, "/r/a", &rows[0].st, hex), 0);
	rows[0].st.ino--;

	/* a range scan under a prefix: "/r/a" and "/r/a/b", never "/rx" */
	rows[2].path = "/rx/other";
	rows[2].st.mtime_ns = rows[0].st.mtime_ns;
	assert_int_equal(cas_hashcache_put_many(hc, rows + 2, 1, &err), 0);
	assert_int_equal(cas_hashcache_scan(hc, "/r", scan_collect, &seen, &err),
	    0);
	assert_string_equal(seen.s, "/r/a 10 0000;/r/a/b 11 1111;");
	buf_reset(&seen);
	assert_int_equal(cas_hashcache_scan(hc, "/r/a/", scan_collect, &seen,
	    &err), 0);
	assert_string_equal(seen.s, "/r/a/b 11 1111;");
	buf_release(&seen);
	cas_hashcache_close(hc);

	/* WAL journaling, so readers never wait for writers */
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &s,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(raw);
	free(err);
	free(db);
}

/* per-directory records: lookups, merging, deletion, prefixes, bad blobs */
struct dirs_seen {
	struct buf	 names;
	struct cas_hcdir *last;
};

static void
dirs_collect(void *arg, const char *dir, struct cas_hcdir *d)
{
	struct dirs_seen *ds = arg;

	buf_addf(&ds->names, "%s=%zu;", dir, cas_hcdir_count(d));
	cas_hcdir_free(ds->last);
	ds->last = d;
}

static void
test_hashcache_records(void **state)
{
	char *db = tpath("hc/records.db"), *err = NULL;
	struct cas_hashcache *hc = NULL;
	struct cas_hcrec recs[3];
	const char *dirs[3] = { "/d", "/d-x", "/d/sub/" };
	struct dirs_seen ds = { BUF_INIT, NULL };
	struct cas_stat st = { 5, 1000, 2000, 42 }, other;
	struct cas_hashcache_row row;
	unsigned char bin[CAS_HASH_BINLEN], got[CAS_HASH_BINLEN];
	char hex[CAS_HASH_HEXLEN + 1];
	int64_t now = cas_now_ns();
	sqlite3 *raw;

	(void)state;
	cas_hash_mem_bin("alpha", 5, bin);
	cas_hash_bin_to_hex(bin, hex);
	cas_hash_mem("alpha", 5, row.hash);
	assert_string_equal(hex, row.hash);
	assert_int_equal(cas_hash_hex_to_bin(hex, got), 0);
	assert_memory_equal(got, bin, sizeof(bin));
	assert_int_equal(cas_hash_hex_to_bin("xyz", got), -1);

	assert_int_equal(cas_hashcache_open(&hc, db, &err), 0);
	for (int i = 0; i < 3; i++)
		cas_hcrec_init(&recs[i]);
	cas_hcrec_add(&recs[0], "a", 1, &st, bin);
	cas_hcrec_add(&recs[0], "b.txt", 5, &st, bin);
	cas_hcrec_add(&recs[1], "elsewhere", 9, &st, bin);
	cas_hcrec_add(&recs[2], "deep", 4, &st, bin);
	assert_int_equal(cas_hashcache_put_recs(hc, dirs, recs, 3, &err), 0);

	/* one range scan: "/d" and "/d/sub", never the sibling "/d-x" */
	assert_int_equal(cas_hashcache_scan_dirs(hc, "/d/", dirs_collect, &ds,
	    &err), 0);
	assert_string_equal(ds.names.s, "/d=2;/d/sub=1;");
	buf_reset(&ds.names);
	assert_int_equal(cas_hashcache_scan_dirs(hc, "/d", dirs_collect, &ds,
	    &err), 0);
	assert_string_equal(ds.names.s, "/d=2;/d/sub=1;");
	/* lookups: every stat field must match */
	assert_int_equal(cas_hcdir_lookup(ds.last, "deep", 4, &st, got), 1);
	assert_memory_equal(got, bin, sizeof(bin));
	assert_int_equal(cas_hcdir_lookup(ds.last, "dee", 3, &st, got), 0);
	other = st;
	other.ctime_ns++;
	assert_int_equal(cas_hcdir_lookup(ds.last, "deep", 4, &other, got), 0);
	other = st;
	other.ino++;
	assert_int_equal(cas_hcdir_lookup(ds.last, "deep", 4, &other, got), 0);
	/* single-file lookups go through the same records */
	assert_int_equal(cas_hashcache_get(hc, "/d/b.txt", &st, hex), 1);
	assert_string_equal(hex, row.hash);
	assert_int_equal(cas_hashcache_get(hc, "/d/c", &st, hex), 0);

	/* put_many merges into the record; a racy row drops the old entry */
	row.path = "/d/c";
	row.st = st;
	row.hashed_at_ns = now;		/* st's mtime is long ago */
	assert_int_equal(cas_hashcache_put_many(hc, &row, 1, &err), 0);
	assert_int_equal(cas_hashcache_get(hc, "/d/c", &st, hex), 1);
	assert_int_equal(cas_hashcache_get(hc, "/d/a", &st, hex), 1);
	row.path = "/d/a";
	row.st.mtime_ns = now - 1000;
	assert_true(cas_hashcache_racy(&row));
	assert_int_equal(cas_hashcache_put_many(hc, &row, 1, &err), 0);
	assert_int_equal(cas_hashcache_get(hc, "/d/a", &st, hex), 0);
	assert_int_equal(cas_hashcache_get(hc, "/d/a", &row.st, hex), 0);
	buf_reset(&ds.names);
	assert_int_equal(cas_hashcache_scan_dirs(hc, "/d", dirs_collect, &ds,
	    &err), 0);
	assert_string_equal(ds.names.s, "/d=2;/d/sub=1;");	/* b.txt, c */

	/* an empty record deletes the directory's row */
	cas_hcrec_release(&recs[2]);
	cas_hcrec_init(&recs[2]);
	assert_int_equal(cas_hashcache_put_recs(hc, &dirs[2], &recs[2], 1,
	    &err), 0);
	buf_reset(&ds.names);
	assert_int_equal(cas_hashcache_scan_dirs(hc, "/d", dirs_collect, &ds,
	    &err), 0);
	assert_string_equal(ds.names.s, "/d=2;");

	/* a malformed record is no record, not a crash */
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "INSERT INTO dirs_v2 VALUES "
	    "('/bad', x'44484332ff000000'), ('/bad/2', x'0102')", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(raw);
	buf_reset(&ds.names);
	assert_int_equal(cas_hashcache_scan_dirs(hc, "/bad", dirs_collect, &ds,
	    &err), 0);
	assert_string_equal(ds.names.s, "/bad=0;/bad/2=0;");
	assert_int_equal(cas_hcdir_lookup(ds.last, "x", 1, &st, got), 0);
	assert_int_equal(cas_hashcache_get(hc, "/bad/x", &st, hex), 0);

	for (int i = 0; i < 3; i++)
		cas_hcrec_release(&recs[i]);
	cas_hcdir_free(ds.last);
	buf_release(&ds.names);
	cas_hashcache_close(hc);
	free(err);
	free(db);
}

/* ---- store ---- */

static void
open_store(struct cas_store *s, const char *name)
{
	char *root = tpath("%s", name), *err = NULL;

	assert_int_equal(cas_store_open(s, root, 1, &err), 0);
	free(root);
}

static void
test_store_put_get_corrupt(void **state)
{
	struct cas_store s;
	char hex[CAS_HASH_HEXLEN + 1], got[CAS_HASH_HEXLEN + 1];
	char *err = NULL, *obj, *src = tpath("src.bin"), *out = tpath("out.bin");
	char buf[4096];
	uint64_t n;
	int fd, ofd;
	struct stat st;

	(void)state;
	open_store(&s, "store1");
	cas_hash_mem("hello world", 11, hex);
	assert_int_equal(cas_store_has(&s, hex, 11), 0);
	assert_int_equal(cas_store_put_mem(&s, "hello world", 11, hex, &err), 0);
	assert_int_equal(cas_store_has(&s, hex, 11), 1);
	assert_int_equal(cas_store_has(&s, hex, 12), 0);
	obj = cas_store_object_path(&s, hex);
	assert_int_equal(stat(obj, &st), 0);
	assert_int_equal(st.st_mode & 0222, 0);	/* objects are read-only */

	/* put_fd with the wrong expectation stores nothing */
	write_file(src, "other content", 13);
	fd = open(src, O_RDONLY);
	assert_int_equal(cas_store_put_fd(&s, fd, buf, sizeof(buf), hex, got, &n,
	    &err), CAS_ECHANGED);
	assert_non_null(strstr(err, "changed"));
	assert_int_equal(cas_store_has(&s, got, 13), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(cas_store_put_fd(&s, fd, buf, sizeof(buf), NULL, got, &n,
	    &err), 0);
	close(fd);
	assert_int_equal(n, 13);
	assert_int_equal(cas_store_has(&s, got, 13), 1);

	/* reading verifies */
	ofd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(cas_store_get_fd(&s, hex, 11, ofd, buf, sizeof(buf),
	    &err), 0);
	assert_int_equal(cas_store_verify(&s, hex, buf, sizeof(buf), &err), 0);

	/* corrupt the object behind the store's back, same size */
	assert_int_equal(chmod(obj, 0644), 0);
	write_file(obj, "hellO world", 11);
	assert_int_equal(ftruncate(ofd, 0), 0);
	assert_int_equal(cas_store_get_fd(&s, hex, 11, ofd, buf, sizeof(buf),
	    &err), CAS_ECORRUPT);
	assert_non_null(strstr(err, "corrupt object"));
	assert_non_null(strstr(err, hex));
	/* quarantined, so it is missing now and never served again */
	assert_int_equal(stat(obj, &st), -1);
	assert_int_equal(cas_store_get_fd(&s, hex, 11, ofd, buf, sizeof(buf),
	    &err), CAS_EMISSING);
	{
		char *cdir = tpath("store1/Corrupt");
		int found = 0;
		struct buf cmd = BUF_INIT;
		FILE *p;
		char line[512];

		buf_addf(&cmd, "ls %s", cdir);
		p = popen(cmd.s, "r");
		while (fgets(line, sizeof(line), p) != NULL)
			found += strncmp(line, hex, CAS_HASH_HEXLEN) == 0;
		pclose(p);
		assert_int_equal(found, 1);
		buf_release(&cmd);
		free(cdir);
	}
	/* a truncated object is corrupt too (size check) */
	assert_int_equal(cas_store_put_mem(&s, "hello world", 11, hex, &err), 0);
	assert_int_equal(chmod(obj, 0644), 0);
	assert_int_equal(truncate(obj, 5), 0);
	assert_int_equal(cas_store_get_fd(&s, hex, 11, ofd, buf, sizeof(buf),
	    &err), CAS_ECORRUPT);
	close(ofd);
	free(err);
	free(obj);
	free(src);
	free(out);
	cas_store_release(&s);
}

struct putter {
	struct cas_store	*s;
	const char		*data;
	size_t			 len;
	const char		*hash;
	int			 failures;
};

static void *
putter_main(void *v)
{
	struct putter *p = v;
	char *err = NULL;

	for (int i = 0; i < 50; i++)
		if (cas_store_put_mem(p->s, p->data, p->len, p->hash, &err) != 0)
			p->failures++;
	free(err);
	return NULL;
}

static void
test_store_concurrent_writers(void **state)
{
	struct cas_store s;
	struct putter p[8];
	pthread_t t[8];
	char hex[CAS_HASH_HEXLEN + 1], *data, *err = NULL, buf[65536];
	char *dir;
	size_t len = 300000;
	struct buf cmd = BUF_INIT;
	FILE *ls;
	int entries = 0;
	char line[256];

	(void)state;
	open_store(&s, "store2");
	data = xmalloc(len);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)(i % 251);
	cas_hash_mem(data, len, hex);
	for (int i = 0; i < 8; i++) {
		p[i] = (struct putter){ &s, data, len, hex, 0 };
		pthread_create(&t[i], NULL, putter_main, &p[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(p[i].failures, 0);
	}
	assert_int_equal(cas_store_verify(&s, hex, buf, sizeof(buf), &err), 0);
	/* no temp files left behind: Data/ holds exactly the one object */
	dir = tpath("store2/Data");
	buf_addf(&cmd, "ls -A %s", dir);
	ls = popen(cmd.s, "r");
	while (fgets(line, sizeof(line), ls) != NULL)
		entries++;
	pclose(ls);
	assert_int_equal(entries, 1);
	buf_release(&cmd);
	free(dir);
	free(data);
	free(err);
	cas_store_release(&s);
}

/* ---- trees ---- */

static void
make_tree(const char *root)
{
	char *p;

	assert_int_equal(cas_mkdirs(root, 0755), 0);
	p = cas_path_join(root, "sub/deeper");
	assert_int_equal(cas_mkdirs(p, 0755), 0);
	free(p);
	p = cas_path_join(root, "a.txt");
	write_file(p, "alpha", 5);
	age(p, 100);
	free(p);
	p = cas_path_join(root, "sub/deeper/b.bin");
	write_file(p, "\0\1\2", 3);
	age(p, 100);
	free(p);
	p = cas_path_join(root, "empty");
	write_file(p, "", 0);
	age(p, 100);
	free(p);
	p = cas_path_join(root, "sub/link-to-a");
	assert_int_equal(symlink("../a.txt", p), 0);
	free(p);
	p = cas_path_join(root, "dirlink");
	assert_int_equal(symlink("sub/deeper", p), 0);
	free(p);
	p = cas_path_join(root, "dangling");
	assert_int_equal(symlink("missing", p), 0);
	free(p);
	p = cas_path_join(root, "sub/loop");
	assert_int_equal(symlink("..", p), 0);	/* a cycle */
	free(p);
}

static void
test_snapshot_tree(void **state)
{
	char *root = tpath("tree1"), *err = NULL;
	struct cas_manifest m = CAS_MANIFEST_INIT;
	struct cas_stats st;
	struct cas_opts o;
	static const char *const want[] = { "a.txt", "dirlink/b.bin", "empty",
	    "sub/deeper/b.bin", "sub/link-to-a" };
	char hex[CAS_HASH_HEXLEN + 1];
	char *hcpath = tpath("hc-tree.db");

	(void)state;
	make_tree(root);
	memset(&o, 0, sizeof(o));
	o.threads = 2;
	assert_int_equal(cas_hashcache_open(&o.hc, hcpath, &err), 0);
	assert_int_equal(cas_snapshot(root, &o, &m, &st, &err), 0);
	assert_int_equal(m.n, 5);
	for (size_t i = 0; i < m.n; i++)
		assert_string_equal(m.files[i].path, want[i]);
	cas_hash_mem("alpha", 5, hex);
	assert_string_equal(m.files[0].hash, hex);
	assert_string_equal(m.files[4].hash, hex);	/* collapsed link */
	assert_int_equal(m.files[4].size, 5);
	assert_string_equal(m.files[1].hash, m.files[3].hash);
	assert_int_equal(st.hashed_files, 5);
	assert_int_equal(st.cached_files, 0);
	assert_true(st.skipped_entries >= 2);	/* dangling + cycle */
	{
		struct stat sb;
		char *a = cas_path_join(root, "a.txt");

		assert_int_equal(stat(a, &sb), 0);
		assert_int_equal(m.files[0].mtime_us,
		    (int64_t)sb.st_mtim.tv_sec * 1000000 +
		    sb.st_mtim.tv_nsec / 1000);
		free(a);
	}
	cas_manifest_release(&m);
	/* again: everything from the cache, nothing read */
	assert_int_equal(cas_snapshot(root, &o, &m, &st, &err), 0);
	assert_int_equal(st.hashed_files, 0);
	assert_int_equal(st.cached_files, 5);
	cas_manifest_release(&m);
	/* a change of content with the same size and mtime is caught (ctime) */
	{
		char *a = cas_path_join(root, "a.txt");
		struct stat sb;
		struct timespec ts[2];

		assert_int_equal(stat(a, &sb), 0);
		write_file(a, "ALPHA", 5);
		ts[0] = sb.st_atim;
		ts[1] = sb.st_mtim;
		assert_int_equal(utimensat(AT_FDCWD, a, ts, 0), 0);
		free(a);
	}
	assert_int_equal(cas_snapshot(root, &o, &m, &st, &err), 0);
	assert_int_equal(st.hashed_files, 2);	/* a.txt and its link */
	cas_hash_mem("ALPHA", 5, hex);
	assert_string_equal(m.files[0].hash, hex);
	cas_manifest_release(&m);
	cas_hashcache_close(o.hc);
	free(hcpath);
	free(root);
	free(err);
}

static void
test_upload_download_roundtrip(void **state)
{
	char *root = tpath("tree2"), *to = tpath("out2"), *err = NULL, *p;
	struct cas_manifest m = CAS_MANIFEST_INIT, m2 = CAS_MANIFEST_INIT;
	struct cas_store stores[2];
	struct cas_stats st;
	struct cas_opts o;
	struct stat sb;

	(void)state;
	make_tree(root);
	open_store(&stores[0], "store3");
	open_store(&stores[1], "store4");
	memset(&o, 0, sizeof(o));
	o.threads = 3;
	assert_int_equal(cas_upload(root, &stores[0], &o, &m, &st, &err), 0);
	assert_int_equal(st.files, 5);
	assert_int_equal(st.stored_files + st.present_files, 5);
	assert_int_equal(st.stored_files, 3);	/* 3 distinct contents */
	assert_int_equal(cas_upload(root, &stores[1], &o, &m2, &st, &err), 0);
	cas_manifest_release(&m2);

	assert_int_equal(cas_download(&m, stores, 1, to, &o, &st, &err), 0);
	assert_int_equal(st.stored_files, 5);
	assert_int_equal(cas_snapshot(to, &o, &m2, &st, &err), 0);
	assert_int_equal(m2.n, m.n);
	for (size_t i = 0; i < m.n; i++) {
		assert_string_equal(m2.files[i].path, m.files[i].path);
		assert_string_equal(m2.files[i].hash, m.files[i].hash);
		assert_int_equal(m2.files[i].mtime_us, m.files[i].mtime_us);
	}
	cas_manifest_release(&m2);
	/* links were collapsed into regular files */
	p = cas_path_join(to, "sub/link-to-a");
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	free(p);

	/* again: nothing to fetch; then one local change is repaired */
	assert_int_equal(cas_download(&m, stores, 1, to, &o, &st, &err), 0);
	assert_int_equal(st.stored_files, 0);
	assert_int_equal(st.present_files, 5);
	p = cas_path_join(to, "a.txt");
	write_file(p, "tampered!", 9);
	free(p);
	assert_int_equal(cas_download(&m, stores, 1, to, &o, &st, &err), 0);
	assert_int_equal(st.stored_files, 1);
	assert_int_equal(st.present_files, 4);

	/* corrupt store 0's copy of a.txt; the fallback store repairs it */
	p = cas_store_object_path(&stores[0], m.files[0].hash);
	assert_int_equal(chmod(p, 0644), 0);
	write_file(p, "ALPHA", 5);
	free(p);
	p = cas_path_join(to, "a.txt");
	unlink(p);
	assert_int_equal(cas_download(&m, stores, 1, to, &o, &st, &err), -1);
	assert_non_null(strstr(err, "corrupt object"));
	assert_int_equal(access(p, F_OK), -1);	/* never used */
	assert_int_equal(cas_download(&m, stores, 2, to, &o, &st, &err), 0);
	assert_int_equal(st.repaired_files, 1);
	assert_int_equal(cas_store_has(&stores[0], m.files[0].hash, 5), 1);
	{
		char buf[4096];

		assert_int_equal(cas_store_verify(&stores[0], m.files[0].hash, buf,
		    sizeof(buf), &err), 0);
	}
	free(p);

	/* a symlink in the destination is never written through */
	cas_rmtree(to);
	assert_int_equal(cas_mkdirs(to, 0755), 0);
	p = cas_path_join(to, "sub");
	assert_int_equal(symlink(tmpdir, p), 0);
	free(p);
	assert_int_equal(cas_download(&m, stores, 1, to, &o, &st, &err), -1);
	assert_non_null(strstr(err, "symbolic link"));
	p = tpath("deeper");
	assert_int_equal(access(p, F_OK), -1);
	free(p);

	/* an object deleted behind the cache's back is uploaded again
	 * ("empty": the one content no other file shares) */
	assert_string_equal(m.files[2].path, "empty");
	p = cas_store_object_path(&stores[1], m.files[2].hash);
	assert_int_equal(unlink(p), 0);
	{
		char *hcp = tpath("hc-up.db");

		assert_int_equal(cas_hashcache_open(&o.hc, hcp, &err), 0);
		free(hcp);
	}
	assert_int_equal(cas_upload(root, &stores[1], &o, &m2, &st, &err), 0);
	cas_manifest_release(&m2);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(cas_upload(root, &stores[1], &o, &m2, &st, &err), 0);
	assert_true(st.cached_files > 0);	/* the cache knew the hashes */
	assert_int_equal(st.stored_files, 1);	/* but the store was checked */
	assert_int_equal(access(p, F_OK), 0);
	cas_manifest_release(&m2);
	cas_hashcache_close(o.hc);
	free(p);

	cas_manifest_release(&m);
	cas_store_release(&stores[0]);
	cas_store_release(&stores[1]);
	free(root);
	free(to);
	free(err);
}

/*
 * Canonical order straight from the walk: names around '/' (0x2f) and
 * above U+FFFF, directories big enough to be split into batches; the
 * bytes written during the walk equal the encoded manifest.
 */
static void
test_snapshot_order_bytes(void **state)
{
	static const char *const files[] = {
		"a-b", "a.txt", "a/x", "a0", "a/b/c", "a/b-c", "b",
		"caf\xc3\xa9", "\xee\x80\x80", "\xf0\x9f\x98\x80",
		"\xf0\x9f\x98\x80x/in", "z/\xee\x80\x80",
		"z/\xf0\x9f\x98\x80",
	};
	char *root = tpath("order"), *err = NULL, *p;
	struct cas_manifest m = CAS_MANIFEST_INIT;
	struct buf enc = BUF_INIT, direct = BUF_INIT;
	struct cas_stats st;
	struct cas_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *slash;

		p = cas_path_join(root, files[i]);
		slash = strrchr(p, '/');
		*slash = '\0';
		assert_int_equal(cas_mkdirs(p, 0755), 0);
		*slash = '/';
		write_file(p, files[i], strlen(files[i]));
		age(p, 100);
		free(p);
	}
	p = tpath("order/many");
	assert_int_equal(cas_mkdirs(p, 0755), 0);
	free(p);
	for (int i = 0; i < 300; i++) {	/* several batches of one dir */
		p = tpath("order/many/f%03d", (i * 7) % 300);
		write_file(p, &i, sizeof(i));
		age(p, 100);
		free(p);
	}
	memset(&o, 0, sizeof(o));
	o.threads = 3;
	assert_int_equal(cas_snapshot(root, &o, &m, &st, &err), 0);
	assert_int_equal(m.n, 313);
	assert_int_equal(st.files, 313);
	for (size_t i = 1; i < m.n; i++)
		assert_true(cas_path_cmp(m.files[i - 1].path, m.files[i].path) < 0);
	/* spot checks: "a-b" < "a.txt" < "a/..." < "a0"; surrogates first */
	assert_string_equal(m.files[0].path, "a-b");
	assert_string_equal(m.files[1].path, "a.txt");
	assert_string_equal(m.files[2].path, "a/b-c");
	assert_string_equal(m.files[3].path, "a/b/c");
	assert_string_equal(m.files[4].path, "a/x");
	assert_string_equal(m.files[5].path, "a0");
	assert_string_equal(m.files[m.n - 5].path, "z/\xf0\x9f\x98\x80");
	assert_string_equal(m.files[m.n - 4].path, "z/\xee\x80\x80");
	assert_string_equal(m.files[m.n - 3].path, "\xf0\x9f\x98\x80");
	assert_string_equal(m.files[m.n - 2].path, "\xf0\x9f\x98\x80x/in");
	assert_string_equal(m.files[m.n - 1].path, "\xee\x80\x80");
	cas_manifest_encode(&m, &enc);
	assert_int_equal(cas_snapshot_bytes(root, &o, &direct, &st, &err), 0);
	assert_int_equal(direct.len, enc.len);
	assert_memory_equal(direct.s, enc.s, enc.len);
	/* a file whose name a manifest cannot hold: an error, nothing added */
	p = tpath("order/a/b/bad\xff");
	write_file(p, "x", 1);
	free(p);
	buf_reset(&direct);
	assert_int_equal(cas_snapshot_bytes(root, &o, &direct, &st, &err), -1);
	assert_non_null(strstr(err, "not valid UTF-8"));
	assert_int_equal(direct.len, 0);

	cas_manifest_release(&m);
	buf_release(&enc);
	buf_release(&direct);
	free(root);
	free(err);
}

/* The cache's records follow the tree: new, changed, removed, racy files. */
static void
test_snapshot_cache_records(void **state)
{
	char *root = tpath("cached"), *err = NULL, *p, *hcpath;
	struct cas_manifest m = CAS_MANIFEST_INIT;
	struct cas_stats st;
	struct cas_opts o;

	(void)state;
	for (int i = 0; i < 100; i++) {
		p = tpath("cached/d%d/f%02d", i % 4, i);
		if (i < 4) {
			char *dir = tpath("cached/d%d", i);

			assert_int_equal(cas_mkdirs(dir, 0755), 0);
			free(dir);
		}
		write_file(p, &i, sizeof(i));
		age(p, 100);
		free(p);
	}
	p = tpath("cached/fresh");	/* modified just now: racy */
	write_file(p, "new", 3);
	free(p);
	memset(&o, 0, sizeof(o));
	o.threads = 2;
	hcpath = tpath("hc-records-tree.db");
	assert_int_equal(cas_hashcache_open(&o.hc, hcpath, &err), 0);
	assert_int_equal(cas_snapshot(root, &o, &m, &st, &err), 0);
	assert_int_equal(st.hashed_files, 101);
	cas_manifest_release(&m);
	assert_int_equal(cas_snapshot(root, &o, &m, &st, &err), 0);
	assert_int_equal(st.cached_files, 100);	/* not the racy one */
	assert_int_equal(st.hashed_files, 1);
	cas_manifest_release(&m);

	/* one file changed, one removed, one added, in one directory */
	p = tpath("cached/d1/f01");
	write_file(p, "changed", 7);
	age(p, 50);
	free(p);
	p = tpath("cached/d1/f05");
	assert_int_equal(unlink(p), 0);
	free(p);
	p = tpath("cached/d1/added");
	write_file(p, "added", 5);
	age(p, 50);
	free(p);
	assert_int_equal(cas_snapshot(root, &o, &m, &st, &err), 0);
	assert_int_equal(m.n, 101);
	assert_int_equal(st.hashed_files, 3);	/* f01, added, fresh */
	assert_int_equal(st.cached_files, 98);
	cas_manifest_release(&m);
	assert_int_equal(cas_snapshot(root, &o, &m, &st, &err), 0);
	assert_int_equal(st.hashed_files, 1);	/* fresh, still racy */
	assert_int_equal(st.cached_files, 100);
	{
		char hex[CAS_HASH_HEXLEN + 1];
		const struct cas_file *f = cas_manifest_find(&m, "d1/f01");

		assert_non_null(f);
		cas_hash_mem("changed", 7, hex);
		assert_string_equal(f->hash, hex);
		assert_null(cas_manifest_find(&m, "d1/f05"));
	}
	cas_manifest_release(&m);
	cas_hashcache_close(o.hc);
	free(hcpath);
	free(root);
	free(err);
}

/* A download records what it wrote: the next one needs no reading. */
static void
test_download_cache(void **state)
{
	char *root = tpath("tree5"), *to = tpath("out5"), *err = NULL;
	char *hcpath = tpath("hc-dl.db");
	struct cas_manifest m = CAS_MANIFEST_INIT;
	struct cas_store s;
	struct cas_stats st;
	struct cas_opts o;

	(void)state;
	make_tree(root);
	open_store(&s, "store5");
	memset(&o, 0, sizeof(o));
	o.threads = 2;
	assert_int_equal(cas_upload(root, &s, &o, &m, &st, &err), 0);
	assert_int_equal(cas_hashcache_open(&o.hc, hcpath, &err), 0);
	assert_int_equal(cas_download(&m, &s, 1, to, &o, &st, &err), 0);
	assert_int_equal(st.stored_files, 5);
	assert_int_equal(cas_download(&m, &s, 1, to, &o, &st, &err), 0);
	assert_int_equal(st.present_files, 5);
	assert_int_equal(st.cached_files, 5);
	assert_int_equal(st.hashed_files, 0);
	cas_hashcache_close(o.hc);
	cas_manifest_release(&m);
	cas_store_release(&s);
	free(hcpath);
	free(root);
	free(to);
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_known_answers),
		cmocka_unit_test(test_hash_streaming_matches_oneshot),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_utf16_order),
		cmocka_unit_test(test_encode_canonical),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_roundtrip),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_paths_helpers),
		cmocka_unit_test(test_progress_format),
		cmocka_unit_test(test_hashcache),
		cmocka_unit_test(test_hashcache_records),
		cmocka_unit_test(test_store_put_get_corrupt),
		cmocka_unit_test(test_store_concurrent_writers),
		cmocka_unit_test(test_snapshot_tree),
		cmocka_unit_test(test_upload_download_roundtrip),
		cmocka_unit_test(test_snapshot_order_bytes),
		cmocka_unit_test(test_snapshot_cache_records),
		cmocka_unit_test(test_download_cache),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
