/*
 * What the benchmark programs share: a monotonic clock in seconds.
 */
#ifndef DROVER_BENCH_H
#define DROVER_BENCH_H

#include <time.h>

static inline double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
