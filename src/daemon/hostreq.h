/*
 * This host's capabilities and the matching of a step's <HostRequirements>
 * (Template Schemas 3.3) against them.  Standard amounts:
 * amount.worker.vcpu (CPUs), amount.worker.memory (MiB),
 * amount.worker.gpu, amount.worker.gpu.memory (0 here),
 * amount.worker.disk.scratch (GiB of the sessions file system); standard
 * attributes: attr.worker.os.family (linux), attr.worker.cpu.arch
 * (x86_64/arm64).  The config file adds its own ("capabilities.amount.X =
 * 4", "capabilities.attr.Y = a, b") and may override the standard ones.
 * Names and attribute values compare case-insensitively.
 *
 * Amounts are reserved while a session runs: a step asking for at least 4
 * vCPUs holds 4 of the host's until its session ends.
 */
#ifndef DROVER_HOSTREQ_H
#define DROVER_HOSTREQ_H

#include <stddef.h>

#include <jansson.h>

struct config;

struct host_amount {
	char	*name;		/* lower case */
	double	 total;
	double	 used;		/* reserved by running sessions */
};

struct host_attr {
	char	*name;		/* lower case */
	char	**values;	/* lower case */
	size_t	 nvalues;
};

struct host_caps {
	struct host_amount	*amounts;
	size_t			 namounts;
	struct host_attr	*attrs;
	size_t			 nattrs;
};

/* Detects this host and applies the config (may be NULL); sessions_dir
 * gives amount.worker.disk.scratch (NULL: 0). */
void	host_caps_init(struct host_caps *, const struct config *,
	    const char *sessions_dir);
void	host_caps_release(struct host_caps *);

/*
 * 1 if a step with these requirements (a <HostRequirements> object, or
 * NULL) can ever run here; else 0 with *why (malloc'd), e.g.
 * "amount.worker.vcpu: needs at least 64, this host has 2".
 */
int	host_check(const struct host_caps *, const json_t *req, char **why);
/*
 * Reservation: the amounts (one per host amount, in host order) that a
 * session of a step with these requirements holds.  host_fits() says if
 * they are free now; host_take()/host_give() reserve and release them.
 * take must have namounts slots.
 */
void	host_amounts_needed(const struct host_caps *, const json_t *req,
	    double *take);
int	host_fits(const struct host_caps *, const double *take);
void	host_take(struct host_caps *, const double *take);
void	host_give(struct host_caps *, const double *take);

#endif
