/*
 * Path mapping rules (How Jobs Are Run, "Path Mapping"): the JSON document
 *
 *	{"version": "pathmapping-1.0",
 *	 "path_mapping_rules": [{"source_path_format": "POSIX"|"WINDOWS",
 *	                         "source_path": "/home/user",
 *	                         "destination_path": "/mnt/user"}, ...]}
 *
 * and their application to PATH parameter values.  Rules are tried longest
 * source path first (a stable sort, so equal lengths keep their order);
 * the first rule that matches wins.  Matching is by path component:
 *   POSIX   only '/' separates components; exact byte comparison;
 *   WINDOWS '/' and '\' both separate; ASCII case-insensitive; a drive
 *           ("C:") is the first component.
 * A rooted path never matches an unrooted rule or the reverse (rooted:
 * starts with '/', or for WINDOWS also '\').  The matched prefix is
 * replaced by destination_path and the remaining components are appended
 * with '/' (the host's separator); a trailing separator is kept.
 */
#ifndef DROVER_SESSION_PATHMAP_H
#define DROVER_SESSION_PATHMAP_H

#include <stddef.h>

#include <jansson.h>

enum pathmap_format {
	PATHMAP_POSIX,
	PATHMAP_WINDOWS,
};

struct pathmap_rule {
	enum pathmap_format	 format;
	char			*source;
	char			*dest;
};

struct pathmap {
	struct pathmap_rule	*rules;		/* longest source first */
	size_t			 n;
};

#define PATHMAP_INIT { NULL, 0 }

/*
 * Reads a rules document (shape above).  Returns 0, or -1 with *err
 * (caller frees) naming the problem.  On success pm owns its rules;
 * release with pathmap_release().
 */
int	pathmap_from_json(struct pathmap *pm, const json_t *doc, char **err);
/* Reads "JSON text" or "file://PATH" (a JSON file), as `openjd run` does. */
int	pathmap_from_arg(struct pathmap *pm, const char *arg, char **err);
/* A deep copy. */
void	pathmap_copy(struct pathmap *dst, const struct pathmap *src);
void	pathmap_release(struct pathmap *);

/* The document again (sorted order); {} when there are no rules. */
json_t	*pathmap_to_json(const struct pathmap *);

/*
 * Maps path by the first matching rule.  Returns a new string (a copy of
 * path when no rule matches); *matched (may be NULL) says whether one did.
 */
char	*pathmap_apply(const struct pathmap *, const char *path, int *matched);

#endif
