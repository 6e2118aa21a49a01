/*
 * sandbox.c - the profiles of zygote-spawned workers, applied before their
 * Hello (the PID namespace itself comes from zygote.c).
 *
 *   none      RLIMIT_CORE 0; own PID namespace.
 *   standard  + no_new_privs, not dumpable, the run-as uid/gid (no
 *             supplementary groups), no capabilities, the seccomp filter of
 *             seccomp.c (last). Scratch: a plain 0700 directory.
 *   strict    + an empty network namespace and a private mount namespace in
 *             which every mount is read-only except the scratch directory,
 *             a size-limited tmpfs (writes never reach the disk), and a
 *             fresh /proc showing only our PID namespace.
 *
 * Where the kernel refuses something, standard logs one warning naming it
 * and carries on; strict logs why and exits WORKER_EXIT_SANDBOX (4) before
 * its Hello. Nothing runs unprotected silently.
 */
#include "worker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SCRATCH_TMPFS_SIZE "64m"
#define RM_MAX_DEPTH 64

static const char *const profile_names[] = { "none", "standard", "strict" };

static char *scratch;   /* <scratch_root>/worker-<pid>, or NULL */
static int profile;

int sandbox_parse(const char *name)
{
	if (!name || !*name)
		return SBX_NONE;
	for (int i = 0; i < 3; i++)
		if (strcmp(name, profile_names[i]) == 0)
			return i;
	return -1;
}

const char *sandbox_scratch(void)
{
	return scratch;
}

/* The kernel refused `what` (err = errno, 0 = not applicable). */
static void refused(const char *what, int err)
{
	char why[96];

	if (err)
		snprintf(why, sizeof(why), " (%s)", strerrorname_np(err)
			 ? strerrorname_np(err) : strerror(err));
	else
		why[0] = '\0';
	if (profile == SBX_STRICT)
		wdie(WORKER_EXIT_SANDBOX,
		     "sandbox strict: %s unavailable%s: refusing to start",
		     what, why);
	wlog("warning: sandbox %s: %s unavailable%s: continuing without it",
	     profile_names[profile], what, why);
}

/* ---- scratch directory ------------------------------------------------*/

static void make_scratch(const Gkipc__SpawnWorker *sp, pid_t gpid)
{
	struct stat st;
	char *path;

	if (!sp->scratch_root || !*sp->scratch_root)
		return;
	if (asprintf(&path, "%s/worker-%d", sp->scratch_root, (int)gpid) < 0)
		wdie(WORKER_EXIT_FAILURE, "out of memory");
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		goto fail;
	/* A leftover of an earlier worker with our pid: reuse it only if it
	 * is a real directory, emptied below. */
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		goto fail;
	}
	if (chmod(path, 0700) < 0)
		goto fail;
	if (sp->run_as_set &&
	    chown(path, (uid_t)sp->run_as_uid, (gid_t)sp->run_as_gid) < 0)
		goto fail;
	scratch = path;
	sandbox_scratch_empty();
	return;
fail:
	{
		char what[sizeof("scratch directory ") + 256];
		snprintf(what, sizeof(what), "scratch directory %.255s", path);
		free(path);
		refused(what, errno);
	}
}

static void rm_contents(int dfd, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;

	if (!d) {
		close(dfd);
		return;
	}
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (unlinkat(dirfd(d), n, 0) == 0 || errno != EISDIR)
			continue;
		if (depth >= RM_MAX_DEPTH) {
			wlog("scratch: %s nested too deep, left in place", n);
			continue;
		}
		/* An action may have taken its own permissions away. */
		fchmodat(dirfd(d), n, 0700, 0);
		int sub = openat(dirfd(d), n,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			rm_contents(sub, depth + 1);
		unlinkat(dirfd(d), n, AT_REMOVEDIR);
	}
	closedir(d);
}

void sandbox_scratch_empty(void)
{
	if (!scratch)
		return;
	int fd = open(scratch, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		wlog("scratch %s: %s", scratch, strerror(errno));
		return;
	}
	rm_contents(fd, 0);
}

/* ---- strict: network and mounts ---------------------------------------*/

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Per-mount flags to keep (in a user namespace they are locked: changing
 * them would be refused). */
static unsigned long keep_flags(char *opts)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} map[] = {
		{ "nosuid", MS_NOSUID },     { "nodev", MS_NODEV },
		{ "noexec", MS_NOEXEC },     { "noatime", MS_NOATIME },
		{ "nodiratime", MS_NODIRATIME }, { "relatime", MS_RELATIME },
		{ "strictatime", MS_STRICTATIME },
	};
	unsigned long f = 0;
	char *save = NULL;

	for (char *o = strtok_r(opts, ",", &save); o;
	     o = strtok_r(NULL, ",", &save))
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (!strcmp(o, map[i].name))
				f |= map[i].flag;
	return f;
}

static void remount_all_ro(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	unsigned n = 0;

	if (!f)
		refused("/proc/self/mountinfo", errno);
	while (f && getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint options ... */
		char *save = NULL, *mp = NULL, *opts = NULL;
		char *t = strtok_r(line, " ", &save);
		for (int i = 0; t && i < 6; i++, t = strtok_r(NULL, " ", &save)) {
			if (i == 4)
				mp = t;
			else if (i == 5)
				opts = t;
		}
		if (!mp || !opts)
			continue;
		unescape(mp);
		if (scratch && strcmp(mp, scratch) == 0)
			continue;
		unsigned long fl = keep_flags(opts);
		if (mount(NULL, mp, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | fl,
			  NULL) < 0) {
			if (errno == ENOENT) /* gone meanwhile */
				continue;
			char what[300];
			snprintf(what, sizeof(what),
				 "read-only remount of %.250s", mp);
			free(line);
			fclose(f);
			refused(what, errno);
			return;
		}
		n++;
	}
	free(line);
	if (f)
		fclose(f);
	wdebug("sandbox: %u mount(s) read-only", n);
}

static void strict_mounts(const Gkipc__SpawnWorker *sp)
{
	char opts[128];
	int rc;

	if ((rc = ns_unshare(CLONE_NEWNET)) < 0)
		refused("network namespace", -rc);
	if ((rc = ns_unshare(CLONE_NEWNS)) < 0)
		refused("mount namespace", -rc);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		refused("private mounts", errno);
	if (scratch) {
		snprintf(opts, sizeof(opts), "size=%s,mode=0700,uid=%u,gid=%u",
			 SCRATCH_TMPFS_SIZE,
			 sp->run_as_set ? sp->run_as_uid : (unsigned)getuid(),
			 sp->run_as_set ? sp->run_as_gid : (unsigned)getgid());
		if (mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV,
			  opts) < 0)
			refused("tmpfs on the scratch directory", errno);
	}
	remount_all_ro();
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		refused("a private /proc", errno);
}

/* ---- standard: privileges ---------------------------------------------*/

static void drop_bounding_set(void)
{
	for (unsigned long cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno == EINVAL)
			break; /* past the last capability */
}

static int drop_caps(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return -1;
	return (int)syscall(SYS_capset, &h, d);
}

static void drop_ids(const Gkipc__SpawnWorker *sp)
{
	uid_t u = (uid_t)sp->run_as_uid, ru, eu, su;
	gid_t g = (gid_t)sp->run_as_gid, rg, eg, sg;

	/* In a user namespace setgroups may be denied: fine if we have no
	 * supplementary groups anyway. */
	if (setgroups(0, NULL) < 0 && getgroups(0, NULL) != 0)
		refused("setgroups(0)", errno);
	if (setresgid(g, g, g) < 0)
		refused("setresgid to the run-as gid", errno);
	if (setresuid(u, u, u) < 0)
		refused("setresuid to the run-as uid", errno);
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 ||
	    ru != u || eu != u || su != u || rg != g || eg != g || sg != g)
		refused("a verified uid/gid change", EPERM);
}

/* Is our uid 0 the real root (initial user namespace)? Not when the
 * intermediate made a user namespace for an unprivileged zygote. */
static int real_root(void)
{
	char line[128];
	unsigned long in = 1, out = 1, n = 0;
	FILE *f = fopen("/proc/self/uid_map", "re");

	if (f && fgets(line, sizeof(line), f))
		sscanf(line, "%lu %lu %lu", &in, &out, &n);
	if (f)
		fclose(f);
	return geteuid() == 0 && in == 0 && out == 0 && n == 4294967295UL;
}

static void standard_privs(const Gkipc__SpawnWorker *sp)
{
	const char *why;
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		refused("no_new_privs", errno);
	drop_bounding_set();
	if (sp->run_as_set)
		drop_ids(sp);
	else if (real_root())
		wlog("warning: sandbox %s: no run-as uid given, running as "
		     "uid 0 without capabilities", profile_names[profile]);
	if (drop_caps() < 0)
		refused("dropping capabilities", errno);
	/* After the uid change, which resets it. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		refused("PR_SET_DUMPABLE 0", errno);
	if ((rc = seccomp_install(&why)) < 0) {
		char what[64];
		snprintf(what, sizeof(what), "seccomp (%s)", why);
		refused(what, -rc);
	}
}

void sandbox_apply(const Gkipc__SpawnWorker *sp, pid_t gpid, int in_pidns)
{
	struct rlimit nocore = { 0, 0 };

	profile = sandbox_parse(sp->sandbox);
	if (profile < 0)
		wdie(WORKER_EXIT_SANDBOX, "unknown sandbox profile '%s'",
		     sp->sandbox);
	if (setrlimit(RLIMIT_CORE, &nocore) < 0)
		refused("RLIMIT_CORE 0", errno);
	if (!in_pidns && profile == SBX_STRICT)
		refused("PID namespace", 0);
	make_scratch(sp, gpid);
	if (profile == SBX_STRICT)
		strict_mounts(sp);
	if (profile >= SBX_STANDARD)
		standard_privs(sp);
	wdebug("sandbox %s applied%s%s", profile_names[profile],
	       scratch ? ", scratch " : "", scratch ? scratch : "");
}
