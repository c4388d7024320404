/* report_json.h - the JSON Lines sink: one JSON object per event.
 *
 * Each line is one object whose first member is "event" (the event name,
 * gc_event_name) followed by the event's fields in snake_case; the schema
 * is docs/json.md.  Numbers that are NaN or infinite are written as null,
 * because JSON has no spelling for them.
 *
 * The sink writes "<path>.tmp" and flushes after every line, so a run that
 * is killed leaves a readable, line-complete .tmp behind.  close() flushes,
 * closes and renames the .tmp to path; the rename is atomic, so path is
 * either absent (or its previous version) or the complete report, never a
 * half-written one.
 */
#ifndef GRADCHECK_REPORT_JSON_H
#define GRADCHECK_REPORT_JSON_H

#include "events.h"
#include "status.h"

/* Creates "<path>.tmp" for writing and returns a sink in *out.  The caller
 * calls (*out)->close exactly once; close frees the sink, and also after an
 * emit failed.  Fails with GC_EIO (the message names the file and the
 * system's reason), GC_ENOMEM or GC_EINVAL (NULL arguments). */
gc_status gc_json_sink_open(const char *path, gc_sink **out, gc_error *err);

#endif
