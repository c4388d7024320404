/* loss.c - per-sample losses, their gradients, and the softmax. */
#include "loss.h"

#include <math.h>

double gc_loss_target(size_t k, int label, size_t unit)
{
    if (k == 1)
        return (double)label;
    return (size_t)label == unit ? 1.0 : 0.0;
}

void gc_softmax(const double *z, double *a, size_t k, bool subtract_max,
                double *shifted, double *sum)
{
    double m = 0.0;
    if (subtract_max) {
        m = z[0];
        for (size_t i = 1; i < k; i++)
            if (z[i] > m)
                m = z[i];
    }
    double total = 0.0;
    for (size_t i = 0; i < k; i++) {
        double s = z[i] - m;
        if (shifted != NULL)
            shifted[i] = s;
        a[i] = exp(s);
        total += a[i];
    }
    for (size_t i = 0; i < k; i++)
        a[i] /= total;
    if (sum != NULL)
        *sum = total;
}

double gc_log_sum_exp(const double *z, size_t k)
{
    double m = z[0];
    for (size_t i = 1; i < k; i++)
        if (z[i] > m)
            m = z[i];
    double total = 0.0;
    for (size_t i = 0; i < k; i++)
        total += exp(z[i] - m);
    return m + log(total);
}

static double clamp_probability(double p, bool log_unclamped)
{
    if (log_unclamped)
        return p;
    if (p < GC_PROB_FLOOR)
        return GC_PROB_FLOOR;
    if (p > 1.0 - GC_PROB_FLOOR)
        return 1.0 - GC_PROB_FLOOR;
    return p;
}

/* softplus(z) = log(1 + exp(z)) without overflow. */
static double softplus(double z)
{
    return (z > 0.0 ? z : 0.0) + log1p(exp(-fabs(z)));
}

static double mse_sample(const double *a, size_t k, int label)
{
    double total = 0.0;
    for (size_t i = 0; i < k; i++) {
        double r = a[i] - gc_loss_target(k, label, i);
        total += r * r;
    }
    return 0.5 * total;
}

/* -log softmax(z)[y] = (m - z_y) + log(1 + sum_(i != top) exp(z_i - m)),
 * m = max z = z_top.  Written with log1p so that a confident, correct
 * prediction (loss ~1e-10) keeps its relative accuracy: log-sum-exp minus
 * z_y would lose it to cancellation, and with it the finite differences
 * of the loss that the checker takes. */
static double softmax_cross_entropy(const double *z, size_t k, size_t y)
{
    size_t top = 0;
    for (size_t i = 1; i < k; i++)
        if (z[i] > z[top])
            top = i;
    double rest = 0.0;
    for (size_t i = 0; i < k; i++)
        if (i != top)
            rest += exp(z[i] - z[top]);
    return (z[top] - z[y]) + log1p(rest);
}

static double cross_entropy_sample(gc_activation output, const double *z,
                                   const double *a, size_t k, int label,
                                   bool log_unclamped)
{
    if (output == GC_ACT_SOFTMAX && !log_unclamped && k > 1)
        return softmax_cross_entropy(z, k, (size_t)label);
    double total = 0.0;
    for (size_t i = 0; i < k; i++) {
        double y = gc_loss_target(k, label, i);
        if (y != 0.0)
            total -= y * log(clamp_probability(a[i], log_unclamped));
    }
    return total;
}

static double binary_cross_entropy_sample(gc_activation output,
                                          const double *z, const double *a,
                                          size_t k, int label,
                                          bool log_unclamped)
{
    double total = 0.0;
    for (size_t i = 0; i < k; i++) {
        double y = gc_loss_target(k, label, i);
        if (output == GC_ACT_SIGMOID && !log_unclamped) {
            /* -[y log s + (1-y) log(1-s)] = softplus(z) - y z */
            total += softplus(z[i]) - y * z[i];
        } else {
            double p = clamp_probability(a[i], log_unclamped);
            total -= y * log(p) + (1.0 - y) * log(1.0 - p);
        }
    }
    return total;
}

double gc_loss_sample(gc_loss loss, gc_activation output, const double *z,
                      const double *a, size_t k, int label,
                      bool log_unclamped)
{
    switch (loss) {
    case GC_LOSS_MSE:
        return mse_sample(a, k, label);
    case GC_LOSS_CROSS_ENTROPY:
        return cross_entropy_sample(output, z, a, k, label, log_unclamped);
    case GC_LOSS_BINARY_CROSS_ENTROPY:
        return binary_cross_entropy_sample(output, z, a, k, label,
                                           log_unclamped);
    }
    return NAN;
}

void gc_loss_gradient(gc_loss loss, const double *a, size_t k, int label,
                      bool log_unclamped, double *dl_da)
{
    for (size_t i = 0; i < k; i++) {
        double y = gc_loss_target(k, label, i);
        switch (loss) {
        case GC_LOSS_MSE:
            dl_da[i] = a[i] - y;
            break;
        case GC_LOSS_CROSS_ENTROPY: {
            /* d/da of -y log(clamp(a)): zero where the clamp is active */
            double p = clamp_probability(a[i], log_unclamped);
            dl_da[i] = (y == 0.0 || p != a[i]) ? 0.0 : -y / p;
            break;
        }
        case GC_LOSS_BINARY_CROSS_ENTROPY: {
            double p = clamp_probability(a[i], log_unclamped);
            dl_da[i] = p != a[i] ? 0.0 : (p - y) / (p * (1.0 - p));
            break;
        }
        }
    }
}

bool gc_loss_delta_is_residual(gc_loss loss, gc_activation output)
{
    return (loss == GC_LOSS_CROSS_ENTROPY && output == GC_ACT_SOFTMAX) ||
           (loss == GC_LOSS_BINARY_CROSS_ENTROPY &&
            output == GC_ACT_SIGMOID);
}
