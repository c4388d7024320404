/* run.h - the run loop: train the configured network, check, probe, trap
 * and diagnose at every step, and send every event to the sinks.
 *
 * config -> spec -> data + model under test (setup.h) -> for each step:
 * gradient under traps, random-direction checks, full checks with
 * histograms every [checks] full_every steps, the training curve, the
 * update.  Findings come from the diagnosis (diagnosis.h).  The sinks are
 * the caller's: the run never opens or closes them.
 */
#ifndef GRADCHECK_RUN_H
#define GRADCHECK_RUN_H

#include "events.h"
#include "spec.h"
#include "status.h"

#include <signal.h>
#include <stddef.h>

typedef struct {
    /* Called about four times a second (may be NULL). */
    void (*progress)(void *context, size_t step, size_t steps,
                     double seconds);
    void *progress_context;
    /* When non-NULL and non-zero, the run stops after the current step and
     * still reports everything (summary.interrupted). */
    volatile sig_atomic_t *interrupted;
    /* Called once after the last step (may be NULL), before the end of
     * the run is reported: the model with the parameters the steps left
     * (valid only during the call) and the number of steps done.  The
     * tests compare it with a session (session.h). */
    void (*finished)(void *context, const gc_model *model,
                     size_t steps_done);
    void *finished_context;
} gc_run_hooks;

/* Runs the spec.  GC_OK means the run happened (it may have trapped or
 * found errors: see summary->exit_status, 0 or 1).  Any other status means
 * it could not run (bad data, a config the network cannot take, a sink
 * that failed); err says why. */
gc_status gc_run(const gc_spec *spec, gc_sink *const *sinks,
                 size_t sink_count, const gc_run_hooks *hooks,
                 gc_summary_event *summary, gc_error *err);

#endif
