/* ids.h - trace and span ids: 32 and 16 lowercase hex characters. */
#ifndef GK_IDS_H
#define GK_IDS_H

void ids_trace(char out[33]);
void ids_span(char out[17]);

#endif
