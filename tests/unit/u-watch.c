/*
 * Unit tests for the file-system watcher's pure parts (cas/watch.h):
 * tokens, the string map, the change set with its cap and floor, the
 * protocol's requests and replies, the client's state file; and the
 * partial walk (cas_snapshot_select) that patches a saved manifest, which
 * must record a path exactly as a full walk does.
 */
#include <sys/stat.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cas/fsutil.h"
#include "cas/manifest.h"
#include "cas/tree.h"
#include "cas/watch.h"
#include "common/buf.h"
#include "common/xmalloc.h"

#define TMPDIR_FIXTURE_NAME "u-watch"
#include "tmpdir-fixture.h"

#define INST "0123456789abcdef0123456789abcdef"

/* ---- tokens ---- */

static void
test_token(void **state)
{
	struct cas_watch_token t = { INST, 42 }, u;
	char buf[CAS_WATCH_TOKEN_MAX];
	static const char *const bad[] = {
		"", "0123456789abcdef0123456789abcdef", INST ".",
		INST "-1", INST ".-1", INST ".01", INST ".1x",
		"0123456789ABCDEF0123456789abcdef.1",	/* upper case */
		"0123456789abcdef0123456789abcde.1",	/* 31 digits */
		INST ".18446744073709551616",		/* 2^64 */
	};

	(void)state;
	cas_watch_token_format(&t, buf);
	assert_string_equal(buf, INST ".42");
	assert_int_equal(cas_watch_token_parse(buf, strlen(buf), &u), 0);
	assert_string_equal(u.instance, INST);
	assert_true(u.seq == 42);
	assert_int_equal(cas_watch_token_parse(INST ".18446744073709551615",
	    strlen(INST) + 21, &u), 0);
	assert_true(u.seq == UINT64_MAX);
	assert_int_equal(cas_watch_token_parse(INST ".0", strlen(INST) + 2,
	    &u), 0);
	assert_true(u.seq == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cas_watch_token_parse(bad[i], strlen(bad[i]),
		    &u), -1);
	/* the length given counts: a longer buffer is not read past it */
	assert_int_equal(cas_watch_token_parse(INST ".42 junk",
	    strlen(INST) + 3, &u), 0);
	assert_true(u.seq == 42);
}

/* ---- the map ---- */

static void
test_wmap(void **state)
{
	struct cas_wmap m;
	char key[32];

	(void)state;
	cas_wmap_init(&m, 1);
	assert_null(cas_wmap_get(&m, "a"));
	cas_wmap_del(&m, "a");
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		cas_wmap_put(&m, key)->seq = (uint64_t)i;
	}
	assert_int_equal(m.n, 5000);
	/* delete every third: the others stay reachable (backward shift) */
	for (int i = 0; i < 5000; i += 3) {
		snprintf(key, sizeof(key), "k%d", i);
		cas_wmap_del(&m, key);
	}
	for (int i = 0; i < 5000; i++) {
		struct cas_wmap_ent *e;

		snprintf(key, sizeof(key), "k%d", i);
		e = cas_wmap_get(&m, key);
		if (i % 3 == 0)
			assert_null(e);
		else {
			assert_non_null(e);
			assert_true(e->seq == (uint64_t)i);
		}
	}
	assert_int_equal(m.n, 5000 - 1667);
	/* put of an existing key finds it */
	assert_true(cas_wmap_put(&m, "k1")->seq == 1);
	assert_int_equal(m.n, 5000 - 1667);
	cas_wmap_release(&m);
}

/* ---- the change set ---- */

static void
test_changes(void **state)
{
	struct cas_watch_changes c;
	const char **p;
	size_t n;
	uint64_t t1, t2, t3;

	(void)state;
	cas_watch_changes_init(&c, 8);
	/* seq 0 was never handed out; a token from the future is refused */
	assert_int_equal(cas_watch_changes_since(&c, 0, &p, &n), 0);
	assert_int_equal(cas_watch_changes_since(&c, 7, &p, &n), 0);
	t1 = cas_watch_changes_mark(&c);
	assert_int_equal(cas_watch_changes_since(&c, t1, &p, &n), 1);
	assert_int_equal(n, 0);
	assert_null(p);

	cas_watch_changes_add(&c, "b");
	cas_watch_changes_add(&c, "a/x");
	cas_watch_changes_add(&c, "b");		/* again: once */
	t2 = cas_watch_changes_mark(&c);
	assert_true(t2 > t1);
	assert_int_equal(cas_watch_changes_since(&c, t1, &p, &n), 1);
	assert_int_equal(n, 2);
	assert_string_equal(p[0], "a/x");	/* sorted */
	assert_string_equal(p[1], "b");
	free(p);
	/* nothing after t2 yet */
	assert_int_equal(cas_watch_changes_since(&c, t2, &p, &n), 1);
	assert_int_equal(n, 0);

	/* a change after t2 is newer than t2 only; "b" again moves on */
	cas_watch_changes_add(&c, "b");
	cas_watch_changes_add(&c, "");
	assert_int_equal(cas_watch_changes_since(&c, t2, &p, &n), 1);
	assert_int_equal(n, 2);
	assert_string_equal(p[0], "");
	assert_string_equal(p[1], "b");
	free(p);
	assert_int_equal(cas_watch_changes_since(&c, t1, &p, &n), 1);
	assert_int_equal(n, 3);
	free(p);

	/* past the cap (8): the newest 4 stay, older tokens get reset */
	t3 = cas_watch_changes_mark(&c);
	for (int i = 0; i < 9; i++) {
		char k[8];

		snprintf(k, sizeof(k), "n%d", i);
		cas_watch_changes_add(&c, k);
		if (i == 5)
			cas_watch_changes_mark(&c);
	}
	assert_true(c.map.n <= 8);
	assert_int_equal(cas_watch_changes_since(&c, t1, &p, &n), 0);
	assert_int_equal(cas_watch_changes_since(&c, t3, &p, &n), 0);
	assert_true(c.floor > t3);
	/* the floor's own token is still answered completely */
	assert_int_equal(cas_watch_changes_since(&c, c.floor, &p, &n), 1);
	for (size_t i = 0; i < n; i++)
		assert_true(cas_wmap_get(&c.map, p[i])->seq > c.floor);
	free(p);

	/* an overflow: every token so far is refused, new ones work */
	t1 = cas_watch_changes_mark(&c);
	cas_watch_changes_forget(&c);
	assert_int_equal(cas_watch_changes_since(&c, t1, &p, &n), 0);
	assert_int_equal(c.map.n, 0);
	t2 = cas_watch_changes_mark(&c);
	cas_watch_changes_add(&c, "z");
	assert_int_equal(cas_watch_changes_since(&c, t2, &p, &n), 1);
	assert_int_equal(n, 1);
	assert_string_equal(p[0], "z");
	free(p);
	cas_watch_changes_release(&c);
}

/* A burst of one batch bigger than the cap forgets all of it. */
static void
test_changes_burst(void **state)
{
	struct cas_watch_changes c;
	const char **p;
	size_t n;
	uint64_t t;

	(void)state;
	cas_watch_changes_init(&c, 4);
	t = cas_watch_changes_mark(&c);
	for (int i = 0; i < 5; i++) {
		char k[8];

		snprintf(k, sizeof(k), "p%d", i);
		cas_watch_changes_add(&c, k);
	}
	assert_int_equal(cas_watch_changes_since(&c, t, &p, &n), 0);
	t = cas_watch_changes_mark(&c);
	assert_int_equal(cas_watch_changes_since(&c, t, &p, &n), 1);
	assert_int_equal(n, 0);
	cas_watch_changes_release(&c);
}

/* ---- protocol ---- */

static void
test_requests(void **state)
{
	struct cas_watch_req q = { CAS_WREQ_SINCE, { INST, 7 } }, r;
	struct buf b = BUF_INIT;

	(void)state;
	cas_watch_req_encode(&q, &b);
	assert_string_equal(b.s, "since " INST ".7\n");
	assert_int_equal(cas_watch_req_parse(b.s, b.len - 1, &r), 0);
	assert_int_equal(r.kind, CAS_WREQ_SINCE);
	assert_string_equal(r.tok.instance, INST);
	assert_true(r.tok.seq == 7);
	assert_int_equal(cas_watch_req_parse("token", 5, &r), 0);
	assert_int_equal(r.kind, CAS_WREQ_TOKEN);
	assert_int_equal(cas_watch_req_parse("status", 6, &r), 0);
	assert_int_equal(r.kind, CAS_WREQ_STATUS);
	assert_int_equal(cas_watch_req_parse("stop", 4, &r), 0);
	assert_int_equal(r.kind, CAS_WREQ_STOP);
	assert_int_equal(cas_watch_req_parse("tokens", 6, &r), -1);
	assert_int_equal(cas_watch_req_parse("since ", 6, &r), -1);
	assert_int_equal(cas_watch_req_parse("since x.1", 9, &r), -1);
	assert_int_equal(cas_watch_req_parse("", 0, &r), -1);
	buf_release(&b);
}

static void
test_replies(void **state)
{
	char *paths[] = { (char *)"a", (char *)"", (char *)"new\nline",
	    (char *)"caf\xc3\xa9/x" };
	struct cas_watch_reply w, r;
	struct buf b = BUF_INIT;
	size_t used;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.kind = CAS_WREP_CHANGES;
	memcpy(w.tok.instance, INST, 33);
	w.tok.seq = 9;
	w.dev = 2049;
	w.ino = 12345678901ULL;
	w.paths = paths;
	w.npaths = 4;
	cas_watch_reply_encode(&w, &b);
	/* every prefix is "incomplete", never a wrong reply */
	for (size_t k = 0; k < b.len; k++)
		assert_int_equal(cas_watch_reply_parse(b.s, k, &r, &used), 1);
	buf_add(&b, "token", 5);	/* the start of another reply */
	assert_int_equal(cas_watch_reply_parse(b.s, b.len, &r, &used), 0);
	assert_int_equal(used, b.len - 5);
	assert_int_equal(r.kind, CAS_WREP_CHANGES);
	assert_true(r.tok.seq == 9 && r.dev == 2049 &&
	    r.ino == 12345678901ULL);
	assert_string_equal(r.tok.instance, INST);
	assert_int_equal(r.npaths, 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(r.paths[i], paths[i]);
	cas_watch_reply_release(&r);

	buf_reset(&b);
	w.kind = CAS_WREP_RESET;
	w.text = (char *)"lost\nevents";	/* one line on the wire */
	cas_watch_reply_encode(&w, &b);
	assert_int_equal(cas_watch_reply_parse(b.s, b.len, &r, &used), 0);
	assert_int_equal(r.kind, CAS_WREP_RESET);
	assert_string_equal(r.text, "lost events");
	assert_true(r.tok.seq == 9);
	cas_watch_reply_release(&r);

	buf_reset(&b);
	w.kind = CAS_WREP_TOKEN;
	cas_watch_reply_encode(&w, &b);
	assert_string_equal(b.s, "token " INST ".9 2049:12345678901\n");
	assert_int_equal(cas_watch_reply_parse(b.s, b.len, &r, &used), 0);
	assert_int_equal(r.kind, CAS_WREP_TOKEN);
	cas_watch_reply_release(&r);

	assert_int_equal(cas_watch_reply_parse("bye\n", 4, &r, &used), 0);
	assert_int_equal(r.kind, CAS_WREP_BYE);
	assert_int_equal(cas_watch_reply_parse("error no\n", 9, &r, &used), 0);
	assert_int_equal(r.kind, CAS_WREP_ERROR);
	assert_string_equal(r.text, "no");
	cas_watch_reply_release(&r);
	assert_int_equal(cas_watch_reply_parse("status a b\n", 11, &r, &used),
	    0);
	assert_string_equal(r.text, "a b");
	cas_watch_reply_release(&r);

	/* malformed */
	static const char *const bad[] = {
		"token\n", "token x 1:2\n", "token " INST ".1 12\n",
		"token " INST ".1 1:2 extra\n", "changes " INST ".1 1:2\n",
		"changes " INST ".1 1:2 -1\n", "changes " INST ".1 1:2 1x\n",
		"reset nope 1:2 why\n", "what\n", "bye now\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cas_watch_reply_parse(bad[i], strlen(bad[i]),
		    &r, &used), -1);
		assert_null(r.paths);
		assert_null(r.text);
	}
	buf_release(&b);
}

/* ---- the state file ---- */

static void
test_index(void **state)
{
	struct buf idx = BUF_INIT;
	struct cas_watch_ient e;
	size_t pos = 0;

	(void)state;
	cas_watch_index_add(&idx, "a/b", 10, 70, 5);
	cas_watch_index_add(&idx, "", 81, 1, 0);
	assert_int_equal(cas_watch_index_next(idx.s, idx.len, &pos, &e), 0);
	assert_string_equal(e.path, "a/b");
	assert_true(e.off == 10 && e.len == 70 && e.size == 5);
	assert_int_equal(cas_watch_index_next(idx.s, idx.len, &pos, &e), 0);
	assert_string_equal(e.path, "");
	assert_int_equal(cas_watch_index_next(idx.s, idx.len, &pos, &e), 1);
	/* truncated */
	pos = 0;
	assert_int_equal(cas_watch_index_next(idx.s, idx.len - 1, &pos, &e),
	    0);
	assert_int_equal(cas_watch_index_next(idx.s, idx.len - 1, &pos, &e),
	    -1);
	buf_release(&idx);
}

static void
test_state_roundtrip(void **state)
{
	const char *notes[] = { "link", "sub/fifo" };
	struct cas_watch_state st, got;
	struct buf enc = BUF_INIT, idx = BUF_INIT;
	const char *man = "{\"hashAlg\":\"xxh128\"}";
	char *err = NULL, *copy, *path;

	(void)state;
	cas_watch_index_add(&idx, "x", 1, 5, 3);
	memset(&st, 0, sizeof(st));
	st.root = "/some/root";
	st.config = cas_watch_config();
	memcpy(st.token.instance, INST, 33);
	st.token.seq = 99;
	st.files = 1;
	st.total = 3;
	st.notes = notes;
	st.nnotes = 2;
	st.manifest = man;
	st.mlen = strlen(man);
	st.index = idx.s;
	st.ilen = idx.len;
	cas_watch_state_encode(&st, &enc);

	copy = xmalloc(enc.len);
	memcpy(copy, enc.s, enc.len);
	assert_int_equal(cas_watch_state_decode(&got, copy, enc.len, &err), 0);
	assert_string_equal(got.root, "/some/root");
	assert_string_equal(got.config, cas_watch_config());
	assert_string_equal(got.token.instance, INST);
	assert_true(got.token.seq == 99 && got.files == 1 && got.total == 3);
	assert_int_equal(got.nnotes, 2);
	assert_string_equal(got.notes[0], "link");
	assert_string_equal(got.notes[1], "sub/fifo");
	assert_int_equal(got.mlen, strlen(man));
	assert_memory_equal(got.manifest, man, got.mlen);
	assert_int_equal(got.ilen, idx.len);
	assert_memory_equal(got.index, idx.s, idx.len);
	cas_watch_state_release(&got);

	/* through a file, as the client loads it */
	path = tpath("state");
	write_file(path, enc.s, enc.len);
	assert_int_equal(cas_watch_state_load(&got, path, &err), 0);
	assert_string_equal(got.root, "/some/root");
	assert_memory_equal(got.manifest, man, got.mlen);
	cas_watch_state_release(&got);
	unlink(path);
	assert_int_equal(cas_watch_state_load(&got, path, &err), -1);
	assert_int_equal(errno, ENOENT);
	free(err);
	err = NULL;

	/* any flipped bit, or a torn file, is refused */
	for (size_t k = 0; k < enc.len; k += 7) {
		copy = xmalloc(enc.len);
		memcpy(copy, enc.s, enc.len);
		copy[k] ^= 0x10;
		assert_int_equal(cas_watch_state_decode(&got, copy, enc.len,
		    &err), -1);
		free(err);
		err = NULL;
	}
	copy = xmalloc(enc.len);
	memcpy(copy, enc.s, enc.len);
	assert_int_equal(cas_watch_state_decode(&got, copy, enc.len - 20,
	    &err), -1);
	free(err);
	free(path);
	buf_release(&enc);
	buf_release(&idx);
}

static void
test_fs_local(void **state)
{
	const char *name;

	(void)state;
	assert_int_equal(cas_watch_fs_local(0xef53, &name), 1);
	assert_string_equal(name, "ext4");
	assert_int_equal(cas_watch_fs_local(0x01021994, &name), 1);
	assert_int_equal(cas_watch_fs_local(0x58465342, &name), 1);
	assert_int_equal(cas_watch_fs_local(0x6969, &name), 0);
	assert_string_equal(name, "nfs");
	assert_int_equal(cas_watch_fs_local(0xff534d42, &name), 0);
	assert_int_equal(cas_watch_fs_local(0x65735546, &name), 0);
	assert_string_equal(name, "fuse");
	assert_int_equal(cas_watch_fs_local(0x12345678, &name), 0);
	assert_string_equal(name, "unknown");
}

/* ---- the partial walk ---- */

static char *
full_bytes(const char *dir)
{
	struct cas_opts o = { 1, NULL, 0, 0 };
	struct cas_stats st;
	struct buf b = BUF_INIT;
	char *err = NULL;

	assert_int_equal(cas_snapshot_bytes(dir, &o, &b, &st, &err), 0);
	return buf_detach(&b, NULL);
}

/* The full manifest's entries at or under one of sel. */
static void
expect_sel(const char *dir, const char *const *sel, size_t nsel,
    struct cas_walk_notes *notes)
{
	struct cas_manifest full = CAS_MANIFEST_INIT, part = CAS_MANIFEST_INIT,
	    want = CAS_MANIFEST_INIT;
	struct error_list el = ERROR_LIST_INIT;
	struct cas_opts o = { 2, NULL, 0, 0 };
	struct cas_stats st;
	struct buf a = BUF_INIT, b = BUF_INIT;
	char *bytes = full_bytes(dir), *err = NULL;

	assert_int_equal(cas_manifest_parse(&full, "full", bytes,
	    strlen(bytes), &el), 0);
	for (size_t i = 0; i < full.n; i++) {
		const char *p = full.files[i].path;

		for (size_t k = 0; k < nsel; k++) {
			size_t l = strlen(sel[k]);

			if (strcmp(p, sel[k]) == 0 || l == 0 ||
			    (strncmp(p, sel[k], l) == 0 && p[l] == '/')) {
				struct cas_file *f = cas_manifest_add(&want, p);

				memcpy(f->hash, full.files[i].hash,
				    sizeof(f->hash));
				f->size = full.files[i].size;
				f->mtime_us = full.files[i].mtime_us;
				break;
			}
		}
	}
	assert_int_equal(cas_snapshot_select(dir, sel, nsel, &o, &part, &st,
	    notes, &err), 0);
	cas_manifest_encode(&want, &a);
	cas_manifest_encode(&part, &b);
	assert_string_equal(a.s, b.s);
	buf_release(&a);
	buf_release(&b);
	cas_manifest_release(&full);
	cas_manifest_release(&part);
	cas_manifest_release(&want);
	error_list_release(&el);
	free(bytes);
}

static int
has_note(const struct cas_walk_notes *n, const char *p)
{
	for (size_t i = 0; i < n->n; i++)
		if (strcmp(n->paths[i], p) == 0)
			return 1;
	return 0;
}

static void
test_select(void **state)
{
	struct cas_walk_notes notes = { NULL, 0, 0 };
	char *dir = tpath("tree"), *p;
	const char *s1[] = { "a/b/f", "gone", "a/nothere/x", "top" };
	const char *s2[] = { "a" };
	const char *s3[] = { "dl", "fl", "hard" };
	const char *s4[] = { "" };
	const char *s5[] = { "a/b", "a/b2" };
	struct cas_stats st;
	struct cas_opts o = { 1, NULL, 0, 0 };
	struct cas_manifest m = CAS_MANIFEST_INIT;
	char *err = NULL;

	(void)state;
	assert_int_equal(cas_mkdirs(dir, 0777), 0);
#define W(rel, s) do { p = tpath("tree/%s", rel); \
		write_file(p, s, strlen(s)); free(p); } while (0)
	p = tpath("tree/a/b/c");
	assert_int_equal(cas_mkdirs(p, 0777), 0);
	free(p);
	p = tpath("tree/a/b2");
	assert_int_equal(cas_mkdirs(p, 0777), 0);
	free(p);
	W("top", "t");
	W("a/x", "x");
	W("a/b/f", "f");
	W("a/b/g", "g");
	W("a/b/c/h", "h");
	W("a/b2/i", "i");
	W("a-b", "dash sorts before slash");
	W("out", "o");
	p = tpath("tree/dl");
	assert_int_equal(symlink("a/b", p), 0);
	free(p);
	p = tpath("tree/fl");
	assert_int_equal(symlink("top", p), 0);
	free(p);
	{
		char *from = tpath("tree/out"), *to = tpath("tree/hard");

		assert_int_equal(link(from, to), 0);
		free(from);
		free(to);
	}

	/* files, missing paths (silently nothing), a missing parent */
	expect_sel(dir, s1, 4, NULL);
	expect_sel(dir, s2, 1, NULL);
	expect_sel(dir, s4, 1, NULL);
	expect_sel(dir, s5, 2, NULL);
	/* links: followed exactly as a full walk, and noted */
	expect_sel(dir, s3, 3, &notes);
	assert_true(has_note(&notes, "dl"));
	assert_true(has_note(&notes, "fl"));
	assert_true(has_note(&notes, "hard"));
	cas_walk_notes_release(&notes);

	/* a full walk notes links and hard links, not plain files */
	{
		struct buf b = BUF_INIT;

		assert_int_equal(cas_snapshot_bytes_ex(dir, &o, &b, &st, &notes,
		    NULL, NULL, &err), 0);
		assert_true(has_note(&notes, "dl"));
		assert_true(has_note(&notes, "fl"));
		assert_true(has_note(&notes, "hard"));
		assert_true(has_note(&notes, "out"));	/* the other link */
		assert_false(has_note(&notes, "top"));
		assert_false(has_note(&notes, "a/b/f"));
		cas_walk_notes_release(&notes);
		buf_release(&b);
	}

	/* nothing selected: nothing walked */
	assert_int_equal(cas_snapshot_select(dir, NULL, 0, &o, &m, &st, NULL,
	    &err), 0);
	assert_int_equal(m.n, 0);
	/* an unreadable name is an error, as in a full walk */
	W("bad\xff", "b");
	{
		const char *s6[] = { "bad\xff" };

		assert_int_equal(cas_snapshot_select(dir, s6, 1, &o, &m, &st,
		    NULL, &err), -1);
		assert_non_null(strstr(err, "UTF-8"));
		free(err);
		cas_manifest_release(&m);
	}
#undef W
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_wmap),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_changes_burst),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_fs_local),
		cmocka_unit_test(test_select),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
