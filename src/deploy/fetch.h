/*
 * Fetching a dependency's source (file, http(s) via libcurl, or an object
 * of a CAS store) into a new local file, hashing it on the way and
 * stopping at a size limit.  Callers verify the hash before using it.
 */
#ifndef DROVER_DEPLOY_FETCH_H
#define DROVER_DEPLOY_FETCH_H

#include <stdint.h>

#include "cas/hash.h"
#include "deploy/deploy.h"

struct deploy_fetched {
	char		 hash[CAS_HASH_HEXLEN + 1];
	uint64_t	 size;
	int		 not_modified;	/* http: the conditional GET said 304 */
	char		*etag;		/* http: ETag of the response, or NULL */
	char		*last_modified;	/* http: Last-Modified, or NULL */
};

/* Call once before threads start (curl_global_init). */
void	deploy_fetch_global_init(void);
void	deploy_fetch_global_cleanup(void);
/*
 * Fetches d into dest (created, must not exist), at most max bytes.  For
 * http, prev_etag / prev_last_modified (may be NULL) make the request
 * conditional: if the server answers 304, f->not_modified is set and dest
 * is left empty.  0, or -1 with *errp set.  Release f in either case.
 */
int	deploy_fetch(const struct deploy_dep *d, const char *dest, uint64_t max,
	    const char *prev_etag, const char *prev_last_modified,
	    struct deploy_fetched *f, char **errp);
void	deploy_fetched_release(struct deploy_fetched *);

#endif
