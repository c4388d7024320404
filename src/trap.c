/* trap.c - the floating-point trap monitor (trap.h). */
#include "trap.h"

#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define WATCHED_FLAGS (FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW)

void gc_trap_monitor_init(gc_trap_monitor *m)
{
    memset(m, 0, sizeof *m);
    m->exp_arg_max = m->exp_arg_mean = m->exp_arg_min = NAN;
}

void gc_trap_clear_flags(void)
{
    feclearexcept(FE_ALL_EXCEPT);
}

typedef struct {
    double max, mean, min;
} value_stats;

/* Statistics of the finite values among n (NaN if there are none). */
static value_stats stats_of(const double *v, size_t n)
{
    value_stats s = {-INFINITY, 0.0, INFINITY};
    size_t finite = 0;
    for (size_t i = 0; v != NULL && i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        finite++;
        s.mean += v[i] / (double)n;   /* divided first: no overflow */
        s.max = fmax(s.max, v[i]);
        s.min = fmin(s.min, v[i]);
    }
    if (finite == 0)
        return (value_stats){NAN, NAN, NAN};
    s.mean *= (double)n / (double)finite;
    return s;
}

static void fill_event(gc_trap_monitor *m, gc_trap_event *e,
                       const gc_op_record *r, gc_trap_kind kind, bool fatal,
                       size_t sample, const char *detail,
                       value_stats inputs)
{
    memset(e, 0, sizeof *e);
    e->step = m->step;
    e->layer = r->layer;
    e->op = r->op;
    e->kind = kind;
    e->fatal = fatal;
    e->sample = sample;
    snprintf(e->detail, sizeof e->detail, "%s", detail);
    e->input_max = inputs.max;
    e->input_mean = inputs.mean;
    e->input_min = inputs.min;
}

/* The softmax exp arguments, row by row: warnings and the shift count. */
static void watch_exp_arguments(gc_trap_monitor *m, const gc_op_record *r)
{
    size_t k = r->row_length, rows = k ? r->input_count / k : 0;
    value_stats all = stats_of(r->inputs, r->input_count);
    m->exp_arg_max = all.max;
    m->exp_arg_mean = all.mean;
    m->exp_arg_min = all.min;
    for (size_t row = 0; row < rows; row++) {
        const double *x = r->inputs + row * k;
        double top = x[0];
        for (size_t i = 1; i < k; i++)
            top = fmax(top, x[i]);
        m->softmax_rows++;
        if (top != 0.0)
            m->softmax_rows_unshifted++;
        bool out_of_range = top < GC_EXP_ARG_MIN || top > GC_EXP_ARG_MAX;
        if (out_of_range && !m->exp_range_seen) {
            char detail[160];
            snprintf(detail, sizeof detail,
                     "largest exp argument of a row is %.6g, outside "
                     "[%.2f, %.2f]", top, GC_EXP_ARG_MIN, GC_EXP_ARG_MAX);
            fill_event(m, &m->exp_range, r, GC_TRAP_EXP_RANGE, false, row,
                       detail, stats_of(x, k));
            m->exp_range_seen = true;
        }
    }
}

static void watch_log_inputs(gc_trap_monitor *m, const gc_op_record *r)
{
    if (r->inputs == NULL || m->log_edge_seen)
        return;
    for (size_t i = 0; i < r->input_count; i++) {
        if (r->inputs[i] == 0.0 || r->inputs[i] == 1.0) {
            char detail[160];
            snprintf(detail, sizeof detail,
                     "probability %g of unit %zu went into a log",
                     r->inputs[i], r->row_length ? i % r->row_length : i);
            size_t sample = r->row_length ? i / r->row_length : 0;
            fill_event(m, &m->log_edge, r, GC_TRAP_LOG_EDGE, false, sample,
                       detail, stats_of(r->inputs, r->input_count));
            m->log_edge_seen = true;
            return;
        }
    }
}

/* True when every one of x[0..n) is finite.  x - x is 0 for a finite x
 * and NaN for an infinity or a NaN, so four running sums of it stay 0
 * exactly when all are finite; unlike a loop that stops at the first
 * non-finite value, this one has no branch and the compiler vectorises
 * it (the hook scans every output of every operation at every step).
 * The invalid flag it may raise is cleared by the hook. */
static bool all_finite(const double *x, size_t n)
{
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (size_t k = 0; k < 4; k++)
            s[k] += x[i + k] - x[i + k];
    for (; i < n; i++)
        s[0] += x[i] - x[i];
    return (s[0] + s[1]) + (s[2] + s[3]) == 0.0;
}

/* Index of the first non-finite output, or SIZE_MAX. */
static size_t first_nonfinite(const gc_op_record *r, bool *is_nan)
{
    if (all_finite(r->outputs, r->output_count))
        return SIZE_MAX;
    for (size_t i = 0; i < r->output_count; i++) {
        if (!isfinite(r->outputs[i])) {
            *is_nan = isnan(r->outputs[i]);
            return i;
        }
    }
    return SIZE_MAX;
}

static size_t first_zero(const double *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        if (v[i] == 0.0)
            return i;
    return SIZE_MAX;
}

static void record_fatal(gc_trap_monitor *m, const gc_op_record *r,
                         int flags)
{
    bool is_nan = false;
    size_t bad = first_nonfinite(r, &is_nan);
    size_t zero_sum = r->op == GC_OP_SOFTMAX_NORMALISE
                          ? first_zero(r->inputs, r->input_count)
                          : SIZE_MAX;
    if (bad == SIZE_MAX && zero_sum == SIZE_MAX)
        return;   /* flags alone only refine the kind of a real value */
    /* Row-wise ops have row_length outputs a row, except the loss: one
     * output per sample, each from a row of row_length inputs. */
    size_t row = (r->row_length == 0 || r->op == GC_OP_LOSS ||
                  bad == SIZE_MAX)
                     ? bad : bad / r->row_length;
    value_stats behind = stats_of(r->inputs, r->input_count);
    gc_trap_kind kind;
    char detail[160];
    if (zero_sum != SIZE_MAX) {
        kind = GC_TRAP_ZERO_SUM;
        row = zero_sum;
        behind = (value_stats){m->exp_arg_max, m->exp_arg_mean,
                               m->exp_arg_min};
        snprintf(detail, sizeof detail,
                 "softmax row sum is 0 (every exp underflowed); 0/0 gives "
                 "NaN; exp arguments max %.6g mean %.6g", m->exp_arg_max,
                 m->exp_arg_mean);
    } else if (is_nan) {
        kind = GC_TRAP_NAN;
        snprintf(detail, sizeof detail, "NaN in the output%s",
                 (flags & FE_INVALID) ? " (invalid operation flag)" : "");
    } else if (flags & FE_DIVBYZERO) {
        kind = GC_TRAP_DIVIDE_BY_ZERO;
        snprintf(detail, sizeof detail, "division by zero gave %g",
                 r->outputs[bad]);
    } else if (flags & FE_OVERFLOW) {
        kind = GC_TRAP_OVERFLOW;
        snprintf(detail, sizeof detail, "overflow gave %g", r->outputs[bad]);
    } else {
        kind = GC_TRAP_INF;
        snprintf(detail, sizeof detail, "infinite value %g in the output",
                 r->outputs[bad]);
    }
    fill_event(m, &m->fatal, r, kind, true, row == SIZE_MAX ? 0 : row,
               detail, behind);
    m->fatal_seen = true;
}

void gc_trap_hook(void *context, const gc_op_record *r)
{
    gc_trap_monitor *m = context;
    int flags = fetestexcept(WATCHED_FLAGS);
    feclearexcept(FE_ALL_EXCEPT);
    if (r->op == GC_OP_SOFTMAX_EXP)
        watch_exp_arguments(m, r);
    if (r->op == GC_OP_LOSS)
        watch_log_inputs(m, r);
    if (!m->fatal_seen)
        record_fatal(m, r, flags);
    /* The checks above do arithmetic of their own (a comparison with a
     * NaN raises invalid); clear what they raised so that it is not
     * blamed on the next operation. */
    feclearexcept(FE_ALL_EXCEPT);
}
