/*
 * The process side of an action: spawning it in its own process group,
 * reading its output line by line, timeouts and cancelation, and making
 * sure nothing it started survives it.
 *
 * Spawning is what glibc's posix_spawn does -- clone(CLONE_VM|CLONE_VFORK),
 * a fraction of the cost of fork() in a large process -- done here so that
 * the child's stack is allocated once per session instead of mapped and
 * unmapped (a TLB shootdown) per action, the pidfd comes from the clone
 * itself (CLONE_PIDFD), and the child resets the dispositions of the
 * signals that can matter (see spawn_child) instead of asking the kernel
 * about all 64, twice.  The child gets /dev/null as stdin, one pipe as
 * stdout and stderr (so their lines keep their order), the session
 * directory as cwd, default signal dispositions, an empty signal mask and
 * no other descriptors.  The pidfd tells us when it exits; together with
 * the pipe, a timerfd for deadlines and an eventfd for signal-handler
 * requests it sits in one epoll set, which is all an event loop has to
 * watch.
 *
 * When the process has exited, but before it is reaped (so its process
 * group id cannot have been reused), the whole group gets SIGKILL: a
 * background job left behind dies with the action.  With
 * SESSION_REAP_ORPHANS the session process is a subreaper and also kills
 * and reaps every other child it has, which catches descendants that
 * moved to another process group or session.
 *
 * The one exception is an environment's onEnter under
 * SESSION_REAP_ORPHANS: what it leaves running (a daemon-mode adaptor, a
 * license server) is what the environment is for, so those processes,
 * re-parented to us, are kept until the environment's onExit has run and
 * killed then.  Nothing outlives the session either way.
 */
#define _GNU_SOURCE	/* pipe2, clone, close_range */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "session/session-int.h"

/* Longest output line kept; the rest of a longer line is dropped. */
#define LINE_MAX_BYTES	(64 * 1024)
/* After the process is gone, how long to wait for the pipe to close. */
#define DRAIN_NS	(1000LL * 1000 * 1000)
#define NS		(1000LL * 1000 * 1000)

/* The child's stack: it runs only until execve. */
#define SPAWN_STACK	(64 * 1024)

int
action_spawn_setup(struct session *s, char **err)
{
	int fd;

	s->nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* Not 0-2 (stdio of this process may be closed): the child's dup2
	 * onto 0-2 must not clobber it. */
	if (s->nullfd >= 0 && s->nullfd < 3) {
		fd = fcntl(s->nullfd, F_DUPFD_CLOEXEC, 3);
		close(s->nullfd);
		s->nullfd = fd;
	}
	if (s->nullfd == -1 || s->dirfd == -1) {
		*err = xasprintf("cannot open the session's descriptors: %s",
		    strerror(errno));
		return -1;
	}
	s->spawn_stack = mmap(NULL, SPAWN_STACK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (s->spawn_stack == MAP_FAILED) {
		s->spawn_stack = NULL;
		*err = xasprintf("cannot allocate a stack: %s",
		    strerror(errno));
		return -1;
	}
	s->spawn_stack_size = SPAWN_STACK;
	if (s->flags & SESSION_REAP_ORPHANS) {
		char path[64];

		/* Orphans are re-parented to the main thread. */
		snprintf(path, sizeof(path), "/proc/self/task/%d/children",
		    (int)getpid());
		s->childrenfd = open(path, O_RDONLY | O_CLOEXEC);
	}
	/* Reset in every child: what was ignored or handled when the
	 * session started (session_new), and every signal a process is
	 * commonly sent or handles.  A handler installed later for another
	 * signal stays in the child until execve resets it; all signals are
	 * blocked in the child until the call just before execve. */
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL)
			sigaddset(&s->sigdefault, sig);
	}
	{
		static const int common[] = { SIGHUP, SIGINT, SIGQUIT, SIGUSR1,
		    SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGCHLD, SIGTSTP,
		    SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM,
		    SIGPROF, SIGWINCH, SIGIO };

		for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
			sigaddset(&s->sigdefault, common[i]);
	}
	return 0;
}

void
action_spawn_release(struct session *s)
{
	if (s->spawn_stack)
		munmap(s->spawn_stack, s->spawn_stack_size);
	s->spawn_stack = NULL;
	if (s->nullfd != -1)
		close(s->nullfd);
	if (s->dirfd != -1)
		close(s->dirfd);
	if (s->childrenfd != -1)
		close(s->childrenfd);
	s->nullfd = s->dirfd = s->childrenfd = -1;
}

/* What the child needs; it shares our memory until it execs. */
struct spawn_args {
	const char	*path;
	char *const	*argv;
	char *const	*envp;
	const sigset_t	*reset;
	int		 rtmin;		/* SIGRTMIN */
	int		 nullfd;	/* all >= 3 */
	int		 outfd;
	int		 dirfd;
	int		 err;		/* set by the child if it fails */
};

/*
 * The child, between clone and execve.  It runs on the session's spawn
 * stack in our address space while we wait (CLONE_VFORK), with every
 * signal blocked: only plain system calls here, and errors go back through
 * a->err (errno is ours too).  Signals 32 up to SIGRTMIN are glibc's own:
 * its sigaction() and sigset functions refuse them, and its posix_spawn
 * leaves them ignored in every child (make(1) passes that on to us), so
 * they are reset with the system call itself.
 */
static int
spawn_child(void *arg)
{
	struct spawn_args *a = arg;
	/* the kernel's struct sigaction, all zero: SIG_DFL, no flags, empty
	 * mask, whatever the architecture's field order */
	unsigned long dfl[8];
	sigset_t none;

	memset(dfl, 0, sizeof(dfl));
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(a->reset, sig) == 1 ||
		    (sig >= 32 && sig < a->rtmin))
			(void)syscall(SYS_rt_sigaction, sig, dfl, NULL,
			    (size_t)(_NSIG / 8));
	if (setpgid(0, 0) == -1 || fchdir(a->dirfd) == -1 ||
	    dup2(a->nullfd, 0) == -1 || dup2(a->outfd, 1) == -1 ||
	    dup2(a->outfd, 2) == -1)
		goto fail;
	/* every other descriptor of ours is close-on-exec; be sure */
	(void)close_range(3, ~0U, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(a->path, a->argv, a->envp);
fail:
	a->err = errno ? errno : EINVAL;
	_exit(127);
}

/* Starts the child; its pid, with *pidfd from the clone if it can. */
static pid_t
spawn(struct session *s, struct spawn_args *sa, int *pidfd)
{
	char *top = (char *)s->spawn_stack + s->spawn_stack_size;
	sigset_t all, old;
	pid_t pid;

	*pidfd = -1;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pid = clone(spawn_child, top, CLONE_VM | CLONE_VFORK | CLONE_PIDFD |
	    SIGCHLD, sa, pidfd);
	if (pid == -1 && errno == EINVAL) {
		/* a kernel without CLONE_PIDFD (before 5.2) */
		*pidfd = -1;
		pid = clone(spawn_child, top, CLONE_VM | CLONE_VFORK | SIGCHLD,
		    sa, NULL);
		if (pid > 0)
			*pidfd = pidfd_open(pid, 0);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid;
}

int
action_spawn(struct session *s, const char *path, char *const *argv,
    char *const *envp, char **err)
{
	struct action *a = &s->act;
	struct spawn_args sa;
	struct epoll_event ev;
	int p[2], pidfd, status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1) {
		*err = xasprintf("cannot create a pipe: %s", strerror(errno));
		return -1;
	}
	if (p[1] < 3) {
		/* stdio of this process was closed: keep the write end off
		 * 0-2, which the child's dup2s overwrite */
		int fd = fcntl(p[1], F_DUPFD_CLOEXEC, 3);

		close(p[1]);
		p[1] = fd;
		if (fd == -1) {
			*err = xasprintf("cannot set up the output: %s",
			    strerror(errno));
			close(p[0]);
			return -1;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.path = path;
	sa.argv = argv;
	sa.envp = envp;
	sa.reset = &s->sigdefault;
	sa.rtmin = SIGRTMIN;
	sa.nullfd = s->nullfd;
	sa.outfd = p[1];
	sa.dirfd = s->dirfd;
	pid = spawn(s, &sa, &pidfd);
	close(p[1]);	/* only the child holds the write end now */
	if (pid == -1 || sa.err != 0) {
		int e = pid == -1 ? errno : sa.err;

		if (pid > 0) {
			while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
				;
		}
		if (pidfd != -1)
			close(pidfd);
		close(p[0]);
		*err = xasprintf("cannot run '%s': %s", path, strerror(e));
		return -1;
	}
	a->pid = pid;
	s->sig_pgid = pid;
	a->outfd = p[0];
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	a->pidfd = pidfd;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = SESSION_TAG_OUT;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, a->outfd, &ev);
	if (a->pidfd != -1) {
		ev.data.u64 = SESSION_TAG_PID;
		epoll_ctl(s->epfd, EPOLL_CTL_ADD, a->pidfd, &ev);
	}
	return 0;
}

/* Invalid UTF-8 bytes become "\xNN", as Python's backslashreplace does. */
static const char *
utf8_clean(const char *s, size_t len, struct buf *out)
{
	size_t i = 0;

	for (i = 0; i < len && (unsigned char)s[i] < 0x80; i++)
		;
	if (i == len)
		return s;
	buf_reset(out);
	buf_add(out, s, i);
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = 0;
		uint32_t cp = 0, min = 0;

		if (c < 0x80) {
			buf_addch(out, c);
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 2; cp = c & 0x1f; min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3; cp = c & 0x0f; min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4; cp = c & 0x07; min = 0x10000;
		}
		if (n != 0 && i + n <= len) {
			size_t k;

			for (k = 1; k < n; k++) {
				unsigned char d = (unsigned char)s[i + k];

				if ((d & 0xc0) != 0x80)
					break;
				cp = (cp << 6) | (d & 0x3f);
			}
			if (k == n && cp >= min && cp <= 0x10ffff &&
			    !(cp >= 0xd800 && cp <= 0xdfff)) {
				buf_add(out, s + i, n);
				i += n;
				continue;
			}
		}
		buf_addf(out, "\\x%02x", c);
		i++;
	}
	return out->s;
}

static void
deliver(struct session *s)
{
	struct action *a = &s->act;
	struct buf clean = BUF_INIT;
	size_t len = a->line.len;
	const char *line;

	if (len > 0 && a->line.s[len - 1] == '\r')
		len--;
	if (memchr(a->line.s, '\0', len) != NULL) {
		/* NUL bytes cannot travel in C strings: show them escaped. */
		for (size_t i = 0; i < len; i++)
			if (a->line.s[i] == '\0')
				buf_adds(&clean, "\\x00");
			else
				buf_addch(&clean, a->line.s[i]);
		buf_truncate(&a->line, 0);
		buf_add(&a->line, clean.s, clean.len);
		len = a->line.len;
		buf_reset(&clean);
	}
	a->line.s[len] = '\0';
	line = utf8_clean(a->line.s, len, &clean);
	session_action_line(s, line);
	buf_release(&clean);
	buf_reset(&a->line);
}

static void
feed(struct session *s, const char *p, size_t n)
{
	struct action *a = &s->act;

	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) : n;

		if (!a->skipping) {
			size_t room = LINE_MAX_BYTES - a->line.len;

			if (seg <= room)
				buf_add(&a->line, p, seg);
			else {
				/* over-long: hand out what fits, drop the
				 * rest of the line */
				buf_add(&a->line, p, room);
				deliver(s);
				a->skipping = 1;
			}
		}
		if (nl == NULL)
			return;
		if (a->skipping)
			a->skipping = 0;
		else
			deliver(s);
		p = nl + 1;
		n -= seg + 1;
	}
}

static void
out_close(struct session *s)
{
	struct action *a = &s->act;

	if (a->line.len > 0)
		deliver(s);
	a->skipping = 0;
	/* Nobody else holds this descriptor, so closing it also takes it
	 * out of the epoll set. */
	close(a->outfd);
	a->outfd = -1;
	a->drain_ns = 0;
}

static void
out_read(struct session *s)
{
	char buf[16384];

	/* Bounded, so a chatty action cannot starve timers and cancels;
	 * the descriptor stays readable and we come back. */
	for (int i = 0; i < 64 && s->act.outfd != -1; i++) {
		ssize_t n = read(s->act.outfd, buf, sizeof(buf));

		if (n > 0)
			feed(s, buf, (size_t)n);
		else if (n == 0 || (errno != EINTR && errno != EAGAIN))
			out_close(s);
		else if (errno == EAGAIN)
			return;
	}
}

/*
 * Children of this process's main thread (where orphans are re-parented),
 * from /proc; the file is kept open and read again from the start.
 */
static size_t
list_children(struct session *s, pid_t **out)
{
	size_t n = 0, alloc = 0;
	pid_t *v = NULL;
	char buf[8192];
	ssize_t len;

	*out = NULL;
	if (s->childrenfd == -1)
		return 0;
	len = pread(s->childrenfd, buf, sizeof(buf) - 1, 0);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	for (char *p = buf, *end; *p != '\0'; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		ALLOC_GROW(v, n + 1, alloc);
		v[n++] = (pid_t)pid;
	}
	*out = v;
	return n;
}

/* 1 unless pid is a zombie (or gone). */
static int
proc_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold spaces and parentheses */
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
		return 1;
	return p[2] != 'Z' && p[2] != 'X';
}

static int
kept_find(const struct session *s, pid_t pid)
{
	for (size_t i = 0; i < s->nkept; i++)
		if (s->kept[i].pid == pid)
			return (int)i;
	return -1;
}

/* Kills and reaps one child, with its group if it leads one. */
static void
kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	(void)killpg(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
}

/*
 * Kills and reaps every child except keep and the kept processes of
 * environments (SESSION_REAP_ORPHANS).
 */
static void
reap_orphans(struct session *s, pid_t keep)
{
	for (int round = 0; round < 100; round++) {
		pid_t *kids = NULL;
		size_t n = list_children(s, &kids), found = 0;

		for (size_t i = 0; i < n; i++) {
			int live;

			if (kids[i] == keep || kept_find(s, kids[i]) >= 0)
				continue;
			found++;
			/* Zombies are members of the killed group that were
			 * re-parented here; only live ones escaped it. */
			live = proc_alive(kids[i]);
			kill_child(kids[i]);
			if (live)
				session_log(s, "Killed process %d that the "
				    "action left running outside its process "
				    "group", (int)kids[i]);
		}
		free(kids);
		if (found == 0)
			return;
	}
}

/* Records the live children an environment's onEnter left running. */
static void
keep_leftovers(struct session *s, pid_t leader, struct envrec *owner)
{
	pid_t *kids = NULL;
	size_t n = list_children(s, &kids);

	for (size_t i = 0; i < n; i++) {
		if (kids[i] == leader || kept_find(s, kids[i]) >= 0)
			continue;
		if (!proc_alive(kids[i])) {
			kill_child(kids[i]);	/* a zombie: reap it */
			continue;
		}
		ALLOC_GROW(s->kept, s->nkept + 1, s->akept);
		s->kept[s->nkept].pid = kids[i];
		s->kept[s->nkept].owner = owner;
		s->nkept++;
		session_log(s, "Process %d started by environment '%s' keeps "
		    "running until the environment exits", (int)kids[i],
		    owner && owner->name ? owner->name : "?");
	}
	free(kids);
}

void
action_kill_kept(struct session *s, const struct envrec *owner)
{
	size_t j = 0;

	for (size_t i = 0; i < s->nkept; i++) {
		struct kept_proc *k = &s->kept[i];

		if (owner != NULL && k->owner != owner) {
			s->kept[j++] = *k;
			continue;
		}
		if (proc_alive(k->pid))
			session_log(s, "Killed process %d that environment "
			    "'%s' left running", (int)k->pid,
			    k->owner && k->owner->name ? k->owner->name : "?");
		kill_child(k->pid);
	}
	s->nkept = j;
	if (j == 0) {
		free(s->kept);
		s->kept = NULL;
		s->nkept = s->akept = 0;
	}
}

static void
proc_exited(struct session *s)
{
	struct action *a = &s->act;
	siginfo_t si;
	int status;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, a->pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1) {
		if (errno == EINTR)
			return;
		/* ECHILD: someone else reaped it; we cannot know how. */
		si.si_pid = a->pid;
		si.si_code = CLD_KILLED;
		si.si_status = 0;
	} else if (si.si_pid == 0)
		return;
	/* The zombie still holds the group id: kill what is left of it. */
	s->sig_pgid = 0;
	if ((s->flags & SESSION_REAP_ORPHANS) && a->kind == SESSION_ENV_ENTER &&
	    !a->canceled && !a->timed_out) {
		keep_leftovers(s, a->pid, a->env);
	} else {
		(void)killpg(a->pid, SIGKILL);
		if (s->flags & SESSION_REAP_ORPHANS)
			reap_orphans(s, a->pid);
	}
	a->exit_code = -1;
	a->signal = 0;
	if (waitpid(a->pid, &status, 0) == a->pid) {
		if (WIFEXITED(status))
			a->exit_code = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			a->signal = WTERMSIG(status);
	} else if (si.si_code == CLD_EXITED)
		a->exit_code = si.si_status;
	else
		a->signal = si.si_status;
	if (a->pidfd != -1)
		close(a->pidfd);
	a->pidfd = -1;
	a->exited = 1;
	if (a->outfd != -1)
		a->drain_ns = session_now_ns() + DRAIN_NS;
}

/* No pidfd (old kernel): poll for the exit. */
static void
proc_poll(struct session *s)
{
	if (s->act.pid > 0 && !s->act.exited && s->act.pidfd == -1)
		proc_exited(s);
}

void
action_kill(struct session *s)
{
	struct action *a = &s->act;

	if (!s->busy || a->pid <= 0 || a->exited)
		return;
	if (!a->timed_out)
		a->canceled = 1;
	if (a->killed)
		return;
	a->killed = 1;
	a->kill_ns = 0;
	(void)killpg(a->pid, SIGKILL);
	session_log(s, "Killing process group %d (SIGKILL)", (int)a->pid);
}

void
action_cancel(struct session *s, unsigned limit, int mark_failed, int reason)
{
	struct action *a = &s->act;
	unsigned period;
	int64_t kill_at;

	if (!s->busy)
		return;
	if (reason == 1)
		a->timed_out = 1;
	else if (!a->timed_out)
		a->canceled = 1;
	if (mark_failed)
		a->mark_failed = 1;
	if (a->pid <= 0 || a->exited || a->killed)
		return;
	period = a->notify_period;
	if (s->max_notify && period > s->max_notify)
		period = s->max_notify;
	if (limit && period > limit)
		period = limit;
	if (!a->notify || period == 0) {
		a->killed = 1;
		(void)killpg(a->pid, SIGKILL);
		session_log(s, "Canceling action: sending SIGKILL to process "
		    "group %d", (int)a->pid);
		return;
	}
	kill_at = session_now_ns() + (int64_t)period * NS;
	if (a->notified && a->kill_ns != 0 && kill_at >= a->kill_ns)
		return;
	files_cancel_info(s, period);
	(void)killpg(a->pid, SIGTERM);
	a->notified = 1;
	a->kill_ns = kill_at;
	session_log(s, "Canceling action: sending SIGTERM to process group "
	    "%d, SIGKILL in %u seconds", (int)a->pid, period);
}

static void
check_deadlines(struct session *s)
{
	struct action *a = &s->act;
	int64_t now;

	if (a->timeout_ns == 0 && a->kill_ns == 0 && a->drain_ns == 0)
		return;
	now = session_now_ns();
	if (a->timeout_ns != 0 && now >= a->timeout_ns) {
		a->timeout_ns = 0;
		if (!a->exited) {
			session_log(s, "Action timed out after %u seconds",
			    a->timeout);
			action_cancel(s, 0, 0, 1);
		}
	}
	if (a->kill_ns != 0 && now >= a->kill_ns) {
		a->kill_ns = 0;
		if (!a->exited && !a->killed) {
			a->killed = 1;
			(void)killpg(a->pid, SIGKILL);
			session_log(s, "Notify period over: sending SIGKILL to "
			    "process group %d", (int)a->pid);
		}
	}
	if (a->drain_ns != 0 && now >= a->drain_ns && a->outfd != -1) {
		session_log(s, "Output still open after the process ended "
		    "(a process outside its group holds it): closing it");
		out_close(s);
	}
}

static void
arm_timer(struct session *s)
{
	struct action *a = &s->act;
	int64_t next = 0, v[3] = { a->timeout_ns, a->kill_ns, a->drain_ns };
	struct itimerspec its;

	for (int i = 0; i < 3; i++)
		if (v[i] != 0 && (next == 0 || v[i] < next))
			next = v[i];
	if (a->pid > 0 && !a->exited && a->pidfd == -1) {
		/* no pidfd: look for the exit every 10 ms */
		int64_t poll = session_now_ns() + NS / 100;

		if (next == 0 || poll < next)
			next = poll;
	}
	if (!s->busy)
		next = 0;
	if (next == s->timer_ns)
		return;
	memset(&its, 0, sizeof(its));
	if (next != 0) {
		its.it_value.tv_sec = next / NS;
		its.it_value.tv_nsec = next % NS;
	}
	timerfd_settime(s->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
	s->timer_ns = next;
}

void
action_handle(struct session *s, const struct epoll_event *evs, int n)
{
	struct action *a = &s->act;
	uint64_t x;

	for (int i = 0; i < n; i++) {
		switch (evs[i].data.u64) {
		case SESSION_TAG_OUT:
			if (a->outfd != -1)
				out_read(s);
			break;
		case SESSION_TAG_PID:
			if (a->pidfd != -1 && !a->exited)
				proc_exited(s);
			break;
		case SESSION_TAG_TIMER:
			if (read(s->timerfd, &x, sizeof(x)) == sizeof(x))
				s->timer_ns = 0;
			break;
		case SESSION_TAG_EVENT:
			(void)read(s->evfd, &x, sizeof(x));
			break;
		}
	}
	if (s->kill_req) {
		s->kill_req = 0;
		if (s->busy)
			action_kill(s);
		else
			s->ending = 1;
	}
	if (s->cancel_req) {
		s->cancel_req = 0;
		if (s->busy)
			action_cancel(s, 0, 0, 0);
		else
			s->ending = 1;
	}
	if (!s->busy)
		return;
	proc_poll(s);
	check_deadlines(s);
	if (a->exited && a->outfd == -1) {
		session_action_done(s);
		arm_timer(s);
		return;
	}
	arm_timer(s);
}
