/* Scenario lookup and helpers shared by scenarios. */
#include "scenarios.h"

#include <string.h>

const struct scenario *scenario_find(const char *name)
{
    static const struct scenario *const all[] = {
        &scenario_rps, &scenario_stream, &scenario_cancel, &scenario_crash_mix, &scenario_bidi,
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(all[i]->name, name))
            return all[i];
    return NULL;
}

bool chunk_is_index(const json_t *chunk, uint32_t k)
{
    json_t *i = json_object_get(chunk, "i");
    return json_is_object(chunk) && json_object_size(chunk) == 1 && json_is_integer(i) &&
           json_integer_value(i) == (json_int_t)k;
}
