/* events.h - the one stream everything observed during a run flows through.
 *
 * The run loop turns check results, histograms, traps, findings and the
 * training curve into events; the diagnosis reads them and adds findings;
 * sinks (report_text.c, report_json.c) only format them.  An event owns no
 * heap memory except a histogram's bin arrays, which belong to whoever
 * emitted it and are valid only during the emit call.
 */
#ifndef GRADCHECK_EVENTS_H
#define GRADCHECK_EVENTS_H

#include "model.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    GC_EVENT_RUN,        /* once, first: what is being run */
    GC_EVENT_TRAIN,      /* the training curve, every few steps */
    GC_EVENT_CHECK,      /* one tensor checked against finite differences */
    GC_EVENT_HISTOGRAM,  /* one quantity of one layer at a full check */
    GC_EVENT_TRAP,       /* a floating-point event after an operation */
    GC_EVENT_FINDING,    /* a diagnosis: id, evidence, fix */
    GC_EVENT_SUMMARY     /* once, last */
} gc_event_kind;

const char *gc_event_name(gc_event_kind kind);

/* ---- check -------------------------------------------------------------- */

typedef enum {
    GC_VERDICT_PASS,
    GC_VERDICT_FAIL,
    GC_VERDICT_INCONCLUSIVE
} gc_verdict;

const char *gc_verdict_name(gc_verdict v);

typedef enum {
    GC_CHECK_DIRECTION,  /* one random direction per tensor (cheap) */
    GC_CHECK_ELEMENT     /* every element, or a seeded sample of them */
} gc_check_kind;

typedef struct {
    size_t step;
    size_t layer;
    char tensor[32];           /* "layer2.W" */
    gc_check_kind kind;
    char method[24];           /* "direction", "preactivation", "parameter",
                                  "preact/richardson", "param/complex"... */
    gc_verdict verdict;
    char reason[96];           /* why inconclusive or failed, else "" */
    double rel_error;          /* |g-n| / (|g| + |n|), norms over elements */
    double analytic_norm;      /* |g| over the checked elements */
    double numeric_norm;       /* |n| */
    double noise;              /* estimated error of the numeric values */
    double step_size;          /* the finite-difference step used */
    size_t elements;           /* elements compared */
    size_t kinks_excluded;     /* elements whose difference crossed a kink */
    bool analytic_all_zero;
    /* the element with the largest |g - n| (element checks only) */
    size_t worst_row, worst_col;
    double worst_analytic, worst_numeric;
    size_t loss_evaluations;   /* how many loss (or partial) evaluations */
} gc_check_event;

/* ---- histogram ---------------------------------------------------------- */

typedef enum {
    GC_QTY_WEIGHTS,
    GC_QTY_BIASES,
    GC_QTY_PRE_ACTIVATIONS,
    GC_QTY_ACTIVATIONS,
    GC_QTY_WEIGHT_GRADIENTS,
    GC_QTY_BIAS_GRADIENTS,
    GC_QTY_COUNT
} gc_quantity;

const char *gc_quantity_name(gc_quantity q);

typedef struct {
    size_t step;
    size_t layer;
    gc_quantity quantity;
    size_t count;              /* finite values (the statistics' n) */
    size_t binned;             /* values the counts hold: count, or a
                                  sample of it (GC_PROBE_BIN_SAMPLE) */
    size_t nonfinite;          /* NaN or Inf values left out */
    double mean, std, min, max;
    double mean_trend;         /* change of the mean per step since the
                                  previous full check; NAN at the first */
    size_t bins;
    const double *edges;       /* bins + 1 */
    const double *counts;      /* bins */
} gc_histogram_event;

/* ---- trap --------------------------------------------------------------- */

typedef enum {
    GC_TRAP_NAN,
    GC_TRAP_INF,
    GC_TRAP_OVERFLOW,
    GC_TRAP_ZERO_SUM,          /* a softmax row sum of exactly 0 */
    GC_TRAP_DIVIDE_BY_ZERO,
    GC_TRAP_EXP_RANGE,         /* warning: exp argument outside
                                  [-708.40, 709.78], where exp(x) is a
                                  normal, finite double */
    GC_TRAP_LOG_EDGE           /* warning: a probability of exactly 0 or 1
                                  went into a log */
} gc_trap_kind;

const char *gc_trap_kind_name(gc_trap_kind k);

typedef struct {
    size_t step;
    size_t layer;
    gc_op op;
    gc_trap_kind kind;
    bool fatal;                /* stops the run (NaN, Inf, ...); warnings
                                  are not fatal */
    char detail[160];
    /* the values behind it: statistics of the operation's inputs */
    double input_max, input_mean, input_min;
    size_t sample;             /* first offending sample in the batch */
} gc_trap_event;

/* ---- finding ------------------------------------------------------------ */

typedef enum { GC_SEVERITY_INFO, GC_SEVERITY_WARNING, GC_SEVERITY_ERROR }
    gc_severity;

const char *gc_severity_name(gc_severity s);

#define GC_EVIDENCE_MAX 8

typedef struct {
    char name[32];
    double value;
} gc_evidence;

typedef struct {
    char id[40];               /* stable: "softmax-jacobian-mismatch" */
    gc_severity severity;
    size_t step;
    size_t layer;              /* 0 = the whole network */
    char tensor[32];           /* "" when not about one tensor */
    char message[240];
    char fix[400];
    size_t evidence_count;
    gc_evidence evidence[GC_EVIDENCE_MAX];
} gc_finding_event;

/* Clears f and sets its id, severity, step and layer (tensor, message and
 * fix empty, no evidence). */
void gc_finding_init(gc_finding_event *f, const char *id,
                     gc_severity severity, size_t step, size_t layer);

/* printf into one of a finding's text fields (message, fix: dst of size
 * bytes), cut to fit and always NUL-terminated. */
void gc_finding_text(char *dst, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends one named number to a finding's evidence (dropped when full). */
void gc_finding_evidence(gc_finding_event *f, const char *name,
                         double value);

/* ---- run, train, summary ------------------------------------------------ */

typedef struct {
    char config[1024];
    char version[16];
    char network[160];         /* "784-100(sigmoid)-10(softmax)" */
    char loss[24];
    unsigned long long seed;
    size_t parameters;
    size_t train_samples, test_samples;
    size_t planned_steps;
    size_t batch_size;
    double learning_rate;
    char blas[24];             /* which BLAS the build linked */
    char source[16];           /* [model] source: engine, plugin, ... */
    char model[400];           /* what is checked against what */
    /* the check bands and schedule, so that a report can draw them */
    double pass_below;         /* rel_error at or below: pass */
    double fail_above;         /* rel_error above: fail */
    size_t full_every;         /* steps between full checks (0: step 0) */
} gc_run_event;

typedef struct {
    size_t step;               /* last step of the window */
    size_t window;             /* steps averaged */
    double loss;               /* mean training loss over the window */
    double mean_logit;         /* mean output pre-activation over window */
    double max_logit, min_logit;
} gc_train_event;

typedef struct {
    size_t steps;              /* steps completed */
    bool trapped;
    bool interrupted;
    size_t checks_pass, checks_fail, checks_inconclusive;
    size_t findings_error, findings_warning, findings_info;
    double final_loss;
    double test_accuracy;      /* NAN when there is no test set */
    double seconds;
    size_t loss_evaluations;   /* loss evaluations made by the checks */
    bool model_failed;         /* the model stopped answering (exit 2) */
    int exit_status;           /* what main will return */
} gc_summary_event;

typedef struct {
    gc_event_kind kind;
    union {
        gc_run_event run;
        gc_train_event train;
        gc_check_event check;
        gc_histogram_event histogram;
        gc_trap_event trap;
        gc_finding_event finding;
        gc_summary_event summary;
    } u;
} gc_event;

/* A sink receives every event in order.  emit() returning non-OK stops
 * the run (a write failed); close() flushes and releases, and is given the
 * chance to finish a file even after a trap.  Neither closes a stream the
 * caller opened. */
typedef struct gc_sink gc_sink;
struct gc_sink {
    void *self;
    gc_status (*emit)(gc_sink *sink, const gc_event *event, gc_error *err);
    gc_status (*close)(gc_sink *sink, gc_error *err);
};

#endif
