/*
 * Source fetchers.  Every byte passes through the hasher on its way to the
 * file, so the caller can compare with the expected hash without reading
 * the file again.
 */
#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cas/fsutil.h"
#include "cas/store.h"
#include "common/xmalloc.h"
#include "deploy/fetch.h"

void
deploy_fetch_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
deploy_fetch_global_cleanup(void)
{
	curl_global_cleanup();
}

void
deploy_fetched_release(struct deploy_fetched *f)
{
	free(f->etag);
	free(f->last_modified);
	f->etag = f->last_modified = NULL;
}

struct sink {
	int			 fd;
	struct cas_hasher	 h;
	uint64_t		 n;
	uint64_t		 max;
	int			 too_big;
	int			 werr;		/* errno of a failed write */
};

static int
sink_put(struct sink *s, const void *p, size_t len)
{
	if (s->n + len > s->max) {
		s->too_big = 1;
		return -1;
	}
	if (cas_write_all(s->fd, p, len) == -1) {
		s->werr = errno;
		return -1;
	}
	cas_hasher_update(&s->h, p, len);
	s->n += len;
	return 0;
}

static int
fetch_file(const struct deploy_dep *d, struct sink *s, char **errp)
{
	char *buf;
	struct stat st;
	ssize_t r;
	int fd, rc = 0;

	fd = open(d->location, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		cas_seterr(errp, "cannot read '%s': %s", d->location,
		    fd == -1 ? strerror(errno) : "not a regular file");
		if (fd != -1)
			close(fd);
		return -1;
	}
	buf = xmalloc(CAS_IO_BUFSZ);
	while ((r = read(fd, buf, CAS_IO_BUFSZ)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cas_seterr(errp, "cannot read '%s': %s", d->location,
			    strerror(errno));
			rc = -1;
			break;
		}
		if (sink_put(s, buf, (size_t)r) == -1) {
			rc = -1;
			break;
		}
	}
	free(buf);
	close(fd);
	return rc;
}

static int
fetch_cas(const struct deploy_dep *d, struct sink *s, char **errp)
{
	struct cas_store store;
	struct stat st;
	char *obj, *buf;
	int rc;

	if (cas_store_open(&store, d->location, 0, errp) == -1)
		return -1;
	obj = cas_store_object_path(&store, d->hash);
	if (stat(obj, &st) == -1) {
		cas_seterr(errp, "object %s is not in store '%s'", d->hash,
		    d->location);
		free(obj);
		cas_store_release(&store);
		return -1;
	}
	free(obj);
	if ((uint64_t)st.st_size > s->max) {
		s->too_big = 1;
		cas_store_release(&store);
		return -1;
	}
	buf = xmalloc(CAS_IO_BUFSZ);
	rc = cas_store_get_fd(&store, d->hash, (uint64_t)st.st_size, s->fd, buf,
	    CAS_IO_BUFSZ, errp);
	free(buf);
	cas_store_release(&store);
	if (rc != 0)
		return -1;
	/* the store verified the content while copying */
	s->n = (uint64_t)st.st_size;
	return 1;	/* hash is d->hash */
}

struct http {
	struct sink	*s;
	char		*etag;
	char		*last_modified;
};

static size_t
http_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http *h = arg;

	if (sink_put(h->s, p, size * nmemb) == -1)
		return 0;	/* makes curl stop with CURLE_WRITE_ERROR */
	return size * nmemb;
}

/* Value of "Name: value" if the header line is that header, else NULL. */
static char *
header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	const char *v, *e;

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	v = line + n + 1;
	e = line + len;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
		e--;
	return xstrndup(v, (size_t)(e - v));
}

static size_t
http_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http *h = arg;
	size_t len = size * nmemb;
	char *v;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* a new response (after a redirect): forget older headers */
		free(h->etag);
		free(h->last_modified);
		h->etag = h->last_modified = NULL;
	} else if ((v = header_value(p, len, "ETag")) != NULL) {
		free(h->etag);
		h->etag = v;
	} else if ((v = header_value(p, len, "Last-Modified")) != NULL) {
		free(h->last_modified);
		h->last_modified = v;
	}
	return len;
}

static int
fetch_http(const struct deploy_dep *d, struct sink *s, const char *etag,
    const char *lm, struct deploy_fetched *f, char **errp)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	struct http h = { s, NULL, NULL };
	long code = 0;
	CURLcode rc;
	CURL *c;
	char *line;

	if ((c = curl_easy_init()) == NULL) {
		cas_seterr(errp, "cannot initialise libcurl");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, d->location);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "drover/" DROVER_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->max);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	if (etag != NULL) {
		line = xasprintf("If-None-Match: %s", etag);
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	if (lm != NULL) {
		line = xasprintf("If-Modified-Since: %s", lm);
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	if (hdrs != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	f->etag = h.etag;
	f->last_modified = h.last_modified;
	if (rc == CURLE_FILESIZE_EXCEEDED)
		s->too_big = 1;
	if (rc != CURLE_OK) {
		if (!s->too_big)
			cas_seterr(errp, "cannot download '%s': %s", d->location,
			    s->werr ? strerror(s->werr) :
			    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return -1;
	}
	if (code == 304) {
		f->not_modified = 1;
		return 0;
	}
	if (code < 200 || code > 299) {
		cas_seterr(errp, "cannot download '%s': HTTP status %ld",
		    d->location, code);
		return -1;
	}
	return 0;
}

int
deploy_fetch(const struct deploy_dep *d, const char *dest, uint64_t max,
    const char *prev_etag, const char *prev_lm, struct deploy_fetched *f,
    char **errp)
{
	struct sink s;
	int rc;

	memset(f, 0, sizeof(*f));
	memset(&s, 0, sizeof(s));
	s.max = max;
	s.fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (s.fd == -1) {
		cas_seterr(errp, "cannot create '%s': %s", dest, strerror(errno));
		return -1;
	}
	cas_hasher_init(&s.h);
	switch (d->kind) {
	case DEPLOY_SRC_FILE:
		rc = fetch_file(d, &s, errp);
		break;
	case DEPLOY_SRC_CAS:
		rc = fetch_cas(d, &s, errp);
		break;
	default:
		rc = fetch_http(d, &s, prev_etag, prev_lm, f, errp);
		break;
	}
	if (rc == 1) {
		memcpy(f->hash, d->hash, sizeof(f->hash));
		rc = 0;
	} else
		cas_hasher_final(&s.h, f->hash);
	cas_hasher_release(&s.h);
	f->size = s.n;
	if (s.too_big) {
		cas_seterr(errp, "'%s' is larger than the limit of %llu bytes "
		    "(see max_unpacked_size / --max-size)", d->source,
		    (unsigned long long)max);
		rc = -1;
	} else if (rc == 0 && s.werr) {
		cas_seterr(errp, "cannot write '%s': %s", dest, strerror(s.werr));
		rc = -1;
	}
	if (close(s.fd) == -1 && rc == 0) {
		cas_seterr(errp, "cannot write '%s': %s", dest, strerror(errno));
		rc = -1;
	}
	return rc;
}
