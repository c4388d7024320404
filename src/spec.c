/* spec.c - the defaults of a run specification and the names of its enums.
 *
 * Every default here is listed, with its reason, in docs/config.md; change
 * both together.  The defaults describe a correct 784-100-10 sigmoid/softmax
 * network on Fashion-MNIST, so an empty config file is a valid run.
 */
#include "spec.h"

#include <stdio.h>
#include <string.h>

/* Where the Debian package dataset-fashion-mnist installs the IDX files. */
#define GC_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist/"

static void gc_data_spec_init(gc_data_spec *data)
{
    data->source = GC_SOURCE_IDX;
    snprintf(data->train_images, sizeof data->train_images, "%s",
             GC_FASHION_MNIST_DIR "train-images-idx3-ubyte.gz");
    snprintf(data->train_labels, sizeof data->train_labels, "%s",
             GC_FASHION_MNIST_DIR "train-labels-idx1-ubyte.gz");
    snprintf(data->test_images, sizeof data->test_images, "%s",
             GC_FASHION_MNIST_DIR "t10k-images-idx3-ubyte.gz");
    snprintf(data->test_labels, sizeof data->test_labels, "%s",
             GC_FASHION_MNIST_DIR "t10k-labels-idx1-ubyte.gz");
    data->csv[0] = '\0';
    data->label_column = -1;
    data->csv_header = true;

    data->synthetic = GC_SYNTH_XOR;
    data->synthetic_samples = 1000;
    data->synthetic_classes = 2;
    data->synthetic_noise = 0.1;

    /* Bytes 0..255 become [0, 1], the range the default init expects. */
    data->scale = GC_SCALE_DIVIDE;
    data->scale_divisor = 255.0;
    data->limit = 0;
    data->test_limit = 0;
    data->test_split = 0.0;

    /* No line set anything yet. */
    data->line_of_train_images = 0;
    data->line_of_train_labels = 0;
    data->line_of_test_images = 0;
    data->line_of_test_labels = 0;
    data->line_of_csv = 0;
}

static void gc_network_spec_init(gc_network_spec *network)
{
    network->inputs = 0;
    network->layer_count = 2;
    network->layers[0].width = 100;
    network->layers[0].activation = GC_ACT_SIGMOID;
    network->layers[1].width = 10;
    network->layers[1].activation = GC_ACT_SOFTMAX;
    network->init = GC_INIT_NORMAL;
    network->init_scale = 0.0;
    network->bias_init = 0.0;
    network->seed = 0;
}

static void gc_training_spec_init(gc_training_spec *training)
{
    training->learning_rate = 0.1;
    training->batch_size = 32;
    training->steps = 0;
    training->epochs = 1;
    training->shuffle = true;
    training->seed = 1;
}

static void gc_as_written_spec_init(gc_as_written_spec *as_written)
{
    /* The correct network: every mistake switched off. */
    as_written->softmax_derivative = GC_SOFTMAX_DERIV_JACOBIAN;
    as_written->softmax_subtract_max = true;
    as_written->derivative_at_activation = false;
    as_written->output_delta_skips_activation = false;
    as_written->weight_gradient_from_output = false;
    as_written->no_bias_gradient = false;
    as_written->batch_sum = false;
    as_written->update_ascent = false;
    as_written->log_unclamped = false;
    as_written->weight_gradient_transposed = false;
}

static void gc_checks_spec_init(gc_checks_spec *checks)
{
    checks->every_step = true;
    checks->full_every = 1000;
    checks->sample = 0;
    checks->method = GC_METHOD_AUTO;
    checks->step_scale = 1.0;
    /* Bands of relative error: a central difference in double precision
     * agrees with a correct gradient to about 1e-8..1e-7; a wrong formula
     * usually differs by 1e-2 or more.  Between the bands is inconclusive
     * (docs/checks.md). */
    checks->pass_below = 1e-6;
    checks->fail_above = 1e-4;
    checks->traps = true;
    checks->drift_window = 250;
    checks->difference = GC_DIFFERENCE_CENTRAL;
    /* Every core: the element checks give bit-identical results for any
     * thread count (docs/checks.md, "Threads"), so this costs nothing in
     * reproducibility. */
    checks->threads = 0;
}

static void gc_report_spec_init(gc_report_spec *report)
{
    report->json[0] = '\0';
    report->histogram_bins = 30;
    report->quiet = false;
}

void gc_spec_init(gc_spec *spec)
{
    /* Zero first so that padding and unused layer slots compare equal. */
    memset(spec, 0, sizeof *spec);
    spec->path[0] = '\0';
    gc_data_spec_init(&spec->data);
    gc_network_spec_init(&spec->network);
    spec->loss = GC_LOSS_CROSS_ENTROPY;
    gc_training_spec_init(&spec->training);
    gc_as_written_spec_init(&spec->as_written);
    gc_checks_spec_init(&spec->checks);
    gc_report_spec_init(&spec->report);
    /* The built-in engine; for a plugin or pipe, 10 s per call is far
     * above a forward and backward of any network a check runs on, and
     * 32 elements of each failing tensor localise a mistake at 64 loss
     * evaluations a tensor (docs/sources/). */
    spec->model.source = GC_MODEL_ENGINE;
    spec->model.timeout = 10.0;
    spec->model.sample = 32;
    /* Nothing required and no error allowed: what exit status 0 means
     * without an [expect] section. */
    spec->expect.count = 0;
    spec->expect.no_other_errors = true;
    spec->expect.enforce = false;
}

const char *gc_activation_name(gc_activation a)
{
    switch (a) {
    case GC_ACT_IDENTITY: return "identity";
    case GC_ACT_SIGMOID: return "sigmoid";
    case GC_ACT_TANH: return "tanh";
    case GC_ACT_RELU: return "relu";
    case GC_ACT_LEAKY_RELU: return "leaky-relu";
    case GC_ACT_SOFTMAX: return "softmax";
    }
    return "unknown";
}

bool gc_activation_from_name(const char *name, gc_activation *out)
{
    static const gc_activation all[] = {
        GC_ACT_IDENTITY, GC_ACT_SIGMOID, GC_ACT_TANH, GC_ACT_RELU,
        GC_ACT_LEAKY_RELU, GC_ACT_SOFTMAX};
    for (size_t i = 0; name != NULL && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, gc_activation_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    return false;
}

const char *gc_loss_name(gc_loss l)
{
    switch (l) {
    case GC_LOSS_MSE: return "mse";
    case GC_LOSS_CROSS_ENTROPY: return "cross-entropy";
    case GC_LOSS_BINARY_CROSS_ENTROPY: return "binary-cross-entropy";
    }
    return "unknown";
}

const char *gc_model_source_name(gc_model_source s)
{
    switch (s) {
    case GC_MODEL_ENGINE: return "engine";
    case GC_MODEL_PLUGIN: return "plugin";
    case GC_MODEL_PIPE: return "pipe";
    case GC_MODEL_SNAPSHOT: return "snapshot";
    }
    return "unknown";
}
