/*
 * The pure parts of the file-system watcher (watch.h): tokens, the change
 * set with its cap and floor, and the protocol's messages.  Nothing here
 * touches the file system, so the unit tests (u-watch.c) cover it whole.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cas/watch.h"
#include "common/xmalloc.h"

/* ---- tokens ---- */

void
cas_watch_token_format(const struct cas_watch_token *t,
    char buf[CAS_WATCH_TOKEN_MAX])
{
	snprintf(buf, CAS_WATCH_TOKEN_MAX, "%s.%" PRIu64, t->instance, t->seq);
}

static int
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Decimal uint64 of exactly s[0..len), no sign, no leading zeros but "0". */
static int
parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
cas_watch_token_parse(const char *s, size_t len, struct cas_watch_token *t)
{
	if (len < 34 || s[32] != '.')
		return -1;
	for (size_t i = 0; i < 32; i++)
		if (!is_hex((unsigned char)s[i]))
			return -1;
	if (parse_u64(s + 33, len - 33, &t->seq) == -1)
		return -1;
	memcpy(t->instance, s, 32);
	t->instance[32] = '\0';
	return 0;
}

/* ---- the map ---- */

static uint64_t
key_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ^ (h >> 31);
}

void
cas_wmap_init(struct cas_wmap *m, int own_keys)
{
	memset(m, 0, sizeof(*m));
	m->own_keys = own_keys;
}

void
cas_wmap_release(struct cas_wmap *m)
{
	if (m->own_keys)
		for (size_t i = 0; i < m->cap; i++)
			free(m->v[i].key);
	free(m->v);
	m->v = NULL;
	m->cap = m->n = 0;
}

static size_t
wmap_find(const struct cas_wmap *m, const char *key, uint64_t h)
{
	size_t mask = m->cap - 1, i = (size_t)h & mask;

	while (m->v[i].key != NULL) {
		if (m->v[i].hash == h && strcmp(m->v[i].key, key) == 0)
			return i;
		i = (i + 1) & mask;
	}
	return i;	/* the empty slot where it would go */
}

struct cas_wmap_ent *
cas_wmap_get(const struct cas_wmap *m, const char *key)
{
	size_t i;

	if (m->n == 0)
		return NULL;
	i = wmap_find(m, key, key_hash(key));
	return m->v[i].key != NULL ? &m->v[i] : NULL;
}

static void
wmap_grow(struct cas_wmap *m)
{
	struct cas_wmap_ent *old = m->v;
	size_t ocap = m->cap;

	m->cap = ocap ? ocap * 2 : 16;
	m->v = xcalloc(m->cap, sizeof(*m->v));
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].key == NULL)
			continue;
		m->v[wmap_find(m, old[i].key, old[i].hash)] = old[i];
	}
	free(old);
}

struct cas_wmap_ent *
cas_wmap_put(struct cas_wmap *m, const char *key)
{
	uint64_t h = key_hash(key);
	size_t i;

	if (2 * (m->n + 1) > m->cap)
		wmap_grow(m);
	i = wmap_find(m, key, h);
	if (m->v[i].key == NULL) {
		m->v[i].key = m->own_keys ? xstrdup(key) : (char *)key;
		m->v[i].hash = h;
		m->v[i].seq = 0;
		m->v[i].ptr = NULL;
		m->n++;
	}
	return &m->v[i];
}

void
cas_wmap_del(struct cas_wmap *m, const char *key)
{
	size_t mask, i, j;

	if (m->n == 0)
		return;
	mask = m->cap - 1;
	i = wmap_find(m, key, key_hash(key));
	if (m->v[i].key == NULL)
		return;
	if (m->own_keys)
		free(m->v[i].key);
	m->v[i].key = NULL;
	m->n--;
	/* backward shift: close the gap for entries probed past it */
	for (j = (i + 1) & mask; m->v[j].key != NULL; j = (j + 1) & mask) {
		size_t home = (size_t)m->v[j].hash & mask;
		int stays = i <= j ? (home > i && home <= j) :
		    (home > i || home <= j);

		if (stays)
			continue;
		m->v[i] = m->v[j];
		m->v[j].key = NULL;
		i = j;
	}
}

/* ---- the change set ---- */

void
cas_watch_changes_init(struct cas_watch_changes *c, size_t max)
{
	cas_wmap_init(&c->map, 1);
	c->cur = 1;
	c->floor = 1;
	c->maxseq = 0;
	c->max = max > 1 ? max : 2;
}

void
cas_watch_changes_release(struct cas_watch_changes *c)
{
	cas_wmap_release(&c->map);
}

static int
u64_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * Over the cap: keep the newest max/2 paths (by their last change) and
 * raise the floor to the newest sequence forgotten, so that a token older
 * than that is refused instead of answered without them.
 */
static void
changes_prune(struct cas_watch_changes *c)
{
	struct cas_wmap keep;
	uint64_t *seqs = xmalloc(c->map.n * sizeof(*seqs)), cut;
	size_t n = 0;

	for (size_t i = 0; i < c->map.cap; i++)
		if (c->map.v[i].key != NULL)
			seqs[n++] = c->map.v[i].seq;
	qsort(seqs, n, sizeof(*seqs), u64_desc);
	cut = seqs[c->max / 2];		/* forget seq <= cut */
	free(seqs);
	cas_wmap_init(&keep, 1);
	for (size_t i = 0; i < c->map.cap; i++) {
		struct cas_wmap_ent *e = &c->map.v[i];

		if (e->key != NULL && e->seq > cut)
			cas_wmap_put(&keep, e->key)->seq = e->seq;
	}
	cas_wmap_release(&c->map);
	c->map = keep;
	if (cut > c->floor)
		c->floor = cut;
	if (c->map.n == 0)
		c->maxseq = 0;
}

void
cas_watch_changes_add(struct cas_watch_changes *c, const char *path)
{
	cas_wmap_put(&c->map, path)->seq = c->cur;
	c->maxseq = c->cur;
	if (c->map.n > c->max)
		changes_prune(c);
}

uint64_t
cas_watch_changes_mark(struct cas_watch_changes *c)
{
	return c->cur++;
}

void
cas_watch_changes_forget(struct cas_watch_changes *c)
{
	cas_wmap_release(&c->map);
	cas_wmap_init(&c->map, 1);
	c->floor = c->cur;
	c->maxseq = 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
cas_watch_changes_since(const struct cas_watch_changes *c, uint64_t seq,
    const char ***pathsp, size_t *np)
{
	const char **v;
	size_t n = 0;

	*pathsp = NULL;
	*np = 0;
	if (seq < c->floor || seq >= c->cur)
		return 0;
	if (c->maxseq <= seq)
		return 1;
	v = xmalloc((c->map.n + 1) * sizeof(*v));
	for (size_t i = 0; i < c->map.cap; i++)
		if (c->map.v[i].key != NULL && c->map.v[i].seq > seq)
			v[n++] = c->map.v[i].key;
	if (n > 1)
		qsort(v, n, sizeof(*v), str_cmp);
	*pathsp = v;
	*np = n;
	return 1;
}

/* ---- requests ---- */

void
cas_watch_req_encode(const struct cas_watch_req *r, struct buf *out)
{
	char tok[CAS_WATCH_TOKEN_MAX];

	switch (r->kind) {
	case CAS_WREQ_TOKEN:
		buf_adds(out, "token\n");
		break;
	case CAS_WREQ_SINCE:
		cas_watch_token_format(&r->tok, tok);
		buf_addf(out, "since %s\n", tok);
		break;
	case CAS_WREQ_STATUS:
		buf_adds(out, "status\n");
		break;
	case CAS_WREQ_STOP:
		buf_adds(out, "stop\n");
		break;
	}
}

static int
word_is(const char *s, size_t len, const char *w)
{
	return strlen(w) == len && memcmp(s, w, len) == 0;
}

int
cas_watch_req_parse(const char *line, size_t len, struct cas_watch_req *r)
{
	memset(r, 0, sizeof(*r));
	if (word_is(line, len, "token"))
		r->kind = CAS_WREQ_TOKEN;
	else if (word_is(line, len, "status"))
		r->kind = CAS_WREQ_STATUS;
	else if (word_is(line, len, "stop"))
		r->kind = CAS_WREQ_STOP;
	else if (len > 6 && memcmp(line, "since ", 6) == 0) {
		r->kind = CAS_WREQ_SINCE;
		return cas_watch_token_parse(line + 6, len - 6, &r->tok);
	} else
		return -1;
	return 0;
}

/* ---- replies ---- */

/* text on one line: newlines and NULs become spaces */
static void
add_line_text(struct buf *out, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		buf_addch(out, *s == '\n' || *s == '\r' ? ' ' : *s);
}

void
cas_watch_reply_encode(const struct cas_watch_reply *r, struct buf *out)
{
	char tok[CAS_WATCH_TOKEN_MAX];

	cas_watch_token_format(&r->tok, tok);
	switch (r->kind) {
	case CAS_WREP_TOKEN:
		buf_addf(out, "token %s %" PRIu64 ":%" PRIu64 "\n", tok, r->dev,
		    r->ino);
		break;
	case CAS_WREP_CHANGES:
		buf_addf(out, "changes %s %" PRIu64 ":%" PRIu64 " %zu\n", tok,
		    r->dev, r->ino, r->npaths);
		for (size_t i = 0; i < r->npaths; i++)
			buf_add(out, r->paths[i], strlen(r->paths[i]) + 1);
		break;
	case CAS_WREP_RESET:
		buf_addf(out, "reset %s %" PRIu64 ":%" PRIu64 " ", tok, r->dev,
		    r->ino);
		add_line_text(out, r->text);
		buf_addch(out, '\n');
		break;
	case CAS_WREP_STATUS:
		buf_adds(out, "status ");
		add_line_text(out, r->text);
		buf_addch(out, '\n');
		break;
	case CAS_WREP_BYE:
		buf_adds(out, "bye\n");
		break;
	case CAS_WREP_ERROR:
		buf_adds(out, "error ");
		add_line_text(out, r->text);
		buf_addch(out, '\n');
		break;
	}
}

void
cas_watch_reply_release(struct cas_watch_reply *r)
{
	for (size_t i = 0; i < r->npaths; i++)
		free(r->paths[i]);
	free(r->paths);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

/* Next space-separated word of s[*pos..len); its length, 0 if none. */
static size_t
next_word(const char *s, size_t len, size_t *pos, const char **w)
{
	size_t b = *pos, e;

	if (b < len && s[b] == ' ')
		b++;
	for (e = b; e < len && s[e] != ' '; e++)
		;
	*w = s + b;
	*pos = e;
	return e - b;
}

/* "TOK DEV:INO" at the start of the header's rest */
static int
parse_tok_root(const char *s, size_t len, size_t *pos,
    struct cas_watch_reply *r)
{
	const char *w, *colon;
	size_t n;

	n = next_word(s, len, pos, &w);
	if (n == 0 || cas_watch_token_parse(w, n, &r->tok) == -1)
		return -1;
	n = next_word(s, len, pos, &w);
	colon = n ? memchr(w, ':', n) : NULL;
	if (colon == NULL || parse_u64(w, (size_t)(colon - w), &r->dev) == -1 ||
	    parse_u64(colon + 1, n - (size_t)(colon + 1 - w), &r->ino) == -1)
		return -1;
	return 0;
}

#define REPLY_LINE_MAX	65536

int
cas_watch_reply_parse(const char *data, size_t len, struct cas_watch_reply *r,
    size_t *used)
{
	const char *nl = memchr(data, '\n', len), *w;
	size_t hl, pos = 0, n;
	uint64_t count;

	memset(r, 0, sizeof(*r));
	if (nl == NULL)
		return len > REPLY_LINE_MAX ? -1 : 1;
	hl = (size_t)(nl - data);
	n = next_word(data, hl, &pos, &w);
	if (word_is(w, n, "bye") && pos == hl) {
		r->kind = CAS_WREP_BYE;
		*used = hl + 1;
		return 0;
	}
	if (word_is(w, n, "status") || word_is(w, n, "error")) {
		r->kind = word_is(w, n, "status") ? CAS_WREP_STATUS :
		    CAS_WREP_ERROR;
		r->text = pos < hl ? xstrndup(data + pos + 1, hl - pos - 1) :
		    xstrdup("");
		*used = hl + 1;
		return 0;
	}
	if (word_is(w, n, "token")) {
		r->kind = CAS_WREP_TOKEN;
		if (parse_tok_root(data, hl, &pos, r) == -1 || pos != hl)
			goto bad;
		*used = hl + 1;
		return 0;
	}
	if (word_is(w, n, "reset")) {
		r->kind = CAS_WREP_RESET;
		if (parse_tok_root(data, hl, &pos, r) == -1)
			goto bad;
		r->text = pos < hl ? xstrndup(data + pos + 1, hl - pos - 1) :
		    xstrdup("");
		*used = hl + 1;
		return 0;
	}
	if (!word_is(w, n, "changes"))
		goto bad;
	r->kind = CAS_WREP_CHANGES;
	if (parse_tok_root(data, hl, &pos, r) == -1)
		goto bad;
	n = next_word(data, hl, &pos, &w);
	if (parse_u64(w, n, &count) == -1 || pos != hl)
		goto bad;
	{
		const char *p = nl + 1, *end = data + len;
		size_t k;

		/* count the paths first: nothing is allocated for a partial
		 * reply */
		for (k = 0; k < count; k++) {
			const char *z = memchr(p, '\0', (size_t)(end - p));

			if (z == NULL) {
				cas_watch_reply_release(r);
				return 1;
			}
			p = z + 1;
		}
		r->paths = xcalloc(count ? count : 1, sizeof(*r->paths));
		p = nl + 1;
		for (k = 0; k < count; k++) {
			size_t pl = strlen(p);

			r->paths[k] = xstrndup(p, pl);
			p += pl + 1;
		}
		r->npaths = count;
		*used = (size_t)(p - data);
	}
	return 0;
bad:
	cas_watch_reply_release(r);
	return -1;
}
