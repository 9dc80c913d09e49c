/*
 * The deployment file: loaded with the document loader (so every error
 * points at its line and column), validated field by field, defaults
 * filled in, sources and destinations resolved to absolute form.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cas/fsutil.h"
#include "common/buf.h"
#include "common/doc.h"
#include "common/xmalloc.h"
#include "deploy/deploy.h"

const char *
deploy_unpack_name(enum deploy_unpack u)
{
	switch (u) {
	case DEPLOY_UNPACK_AUTO:	return "auto";
	case DEPLOY_UNPACK_NONE:	return "none";
	case DEPLOY_UNPACK_TAR:		return "tar";
	case DEPLOY_UNPACK_TAR_GZ:	return "tar.gz";
	case DEPLOY_UNPACK_TAR_XZ:	return "tar.xz";
	case DEPLOY_UNPACK_ZIP:		return "zip";
	}
	return "?";
}

const char *
deploy_link_name(enum deploy_link l)
{
	switch (l) {
	case DEPLOY_SYMLINK:	return "symlink";
	case DEPLOY_HARDLINK:	return "hardlink";
	case DEPLOY_COPY:	return "copy";
	}
	return "?";
}

void
deploy_file_release(struct deploy_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		struct deploy_dep *d = &f->deps[i];

		free(d->name);
		free(d->version);
		free(d->platform);
		free(d->repository);
		free(d->source);
		free(d->location);
		free(d->filename);
		free(d->destination);
	}
	free(f->deps);
	free(f->path);
	f->deps = NULL;
	f->path = NULL;
	f->n = 0;
}

/* Names used as cache path components: [A-Za-z0-9][A-Za-z0-9._+-]*. */
static int
component_ok(const char *s)
{
	if (!isalnum((unsigned char)s[0]) || strlen(s) > 128)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._+-", *s))
			return 0;
	return 1;
}

struct ctx {
	struct error_list	*el;
	const char		*file;
	char			*basedir;	/* directory of the file */
	char			 where[64];
};

static void ctx_err(struct ctx *, const struct node *, const char *field,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
ctx_err(struct ctx *c, const struct node *n, const char *field,
    const char *fmt, ...)
{
	char path[128];
	va_list ap;

	snprintf(path, sizeof(path), "%s%s%s", c->where, field ? "." : "",
	    field ? field : "");
	va_start(ap, fmt);
	error_vadd(c->el, c->file, n ? n->line : 0, n ? n->col : 0, path, fmt,
	    ap);
	va_end(ap);
}

/* Expands $VAR and ${VAR} ($$ is a dollar); NULL if a variable is unset. */
static char *
expand_env(const char *s, char **missing)
{
	struct buf b = BUF_INIT;

	while (*s) {
		const char *start, *v;
		char *name;
		size_t n;

		if (*s != '$') {
			buf_addch(&b, *s++);
			continue;
		}
		s++;
		if (*s == '$') {
			buf_addch(&b, '$');
			s++;
			continue;
		}
		if (*s == '{') {
			start = ++s;
			while (*s && *s != '}')
				s++;
			n = (size_t)(s - start);
			if (*s == '}')
				s++;
		} else {
			start = s;
			while (isalnum((unsigned char)*s) || *s == '_')
				s++;
			n = (size_t)(s - start);
		}
		if (n == 0) {
			buf_addch(&b, '$');
			continue;
		}
		name = xstrndup(start, n);
		if ((v = getenv(name)) == NULL) {
			*missing = name;
			buf_release(&b);
			return NULL;
		}
		free(name);
		buf_adds(&b, v);
	}
	return buf_detach(&b, NULL);
}

/* Makes p absolute against base (which is absolute). */
static char *
absolutize(const char *base, const char *p)
{
	if (p[0] == '/')
		return xstrdup(p);
	return cas_path_join(base, p);
}

static char *
url_host(const char *url)
{
	const char *h = strstr(url, "://"), *e;
	char *r;

	h = h ? h + 3 : url;
	e = h + strcspn(h, "/:?#");
	if (strchr(h, '@') != NULL && strchr(h, '@') < e)	/* user@host */
		h = strchr(h, '@') + 1;
	r = xstrndup(h, (size_t)(e - h));
	for (char *q = r; *q; q++)
		if (!isalnum((unsigned char)*q) && !strchr("._-", *q))
			*q = '_';
	if (!component_ok(r)) {
		free(r);
		r = xstrdup("web");
	}
	return r;
}

static enum deploy_unpack
unpack_from_name(const char *name)
{
	size_t n = strlen(name);
	static const struct { const char *ext; enum deploy_unpack u; } m[] = {
		{ ".tar.gz", DEPLOY_UNPACK_TAR_GZ }, { ".tgz", DEPLOY_UNPACK_TAR_GZ },
		{ ".tar.xz", DEPLOY_UNPACK_TAR_XZ }, { ".txz", DEPLOY_UNPACK_TAR_XZ },
		{ ".tar", DEPLOY_UNPACK_TAR }, { ".zip", DEPLOY_UNPACK_ZIP },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		size_t e = strlen(m[i].ext);

		if (n > e && strcmp(name + n - e, m[i].ext) == 0)
			return m[i].u;
	}
	return DEPLOY_UNPACK_NONE;
}

/* Last path component of a path or URL (query and fragment dropped). */
static char *
base_name(const char *s)
{
	size_t n = strcspn(s, "?#");
	const char *e = s + n, *b = e;

	while (b > s && b[-1] != '/')
		b--;
	return xstrndup(b, (size_t)(e - b));
}

static const struct node *
get_string(struct ctx *c, const struct node *m, const char *key, int required)
{
	const struct node *v = node_get(m, key);

	if (v == NULL) {
		if (required)
			ctx_err(c, m, key, "is required");
		return NULL;
	}
	if (v->kind != NODE_STRING || v->len == 0 || strlen(v->str) != v->len) {
		ctx_err(c, v, key, "must be a non-empty string");
		return NULL;
	}
	return v;
}

static int
parse_source(struct ctx *c, struct deploy_dep *d, const struct node *v,
    const char *s)
{

	if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) {
		d->kind = DEPLOY_SRC_HTTP;
		d->location = xstrdup(s);
	} else if (strncmp(s, "file:", 5) == 0 || strncmp(s, "cas:", 4) == 0) {
		const char *p = s + (s[0] == 'f' ? 5 : 4);

		d->kind = s[0] == 'f' ? DEPLOY_SRC_FILE : DEPLOY_SRC_CAS;
		if (strncmp(p, "//", 2) == 0) {
			p += 2;
			if (*p != '/') {	/* file://host/... */
				if (strncmp(p, "localhost/", 10) != 0) {
					ctx_err(c, v, "source", "only local "
					    "file:///PATH and cas:///PATH sources "
					    "are supported");
					return -1;
				}
				p += 9;
			}
		}
		if (*p == '\0') {
			ctx_err(c, v, "source", "has no path");
			return -1;
		}
		d->location = absolutize(c->basedir, p);
	} else if (strstr(s, "://") != NULL) {
		ctx_err(c, v, "source", "unsupported scheme in '%s' (use file://, "
		    "http://, https:// or cas:)", s);
		return -1;
	} else {
		d->kind = DEPLOY_SRC_FILE;	/* a plain path */
		d->location = absolutize(c->basedir, s);
	}
	d->source = xstrdup(s);
	return 0;
}

static int
parse_dep(struct ctx *c, const struct node *m, struct deploy_dep *d)
{
	static const char *const keys[] = { "name", "version", "platform",
	    "repository", "source", "hash", "size", "unpack", "link",
	    "destination", "keep_updated", "max_unpacked_size", "filename",
	    "executable", NULL };
	const struct node *v;
	size_t nerr = c->el->n;
	char *missing = NULL, *cwd;

	d->size = -1;
	d->line = m->line;
	for (size_t i = 0; i < m->n; i++) {
		int ok = 0;

		for (size_t k = 0; keys[k]; k++)
			if (strcmp(m->keys[i]->str, keys[k]) == 0)
				ok = 1;
		if (!ok)
			ctx_err(c, m->keys[i], m->keys[i]->str, "unknown key");
	}
	static const char *const comps[] = { "name", "version", "platform",
	    "repository" };
	for (size_t k = 0; k < 4; k++) {
		v = get_string(c, m, comps[k], k < 2);
		if (v == NULL)
			continue;
		if (!component_ok(v->str)) {
			ctx_err(c, v, comps[k], "'%s' must start with a letter or "
			    "digit and hold only letters, digits, '.', '_', "
			    "'+' and '-'", v->str);
			continue;
		}
		*(k == 0 ? &d->name : k == 1 ? &d->version : k == 2 ?
		    &d->platform : &d->repository) = xstrdup(v->str);
	}
	if (d->platform == NULL)
		d->platform = xstrdup("any");
	if ((v = get_string(c, m, "source", 1)) != NULL) {
		char *e = expand_env(v->str, &missing);

		if (e == NULL) {
			ctx_err(c, v, "source", "environment variable '%s' is not "
			    "set", missing);
			free(missing);
			missing = NULL;
		} else {
			parse_source(c, d, v, e);
			free(e);
		}
	}
	if ((v = get_string(c, m, "hash", 0)) != NULL) {
		const char *h = v->str;

		if (strncmp(h, CAS_HASH_ALG ":", strlen(CAS_HASH_ALG) + 1) == 0)
			h += strlen(CAS_HASH_ALG) + 1;
		if (!cas_hash_valid(h))
			ctx_err(c, v, "hash", "must be 'xxh128:' followed by 32 "
			    "lowercase hexadecimal digits");
		else
			memcpy(d->hash, h, CAS_HASH_HEXLEN + 1);
	}
	if (d->kind == DEPLOY_SRC_CAS && d->location != NULL && !d->hash[0])
		ctx_err(c, m, "hash", "is required for a cas: source (it names "
		    "the object)");
	if ((v = node_get(m, "size")) != NULL) {
		if (v->kind != NODE_INT || v->v.i < 0)
			ctx_err(c, v, "size", "must be a non-negative integer");
		else
			d->size = v->v.i;
	}
	if ((v = node_get(m, "max_unpacked_size")) != NULL) {
		if (v->kind != NODE_INT || v->v.i <= 0)
			ctx_err(c, v, "max_unpacked_size",
			    "must be a positive integer (bytes)");
		else
			d->max_size = (uint64_t)v->v.i;
	}
	if ((v = node_get(m, "keep_updated")) != NULL) {
		if (v->kind != NODE_BOOL)
			ctx_err(c, v, "keep_updated", "must be true or false");
		else
			d->keep_updated = v->v.b;
	}
	if ((v = node_get(m, "executable")) != NULL) {
		if (v->kind != NODE_BOOL)
			ctx_err(c, v, "executable", "must be true or false");
		else
			d->executable = v->v.b;
	}
	d->link = DEPLOY_SYMLINK;
	if ((v = get_string(c, m, "link", 0)) != NULL) {
		if (strcmp(v->str, "symlink") == 0)
			d->link = DEPLOY_SYMLINK;
		else if (strcmp(v->str, "hardlink") == 0)
			d->link = DEPLOY_HARDLINK;
		else if (strcmp(v->str, "copy") == 0)
			d->link = DEPLOY_COPY;
		else
			ctx_err(c, v, "link", "must be symlink, hardlink or copy");
	}
	if ((v = get_string(c, m, "filename", 0)) != NULL) {
		if (strchr(v->str, '/') != NULL || !cas_relpath_safe(v->str))
			ctx_err(c, v, "filename", "must be a plain file name");
		else
			d->filename = xstrdup(v->str);
	}
	d->unpack = DEPLOY_UNPACK_AUTO;
	if ((v = get_string(c, m, "unpack", 0)) != NULL) {
		enum deploy_unpack u;
		int found = 0;

		for (u = DEPLOY_UNPACK_AUTO; u <= DEPLOY_UNPACK_ZIP; u++) {
			if (strcmp(v->str, deploy_unpack_name(u)) == 0) {
				d->unpack = u;
				found = 1;
			}
		}
		if (!found)
			ctx_err(c, v, "unpack", "must be auto, none, tar, tar.gz, "
			    "tar.xz or zip");
	}
	if ((v = get_string(c, m, "destination", 1)) != NULL) {
		char *e = expand_env(v->str, &missing);

		if (e == NULL) {
			ctx_err(c, v, "destination", "environment variable '%s' "
			    "is not set", missing);
			free(missing);
		} else if (*e == '\0') {
			ctx_err(c, v, "destination", "is empty after expansion");
			free(e);
		} else {
			cwd = getcwd(NULL, 0);
			d->destination = absolutize(cwd ? cwd : "/", e);
			free(cwd);
			free(e);
		}
	}
	if (c->el->n != nerr)
		return -1;
	if (d->filename == NULL) {
		d->filename = base_name(d->location);
		if (d->kind == DEPLOY_SRC_CAS || !cas_relpath_safe(d->filename) ||
		    strchr(d->filename, '/') != NULL) {
			free(d->filename);
			d->filename = xstrdup(d->name);
		}
	}
	if (d->unpack == DEPLOY_UNPACK_AUTO) {
		char *bn = base_name(d->location);

		d->unpack = unpack_from_name(d->kind == DEPLOY_SRC_CAS ?
		    d->filename : bn);
		free(bn);
	}
	if (d->repository == NULL)
		d->repository = d->kind == DEPLOY_SRC_HTTP ? url_host(d->location) :
		    xstrdup(d->kind == DEPLOY_SRC_CAS ? "cas" : "local");
	return 0;
}

/* The same cache entry defined twice must be defined the same way. */
static void
check_conflicts(struct ctx *c, const struct deploy_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct deploy_dep *a = &f->deps[i];

		for (size_t j = i + 1; j < f->n; j++) {
			const struct deploy_dep *b = &f->deps[j];

			if (strcmp(a->repository, b->repository) ||
			    strcmp(a->platform, b->platform) ||
			    strcmp(a->name, b->name) ||
			    strcmp(a->version, b->version))
				continue;
			if (strcmp(a->location, b->location) ||
			    strcmp(a->hash, b->hash) || a->unpack != b->unpack ||
			    strcmp(a->filename, b->filename)) {
				snprintf(c->where, sizeof(c->where),
				    "dependencies[%zu]", j);
				error_add(c->el, c->file, b->line, 0, c->where,
				    "'%s' %s (%s) is also defined at line %d with "
				    "another source, hash or unpack mode", b->name,
				    b->version, b->platform, a->line);
			}
		}
	}
}

int
deploy_file_load(struct deploy_file *f, const char *path,
    struct error_list *el)
{
	struct doc d = DOC_INIT;
	struct ctx c;
	const struct node *root, *deps, *v;
	char *abs, *slash;
	size_t nerr = el->n;

	memset(f, 0, sizeof(*f));
	if (doc_load_file(&d, path, el) == -1) {
		doc_release(&d);
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.el = el;
	c.file = path;
	abs = realpath(path, NULL);
	if (abs == NULL)
		abs = xstrdup(path);
	slash = strrchr(abs, '/');
	c.basedir = slash ? xstrndup(abs, (size_t)(slash - abs)) : xstrdup(".");
	if (c.basedir[0] == '\0') {
		free(c.basedir);
		c.basedir = xstrdup("/");
	}
	free(abs);
	root = d.root;
	if (root == NULL || root->kind != NODE_MAP) {
		error_add(el, path, root ? root->line : 0, root ? root->col : 0, "",
		    "a deployment file is an object with 'formatVersion' and "
		    "'dependencies'");
		goto out;
	}
	for (size_t i = 0; i < root->n; i++) {
		const char *k = root->keys[i]->str;

		if (strcmp(k, "formatVersion") && strcmp(k, "dependencies"))
			error_add(el, path, root->keys[i]->line,
			    root->keys[i]->col, k, "unknown key");
	}
	v = node_get(root, "formatVersion");
	if (v != NULL && (v->kind != NODE_INT || v->v.i != DEPLOY_FORMAT_VERSION))
		error_add(el, path, v->line, v->col, "formatVersion",
		    "unsupported format version '%s' (expected %d)", v->str,
		    DEPLOY_FORMAT_VERSION);
	deps = node_get(root, "dependencies");
	if (deps == NULL || deps->kind != NODE_SEQ) {
		error_add(el, path, deps ? deps->line : root->line,
		    deps ? deps->col : root->col, "dependencies",
		    "must be a list of dependencies");
		goto out;
	}
	f->deps = xcalloc(deps->n ? deps->n : 1, sizeof(*f->deps));
	for (size_t i = 0; i < deps->n; i++) {
		snprintf(c.where, sizeof(c.where), "dependencies[%zu]", i);
		if (deps->items[i]->kind != NODE_MAP) {
			ctx_err(&c, deps->items[i], NULL, "must be an object");
			continue;
		}
		parse_dep(&c, deps->items[i], &f->deps[f->n++]);
	}
	if (el->n == nerr)
		check_conflicts(&c, f);
out:
	f->path = xstrdup(path);
	free(c.basedir);
	doc_release(&d);
	if (el->n != nerr) {
		deploy_file_release(f);
		return -1;
	}
	return 0;
}
