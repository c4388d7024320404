/* activation.c - elementwise activations and their derivatives. */
#include "activation.h"

#include <math.h>

/* sigmoid(z) = 1 / (1 + exp(-z)), written so that exp never overflows:
 * for z < 0 use exp(z) / (1 + exp(z)). */
static double sigmoid(double z)
{
    if (z >= 0.0)
        return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

double gc_activation_value(gc_activation f, double z)
{
    switch (f) {
    case GC_ACT_IDENTITY: return z;
    case GC_ACT_SIGMOID: return sigmoid(z);
    case GC_ACT_TANH: return tanh(z);
    case GC_ACT_RELU: return z > 0.0 ? z : 0.0;
    case GC_ACT_LEAKY_RELU: return z > 0.0 ? z : GC_LEAKY_SLOPE * z;
    case GC_ACT_SOFTMAX: break;  /* row-wise: see loss.h */
    }
    return NAN;
}

double gc_activation_slope(gc_activation f, double z)
{
    switch (f) {
    case GC_ACT_IDENTITY: return 1.0;
    case GC_ACT_SIGMOID:
        /* s(1 - s) with 1 - s = sigmoid(-z): no cancellation when s is
         * near 1, so saturated units keep their relative accuracy */
        return sigmoid(z) * sigmoid(-z);
    case GC_ACT_TANH: {
        /* 1 - tanh^2 = 1 / cosh^2, exact to rounding even where tanh
         * rounds to +-1 (cosh overflows to inf and gives 0 past |z|~710) */
        double c = cosh(z);
        return 1.0 / (c * c);
    }
    case GC_ACT_RELU: return z >= 0.0 ? 1.0 : 0.0;
    case GC_ACT_LEAKY_RELU: return z >= 0.0 ? 1.0 : GC_LEAKY_SLOPE;
    case GC_ACT_SOFTMAX: break;
    }
    return NAN;
}

void gc_activation_forward(gc_activation f, const double *z, double *a,
                           size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = gc_activation_value(f, z[i]);
}

void gc_activation_derivative(gc_activation f, const double *x, double *d,
                              size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = gc_activation_slope(f, x[i]);
}

bool gc_activation_is_piecewise(gc_activation f)
{
    return f == GC_ACT_RELU || f == GC_ACT_LEAKY_RELU;
}

uint64_t gc_activation_pattern(gc_activation f, const double *z, size_t n,
                               uint64_t hash)
{
    if (!gc_activation_is_piecewise(f))
        return hash;
    const uint64_t prime = 1099511628211ULL;
    for (size_t i = 0; i < n; i++) {
        hash ^= (uint64_t)(z[i] >= 0.0) + 1u;
        hash *= prime;
    }
    return hash;
}
