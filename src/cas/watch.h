/*
 * A file-system watcher for `drover attach snapshot --watch` (git's
 * builtin fsmonitor, watchman, Bazel's watchfs): re-snapshotting an
 * unchanged tree costs a question to a watcher instead of a stat() of
 * every file.
 *
 * The watcher is drover itself (`drover attach watch ROOT`, started on
 * demand by a snapshot and detached), one per real root path, with its
 * socket, lock, pid file and log under <drover home>/watch/<key>.*, key =
 * the XXH3-128 (hex) of the root's absolute real path.  It holds inotify
 * watches on every directory under the root, and a change set: for each
 * relative path that changed (a file written, created, deleted, renamed,
 * its attributes changed; a directory created, moved or deleted, which
 * stands for everything under it) the sequence number of its last change.
 * A token, "<instance>.<seq>" (instance = 32 random hex digits of this
 * watcher's life), names a moment: "since TOKEN" answers every path
 * changed after it, or "reset" when the watcher cannot (another instance,
 * events lost to a queue overflow, or the change set pruned past the
 * token: it keeps at most CAS_WATCH_MAX_PATHS paths, $DROVER_WATCH_MAX_PATHS
 * in tests, and then forgets the oldest, raising a floor below which
 * tokens are refused).
 *
 * Why an answer is complete (the synchronisation argument).  inotify
 * queues an event inside the system call that makes the change, before
 * that call returns.  A client that asks after some change completed (its
 * request is written after the modifying call returned, in real time) is
 * therefore asking when the event is already in the watcher's inotify
 * queue.  Before answering any request the watcher drains that queue
 * (non-blocking reads until EAGAIN), so every change completed before the
 * request was sent is in the change set with a sequence number at most the
 * token it answers with; changes it drains that happened after the request
 * was sent are reported too (harmless: the client looks at them after the
 * answer).  A client takes its token *before* it walks, so a change made
 * during its walk is after the token and reported next time.
 *
 * Events the watcher handles: a new directory (created or moved in) gets
 * watches on it and everything below before it is reported, as a whole,
 * since files may have appeared in it before its watch existed; a
 * directory deleted or moved away loses its watches; IN_Q_OVERFLOW forgets
 * everything (floor raised) and re-scans the tree for directories missed;
 * a watch that cannot be added (no permission, the inotify watch limit) or
 * a network file system mounted inside the tree make the watcher stop (its
 * clients walk in full, and start a new one next time); the root deleted,
 * moved or unmounted make it exit.  Idle for CAS_WATCH_IDLE_DEFAULT_MS (or
 * $DROVER_WATCH_IDLE seconds, or --idle) without a request, it exits and
 * removes its socket.  Only local file systems are watched (ext2/3/4, xfs,
 * btrfs, tmpfs, overlayfs, f2fs, ...): inotify sees only changes made
 * through this kernel, so NFS, SMB, FUSE and the like are refused, like
 * git refuses network mounts.
 *
 * What a watcher cannot see, and what the client does about it: writes
 * through a shared mmap() (no event), changes made by other hosts on a
 * shared file system (refused above), and what symbolic links point to and
 * other hard links of a file (not under a watched directory entry).  A
 * full walk notes the symbolic links it followed, the entries it skipped
 * and the files with several links (tree.h, cas_walk_notes), and every
 * later snapshot looks at those again.  The mmap case remains: that is why
 * --watch is opt-in (git's and watchman's users share it).
 *
 * The client (cas_watch_snapshot): it keeps per root a state file,
 * <home>/watch/<key>.state, written atomically (temp + rename, with a
 * checksum instead of fsync): the token taken before the walk that made
 * it, the options that shape a manifest, the noted paths, the manifest
 * bytes and an index of their entries.  Next time it asks "since TOKEN":
 * nothing changed (and nothing noted) => the saved bytes as they are; some
 * paths => a partial walk of just those (cas_snapshot_select), merged into
 * the saved entries and written canonically; reset, no state, a root that
 * is not the watcher's, or any error of the partial walk => the normal full
 * walk, recording a new state with a token taken before it.  The bytes are
 * always those a plain snapshot of the same tree writes.
 *
 * Protocol (Unix stream socket, lines; the peer must have our uid):
 *	token			-> token TOK DEV:INO
 *	since TOK		-> changes TOK DEV:INO N, then N paths each
 *				   ended by a NUL byte; or
 *				   reset TOK DEV:INO REASON...
 *	status			-> status TEXT
 *	stop			-> bye (the watcher exits)
 *	anything else		-> error TEXT
 * DEV:INO identify the watched root directory, so that a client never
 * trusts a watcher of a directory that has been replaced by another.
 */
#ifndef DROVER_CAS_WATCH_H
#define DROVER_CAS_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "cas/tree.h"
#include "common/buf.h"

#define CAS_WATCH_IDLE_DEFAULT_MS	(30LL * 60 * 1000)
#define CAS_WATCH_MAX_PATHS		65536
#define CAS_WATCH_TOKEN_MAX		64	/* formatted, with the NUL */

/* ---- tokens and the change set (watch-proto.c) ---- */

struct cas_watch_token {
	char		instance[33];	/* 32 lowercase hex digits */
	uint64_t	seq;
};

void	cas_watch_token_format(const struct cas_watch_token *,
	    char buf[CAS_WATCH_TOKEN_MAX]);
/* Parses "<32 hex>.<decimal>" (exactly len bytes); 0 or -1. */
int	cas_watch_token_parse(const char *s, size_t len,
	    struct cas_watch_token *);

/* String-keyed open-addressing hash map (paths -> sequence, pointer). */
struct cas_wmap_ent {
	char		*key;		/* NULL: empty slot */
	uint64_t	 hash;
	uint64_t	 seq;
	void		*ptr;
};

struct cas_wmap {
	struct cas_wmap_ent *v;
	size_t		 cap;		/* power of two, or 0 */
	size_t		 n;
	int		 own_keys;	/* keys copied and freed by the map */
};

void	cas_wmap_init(struct cas_wmap *, int own_keys);
void	cas_wmap_release(struct cas_wmap *);
struct cas_wmap_ent *cas_wmap_get(const struct cas_wmap *, const char *key);
/* Finds or inserts key (seq 0, ptr NULL when new); the entry stays valid
 * until the next insertion or deletion. */
struct cas_wmap_ent *cas_wmap_put(struct cas_wmap *, const char *key);
/* Removes key if present. */
void	cas_wmap_del(struct cas_wmap *, const char *key);

/*
 * The change set.  Sequence numbers: `cur` is given to changes recorded
 * now; taking a token returns cur and moves it on, so a change recorded
 * after a token was handed out is always newer than the token.  A token
 * is answerable iff floor <= seq < cur.
 */
struct cas_watch_changes {
	struct cas_wmap	 map;		/* path -> seq of its last change */
	uint64_t	 cur;
	uint64_t	 floor;
	uint64_t	 maxseq;	/* newest seq in map, 0 if none */
	size_t		 max;		/* paths kept at most */
};

void	cas_watch_changes_init(struct cas_watch_changes *, size_t max);
void	cas_watch_changes_release(struct cas_watch_changes *);
/* Records a change of path (relative, "" = the root) now. */
void	cas_watch_changes_add(struct cas_watch_changes *, const char *path);
/* A token's sequence number for this moment. */
uint64_t cas_watch_changes_mark(struct cas_watch_changes *);
/* Forgets everything: every token handed out so far gets "reset". */
void	cas_watch_changes_forget(struct cas_watch_changes *);
/*
 * 1 and the paths changed after seq (malloc'd array of borrowed keys,
 * sorted bytewise; valid until the set changes), or 0 if seq cannot be
 * answered (reset).
 */
int	cas_watch_changes_since(const struct cas_watch_changes *, uint64_t seq,
	    const char ***pathsp, size_t *np);

/* ---- protocol messages (watch-proto.c) ---- */

enum cas_watch_req_kind {
	CAS_WREQ_TOKEN,
	CAS_WREQ_SINCE,
	CAS_WREQ_STATUS,
	CAS_WREQ_STOP,
};

struct cas_watch_req {
	enum cas_watch_req_kind	kind;
	struct cas_watch_token	tok;	/* since */
};

/* The request line, with its '\n'. */
void	cas_watch_req_encode(const struct cas_watch_req *, struct buf *out);
/* Parses one line (without '\n'); 0 or -1. */
int	cas_watch_req_parse(const char *line, size_t len,
	    struct cas_watch_req *);

enum cas_watch_rep_kind {
	CAS_WREP_TOKEN,
	CAS_WREP_CHANGES,
	CAS_WREP_RESET,
	CAS_WREP_STATUS,
	CAS_WREP_BYE,
	CAS_WREP_ERROR,
};

struct cas_watch_reply {
	enum cas_watch_rep_kind	 kind;
	struct cas_watch_token	 tok;		/* token, changes, reset */
	uint64_t		 dev, ino;	/* the same */
	char			*text;		/* reset, status, error */
	char			**paths;	/* changes */
	size_t			 npaths;
};

/* text and paths are borrowed while encoding. */
void	cas_watch_reply_encode(const struct cas_watch_reply *, struct buf *out);
/*
 * Parses a reply from the start of data: 0 (r filled, owned by it; *used
 * bytes consumed), 1 if more data is needed, -1 if malformed.
 */
int	cas_watch_reply_parse(const char *data, size_t len,
	    struct cas_watch_reply *r, size_t *used);
void	cas_watch_reply_release(struct cas_watch_reply *);

/* ---- the client's state file (watch-state.c) ---- */

/* An entry of the saved manifest: where its bytes are, its size, path. */
struct cas_watch_ient {
	uint64_t	 off;
	uint64_t	 len;
	uint64_t	 size;
	const char	*path;		/* NUL-terminated, borrowed */
};

/* Appends an index entry (the encoding the state file stores). */
void	cas_watch_index_add(struct buf *idx, const char *path, uint64_t off,
	    uint64_t len, uint64_t size);
/* Reads the entry at *pos in idx[0..len), advancing *pos; 0, 1 at the
 * end, -1 if malformed. */
int	cas_watch_index_next(const char *idx, size_t len, size_t *pos,
	    struct cas_watch_ient *);

/*
 * A decoded state: strings and byte ranges point into the file's bytes,
 * which it owns (a mapping or a copy).
 */
struct cas_watch_state {
	const char		*root;
	const char		*config;
	struct cas_watch_token	 token;
	uint64_t		 files;
	uint64_t		 total;
	const char		**notes;	/* malloc'd array */
	size_t			 nnotes;
	const char		*manifest;
	size_t			 mlen;
	const char		*index;		/* files entries */
	size_t			 ilen;
	void			*mem;		/* private */
	size_t			 memlen;
	int			 mapped;
};

/*
 * Encodes a state into out: strings and ranges are borrowed from st (mem
 * unused).
 */
void	cas_watch_state_encode(const struct cas_watch_state *, struct buf *out);
/*
 * Decodes data[0..len) (checksum and bounds checked) into st, which
 * takes data over (malloc'd, freed by _release).  0, or -1 with *errp set
 * (data freed).
 */
int	cas_watch_state_decode(struct cas_watch_state *, char *data, size_t len,
	    char **errp);
/* Maps and decodes path; 0, or -1 (errno ENOENT if there is none). */
int	cas_watch_state_load(struct cas_watch_state *, const char *path,
	    char **errp);
void	cas_watch_state_release(struct cas_watch_state *);
/* What shapes a manifest, recorded with it (another => a full walk). */
const char *cas_watch_config(void);

/* ---- the watcher process (watch.c) ---- */

/* Where a root's watcher keeps its files. */
struct cas_watch_files {
	char	*dir;		/* <home>/watch */
	char	 key[33];
	char	*sock;		/* <key>.sock */
	char	*lock;		/* <key>.lock: held by the watcher */
	char	*start;		/* <key>.start: held by a client starting it */
	char	*pid;		/* <key>.pid */
	char	*state;		/* <key>.state: the client's */
	char	*log;		/* <key>.log: the watcher's stderr */
};

/* root: an absolute real path. */
void	cas_watch_files_init(struct cas_watch_files *, const char *root);
void	cas_watch_files_release(struct cas_watch_files *);

/*
 * 1 if inotify sees every change of a file system of this statfs type (a
 * local one), else 0; *name is a short name for messages.
 */
int	cas_watch_fs_local(long f_type, const char **name);
/* Idle timeout: $DROVER_WATCH_IDLE (seconds) or the default, in ms. */
int64_t	cas_watch_idle_ms(void);

/*
 * Runs a watcher on root (`drover attach watch ROOT`) until it is stopped,
 * idle or its root goes: returns 0 then.  ready_fd (or -1): written "ok\n"
 * once every watch is set and the socket listens, or "error: ...\n", then
 * closed.  -1 with *errp set if it could not start.
 */
int	cas_watch_serve(const char *root, int ready_fd, int64_t idle_ms,
	    char **errp);

/*
 * Connects to root's watcher (root: absolute real path); if there is none
 * and start is set, starts one (detached, /proc/self/exe attach watch) and
 * waits until it is ready.  Returns the socket, or -1 with *errp set.
 */
int	cas_watch_connect(const char *root, int start, char **errp);
/* One request and its reply on a connected socket; 0 or -1 (*errp). */
int	cas_watch_call(int fd, const struct cas_watch_req *,
	    struct cas_watch_reply *, char **errp);
/*
 * `attach watch --stop/--status DIR`: 0 done, 1 no watcher runs, -1 error
 * (*errp).  status appends the watcher's status line to out.
 */
int	cas_watch_stop(const char *dir, char **errp);
int	cas_watch_status(const char *dir, struct buf *out, char **errp);

/* ---- snapshots through the watcher (watch-state.c) ---- */

enum cas_watch_how {
	CAS_WATCH_FULL,		/* walked in full */
	CAS_WATCH_UNCHANGED,	/* the saved manifest as it was */
	CAS_WATCH_PATCHED,	/* some paths walked again */
};

struct cas_watch_result {
	const char		*data;		/* the manifest's bytes */
	size_t			 len;
	enum cas_watch_how	 how;
	size_t			 npaths;	/* patched: paths looked at */
	char			*why;		/* full: why (malloc'd) */
	struct buf		 b;		/* private */
	struct cas_watch_state	 st;		/* private */
};

/*
 * cas_snapshot_bytes() through root's watcher (started if needed); the
 * bytes are always what a full walk would give.  opts->hc is ignored: the
 * hash cache is opened (if use_cache) only when something is walked.  A
 * watcher that cannot be used is no error: the walk is then full and
 * r->why says why.  0, or -1 with *errp set (the walk's errors).
 */
int	cas_watch_snapshot(const char *dir, const struct cas_opts *,
	    int use_cache, struct cas_watch_result *r, struct cas_stats *,
	    char **errp);
void	cas_watch_result_release(struct cas_watch_result *);

#endif
