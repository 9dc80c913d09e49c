/*
 * Adaptor configuration: JSON files layered on top of each other, the way
 * the OpenJD Python runtime layers them — the file shipped with the
 * adaptor, then a system-wide file, then the user's, then one named by an
 * environment variable.  Unlike the Python runtime, nested objects are
 * merged key by key rather than replaced whole, and no file is created.
 *
 * Keys the runtime itself reads (all optional):
 *   log_level             "DEBUG" | "INFO" | "WARNING" | "ERROR"
 *   cancel_grace_seconds  SIGTERM-to-SIGKILL delay when a run is canceled
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adaptor-int.h"

int
drover__config_merge(json_t *base, const json_t *over)
{
	const char *key;
	json_t *v, *mine, *copy;

	if (!json_is_object(base) || !json_is_object(over))
		return DROVER_EINVAL;
	json_object_foreach((json_t *)over, key, v) {
		mine = json_object_get(base, key);
		if (mine != NULL && json_is_object(mine) && json_is_object(v)) {
			if (drover__config_merge(mine, v) != 0)
				return DROVER_ENOMEM;
			continue;
		}
		copy = json_deep_copy(v);
		if (copy == NULL || json_object_set_new(base, key, copy) != 0)
			return DROVER_ENOMEM;
	}
	return 0;
}

char *
drover__env_name(const char *name)
{
	char *s = drover__strdup(name), *p;

	if (s == NULL)
		return NULL;
	for (p = s; *p; p++)
		*p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p)
		    : '_';
	return s;
}

static int
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Reads a JSON object from path and merges it over cfg. */
static int
layer(json_t *cfg, const char *path, char *err, size_t errsz)
{
	json_error_t je;
	json_t *doc;
	int rc;

	doc = json_load_file(path, 0, &je);
	if (doc == NULL) {
		drover__seterr(err, errsz, "configuration '%s': line %d: %s",
		    path, je.line, je.text);
		return DROVER_EINVAL;
	}
	if (!json_is_object(doc)) {
		drover__seterr(err, errsz, "configuration '%s' must hold a "
		    "JSON object", path);
		json_decref(doc);
		return DROVER_EINVAL;
	}
	rc = drover__config_merge(cfg, doc);
	json_decref(doc);
	if (rc != 0)
		drover__seterr(err, errsz, "out of memory");
	return rc;
}

int
drover__schema_load(const char *exe_dir, const char *path, json_t **out,
    char *err, size_t errsz)
{
	json_error_t je;
	char *full;

	*out = NULL;
	if (path == NULL)
		return 0;
	full = drover__resolve(exe_dir, path);
	if (full == NULL)
		return DROVER_ENOMEM;
	*out = json_load_file(full, 0, &je);
	if (*out == NULL) {
		drover__seterr(err, errsz, "schema '%s': %s", full, je.text);
		free(full);
		return DROVER_EINVAL;
	}
	free(full);
	return 0;
}

int
drover__config_build(const struct drover_adaptor_def *def,
    const char *exe_dir, json_t **out, char *err, size_t errsz)
{
	char *paths[4] = { NULL, NULL, NULL, NULL };
	char *envname = NULL, *envvar = NULL, *errors = NULL;
	const char *home, *extra, *name = def->name ? def->name : "adaptor";
	json_t *cfg, *schema = NULL;
	int i, rc = DROVER_ENOMEM;

	*out = NULL;
	cfg = json_pack("{s:s, s:i}", "log_level", "INFO",
	    "cancel_grace_seconds", 5);
	if (cfg == NULL)
		goto out;
	if (def->config_path)
		paths[0] = drover__resolve(exe_dir, def->config_path);
	else if (exe_dir)
		paths[0] = drover__asprintf("%s/%s.json", exe_dir, name);
	paths[1] = drover__asprintf("/etc/openjd/adaptors/%s/%s.json", name,
	    name);
	home = getenv("HOME");
	if (home && *home)
		paths[2] = drover__asprintf("%s/.openjd/adaptors/%s/%s.json",
		    home, name, name);
	envname = drover__env_name(name);
	if (envname == NULL)
		goto out;
	envvar = drover__asprintf("%s_CONFIG_PATH", envname);
	if (envvar == NULL)
		goto out;
	extra = getenv(envvar);
	if (extra && *extra) {
		paths[3] = drover__strdup(extra);
		if (paths[3] == NULL)
			goto out;
		if (!file_exists(paths[3])) {
			drover__seterr(err, errsz, "configuration '%s' (from "
			    "%s) does not exist", paths[3], envvar);
			rc = DROVER_ENOENT;
			goto out;
		}
	}
	/* The shipped file must exist when the adaptor names it. */
	if (def->config_path && paths[0] && !file_exists(paths[0])) {
		drover__seterr(err, errsz, "configuration '%s' does not exist",
		    paths[0]);
		rc = DROVER_ENOENT;
		goto out;
	}
	for (i = 0; i < 4; i++) {
		if (paths[i] == NULL || !file_exists(paths[i]))
			continue;
		rc = layer(cfg, paths[i], err, errsz);
		if (rc != 0)
			goto out;
	}
	rc = drover__schema_load(exe_dir, def->config_schema_path, &schema,
	    err, errsz);
	if (rc != 0)
		goto out;
	if (schema) {
		rc = drover_schema_validate(schema, cfg, "config", &errors);
		if (rc != 0) {
			drover__seterr(err, errsz, "invalid configuration: %s",
			    errors ? errors : drover_strerror(rc));
			goto out;
		}
	}
	rc = 0;
	*out = cfg;
	cfg = NULL;
out:
	if (rc == DROVER_ENOMEM)
		drover__seterr(err, errsz, "out of memory");
	json_decref(cfg);
	json_decref(schema);
	free(errors);
	free(envname);
	free(envvar);
	for (i = 0; i < 4; i++)
		free(paths[i]);
	return rc;
}
