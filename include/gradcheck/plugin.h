/* gradcheck/plugin.h - the ABI of a gradcheck model plugin, version 1.
 *
 * A plugin is a shared object that exports one function,
 *
 *     const gradcheck_plugin *gradcheck_plugin_v1(void);
 *
 * returning a description of the network it implements and the functions
 * gradcheck calls: the starting parameters, the loss and the gradient of
 * a batch at any parameter vector, and optionally every layer's values.
 * gradcheck loads the plugin in a child process of its own (dlopen), so
 * a crash or an endless loop in it ends the check with a report and exit
 * status 2, never gradcheck itself.  docs/sources/plugin.md walks through
 * wiring up a network; fixtures/plugins/mlp.c is a complete example.
 *
 * Layout
 *   - The parameters are one flat vector of doubles: the tensors in the
 *     order of `tensors`, each rows x cols, row-major.  The vector has
 *     sum(rows * cols) elements.
 *   - A weight tensor of layer l has rows = width_l and cols =
 *     width_(l-1) (z = W a + b); a bias has rows = width_l, cols = 1.
 *     Layers are numbered from 1; layer 0 is the input.
 *   - A batch is `count` samples: x is count x inputs doubles, row-major;
 *     labels are class indices in [0, outputs) (or 0/1 with outputs = 1).
 *   - The loss is the batch mean of the per-sample losses, or the sum
 *     when loss_is_sum is non-zero; the gradient is that of the same loss.
 *
 * Calls
 *   Every function returns 0 on success and anything else on failure;
 *   gradcheck then asks last_error() (if set) for a message.  gradcheck
 *   calls from one thread, one call at a time, in its own process, so a
 *   plugin may keep its state in static variables.
 *
 * Versioning
 *   abi_version must be GRADCHECK_PLUGIN_ABI_VERSION as this header
 *   defines it; gradcheck refuses any other.  A later version adds a new
 *   entry point (gradcheck_plugin_v2) and keeps this one working.
 */
#ifndef GRADCHECK_PLUGIN_H
#define GRADCHECK_PLUGIN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GRADCHECK_PLUGIN_ABI_VERSION 1

/* The exported entry point's name, for dlsym. */
#define GRADCHECK_PLUGIN_ENTRY "gradcheck_plugin_v1"

typedef enum {
    GRADCHECK_TENSOR_WEIGHT = 0,
    GRADCHECK_TENSOR_BIAS = 1
} gradcheck_tensor_kind;

typedef struct {
    const char *name;           /* at most 31 characters: "layer2.W" */
    gradcheck_tensor_kind kind;
    size_t layer;               /* 1-based */
    size_t rows, cols;
} gradcheck_tensor;

/* One dense layer as the plugin computes it: z = W a_in + b, a = f(z). */
typedef struct {
    size_t width;
    const char *activation;     /* identity, sigmoid, tanh, relu,
                                   leaky-relu or softmax */
} gradcheck_layer;

typedef struct {
    const double *x;            /* count x inputs */
    const int *labels;          /* count */
    size_t count;
    size_t inputs;
} gradcheck_batch;

typedef struct {
    unsigned abi_version;       /* GRADCHECK_PLUGIN_ABI_VERSION */
    const char *name;           /* for reports: "mlp (correct softmax)" */
    size_t inputs;              /* features per sample */
    size_t outputs;             /* output units */
    size_t tensor_count;
    const gradcheck_tensor *tensors;

    /* Optional layer values.  layer_count 0 (layers NULL) means the
     * plugin shows none; else layers[0 .. layer_count) are layers 1..L. */
    size_t layer_count;
    const gradcheck_layer *layers;
    int has_deltas;             /* layer_values fills delta too */
    int loss_is_sum;            /* 0: mean over the batch (usual) */

    /* The starting parameters (param_count doubles). */
    int (*init)(double *params);
    /* The loss of the batch at params. */
    int (*loss)(const double *params, const gradcheck_batch *batch,
                double *loss);
    /* The plugin's own backward at params: grad has param_count doubles;
     * loss receives the loss of the same forward pass. */
    int (*gradient)(const double *params, const gradcheck_batch *batch,
                    double *loss, double *grad);
    /* Optional (with layer_count > 0): after gradient(), layer l's
     * (1-based) pre-activations z, activations a and, when has_deltas,
     * the per-sample deltas dl_b/dz of each sample's own loss, each
     * count x width_l of the last batch.  delta is NULL otherwise. */
    int (*layer_values)(size_t layer, double *z, double *a, double *delta);
    /* Optional: a message for the last non-zero return. */
    const char *(*last_error)(void);
} gradcheck_plugin;

typedef const gradcheck_plugin *(*gradcheck_plugin_entry)(void);

#ifdef __cplusplus
}
#endif

#endif
