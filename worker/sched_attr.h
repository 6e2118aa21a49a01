/* sched_attr.h - the kernel's struct sched_attr (SCHED_ATTR_SIZE_VER0), for
 * sched_setattr(2)/sched_getattr(2) through syscall(): <linux/sched/types.h>
 * clashes with glibc's <sched.h>. */
#ifndef GK_SCHED_ATTR_H
#define GK_SCHED_ATTR_H

#include <stdint.h>

struct kernel_sched_attr {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

#endif
