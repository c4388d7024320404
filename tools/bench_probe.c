/* bench_probe.c - what the histograms and statistics of one full check
 * cost beside the full check itself (issue 4's budget).
 *
 * Usage: bench_probe [--reps N]
 *
 * The network is the softmax case's: 784-100(sigmoid)-10(softmax), MSE,
 * one sample per step, parameters drawn N(0, 1/fan_in), one seeded input
 * uniform in [0, 1].  Timed, as the median over N repetitions:
 *   full check   gc_check_elements on every parameter, default method;
 *   probes       the twelve histograms the run loop makes at a full check
 *                (weights, biases, their gradients, pre-activations and
 *                activations of both layers), 30 bins, with GSL;
 *   sinks        the same twelve histogram events through the JSON Lines
 *                and HTML sinks (written to /dev/null-like temp files).
 * Prints the three medians and the ratio (probes + sinks) / full check.
 * Exit status: 0, or 2 on a library error.
 */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime, mkdtemp */

#include "blas.h"
#include "check.h"
#include "engine.h"
#include "events.h"
#include "model.h"
#include "probe.h"
#include "report_html.h"
#include "report_json.h"
#include "spec.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REPS_DEFAULT 21
#define REPS_MAX 1001
#define BINS 30                  /* [report] histogram_bins default */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, compare);
    return v[n / 2];
}

/* The twelve histograms of probe_layers() in run.c, into the sinks. */
static gc_status probe_all(gc_model *m, const double *grad, gc_probe *probe,
                           gc_sink **sinks, size_t sink_count,
                           gc_error *err)
{
    const gc_layer_view *v = m->layers;
    for (size_t t = 0; t < m->tensor_count; t++) {
        const gc_tensor_info *ti = &m->tensors[t];
        size_t n = ti->rows * ti->cols, l = ti->layer;
        bool w = ti->kind == GC_TENSOR_WEIGHT;
        const double *arrays[4] = {m->params + ti->offset, grad + ti->offset,
                                   w ? v->pre_activations(m, l) : NULL,
                                   w ? v->activations(m, l) : NULL};
        size_t sizes[4] = {n, n, v->width(m, l), v->width(m, l)};
        gc_quantity q[4] = {w ? GC_QTY_WEIGHTS : GC_QTY_BIASES,
                            w ? GC_QTY_WEIGHT_GRADIENTS
                              : GC_QTY_BIAS_GRADIENTS,
                            GC_QTY_PRE_ACTIVATIONS, GC_QTY_ACTIVATIONS};
        for (size_t k = 0; k < (w ? 4u : 2u); k++) {
            gc_event e = {.kind = GC_EVENT_HISTOGRAM};
            gc_status s = gc_probe_histogram(probe, arrays[k], sizes[k],
                                             &e.u.histogram, err);
            e.u.histogram.layer = l;
            e.u.histogram.quantity = q[k];
            e.u.histogram.mean_trend = NAN;
            for (size_t i = 0; i < sink_count && s == GC_OK; i++)
                s = sinks[i]->emit(sinks[i], &e, err);
            if (s != GC_OK)
                return s;
        }
    }
    return GC_OK;
}

int main(int argc, char **argv)
{
    size_t reps = REPS_DEFAULT;
    gsl_set_error_handler_off();
    gc_blas_single_thread();
    if (argc == 3 && strcmp(argv[1], "--reps") == 0)
        reps = (size_t)strtoul(argv[2], NULL, 10);
    if (argc != 1 && argc != 3) {
        fprintf(stderr, "usage: bench_probe [--reps N]\n");
        return 2;
    }
    reps = reps < 1 ? 1 : reps > REPS_MAX ? REPS_MAX : reps;

    gc_spec spec;
    gc_spec_init(&spec);
    spec.network.inputs = 784;
    spec.network.layer_count = 2;
    spec.network.layers[0] = (gc_layer_spec){100, GC_ACT_SIGMOID};
    spec.network.layers[1] = (gc_layer_spec){10, GC_ACT_SOFTMAX};
    spec.network.init = GC_INIT_NORMAL;
    spec.network.init_scale = 0.0;
    gc_error err = {0};
    gc_engine *engine = NULL;
    gc_checker *checker = NULL;
    gc_probe *probe = NULL;
    gc_sink *sinks[2] = {NULL, NULL};
    double x[784], *grad = NULL, loss;
    int label = 3;
    char dir[] = "/tmp/bench_probe_XXXXXX", json[64], html[64];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);

    if (rng == NULL || mkdtemp(dir) == NULL)
        return 2;
    for (size_t i = 0; i < 784; i++)
        x[i] = gsl_rng_uniform(rng);
    snprintf(json, sizeof json, "%s/run.jsonl", dir);
    snprintf(html, sizeof html, "%s/run.html", dir);
    gc_batch batch = {x, &label, 1, 784};
    gc_status s = gc_engine_alloc(&spec.network, GC_LOSS_MSE,
                                  &spec.as_written, 784, 1, &engine, &err);
    if (s == GC_OK)
        s = gc_engine_init_params(engine, 11, &err);
    gc_model *m = s == GC_OK ? gc_engine_model(engine) : NULL;
    if (s == GC_OK && (grad = malloc(m->param_count * sizeof *grad)) == NULL)
        s = gc_error_set(&err, GC_ENOMEM, "no memory");
    if (s == GC_OK)
        s = gc_checker_alloc(m, 1, &checker, &err);
    if (s == GC_OK)
        s = gc_probe_alloc(m->param_count, BINS, &probe, &err);
    if (s == GC_OK)
        s = gc_json_sink_open(json, &sinks[0], &err);
    if (s == GC_OK)
        s = gc_html_sink_open(html, &sinks[1], &err);
    gc_event run = {.kind = GC_EVENT_RUN};
    for (size_t i = 0; i < 2 && s == GC_OK; i++)
        s = sinks[i]->emit(sinks[i], &run, &err);
    if (s == GC_OK)
        s = m->gradient(m, m->params, &batch, &loss, grad, &err);

    gc_check_options options = {.method = spec.checks.method,
                                .step_scale = spec.checks.step_scale,
                                .pass_below = spec.checks.pass_below,
                                .fail_above = spec.checks.fail_above};
    gc_check_event results[4];
    double *t_check = calloc(reps, sizeof(double));
    double *t_probe = calloc(reps, sizeof(double));
    double *t_sinks = calloc(reps, sizeof(double));
    if (s == GC_OK && (!t_check || !t_probe || !t_sinks))
        s = gc_error_set(&err, GC_ENOMEM, "no memory");
    for (size_t r = 0; r < reps && s == GC_OK; r++) {
        double t0 = now();
        s = gc_check_elements(checker, m, &batch, grad, &options, rng,
                              results, &err);
        /* the element check leaves the last forward's values in place;
         * run the forward again so the probes see this batch */
        if (s == GC_OK)
            s = m->gradient(m, m->params, &batch, &loss, grad, &err);
        double t1 = now();
        if (s == GC_OK)
            s = probe_all(m, grad, probe, NULL, 0, &err);
        double t2 = now();
        if (s == GC_OK)
            s = probe_all(m, grad, probe, sinks, 2, &err);
        double t3 = now();
        t_check[r] = t1 - t0;
        t_probe[r] = t2 - t1;
        t_sinks[r] = (t3 - t2) - (t2 - t1);
    }
    for (size_t i = 0; i < 2; i++)
        if (sinks[i] != NULL)
            sinks[i]->close(sinks[i], &err);
    remove(json);
    remove(html);
    rmdir(dir);
    if (s != GC_OK) {
        fprintf(stderr, "bench_probe: %s\n", err.message);
        return 2;
    }
    double c = median(t_check, reps), p = median(t_probe, reps);
    double k = median(t_sinks, reps);
    printf("784-100-10 mse, batch 1, %zu repetitions (medians)\n", reps);
    printf("  full check (every element)   %9.3f ms\n", 1e3 * c);
    printf("  12 histograms + statistics   %9.3f ms\n", 1e3 * p);
    printf("  JSON + HTML sinks for them   %9.3f ms\n", 1e3 * k);
    printf("  instrumentation / check      %9.4f\n", (p + k) / c);
    free(t_check);
    free(t_probe);
    free(t_sinks);
    free(grad);
    gc_probe_free(probe);
    gc_checker_free(checker);
    gc_engine_free(engine);
    gsl_rng_free(rng);
    return 0;
}
