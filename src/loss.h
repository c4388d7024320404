/* loss.h - per-sample losses, their gradients, and the softmax.
 *
 * Shapes: one sample at a time.  z and a are the output layer's k
 * pre-activations and activations; label is the class index.  Targets are
 * one-hot over k classes, or, when k == 1, the label itself (0 or 1).
 * The batch loss is the mean of the per-sample losses (engine.c).
 *
 *   mse:                  l = 1/2 sum_k (a_k - y_k)^2
 *   cross-entropy:        l = -sum_k y_k log a_k
 *   binary-cross-entropy: l = -sum_k [y_k log a_k + (1-y_k) log(1-a_k)]
 */
#ifndef GRADCHECK_LOSS_H
#define GRADCHECK_LOSS_H

#include "spec.h"

#include <stdbool.h>
#include <stddef.h>

/* Probabilities are clamped to [GC_PROB_FLOOR, 1 - GC_PROB_FLOOR] before a
 * log by the correct loss: 1e-15 is the usual floor (it caps one term at
 * -log(1e-15) = 34.5) and lies far below any probability a trained
 * network reports, so it changes no gradient that matters. */
#define GC_PROB_FLOOR 1e-15

/* The target of output unit `unit` for a sample of class `label`. */
double gc_loss_target(size_t k, int label, size_t unit);

/* Row-wise softmax of k logits: a = exp(z - m) / sum exp(z - m), with
 * m = max(z) when subtract_max, else m = 0 (the unstable as-written form).
 * shifted (k, may be NULL) receives z - m, what exp was applied to;
 * *sum receives the denominator.  Returns nothing: NaN and zero sums are
 * left for the traps to see. */
void gc_softmax(const double *z, double *a, size_t k, bool subtract_max,
                double *shifted, double *sum);

/* log(sum_i exp(z_i)), computed with the max subtracted. */
double gc_log_sum_exp(const double *z, size_t k);

/* Per-sample loss.  The correct form uses z where that is more accurate
 * (log-sum-exp for softmax with cross-entropy, softplus for sigmoid with
 * binary cross-entropy) and clamps probabilities otherwise.  With
 * log_unclamped (an as-written mistake) it takes log of a as it is. */
double gc_loss_sample(gc_loss loss, gc_activation output, const double *z,
                      const double *a, size_t k, int label,
                      bool log_unclamped);

/* dl/da for one sample (k values), the gradient of the loss with respect
 * to the output activations, with the same clamping as gc_loss_sample. */
void gc_loss_gradient(gc_loss loss, const double *a, size_t k, int label,
                      bool log_unclamped, double *dl_da);

/* True when the pair has the simple output delta dl/dz = a - y:
 * softmax with cross-entropy and sigmoid with binary cross-entropy. */
bool gc_loss_delta_is_residual(gc_loss loss, gc_activation output);

#endif
