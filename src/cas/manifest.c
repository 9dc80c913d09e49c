/*
 * v2023-03-03 manifests: strict reader (jansson, duplicates rejected) and a
 * canonical writer that reproduces, byte for byte, what AWS Deadline Cloud's
 * Python writes with json.dumps(sort_keys=True, separators=(",", ":"),
 * ensure_ascii=True) after sorting entries by their UTF-16-BE path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cas/fsutil.h"
#include "cas/manifest.h"
#include "common/xmalloc.h"

void
cas_manifest_release(struct cas_manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->files[i].path);
	free(m->files);
	m->files = NULL;
	m->n = m->alloc = 0;
	m->total_size = 0;
}

struct cas_file *
cas_manifest_add(struct cas_manifest *m, const char *path)
{
	struct cas_file *f;

	ALLOC_GROW(m->files, m->n + 1, m->alloc);
	f = &m->files[m->n++];
	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	return f;
}

/*
 * The UTF-16 order of a code point: code points from U+10000 are encoded
 * with surrogates (0xD800..0xDFFF) and so sort before U+E000..U+FFFF.
 */
static uint32_t
utf16_rank(uint32_t cp)
{
	if (cp < 0xd800)
		return cp;
	if (cp >= 0x10000)
		return 0xd800 + (cp - 0x10000);
	return cp + 0x100000;
}

static uint32_t
utf8_decode_at(const unsigned char *s)
{
	uint32_t c = s[0];

	if (c < 0x80)
		return c;
	if ((c & 0xe0) == 0xc0)
		return ((c & 0x1f) << 6) | (s[1] & 0x3f);
	if ((c & 0xf0) == 0xe0)
		return ((c & 0x0f) << 12) | ((s[1] & 0x3f) << 6) | (s[2] & 0x3f);
	return ((c & 0x07) << 18) | ((s[1] & 0x3f) << 12) |
	    ((s[2] & 0x3f) << 6) | (s[3] & 0x3f);
}

int
cas_path_cmp(const char *a, const char *b)
{
	const unsigned char *ua = (const unsigned char *)a;
	const unsigned char *ub = (const unsigned char *)b;
	size_t i = 0;
	uint32_t ra, rb;

	while (ua[i] != '\0' && ua[i] == ub[i])
		i++;
	if (ua[i] == ub[i])
		return 0;
	if (ua[i] == '\0')
		return -1;
	if (ub[i] == '\0')
		return 1;
	/* back up to the start of the code point holding the difference */
	while (i > 0 && (ua[i] & 0xc0) == 0x80)
		i--;
	ra = utf16_rank(utf8_decode_at(ua + i));
	rb = utf16_rank(utf8_decode_at(ub + i));
	return ra < rb ? -1 : ra > rb;
}

static int
file_cmp(const void *x, const void *y)
{
	return cas_path_cmp(((const struct cas_file *)x)->path,
	    ((const struct cas_file *)y)->path);
}

void
cas_manifest_sort(struct cas_manifest *m)
{
	size_t i;

	/* trees come out of a snapshot in order already: check first */
	for (i = 1; i < m->n; i++)
		if (cas_path_cmp(m->files[i - 1].path, m->files[i].path) > 0)
			break;
	if (i < m->n)
		qsort(m->files, m->n, sizeof(*m->files), file_cmp);
}

const struct cas_file *
cas_manifest_find(const struct cas_manifest *m, const char *path)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cas_path_cmp(path, m->files[mid].path);

		if (c == 0)
			return &m->files[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void
cas_json_string(struct buf *out, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;

	buf_addch(out, '"');
	while (*s != '\0') {
		unsigned c = *s;

		if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
			const unsigned char *e = s + 1;

			while (*e >= 0x20 && *e <= 0x7e && *e != '"' && *e != '\\')
				e++;
			buf_add(out, s, (size_t)(e - s));
			s = e;
			continue;
		}
		switch (c) {
		case '"':  buf_adds(out, "\\\""); s++; continue;
		case '\\': buf_adds(out, "\\\\"); s++; continue;
		case '\b': buf_adds(out, "\\b"); s++; continue;
		case '\f': buf_adds(out, "\\f"); s++; continue;
		case '\n': buf_adds(out, "\\n"); s++; continue;
		case '\r': buf_adds(out, "\\r"); s++; continue;
		case '\t': buf_adds(out, "\\t"); s++; continue;
		}
		{
			uint32_t cp = utf8_decode_at(s), units[2];
			int nu = 1;

			if (c < 0x80)
				s += 1;
			else if ((c & 0xe0) == 0xc0)
				s += 2;
			else if ((c & 0xf0) == 0xe0)
				s += 3;
			else
				s += 4;
			if (cp >= 0x10000) {
				units[0] = 0xd800 + ((cp - 0x10000) >> 10);
				units[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
				nu = 2;
			} else
				units[0] = cp;
			for (int k = 0; k < nu; k++) {
				char e[7] = { '\\', 'u', hex[(units[k] >> 12) & 0xf],
				    hex[(units[k] >> 8) & 0xf], hex[(units[k] >> 4) & 0xf],
				    hex[units[k] & 0xf], '\0' };
				buf_add(out, e, 6);
			}
		}
	}
	buf_addch(out, '"');
}

/* Decimal, as %lld / %llu print it (this runs for every entry). */
static void
add_int(struct buf *out, int neg, uint64_t v)
{
	char d[24], *p = d + sizeof(d);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	if (neg)
		*--p = '-';
	buf_add(out, p, (size_t)(d + sizeof(d) - p));
}

void
cas_manifest_write_begin(struct buf *out)
{
	buf_adds(out, "{\"hashAlg\":\"" CAS_HASH_ALG "\",\"manifestVersion\":\""
	    CAS_MANIFEST_VERSION "\",\"paths\":[");
}

void
cas_manifest_write_entry(struct buf *out, int first, const char *path,
    const char *hash, int64_t mtime_us, uint64_t size)
{
	if (!first)
		buf_addch(out, ',');
	buf_add(out, "{\"hash\":\"", 9);
	buf_add(out, hash, strlen(hash));
	buf_add(out, "\",\"mtime\":", 10);
	add_int(out, mtime_us < 0, mtime_us < 0 ? 0 - (uint64_t)mtime_us :
	    (uint64_t)mtime_us);
	buf_add(out, ",\"path\":", 8);
	cas_json_string(out, path);
	buf_add(out, ",\"size\":", 8);
	add_int(out, 0, size);
	buf_addch(out, '}');
}

void
cas_manifest_write_end(struct buf *out, uint64_t total_size)
{
	buf_add(out, "],\"totalSize\":", 14);
	add_int(out, 0, total_size);
	buf_addch(out, '}');
}

void
cas_manifest_encode(struct cas_manifest *m, struct buf *out)
{
	uint64_t total = 0;

	cas_manifest_sort(m);
	for (size_t i = 0; i < m->n; i++)
		total += m->files[i].size;
	m->total_size = total;
	buf_grow(out, m->n * 100 + 128);
	cas_manifest_write_begin(out);
	for (size_t i = 0; i < m->n; i++) {
		const struct cas_file *f = &m->files[i];

		cas_manifest_write_entry(out, i == 0, f->path, f->hash,
		    f->mtime_us, f->size);
	}
	cas_manifest_write_end(out, total);
}

/* A set of strings (open addressing) for duplicate / prefix checks. */
struct strset {
	const char	**slot;
	size_t		  cap;
};

static uint64_t
str_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* Returns 1 if present; inserts if ins and absent. */
static int
strset_probe(struct strset *set, const char *s, size_t n, int ins)
{
	size_t i = (size_t)str_hash(s, n) & (set->cap - 1);

	while (set->slot[i] != NULL) {
		if (strlen(set->slot[i]) == n && memcmp(set->slot[i], s, n) == 0)
			return 1;
		i = (i + 1) & (set->cap - 1);
	}
	if (ins)
		set->slot[i] = s;
	return 0;
}

/* "/x", or a Windows drive ("C:", "C:/x", "C:\\x") */
static int
path_is_absolute(const char *p)
{
	if (p[0] == '/' || p[0] == '\\')
		return 1;
	return ((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')) &&
	    p[1] == ':' && (p[2] == '\0' || p[2] == '/' || p[2] == '\\');
}

const char *
cas_manifest_path_error(const char *p)
{
	if (path_is_absolute(p))
		return "is absolute; manifest paths must be relative";
	if (!cas_utf8_valid(p, strlen(p)))
		return "is not valid UTF-8";
	if (!cas_relpath_safe(p))
		return "is not a clean relative path (empty, '.' or '..' component)";
	return NULL;
}

static int
get_uint(const json_t *v, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
check_keys(const json_t *obj, const char *const *allowed, const char *name,
    const char *where, struct error_list *el)
{
	const char *key;
	json_t *v;
	int bad = 0;

	json_object_foreach((json_t *)obj, key, v) {
		int ok = 0;

		for (size_t i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = 1;
		if (!ok) {
			error_add(el, name, 0, 0, where, "unknown key '%s'", key);
			bad = 1;
		}
	}
	(void)v;
	return bad ? -1 : 0;
}

static int
parse_entries(struct cas_manifest *m, const char *name, const json_t *paths,
    struct error_list *el)
{
	static const char *const keys[] = { "hash", "mtime", "path", "size",
	    NULL };
	size_t nerr = el->n, i;
	json_t *e;

	json_array_foreach(paths, i, e) {
		char where[64];
		const json_t *p, *h;
		struct cas_file *f;
		uint64_t size, mt;
		const char *why;

		snprintf(where, sizeof(where), "paths[%zu]", i);
		if (!json_is_object(e)) {
			error_add(el, name, 0, 0, where, "must be an object");
			continue;
		}
		if (check_keys(e, keys, name, where, el) == -1)
			continue;
		p = json_object_get(e, "path");
		h = json_object_get(e, "hash");
		if (p == NULL || h == NULL || json_object_get(e, "size") == NULL ||
		    json_object_get(e, "mtime") == NULL) {
			error_add(el, name, 0, 0, where,
			    "needs 'path', 'hash', 'size' and 'mtime'");
			continue;
		}
		if (!json_is_string(p)) {
			error_add(el, name, 0, 0, where, "path must be a string");
			continue;
		}
		if ((why = cas_manifest_path_error(json_string_value(p))) != NULL) {
			error_add(el, name, 0, 0, where, "path '%s' %s",
			    json_string_value(p), why);
			continue;
		}
		if (!json_is_string(h) || !cas_hash_valid(json_string_value(h))) {
			error_add(el, name, 0, 0, where,
			    "hash must be 32 lowercase hexadecimal digits");
			continue;
		}
		if (get_uint(json_object_get(e, "size"), &size) == -1) {
			error_add(el, name, 0, 0, where,
			    "size must be a non-negative integer");
			continue;
		}
		if (get_uint(json_object_get(e, "mtime"), &mt) == -1) {
			error_add(el, name, 0, 0, where,
			    "mtime must be a non-negative integer (microseconds)");
			continue;
		}
		f = cas_manifest_add(m, json_string_value(p));
		memcpy(f->hash, json_string_value(h), CAS_HASH_HEXLEN + 1);
		f->size = size;
		f->mtime_us = (int64_t)mt;
	}
	return el->n == nerr ? 0 : -1;
}

static int
check_paths(const struct cas_manifest *m, const char *name,
    struct error_list *el)
{
	struct strset set;
	size_t nerr = el->n;

	set.cap = 16;
	while (set.cap < m->n * 2 + 2)
		set.cap *= 2;
	set.slot = xcalloc(set.cap, sizeof(*set.slot));
	for (size_t i = 0; i < m->n; i++) {
		const char *p = m->files[i].path;

		if (strset_probe(&set, p, strlen(p), 1))
			error_add(el, name, 0, 0, "paths", "duplicate path '%s'", p);
	}
	for (size_t i = 0; i < m->n; i++) {
		const char *p = m->files[i].path, *s;

		for (s = strchr(p, '/'); s != NULL; s = strchr(s + 1, '/')) {
			if (strset_probe(&set, p, (size_t)(s - p), 0)) {
				error_add(el, name, 0, 0, "paths",
				    "'%.*s' is both a file and a directory",
				    (int)(s - p), p);
				break;
			}
		}
	}
	free(set.slot);
	return el->n == nerr ? 0 : -1;
}

int
cas_manifest_parse(struct cas_manifest *m, const char *name, const char *text,
    size_t len, struct error_list *el)
{
	static const char *const keys[] = { "hashAlg", "manifestVersion",
	    "paths", "totalSize", NULL };
	json_error_t jerr;
	json_t *root, *v;
	uint64_t total = 0, sum = 0;
	int rc = -1;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		error_add(el, name, jerr.line, jerr.column, "",
		    "not a valid JSON manifest: %s", jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		error_add(el, name, 0, 0, "", "a manifest must be a JSON object");
		goto out;
	}
	v = json_object_get(root, "manifestVersion");
	if (!json_is_string(v)) {
		error_add(el, name, 0, 0, "manifestVersion",
		    "missing; this is not a v2023-03-03 job attachments manifest");
		goto out;
	}
	if (strcmp(json_string_value(v), CAS_MANIFEST_VERSION) != 0) {
		error_add(el, name, 0, 0, "manifestVersion",
		    "unsupported manifest version '%s' (only '%s' is supported)",
		    json_string_value(v), CAS_MANIFEST_VERSION);
		goto out;
	}
	if (check_keys(root, keys, name, "", el) == -1)
		goto out;
	v = json_object_get(root, "hashAlg");
	if (!json_is_string(v) || strcmp(json_string_value(v), CAS_HASH_ALG)) {
		error_add(el, name, 0, 0, "hashAlg",
		    "unsupported hash algorithm%s%s%s (only '" CAS_HASH_ALG "')",
		    json_is_string(v) ? " '" : "",
		    json_is_string(v) ? json_string_value(v) : "",
		    json_is_string(v) ? "'" : "");
		goto out;
	}
	if (get_uint(json_object_get(root, "totalSize"), &total) == -1) {
		error_add(el, name, 0, 0, "totalSize",
		    "must be a non-negative integer");
		goto out;
	}
	v = json_object_get(root, "paths");
	if (!json_is_array(v)) {
		error_add(el, name, 0, 0, "paths", "must be an array");
		goto out;
	}
	if (parse_entries(m, name, v, el) == -1 || check_paths(m, name, el) == -1)
		goto out;
	for (size_t i = 0; i < m->n; i++)
		sum += m->files[i].size;
	if (sum != total) {
		error_add(el, name, 0, 0, "totalSize",
		    "%llu does not match the sum of the file sizes (%llu)",
		    (unsigned long long)total, (unsigned long long)sum);
		goto out;
	}
	m->total_size = total;
	cas_manifest_sort(m);
	rc = 0;
out:
	json_decref(root);
	if (rc == -1)
		cas_manifest_release(m);
	return rc;
}

int
cas_manifest_load(struct cas_manifest *m, const char *path,
    struct error_list *el)
{
	struct buf b = BUF_INIT;
	int rc;

	if (buf_read_file(&b, path) == -1) {
		error_add(el, path, 0, 0, "", "cannot read manifest: %s",
		    strerror(errno));
		buf_release(&b);
		return -1;
	}
	rc = cas_manifest_parse(m, path, b.s, b.len, el);
	buf_release(&b);
	return rc;
}

size_t
cas_manifest_diff(const struct cas_manifest *a, const struct cas_manifest *b,
    cas_diff_fn *fn, void *arg)
{
	size_t i = 0, j = 0, n = 0;

	while (i < a->n || j < b->n) {
		int c;

		if (i == a->n)
			c = 1;
		else if (j == b->n)
			c = -1;
		else
			c = cas_path_cmp(a->files[i].path, b->files[j].path);
		if (c < 0) {
			fn(arg, CAS_DELETED, &a->files[i++], NULL);
			n++;
		} else if (c > 0) {
			fn(arg, CAS_ADDED, NULL, &b->files[j++]);
			n++;
		} else {
			const struct cas_file *x = &a->files[i++], *y = &b->files[j++];

			if (strcmp(x->hash, y->hash) != 0 || x->size != y->size) {
				fn(arg, CAS_MODIFIED, x, y);
				n++;
			} else if (x->mtime_us != y->mtime_us) {
				fn(arg, CAS_TOUCHED, x, y);
				n++;
			}
		}
	}
	return n;
}
