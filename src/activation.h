/* activation.h - elementwise activations and their derivatives.
 *
 * Shapes: every function maps n doubles to n doubles, in place allowed.
 * Softmax is row-wise and lives in loss.h.  leaky-relu has slope
 * GC_LEAKY_SLOPE below zero.  At the kink of relu and leaky-relu (z == 0)
 * the derivative is taken from the right (1).
 */
#ifndef GRADCHECK_ACTIVATION_H
#define GRADCHECK_ACTIVATION_H

#include "spec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GC_LEAKY_SLOPE 0.01

/* a[i] = f(z[i]) for i < n. */
void gc_activation_forward(gc_activation f, const double *z, double *a,
                           size_t n);

/* d[i] = f'(x[i]): the derivative of f evaluated at x.  The correct
 * backward passes x = z; the as-written mistake passes x = a. */
void gc_activation_derivative(gc_activation f, const double *x, double *d,
                              size_t n);

/* One value: f(z) and f'(z). */
double gc_activation_value(gc_activation f, double z);
double gc_activation_slope(gc_activation f, double z);

/* True for activations with a kink (relu, leaky-relu), whose finite
 * differences are invalid when the step crosses z = 0. */
bool gc_activation_is_piecewise(gc_activation f);

/* Mixes the signs of z[0..n) into hash (FNV-1a style) for piecewise f;
 * returns hash unchanged for smooth f.  Two evaluations whose hashes
 * differ crossed a kink. */
uint64_t gc_activation_pattern(gc_activation f, const double *z, size_t n,
                               uint64_t hash);

#endif
