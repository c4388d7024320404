/* report_trace.h - gradcheck trace and gradcheck sweep as text and JSON.
 *
 * Formatters only: they write a computed gc_trace or gc_sweep to a stream
 * the caller owns (never closed here) and decide nothing.  Each returns
 * GC_EIO when the stream reports a write error.
 */
#ifndef GRADCHECK_REPORT_TRACE_H
#define GRADCHECK_REPORT_TRACE_H

#include "status.h"
#include "sweep.h"
#include "trace.h"

#include <stdio.h>

/* The trace, layer by layer, about 78 columns wide (docs/trace.md). */
gc_status gc_trace_write_text(const gc_trace *trace, const char *config,
                              FILE *out, gc_error *err);

/* The sweep: a table of the points and an ASCII plot of log10 relative
 * error against log10 h with the chosen step marked. */
gc_status gc_sweep_write_text(const gc_sweep *sweep, const char *config,
                              FILE *out, gc_error *err);

/* The sweep as JSON Lines: one "sweep" line, then one "sweep_point" line
 * per step (docs/json.md). */
gc_status gc_sweep_write_json(const gc_sweep *sweep, const char *config,
                              FILE *out, gc_error *err);

#endif
