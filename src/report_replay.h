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
#include "sweep.h"

#include <stdbool.h>
#include <stddef.h>

/* Reads path line by line and emits each event to every sink.  The sinks
 * stay the caller's (it closes them).  Fails with GC_EIO (the file cannot
 * be read), GC_EDATA (a line is not JSON or not an event: the message
 * names the file and the line number), GC_ENOMEM, or whatever a sink's
 * emit returned. */
gc_status gc_jsonl_replay(const char *path, gc_sink *const *sinks,
                          size_t sink_count, gc_error *err);

/* A sweep file (gradcheck sweep --json: one "sweep" line, then its
 * "sweep_point" lines, docs/json.md) back into *sweep, with its config
 * path copied into config (config_size bytes).  When the first line is
 * not a "sweep" event, *is_sweep is false and nothing is read (the file
 * is a run's: gc_jsonl_replay reads it).  Fails with GC_EIO, or GC_EDATA
 * (a line that is not JSON, a line of another event, a point count that
 * differs from the sweep line's, no chosen point), naming the file and
 * line. */
gc_status gc_jsonl_read_sweep(const char *path, gc_sweep *sweep,
                              char *config, size_t config_size,
                              bool *is_sweep, gc_error *err);

#endif
