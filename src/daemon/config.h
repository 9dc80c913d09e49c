/*
 * The configuration file: INI-style ("[section]" then "key = value"; "#"
 * and ";" start comments), read from /etc/drover/config and then
 * $XDG_CONFIG_HOME/drover/config (else ~/.config/drover/config); a key
 * set in a later file wins.  Keys are "section.key"; every known key is
 * in config_keys[] with its default and help (docs/config.md lists them);
 * keys under "capabilities." are the host's own capabilities.
 * DROVER_SYSTEM_CONFIG replaces the system path (tests).
 */
#ifndef DROVER_CONFIG_H
#define DROVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum config_type {
	CONFIG_INT,
	CONFIG_SIZE,		/* bytes; K, M, G suffixes */
	CONFIG_BOOL,
	CONFIG_STRING,
	CONFIG_CHOICE,		/* one of choices, "|"-separated */
};

struct config_key {
	const char		*name;
	enum config_type	 type;
	const char		*def;		/* NULL: computed (slots) */
	const char		*choices;
	const char		*help;
};

extern const struct config_key config_keys[];

struct config_entry {
	char	*key;
	char	*value;
	char	*file;
	int	 line;
};

struct config {
	struct config_entry	*v;
	size_t			 n;
	size_t			 alloc;
};

#define CONFIG_INIT { NULL, 0, 0 }

/* System and user file paths (malloc'd; user NULL if no home). */
char	*config_system_path(void);
char	*config_user_path(void);
/*
 * Loads the system then the user file (missing files are fine).  Returns
 * 0, or -1 with *err for an unreadable file or a bad line or value.
 */
int	 config_load(struct config *, char **err);
int	 config_load_file(struct config *, const char *path, char **err);
void	 config_release(struct config *);
/* The value set, else the default (NULL for unknown keys). */
const char *config_get(const struct config *, const char *key);
int64_t	 config_get_int(const struct config *, const char *key, int64_t def);
int	 config_get_bool(const struct config *, const char *key, int def);
/* 0 if key is known (or a capability) and value fits its type; else -1. */
int	 config_check(const char *key, const char *value, char **err);
/* Parses "10", "64K", "100M", "2G" (bytes); -1 if bad. */
int64_t	 config_parse_size(const char *);
/*
 * Sets key = value in the file at path (creating it and its directory),
 * keeping every other line; value NULL removes the key.  Written to a
 * temporary file and renamed over, so readers see the old or the new file.
 */
int	 config_set_file(const char *path, const char *key, const char *value,
	    char **err);

#endif
