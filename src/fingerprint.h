/* fingerprint.h - from gradient values to a named backprop mistake.
 *
 * A relative error says that a tensor is wrong; a fingerprint says which
 * mistake made it wrong.  Each fingerprint is one structural hypothesis
 * ("the weight gradient is the transpose of the right one", "the hidden
 * delta took f' at a instead of at z") tested on values alone: the
 * model's gradient, the numeric gradient, the model's and the numeric
 * deltas, the layer values.  A hypothesis names its mistake only when it
 * rebuilds what the model computed, from the right values, to within
 * GC_FINGERPRINT_FIT, and at least GC_FINGERPRINT_GAIN times better than
 * the plain mismatch does.
 *
 * Nothing here reads a config or knows which mistake, if any, was
 * switched on: the same code serves a network whose author gradcheck
 * does not know.  Where a hypothesis needs a value the model does not
 * show (its deltas, its activations), that hypothesis is not tried and
 * the failure stays a plain gradient-mismatch (diagnosis.c).
 *
 * Ids (docs/findings/<id>.md), all of severity error:
 *   batch-sum-not-mean               every tensor is B times the numeric
 *   missing-bias-gradient            every bias gradient is exactly 0
 *   weight-gradient-transposed       dW of a square layer is n^T
 *   weight-gradient-from-output      dW built from the layer's own output
 *   derivative-at-activation         a delta carries f'(a) for f'(z)
 *   output-delta-missing-derivative  the output delta lacks f'(z)
 *   softmax-bce-mismatch             delta = a - y under softmax with
 *                                    per-output binary cross-entropy
 *   update-ascent                    the update moves along +gradient
 *   unclamped-log                    a log of a probability 0 or 1
 */
#ifndef GRADCHECK_FINGERPRINT_H
#define GRADCHECK_FINGERPRINT_H

#include "events.h"
#include "evidence.h"

#include <stdbool.h>
#include <stddef.h>

/* A hypothesis explains a tensor when the values it predicts differ from
 * the model's by at most this in relative norm.  The prediction is built
 * from the numeric gradient, whose own error on a passing tensor is below
 * the default pass band ([checks] pass_below, 1e-6) and typically 1e-9,
 * so an exact hypothesis reproduces the model's values to about that; ten
 * times the pass band leaves room for the error growing through a product
 * with layer values.  The mismatches the catalogue mistakes leave are
 * 1e-3 to 1 relative, far above, and a tensor is only looked at when its
 * check failed (above [checks] fail_above, default 1e-4). */
#define GC_FINGERPRINT_FIT 1e-5

/* ... and the prediction must be at least this many times closer to the
 * model's values than the numeric gradient is (the plain relative
 * error).  A hypothesis that explains a mismatch of 1e-2 leaves 1e-8 to
 * 1e-5 of it; a hypothesis that only happens to be close, on a tensor
 * whose error is itself small, does not gain a hundredfold. */
#define GC_FINGERPRINT_GAIN 100.0

/* A per-sample target rebuilt as a - delta is one-hot when each entry is
 * within this of 0 or 1.  Rounding of a - (a - y) is a few ulp of 1;
 * 1e-6 is far above that and far below the distance of any probability a
 * network outputs from 0 or 1 in the middle of training. */
#define GC_ONE_HOT_TOLERANCE 1e-6

/* update-ascent: the update moved the parameters along the gradient when
 * the cosine of the update with +gradient is above this.  Plain gradient
 * descent gives exactly -1 (ascent +1); momentum or a per-parameter step
 * size turns the update away from -g, but an update that is more than 60
 * degrees toward +g on a step where the loss also rose goes uphill by
 * construction. */
#define GC_ASCENT_COSINE 0.5

/* Softmax rows: activations in [0, 1] summing to 1 within this tolerance
 * (rounding of a k-term sum is ~k eps; 1e-9 leaves ample room). */
#define GC_SOFTMAX_ROW_TOLERANCE 1e-9

/* True when every one of the rows x k values a (row-major) is a softmax
 * row by GC_SOFTMAX_ROW_TOLERANCE; false for a NULL a or k < 2. */
bool gc_rows_look_like_softmax(const double *a, size_t rows, size_t k);

/* Tests every gradient hypothesis on a full check's values.  root is the
 * highest layer whose delta disagrees with the numeric one and whose
 * tensors fail (0: none, or no delta shown); a delta hypothesis explains
 * the failures of the root layer and the layers below it, which inherit
 * its delta, and only when no layer above the root fails.  Writes the
 * one mistake that explains every failing tensor to *out (id, severity,
 * step, layer, tensor, message, fix, evidence) and returns true; false
 * when none does. */
bool gc_fingerprint_full_check(const gc_full_check_evidence *evidence,
                               size_t root, gc_finding_event *out);

/* True when layer l's weight and bias gradients are exactly what its own
 * delta gives, dW = s delta^T a_(l-1) and db = s sum_b delta_b with s = 1 /
 * numeric_delta_scale, to within GC_FINGERPRINT_FIT; *fit gets the worse
 * of the two relative differences.  False (and *fit NaN) when the model
 * does not show the delta or the layer's input.  A failing layer whose
 * gradients its delta explains this way has a wrong delta, not a wrong
 * assembly, even when the delta's own mismatch is below the fail band
 * (a bias sums the delta over the batch, and the sum can cancel). */
bool gc_fingerprint_assembled_from_delta(const gc_full_check_evidence *ev,
                                         size_t layer, double *fit);

/* One update as values: the model's gradient g and the parameter change
 * d = theta_after - theta_before over every parameter, and the batch
 * loss before and after (same batch). */
typedef struct {
    size_t step;
    double gradient_dot_update;   /* g . d */
    double gradient_norm;         /* |g| */
    double update_norm;           /* |d| */
    double loss_before, loss_after;
} gc_update_evidence;

/* update-ascent when the update points along +g (GC_ASCENT_COSINE) and
 * the batch loss rose.  Writes *out and returns true then. */
bool gc_fingerprint_update(const gc_update_evidence *update,
                           gc_finding_event *out);

/* unclamped-log when a fatal trap in the loss (NaN, Inf or a division by
 * zero) had a probability of exactly 0 or 1 among the values that went
 * into its log.  Writes *out and returns true then. */
bool gc_fingerprint_trap(const gc_trap_event *trap, gc_finding_event *out);

#endif
