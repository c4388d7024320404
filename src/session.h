/* session.h - a configured network brought to one training step, for the
 * commands that look closely at one step (gradcheck trace, gradcheck
 * sweep).
 *
 * A session takes its data, its model (from any [model] source), its seed
 * streams and its batch order from setup.h, as gc_run does, then trains
 * with the model's own gradient and update, and no checks, up to the
 * step asked for.  The checks of gc_run leave the parameters unchanged,
 * so step N of a session holds the parameters and the batch of step N of
 * the full run (tests/test_session.c compares them).  A snapshot has one
 * step, 0; a plugin or pipe runs in its child process until
 * gc_session_free().
 *
 * Shapes: the batch of the current step is batch_size x features,
 * row-major, as gc_batch says (model.h).
 */
#ifndef GRADCHECK_SESSION_H
#define GRADCHECK_SESSION_H

#include "model.h"
#include "spec.h"
#include "status.h"

#include <stddef.h>

typedef struct gc_session gc_session;

/* Loads the data of spec and builds its model at step 0, with the batch
 * of step 0 filled.  spec must outlive the session. */
gc_status gc_session_open(const gc_spec *spec, gc_session **out,
                          gc_error *err);
void gc_session_free(gc_session *session);

/* Trains from the current step up to `step` (one gradient and one update
 * per step) and fills the batch of `step`.  A step can only move
 * forward.  GC_ENUMERIC when a loss on the way is not finite: the run
 * would have trapped there, and the message names the step. */
gc_status gc_session_advance(gc_session *session, size_t step,
                             gc_error *err);

/* The model (valid until gc_session_free), the current batch (valid
 * until the next advance), the current step, and the run's planned
 * number of steps. */
gc_model *gc_session_model(gc_session *session);
const gc_batch *gc_session_batch(const gc_session *session);
size_t gc_session_step(const gc_session *session);
size_t gc_session_planned_steps(const gc_session *session);

#endif
