/*
 * A one-line progress bar on stderr for long transfers: percentage (when
 * the totals are known), bytes, bytes per second and files per second,
 * redrawn at most ten times a second.  Disabled (silent) unless enabled, which callers do when stderr
 * is a terminal.  Thread-safe.
 */
#ifndef DROVER_CAS_PROGRESS_H
#define DROVER_CAS_PROGRESS_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

struct cas_progress {
	int		 enabled;
	FILE		*fp;
	const char	*label;		/* "downloading"; borrowed */
	uint64_t	 total_files;
	uint64_t	 total_bytes;
	uint64_t	 done_files;
	uint64_t	 done_bytes;
	double		 start;
	double		 last_draw;
	int		 drawn;
	pthread_mutex_t	 mu;
};

void	cas_progress_init(struct cas_progress *, const char *label,
	    int enabled, uint64_t total_files, uint64_t total_bytes);
/* Adds work done (files finished, bytes moved). */
void	cas_progress_add(struct cas_progress *, uint64_t files, uint64_t bytes);
/* Draws the final state and a newline (if anything was drawn); releases. */
void	cas_progress_finish(struct cas_progress *);
/*
 * The line for the given state, into buf (used by tests).  With both
 * totals 0 (not known yet) it has no bar or percentage.
 */
void	cas_progress_format(char *buf, size_t bufsz, const char *label,
	    uint64_t done_files, uint64_t total_files, uint64_t done_bytes,
	    uint64_t total_bytes, double seconds);

#endif
