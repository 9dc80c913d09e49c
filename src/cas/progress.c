/* The transfer progress bar (see progress.h). */
#include <string.h>

#include "cas/fsutil.h"
#include "cas/progress.h"

#define BAR_WIDTH	24

void
cas_progress_format(char *buf, size_t bufsz, const char *label,
    uint64_t done_files, uint64_t total_files, uint64_t done_bytes,
    uint64_t total_bytes, double seconds)
{
	char bar[BAR_WIDTH + 1], b1[32], b2[32], b3[32];
	double frac;
	int fill;

	if (total_bytes > 0)
		frac = (double)done_bytes / (double)total_bytes;
	else
		frac = total_files ? (double)done_files / (double)total_files : 1;
	if (frac > 1)
		frac = 1;
	fill = (int)(frac * BAR_WIDTH);
	for (int i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	if (seconds < 1e-3)
		seconds = 1e-3;
	if (total_files == 0 && total_bytes == 0) {
		/* totals unknown (still walking): counts and rates only */
		cas_fmt_bytes(done_bytes, b1, sizeof(b1));
		cas_fmt_bytes((uint64_t)((double)done_bytes / seconds), b3,
		    sizeof(b3));
		snprintf(buf, bufsz, "%s  %s  %s/s  %llu files  %.0f files/s",
		    label, b1, b3, (unsigned long long)done_files,
		    (double)done_files / seconds);
		return;
	}
	cas_fmt_bytes(done_bytes, b1, sizeof(b1));
	cas_fmt_bytes(total_bytes, b2, sizeof(b2));
	cas_fmt_bytes((uint64_t)((double)done_bytes / seconds), b3, sizeof(b3));
	snprintf(buf, bufsz, "%s [%s] %3d%%  %s / %s  %s/s  %llu/%llu files  "
	    "%.0f files/s", label, bar, (int)(frac * 100), b1, b2, b3,
	    (unsigned long long)done_files, (unsigned long long)total_files,
	    (double)done_files / seconds);
}

void
cas_progress_init(struct cas_progress *p, const char *label, int enabled,
    uint64_t total_files, uint64_t total_bytes)
{
	memset(p, 0, sizeof(*p));
	p->enabled = enabled;
	p->fp = stderr;
	p->label = label;
	p->total_files = total_files;
	p->total_bytes = total_bytes;
	p->start = cas_mono();
	pthread_mutex_init(&p->mu, NULL);
}

static void
draw(struct cas_progress *p, double now)
{
	char line[256];

	cas_progress_format(line, sizeof(line), p->label, p->done_files,
	    p->total_files, p->done_bytes, p->total_bytes, now - p->start);
	fprintf(p->fp, "\r%s\033[K", line);
	fflush(p->fp);
	p->last_draw = now;
	p->drawn = 1;
}

void
cas_progress_add(struct cas_progress *p, uint64_t files, uint64_t bytes)
{
	double now;

	if (!p->enabled)
		return;		/* nothing to draw: no shared state to touch */
	pthread_mutex_lock(&p->mu);
	p->done_files += files;
	p->done_bytes += bytes;
	if (p->enabled) {
		now = cas_mono();
		if (now - p->last_draw >= 0.1)
			draw(p, now);
	}
	pthread_mutex_unlock(&p->mu);
}

void
cas_progress_finish(struct cas_progress *p)
{
	if (p->enabled) {
		draw(p, cas_mono());
		fputc('\n', p->fp);
	}
	pthread_mutex_destroy(&p->mu);
}
