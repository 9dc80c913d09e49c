/*
 * INT range expressions (Template Schemas 3.4.1.x): "1-10:2,20-25",
 * "10-1:-1", "-5--1", "7".  A compiled range keeps one segment per
 * comma-separated part (start, step, count), so a range of 10^12 values
 * costs a few dozen bytes; range_expr_get() maps an index to its value by
 * binary search over cumulative counts, never materialising the list.
 *
 * The spec (3.4.1.1.1) defines the value list in increasing order, so a
 * compiled range is canonical: segments sorted ascending with positive
 * steps ("10-1:-3" is stored as 1-10:3 and yields 1, 4, 7, 10; "20-25,1-3"
 * yields 1..3 then 20..25), adjacent parts with the same step merged.
 * Parts whose spans overlap are an error.  Every endpoint and step must
 * satisfy |v| < 2^62 so that all derived arithmetic is exact in 64 bits
 * (the openjd-rs bound).
 *
 * The formatter goes the other way: a list of values (or a slice of a
 * range) becomes a canonical expression such as "1-5", "1-9:2" or
 * "1-3,7" (used for CHUNK[INT] task values).
 */
#ifndef DROVER_RANGE_H
#define DROVER_RANGE_H

#include <stddef.h>
#include <stdint.h>

/* Bound on |endpoint| and |step|: values must be strictly below this. */
#define RANGE_VALUE_LIMIT	((int64_t)1 << 62)
/* Bound on the number of comma-separated parts. */
#define RANGE_MAX_PARTS		10000

struct range_seg {
	int64_t		 start;		/* first value */
	int64_t		 step;		/* > 0 (1 for a single value) */
	uint64_t	 count;		/* >= 1 values: start + k*step, k < count */
};

struct range_expr {
	struct range_seg *segs;
	uint64_t	 *cum;		/* cum[i] = values before segs[i]; nsegs+1 entries */
	size_t		  nsegs;
	uint64_t	  count;	/* total number of values (= cum[nsegs]) */
};

/*
 * Checks the syntax and the rules: non-empty, integers in range, step not
 * zero and with the sign of (end - start) (a descending part needs a
 * negative step; "10-1" is invalid), a single value takes no step, parts
 * do not overlap, at most RANGE_MAX_PARTS parts.  Spaces and tabs are
 * allowed around numbers and punctuation.  Returns 0 when valid; else -1,
 * *err_offset = 0-based byte offset of the problem in text and
 * *err_msg = malloc'd lowercase message (caller frees).  Either output
 * pointer may be NULL.
 */
int	range_expr_validate(const char *text, size_t *err_offset,
	    char **err_msg);

/*
 * Compiles text (same rules and error outputs as range_expr_validate()).
 * Returns a new range (free with range_expr_free()) or NULL.
 */
struct range_expr *range_expr_parse(const char *text, size_t *err_offset,
	    char **err_msg);
void	range_expr_free(struct range_expr *);

static inline uint64_t
range_expr_count(const struct range_expr *r)
{
	return r->count;
}

/* Value at index (0 <= index < count; caller checks). O(log nsegs). */
int64_t	range_expr_get(const struct range_expr *, uint64_t index);
/* Index of the segment holding index (binary search over cum). */
size_t	range_expr_seg_of(const struct range_expr *, uint64_t index);
/* Index of value v, or -1 if v is not in the range.  O(log nsegs). */
int64_t	range_expr_index_of(const struct range_expr *, int64_t v);
/* 1 if v is one of the values. O(log nsegs). */
int	range_expr_contains(const struct range_expr *, int64_t v);

/*
 * Canonical text for a list of values, as openjd-rs renders a CHUNK[INT]
 * chunk: runs of 3 or more values with a constant positive step become
 * "a-b" (step 1) or "a-b:s", other values stand alone; the parts are then
 * sorted and parts continuing each other with the same step merged; a
 * two-value part is written "a,b".  Examples: [1,2,3,4,5] -> "1-5",
 * [1,2,3,7] -> "1-3,7", [1,3,5] -> "1-5:2", [7,8] -> "7,8", [5] -> "5",
 * [] -> "".  For increasing input this is just the run compression.
 * Returns malloc'd text.
 */
char	*range_format(const int64_t *v, size_t n);
/*
 * The same text as range_format() of the n values at indexes
 * first..first+n-1 of r, computed from the segments (cost O(segments
 * touched x log), not O(n)).  "" if the slice is empty or out of range.
 */
char	*range_expr_format_slice(const struct range_expr *r, uint64_t first,
	    uint64_t n);
/* Canonical text of the whole range (range_expr_format_slice(r, 0, count)). */
char	*range_expr_format(const struct range_expr *r);
/*
 * snprintf-like forms of the two above: write at most cap bytes (always
 * NUL-terminated when cap > 0) and return the full length of the text.
 * range_expr_format_slice_r() never allocates; range_format_r() allocates
 * a temporary array of n parts.
 */
size_t	range_format_r(const int64_t *v, size_t n, char *out, size_t cap);
size_t	range_expr_format_slice_r(const struct range_expr *r, uint64_t first,
	    uint64_t n, char *out, size_t cap);

/* Formats v in decimal into buf (at least 21 bytes); returns the length. */
size_t	range_int_format(int64_t v, char *buf);

#endif
