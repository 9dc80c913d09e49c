/*
 * The session state machine (session.h): the working directory, the
 * environment stack and its variables, the symbols format strings see,
 * and turning an <Action> into a process (action.c runs it).
 *
 * Symbols: the base table (made once) holds the caller's symbols,
 * Param.* (PATH values path-mapped) and RawParam.*, and Session.*.  An
 * environment action adds Env.File.*; a task adds Task.Param.*,
 * Task.RawParam.* and Task.File.*.
 *
 * Variables: an environment's `variables` and the openjd_env lines of its
 * onEnter are "set" changes, its openjd_unset_env lines "unset" changes
 * (unset wins, as the spec says).  The environment of an action is the
 * session's base environment with the changes of every environment on the
 * stack applied in order; it is rebuilt only when the stack changes, so a
 * thousand tasks in one session share one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "model/format.h"
#include "session/session-int.h"

extern char **environ;

#define NS	(1000LL * 1000 * 1000)

int64_t
session_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

void
session_emit(struct session *s, struct session_event *ev)
{
	if (s->event == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ev->ts);
	ev->action = s->act.kind;
	ev->name = s->act.name;
	s->event(s->event_arg, ev);
}

void
session_log(struct session *s, const char *fmt, ...)
{
	struct session_event ev;
	struct buf b = BUF_INIT, r = BUF_INIT;
	va_list ap;

	if (s->event == NULL)
		return;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	memset(&ev, 0, sizeof(ev));
	ev.type = SESSION_EV_LOG;
	ev.text = redact_apply(s->redact, b.s, &r);
	session_emit(s, &ev);
	buf_release(&b);
	buf_release(&r);
}

const char *
session_action_state_name(enum session_action_state st)
{
	switch (st) {
	case SESSION_ACTION_NOT_RUN:	return "not-run";
	case SESSION_ACTION_RUNNING:	return "running";
	case SESSION_ACTION_SUCCESS:	return "success";
	case SESSION_ACTION_FAILED:	return "failed";
	case SESSION_ACTION_CANCELED:	return "canceled";
	case SESSION_ACTION_TIMEOUT:	return "timeout";
	}
	return "unknown";
}

/* --- environment variables ------------------------------------------ */

void
envvars_set(struct envvars *ev, const char *name, const char *value)
{
	for (size_t i = 0; i < ev->n; i++) {
		if (strcmp(ev->v[i].name, name) == 0) {
			free(ev->v[i].value);
			ev->v[i].value = value ? xstrdup(value) : NULL;
			return;
		}
	}
	ALLOC_GROW(ev->v, ev->n + 1, ev->alloc);
	ev->v[ev->n].name = xstrdup(name);
	ev->v[ev->n].value = value ? xstrdup(value) : NULL;
	ev->n++;
}

static void
envvars_remove(struct envvars *ev, const char *name)
{
	for (size_t i = 0; i < ev->n; i++) {
		if (strcmp(ev->v[i].name, name) == 0) {
			free(ev->v[i].name);
			free(ev->v[i].value);
			memmove(&ev->v[i], &ev->v[i + 1],
			    (ev->n - i - 1) * sizeof(*ev->v));
			ev->n--;
			return;
		}
	}
}

void
envvars_release(struct envvars *ev)
{
	for (size_t i = 0; i < ev->n; i++) {
		free(ev->v[i].name);
		free(ev->v[i].value);
	}
	free(ev->v);
	ev->v = NULL;
	ev->n = ev->alloc = 0;
}

static void
envp_free(struct session *s)
{
	if (s->envp == NULL)
		return;
	for (char **p = s->envp; *p != NULL; p++)
		free(*p);
	free(s->envp);
	s->envp = NULL;
}

static char *const *
session_envp(struct session *s)
{
	struct envvars all = { NULL, 0, 0 };
	size_t n = 0;

	if (s->envp != NULL)
		return s->envp;
	for (size_t i = 0; i < s->base_env.n; i++)
		envvars_set(&all, s->base_env.v[i].name,
		    s->base_env.v[i].value);
	for (size_t i = 0; i < s->nenvs; i++) {
		struct envrec *e = s->envs[i];

		for (size_t j = 0; j < e->set.n; j++)
			envvars_set(&all, e->set.v[j].name,
			    e->set.v[j].value);
		for (size_t j = 0; j < e->unset.n; j++)
			envvars_remove(&all, e->unset.v[j].name);
	}
	s->envp = xcalloc(all.n + 1, sizeof(char *));
	for (size_t i = 0; i < all.n; i++)
		if (all.v[i].value != NULL)
			s->envp[n++] = xasprintf("%s=%s", all.v[i].name,
			    all.v[i].value);
	envvars_release(&all);
	s->envp_gen++;
	return s->envp;
}

/* --- session lifecycle ----------------------------------------------- */

static void
envrec_free(struct envrec *e)
{
	if (e == NULL)
		return;
	free(e->name);
	json_decref(e->env);
	envvars_release(&e->set);
	envvars_release(&e->unset);
	efiles_release(&e->files);
	free(e);
}

static char *
json_scalar_text(const json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return xasprintf("%.17g", json_real_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "true" : "false");
	return NULL;
}

static int
add_epoll(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = tag;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

struct session *
session_new(const struct session_config *cfg, char **err)
{
	struct session *s = xcalloc(1, sizeof(*s));
	const char *root = cfg->root_dir;
	char *const *envsrc = cfg->environ ? cfg->environ : environ;
	char *tmpl;
	json_t *pmdoc;
	FILE *fp;
	size_t i;
	json_t *p;

	*err = NULL;
	s->epfd = s->evfd = s->timerfd = -1;
	s->nullfd = s->dirfd = s->childrenfd = -1;
	s->act.pidfd = s->act.outfd = -1;
	s->flags = cfg->flags;
	s->max_notify = cfg->max_notify_seconds;
	s->event = cfg->event;
	s->event_arg = cfg->event_arg;
	s->redact = redact_new();
	if (root == NULL || *root == '\0')
		root = getenv("TMPDIR");
	if (root == NULL || *root == '\0')
		root = "/tmp";
	tmpl = xasprintf("%s/drover-session-XXXXXX", root);
	if (mkdtemp(tmpl) == NULL) {
		*err = xasprintf("cannot create a session directory in '%s': "
		    "%s", root, strerror(errno));
		free(tmpl);
		goto fail;
	}
	s->dir = tmpl;
	s->files_dir = xasprintf("%s/embedded_files", s->dir);
	if (mkdir(s->files_dir, 0700) == -1) {
		*err = xasprintf("cannot create '%s': %s", s->files_dir,
		    strerror(errno));
		goto fail;
	}
	if (cfg->path_mapping != NULL)
		pathmap_copy(&s->pm, cfg->path_mapping);
	if (cfg->prepare != NULL &&
	    cfg->prepare(cfg->prepare_arg, s->dir, &s->pm, err) == -1) {
		if (*err == NULL)
			*err = xstrdup("the session could not be prepared");
		goto fail;
	}
	s->pathmap_file = xasprintf("%s/path_mapping.json", s->dir);
	pmdoc = pathmap_to_json(&s->pm);
	fp = fopen(s->pathmap_file, "wxe");
	if (fp == NULL || json_dumpf(pmdoc, fp, JSON_INDENT(2)) == -1) {
		*err = xasprintf("cannot write '%s': %s", s->pathmap_file,
		    strerror(errno));
		json_decref(pmdoc);
		if (fp)
			fclose(fp);
		goto fail;
	}
	fclose(fp);
	json_decref(pmdoc);

	s->base = cfg->symbols ? symtab_copy(cfg->symbols) : symtab_new();
	symtab_set(s->base, "Session.WorkingDirectory", s->dir);
	symtab_set(s->base, "Session.PathMappingRulesFile", s->pathmap_file);
	symtab_set(s->base, "Session.HasPathMappingRules",
	    s->pm.n > 0 ? "true" : "false");
	json_array_foreach(cfg->parameters, i, p) {
		const char *name = json_string_value(json_object_get(p,
		    "name"));
		const char *type = json_string_value(json_object_get(p,
		    "type"));
		char *value = json_scalar_text(json_object_get(p, "value"));
		char *key;

		if (name == NULL || value == NULL) {
			free(value);
			continue;
		}
		key = xasprintf("RawParam.%s", name);
		symtab_set(s->base, key, value);
		free(key);
		key = xasprintf("Param.%s", name);
		if (type != NULL && strcmp(type, "PATH") == 0) {
			char *mapped = pathmap_apply(&s->pm, value, NULL);

			symtab_set(s->base, key, mapped);
			free(mapped);
		} else
			symtab_set(s->base, key, value);
		free(key);
		free(value);
	}

	for (char *const *e = envsrc; e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		char *name;

		if (eq == NULL || eq == *e)
			continue;
		name = xstrndup(*e, (size_t)(eq - *e));
		envvars_set(&s->base_env, name, eq + 1);
		free(name);
	}
	envvars_set(&s->base_env, "OPENJD_SESSION_WORKING_DIR", s->dir);

	/* Ignored signals stay ignored across exec: reset them (and the
	 * usual suspects) in actions.  Handled ones reset by themselves. */
	sigemptyset(&s->sigdefault);
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			sigaddset(&s->sigdefault, sig);
	}
	sigaddset(&s->sigdefault, SIGPIPE);
	sigaddset(&s->sigdefault, SIGINT);
	sigaddset(&s->sigdefault, SIGTERM);

	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (s->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    (s->timerfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_CLOEXEC | TFD_NONBLOCK)) == -1 ||
	    add_epoll(s->epfd, s->evfd, SESSION_TAG_EVENT) == -1 ||
	    add_epoll(s->epfd, s->timerfd, SESSION_TAG_TIMER) == -1) {
		*err = xasprintf("cannot set up the session's descriptors: %s",
		    strerror(errno));
		goto fail;
	}
	if ((s->flags & SESSION_REAP_ORPHANS) &&
	    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1) {
		*err = xasprintf("cannot become a child subreaper: %s",
		    strerror(errno));
		goto fail;
	}
	if (action_spawn_setup(s, err) == -1)
		goto fail;
	return s;
fail:
	session_free(s);
	return NULL;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	if (s->busy) {
		s->event = NULL;
		action_kill(s);
		session_wait(s);
	}
	if (s->nkept)
		action_kill_kept(s, NULL);
	for (size_t i = 0; i < s->nenvs; i++)
		envrec_free(s->envs[i]);
	free(s->envs);
	action_spawn_release(s);
	if (s->dir != NULL && !(s->flags & SESSION_KEEP_DIR))
		(void)files_rmtree(s->dir);
	if (s->epfd != -1)
		close(s->epfd);
	if (s->evfd != -1)
		close(s->evfd);
	if (s->timerfd != -1)
		close(s->timerfd);
	envp_free(s);
	envvars_release(&s->base_env);
	efiles_release(&s->task_files);
	symtab_free(s->base);
	pathmap_release(&s->pm);
	redact_free(s->redact);
	buf_release(&s->act.line);
	free(s->act.name);
	free(s->act.status);
	free(s->act.message);
	free(s->last_message);
	free(s->last_status);
	free(s->cache_cmd);
	free(s->cache_path);
	free(s->pathmap_file);
	free(s->files_dir);
	free(s->dir);
	free(s);
}

const char *
session_dir(const struct session *s)
{
	return s->dir;
}

const char *
session_pathmap_file(const struct session *s)
{
	return s->pathmap_file;
}

size_t
session_env_depth(const struct session *s)
{
	return s->nenvs;
}

const char *
session_env_name(const struct session *s, size_t i)
{
	return i < s->nenvs ? s->envs[i]->name : NULL;
}

int
session_ending(const struct session *s)
{
	return s->ending || s->cancel_req || s->kill_req;
}

int
session_busy(const struct session *s)
{
	return s->busy;
}

char *
session_redact(const struct session *s, const char *text)
{
	return redact_dup(s->redact, text);
}

int
session_fd(const struct session *s)
{
	return s->epfd;
}

void
session_result(const struct session *s, struct session_result *res)
{
	*res = s->last;
}

/* --- driving actions ------------------------------------------------- */

int
session_poll(struct session *s, int timeout_ms)
{
	struct epoll_event evs[8];
	int n;

	n = epoll_wait(s->epfd, evs, 8, s->busy ? timeout_ms : 0);
	action_handle(s, evs, n > 0 ? n : 0);
	return s->busy;
}

int
session_step(struct session *s)
{
	return session_poll(s, 0);
}

void
session_wait(struct session *s)
{
	struct epoll_event evs[8];

	/* Requests made while idle are handled here too. */
	action_handle(s, NULL, 0);
	while (s->busy) {
		int n = epoll_wait(s->epfd, evs, 8, -1);

		if (n == -1 && errno != EINTR)
			n = 0;
		action_handle(s, evs, n > 0 ? n : 0);
	}
}

void
session_cancel(struct session *s, unsigned limit_seconds, int mark_failed)
{
	if (s->busy)
		action_cancel(s, limit_seconds, mark_failed, 0);
}

void
session_kill(struct session *s)
{
	action_kill(s);
}

void
session_cancel_async(struct session *s)
{
	uint64_t one = 1;
	int saved = errno;

	s->cancel_req = 1;
	(void)write(s->evfd, &one, sizeof(one));
	errno = saved;
}

void
session_kill_async(struct session *s)
{
	uint64_t one = 1;
	int saved = errno;
	pid_t pg = s->sig_pgid;

	s->kill_req = 1;
	if (pg > 0)
		(void)kill(-pg, SIGKILL);
	(void)write(s->evfd, &one, sizeof(one));
	errno = saved;
}

static void
set_refused(struct session_result *res, enum session_action_state st,
    const char *msg)
{
	if (res == NULL)
		return;
	memset(res, 0, sizeof(*res));
	res->state = st;
	res->exit_code = -1;
	res->progress = -1;
	res->message = msg;
}

/*
 * Whether an action may start.  Pending async requests made while idle
 * turn into "ending" here.  Exits are allowed when ending.
 */
static int
refuse(struct session *s, int is_exit, struct session_result *res)
{
	if (s->busy) {
		set_refused(res, SESSION_ACTION_NOT_RUN,
		    "an action is already running");
		return 1;
	}
	if (s->cancel_req || s->kill_req) {
		s->cancel_req = s->kill_req = 0;
		s->ending = 1;
	}
	if (is_exit && s->nenvs == 0) {
		set_refused(res, SESSION_ACTION_NOT_RUN,
		    "no environment to exit");
		return 1;
	}
	if (!is_exit && s->ending) {
		set_refused(res, SESSION_ACTION_CANCELED,
		    "the session is ending after a failure or cancel");
		return 1;
	}
	return 0;
}

static void
action_begin(struct session *s, enum session_action_kind kind,
    const char *name, struct envrec *env)
{
	struct action *a = &s->act;
	struct buf line = a->line;	/* its memory is reused */
	struct session_event ev;
	static const char *const what[] = {
		[SESSION_ENV_ENTER] = "Entering Environment",
		[SESSION_ENV_EXIT] = "Exiting Environment",
		[SESSION_TASK_RUN] = "Running Task of Step",
	};

	free(a->name);
	free(a->status);
	free(a->message);
	memset(a, 0, sizeof(*a));
	a->line = line;
	buf_reset(&a->line);
	a->kind = kind;
	a->name = xstrdup(name ? name : "");
	a->env = env;
	a->pidfd = a->outfd = -1;
	a->exit_code = -1;
	a->progress = -1;
	a->start_ns = session_now_ns();
	s->busy = 1;
	memset(&ev, 0, sizeof(ev));
	ev.type = SESSION_EV_ACTION_START;
	session_emit(s, &ev);
	session_log(s, "==============================================");
	session_log(s, "--------- %s: %s", what[kind], a->name);
	session_log(s, "==============================================");
}

void
session_action_done(struct session *s)
{
	struct action *a = &s->act;
	struct session_event ev;
	struct session_result *r = &s->last;
	char *msg = NULL;

	if (a->pid > 0) {
		if (a->signal)
			session_log(s, "Process %d was killed by signal %d "
			    "(%s)", (int)a->pid, a->signal,
			    strsignal(a->signal));
		else
			session_log(s, "Process %d exited with code: %d",
			    (int)a->pid, a->exit_code);
	}
	memset(r, 0, sizeof(*r));
	if (a->setup_failed)
		r->state = SESSION_ACTION_FAILED;
	else if (a->timed_out)
		r->state = SESSION_ACTION_TIMEOUT;
	else if (a->mark_failed)
		r->state = SESSION_ACTION_FAILED;
	else if (a->canceled)
		r->state = SESSION_ACTION_CANCELED;
	else if (a->pid == 0 || (a->exit_code == 0 && a->signal == 0))
		r->state = SESSION_ACTION_SUCCESS;
	else
		r->state = SESSION_ACTION_FAILED;
	if (a->message != NULL)
		msg = xstrdup(a->message);
	else if (r->state == SESSION_ACTION_TIMEOUT)
		msg = xasprintf("timed out after %u seconds", a->timeout);
	else if (r->state == SESSION_ACTION_CANCELED)
		msg = xstrdup("canceled");
	else if (r->state == SESSION_ACTION_FAILED && a->signal)
		msg = xasprintf("killed by signal %d (%s)", a->signal,
		    strsignal(a->signal));
	else if (r->state == SESSION_ACTION_FAILED)
		msg = xasprintf("exited with code %d", a->exit_code);
	free(s->last_message);
	free(s->last_status);
	s->last_message = msg;
	s->last_status = a->status ? xstrdup(a->status) : NULL;
	r->exit_code = a->exit_code;
	r->signal = a->signal;
	r->seconds = (double)(session_now_ns() - a->start_ns) / 1e9;
	r->progress = a->progress;
	r->message = s->last_message;
	r->status = s->last_status;
	if (r->state != SESSION_ACTION_SUCCESS)
		s->ending = 1;
	if (a->kind == SESSION_ENV_EXIT && s->nenvs > 0 &&
	    s->envs[s->nenvs - 1] == a->env) {
		/* what its onEnter left running ends with the environment */
		if (s->nkept)
			action_kill_kept(s, a->env);
		envrec_free(s->envs[--s->nenvs]);
		a->env = NULL;
		envp_free(s);
	}
	s->busy = 0;
	s->sig_pgid = 0;
	memset(&ev, 0, sizeof(ev));
	ev.type = SESSION_EV_ACTION_END;
	ev.state = r->state;
	ev.exit_code = a->exit_code;
	ev.signal = a->signal;
	ev.pid = a->pid;
	ev.text = r->message;
	session_emit(s, &ev);
}

/* Ends the action before any process: a set-up error (msg) or nothing to run. */
static void
action_end_now(struct session *s, const char *msg)
{
	struct action *a = &s->act;

	if (msg != NULL) {
		a->setup_failed = 1;
		free(a->message);
		a->message = redact_dup(s->redact, msg);
		session_log(s, "Error: %s", a->message);
	}
	session_action_done(s);
}

/* Applies an output line of the running action (called by action.c). */
void
session_action_line(struct session *s, const char *line)
{
	struct action *a = &s->act;
	struct filter_msg m;
	struct session_event ev;
	int enter = a->kind == SESSION_ENV_ENTER && a->env != NULL;

	filter_line(s->redact, (s->flags & SESSION_REDACTED_ENV_VARS) != 0,
	    line, &m);
	memset(&ev, 0, sizeof(ev));
	if (m.kind == FILTER_NONE || m.kind == FILTER_MALFORMED ||
	    !(s->flags & SESSION_QUIET_DIRECTIVES)) {
		ev.type = SESSION_EV_OUTPUT;
		ev.text = m.line;
		session_emit(s, &ev);
	}
	memset(&ev, 0, sizeof(ev));
	switch (m.kind) {
	case FILTER_PROGRESS:
		a->progress = m.progress;
		ev.type = SESSION_EV_PROGRESS;
		ev.progress = m.progress;
		session_emit(s, &ev);
		break;
	case FILTER_STATUS:
		free(a->status);
		a->status = xstrdup(m.value);
		ev.type = SESSION_EV_STATUS;
		ev.text = m.value;
		session_emit(s, &ev);
		break;
	case FILTER_FAIL:
		if (a->message == NULL || !a->mark_failed) {
			free(a->message);
			a->message = xstrdup(m.value);
		}
		ev.type = SESSION_EV_FAIL;
		ev.text = m.value;
		session_emit(s, &ev);
		break;
	case FILTER_ENV:
	case FILTER_REDACTED_ENV:
		if (!enter || (m.kind == FILTER_REDACTED_ENV && !m.set_env))
			break;
		/* an unset by the same environment still wins */
		envvars_set(&a->env->set, m.name, m.value);
		envp_free(s);
		ev.type = SESSION_EV_ENV_SET;
		ev.text = m.name;
		ev.value = m.kind == FILTER_REDACTED_ENV ? REDACTED_TEXT :
		    m.value;
		{
			struct buf r = BUF_INIT;

			ev.value = redact_apply(s->redact, ev.value, &r);
			session_emit(s, &ev);
			buf_release(&r);
		}
		break;
	case FILTER_UNSET_ENV:
		if (!enter)
			break;
		envvars_set(&a->env->unset, m.name, "");
		envp_free(s);
		ev.type = SESSION_EV_ENV_UNSET;
		ev.text = m.name;
		session_emit(s, &ev);
		break;
	case FILTER_MALFORMED:
		if (m.cancel) {
			free(a->message);
			a->message = xstrdup(m.error);
			action_cancel(s, 0, 1, 2);
		}
		break;
	default:
		break;
	}
	filter_msg_release(&m);
}

/* --- resolving actions ----------------------------------------------- */

static char *
resolve(const char *what, const char *s, const struct symtab *st,
    char **err)
{
	char *msg = NULL, *r = fmt_resolve(s, st, &msg);

	if (r == NULL) {
		*err = xasprintf("%s: %s", what, msg);
		free(msg);
	}
	return r;
}

/* A positive integer from a JSON integer or a (format) string; 0 absent. */
static int
resolve_seconds(const char *what, const json_t *v, const struct symtab *st,
    unsigned *out, char **err)
{
	char *text, *end;
	long long n;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else if (json_is_string(v)) {
		if ((text = resolve(what, json_string_value(v), st, err)) ==
		    NULL)
			return -1;
		errno = 0;
		n = strtoll(text, &end, 10);
		if (text[0] == '\0' || *end != '\0' || errno != 0) {
			*err = xasprintf("%s: '%s' is not an integer", what,
			    text);
			free(text);
			return -1;
		}
		free(text);
	} else {
		*err = xasprintf("%s must be an integer", what);
		return -1;
	}
	if (n <= 0 || n > 100000000) {
		*err = xasprintf("%s must be a positive number of seconds, "
		    "not %lld", what, n);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

static int
is_exec_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

/* The program to run for cmd, searched in the action's PATH like execvp. */
static char *
find_command(struct session *s, const char *cmd, char *const *envp,
    char **err)
{
	const char *path = NULL, *p;
	char *found = NULL;

	if (strchr(cmd, '/') != NULL) {
		if (cmd[0] == '/')
			return xstrdup(cmd);
		return xasprintf("%s/%s", s->dir, cmd);
	}
	if (s->cache_cmd != NULL && s->cache_gen == s->envp_gen &&
	    strcmp(s->cache_cmd, cmd) == 0)
		return xstrdup(s->cache_path);
	for (char *const *e = envp; *e != NULL; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; found == NULL; ) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		char *cand;

		if (len == 0)
			cand = xasprintf("%s/%s", s->dir, cmd);
		else if (p[0] == '/')
			cand = xasprintf("%.*s/%s", (int)len, p, cmd);
		else
			cand = xasprintf("%s/%.*s/%s", s->dir, (int)len, p,
			    cmd);
		if (is_exec_file(cand))
			found = cand;
		else
			free(cand);
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	if (found == NULL) {
		*err = xasprintf("command '%s' not found in PATH", cmd);
		return NULL;
	}
	free(s->cache_cmd);
	free(s->cache_path);
	s->cache_cmd = xstrdup(cmd);
	s->cache_path = xstrdup(found);
	s->cache_gen = s->envp_gen;
	return found;
}

static void
quote_arg(struct buf *b, const char *a)
{
	if (*a != '\0' && strspn(a, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=.,/:@%") == strlen(a)) {
		buf_adds(b, a);
		return;
	}
	buf_addch(b, '\'');
	for (; *a != '\0'; a++) {
		if (*a == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addch(b, *a);
	}
	buf_addch(b, '\'');
}

static void
argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (char **p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}

/*
 * Resolves and starts action (an <Action>) with symbols st.  On a set-up
 * error the action ends FAILED here.
 */
static void
action_run(struct session *s, const json_t *action, const struct symtab *st)
{
	struct action *a = &s->act;
	const json_t *args = json_object_get(action, "args");
	const json_t *cancel = json_object_get(action, "cancelation");
	const char *command = json_string_value(json_object_get(action,
	    "command"));
	char **argv = NULL, *err = NULL, *prog = NULL;
	char *const *envp;
	size_t nargs = json_array_size(args), i;
	struct buf cmdline = BUF_INIT;
	json_t *v;

	if (command == NULL) {
		action_end_now(s, "the action has no command");
		return;
	}
	argv = xcalloc(nargs + 2, sizeof(char *));
	if ((argv[0] = resolve("command", command, st, &err)) == NULL)
		goto fail;
	if (argv[0][0] == '\0') {
		err = xstrdup("command: resolves to an empty string");
		goto fail;
	}
	json_array_foreach(args, i, v) {
		char *text = json_scalar_text(v), *what;

		if (text == NULL) {
			err = xasprintf("args[%zu] must be a string", i);
			goto fail;
		}
		what = xasprintf("args[%zu]", i);
		argv[i + 1] = resolve(what, text, st, &err);
		free(what);
		free(text);
		if (argv[i + 1] == NULL)
			goto fail;
	}
	if (resolve_seconds("timeout", json_object_get(action, "timeout"), st,
	    &a->timeout, &err) == -1)
		goto fail;
	a->notify = 0;
	a->notify_period = a->kind == SESSION_TASK_RUN ? 120 : 30;
	if (cancel != NULL && !json_is_null(cancel)) {
		const char *mode = json_string_value(json_object_get(cancel,
		    "mode"));
		unsigned period;

		if (mode != NULL && strcmp(mode, "NOTIFY_THEN_TERMINATE") == 0)
			a->notify = 1;
		else if (mode == NULL || strcmp(mode, "TERMINATE") != 0) {
			err = xasprintf("cancelation: unknown mode '%s'",
			    mode ? mode : "");
			goto fail;
		}
		if (resolve_seconds("cancelation.notifyPeriodInSeconds",
		    json_object_get(cancel, "notifyPeriodInSeconds"), st,
		    &period, &err) == -1)
			goto fail;
		if (period != 0)
			a->notify_period = period;
	}
	envp = session_envp(s);
	for (i = 0; argv[i] != NULL; i++) {
		if (i > 0)
			buf_addch(&cmdline, ' ');
		quote_arg(&cmdline, argv[i]);
	}
	{
		char *shown = filter_hide_redacted_request(cmdline.s);

		session_log(s, "Running command: %s", shown);
		free(shown);
	}
	if ((prog = find_command(s, argv[0], envp, &err)) == NULL)
		goto fail;
	if (action_spawn(s, prog, argv, envp, &err) == -1)
		goto fail;
	if (a->timeout != 0)
		a->timeout_ns = a->start_ns + (int64_t)a->timeout * NS;
	argv_free(argv);
	free(prog);
	buf_release(&cmdline);
	/* Arms the timer and picks up requests made meanwhile. */
	action_handle(s, NULL, 0);
	return;
fail:
	argv_free(argv);
	free(prog);
	buf_release(&cmdline);
	action_end_now(s, err);
	free(err);
}

/* Writes every embedded file of script (an object with embeddedFiles). */
static int
write_files(struct session *s, const json_t *script, struct efiles *cache,
    const char *prefix, struct symtab *st, int do_write, char **err)
{
	const json_t *files = json_object_get(script, "embeddedFiles");
	size_t i;
	json_t *ef;

	json_array_foreach(files, i, ef) {
		const char *path = files_path(s, cache, ef, err);
		const char *name = json_string_value(json_object_get(ef,
		    "name"));
		char *key;

		if (path == NULL)
			return -1;
		if (!do_write) {
			key = xasprintf("%s.%s", prefix, name);
			symtab_set(st, key, path);
			free(key);
			continue;
		}
		if (files_write(ef, path, st, err) == -1)
			return -1;
	}
	return 0;
}

static struct symtab *
env_symtab(struct session *s, struct envrec *e, char **err)
{
	struct symtab *st = symtab_copy(s->base);
	const json_t *script = json_object_get(e->env, "script");

	if (write_files(s, script, &e->files, "Env.File", st, 0, err) == -1) {
		symtab_free(st);
		return NULL;
	}
	return st;
}

/*
 * Starts an environment's onEnter or onExit (which: the key), or ends the
 * action at once as a success when the environment has none.
 */
static void
env_action_run(struct session *s, const json_t *script, const char *which,
    struct symtab *st)
{
	const json_t *a = json_object_get(json_object_get(script, "actions"),
	    which);

	if (a == NULL || json_is_null(a))
		action_end_now(s, NULL);
	else
		action_run(s, a, st);
}

int
session_enter_env_start(struct session *s, const json_t *env,
    struct session_result *res)
{
	const json_t *script, *vars, *v;
	const char *name, *key;
	struct symtab *st = NULL;
	struct envrec *e;
	char *err = NULL;

	if (refuse(s, 0, res))
		return -1;
	e = xcalloc(1, sizeof(*e));
	name = json_string_value(json_object_get(env, "name"));
	e->name = xstrdup(name ? name : "(unnamed)");
	e->env = json_incref((json_t *)env);
	ALLOC_GROW(s->envs, s->nenvs + 1, s->aenvs);
	s->envs[s->nenvs++] = e;
	envp_free(s);
	action_begin(s, SESSION_ENV_ENTER, e->name, e);
	if (!json_is_object(env)) {
		action_end_now(s, "the environment is not an object");
		return 0;
	}
	script = json_object_get(env, "script");
	if ((st = env_symtab(s, e, &err)) == NULL)
		goto fail;
	vars = json_object_get(env, "variables");
	json_object_foreach((json_t *)vars, key, v) {
		char *what = xasprintf("variables.%s", key), *val;
		const char *text = json_string_value(v);

		val = text ? resolve(what, text, st, &err) : NULL;
		if (text == NULL)
			err = xasprintf("%s must be a string", what);
		free(what);
		if (val == NULL)
			goto fail;
		envvars_set(&e->set, key, val);
		session_log(s, "Setting: %s=%s", key, val);
		free(val);
	}
	if (write_files(s, script, &e->files, "Env.File", st, 1, &err) == -1)
		goto fail;
	env_action_run(s, script, "onEnter", st);
	symtab_free(st);
	return 0;
fail:
	symtab_free(st);
	action_end_now(s, err);
	free(err);
	return 0;
}

int
session_exit_env_start(struct session *s, struct session_result *res)
{
	const json_t *script;
	struct symtab *st;
	struct envrec *e;
	char *err = NULL;

	if (refuse(s, 1, res))
		return -1;
	e = s->envs[s->nenvs - 1];
	action_begin(s, SESSION_ENV_EXIT, e->name, e);
	script = json_object_get(e->env, "script");
	if ((st = env_symtab(s, e, &err)) == NULL ||
	    write_files(s, script, &e->files, "Env.File", st, 1, &err) == -1) {
		symtab_free(st);
		action_end_now(s, err);
		free(err);
		return 0;
	}
	env_action_run(s, script, "onExit", st);
	symtab_free(st);
	return 0;
}

int
session_run_task_start(struct session *s, const char *step_name,
    const json_t *script, const struct session_task_param *params,
    size_t nparams, struct session_result *res)
{
	const json_t *on_run;
	struct symtab *st;
	char *err = NULL;

	if (refuse(s, 0, res))
		return -1;
	action_begin(s, SESSION_TASK_RUN, step_name, NULL);
	st = symtab_copy(s->base);
	if (nparams > 0)
		session_log(s, "Parameter values:");
	for (size_t i = 0; i < nparams; i++) {
		char *key = xasprintf("Task.RawParam.%s", params[i].name);

		session_log(s, "%s(%s) = %s", params[i].name,
		    params[i].type ? params[i].type : "STRING",
		    params[i].value);

		symtab_set(st, key, params[i].value);
		free(key);
		key = xasprintf("Task.Param.%s", params[i].name);
		if (params[i].type != NULL &&
		    strcmp(params[i].type, "PATH") == 0) {
			char *mapped = pathmap_apply(&s->pm, params[i].value,
			    NULL);

			symtab_set(st, key, mapped);
			free(mapped);
		} else
			symtab_set(st, key, params[i].value);
		free(key);
	}
	on_run = json_object_get(json_object_get(script, "actions"), "onRun");
	if (on_run == NULL || !json_is_object(on_run)) {
		err = xstrdup("the step script has no actions.onRun");
		goto fail;
	}
	if (write_files(s, script, &s->task_files, "Task.File", st, 0,
	    &err) == -1 ||
	    write_files(s, script, &s->task_files, "Task.File", st, 1,
	    &err) == -1)
		goto fail;
	action_run(s, on_run, st);
	symtab_free(st);
	return 0;
fail:
	symtab_free(st);
	action_end_now(s, err);
	free(err);
	return 0;
}

static int
finish(struct session *s, struct session_result *res)
{
	struct session_result r;

	session_wait(s);
	session_result(s, &r);
	if (res != NULL)
		*res = r;
	return r.state == SESSION_ACTION_SUCCESS ? 0 : -1;
}

int
session_enter_env(struct session *s, const json_t *env,
    struct session_result *res)
{
	if (session_enter_env_start(s, env, res) == -1)
		return -1;
	return finish(s, res);
}

int
session_exit_env(struct session *s, struct session_result *res)
{
	if (session_exit_env_start(s, res) == -1)
		return -1;
	return finish(s, res);
}

int
session_run_task(struct session *s, const char *step_name,
    const json_t *script, const struct session_task_param *params,
    size_t nparams, struct session_result *res)
{
	if (session_run_task_start(s, step_name, script, params, nparams,
	    res) == -1)
		return -1;
	return finish(s, res);
}

