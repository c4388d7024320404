/* report_replay.h - read a saved JSON Lines run back into events.
 *
 * `gradcheck report run.jsonl --html out.html` rebuilds a report from the
 * file `--json` wrote (docs/json.md): each line becomes the gc_event it
 * was written from and goes to the sinks in order, so a report made later
 * shows what the report made during the run would have shown.  Fields a
 * line lacks take their zero value (NaN for numbers), so a file written
 * by an older gradcheck still reads.
 */
#ifndef GRADCHECK_REPORT_REPLAY_H
#define GRADCHECK_REPORT_REPLAY_H

#include "events.h"
#include "status.h"

#include <stddef.h>

/* Reads path line by line and emits each event to every sink.  The sinks
 * stay the caller's (it closes them).  Fails with GC_EIO (the file cannot
 * be read), GC_EDATA (a line is not JSON or not an event: the message
 * names the file and the line number), GC_ENOMEM, or whatever a sink's
 * emit returned. */
gc_status gc_jsonl_replay(const char *path, gc_sink *const *sinks,
                          size_t sink_count, gc_error *err);

#endif
