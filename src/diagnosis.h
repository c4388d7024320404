/* diagnosis.h - from evidence to findings, each with a stable id, the
 * numbers behind it and the fix (docs/findings/<id>.md).
 *
 * The diagnosis sees values only: check results, the model's gradients and
 * deltas, the numeric ones, the training curve and the trap monitor.  It
 * never sees the as-written switches of a config.
 *
 * Ids: softmax-jacobian-mismatch, gradient-mismatch, logit-drift,
 * unstable-softmax, non-finite.  Each (id, tensor or layer) is reported
 * once per run.
 */
#ifndef GRADCHECK_DIAGNOSIS_H
#define GRADCHECK_DIAGNOSIS_H

#include "events.h"
#include "evidence.h"
#include "fingerprint.h"
#include "model.h"
#include "spec.h"
#include "trap.h"

#include <stdbool.h>
#include <stddef.h>

/* Logit drift: output pre-activations whose batch mean moved the same way
 * over this many consecutive training windows ... */
#define GC_DRIFT_WINDOWS 6
/* ... and whose mean is at least this far from 0.  A correct softmax
 * gradient sums to zero over the classes, which keeps the mean of the
 * output weight rows and biases fixed, so the mean logit of a healthy
 * softmax layer stays within a few units of 0; 20 is far outside that
 * (exp(20) = 5e8) and far inside exp's range (708). */
#define GC_DRIFT_MIN_LOGIT 20.0

/* Per-sample logit-gradient sums, relative to the gradient's 1-norm: a
 * correct softmax backward gives rounding-level sums (<~1e-12); the
 * diagonal-only one gives sums of the order of the gradient itself.
 * Above GC_LOGIT_SUM_BROKEN the sums are not zero; the numeric sums must be
 * below GC_LOGIT_SUM_ZERO (finite-difference noise ~1e-8 relative) to
 * show that the loss really is shift-invariant. */
#define GC_LOGIT_SUM_BROKEN 1e-3
#define GC_LOGIT_SUM_ZERO 1e-5

typedef struct gc_diagnosis gc_diagnosis;


gc_diagnosis *gc_diagnosis_alloc(void);
void gc_diagnosis_free(gc_diagnosis *diagnosis);

/* Each function writes up to `max` findings to out and returns how many. */
size_t gc_diagnose_full_check(gc_diagnosis *d,
                              const gc_full_check_evidence *evidence,
                              gc_finding_event *out, size_t max);

/* A direction check that failed on a tensor no finding explains yet sets
 * *wants_full_check, asking the run loop to localise it with a full check
 * at this step (the full check's findings name it). */
size_t gc_diagnose_directions(gc_diagnosis *d, const gc_check_event *checks,
                              size_t count, bool *wants_full_check,
                              gc_finding_event *out, size_t max);

/* The training curve: logit-drift, and unstable-softmax when the softmax
 * exponentiates raw logits (monitor) while they drift. */
size_t gc_diagnose_train(gc_diagnosis *d, const gc_train_event *train,
                         const gc_trap_monitor *monitor,
                         gc_finding_event *out, size_t max);

/* The update of one step: update-ascent (fingerprint.h), once a run. */
size_t gc_diagnose_update(gc_diagnosis *d, const gc_update_evidence *update,
                          gc_finding_event *out, size_t max);

/* Traps: non-finite for a fatal one (and unclamped-log where the
 * fingerprint names it), unstable-softmax for exp-range. */
size_t gc_diagnose_trap(gc_diagnosis *d, const gc_trap_event *trap,
                        gc_finding_event *out, size_t max);

/* True once a finding with this id was reported. */
bool gc_diagnosis_reported(const gc_diagnosis *d, const char *id);

#endif
