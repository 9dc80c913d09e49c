/*
 * drover attach: job attachments — snapshot a directory into a v2023-03-03
 * manifest, upload it into a content-addressed store, download a manifest
 * from stores into a directory, compare two manifests or trees; and the
 * file-system watcher that `snapshot --watch` uses (cas/watch.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cas/fsutil.h"
#include "cas/hashcache.h"
#include "cas/manifest.h"
#include "cas/store.h"
#include "cas/tree.h"
#include "cas/watch.h"
#include "cli/cmd.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"

struct attach_args {
	const char	*output;	/* -o */
	const char	*to;		/* --to */
	const char	**stores;	/* --store, repeatable */
	size_t		 nstores;
	int		 threads;
	int		 no_cache;
	int		 progress;	/* -1 auto, 0 off, 1 on */
	int		 stats;
	int		 verify;
	int		 watch;		/* snapshot --watch */
	int		 stop;		/* watch --stop */
	int		 status;	/* watch --status */
	int64_t		 idle_ms;	/* watch --idle, 0: default */
	int		 ready_fd;	/* watch --ready-fd, -1: none */
	char		**pos;		/* positional arguments */
	int		 npos;
};

static int
attach_parse(int argc, char **argv, struct attach_args *a)
{
	enum { OPT_STORE = 256, OPT_TO, OPT_NO_CACHE, OPT_PROGRESS,
	    OPT_NO_PROGRESS, OPT_STATS, OPT_VERIFY, OPT_WATCH, OPT_STOP,
	    OPT_STATUS, OPT_IDLE, OPT_READY_FD };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "to", required_argument, NULL, OPT_TO },
		{ "no-cache", no_argument, NULL, OPT_NO_CACHE },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "watch", no_argument, NULL, OPT_WATCH },
		{ "stop", no_argument, NULL, OPT_STOP },
		{ "status", no_argument, NULL, OPT_STATUS },
		{ "idle", required_argument, NULL, OPT_IDLE },
		{ "ready-fd", required_argument, NULL, OPT_READY_FD },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	double secs;
	int c;

	memset(a, 0, sizeof(*a));
	a->progress = -1;
	a->ready_fd = -1;
	a->stores = xcalloc((size_t)argc + 1, sizeof(*a->stores));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:j:", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			a->output = optarg;
			break;
		case 'j':
			a->threads = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || a->threads < 1 || a->threads > 256) {
				fprintf(stderr, "drover attach: bad -j value '%s'\n",
				    optarg);
				return -1;
			}
			break;
		case OPT_STORE:
			a->stores[a->nstores++] = optarg;
			break;
		case OPT_TO:
			a->to = optarg;
			break;
		case OPT_NO_CACHE:
			a->no_cache = 1;
			break;
		case OPT_PROGRESS:
			a->progress = 1;
			break;
		case OPT_NO_PROGRESS:
			a->progress = 0;
			break;
		case OPT_STATS:
			a->stats = 1;
			break;
		case OPT_VERIFY:
			a->verify = 1;
			break;
		case OPT_WATCH:
			a->watch = 1;
			break;
		case OPT_STOP:
			a->stop = 1;
			break;
		case OPT_STATUS:
			a->status = 1;
			break;
		case OPT_IDLE:
			secs = strtod(optarg, &end);
			if (*end != '\0' || !(secs > 0) || secs > 1e9) {
				fprintf(stderr, "drover attach: bad --idle value "
				    "'%s'\n", optarg);
				return -1;
			}
			a->idle_ms = (int64_t)(secs * 1000);
			if (a->idle_ms < 1)
				a->idle_ms = 1;
			break;
		case OPT_READY_FD:
			a->ready_fd = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || a->ready_fd < 0) {
				fprintf(stderr, "drover attach: bad --ready-fd "
				    "value '%s'\n", optarg);
				return -1;
			}
			break;
		default:
			fprintf(stderr, "drover attach: unknown or incomplete "
			    "option '%s'\n", argv[optind - 1]);
			return -1;
		}
	}
	a->pos = argv + optind;
	a->npos = argc - optind;
	return 0;
}

static void
print_stats_more(const char *what, const struct cas_stats *s,
    const char *more)
{
	fprintf(stderr, "%s: files=%llu bytes=%llu hashed=%llu cached=%llu "
	    "stored=%llu stored_bytes=%llu present=%llu repaired=%llu "
	    "skipped=%llu%s\n", what,
	    (unsigned long long)s->files, (unsigned long long)s->bytes,
	    (unsigned long long)s->hashed_files,
	    (unsigned long long)s->cached_files,
	    (unsigned long long)s->stored_files,
	    (unsigned long long)s->stored_bytes,
	    (unsigned long long)s->present_files,
	    (unsigned long long)s->repaired_files,
	    (unsigned long long)s->skipped_entries, more);
}

static void
print_stats(const char *what, const struct cas_stats *s)
{
	print_stats_more(what, s, "");
}

/* Opens the hash cache unless disabled; a failure only costs speed. */
static struct cas_hashcache *
open_cache(const struct attach_args *a)
{
	struct cas_hashcache *hc = NULL;
	char *path, *err = NULL;

	if (a->no_cache)
		return NULL;
	path = cas_hashcache_default_path();
	if (cas_hashcache_open(&hc, path, &err) == -1) {
		log_warnx("%s; continuing without it", err);
		free(err);
		hc = NULL;
	}
	free(path);
	return hc;
}

static void
opts_from_args(const struct attach_args *a, struct cas_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->threads = a->threads;
	o->hc = open_cache(a);
	o->progress = a->progress == -1 ? isatty(STDERR_FILENO) : a->progress;
	o->verify = a->verify;
}

/* Writes manifest bytes to path (atomically) or to stdout for "-"/NULL. */
static int
emit_bytes(const char *path, const char *data, size_t len)
{
	struct stat st;
	char *err = NULL;

	if (path == NULL || strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout)) {
			log_warn("cannot write manifest");
			return -1;
		}
		return 0;
	}
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* a device, FIFO or symbolic link: write into it, never
		 * replace it (renaming over /dev/null would be a disaster) */
		int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

		if (fd == -1 || cas_write_all(fd, data, len) == -1 ||
		    close(fd) == -1) {
			fprintf(stderr, "drover attach: cannot write '%s': %s\n",
			    path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (cas_write_file_atomic(path, data, len, 0666, &err) == -1) {
		fprintf(stderr, "drover attach: %s\n", err);
		free(err);
		return -1;
	}
	return 0;
}

static int
emit_manifest(const char *path, const struct buf *b)
{
	return emit_bytes(path, b->s, b->len);
}

/* snapshot --watch: through the file-system watcher (cas/watch.h) */
static int
attach_snapshot_watch(struct attach_args *a)
{
	struct cas_watch_result r;
	struct cas_stats st;
	struct cas_opts o;
	struct buf more = BUF_INIT;
	char *err = NULL;
	int rc = EXIT_OK;

	memset(&o, 0, sizeof(o));
	o.threads = a->threads;
	o.progress = a->progress == -1 ? isatty(STDERR_FILENO) : a->progress;
	if (cas_watch_snapshot(a->pos[0], &o, !a->no_cache, &r, &st,
	    &err) == -1) {
		fprintf(stderr, "drover attach snapshot: %s\n", err);
		rc = EXIT_FAIL;
	} else if (emit_bytes(a->output, r.data, r.len) == -1)
		rc = EXIT_SYSTEM;
	if (r.how == CAS_WATCH_FULL && r.why != NULL)
		log_info("--watch: walked in full: %s", r.why);
	if (a->stats && rc != EXIT_FAIL) {
		if (r.how == CAS_WATCH_UNCHANGED)
			buf_adds(&more, " watch=unchanged");
		else if (r.how == CAS_WATCH_PATCHED)
			buf_addf(&more, " watch=patched %zu", r.npaths);
		else
			buf_addf(&more, " watch=full (%s)", r.why ? r.why :
			    "?");
		print_stats_more("snapshot", &st, more.s);
	}
	buf_release(&more);
	free(err);
	cas_watch_result_release(&r);
	return rc;
}

/* the watcher itself (hidden), --stop and --status */
static int
attach_watch(const struct cmd_entry *c, struct attach_args *a)
{
	struct buf out = BUF_INIT;
	char *err = NULL;
	int rc;

	if (a->npos != 1)
		return cmd_usage_error(c, "watch needs one DIR");
	if (a->stop || a->status) {
		rc = a->stop ? cas_watch_stop(a->pos[0], &err) :
		    cas_watch_status(a->pos[0], &out, &err);
		if (rc == 1) {
			fprintf(stderr, "drover attach watch: %s\n", err);
			rc = EXIT_FAIL;
		} else if (rc == -1) {
			fprintf(stderr, "drover attach watch: %s\n", err);
			rc = EXIT_SYSTEM;
		} else {
			if (a->status)
				printf("%s\n", out.s);
			rc = EXIT_OK;
		}
		buf_release(&out);
		free(err);
		return rc;
	}
	rc = cas_watch_serve(a->pos[0], a->ready_fd, a->idle_ms > 0 ?
	    a->idle_ms : cas_watch_idle_ms(), &err);
	if (rc == -1) {
		log_warnx("%s", err);
		free(err);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int
attach_snapshot(const struct cmd_entry *c, struct attach_args *a)
{
	struct cas_stats st;
	struct cas_opts o;
	struct buf b = BUF_INIT;
	char *err = NULL;
	int rc = EXIT_OK;

	if (a->npos != 1)
		return cmd_usage_error(c, "snapshot needs one DIR");
	if (a->watch)
		return attach_snapshot_watch(a);
	opts_from_args(a, &o);
	/* the walk writes the canonical bytes directly, in order */
	if (cas_snapshot_bytes(a->pos[0], &o, &b, &st, &err) == -1) {
		fprintf(stderr, "drover attach snapshot: %s\n", err);
		rc = EXIT_FAIL;
	} else {
		if (emit_manifest(a->output, &b) == -1)
			rc = EXIT_SYSTEM;
		if (a->stats)
			print_stats("snapshot", &st);
	}
	free(err);
	buf_release(&b);
	cas_hashcache_close(o.hc);
	return rc;
}

static int
attach_upload(const struct cmd_entry *c, struct attach_args *a)
{
	struct cas_store store;
	struct cas_stats st;
	struct cas_opts o;
	struct buf b = BUF_INIT;
	char *err = NULL, mhash[CAS_HASH_HEXLEN + 1];
	int rc = EXIT_OK;

	if (a->npos != 1)
		return cmd_usage_error(c, "upload needs one DIR");
	if (a->nstores != 1)
		return cmd_usage_error(c, "upload needs exactly one --store PATH");
	if (cas_store_open(&store, a->stores[0], 1, &err) == -1) {
		fprintf(stderr, "drover attach upload: %s\n", err);
		free(err);
		return EXIT_SYSTEM;
	}
	opts_from_args(a, &o);
	if (cas_upload_bytes(a->pos[0], &store, &o, &b, &st, &err) == -1) {
		fprintf(stderr, "drover attach upload: %s\n", err);
		rc = EXIT_FAIL;
		goto out;
	}
	if (cas_store_put_manifest(&store, b.s, b.len, mhash, &err) == -1) {
		fprintf(stderr, "drover attach upload: %s\n", err);
		rc = EXIT_SYSTEM;
		goto out;
	}
	if (a->output != NULL && emit_manifest(a->output, &b) == -1) {
		rc = EXIT_SYSTEM;
		goto out;
	}
	printf("%s\n", mhash);
	if (a->stats)
		print_stats("upload", &st);
out:
	free(err);
	buf_release(&b);
	cas_store_release(&store);
	cas_hashcache_close(o.hc);
	return rc;
}

static int
attach_download(const struct cmd_entry *c, struct attach_args *a)
{
	struct cas_manifest m = CAS_MANIFEST_INIT;
	struct error_list el = ERROR_LIST_INIT;
	struct cas_store *stores;
	struct cas_stats st;
	struct cas_opts o;
	char *err = NULL;
	size_t n = 0;
	int rc = EXIT_OK;

	if (a->npos != 1)
		return cmd_usage_error(c, "download needs one MANIFEST");
	if (a->nstores == 0 || a->to == NULL)
		return cmd_usage_error(c, "download needs --store PATH and "
		    "--to DIR");
	stores = xcalloc(a->nstores, sizeof(*stores));
	for (n = 0; n < a->nstores; n++) {
		if (cas_store_open(&stores[n], a->stores[n], 0, &err) == -1) {
			fprintf(stderr, "drover attach download: %s\n", err);
			rc = EXIT_FAIL;
			goto out;
		}
	}
	if (cas_store_load_manifest(&stores[0], a->pos[0], &m, &el) == -1) {
		error_list_print(&el, stderr);
		rc = EXIT_FAIL;
		goto out;
	}
	opts_from_args(a, &o);
	if (cas_download(&m, stores, a->nstores, a->to, &o, &st, &err) == -1) {
		fprintf(stderr, "drover attach download: %s\n", err);
		rc = EXIT_FAIL;
	} else if (a->stats)
		print_stats("download", &st);
	cas_hashcache_close(o.hc);
out:
	for (size_t k = 0; k < n; k++)
		cas_store_release(&stores[k]);
	free(stores);
	free(err);
	error_list_release(&el);
	cas_manifest_release(&m);
	return rc;
}

static void
diff_print(void *arg, enum cas_change ch, const struct cas_file *x,
    const struct cas_file *y)
{
	struct buf b = BUF_INIT;

	(void)arg;
	cas_json_string(&b, (x ? x : y)->path);
	/* quoted only when the path needs escaping, like git */
	if (b.len == strlen((x ? x : y)->path) + 2)
		printf("%c %s\n", (int)ch, (x ? x : y)->path);
	else
		printf("%c %s\n", (int)ch, b.s);
	buf_release(&b);
}

/* A manifest from a file, a directory (snapshot) or a hash in --store. */
static int
diff_load(const struct attach_args *a, const char *ref, struct cas_manifest *m,
    struct cas_opts *o)
{
	struct error_list el = ERROR_LIST_INIT;
	struct cas_store store;
	struct cas_stats st;
	struct stat sb;
	char *err = NULL;
	int rc;

	if (stat(ref, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		if (cas_snapshot(ref, o, m, &st, &err) == -1) {
			fprintf(stderr, "drover attach diff: %s\n", err);
			free(err);
			return -1;
		}
		return 0;
	}
	if (a->nstores > 0 && cas_store_open(&store, a->stores[0], 0, &err) == 0) {
		rc = cas_store_load_manifest(&store, ref, m, &el);
		cas_store_release(&store);
	} else {
		free(err);
		rc = cas_manifest_load(m, ref, &el);
	}
	if (rc == -1)
		error_list_print(&el, stderr);
	error_list_release(&el);
	return rc;
}

static int
attach_diff(const struct cmd_entry *c, struct attach_args *a)
{
	struct cas_manifest x = CAS_MANIFEST_INIT, y = CAS_MANIFEST_INIT;
	struct cas_opts o;
	int rc;

	if (a->npos != 2)
		return cmd_usage_error(c, "diff needs two manifests or directories");
	opts_from_args(a, &o);
	o.progress = 0;
	if (diff_load(a, a->pos[0], &x, &o) == -1 ||
	    diff_load(a, a->pos[1], &y, &o) == -1)
		rc = EXIT_SYSTEM;
	else
		rc = cas_manifest_diff(&x, &y, diff_print, NULL) ? EXIT_FAIL :
		    EXIT_OK;
	cas_manifest_release(&x);
	cas_manifest_release(&y);
	cas_hashcache_close(o.hc);
	return rc;
}

static int
cmd_attach_exec(int argc, char **argv)
{
	const struct cmd_entry *c = &cmd_attach_entry;
	struct attach_args a;
	const char *sub;
	int rc;

	if (argc < 2)
		return cmd_usage_error(c, "missing subcommand");
	sub = argv[1];
	if (attach_parse(argc - 1, argv + 1, &a) == -1) {
		free(a.stores);
		return cmd_usage_error(c, "bad option");
	}
	if (a.watch && strcmp(sub, "snapshot") != 0)
		rc = cmd_usage_error(c, "--watch is an option of snapshot");
	else if ((a.stop || a.status || a.idle_ms > 0 || a.ready_fd != -1) &&
	    strcmp(sub, "watch") != 0)
		rc = cmd_usage_error(c, "--stop, --status, --idle and --ready-fd "
		    "are options of watch");
	else if (a.stop && a.status)
		rc = cmd_usage_error(c, "watch takes --stop or --status, not both");
	else if (strcmp(sub, "snapshot") == 0)
		rc = attach_snapshot(c, &a);
	else if (strcmp(sub, "upload") == 0)
		rc = attach_upload(c, &a);
	else if (strcmp(sub, "download") == 0)
		rc = attach_download(c, &a);
	else if (strcmp(sub, "diff") == 0)
		rc = attach_diff(c, &a);
	else if (strcmp(sub, "watch") == 0)
		rc = attach_watch(c, &a);
	else
		rc = cmd_usage_error(c, "unknown subcommand '%s'", sub);
	free(a.stores);
	return rc;
}

const struct cmd_entry cmd_attach_entry = {
	.name = "attach",
	.summary = "snapshot, upload, download and compare job attachments",
	.usage = "drover attach snapshot DIR [-o MANIFEST] [--watch] | "
	    "upload DIR --store PATH | download MANIFEST --store PATH --to DIR | "
	    "diff A B | watch --status|--stop DIR",
	.help =
	"DESCRIPTION\n"
	"    Job attachments move a directory tree between hosts through a\n"
	"    content-addressed store.  A manifest (AWS Deadline Cloud's\n"
	"    v2023-03-03 format) lists every file's relative path, XXH3-128\n"
	"    hash, size and mtime in microseconds; the store holds each distinct\n"
	"    content once as Data/<hash>.xxh128.  Manifests are written\n"
	"    canonically, so the same tree always gives the same bytes.\n"
	"\n"
	"    Symbolic links are followed (the manifest holds the content they\n"
	"    point to); empty directories, permissions and special files are not\n"
	"    recorded.  See docs/attachments.md.\n"
	"\n"
	"SUBCOMMANDS\n"
	"    snapshot DIR [-o MANIFEST] [--watch]\n"
	"        Hash DIR and write its manifest to MANIFEST (default: stdout).\n"
	"        With --watch, DIR's file-system watcher says what changed since\n"
	"        the last --watch snapshot, and only that is looked at again\n"
	"        (see WATCHING).\n"
	"    upload DIR --store PATH [-o MANIFEST] [--verify]\n"
	"        Snapshot DIR and copy every file missing from the store into it;\n"
	"        store the manifest as Manifests/<hash>.json and print <hash>.\n"
	"    download MANIFEST --store PATH [--store PATH...] --to DIR\n"
	"        Recreate the manifest's files under DIR, fetching only files\n"
	"        that are missing or differ.  MANIFEST is a file or a manifest\n"
	"        hash in the first store.  Every object is verified; a corrupt\n"
	"        one is reported, moved to the store's Corrupt/ and fetched from\n"
	"        the next --store if there is one (which also repairs the first).\n"
	"    diff A B\n"
	"        Compare two manifests (files, store hashes with --store, or\n"
	"        directories, snapshotted on the fly).  Prints one line per\n"
	"        difference: 'A path' added in B, 'D path' deleted, 'M path'\n"
	"        content changed, 'T path' only the mtime changed.\n"
	"    watch --status DIR\n"
	"        Print the state of DIR's watcher (pid, directories watched,\n"
	"        changes remembered); exit 1 if none runs.\n"
	"    watch --stop DIR\n"
	"        Stop DIR's watcher and wait for it to exit; exit 1 if none\n"
	"        runs.\n"
	"\n"
	"OPTIONS\n"
	"    -o, --output FILE  Also write the manifest to FILE ('-': stdout).\n"
	"    --store PATH       A store directory (created by upload).\n"
	"    --to DIR           Download destination (created if needed).\n"
	"    -j, --jobs N       Worker threads (default: one per CPU).\n"
	"    --no-cache         Do not use the hash cache.\n"
	"    --verify           upload: re-read objects already in the store and\n"
	"                       replace corrupt ones.\n"
	"    --progress, --no-progress\n"
	"                       Force the progress bar (bytes/s, files/s) on or\n"
	"                       off; by default it is shown when stderr is a\n"
	"                       terminal.\n"
	"    --stats            Print counters (files, hashed, cached, stored,\n"
	"                       present, repaired) to stderr; with --watch also\n"
	"                       how the snapshot was answered: watch=unchanged,\n"
	"                       watch=patched N (N paths looked at again) or\n"
	"                       watch=full (why).\n"
	"    --watch            snapshot: answer through DIR's watcher, starting\n"
	"                       it if none runs.\n"
	"\n"
	"WATCHING\n"
	"    snapshot --watch is opt-in, like git's core.fsmonitor.  The first\n"
	"    one starts a watcher for DIR (drover itself, detached; one per real\n"
	"    path) that holds inotify watches on every directory under DIR, and\n"
	"    walks DIR in full, saving the manifest with a token taken before the\n"
	"    walk.  Later ones ask the watcher which paths changed since that\n"
	"    token: none => the saved manifest as it is; a few => only those are\n"
	"    walked again and patched into it; too many, events lost (queue\n"
	"    overflow) or a new watcher => a full walk.  The bytes are always\n"
	"    those a plain snapshot writes.  Symbolic links, files with several\n"
	"    hard links and special files are looked at again every time (a\n"
	"    watcher cannot see what a link points to).  A watcher exits after 30\n"
	"    minutes without a request, when DIR is removed or moved, or with\n"
	"    watch --stop.\n"
	"\n"
	"    What a watcher cannot see: writes through a shared mmap(), and\n"
	"    changes made by other hosts.  Directories on network or FUSE file\n"
	"    systems are not watched (--watch then always walks in full; --stats\n"
	"    says why).\n"
	"\n"
	"FILES\n"
	"    $DROVER_HOME/hash-cache.db\n"
	"        SQLite cache of file hashes by path, size, mtime, ctime and\n"
	"        inode.  DROVER_HOME defaults to $XDG_STATE_HOME/drover, else\n"
	"        ~/.local/state/drover.\n"
	"    $DROVER_HOME/watch/<key>.{sock,pid,lock,log,state}\n"
	"        A watcher's socket, pid, lock and log, and the saved state of\n"
	"        --watch snapshots; <key> is the XXH3-128 of DIR's real path.\n"
	"\n"
	"ENVIRONMENT\n"
	"    DROVER_WATCH_IDLE  Seconds without a request after which a watcher\n"
	"                       started now exits (default 1800).\n"
	"\n"
	"EXIT STATUS\n"
	"    0 success (diff: no differences); 1 failure (diff: differences);\n"
	"    2 usage error; 3 system error (diff: an input could not be read).\n",
	.exec = cmd_attach_exec,
};
