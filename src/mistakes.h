/* mistakes.h - the catalogue of as-written backprop mistakes.
 *
 * Each function is one step of the engine's forward, backward or update
 * where a known mistake can stand in for the correct formula; it reads the
 * gc_as_written_spec and returns or computes whichever the author wrote.
 * docs/mistakes.md gives, for each, the wrong formula and the right one.
 * Only engine.c calls these: the checker never learns which is active.
 */
#ifndef GRADCHECK_MISTAKES_H
#define GRADCHECK_MISTAKES_H

#include "spec.h"
#include "status.h"

#include <stddef.h>

/* GC_ECONFIG if a switched-on mistake cannot apply to this network (a
 * transposed or output-built weight gradient needs a square layer). */
gc_status gc_mistakes_validate(const gc_as_written_spec *aw,
                               const gc_network_spec *network, size_t inputs,
                               gc_error *err);

/* The output delta dL/dz of one sample (k units).  Correct: a - y for
 * softmax with cross-entropy and sigmoid with binary cross-entropy,
 * otherwise J_f(z)^T dl/da.  scratch holds k doubles. */
void gc_mistakes_output_delta(const gc_as_written_spec *aw, gc_loss loss,
                              gc_activation output, const double *z,
                              const double *a, size_t k, int label,
                              double *scratch, double *delta);

/* Where f' is evaluated in a hidden delta: z (correct) or a. */
const double *gc_mistakes_derivative_point(const gc_as_written_spec *aw,
                                           const double *z, const double *a);

/* The factor on the summed per-sample gradients: 1/B (correct) or 1. */
double gc_mistakes_batch_scale(const gc_as_written_spec *aw, size_t count);

/* The activations a weight gradient is built from: the layer's input
 * (correct) or, on a square layer, its own output. */
const double *gc_mistakes_weight_gradient_input(const gc_as_written_spec *aw,
                                                size_t width, size_t fan_in,
                                                const double *input,
                                                const double *output);

/* Leaves dW (rows x cols) as is, or transposes it in place on a square
 * layer. */
void gc_mistakes_weight_gradient_layout(const gc_as_written_spec *aw,
                                        double *dw, size_t rows, size_t cols);

/* Leaves db (n) as is, or zeroes it (no bias gradient). */
void gc_mistakes_bias_gradient(const gc_as_written_spec *aw, double *db,
                               size_t n);

/* +1 for descent (theta -= lr g, correct), -1 for ascent. */
double gc_mistakes_update_sign(const gc_as_written_spec *aw);

#endif
