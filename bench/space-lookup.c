/*
 * space-lookup: index -> parameter values lookups per second on a
 * 10^6-task space (Frame 1-1000 x Layer 1-1000, both range expressions),
 * using the non-allocating space_get_r().  Runs for about one second
 * (or the number of seconds given as the first argument) and prints
 *	space-lookup: N lookups/s
 * Indexes follow a fixed pseudo-random walk so the work is not a scan.
 * The peer, timed in the same run, is the hand-written equivalent: div/mod
 * of the index and decimal formatting of both values (what a nested loop
 * over two known ranges costs); the ratio says what generality costs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/error.h"
#include "model/space.h"
#include "bench.h"

/* Decimal text of v into buf; returns the length. */
static size_t
peer_format(int64_t v, char *buf)
{
	char tmp[24];
	size_t n = 0, len = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	buf[len] = '\0';
	return len;
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
	double drover_rate = (double)n / t;
	uint64_t pn = 0;
	double pt;

	t0 = now();
	do {
		for (int k = 0; k < 65536; k++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			uint64_t i = (x >> 33) % count;
			size_t l = peer_format((int64_t)(i / 1000) + 1, buf);
			peer_format((int64_t)(i % 1000) + 1, buf + l + 1);
			sum += (unsigned char)buf[0] + (unsigned char)buf[l + 2];
		}
		pn += 65536;
		pt = now() - t0;
	} while (pt < secs);
	printf("space-lookup: %.0f lookups/s (target > 1e7)\n", drover_rate);
	printf("hand-written div/mod peer: %.0f lookups/s\n", (double)pn / pt);
	printf("ratio: %.2fx of the hand-written peer\n",
	    drover_rate / ((double)pn / pt));
	if (sum == 0)
		fprintf(stderr, "space-lookup: checksum %llu\n",
		    (unsigned long long)sum);
	space_free(sp);
	json_decref(j);
	error_list_release(&el);
	return 0;
}
