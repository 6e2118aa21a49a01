/* status.c - Genkit status codes <-> names. */
#include "genkit_action.h"

#include <string.h>

static const char *const names[] = {
	[GK_OK] = "OK",
	[GK_CANCELLED] = "CANCELLED",
	[GK_UNKNOWN] = "UNKNOWN",
	[GK_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
	[GK_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
	[GK_NOT_FOUND] = "NOT_FOUND",
	[GK_ALREADY_EXISTS] = "ALREADY_EXISTS",
	[GK_PERMISSION_DENIED] = "PERMISSION_DENIED",
	[GK_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
	[GK_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
	[GK_ABORTED] = "ABORTED",
	[GK_OUT_OF_RANGE] = "OUT_OF_RANGE",
	[GK_UNIMPLEMENTED] = "UNIMPLEMENTED",
	[GK_INTERNAL] = "INTERNAL",
	[GK_UNAVAILABLE] = "UNAVAILABLE",
	[GK_DATA_LOSS] = "DATA_LOSS",
	[GK_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

#define NSTATUS ((int)(sizeof(names) / sizeof(names[0])))

int gk_status_from_name(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < NSTATUS; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *gk_status_name(int code)
{
	if (code < 0 || code >= NSTATUS)
		return "UNKNOWN";
	return names[code];
}
