/*
 * seccomp.c - the deny-list filter of the standard and strict sandboxes
 * (libseccomp). Default: allow. Denied with EPERM: debugging other
 * processes, mounting, namespaces, kernel modules and images, keyrings,
 * BPF, perf, swap, accounting, reboot, handle-based opens, userfaultfd,
 * and clone() with any namespace flag. clone3() answers ENOSYS, so libc
 * falls back to clone(), whose flags a filter can inspect (clone3 passes
 * them in memory, out of a filter's reach). System calls of another ABI
 * (32-bit int 0x80 on x86-64) kill the process: libseccomp's default for
 * a foreign architecture.
 */
#include "worker.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>

static const char *const denied[] = {
	"ptrace", "process_vm_readv", "process_vm_writev",
	"mount", "umount2", "pivot_root", "chroot",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
	"open_tree", "mount_setattr",
	"setns", "unshare",
	"kexec_load", "kexec_file_load",
	"init_module", "finit_module", "delete_module",
	"bpf", "perf_event_open", "userfaultfd",
	"keyctl", "add_key", "request_key",
	"reboot", "swapon", "swapoff", "acct",
	"open_by_handle_at", "name_to_handle_at",
};

static const unsigned long ns_flags[] = {
	CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET,
	CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWCGROUP,
};

static int deny(scmp_filter_ctx c, const char *name, int err)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR) {
		wdebug("seccomp: %s unknown on this architecture", name);
		return 0;
	}
	return seccomp_rule_add(c, SCMP_ACT_ERRNO(err), nr, 0);
}

int seccomp_install(const char **why)
{
	scmp_filter_ctx c = seccomp_init(SCMP_ACT_ALLOW);
	int rc;

	if (!c) {
		*why = "seccomp_init";
		return -ENOMEM;
	}
	/* Every thread (a sanitizer runtime may have started some). */
	rc = seccomp_attr_set(c, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc < 0)
		wdebug("seccomp: no TSYNC (%s)", strerror(-rc));
	*why = "seccomp_rule_add";
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		if ((rc = deny(c, denied[i], EPERM)) < 0)
			goto out;
	if ((rc = deny(c, "clone3", ENOSYS)) < 0)
		goto out;
	/* One rule per flag: (flags & F) == F. */
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++) {
		rc = seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone),
				      1, SCMP_A0(SCMP_CMP_MASKED_EQ,
						 ns_flags[i], ns_flags[i]));
		if (rc < 0)
			goto out;
	}
	*why = "seccomp_load";
	rc = seccomp_load(c);
out:
	seccomp_release(c);
	return rc;
}
