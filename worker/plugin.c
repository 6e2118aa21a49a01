/* plugin.c - dlopen() a plugin and let it register its actions. */
#include "worker.h"

#include <dlfcn.h>
#include <string.h>

static gk_plugin_init_fn find_init(void *h)
{
	gk_plugin_init_fn fn;
	void *sym = dlsym(h, GK_PLUGIN_INIT_SYMBOL);

	/* POSIX guarantees data and function pointers convert. */
	memcpy(&fn, &sym, sizeof(fn));
	return sym ? fn : NULL;
}

int plugin_load(struct gk_registry *reg, const char *path)
{
	unsigned errors = reg->errors;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		wlog("cannot load plugin %s: %s", path, dlerror());
		return -1;
	}
	gk_plugin_init_fn init = find_init(h);
	if (!init) {
		wlog("plugin %s does not export %s()", path,
		     GK_PLUGIN_INIT_SYMBOL);
		return -1;
	}
	size_t before = reg->n;
	reg->origin = path;
	int rc = init(reg);
	reg->origin = NULL;
	if (rc != 0) {
		wlog("plugin %s: %s() failed (%d)", path,
		     GK_PLUGIN_INIT_SYMBOL, rc);
		return -1;
	}
	if (reg->errors != errors) {
		wlog("plugin %s: %u action(s) rejected, refusing to start",
		     path, reg->errors - errors);
		return -1;
	}
	wdebug("plugin %s: %zu action(s)", path, reg->n - before);
	/* The handle stays open for the life of the process. */
	return 0;
}
