/* bench_check.c - how long gradcheck's checks take on the networks of
 * issues 2 and 7, and how much memory they need.
 *
 * Usage: bench_check [--reps N] [--only NAME] [--threads T]
 *                    [--no-torch] [--torch-slow-reps N] [--help]
 *
 * Every network gets one batch of BENCH_BATCH samples with features drawn
 * uniformly from [0, 1] and labels uniformly from the classes, both from
 * a seeded GSL mt19937, and parameters drawn N(0, 1/fan_in) (the engine's
 * default init).  For each network it times, as the median and minimum
 * over N repetitions of clock_gettime(CLOCK_MONOTONIC):
 *   forward+backward   one call of model->gradient;
 *   direction          gc_check_directions, one random direction per tensor;
 *   element/param      gc_check_elements, every parameter, parameter method;
 *   element/preact     gc_check_elements, every parameter, pre-activation
 *                      method;
 *   element/param 1t   the parameter method on one thread (the scaling);
 *   preact/richardson, preact/complex
 *                      the pre-activation method with the other two
 *                      difference schemes (their accuracy in max rel).
 * The element checks run on T threads (--threads, default 0: every core);
 * BLAS always runs on one.
 *
 * When python3 can import torch, tools/bench_torch.py then times
 * torch.autograd.gradcheck on the issue-7 networks (per-element mode
 * --torch-slow-reps times, default 1, because it takes minutes; fast mode
 * --reps times) and the ratios to gradcheck's times are printed.
 * --no-torch skips it.
 * The networks are correct, so every check must pass: the largest
 * relative error over tensors is printed beside each check, and any
 * failed tensor makes the exit status 1 (a benchmark of a broken check
 * would otherwise look fast and fine).
 *
 * Exit status: 0 all checks passed, 1 a check of a correct network did
 * not pass, 2 bad usage or a library error.
 */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime, getrusage */

#include "blas.h"
#include "check.h"
#include "engine.h"
#include "events.h"
#include "model.h"
#include "spec.h"
#include "status.h"

#include <gsl/gsl_errno.h>
#include <errno.h>
#include <gsl/gsl_rng.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define BENCH_BATCH 32          /* samples per batch, as in issue 2 */
#define BENCH_CLASSES 10        /* every benchmark network ends in 10 */
#define BENCH_DEFAULT_REPS 5
#define BENCH_MAX_REPS 1000
#define BENCH_DATA_SEED 7       /* inputs and labels */
#define BENCH_PARAM_SEED 11     /* initial weights */
#define BENCH_CHECK_SEED 13     /* random directions */
#define BENCH_MAX_TENSORS (2 * GC_MAX_LAYERS)

/* ---- the networks ------------------------------------------------------ */

typedef struct {
    const char *name;           /* what --only matches */
    size_t inputs;
    size_t layer_count;
    gc_layer_spec layers[3];
    gc_loss loss;
} bench_network;

static const bench_network bench_networks[] = {
    /* Issue 2: 784 -> 100 sigmoid -> 10 softmax, 79,510 parameters
     * (78,400 + 100 + 1,000 + 10), with both losses it is used with. */
    {"784-100-10/mse", 784, 2,
     {{100, GC_ACT_SIGMOID}, {10, GC_ACT_SOFTMAX}}, GC_LOSS_MSE},
    {"784-100-10/xent", 784, 2,
     {{100, GC_ACT_SIGMOID}, {10, GC_ACT_SOFTMAX}}, GC_LOSS_CROSS_ENTROPY},
    /* Issue 7: tanh hidden layers, softmax output, cross-entropy. */
    {"64-32-10/xent", 64, 2,                       /* 2,410 parameters */
     {{32, GC_ACT_TANH}, {10, GC_ACT_SOFTMAX}}, GC_LOSS_CROSS_ENTROPY},
    {"784-64-10/xent", 784, 2,                     /* 50,890 parameters */
     {{64, GC_ACT_TANH}, {10, GC_ACT_SOFTMAX}}, GC_LOSS_CROSS_ENTROPY},
    {"784-128-64-10/xent", 784, 3,                 /* 109,386 parameters */
     {{128, GC_ACT_TANH}, {64, GC_ACT_TANH}, {10, GC_ACT_SOFTMAX}},
     GC_LOSS_CROSS_ENTROPY},
};

#define BENCH_NETWORK_COUNT \
    (sizeof bench_networks / sizeof bench_networks[0])

/* ---- one network under measurement ------------------------------------- */

typedef struct {
    const bench_network *spec;
    gc_engine *engine;
    gc_model *model;            /* the engine's view; not owned */
    gc_checker *checker;
    size_t heap_before_checker; /* glibc heap in use (mallinfo2) */
    gsl_rng *rng;               /* random directions */
    double *x;                  /* BENCH_BATCH x inputs, in [0, 1] */
    int *labels;                /* BENCH_BATCH class indices */
    double *grad;               /* param_count: the engine's gradient */
    gc_batch batch;
    gc_check_options options;
    gc_check_event results[BENCH_MAX_TENSORS];
    gc_difference difference;   /* of the element measurement running */
    bool one_thread;            /* element measurement on one thread */
} bench_net;

/* Medians of one network's checks, for the ratios to torch. */
typedef struct {
    bool measured;
    double direction_ms, param_ms, preact_ms;
    size_t checker_bytes;       /* heap the checker holds after the checks */
    size_t param_bytes;         /* the parameters, 8 bytes each */
} bench_medians;

static void bench_net_free(bench_net *b)
{
    gc_checker_free(b->checker);
    gc_engine_free(b->engine);
    if (b->rng != NULL)
        gsl_rng_free(b->rng);
    free(b->x);
    free(b->labels);
    free(b->grad);
    memset(b, 0, sizeof *b);
}

/* Draws the batch: x uniform in [0, 1), labels uniform over the classes. */
static gc_status bench_fill_batch(bench_net *b, gc_error *err)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (rng == NULL)
        return gc_error_set(err, GC_ENOMEM, "cannot allocate a GSL RNG");
    gsl_rng_set(rng, BENCH_DATA_SEED);
    for (size_t i = 0; i < BENCH_BATCH * b->spec->inputs; i++)
        b->x[i] = gsl_rng_uniform(rng);
    for (size_t i = 0; i < BENCH_BATCH; i++)
        b->labels[i] = (int)gsl_rng_uniform_int(rng, BENCH_CLASSES);
    gsl_rng_free(rng);
    b->batch = (gc_batch){b->x, b->labels, BENCH_BATCH, b->spec->inputs};
    return GC_OK;
}

/* Bytes the program holds from malloc: the arena's chunks in use plus
 * the large blocks glibc maps on their own (128 KiB and up). */
static size_t bench_heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

/* Builds the engine (correct backward, default init), the batch, the
 * checker and the gradient the checks compare against. */
static gc_status bench_net_alloc(bench_net *b, const bench_network *net,
                                 size_t threads, gc_error *err)
{
    memset(b, 0, sizeof *b);
    b->spec = net;
    gc_spec spec;
    gc_spec_init(&spec);
    spec.network.inputs = net->inputs;
    spec.network.layer_count = net->layer_count;
    for (size_t l = 0; l < net->layer_count; l++)
        spec.network.layers[l] = net->layers[l];
    spec.network.init = GC_INIT_NORMAL;
    spec.network.init_scale = 0.0;          /* 1/sqrt(fan_in) */
    spec.loss = net->loss;
    b->options = (gc_check_options){
        .method = GC_METHOD_AUTO,
        .step_scale = spec.checks.step_scale,
        .pass_below = spec.checks.pass_below,
        .fail_above = spec.checks.fail_above,
        .sample = 0,                        /* every element */
        .difference = GC_DIFFERENCE_CENTRAL,
        .threads = threads,
    };

    gc_status status = gc_engine_alloc(&spec.network, spec.loss,
                                       &spec.as_written, net->inputs,
                                       BENCH_BATCH, &b->engine, err);
    if (status == GC_OK)
        status = gc_engine_init_params(b->engine, BENCH_PARAM_SEED, err);
    if (status != GC_OK)
        return status;
    b->model = gc_engine_model(b->engine);
    b->x = malloc(BENCH_BATCH * net->inputs * sizeof(double));
    b->labels = malloc(BENCH_BATCH * sizeof(int));
    b->grad = malloc(b->model->param_count * sizeof(double));
    b->rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (b->x == NULL || b->labels == NULL || b->grad == NULL ||
        b->rng == NULL)
        return gc_error_set(err, GC_ENOMEM, "no memory for %s", net->name);
    gsl_rng_set(b->rng, BENCH_CHECK_SEED);
    status = bench_fill_batch(b, err);
    b->heap_before_checker = bench_heap_in_use();
    if (status == GC_OK)
        status = gc_checker_alloc(b->model, BENCH_BATCH, &b->checker, err);
    double loss;
    if (status == GC_OK)
        status = b->model->gradient(b->model, b->model->params, &b->batch,
                                    &loss, b->grad, err);
    return status;
}

/* ---- the measurements -------------------------------------------------- *
 * Each runs its operation once; bench_time() repeats and times it.  A
 * check reports the largest relative error over tensors in *max_rel and
 * the number of tensors that did not pass in *not_passed. */

typedef gc_status (*bench_measure)(bench_net *b, double *max_rel,
                                   size_t *not_passed, gc_error *err);

/* Looks at one check's results: the largest rel_error, how many tensors
 * did not pass, and (for element checks) that every parameter was
 * compared, so that a check that silently skipped elements cannot look
 * fast. */
static gc_status bench_verify(bench_net *b, bool every_element,
                              double *max_rel, size_t *not_passed,
                              gc_error *err)
{
    size_t compared = 0;
    *max_rel = 0.0;
    *not_passed = 0;
    for (size_t t = 0; t < b->model->tensor_count; t++) {
        const gc_check_event *r = &b->results[t];
        if (r->rel_error > *max_rel)
            *max_rel = r->rel_error;
        if (r->verdict != GC_VERDICT_PASS) {
            (*not_passed)++;
            fprintf(stderr, "bench_check: %s %s %s: %s (rel %.3g) %s\n",
                    b->spec->name, r->method, r->tensor,
                    gc_verdict_name(r->verdict), r->rel_error, r->reason);
        }
        compared += r->elements;
    }
    if (every_element && compared != b->model->param_count)
        return gc_error_set(err, GC_EMODEL,
                            "%s: element check compared %zu of %zu "
                            "parameters", b->spec->name, compared,
                            b->model->param_count);
    return GC_OK;
}

/* One forward and backward pass: B x n_0 inputs to param_count grads. */
static gc_status bench_gradient(bench_net *b, double *max_rel,
                                size_t *not_passed, gc_error *err)
{
    double loss;
    *max_rel = -1.0;            /* not a check: no error to report */
    *not_passed = 0;
    return b->model->gradient(b->model, b->model->params, &b->batch, &loss,
                              b->grad, err);
}

/* One random unit direction per tensor: 2 partial losses per tensor. */
static gc_status bench_directions(bench_net *b, double *max_rel,
                                  size_t *not_passed, gc_error *err)
{
    gc_check_options options = b->options;
    gc_status status = gc_check_directions(b->checker, b->model, &b->batch,
                                           b->grad, &options, b->rng,
                                           b->results, err);
    if (status != GC_OK)
        return status;
    return bench_verify(b, false, max_rel, not_passed, err);
}

static gc_status bench_elements(bench_net *b, gc_check_method method,
                                double *max_rel, size_t *not_passed,
                                gc_error *err)
{
    gc_check_options options = b->options;
    options.method = method;
    options.difference = b->difference;
    if (b->one_thread)
        options.threads = 1;
    gc_status status = gc_check_elements(b->checker, b->model, &b->batch,
                                         b->grad, &options, b->rng,
                                         b->results, err);
    if (status != GC_OK)
        return status;
    return bench_verify(b, true, max_rel, not_passed, err);
}

/* Every parameter perturbed on its own: 2 B one-sample partial losses per
 * parameter (fewer where an input is exactly 0). */
static gc_status bench_elements_parameter(bench_net *b, double *max_rel,
                                          size_t *not_passed, gc_error *err)
{
    return bench_elements(b, GC_METHOD_PARAMETER, max_rel, not_passed,
                          err);
}

/* Every pre-activation z[b, i] perturbed: 2 B n_l one-sample partial
 * losses per layer, then dW = dZ^T A_in and db = sum_b dZ. */
static gc_status bench_elements_preactivation(bench_net *b,
                                              double *max_rel,
                                              size_t *not_passed,
                                              gc_error *err)
{
    return bench_elements(b, GC_METHOD_PREACTIVATION, max_rel, not_passed,
                          err);
}

/* The parameter method held to one thread: what the threads gain. */
static gc_status bench_elements_parameter_1t(bench_net *b, double *max_rel,
                                             size_t *not_passed,
                                             gc_error *err)
{
    b->one_thread = true;
    gc_status status = bench_elements(b, GC_METHOD_PARAMETER, max_rel,
                                      not_passed, err);
    b->one_thread = false;
    return status;
}

/* Pre-activation method, Richardson: 4 one-sample evaluations per z. */
static gc_status bench_preact_richardson(bench_net *b, double *max_rel,
                                         size_t *not_passed, gc_error *err)
{
    b->difference = GC_DIFFERENCE_RICHARDSON;
    gc_status status = bench_elements(b, GC_METHOD_PREACTIVATION, max_rel,
                                      not_passed, err);
    b->difference = GC_DIFFERENCE_CENTRAL;
    return status;
}

/* Pre-activation method, complex step: 1 complex evaluation per z. */
static gc_status bench_preact_complex(bench_net *b, double *max_rel,
                                      size_t *not_passed, gc_error *err)
{
    b->difference = GC_DIFFERENCE_COMPLEX;
    gc_status status = bench_elements(b, GC_METHOD_PREACTIVATION, max_rel,
                                      not_passed, err);
    b->difference = GC_DIFFERENCE_CENTRAL;
    return status;
}

/* ---- timing ------------------------------------------------------------ */

static double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int bench_compare_doubles(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Median of n values (sorts them in place). */
static double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct {
    double median_ms, min_ms;
    double max_rel;             /* over tensors and repetitions; <0: none */
    size_t not_passed;          /* tensor results that did not pass */
} bench_timing;

static gc_status bench_time(bench_net *b, bench_measure measure,
                            size_t reps, bench_timing *out, gc_error *err)
{
    double ms[BENCH_MAX_REPS];
    *out = (bench_timing){0.0, 0.0, -1.0, 0};
    for (size_t r = 0; r < reps; r++) {
        double max_rel;
        size_t not_passed;
        double start = bench_now_ms();
        gc_status status = measure(b, &max_rel, &not_passed, err);
        ms[r] = bench_now_ms() - start;
        if (status != GC_OK)
            return status;
        if (max_rel > out->max_rel)
            out->max_rel = max_rel;
        out->not_passed += not_passed;
    }
    out->median_ms = bench_median(ms, reps);
    out->min_ms = ms[0];        /* sorted by bench_median */
    return GC_OK;
}

/* ---- the table --------------------------------------------------------- */

static void bench_print_header(size_t reps, size_t threads)
{
    printf("# batch %d, inputs U[0,1], init N(0, 1/fan_in), "
           "blas %s on 1 thread, element checks on %zu thread%s\n"
           "# median and min of %zu runs, in milliseconds\n", BENCH_BATCH,
           gc_blas_name(), threads, threads == 1 ? "" : "s", reps);
    printf("%-20s %8s  %-17s %11s %11s %10s\n", "network", "params",
           "measurement", "median ms", "min ms", "max rel");
}

static void bench_print_row(const bench_net *b, const char *what,
                            const bench_timing *t)
{
    char rel[32];
    if (t->max_rel < 0.0)
        snprintf(rel, sizeof rel, "-");
    else
        snprintf(rel, sizeof rel, "%.1e", t->max_rel);
    printf("%-20s %8zu  %-17s %11.3f %11.3f %10s\n", b->spec->name,
           b->model->param_count, what, t->median_ms, t->min_ms, rel);
    fflush(stdout);
}

/* Times every measurement of one network and prints its rows; adds the
 * tensors that did not pass to *not_passed and the engine's bytes to
 * *engine_bytes. */
static gc_status bench_run_network(const bench_network *net, size_t reps,
                                   size_t threads, size_t *not_passed,
                                   size_t *engine_bytes,
                                   bench_medians *medians, gc_error *err)
{
    static const struct {
        const char *what;
        bench_measure measure;
    } measurements[] = {
        {"forward+backward", bench_gradient},
        {"direction", bench_directions},
        {"element/param", bench_elements_parameter},
        {"element/preact", bench_elements_preactivation},
        {"element/param 1t", bench_elements_parameter_1t},
        {"preact/richardson", bench_preact_richardson},
        {"preact/complex", bench_preact_complex},
    };
    size_t count = sizeof measurements / sizeof measurements[0];
    bench_net b;
    gc_status status = bench_net_alloc(&b, net, threads, err);
    for (size_t m = 0; status == GC_OK && m < count; m++) {
        if (threads == 1 && measurements[m].measure ==
                                bench_elements_parameter_1t)
            continue;
        bench_timing t;
        status = bench_time(&b, measurements[m].measure, reps, &t, err);
        if (status == GC_OK) {
            bench_print_row(&b, measurements[m].what, &t);
            *not_passed += t.not_passed;
            if (m == 1)
                medians->direction_ms = t.median_ms;
            else if (m == 2)
                medians->param_ms = t.median_ms;
            else if (m == 3)
                medians->preact_ms = t.median_ms;
        }
    }
    medians->measured = status == GC_OK;
    *engine_bytes = b.engine != NULL ? gc_engine_bytes(b.engine) : 0;
    /* What the checker holds after every check ran (its buffers and the
     * threads' scratch, allocated on first use; nothing of a check is
     * left over otherwise): the heap in use now, less before it existed. */
    size_t heap_now = bench_heap_in_use();
    medians->checker_bytes = heap_now > b.heap_before_checker
                                 ? heap_now - b.heap_before_checker : 0;
    medians->param_bytes = b.model != NULL
                               ? b.model->param_count * sizeof(double) : 0;
    bench_net_free(&b);
    return status;
}

/* ---- command line ------------------------------------------------------ */

static void bench_usage(FILE *out)
{
    fprintf(out,
            "usage: bench_check [--reps N] [--only NAME] [--threads T]\n"
            "                   [--no-torch] [--torch-slow-reps N] "
            "[--help]\n"
            "  --reps N     repetitions per measurement, 1 to %d "
            "(default %d)\n"
            "  --threads T  element-check threads, 0 = every core "
            "(default 0)\n"
            "  --no-torch   skip torch.autograd.gradcheck even if "
            "importable\n"
            "  --torch-slow-reps N  runs of torch's per-element mode "
            "(default 1)\n"
            "  --help       this text\n"
            "  --only NAME  run one network, one of:\n",
            BENCH_MAX_REPS, BENCH_DEFAULT_REPS);
    for (size_t i = 0; i < BENCH_NETWORK_COUNT; i++)
        fprintf(out, "                 %s\n", bench_networks[i].name);
}

typedef struct {
    size_t reps;
    const char *only;           /* NULL: every network */
    size_t threads;             /* 0: every core */
    bool torch;
    size_t torch_slow_reps;
} bench_args;

/* A whole number in [lo, hi] from text, or false. */
static bool bench_parse_count(const char *text, size_t lo, size_t hi,
                              size_t *out)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || text[0] == '-' || text[0] == '\0' ||
        n < lo || n > hi)
        return false;
    *out = (size_t)n;
    return true;
}

/* Returns 0 to run, 1 after --help, 2 on bad usage (a message is out). */
static int bench_parse_args(int argc, char **argv, bench_args *args)
{
    *args = (bench_args){BENCH_DEFAULT_REPS, NULL, 0, true, 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            bench_usage(stdout);
            return 1;
        }
        bool wants_value = strcmp(a, "--reps") == 0 ||
                           strcmp(a, "--only") == 0 ||
                           strcmp(a, "--threads") == 0 ||
                           strcmp(a, "--torch-slow-reps") == 0;
        if (wants_value && i + 1 >= argc) {
            fprintf(stderr, "bench_check: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--reps") == 0) {
            char *end;
            unsigned long n = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || argv[i][0] == '-' || n < 1 ||
                n > BENCH_MAX_REPS) {
                fprintf(stderr, "bench_check: --reps wants 1 to %d, "
                        "got '%s'\n", BENCH_MAX_REPS, argv[i]);
                return 2;
            }
            args->reps = (size_t)n;
        } else if (strcmp(a, "--only") == 0) {
            args->only = argv[++i];
        } else if (strcmp(a, "--threads") == 0) {
            if (!bench_parse_count(argv[++i], 0, 1024, &args->threads)) {
                fprintf(stderr, "bench_check: --threads wants 0 to 1024, "
                        "got '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--torch-slow-reps") == 0) {
            if (!bench_parse_count(argv[++i], 1, BENCH_MAX_REPS,
                                   &args->torch_slow_reps)) {
                fprintf(stderr, "bench_check: --torch-slow-reps wants 1 to "
                        "%d, got '%s'\n", BENCH_MAX_REPS, argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--no-torch") == 0) {
            args->torch = false;
        } else {
            fprintf(stderr, "bench_check: unknown argument '%s'\n", a);
            bench_usage(stderr);
            return 2;
        }
    }
    return 0;
}

/* ---- torch.autograd.gradcheck, when python3 can import torch ---------- */

#ifndef GC_TOOLS_DIR
#define GC_TOOLS_DIR "tools"
#endif

/* Runs bench_torch.py for one mode and fills torch_ms[i] (median) for
 * every network it reports.  Returns false if it could not run. */
static bool bench_torch_mode(const char *python, const char *mode,
                             size_t reps, const char *only, double *torch_ms,
                             size_t *torch_runs)
{
    char command[768];
    snprintf(command, sizeof command,
             "'%s' '%s/bench_torch.py' --modes %s --reps %zu%s%s", python,
             GC_TOOLS_DIR, mode, reps, only != NULL ? " --only " : "",
             only != NULL ? only : "");
    FILE *pipe = popen(command, "r");
    if (pipe == NULL)
        return false;
    char line[256];
    while (fgets(line, sizeof line, pipe) != NULL) {
        char name[64], got_mode[16];
        double median, min;
        int passed;
        if (sscanf(line, "torch %63s %15s %lf %lf %d", name, got_mode,
                   &median, &min, &passed) != 5)
            continue;
        for (size_t i = 0; i < BENCH_NETWORK_COUNT; i++)
            if (strcmp(bench_networks[i].name, name) == 0) {
                torch_ms[i] = median;
                torch_runs[i] = reps;
            }
        if (!passed)
            fprintf(stderr, "bench_check: torch gradcheck (%s) of %s did "
                    "not pass\n", got_mode, name);
    }
    return pclose(pipe) == 0;
}

/* The ratio table: torch's median over gradcheck's, same networks,
 * same run. */
static void bench_torch(const bench_args *args, const bench_medians *m)
{
    /* GC_PYTHON names the interpreter (Debian's is /usr/bin/python3; a
     * pyenv or venv python3 earlier on PATH may not see python3-torch). */
    const char *python = getenv("GC_PYTHON");
    if (python == NULL || python[0] == '\0' || strchr(python, '\'') != NULL)
        python = "python3";
    char probe[512];
    snprintf(probe, sizeof probe, "'%s' -c 'import torch' >/dev/null 2>&1",
             python);
    if (system(probe) != 0) {
        printf("\ntorch: %s cannot import torch; no comparison "
               "(apt-get install python3-torch; GC_PYTHON=/usr/bin/python3 "
               "if another python3 comes first on PATH)\n", python);
        return;
    }
    double slow[BENCH_NETWORK_COUNT] = {0}, fast[BENCH_NETWORK_COUNT] = {0};
    size_t slow_runs[BENCH_NETWORK_COUNT] = {0};
    size_t fast_runs[BENCH_NETWORK_COUNT] = {0};
    bool ok = bench_torch_mode(python, "fast", args->reps, args->only, fast,
                               fast_runs);
    ok = bench_torch_mode(python, "slow", args->torch_slow_reps, args->only,
                          slow, slow_runs) && ok;
    if (!ok)
        fprintf(stderr, "bench_check: bench_torch.py did not finish "
                "cleanly\n");
    printf("\n# torch.autograd.gradcheck on 1 thread, float64; ratio = "
           "torch median / gradcheck median\n");
    printf("%-20s %12s %5s %10s %10s %10s %10s\n", "network",
           "per-elem ms", "runs", "x param", "x preact", "fast ms",
           "x direct");
    for (size_t i = 0; i < BENCH_NETWORK_COUNT; i++) {
        if (!m[i].measured || (slow[i] == 0.0 && fast[i] == 0.0))
            continue;
        printf("%-20s %12.1f %5zu %10.1f %10.0f %10.3f %10.2f\n",
               bench_networks[i].name, slow[i], slow_runs[i],
               slow[i] / m[i].param_ms, slow[i] / m[i].preact_ms, fast[i],
               fast[i] / m[i].direction_ms);
    }
}

static const bench_network *bench_find(const char *name)
{
    for (size_t i = 0; i < BENCH_NETWORK_COUNT; i++)
        if (strcmp(bench_networks[i].name, name) == 0)
            return &bench_networks[i];
    return NULL;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    gc_blas_single_thread();
    bench_args args;
    int parsed = bench_parse_args(argc, argv, &args);
    if (parsed != 0)
        return parsed == 1 ? 0 : 2;
    if (args.only != NULL && bench_find(args.only) == NULL) {
        fprintf(stderr, "bench_check: no network '%s'\n", args.only);
        bench_usage(stderr);
        return 2;
    }

    size_t threads = args.threads;
#ifdef _OPENMP
    if (threads == 0)
        threads = (size_t)omp_get_max_threads();
#else
    threads = 1;
#endif
    bench_print_header(args.reps, threads);
    size_t not_passed = 0, bytes[BENCH_NETWORK_COUNT] = {0};
    bench_medians medians[BENCH_NETWORK_COUNT];
    memset(medians, 0, sizeof medians);
    for (size_t i = 0; i < BENCH_NETWORK_COUNT; i++) {
        const bench_network *net = &bench_networks[i];
        if (args.only != NULL && net != bench_find(args.only))
            continue;
        gc_error err;
        gc_error_clear(&err);
        if (bench_run_network(net, args.reps, threads, &not_passed,
                              &bytes[i], &medians[i], &err) != GC_OK) {
            fprintf(stderr, "bench_check: %s: %s\n", net->name,
                    err.message);
            return 2;
        }
    }

    /* Issue 7's memory target: the check within 2 x one forward-backward
     * plus the parameters.  A forward-backward's memory is the engine's
     * buffers other than the parameters (pre-activations, activations,
     * deltas and scratch of the batch) plus the gradient it writes, which
     * is as large as the parameters: the engine's bytes in all. */
    printf("\n%-20s %12s %12s %12s %12s %6s\n", "network", "engine",
           "fwd+bwd", "check", "bound", "ratio");
    for (size_t i = 0; i < BENCH_NETWORK_COUNT; i++) {
        if (bytes[i] == 0)
            continue;
        const bench_medians *m = &medians[i];
        size_t forward_backward = bytes[i];
        size_t bound = 2 * forward_backward + m->param_bytes;
        printf("%-20s %12zu %12zu %12zu %12zu %6.2f\n",
               bench_networks[i].name, bytes[i], forward_backward,
               m->checker_bytes, bound,
               (double)m->checker_bytes / (double)bound);
    }
    printf("bytes; check = heap the checker holds after every check ran "
           "(mallinfo2), bound = 2 x fwd+bwd + parameters\n");
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) == 0)
        printf("peak resident set (ru_maxrss): %ld KiB\n", usage.ru_maxrss);
    fflush(stdout);
    if (args.torch)
        bench_torch(&args, medians);

    if (not_passed != 0) {
        fprintf(stderr, "bench_check: %zu tensor checks of correct "
                "networks did not pass\n", not_passed);
        return 1;
    }
    return 0;
}
