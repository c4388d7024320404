/* report_text.h - the human report: a sink that formats events as text.
 *
 * What it shows (docs/report.md): a header from the run event; one table
 * per full check (the element checks of one step); one line counting the
 * direction checks, with the first failure of each tensor; per layer the
 * statistics of weights and activations at each full check; trap blocks
 * and warning lines; finding blocks with evidence and fix; the summary.
 * Lines are wrapped near 78 columns.  The sink only formats: it decides
 * nothing about what passed.
 */
#ifndef GRADCHECK_REPORT_TEXT_H
#define GRADCHECK_REPORT_TEXT_H

#include "events.h"
#include "status.h"

#include <stdbool.h>
#include <stdio.h>

typedef struct {
    bool quiet;   /* leave out the value statistics (histogram lines) */
    bool color;   /* ANSI colours: red for fail and error, yellow for
                     warning and inconclusive, green for pass */
    bool unicode; /* histogram sparklines in Unicode blocks; false: ASCII */
} gc_text_options;

/* Returns in *out a sink writing to stream, which stays the caller's: the
 * sink never closes it, and flushes it after every event.  opts may be NULL
 * (no quiet, no colour).  The caller calls (*out)->close exactly once; it
 * prints what is still pending and frees the sink.  emit and close return
 * GC_EIO when the stream reports a write error, GC_ENOMEM when the table
 * of a full check cannot grow.  Fails with GC_EINVAL (NULL stream or out)
 * or GC_ENOMEM. */
gc_status gc_text_sink_open(FILE *stream, const gc_text_options *opts,
                            gc_sink **out, gc_error *err);

#endif
