/* The scenarios genkit-loadtest knows. */
#ifndef LT_SCENARIOS_H
#define LT_SCENARIOS_H

#include "lt.h"

extern const struct scenario scenario_rps, scenario_stream, scenario_cancel,
    scenario_crash_mix, scenario_bidi;

/* {"i":k} exactly: the chunk shape of /flow/count and our bidi input. */
bool chunk_is_index(const json_t *chunk, uint32_t k);

#endif
