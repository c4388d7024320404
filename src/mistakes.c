/* mistakes.c - one small unit per as-written mistake (see mistakes.h). */
#include "mistakes.h"

#include "activation.h"
#include "loss.h"

#include <string.h>

gc_status gc_mistakes_validate(const gc_as_written_spec *aw,
                               const gc_network_spec *network, size_t inputs,
                               gc_error *err)
{
    if (!aw->weight_gradient_from_output && !aw->weight_gradient_transposed)
        return GC_OK;
    size_t fan_in = inputs;
    for (size_t l = 0; l < network->layer_count; l++) {
        if (network->layers[l].width == fan_in)
            return GC_OK;
        fan_in = network->layers[l].width;
    }
    return gc_error_set(err, GC_ECONFIG,
                        "[as-written] weight_gradient_from_output and "
                        "weight_gradient_transposed need a square layer "
                        "(width equal to its input width); this network "
                        "has none");
}

/* delta = J^T g for the output activation, with f' taken where the
 * author took it. */
static void chain_output(const gc_as_written_spec *aw, gc_activation output,
                         const double *z, const double *a, size_t k,
                         const double *g, double *delta)
{
    if (output == GC_ACT_SOFTMAX) {
        if (aw->softmax_derivative == GC_SOFTMAX_DERIV_ELEMENTWISE) {
            /* as written: the diagonal of the Jacobian only */
            for (size_t i = 0; i < k; i++)
                delta[i] = a[i] * (1.0 - a[i]) * g[i];
            return;
        }
        /* J = diag(s) - s s^T, so J^T g = s * (g - s.g) */
        double dot = 0.0;
        for (size_t i = 0; i < k; i++)
            dot += a[i] * g[i];
        for (size_t i = 0; i < k; i++)
            delta[i] = a[i] * (g[i] - dot);
        return;
    }
    const double *at = aw->derivative_at_activation ? a : z;
    for (size_t i = 0; i < k; i++)
        delta[i] = gc_activation_slope(output, at[i]) * g[i];
}

static void residual(size_t k, const double *a, int label, double *delta)
{
    for (size_t i = 0; i < k; i++)
        delta[i] = a[i] - gc_loss_target(k, label, i);
}

/* The correct a - y of softmax with cross-entropy, with the label's
 * entry written as -sum_(i != y) a_i (equal, since the a sum to 1): when
 * the network is confident, a_y rounds to 1 and a_y - 1 to 0, while the
 * sum keeps the tiny true value and the row sums to zero exactly. */
static void softmax_residual(size_t k, const double *a, int label,
                             double *delta)
{
    double others = 0.0;
    for (size_t i = 0; i < k; i++) {
        delta[i] = a[i];
        if ((int)i != label)
            others += a[i];
    }
    delta[label] = -others;
}

/* The correct a - y of sigmoid with binary cross-entropy from z:
 * sigmoid(z) - 1 = -sigmoid(-z), accurate where sigmoid(z) rounds to 1. */
static void sigmoid_residual(size_t k, const double *z, int label,
                             double *delta)
{
    for (size_t i = 0; i < k; i++) {
        double y = gc_loss_target(k, label, i);
        double s_neg = gc_activation_value(GC_ACT_SIGMOID, -z[i]);
        delta[i] = y == 1.0 ? -s_neg
                            : gc_activation_value(GC_ACT_SIGMOID, z[i]) - y;
    }
}

void gc_mistakes_output_delta(const gc_as_written_spec *aw, gc_loss loss,
                              gc_activation output, const double *z,
                              const double *a, size_t k, int label,
                              double *scratch, double *delta)
{
    bool derivative_as_is =
        aw->softmax_derivative == GC_SOFTMAX_DERIV_JACOBIAN &&
        !aw->derivative_at_activation;
    if (gc_loss_delta_is_residual(loss, output) && derivative_as_is) {
        if (output == GC_ACT_SOFTMAX && k > 1)
            softmax_residual(k, a, label, delta);
        else
            sigmoid_residual(k, z, label, delta);
        return;
    }
    if (loss == GC_LOSS_MSE && aw->output_delta_skips_activation) {
        residual(k, a, label, delta);   /* as written: f'(z) left out */
        return;
    }
    gc_loss_gradient(loss, a, k, label, aw->log_unclamped, scratch);
    chain_output(aw, output, z, a, k, scratch, delta);
}

const double *gc_mistakes_derivative_point(const gc_as_written_spec *aw,
                                           const double *z, const double *a)
{
    return aw->derivative_at_activation ? a : z;
}

double gc_mistakes_batch_scale(const gc_as_written_spec *aw, size_t count)
{
    return aw->batch_sum ? 1.0 : 1.0 / (double)count;
}

const double *gc_mistakes_weight_gradient_input(const gc_as_written_spec *aw,
                                                size_t width, size_t fan_in,
                                                const double *input,
                                                const double *output)
{
    if (aw->weight_gradient_from_output && width == fan_in)
        return output;
    return input;
}

void gc_mistakes_weight_gradient_layout(const gc_as_written_spec *aw,
                                        double *dw, size_t rows, size_t cols)
{
    if (!aw->weight_gradient_transposed || rows != cols)
        return;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = i + 1; j < cols; j++) {
            double t = dw[i * cols + j];
            dw[i * cols + j] = dw[j * cols + i];
            dw[j * cols + i] = t;
        }
}

void gc_mistakes_bias_gradient(const gc_as_written_spec *aw, double *db,
                               size_t n)
{
    if (aw->no_bias_gradient)
        memset(db, 0, n * sizeof *db);
}

double gc_mistakes_update_sign(const gc_as_written_spec *aw)
{
    return aw->update_ascent ? -1.0 : 1.0;
}
