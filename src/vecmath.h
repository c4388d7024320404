/* vecmath.h - elementwise exp, tanh and sigmoid over arrays, vectorised.
 *
 * Shapes: each maps n doubles to n doubles (in place allowed).
 *
 * With GCC on glibc these loops call libmvec's SIMD variants of exp and
 * tanh (2 lanes with SSE, 4 with AVX2 where the CPU has it), which are
 * accurate to 4 ulp against libm's correctly-rounded-or-nearly results;
 * elsewhere they are plain loops over libm.  They are for the checker's
 * batched partial evaluations, where the same function computes both
 * sides of every difference; the engine's forward pass keeps libm.
 * Results depend on the CPU's vector width, never on the thread count.
 */
#ifndef GRADCHECK_VECMATH_H
#define GRADCHECK_VECMATH_H

#include <stddef.h>

void gc_vec_exp(const double *x, double *y, size_t n);
void gc_vec_tanh(const double *x, double *y, size_t n);

/* 1 / (1 + exp(-x)), as e / (1 + e) with e = exp(-|x|) on the side that
 * cannot overflow, so that sigmoid(-40) keeps its relative accuracy. */
void gc_vec_sigmoid(const double *x, double *y, size_t n);

#endif
