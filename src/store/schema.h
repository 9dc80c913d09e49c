/*
 * The list of schema migrations (schema.c); store.c applies them.
 */
#ifndef DROVER_SCHEMA_H
#define DROVER_SCHEMA_H

#include <stddef.h>

struct store_migration {
	int		 version;	/* 1, 2, ... in order */
	const char	*name;
	const char	*sql;		/* one or more statements */
};

const struct store_migration *schema_migrations(size_t *n);

#endif
