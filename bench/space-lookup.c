/*
 * space-lookup: index -> parameter values lookups per second on a
 * 10^6-task space (Frame 1-1000 x Layer 1-1000, both range expressions),
 * using the non-allocating space_get_r().  Runs for about one second
 * (or the number of seconds given as the first argument) and prints
 *	space-lookup: N lookups/s
 * Indexes follow a fixed pseudo-random walk so the work is not a scan.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/error.h"
#include "model/space.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	const char *text = "{\"taskParameterDefinitions\": ["
	    "{\"name\": \"Frame\", \"type\": \"INT\", \"range\": \"1-1000\"},"
	    "{\"name\": \"Layer\", \"type\": \"INT\", \"range\": \"1-1000\"}]}";
	struct error_list el = ERROR_LIST_INIT;
	json_t *j = json_loads(text, 0, NULL);
	struct space *sp;
	double secs = argc > 1 ? atof(argv[1]) : 1.0, t0, t;
	uint64_t n = 0, count, x = 12345, sum = 0;
	const char *values[2];
	char buf[64];

	if (j == NULL || (sp = space_new(j, &el, "bench")) == NULL) {
		error_list_print(&el, stderr);
		return 1;
	}
	count = space_count(sp);
	if (count != 1000000) {
		fprintf(stderr, "space-lookup: unexpected count %llu\n",
		    (unsigned long long)count);
		return 1;
	}
	t0 = now();
	do {
		int k;

		for (k = 0; k < 65536; k++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			if (space_get_r(sp, (x >> 33) % count, values, buf,
			    sizeof(buf)) < 0)
				return 1;
			sum += (unsigned char)values[0][0] +
			    (unsigned char)values[1][1];
		}
		n += 65536;
		t = now() - t0;
	} while (t < secs);
	printf("space-lookup: %.0f lookups/s\n", (double)n / t);
	if (sum == 0)
		fprintf(stderr, "space-lookup: checksum %llu\n",
		    (unsigned long long)sum);
	space_free(sp);
	json_decref(j);
	error_list_release(&el);
	return 0;
}
