/* spec.h - the run specification: everything a config file can say.
 *
 * config.c fills a gc_spec from an INI file (see docs/config.md for every
 * key and its default); nothing else reads the file.  The struct is plain
 * data with fixed-size strings so it can be copied and compared freely.
 * gc_spec_init() sets every default, so a spec that was never loaded from a
 * file is still a valid, correct 784-100-10 network.
 */
#ifndef GRADCHECK_SPEC_H
#define GRADCHECK_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GC_PATH_MAX 1024
#define GC_MAX_LAYERS 16

/* ---- [data] ---------------------------------------------------------- */

typedef enum { GC_SOURCE_IDX, GC_SOURCE_CSV, GC_SOURCE_SYNTHETIC } gc_source;
typedef enum { GC_SYNTH_XOR, GC_SYNTH_SPIRALS, GC_SYNTH_BLOBS } gc_synthetic;
typedef enum {
    GC_SCALE_NONE,        /* features used as read */
    GC_SCALE_DIVIDE,      /* x / scale_divisor (255 turns bytes into [0,1]) */
    GC_SCALE_MINMAX,      /* per feature to [0,1] using training min/max */
    GC_SCALE_STANDARDIZE  /* per feature to mean 0, std 1 (training stats) */
} gc_scaling;

typedef struct {
    gc_source source;
    /* IDX (MNIST format), plain or .gz */
    char train_images[GC_PATH_MAX];
    char train_labels[GC_PATH_MAX];
    char test_images[GC_PATH_MAX];   /* empty: use test_split instead */
    char test_labels[GC_PATH_MAX];
    /* CSV with one label column; every other column is a feature */
    char csv[GC_PATH_MAX];
    int label_column;                /* 0-based; -1 means the last column */
    bool csv_header;                 /* first line holds column names */
    /* seeded synthetic sets */
    gc_synthetic synthetic;
    size_t synthetic_samples;
    int synthetic_classes;           /* spirals and blobs */
    double synthetic_noise;
    /* shared */
    gc_scaling scale;
    double scale_divisor;
    size_t limit;                    /* training samples kept; 0 = all */
    size_t test_limit;               /* test samples kept; 0 = all */
    double test_split;               /* fraction of training held out when no
                                        test files are given, in [0, 1) */
    /* Where each value was set in the config, for error messages that
     * arise later (a data file that does not exist).  0 = default. */
    int line_of_train_images, line_of_train_labels;
    int line_of_test_images, line_of_test_labels, line_of_csv;
} gc_data_spec;

/* ---- [network] ------------------------------------------------------- */

typedef enum {
    GC_ACT_IDENTITY,
    GC_ACT_SIGMOID,
    GC_ACT_TANH,
    GC_ACT_RELU,
    GC_ACT_LEAKY_RELU,   /* slope 0.01 below zero */
    GC_ACT_SOFTMAX       /* over the layer's units, per sample */
} gc_activation;

typedef enum {
    GC_INIT_NORMAL,      /* N(0, scale^2); scale 0 means 1/sqrt(fan_in) */
    GC_INIT_UNIFORM,     /* U(-scale, scale); scale 0 means 1/sqrt(fan_in) */
    GC_INIT_XAVIER,      /* U(+-sqrt(6/(fan_in+fan_out))) */
    GC_INIT_HE,          /* N(0, 2/fan_in) */
    GC_INIT_CONSTANT     /* every weight = scale */
} gc_init;

typedef struct {
    size_t width;
    gc_activation activation;
} gc_layer_spec;

typedef struct {
    size_t inputs;                   /* 0 = take from the data */
    size_t layer_count;
    gc_layer_spec layers[GC_MAX_LAYERS];
    gc_init init;
    double init_scale;
    double bias_init;                /* every bias starts at this value */
    uint64_t seed;                   /* 0 = derive from [training] seed */
} gc_network_spec;

/* ---- [loss] ---------------------------------------------------------- */

typedef enum {
    GC_LOSS_MSE,                  /* mean over batch of 1/2 sum_k (a_k-y_k)^2 */
    GC_LOSS_CROSS_ENTROPY,        /* mean over batch of -sum_k y_k log a_k */
    GC_LOSS_BINARY_CROSS_ENTROPY  /* mean over batch of
                                     -sum_k y log a + (1-y) log(1-a) */
} gc_loss;

/* ---- [training] ------------------------------------------------------ */

typedef struct {
    double learning_rate;
    size_t batch_size;
    size_t steps;                    /* 0 = use epochs */
    size_t epochs;
    bool shuffle;
    uint64_t seed;                   /* the one seed of the run */
} gc_training_spec;

/* ---- [as-written]: the network as its author wrote it ----------------
 * Each field replaces one step of the correct forward or backward with a
 * mistake seen in real from-scratch code.  The defaults are correct.  Only
 * the built-in engine reads these; the checker never does. */

typedef enum {
    GC_SOFTMAX_DERIV_JACOBIAN,     /* full Jacobian-vector product */
    GC_SOFTMAX_DERIV_ELEMENTWISE   /* diagonal only: s(1-s) */
} gc_softmax_derivative;

typedef struct {
    gc_softmax_derivative softmax_derivative;
    bool softmax_subtract_max;       /* false: exp of raw logits */
    bool derivative_at_activation;   /* f'(f(z)) where f'(z) was meant */
    bool output_delta_skips_activation; /* MSE delta = a - y, no f'(z) */
    bool weight_gradient_from_output;   /* dW = delta * a_l, not a_(l-1) */
    bool no_bias_gradient;           /* db = 0 */
    bool batch_sum;                  /* gradient summed, not averaged */
    bool update_ascent;              /* theta += lr * g */
    bool log_unclamped;              /* cross-entropy: -log(p) as is */
    bool weight_gradient_transposed; /* dW^T where shapes allow */
} gc_as_written_spec;

/* ---- [checks] -------------------------------------------------------- */

typedef enum {
    GC_METHOD_AUTO,            /* pre-activation where the model shows its
                                  layers, parameter otherwise */
    GC_METHOD_PREACTIVATION,
    GC_METHOD_PARAMETER
} gc_check_method;

/* How an element check turns loss evaluations into a derivative
 * (docs/checks.md, "Difference schemes"). */
typedef enum {
    GC_DIFFERENCE_CENTRAL,     /* (f(x+h) - f(x-h)) / 2h */
    GC_DIFFERENCE_RICHARDSON,  /* steps h and h/2 combined, O(h^4) */
    GC_DIFFERENCE_COMPLEX      /* Im f(x + ih) / h: analytic networks */
} gc_difference;

typedef struct {
    bool every_step;           /* random-direction check of every tensor */
    size_t full_every;         /* per-element check every N steps (and 0);
                                  0 = only at step 0 */
    size_t sample;             /* elements per tensor in a full check;
                                  0 = every element */
    gc_check_method method;
    double step_scale;         /* multiplies the default relative step */
    double pass_below;         /* relative error bands (docs/checks.md) */
    double fail_above;
    bool traps;                /* floating-point traps after every op */
    size_t drift_window;       /* steps per logit-drift window */
    gc_difference difference;  /* element checks' difference scheme */
    size_t threads;            /* element-check threads; 0 = every core */
} gc_checks_spec;

/* ---- [report] -------------------------------------------------------- */

typedef struct {
    char json[GC_PATH_MAX];          /* JSON Lines file; empty = none */
    size_t histogram_bins;
    bool quiet;                      /* no value statistics on stdout */
} gc_report_spec;

/* ---- [expect]: what a run must find (docs/ci.md) ------------------- */

#define GC_EXPECT_MAX 32             /* ids one [expect] can list */
#define GC_FINDING_ID_MAX 40         /* as gc_finding_event.id, with NUL */

typedef struct {
    char id[GC_FINDING_ID_MAX];      /* a registered finding id */
    bool by_step;                    /* false: at any step */
    size_t step;                     /* the latest step it may first appear */
} gc_expected_finding;

typedef struct {
    size_t count;
    gc_expected_finding findings[GC_EXPECT_MAX];
    bool no_other_errors;            /* no unlisted finding of severity
                                        error may appear */
    bool enforce;                    /* the exit status follows the
                                        expectation without --expect */
    int line_of_findings;            /* where findings was set; 0 = not */
} gc_expect_spec;

/* ---- [model]: which model is under test (docs/sources/) ------------ */

typedef enum {
    GC_MODEL_ENGINE,     /* the built-in network [network] declares */
    GC_MODEL_PLUGIN,     /* a C shared object (include/gradcheck/plugin.h) */
    GC_MODEL_PIPE,       /* a program speaking docs/sources/pipe.md */
    GC_MODEL_SNAPSHOT    /* .npy files checked against [network] */
} gc_model_source;

typedef struct {
    gc_model_source source;
    char path[GC_PATH_MAX];          /* plugin .so or snapshot directory,
                                        relative paths from the config */
    char command[GC_PATH_MAX];       /* pipe: argv, split on blanks, run
                                        in the config's directory */
    double timeout;                  /* seconds per call of a plugin or
                                        pipe before it is killed */
    size_t sample;                   /* elements per failing tensor in
                                        a foreign model's element check;
                                        0 = every element */
} gc_model_spec;

typedef struct {
    char path[GC_PATH_MAX];          /* the config file, for messages */
    gc_data_spec data;
    gc_network_spec network;
    gc_loss loss;
    gc_training_spec training;
    gc_as_written_spec as_written;
    gc_checks_spec checks;
    gc_report_spec report;
    gc_expect_spec expect;
    gc_model_spec model;
} gc_spec;

/* Sets every field to its documented default (docs/config.md). */
void gc_spec_init(gc_spec *spec);

/* Names used in config files and reports ("sigmoid", "mse", ...). */
const char *gc_activation_name(gc_activation a);
/* The activation named by gc_activation_name(); false if none is. */
bool gc_activation_from_name(const char *name, gc_activation *out);
const char *gc_loss_name(gc_loss l);
const char *gc_model_source_name(gc_model_source s);

#endif
