/*
 * Managed processes: the application an adaptor drives.  Each one is
 * spawned (posix_spawn) into its own process group with its stdout and
 * stderr on pipes; the adaptor's worker thread reads them line by line in
 * drover_process_pump(), writes each line to the run's output and runs the
 * line handlers (POSIX extended regular expressions) over it.
 *
 * Every live process is registered on the handle, so that a cancel — which
 * arrives on another thread — can signal all their groups: SIGTERM first,
 * SIGKILL when the grace period runs out (runner.c).  Registration and
 * reaping happen under proc_mu so that a group is never signaled after its
 * leader was reaped and its id could have been reused, except in the short
 * windows where stragglers of the group are deliberately hunted down.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adaptor-int.h"

extern char **environ;

#define MAX_GROUPS	16

struct drover_cmd {
	char	**argv;
	size_t	 argc;
	size_t	 argalloc;
	char	**env;		/* "NAME=VALUE" sets, "NAME" unsets */
	size_t	 nenv;
	size_t	 envalloc;
	char	*cwd;
	int	 stdin_pipe;
	int	 oom;
};

struct drover_process {
	drover_adaptor	*a;
	pid_t		 pid;		/* also the process group id */
	int		 in_fd;
	int		 fds[2];	/* stdout, stderr; -1 once at EOF */
	struct dbuf	 bufs[2];	/* partial lines */
	struct drover__handler *h;
	size_t		 nh;
	int		 exited;	/* reaped */
	int		 exit_code;
	long long	 exited_at;
	struct drover_process *next;	/* a->procs */
};

/* ---- command lines ---------------------------------------------------- */

drover_cmd *
drover_cmd_new(void)
{
	return calloc(1, sizeof(struct drover_cmd));
}

void
drover_cmd_free(drover_cmd *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->argc; i++)
		free(c->argv[i]);
	for (i = 0; i < c->nenv; i++)
		free(c->env[i]);
	free(c->argv);
	free(c->env);
	free(c->cwd);
	free(c);
}

static int
push(char ***arr, size_t *n, size_t *alloc, char *s)
{
	char **p;

	if (s == NULL)
		return DROVER_ENOMEM;
	if (*n + 2 > *alloc) {
		size_t na = *alloc ? *alloc * 2 : 8;

		p = realloc(*arr, na * sizeof(char *));
		if (p == NULL) {
			free(s);
			return DROVER_ENOMEM;
		}
		*arr = p;
		*alloc = na;
	}
	(*arr)[(*n)++] = s;
	(*arr)[*n] = NULL;
	return 0;
}

int
drover_cmd_arg(drover_cmd *c, const char *arg)
{
	if (c == NULL || arg == NULL)
		return DROVER_EINVAL;
	if (push(&c->argv, &c->argc, &c->argalloc, drover__strdup(arg)) != 0)
		c->oom = 1;
	return c->oom ? DROVER_ENOMEM : 0;
}

int
drover_cmd_argf(drover_cmd *c, const char *fmt, ...)
{
	struct dbuf b = DBUF_INIT;
	va_list ap;
	int rc;

	if (c == NULL)
		return DROVER_EINVAL;
	va_start(ap, fmt);
	rc = drover__dbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (rc != 0) {
		drover__dbuf_release(&b);
		c->oom = 1;
		return rc;
	}
	if (push(&c->argv, &c->argc, &c->argalloc,
	    drover__dbuf_detach(&b)) != 0)
		c->oom = 1;
	return c->oom ? DROVER_ENOMEM : 0;
}

int
drover_cmd_env(drover_cmd *c, const char *name, const char *value)
{
	char *s;

	if (c == NULL || name == NULL || *name == '\0' || strchr(name, '='))
		return DROVER_EINVAL;
	s = value ? drover__asprintf("%s=%s", name, value) :
	    drover__strdup(name);
	if (push(&c->env, &c->nenv, &c->envalloc, s) != 0)
		c->oom = 1;
	return c->oom ? DROVER_ENOMEM : 0;
}

int
drover_cmd_cwd(drover_cmd *c, const char *dir)
{
	char *s;

	if (c == NULL || dir == NULL)
		return DROVER_EINVAL;
	s = drover__strdup(dir);
	if (s == NULL) {
		c->oom = 1;
		return DROVER_ENOMEM;
	}
	free(c->cwd);
	c->cwd = s;
	return 0;
}

int
drover_cmd_stdin_pipe(drover_cmd *c, int on)
{
	if (c == NULL)
		return DROVER_EINVAL;
	c->stdin_pipe = on != 0;
	return 0;
}

char *
drover__cmd_string(const drover_cmd *c)
{
	struct dbuf b = DBUF_INIT;
	const char *s;
	size_t i;
	int rc = 0;

	for (i = 0; i < c->argc && rc == 0; i++) {
		s = c->argv[i];
		if (i)
			rc = drover__dbuf_adds(&b, " ");
		if (rc == 0 && *s && strpbrk(s, " \t\n'\"\\$`*?[]{}()<>|&;#~")
		    == NULL) {
			rc = drover__dbuf_adds(&b, s);
			continue;
		}
		rc = drover__dbuf_adds(&b, "'");
		for (; *s && rc == 0; s++)
			rc = *s == '\'' ? drover__dbuf_adds(&b, "'\\''") :
			    drover__dbuf_add(&b, s, 1);
		if (rc == 0)
			rc = drover__dbuf_adds(&b, "'");
	}
	if (rc != 0) {
		drover__dbuf_release(&b);
		return NULL;
	}
	return drover__dbuf_detach(&b);
}

/* ---- line handlers ---------------------------------------------------- */

int
drover__handlers_compile(const struct drover_line_handler *hs, size_t n,
    struct drover__handler **out, char *err, size_t errsz)
{
	struct drover__handler *h;
	char msg[256];
	size_t i;
	int rc;

	*out = NULL;
	if (n == 0)
		return 0;
	h = calloc(n, sizeof(*h));
	if (h == NULL) {
		drover__seterr(err, errsz, "out of memory");
		return DROVER_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (hs[i].pattern == NULL || hs[i].cb == NULL) {
			drover__seterr(err, errsz, "line handler %zu has no "
			    "pattern or callback", i);
			drover__handlers_free(h, i);
			return DROVER_EINVAL;
		}
		rc = regcomp(&h[i].re, hs[i].pattern, REG_EXTENDED);
		if (rc != 0) {
			regerror(rc, &h[i].re, msg, sizeof(msg));
			drover__seterr(err, errsz, "bad pattern '%s': %s",
			    hs[i].pattern, msg);
			drover__handlers_free(h, i);
			return DROVER_EINVAL;
		}
		h[i].flags = hs[i].flags;
		h[i].cb = hs[i].cb;
		h[i].arg = hs[i].arg;
	}
	*out = h;
	return 0;
}

void
drover__handlers_free(struct drover__handler *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		regfree(&h[i].re);
	free(h);
}

int
drover__handlers_run(drover_adaptor *a, struct drover__handler *h, size_t n,
    const char *line, int stream)
{
	regmatch_t rm[MAX_GROUPS];
	struct drover_span spans[MAX_GROUPS];
	struct drover_match m;
	size_t i, g, ng;
	unsigned want;
	int matched = 0, result = DROVER_LINE_CONTINUE, r;

	for (i = 0; i < n; i++) {
		want = h[i].flags & (DROVER_LINE_STDOUT | DROVER_LINE_STDERR);
		if (want && !(want & (stream == 2 ? DROVER_LINE_STDERR :
		    DROVER_LINE_STDOUT)))
			continue;
		if (matched && (h[i].flags & DROVER_LINE_ONLY_IF_FIRST))
			continue;
		ng = h[i].re.re_nsub + 1;
		if (ng > MAX_GROUPS)
			ng = MAX_GROUPS;
		if (regexec(&h[i].re, line, ng, rm, 0) != 0)
			continue;
		for (g = 0; g < ng; g++) {
			spans[g].start = (int)rm[g].rm_so;
			spans[g].end = (int)rm[g].rm_eo;
		}
		m.line = line;
		m.stream = stream;
		m.ngroups = ng;
		m.groups = spans;
		r = h[i].cb(a, &m, h[i].arg);
		if (r == DROVER_LINE_ABORT)
			return DROVER_LINE_ABORT;
		if (r == DROVER_LINE_DONE)
			result = DROVER_LINE_DONE;
		matched = 1;
		if (h[i].flags & DROVER_LINE_EXIT_IF_MATCHED)
			break;
	}
	return result;
}

int
drover_match_group(const struct drover_match *m, size_t i, char *buf,
    size_t size)
{
	size_t len, n;

	if (m == NULL || i >= m->ngroups || m->groups[i].start < 0) {
		if (buf && size)
			buf[0] = '\0';
		return -1;
	}
	len = (size_t)(m->groups[i].end - m->groups[i].start);
	if (buf && size) {
		n = len < size - 1 ? len : size - 1;
		memcpy(buf, m->line + m->groups[i].start, n);
		buf[n] = '\0';
	}
	return (int)len;
}

int
drover_match_long(const struct drover_match *m, size_t i, long *out)
{
	char buf[32], *end;
	long v;
	int len;

	len = drover_match_group(m, i, buf, sizeof(buf));
	if (len <= 0 || len >= (int)sizeof(buf))
		return DROVER_EINVAL;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || *end != '\0')
		return DROVER_EINVAL;
	*out = v;
	return 0;
}

/* ---- spawning ---------------------------------------------------------- */

/* The child's environment: ours with the command's changes (malloc'd
 * array of borrowed strings). */
static char **
build_env(const drover_cmd *c)
{
	size_t n = 0, i, j, k, nlen;
	char **env;
	const char *e;

	while (environ && environ[n])
		n++;
	env = calloc(n + c->nenv + 1, sizeof(char *));
	if (env == NULL)
		return NULL;
	k = 0;
	for (i = 0; i < n; i++)
		env[k++] = environ[i];
	for (j = 0; j < c->nenv; j++) {
		e = c->env[j];
		nlen = strcspn(e, "=");
		for (i = 0; i < k; i++)
			if (!strncmp(env[i], e, nlen) && env[i][nlen] == '=')
				break;
		if (i < k) {
			if (e[nlen] == '=')
				env[i] = (char *)e;
			else {
				env[i] = env[k - 1];
				env[--k] = NULL;
			}
		} else if (e[nlen] == '=')
			env[k++] = (char *)e;
	}
	env[k] = NULL;
	return env;
}

/* Finds prog in the PATH of env; malloc'd path or NULL. */
static char *
find_program(const char *prog, char **env)
{
	const char *path = NULL, *p, *colon;
	struct stat st;
	char *cand;
	size_t i;

	if (strchr(prog, '/'))
		return drover__strdup(prog);
	for (i = 0; env[i]; i++)
		if (!strncmp(env[i], "PATH=", 5))
			path = env[i] + 5;
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p = colon + 1) {
		colon = strchr(p, ':');
		cand = drover__asprintf("%.*s/%s", colon ? (int)(colon - p) :
		    (int)strlen(p), p, prog);
		if (cand == NULL)
			return NULL;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (colon == NULL)
			return NULL;
	}
}

int
drover_process_start(drover_adaptor *a, const drover_cmd *c,
    const struct drover_line_handler *hs, size_t nh, drover_process **out)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defs;
	drover_process *p = NULL;
	char err[DROVER__ERRMAX], **env = NULL, *prog = NULL, *line = NULL;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, inp[2] = { -1, -1 };
	int rc, fa_ok = 0, attr_ok = 0, locked = 0;
	pid_t pid;

	*out = NULL;
	if (a == NULL || c == NULL || c->argc == 0)
		return a ? drover_adaptor_error(a, DROVER_EINVAL,
		    "empty command") : DROVER_EINVAL;
	if (c->oom)
		return drover_adaptor_error(a, DROVER_ENOMEM, "out of memory");
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return drover_adaptor_error(a, DROVER_ENOMEM, "out of memory");
	p->a = a;
	p->in_fd = p->fds[0] = p->fds[1] = -1;
	p->exit_code = -1;
	rc = drover__handlers_compile(hs, nh, &p->h, err, sizeof(err));
	if (rc != 0) {
		free(p);
		return drover_adaptor_error(a, rc, "%s", err);
	}
	p->nh = nh;
	env = build_env(c);
	if (env == NULL) {
		rc = drover_adaptor_error(a, DROVER_ENOMEM, "out of memory");
		goto fail;
	}
	prog = find_program(c->argv[0], env);
	if (prog == NULL) {
		rc = drover_adaptor_error(a, DROVER_ENOENT, "command '%s' not "
		    "found in PATH", c->argv[0]);
		goto fail;
	}
	if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0 ||
	    (c->stdin_pipe && pipe2(inp, O_CLOEXEC) != 0)) {
		rc = drover_adaptor_error(a, DROVER_EIO, "pipe: %s",
		    strerror(errno));
		goto fail;
	}
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawnattr_init(&attr) != 0) {
		rc = drover_adaptor_error(a, DROVER_ENOMEM, "out of memory");
		goto fail;
	}
	fa_ok = attr_ok = 1;
	sigemptyset(&none);
	sigemptyset(&defs);
	sigaddset(&defs, SIGINT);
	sigaddset(&defs, SIGTERM);
	sigaddset(&defs, SIGPIPE);
	sigaddset(&defs, SIGHUP);
	sigaddset(&defs, SIGQUIT);
	if (c->stdin_pipe)
		posix_spawn_file_actions_adddup2(&fa, inp[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
		    0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	if (c->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, c->cwd);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defs);

	line = drover__cmd_string(c);
	drover_adaptor_log(a, DROVER_LOG_INFO, "running command: %s",
	    line ? line : c->argv[0]);

	/* Spawn and register atomically with respect to a cancel. */
	pthread_mutex_lock(&a->proc_mu);
	locked = 1;
	if (a->canceled) {
		rc = drover_adaptor_error(a, DROVER_ECANCELED, "canceled");
		goto fail;
	}
	rc = posix_spawn(&pid, prog, &fa, &attr, c->argv, env);
	if (rc != 0) {
		rc = drover_adaptor_error(a, rc == ENOENT ? DROVER_ENOENT :
		    DROVER_EIO, "cannot run '%s': %s", c->argv[0],
		    strerror(rc));
		goto fail;
	}
	p->pid = pid;
	p->next = a->procs;
	a->procs = p;
	pthread_mutex_unlock(&a->proc_mu);
	locked = 0;

	close(outp[1]);
	close(errp[1]);
	p->fds[0] = outp[0];
	p->fds[1] = errp[0];
	drover__set_nonblock(p->fds[0]);
	drover__set_nonblock(p->fds[1]);
	if (c->stdin_pipe) {
		close(inp[0]);
		p->in_fd = inp[1];
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(env);
	free(prog);
	free(line);
	*out = p;
	return 0;
fail:
	if (locked)
		pthread_mutex_unlock(&a->proc_mu);
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (inp[i] >= 0)
			close(inp[i]);
	}
	drover__handlers_free(p->h, p->nh);
	free(p);
	free(env);
	free(prog);
	free(line);
	return rc;
}

int
drover_process_pid(const drover_process *p)
{
	return p ? (int)p->pid : -1;
}

int
drover_process_exit_code(const drover_process *p)
{
	return p && p->exited ? p->exit_code : -1;
}

/* Reaps the process if it has exited (block: wait for it).  The wait
 * itself happens outside proc_mu; the reap inside it. */
static void
reap(drover_process *p, int block)
{
	siginfo_t si;
	int st;
	pid_t r;

	if (p->exited)
		return;
	if (block) {
		memset(&si, 0, sizeof(si));
		while (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOWAIT) != 0
		    && errno == EINTR)
			;
	}
	pthread_mutex_lock(&p->a->proc_mu);
	r = waitpid(p->pid, &st, WNOHANG);
	if (r == p->pid) {
		p->exited = 1;
		p->exited_at = drover__now_ms();
		if (WIFEXITED(st))
			p->exit_code = WEXITSTATUS(st);
		else if (WIFSIGNALED(st))
			p->exit_code = 128 + WTERMSIG(st);
		else
			p->exit_code = 255;
	} else if (r < 0 && errno == ECHILD) {
		p->exited = 1;
		p->exited_at = drover__now_ms();
		p->exit_code = 255;
	}
	pthread_mutex_unlock(&p->a->proc_mu);
}

int
drover_process_running(drover_process *p)
{
	if (p == NULL)
		return 0;
	reap(p, 0);
	return !p->exited;
}

/* Signals the group; after the leader was reaped only when `stragglers`. */
static void
signal_group(drover_process *p, int sig, int stragglers)
{
	pthread_mutex_lock(&p->a->proc_mu);
	if (!p->exited || stragglers)
		kill(-p->pid, sig);
	pthread_mutex_unlock(&p->a->proc_mu);
}

void
drover__procs_signal(drover_adaptor *a, int sig)
{
	drover_process *p;

	pthread_mutex_lock(&a->proc_mu);
	for (p = a->procs; p; p = p->next) {
		/* A reaped leader may have left group members behind; its
		 * group id cannot be reused while they live. */
		kill(-p->pid, sig);
		if (sig == SIGTERM && !p->exited)
			kill(-p->pid, SIGCONT);
	}
	pthread_mutex_unlock(&a->proc_mu);
}

int
drover_process_write(drover_process *p, const void *data, size_t len)
{
	const char *s = data;
	struct pollfd pfd;
	ssize_t n;

	if (p == NULL || p->in_fd < 0)
		return DROVER_EINVAL;
	while (len > 0) {
		n = write(p->in_fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			pfd.fd = p->in_fd;
			pfd.events = POLLOUT;
			(void)poll(&pfd, 1, 100);
			continue;
		}
		if (n < 0)
			return drover_adaptor_error(p->a, DROVER_EIO, "cannot "
			    "write to process %d: %s", (int)p->pid,
			    strerror(errno));
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

int
drover_process_printf(drover_process *p, const char *fmt, ...)
{
	struct dbuf b = DBUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = drover__dbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = drover_process_write(p, b.s, b.len);
	drover__dbuf_release(&b);
	return rc;
}

int
drover_process_close_stdin(drover_process *p)
{
	if (p == NULL)
		return DROVER_EINVAL;
	if (p->in_fd >= 0)
		close(p->in_fd);
	p->in_fd = -1;
	return 0;
}

/* Writes a line of the process to the output and runs the handlers. */
static int
handle_line(drover_process *p, char *line, size_t len, int stream,
    int handlers)
{
	drover__sanitize_line(line, len);
	if (drover__is_openjd_line(line, len))
		drover__emit(p->a, line, len);
	else
		drover__emitf(p->a, "%s: %s", stream == 2 ? "STDERR" :
		    "STDOUT", line);
	if (!handlers)
		return DROVER_LINE_CONTINUE;
	return drover__handlers_run(p->a, p->h, p->nh, line, stream);
}

/* Handles the complete lines buffered for stream i (and the partial one at
 * EOF); stops early on DONE or ABORT. */
static int
drain_lines(drover_process *p, int i, int eof, int handlers)
{
	struct dbuf *b = &p->bufs[i];
	char *nl;
	size_t len;
	int r;

	while (b->len > 0) {
		nl = memchr(b->s, '\n', b->len);
		if (nl == NULL && !eof && b->len < DROVER__LINE_MAX)
			return DROVER_LINE_CONTINUE;
		len = nl ? (size_t)(nl - b->s) :
		    (b->len < DROVER__LINE_MAX ? b->len : DROVER__LINE_MAX);
		if (len > 0 && b->s[len - 1] == '\r')
			b->s[len - 1] = '\0';
		b->s[len] = '\0';
		r = handle_line(p, b->s, strlen(b->s), i + 1, handlers);
		drover__dbuf_consume(b, nl ? len + 1 : len);
		if (r != DROVER_LINE_CONTINUE)
			return r;
	}
	return DROVER_LINE_CONTINUE;
}

/* Reads what is available on stream i; returns DROVER_LINE_* or <0. */
static int
read_stream(drover_process *p, int i, int handlers)
{
	char chunk[16384];
	ssize_t n;

	n = read(p->fds[i], chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return DROVER_LINE_CONTINUE;
	if (n <= 0) {
		close(p->fds[i]);
		p->fds[i] = -1;
		return drain_lines(p, i, 1, handlers);
	}
	if (drover__dbuf_add(&p->bufs[i], chunk, (size_t)n) != 0)
		return drover_adaptor_error(p->a, DROVER_ENOMEM,
		    "out of memory");
	return drain_lines(p, i, 0, handlers);
}

static void
close_streams(drover_process *p, int handlers)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (p->fds[i] < 0)
			continue;
		close(p->fds[i]);
		p->fds[i] = -1;
		(void)drain_lines(p, i, 1, handlers);
	}
}

/*
 * The reading loop shared by pump and terminate.  Returns a DROVER_LINE_*
 * value from the handlers, 0 once the process exited and its output is
 * read, DROVER_ETIMEDOUT at the deadline, or a negative code.
 */
static int
pump_until(drover_process *p, long long deadline, int handlers)
{
	struct pollfd pfd[2];
	long long now;
	int i, n, r, wait_ms, idx[2];

	for (i = 0; i < 2; i++) {
		r = drain_lines(p, i, p->fds[i] < 0, handlers);
		if (r != DROVER_LINE_CONTINUE)
			return r;
	}
	for (;;) {
		if (p->fds[0] < 0 && p->fds[1] < 0) {
			reap(p, 1);
			return 0;
		}
		now = drover__now_ms();
		if (deadline >= 0 && now >= deadline)
			return DROVER_ETIMEDOUT;
		reap(p, 0);
		/* The leader is gone but something still holds the pipes:
		 * read what is there, then stop listening. */
		if (p->exited && now - p->exited_at > 200) {
			close_streams(p, handlers);
			return 0;
		}
		wait_ms = p->exited ? 50 : 200;
		if (deadline >= 0 && deadline - now < wait_ms)
			wait_ms = (int)(deadline - now);
		/* stderr first: an application usually explains a problem
		 * on stderr before it reports the end of a step on stdout. */
		n = 0;
		for (i = 1; i >= 0; i--)
			if (p->fds[i] >= 0) {
				pfd[n].fd = p->fds[i];
				pfd[n].events = POLLIN;
				idx[n++] = i;
			}
		r = poll(pfd, (nfds_t)n, wait_ms);
		if (r < 0 && errno != EINTR)
			return drover_adaptor_error(p->a, DROVER_EIO, "poll: %s",
			    strerror(errno));
		for (i = 0; r > 0 && i < n; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read_stream(p, idx[i], handlers);
			if (r != DROVER_LINE_CONTINUE)
				return r;
			r = 1;
		}
	}
}

int
drover_process_terminate(drover_process *p, int grace_ms)
{
	int r;

	if (p == NULL)
		return DROVER_EINVAL;
	reap(p, 0);
	if (!p->exited) {
		signal_group(p, SIGTERM, 0);
		signal_group(p, SIGCONT, 0);
		do
			r = pump_until(p, drover__now_ms() + grace_ms, 0);
		while (r > 0);
		if (r == DROVER_ETIMEDOUT) {
			drover_adaptor_log(p->a, DROVER_LOG_INFO, "process %d "
			    "did not exit within %d ms of SIGTERM: killing it",
			    (int)p->pid, grace_ms);
			signal_group(p, SIGKILL, 0);
		}
	}
	close_streams(p, 0);
	reap(p, 1);
	signal_group(p, SIGKILL, 1);
	return 0;
}

int
drover_process_pump(drover_process *p, int timeout_ms)
{
	int r;

	if (p == NULL)
		return DROVER_EINVAL;
	r = pump_until(p, timeout_ms < 0 ? -1 :
	    drover__now_ms() + timeout_ms, 1);
	if (r == DROVER_LINE_ABORT) {
		drover_adaptor_log(p->a, DROVER_LOG_INFO, "a line handler "
		    "aborted process %d", (int)p->pid);
		drover_process_terminate(p, p->a->grace_ms);
		return drover_adaptor_error(p->a, DROVER_EABORTED, "process "
		    "aborted by a line handler");
	}
	return r;
}

int
drover_process_wait(drover_process *p, int *exit_code)
{
	int r;

	if (p == NULL)
		return DROVER_EINVAL;
	do
		r = drover_process_pump(p, -1);
	while (r == DROVER_LINE_DONE);
	if (r < 0)
		return r;
	if (exit_code)
		*exit_code = p->exit_code;
	return 0;
}

void
drover_process_free(drover_process *p)
{
	drover_process **pp;
	drover_adaptor *a;
	int i;

	if (p == NULL)
		return;
	a = p->a;
	reap(p, 0);
	if (!p->exited)
		signal_group(p, SIGKILL, 0);
	close_streams(p, 0);
	reap(p, 1);
	signal_group(p, SIGKILL, 1);
	pthread_mutex_lock(&a->proc_mu);
	for (pp = &a->procs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&a->proc_mu);
	if (p->in_fd >= 0)
		close(p->in_fd);
	for (i = 0; i < 2; i++)
		drover__dbuf_release(&p->bufs[i]);
	drover__handlers_free(p->h, p->nh);
	free(p);
}
