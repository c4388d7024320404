/* vecmath.c - vectorised exp, tanh and sigmoid (vecmath.h).
 *
 * This file is compiled with -fno-math-errno and OpenMP SIMD
 * (CMakeLists.txt): the pragmas below tell GCC that libmvec has SIMD
 * variants of exp and tanh, which glibc's own header announces only under
 * -ffast-math.  Nothing here reads errno, and -ffast-math itself (which
 * would let GCC assume no NaN or Inf) is not used.
 */
#include "vecmath.h"

#include <math.h>

#if defined(__GNUC__) && defined(__x86_64__) && defined(__GLIBC__)
#pragma omp declare simd notinbranch
double exp(double);
#pragma omp declare simd notinbranch
double tanh(double);
/* Two clones of each loop: AVX2 (4 lanes, libmvec's _ZGVdN4v_ variants)
 * where the CPU has it, baseline SSE2 (2 lanes) otherwise, chosen once
 * at load time. */
#define GC_VEC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define GC_VEC_CLONES
#endif

GC_VEC_CLONES
void gc_vec_exp(const double *x, double *y, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        y[i] = exp(x[i]);
}

GC_VEC_CLONES
void gc_vec_tanh(const double *x, double *y, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        y[i] = tanh(x[i]);
}

GC_VEC_CLONES
void gc_vec_sigmoid(const double *x, double *y, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        double e = exp(-fabs(x[i]));
        double s = 1.0 / (1.0 + e);
        y[i] = x[i] >= 0.0 ? s : e * s;
    }
}
