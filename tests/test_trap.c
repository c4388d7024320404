/* test_trap.c - the floating-point trap monitor (trap.h): which operation,
 * layer, sample and kind it names, the values it records, its early
 * warnings (exp-range, log-edge), that it keeps only the first event of
 * each kind, and that exception flags raised before or between the
 * operations it watches never turn into a trap or name one's kind.
 *
 * The engine tests build one network whose logits are exact: 3 inputs,
 * an identity layer of 3 units with W1 = I and b1 = 0, then a softmax
 * layer of 3 units with W2 = I.  So z2 of a sample is its input row plus
 * b2, with no rounding at all (every product is by 1 or 0), and an input
 * row of -800 gives the logits -800 + b2.  The other tests hand crafted
 * operation records to gc_trap_hook directly.
 */
#include "engine.h"
#include "events.h"
#include "model.h"
#include "spec.h"
#include "status.h"
#include "test_util.h"
#include "trap.h"

#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>

#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define K 3          /* classes = inputs = hidden width */
#define BATCH 3
#define STEP 41      /* the step the run loop would have set */

#define WATCHED (FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW)

/* Statistics the monitor records are a max, a min (exact) and a mean: a
 * sum of at most 9 values of size <= 823 divided by the count.  The test
 * sums in index order as trap.c does; 8 ulps of the mean cover a
 * different order of the additions (9 terms, each rounding <= 1/2 ulp of
 * the partial sum), which is all that could legitimately differ. */
#define STATS_REL (8 * DBL_EPSILON)
/* Values that are exactly representable (max, min, a probability of 1 or
 * 0): any difference at all is a wrong value, not rounding. */
#define EXACT_REL 0.0
#define EXACT_ABS 0.0

/* The logit offsets b2: distinct, so that max, mean and min differ and a
 * row's largest argument is its first unit. */
static const double b2_offsets[K] = {0.0, -1.0, -3.0};

/* ---- the exact-logit network ------------------------------------------- */

typedef struct {
    gc_engine *engine;
    gc_model *model;
    double x[BATCH * K];
    int labels[BATCH];
    gc_batch batch;
    double *grad;
    double loss;
    gc_trap_monitor monitor;
} exact_net;

typedef struct {
    bool subtract_max;
    bool log_unclamped;
    gc_loss loss;
} net_options;

static const gc_tensor_info *tensor_named(const gc_model *m,
                                          const char *name)
{
    for (size_t t = 0; t < m->tensor_count; t++)
        if (strcmp(m->tensors[t].name, name) == 0)
            return &m->tensors[t];
    cr_assert_fail("no tensor %s", name);
    return NULL;
}

static void set_identity(gc_model *m, const char *name)
{
    const gc_tensor_info *t = tensor_named(m, name);
    cr_assert_eq(t->rows, t->cols);
    for (size_t i = 0; i < t->rows; i++)
        for (size_t j = 0; j < t->cols; j++)
            m->params[t->offset + i * t->cols + j] = i == j ? 1.0 : 0.0;
}

/* rows[r] is sample r's input in every unit, so its logits are exactly
 * z2[r] = rows[r] + b2. */
static void net_make(exact_net *n, net_options o, const double rows[BATCH],
                     const double b2[K], const int labels[BATCH])
{
    gc_network_spec net;
    memset(&net, 0, sizeof net);
    net.inputs = K;
    net.layer_count = 2;
    net.layers[0] = (gc_layer_spec){K, GC_ACT_IDENTITY};
    net.layers[1] = (gc_layer_spec){K, GC_ACT_SOFTMAX};
    net.init = GC_INIT_CONSTANT;
    gc_as_written_spec aw;
    memset(&aw, 0, sizeof aw);
    aw.softmax_derivative = GC_SOFTMAX_DERIV_JACOBIAN;
    aw.softmax_subtract_max = o.subtract_max;
    aw.log_unclamped = o.log_unclamped;
    gc_error err;
    cr_assert_eq(gc_engine_alloc(&net, o.loss, &aw, K, BATCH, &n->engine,
                                 &err),
                 GC_OK, "%s", err.message);
    n->model = gc_engine_model(n->engine);
    gc_model *m = n->model;
    memset(m->params, 0, m->param_count * sizeof(double));
    set_identity(m, "layer1.W");
    set_identity(m, "layer2.W");
    const gc_tensor_info *b = tensor_named(m, "layer2.b");
    for (size_t i = 0; i < K; i++)
        m->params[b->offset + i] = b2[i];
    for (size_t r = 0; r < BATCH; r++) {
        for (size_t i = 0; i < K; i++)
            n->x[r * K + i] = rows[r];
        n->labels[r] = labels[r];
    }
    n->batch = (gc_batch){n->x, n->labels, BATCH, K};
    n->grad = calloc(m->param_count, sizeof(double));
    cr_assert_not_null(n->grad);
    gc_trap_monitor_init(&n->monitor);
}

/* Like net_make, but a sample's input row may differ per unit. */
static void net_make_rows(exact_net *n, net_options o,
                          const double x[BATCH * K], const double b2[K],
                          const int labels[BATCH])
{
    const double zeros[BATCH] = {0};
    net_make(n, o, zeros, b2, labels);
    memcpy(n->x, x, sizeof n->x);
}

static void net_free(exact_net *n)
{
    free(n->grad);
    gc_engine_free(n->engine);
}

/* One monitored gradient() call, as the run loop makes it. */
static void net_run(exact_net *n, size_t step)
{
    gc_error err;
    n->monitor.step = step;
    gc_trap_clear_flags();
    n->model->set_hook(n->model, gc_trap_hook, &n->monitor);
    gc_status status = n->model->gradient(n->model, n->model->params,
                                          &n->batch, &n->loss, n->grad,
                                          &err);
    n->model->set_hook(n->model, NULL, NULL);
    cr_assert_eq(status, GC_OK, "%s", err.message);
}

/* The logits the engine computed are exactly rows[r] + b2: the setup is
 * what the expectations below assume. */
static void assert_logits(exact_net *n, const double *expected)
{
    const double *z = n->model->layers->pre_activations(n->model, 2);
    for (size_t i = 0; i < BATCH * K; i++)
        cr_assert_eq(z[i], expected[i], "z[%zu] = %.17g, expected %.17g", i,
                     z[i], expected[i]);
}

/* max, mean, min of n values, the mean as sum / n in index order. */
static void stats(const double *v, size_t n, double *max, double *mean,
                  double *min)
{
    double sum = 0.0;
    *max = -INFINITY;
    *min = INFINITY;
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        *max = v[i] > *max ? v[i] : *max;
        *min = v[i] < *min ? v[i] : *min;
    }
    *mean = sum / (double)n;
}

static void logits_of(const double rows[BATCH], double *z)
{
    for (size_t r = 0; r < BATCH; r++)
        for (size_t i = 0; i < K; i++)
            z[r * K + i] = rows[r] + b2_offsets[i];
}

static const int labels_012[BATCH] = {0, 1, 2};

/* ---- the first fatal event on crafted logits ----------------------------- */

/* All logits about -800: exp underflows to 0, every row sums to 0, and the
 * unshifted softmax divides 0 by 0.  The first fatal event is the zero row
 * sum at softmax-normalise of layer 2, not the exp (whose zeros are
 * finite) and not the NaN losses and deltas that follow. */
Test(trap_engine, zero_row_sum_of_unshifted_softmax_traps_at_normalise)
{
    const double rows[BATCH] = {-800.0, -810.0, -820.0};
    exact_net n;
    net_make(&n, (net_options){false, false, GC_LOSS_MSE}, rows, b2_offsets,
             labels_012);
    net_run(&n, STEP);
    double z[BATCH * K];
    logits_of(rows, z);
    assert_logits(&n, z);
    cr_assert(isnan(n.loss), "the unshifted softmax gives 0/0: loss %g",
              n.loss);

    const gc_trap_event *e = &n.monitor.fatal;
    cr_assert(n.monitor.fatal_seen);
    cr_assert(e->fatal);
    cr_assert_eq(e->op, GC_OP_SOFTMAX_NORMALISE, "op %s", gc_op_name(e->op));
    cr_assert_str_eq(gc_op_name(e->op), "softmax-normalise");
    cr_assert_eq(e->kind, GC_TRAP_ZERO_SUM, "kind %s",
                 gc_trap_kind_name(e->kind));
    cr_assert_str_eq(gc_trap_kind_name(e->kind), "zero-sum");
    cr_assert_eq(e->layer, 2);
    cr_assert_eq(e->step, STEP);
    cr_assert_eq(e->sample, 0);   /* the first row whose sum is 0 */
    cr_assert(strstr(e->detail, "row sum is 0") != NULL, "%s", e->detail);
    /* For zero-sum the recorded values are the softmax exp arguments of
     * the batch (here the logits themselves: nothing was subtracted). */
    double max, mean, min;
    stats(z, BATCH * K, &max, &mean, &min);
    gc_assert_close(e->input_max, -800.0, EXACT_REL, EXACT_ABS);
    gc_assert_close(e->input_max, max, EXACT_REL, EXACT_ABS);
    gc_assert_close(e->input_mean, mean, STATS_REL, 0.0);
    gc_assert_close(e->input_min, -823.0, EXACT_REL, EXACT_ABS);
    gc_assert_close(n.monitor.exp_arg_max, max, EXACT_REL, EXACT_ABS);
    gc_assert_close(n.monitor.exp_arg_mean, mean, STATS_REL, 0.0);
    net_free(&n);
}

/* The zero-sum row is named by its sample: rows 0 and 2 are healthy. */
Test(trap_engine, zero_row_sum_names_the_sample_whose_row_underflowed)
{
    const double rows[BATCH] = {0.0, -800.0, 0.0};
    exact_net n;
    net_make(&n, (net_options){false, false, GC_LOSS_CROSS_ENTROPY}, rows,
             b2_offsets, labels_012);
    net_run(&n, STEP);
    cr_assert(n.monitor.fatal_seen);
    cr_assert_eq(n.monitor.fatal.op, GC_OP_SOFTMAX_NORMALISE);
    cr_assert_eq(n.monitor.fatal.kind, GC_TRAP_ZERO_SUM);
    cr_assert_eq(n.monitor.fatal.layer, 2);
    cr_assert_eq(n.monitor.fatal.sample, 1);
    /* the whole batch's exp arguments: the healthy rows hold the max */
    double z[BATCH * K], max, mean, min;
    logits_of(rows, z);
    stats(z, BATCH * K, &max, &mean, &min);
    gc_assert_close(n.monitor.fatal.input_max, 0.0, EXACT_REL, EXACT_ABS);
    gc_assert_close(n.monitor.fatal.input_mean, mean, STATS_REL, 0.0);
    gc_assert_close(n.monitor.fatal.input_min, -803.0, EXACT_REL,
                    EXACT_ABS);
    net_free(&n);
}

/* Logits of about +800: exp overflows to Inf (the overflow flag is up),
 * so the first fatal event is at softmax-exp itself, of kind overflow,
 * with the statistics of the exp arguments. */
Test(trap_engine, overflowing_exp_of_unshifted_softmax_traps_at_exp)
{
    const double rows[BATCH] = {0.0, 800.0, 790.0};
    exact_net n;
    net_make(&n, (net_options){false, false, GC_LOSS_CROSS_ENTROPY}, rows,
             b2_offsets, labels_012);
    net_run(&n, STEP);
    double z[BATCH * K];
    logits_of(rows, z);
    assert_logits(&n, z);

    const gc_trap_event *e = &n.monitor.fatal;
    cr_assert(n.monitor.fatal_seen);
    cr_assert(e->fatal);
    cr_assert_eq(e->op, GC_OP_SOFTMAX_EXP, "op %s", gc_op_name(e->op));
    cr_assert_str_eq(gc_op_name(e->op), "softmax-exp");
    cr_assert_eq(e->kind, GC_TRAP_OVERFLOW, "kind %s",
                 gc_trap_kind_name(e->kind));
    cr_assert_eq(e->layer, 2);
    cr_assert_eq(e->step, STEP);
    cr_assert_eq(e->sample, 1);
    double max, mean, min;
    stats(z, BATCH * K, &max, &mean, &min);
    gc_assert_close(e->input_max, 800.0, EXACT_REL, EXACT_ABS);
    gc_assert_close(e->input_mean, mean, STATS_REL, 0.0);
    gc_assert_close(e->input_min, -3.0, EXACT_REL, EXACT_ABS);
    net_free(&n);
}

/* The correct default subtracts each row's maximum: the same logits, of
 * either sign, give a largest exp argument of exactly 0, a row sum of at
 * least 1 and no event of any kind. */
Test(trap_engine, max_subtraction_makes_the_same_logits_trap_free)
{
    const double shifts[] = {-800.0, 800.0};
    for (size_t s = 0; s < 2; s++) {
        const double rows[BATCH] = {shifts[s], shifts[s] - 10.0, 0.0};
        exact_net n;
        net_make(&n, (net_options){true, false, GC_LOSS_CROSS_ENTROPY}, rows,
                 b2_offsets, labels_012);
        net_run(&n, STEP);
        cr_assert(!n.monitor.fatal_seen, "logits %g: %s %s: %s", shifts[s],
                  gc_op_name(n.monitor.fatal.op),
                  gc_trap_kind_name(n.monitor.fatal.kind),
                  n.monitor.fatal.detail);
        cr_assert(!n.monitor.exp_range_seen, "logits %g", shifts[s]);
        cr_assert(!n.monitor.log_edge_seen, "logits %g", shifts[s]);
        cr_assert(isfinite(n.loss));
        for (size_t i = 0; i < n.model->param_count; i++)
            cr_assert(isfinite(n.grad[i]));
        cr_assert_eq(n.monitor.softmax_rows, BATCH);
        cr_assert_eq(n.monitor.softmax_rows_unshifted, 0);
        gc_assert_close(n.monitor.exp_arg_max, 0.0, EXACT_REL, EXACT_ABS);
        net_free(&n);
    }
}

/* ---- early warnings ------------------------------------------------------ */

/* exp's range in double is exactly [GC_EXP_ARG_MIN, GC_EXP_ARG_MAX]: at
 * the ends exp is normal and finite, one ulp outside it is not.  The
 * monitor warns one ulp outside and not at the ends. */
Test(trap_warnings, exp_range_limits_are_the_ends_of_exps_normal_range)
{
    double below = nextafter(GC_EXP_ARG_MIN, -INFINITY);
    double above = nextafter(GC_EXP_ARG_MAX, INFINITY);
    cr_assert(isnormal(exp(GC_EXP_ARG_MIN)));
    cr_assert(!isnormal(exp(below)));
    cr_assert(isfinite(exp(GC_EXP_ARG_MAX)));
    cr_assert(isinf(exp(above)));

    const double tops[] = {GC_EXP_ARG_MIN, GC_EXP_ARG_MAX, below, above};
    const bool warns[] = {false, false, true, true};
    for (size_t c = 0; c < 4; c++) {
        gc_trap_monitor m;
        gc_trap_monitor_init(&m);
        /* the top is the first unit; the others lie far out of range,
         * which must not matter: only the largest argument does */
        double args[K] = {tops[c], tops[c] - 1000.0, tops[c] - 2000.0};
        double out[K] = {0.5, 0.25, 0.25};
        gc_op_record r = {GC_OP_SOFTMAX_EXP, 2, out, K, args, K, K};
        gc_trap_clear_flags();
        gc_trap_hook(&m, &r);
        cr_assert_eq(m.exp_range_seen, warns[c], "top %.17g", tops[c]);
        cr_assert(!m.fatal_seen);
        if (warns[c]) {
            cr_assert_eq(m.exp_range.kind, GC_TRAP_EXP_RANGE);
            cr_assert(!m.exp_range.fatal);
        }
    }
}

/* Logits of about -710 leave exp's normal range without making a zero
 * sum: a warning at softmax-exp of layer 2 for the first such row, with
 * that row's statistics, and no fatal event in the whole gradient. */
Test(trap_engine, exp_range_warning_names_the_first_row_below_range)
{
    const double rows[BATCH] = {0.0, -710.0, -712.0};
    exact_net n;
    net_make(&n, (net_options){false, false, GC_LOSS_MSE}, rows, b2_offsets,
             labels_012);
    net_run(&n, STEP);
    cr_assert(!n.monitor.fatal_seen, "%s %s",
              gc_op_name(n.monitor.fatal.op), n.monitor.fatal.detail);
    cr_assert(isfinite(n.loss));
    const gc_trap_event *e = &n.monitor.exp_range;
    cr_assert(n.monitor.exp_range_seen);
    cr_assert_eq(e->kind, GC_TRAP_EXP_RANGE);
    cr_assert_str_eq(gc_trap_kind_name(e->kind), "exp-range");
    cr_assert(!e->fatal);
    cr_assert_eq(e->op, GC_OP_SOFTMAX_EXP);
    cr_assert_eq(e->layer, 2);
    cr_assert_eq(e->step, STEP);
    cr_assert_eq(e->sample, 1);
    double row[K] = {-710.0, -711.0, -713.0}, max, mean, min;
    stats(row, K, &max, &mean, &min);
    gc_assert_close(e->input_max, max, EXACT_REL, EXACT_ABS);
    gc_assert_close(e->input_mean, mean, STATS_REL, 0.0);
    gc_assert_close(e->input_min, min, EXACT_REL, EXACT_ABS);
    cr_assert(strstr(e->detail, "-710") != NULL, "%s", e->detail);
    /* every row was exponentiated raw: none had a largest argument of 0
     * except row 0, whose logits were 0, -1, -3 */
    cr_assert_eq(n.monitor.softmax_rows, BATCH);
    cr_assert_eq(n.monitor.softmax_rows_unshifted, BATCH - 1);
    net_free(&n);
}

/* Just inside the range on both sides (largest logits -708 and 709):
 * exp is normal and finite, nothing is recorded. */
Test(trap_engine, logits_inside_exps_range_give_no_warning)
{
    const double rows[BATCH] = {-708.0, 709.0, 0.0};
    exact_net n;
    net_make(&n, (net_options){false, false, GC_LOSS_MSE}, rows, b2_offsets,
             labels_012);
    net_run(&n, STEP);
    cr_assert(!n.monitor.exp_range_seen, "%s", n.monitor.exp_range.detail);
    cr_assert(!n.monitor.fatal_seen, "%s", n.monitor.fatal.detail);
    cr_assert(isfinite(n.loss));
    net_free(&n);
}

/* With an unclamped log, a softmax row of exactly {1, 0, 0} puts 1 and 0
 * into the log: a log-edge warning at the loss of layer 2 for that
 * sample.  The label's probability is 1, so -log(1) = 0 is finite and no
 * fatal event follows. */
Test(trap_engine, log_edge_warning_for_probabilities_of_exactly_1_and_0)
{
    const double x[BATCH * K] = {0.0, 0.0, 0.0,
                                 0.0, -800.0, -800.0,
                                 0.0, 0.0, 0.0};
    const double b2[K] = {0.0, 0.0, 0.0};
    const int labels[BATCH] = {2, 0, 1};
    exact_net n;
    net_make_rows(&n, (net_options){true, true, GC_LOSS_CROSS_ENTROPY}, x,
                  b2, labels);
    net_run(&n, STEP);
    const double *a = n.model->layers->activations(n.model, 2);
    cr_assert_eq(a[3], 1.0);
    cr_assert_eq(a[4], 0.0);
    cr_assert(!n.monitor.fatal_seen, "%s", n.monitor.fatal.detail);
    cr_assert(isfinite(n.loss));
    const gc_trap_event *e = &n.monitor.log_edge;
    cr_assert(n.monitor.log_edge_seen);
    cr_assert_eq(e->kind, GC_TRAP_LOG_EDGE);
    cr_assert_str_eq(gc_trap_kind_name(e->kind), "log-edge");
    cr_assert(!e->fatal);
    cr_assert_eq(e->op, GC_OP_LOSS);
    cr_assert_eq(e->layer, 2);
    cr_assert_eq(e->step, STEP);
    cr_assert_eq(e->sample, 1);
    cr_assert(strstr(e->detail, "probability 1 of unit 0") != NULL, "%s",
              e->detail);
    /* statistics of every probability that went into the log: rows of
     * 1/3 and the row {1, 0, 0}; each row sums to 1, so the mean is 1/3 */
    gc_assert_close(e->input_max, 1.0, EXACT_REL, EXACT_ABS);
    gc_assert_close(e->input_min, 0.0, EXACT_REL, EXACT_ABS);
    gc_assert_close(e->input_mean, 1.0 / 3.0, STATS_REL, 0.0);
    cr_assert(!n.monitor.exp_range_seen);
    net_free(&n);
}

/* The correct loss works from the logits: the same probabilities never
 * reach a log, so there is no log-edge warning. */
Test(trap_engine, no_log_edge_when_the_loss_works_from_logits)
{
    const double x[BATCH * K] = {0.0, 0.0, 0.0,
                                 0.0, -800.0, -800.0,
                                 0.0, 0.0, 0.0};
    const double b2[K] = {0.0, 0.0, 0.0};
    const int labels[BATCH] = {2, 0, 1};
    exact_net n;
    net_make_rows(&n, (net_options){true, false, GC_LOSS_CROSS_ENTROPY}, x,
                  b2, labels);
    net_run(&n, STEP);
    cr_assert(!n.monitor.log_edge_seen, "%s", n.monitor.log_edge.detail);
    cr_assert(!n.monitor.fatal_seen, "%s", n.monitor.fatal.detail);
    net_free(&n);
}

/* When the label's probability is exactly 0, -log(0) = +Inf with the
 * divide-by-zero flag: a fatal divide-by-zero at the loss of layer 2,
 * after the log-edge warning for the same operation. */
Test(trap_engine, log_of_a_zero_probability_is_divide_by_zero_at_loss)
{
    const double x[BATCH * K] = {0.0, 0.0, 0.0,
                                 0.0, -800.0, -800.0,
                                 0.0, 0.0, 0.0};
    const double b2[K] = {0.0, 0.0, 0.0};
    const int labels[BATCH] = {2, 1, 1};
    exact_net n;
    net_make_rows(&n, (net_options){true, true, GC_LOSS_CROSS_ENTROPY}, x,
                  b2, labels);
    net_run(&n, STEP);
    cr_assert(n.monitor.log_edge_seen);
    cr_assert(n.monitor.fatal_seen);
    cr_assert_eq(n.monitor.fatal.op, GC_OP_LOSS, "op %s",
                 gc_op_name(n.monitor.fatal.op));
    cr_assert_eq(n.monitor.fatal.kind, GC_TRAP_DIVIDE_BY_ZERO, "kind %s",
                 gc_trap_kind_name(n.monitor.fatal.kind));
    cr_assert_eq(n.monitor.fatal.layer, 2);
    /* (sample is not asserted: for the loss operation trap.c divides the
     * per-sample index by the row length k; see the report) */
    net_free(&n);
}

/* ---- only the first event is kept ---------------------------------------- */

/* After the zero sum, the loss (MSE of NaN probabilities), the output
 * delta and every gradient are NaN too; none of them replaces the first
 * event, and neither does a second trapping step. */
Test(trap_first, later_nan_operations_and_steps_do_not_overwrite)
{
    const double rows[BATCH] = {-800.0, -800.0, -800.0};
    exact_net n;
    net_make(&n, (net_options){false, false, GC_LOSS_MSE}, rows, b2_offsets,
             labels_012);
    net_run(&n, STEP);
    cr_assert(isnan(n.grad[0]), "the NaN reached the gradient: %g",
              n.grad[0]);
    cr_assert(n.monitor.fatal_seen);
    gc_trap_event first, first_warning;
    memcpy(&first, &n.monitor.fatal, sizeof first);
    memcpy(&first_warning, &n.monitor.exp_range, sizeof first_warning);
    cr_assert_eq(first.op, GC_OP_SOFTMAX_NORMALISE);
    cr_assert_eq(first.kind, GC_TRAP_ZERO_SUM);

    /* a second step, with logits that now overflow instead */
    const gc_tensor_info *b = tensor_named(n.model, "layer2.b");
    for (size_t i = 0; i < K; i++)
        n.model->params[b->offset + i] = 1600.0;
    net_run(&n, STEP + 1);
    cr_assert_eq(n.monitor.fatal.step, STEP);
    cr_assert_eq(n.monitor.fatal.op, GC_OP_SOFTMAX_NORMALISE);
    cr_assert_eq(n.monitor.fatal.kind, GC_TRAP_ZERO_SUM);
    cr_assert_eq(memcmp(&n.monitor.fatal, &first, sizeof first), 0);
    cr_assert_eq(memcmp(&n.monitor.exp_range, &first_warning,
                        sizeof first_warning),
                 0);
    /* the counters and the latest exp arguments keep going */
    cr_assert_eq(n.monitor.softmax_rows, 2 * BATCH);
    gc_assert_close(n.monitor.exp_arg_max, 800.0, EXACT_REL, EXACT_ABS);
    net_free(&n);
}

/* The same with crafted records: a NaN in layer 1's dense output, then an
 * Inf in an activation, then a zero softmax sum; each warning kind also
 * keeps its first occurrence. */
Test(trap_first, crafted_sequence_keeps_each_first_event)
{
    gc_trap_monitor m;
    gc_trap_monitor_init(&m);
    m.step = 3;
    double nan_out[4] = {0.0, NAN, 1.0, 2.0};
    double in4[4] = {1.0, 2.0, 3.0, 4.0};
    gc_op_record dense = {GC_OP_DENSE, 1, nan_out, 4, in4, 4, 2};
    gc_trap_clear_flags();
    gc_trap_hook(&m, &dense);
    cr_assert(m.fatal_seen);
    cr_assert_eq(m.fatal.kind, GC_TRAP_NAN);
    cr_assert_eq(m.fatal.op, GC_OP_DENSE);
    cr_assert_eq(m.fatal.layer, 1);
    cr_assert_eq(m.fatal.sample, 0);   /* element 1, rows of 2 */
    gc_assert_close(m.fatal.input_mean, 2.5, EXACT_REL, EXACT_ABS);

    m.step = 4;
    double inf_out[2] = {INFINITY, 1.0};
    gc_op_record act = {GC_OP_ACTIVATION, 2, inf_out, 2, in4, 2, 2};
    gc_trap_hook(&m, &act);
    double sums[2] = {0.0, 0.0};
    double probs[4] = {NAN, NAN, NAN, NAN};
    gc_op_record norm = {GC_OP_SOFTMAX_NORMALISE, 2, probs, 4, sums, 2, 2};
    gc_trap_hook(&m, &norm);
    cr_assert_eq(m.fatal.kind, GC_TRAP_NAN);
    cr_assert_eq(m.fatal.op, GC_OP_DENSE);
    cr_assert_eq(m.fatal.layer, 1);
    cr_assert_eq(m.fatal.step, 3);

    /* exp-range: first -800, then +800 */
    double low[2] = {-800.0, -801.0}, high[2] = {800.0, 799.0};
    double e_out[2] = {0.0, 0.0};
    gc_op_record exp_low = {GC_OP_SOFTMAX_EXP, 2, e_out, 2, low, 2, 2};
    gc_op_record exp_high = {GC_OP_SOFTMAX_EXP, 2, e_out, 2, high, 2, 2};
    gc_trap_hook(&m, &exp_low);
    m.step = 5;
    gc_trap_hook(&m, &exp_high);
    cr_assert(m.exp_range_seen);
    cr_assert_eq(m.exp_range.step, 4);
    gc_assert_close(m.exp_range.input_max, -800.0, EXACT_REL, EXACT_ABS);
    /* but the latest exp arguments are the latest */
    gc_assert_close(m.exp_arg_max, 800.0, EXACT_REL, EXACT_ABS);

    /* log-edge: first a 1 in sample 1 (rows of 2), then a 0 in sample 0 */
    double p1[4] = {0.5, 0.5, 1.0, 0.0}, p2[4] = {0.0, 1.0, 0.5, 0.5};
    double losses[2] = {0.7, 0.0};
    gc_op_record loss1 = {GC_OP_LOSS, 2, losses, 2, p1, 4, 2};
    gc_op_record loss2 = {GC_OP_LOSS, 2, losses, 2, p2, 4, 2};
    gc_trap_hook(&m, &loss1);
    m.step = 6;
    gc_trap_hook(&m, &loss2);
    cr_assert(m.log_edge_seen);
    cr_assert_eq(m.log_edge.step, 5);
    cr_assert_eq(m.log_edge.sample, 1);
    cr_assert(strstr(m.log_edge.detail, "probability 1 of unit 0") != NULL,
              "%s", m.log_edge.detail);
}

Test(trap_first, a_loss_trap_names_its_sample_not_a_row_quotient)
{
    /* The loss has one output per sample from rows of k probabilities:
     * an Inf in output 1 is sample 1. */
    gc_trap_monitor m;
    gc_trap_monitor_init(&m);
    double losses[3] = {0.5, INFINITY, 0.7};
    double probs[9] = {0.2, 0.3, 0.5, 0.0, 0.5, 0.5, 0.1, 0.1, 0.8};
    gc_op_record loss = {GC_OP_LOSS, 2, losses, 3, probs, 9, 3};
    gc_trap_clear_flags();
    gc_trap_hook(&m, &loss);
    cr_assert(m.fatal_seen);
    cr_assert_eq(m.fatal.op, GC_OP_LOSS);
    cr_assert_eq(m.fatal.sample, 1);
}

Test(trap_first, the_mean_of_huge_inputs_does_not_overflow)
{
    /* Summing 1e308 twice overflows; the mean of the two is 1e308. */
    gc_trap_monitor m;
    gc_trap_monitor_init(&m);
    double huge[2] = {1e308, 1e308};
    double out[2] = {INFINITY, 1.0};
    gc_op_record update = {GC_OP_WEIGHT_UPDATE, 0, out, 2, huge, 2, 0};
    gc_trap_clear_flags();
    gc_trap_hook(&m, &update);
    cr_assert(m.fatal_seen);
    gc_assert_close(m.fatal.input_mean, 1e308, STATS_REL, EXACT_ABS);
    cr_assert_eq(fetestexcept(WATCHED), 0,
                 "the hook's own arithmetic left a flag raised");
}

/* ---- no false traps ------------------------------------------------------- */

/* An ordinary network (3-4-3, tanh then softmax with cross-entropy,
 * random weights and inputs), forward, backward and update: no event. */
static void ordinary_run(bool stale_flags, gc_trap_monitor *m)
{
    gc_network_spec net;
    memset(&net, 0, sizeof net);
    net.inputs = 3;
    net.layer_count = 2;
    net.layers[0] = (gc_layer_spec){4, GC_ACT_TANH};
    net.layers[1] = (gc_layer_spec){3, GC_ACT_SOFTMAX};
    net.init = GC_INIT_NORMAL;
    net.bias_init = 0.1;
    gc_as_written_spec aw;
    memset(&aw, 0, sizeof aw);
    aw.softmax_subtract_max = true;
    gc_engine *engine;
    gc_error err;
    cr_assert_eq(gc_engine_alloc(&net, GC_LOSS_CROSS_ENTROPY, &aw, 3, BATCH,
                                 &engine, &err),
                 GC_OK, "%s", err.message);
    cr_assert_eq(gc_engine_init_params(engine, 20240601u, &err), GC_OK);
    gc_model *model = gc_engine_model(engine);
    double x[BATCH * 3];
    int labels[BATCH];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    for (size_t i = 0; i < BATCH * 3; i++)
        x[i] = 2.0 * gsl_rng_uniform(rng) - 1.0;
    for (size_t b = 0; b < BATCH; b++)
        labels[b] = (int)gsl_rng_uniform_int(rng, 3);
    gsl_rng_free(rng);
    gc_batch batch = {x, labels, BATCH, 3};
    double *grad = calloc(model->param_count, sizeof(double));
    cr_assert_not_null(grad);
    double loss;

    gc_trap_monitor_init(m);
    m->step = 0;
    if (stale_flags)
        feraiseexcept(WATCHED);   /* left over from before the check */
    else
        gc_trap_clear_flags();
    model->set_hook(model, gc_trap_hook, m);
    cr_assert_eq(model->gradient(model, model->params, &batch, &loss, grad,
                                 &err),
                 GC_OK);
    if (stale_flags)
        feraiseexcept(WATCHED);   /* and again before the update */
    cr_assert_eq(model->update(model, model->params, grad, 0.1, &err),
                 GC_OK);
    model->set_hook(model, NULL, NULL);
    cr_assert(isfinite(loss));
    free(grad);
    gc_engine_free(engine);
}

Test(trap_clean, ordinary_forward_backward_and_update_record_nothing)
{
    gc_trap_monitor m;
    ordinary_run(false, &m);
    cr_assert(!m.fatal_seen, "%s %s", gc_op_name(m.fatal.op), m.fatal.detail);
    cr_assert(!m.exp_range_seen);
    cr_assert(!m.log_edge_seen);
    cr_assert_eq(m.softmax_rows, BATCH);
    cr_assert_eq(m.softmax_rows_unshifted, 0);
    gc_assert_close(m.exp_arg_max, 0.0, EXACT_REL, EXACT_ABS);
}

/* Flags raised before the monitored calls (by anything: earlier checks,
 * the data loader) are not a trap: a flag alone never is, and the hook
 * consumes them, so none is left up after the last operation. */
Test(trap_clean, stale_exception_flags_alone_are_no_trap)
{
    gc_trap_monitor m;
    ordinary_run(true, &m);
    cr_assert(!m.fatal_seen, "%s %s: %s", gc_op_name(m.fatal.op),
              gc_trap_kind_name(m.fatal.kind), m.fatal.detail);
    cr_assert(!m.exp_range_seen);
    cr_assert(!m.log_edge_seen);
    cr_assert_eq(fetestexcept(WATCHED), 0,
                 "the hook left exception flags up");
}

/* gc_trap_clear_flags() clears every flag: a divide-by-zero and an
 * overflow raised before it do not name the kind of an Inf that an
 * operation made without raising either (kind inf). */
Test(trap_clean, cleared_flags_do_not_name_the_kind_of_a_later_inf)
{
    feraiseexcept(FE_DIVBYZERO | FE_OVERFLOW | FE_INVALID);
    gc_trap_clear_flags();
    cr_assert_eq(fetestexcept(FE_ALL_EXCEPT), 0);
    gc_trap_monitor m;
    gc_trap_monitor_init(&m);
    double out[3] = {1.0, INFINITY, 2.0};
    gc_op_record r = {GC_OP_ACTIVATION, 1, out, 3, NULL, 0, 3};
    gc_trap_hook(&m, &r);
    cr_assert(m.fatal_seen);
    cr_assert_eq(m.fatal.kind, GC_TRAP_INF, "kind %s",
                 gc_trap_kind_name(m.fatal.kind));
    cr_assert_eq(m.fatal.op, GC_OP_ACTIVATION);
}

/* Each operation is judged by its own flags: a divide-by-zero raised
 * during an operation whose outputs are finite is read and cleared by
 * its hook, and does not name the kind of the next operation's Inf. */
Test(trap_clean, flags_of_one_operation_do_not_carry_to_the_next)
{
    gc_trap_monitor m;
    gc_trap_monitor_init(&m);
    double finite[2] = {1.0, 2.0}, inf[2] = {3.0, -INFINITY};
    gc_op_record first = {GC_OP_DENSE, 1, finite, 2, NULL, 0, 2};
    gc_op_record second = {GC_OP_ACTIVATION, 1, inf, 2, NULL, 0, 2};
    gc_trap_clear_flags();
    feraiseexcept(FE_DIVBYZERO);    /* raised by the first operation */
    gc_trap_hook(&m, &first);
    cr_assert(!m.fatal_seen, "a flag alone is not a trap");
    cr_assert_eq(fetestexcept(WATCHED), 0);
    gc_trap_hook(&m, &second);
    cr_assert(m.fatal_seen);
    cr_assert_eq(m.fatal.kind, GC_TRAP_INF, "kind %s",
                 gc_trap_kind_name(m.fatal.kind));
    cr_assert_eq(m.fatal.op, GC_OP_ACTIVATION);
}

/* The positive controls of the two tests above: the operation's own flag
 * names the kind of its Inf, and a NaN is nan whatever the flags. */
Test(trap_clean, an_operations_own_flag_names_the_kind)
{
    const int flags[] = {FE_DIVBYZERO, FE_OVERFLOW, FE_INVALID};
    const gc_trap_kind kinds[] = {GC_TRAP_DIVIDE_BY_ZERO, GC_TRAP_OVERFLOW,
                                  GC_TRAP_INF};
    for (size_t c = 0; c < 3; c++) {
        gc_trap_monitor m;
        gc_trap_monitor_init(&m);
        double out[2] = {1.0, INFINITY};
        gc_op_record r = {GC_OP_HIDDEN_DELTA, 1, out, 2, NULL, 0, 2};
        gc_trap_clear_flags();
        feraiseexcept(flags[c]);
        gc_trap_hook(&m, &r);
        cr_assert(m.fatal_seen);
        cr_assert_eq(m.fatal.kind, kinds[c], "case %zu: kind %s", c,
                     gc_trap_kind_name(m.fatal.kind));
    }
    gc_trap_monitor m;
    gc_trap_monitor_init(&m);
    double out[2] = {NAN, INFINITY};
    gc_op_record r = {GC_OP_OUTPUT_DELTA, 2, out, 2, NULL, 0, 2};
    gc_trap_clear_flags();
    feraiseexcept(FE_INVALID | FE_DIVBYZERO);
    gc_trap_hook(&m, &r);
    cr_assert_eq(m.fatal.kind, GC_TRAP_NAN);
    cr_assert(strstr(m.fatal.detail, "invalid") != NULL, "%s",
              m.fatal.detail);
}

/* The hook first asks whether a whole output array is finite (four
 * running sums of x - x) and looks for the culprit only when it is not:
 * one non-finite value anywhere, in the four-wide body or in the tail of
 * an array whose length is not a multiple of four, must still be found
 * at its index; and values near DBL_MAX, finite but whose x - x is 0,
 * must not trap. */
Test(trap_first, one_non_finite_value_anywhere_in_a_long_output_is_found)
{
    enum { N = 1003 };
    static double out[N];
    static double in[N];
    const size_t places[] = {0, 1, 500, 999, 1000, 1002};
    const double bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t p = 0; p < sizeof places / sizeof places[0]; p++)
        for (size_t b = 0; b < 3; b++) {
            for (size_t i = 0; i < N; i++)
                out[i] = in[i] = (i % 2 ? -1.0 : 1.0) * DBL_MAX;
            out[places[p]] = bad[b];
            gc_trap_monitor m;
            gc_trap_monitor_init(&m);
            gc_op_record r = {GC_OP_DENSE, 1, out, N, in, N, 1};
            gc_trap_clear_flags();
            gc_trap_hook(&m, &r);
            cr_assert(m.fatal_seen, "value %zu", places[p]);
            cr_assert_eq(m.fatal.sample, places[p]);
            cr_assert_eq(m.fatal.kind, isnan(bad[b]) ? GC_TRAP_NAN
                                                     : GC_TRAP_INF);
        }
    for (size_t i = 0; i < N; i++)
        out[i] = (i % 2 ? -1.0 : 1.0) * DBL_MAX;
    gc_trap_monitor m;
    gc_trap_monitor_init(&m);
    gc_op_record r = {GC_OP_DENSE, 1, out, N, in, N, 1};
    gc_trap_clear_flags();
    gc_trap_hook(&m, &r);
    cr_assert(!m.fatal_seen, "DBL_MAX is finite");
}
