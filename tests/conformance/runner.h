/*
 * The conformance runner: one program, several modes.
 *
 *	conformance-runner templates [-v] [SUITE...]
 *	conformance-runner jobs ...		(to be added)
 *
 * A mode is a function in its own file (mode-<name>.c) listed in the
 * mode table of runner.c; this header holds what modes share: where the
 * corpus is, folder listing, and the per-folder tally that prints the
 * "FOLDER: N passed, N failed, N skipped" line.
 *
 * Adding a mode: write mode-<name>.c defining
 *	int mode_<name>_main(int argc, char **argv);
 * declare it below, add it to modes[] in runner.c, add the file to
 * tests/conformance/CMakeLists.txt and register its suites there.
 */
#ifndef DROVER_CONFORMANCE_RUNNER_H
#define DROVER_CONFORMANCE_RUNNER_H

#include <stddef.h>

struct tally {
	int	passed;
	int	failed;
	int	skipped;
};

/* DROVER_SHARED/conformance (env DROVER_SHARED, else the build default). */
const char	*corpus_dir(void);
/* The source tree (env DROVER_SOURCE_DIR, else the build default). */
const char	*source_dir(void);
/* 1 if path is an existing directory. */
int		 is_dir(const char *path);
/*
 * Sorted names of the regular files in dir ending in one of the
 * NULL-terminated suffixes; *n set.  Free with names_free().  NULL (and
 * *n = 0) if dir cannot be opened.
 */
char		**list_files(const char *dir, const char *const *suffixes,
		    size_t *n);
/* Sorted names of the subdirectories of dir (not "." or ".."). */
char		**list_dirs(const char *dir, size_t *n);
void		 names_free(char **names, size_t n);
/* 1 if s ends with suffix. */
int		 ends_with(const char *s, const char *suffix);
/* Prints "label: N passed, N failed, N skipped". */
void		 tally_print(const char *label, const struct tally *);

/* Modes. */
int	mode_templates_main(int argc, char **argv);
int	mode_jobcreate_main(int argc, char **argv);

#endif
