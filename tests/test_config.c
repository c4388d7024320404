/* test_config.c - the config reader: defaults, a full round trip, every
 * class of error with its file, line, key and expected text, relative
 * paths, and inputs that must not crash it (binary junk, long lines).
 *
 * Numbers parsed from text are compared exactly: strtod and the compiler
 * both round a decimal constant to the nearest double, so "0.05" in a file
 * and 0.05 in this source are the same double and no tolerance is needed.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli_run.h"
#include "config.h"
#include "spec.h"
#include "status.h"
#include "test_util.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef GC_SOURCE_DIR
#error "GC_SOURCE_DIR must name the source tree (tests/CMakeLists.txt)"
#endif

#define FIXTURES GC_SOURCE_DIR "/fixtures/config/"
#define FASHION "/usr/share/datasets/fashion-mnist/"

/* ---- helpers ---------------------------------------------------------- */

static void assert_has(const char *message, const char *fragment)
{
    cr_assert(strstr(message, fragment) != NULL,
              "message \"%s\" does not contain \"%s\"", message, fragment);
}

/* Parses text as the file "bad.cfg" and asserts a config error whose
 * message contains every fragment (a NULL-terminated list). */
__attribute__((sentinel))
static void expect_error(const char *text, ...)
{
    gc_spec spec;
    gc_error err;
    va_list fragments;
    const char *fragment;
    gc_status status;

    gc_error_clear(&err);
    status = gc_config_parse_string(text, "bad.cfg", &spec, &err);
    cr_assert_eq(status, GC_ECONFIG, "status %d (%s) for:\n%s\nmessage: %s",
                 status, gc_strerror(status), text, err.message);
    cr_assert_eq(err.code, GC_ECONFIG);
    va_start(fragments, text);
    while ((fragment = va_arg(fragments, const char *)) != NULL)
        assert_has(err.message, fragment);
    va_end(fragments);
}

/* Parses text that must be valid; returns the spec. */
static gc_spec parse_ok(const char *text)
{
    gc_spec spec;
    gc_error err;
    gc_status status = gc_config_parse_string(text, "ok.cfg", &spec, &err);
    cr_assert_eq(status, GC_OK, "status %d for:\n%s\nmessage: %s", status,
                 text, err.message);
    return spec;
}

/* Writes length bytes to a new temporary file; the caller removes it. */
static void write_temp(char *path, size_t cap, const void *bytes,
                       size_t length)
{
    int fd;
    FILE *file;
    snprintf(path, cap, "/tmp/gc_test_config_XXXXXX");
    fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp failed");
    file = fdopen(fd, "wb");
    cr_assert_not_null(file);
    cr_assert_eq(fwrite(bytes, 1, length, file), length);
    cr_assert_eq(fclose(file), 0);
}

/* ---- defaults ----------------------------------------------------------- */

static void assert_defaults(const gc_spec *s)
{
    const gc_data_spec *d = &s->data;
    const gc_network_spec *n = &s->network;

    cr_assert_eq(d->source, GC_SOURCE_IDX);
    cr_assert_str_eq(d->train_images, FASHION "train-images-idx3-ubyte.gz");
    cr_assert_str_eq(d->train_labels, FASHION "train-labels-idx1-ubyte.gz");
    cr_assert_str_eq(d->test_images, FASHION "t10k-images-idx3-ubyte.gz");
    cr_assert_str_eq(d->test_labels, FASHION "t10k-labels-idx1-ubyte.gz");
    cr_assert_str_eq(d->csv, "");
    cr_assert_eq(d->label_column, -1);
    cr_assert(d->csv_header);
    cr_assert_eq(d->synthetic, GC_SYNTH_XOR);
    cr_assert_eq(d->synthetic_samples, 1000);
    cr_assert_eq(d->synthetic_classes, 2);
    cr_assert(d->synthetic_noise == 0.1);
    cr_assert_eq(d->scale, GC_SCALE_DIVIDE);
    cr_assert(d->scale_divisor == 255.0);
    cr_assert_eq(d->limit, 0);
    cr_assert_eq(d->test_limit, 0);
    cr_assert(d->test_split == 0.0);
    cr_assert_eq(d->line_of_train_images, 0);
    cr_assert_eq(d->line_of_train_labels, 0);
    cr_assert_eq(d->line_of_test_images, 0);
    cr_assert_eq(d->line_of_test_labels, 0);
    cr_assert_eq(d->line_of_csv, 0);

    cr_assert_eq(n->inputs, 0);
    cr_assert_eq(n->layer_count, 2);
    cr_assert_eq(n->layers[0].width, 100);
    cr_assert_eq(n->layers[0].activation, GC_ACT_SIGMOID);
    cr_assert_eq(n->layers[1].width, 10);
    cr_assert_eq(n->layers[1].activation, GC_ACT_SOFTMAX);
    cr_assert_eq(n->init, GC_INIT_NORMAL);
    cr_assert(n->init_scale == 0.0);
    cr_assert(n->bias_init == 0.0);
    cr_assert_eq(n->seed, 0);

    cr_assert_eq(s->loss, GC_LOSS_CROSS_ENTROPY);

    cr_assert(s->training.learning_rate == 0.1);
    cr_assert_eq(s->training.batch_size, 32);
    cr_assert_eq(s->training.steps, 0);
    cr_assert_eq(s->training.epochs, 1);
    cr_assert(s->training.shuffle);
    cr_assert_eq(s->training.seed, 1);

    cr_assert_eq(s->as_written.softmax_derivative,
                 GC_SOFTMAX_DERIV_JACOBIAN);
    cr_assert(s->as_written.softmax_subtract_max);
    cr_assert(!s->as_written.derivative_at_activation);
    cr_assert(!s->as_written.output_delta_skips_activation);
    cr_assert(!s->as_written.weight_gradient_from_output);
    cr_assert(!s->as_written.no_bias_gradient);
    cr_assert(!s->as_written.batch_sum);
    cr_assert(!s->as_written.update_ascent);
    cr_assert(!s->as_written.log_unclamped);
    cr_assert(!s->as_written.weight_gradient_transposed);

    cr_assert(s->checks.every_step);
    cr_assert_eq(s->checks.full_every, 1000);
    cr_assert_eq(s->checks.sample, 0);
    cr_assert_eq(s->checks.method, GC_METHOD_AUTO);
    cr_assert(s->checks.step_scale == 1.0);
    cr_assert(s->checks.pass_below == 1e-6);
    cr_assert(s->checks.fail_above == 1e-4);
    cr_assert(s->checks.traps);
    cr_assert_eq(s->checks.drift_window, 250);
    cr_assert_eq(s->checks.difference, GC_DIFFERENCE_CENTRAL);
    cr_assert_eq(s->checks.threads, 0);

    cr_assert_str_eq(s->report.json, "");
    cr_assert_eq(s->report.histogram_bins, 30);
    cr_assert(!s->report.quiet);
}

Test(config, defaults_from_init)
{
    gc_spec spec;
    memset(&spec, 0xa5, sizeof spec);
    gc_spec_init(&spec);
    assert_defaults(&spec);
    cr_assert_str_eq(spec.path, "");
}

Test(config, names)
{
    cr_assert_str_eq(gc_activation_name(GC_ACT_IDENTITY), "identity");
    cr_assert_str_eq(gc_activation_name(GC_ACT_SIGMOID), "sigmoid");
    cr_assert_str_eq(gc_activation_name(GC_ACT_TANH), "tanh");
    cr_assert_str_eq(gc_activation_name(GC_ACT_RELU), "relu");
    cr_assert_str_eq(gc_activation_name(GC_ACT_LEAKY_RELU), "leaky-relu");
    cr_assert_str_eq(gc_activation_name(GC_ACT_SOFTMAX), "softmax");
    cr_assert_str_eq(gc_loss_name(GC_LOSS_MSE), "mse");
    cr_assert_str_eq(gc_loss_name(GC_LOSS_CROSS_ENTROPY), "cross-entropy");
    cr_assert_str_eq(gc_loss_name(GC_LOSS_BINARY_CROSS_ENTROPY),
                     "binary-cross-entropy");
}

Test(config, empty_file_gives_defaults)
{
    gc_spec spec;
    gc_error err;
    cr_assert_eq(gc_config_load(FIXTURES "empty.cfg", &spec, &err), GC_OK,
                 "%s", err.message);
    assert_defaults(&spec);
    cr_assert_str_eq(spec.path, FIXTURES "empty.cfg");
    cr_assert_eq(err.code, GC_OK);
}

Test(config, comments_and_blank_lines_give_defaults)
{
    gc_spec spec = parse_ok("; a comment\n# another\n\n   \n[data]\n\n"
                            "[report]\t; nothing set\n");
    assert_defaults(&spec);
}

/* ---- a full config -------------------------------------------------- */

Test(config, full_config_round_trips)
{
    gc_spec s;
    gc_error err;
    const gc_data_spec *d = &s.data;
    const gc_network_spec *n = &s.network;

    cr_assert_eq(gc_config_load(FIXTURES "full.cfg", &s, &err), GC_OK,
                 "%s", err.message);
    cr_assert_str_eq(s.path, FIXTURES "full.cfg");

    cr_assert_eq(d->source, GC_SOURCE_CSV);
    cr_assert_str_eq(d->train_images, FIXTURES "data/train-images.gz");
    cr_assert_str_eq(d->train_labels, FIXTURES "data/train-labels.gz");
    cr_assert_str_eq(d->test_images, "/srv/gradcheck/test-images");
    cr_assert_str_eq(d->test_labels, FIXTURES "data/test-labels.gz");
    cr_assert_str_eq(d->csv, FIXTURES "../shared/iris.csv");
    cr_assert_eq(d->line_of_train_images, 8);
    cr_assert_eq(d->line_of_train_labels, 9);
    cr_assert_eq(d->line_of_test_images, 10);
    cr_assert_eq(d->line_of_test_labels, 11);
    cr_assert_eq(d->line_of_csv, 12);
    cr_assert_eq(d->label_column, 4);
    cr_assert(!d->csv_header);
    cr_assert_eq(d->synthetic, GC_SYNTH_SPIRALS);
    cr_assert_eq(d->synthetic_samples, 600);
    cr_assert_eq(d->synthetic_classes, 3);
    cr_assert(d->synthetic_noise == 0.25);
    cr_assert_eq(d->scale, GC_SCALE_STANDARDIZE);
    cr_assert(d->scale_divisor == 2.5);
    cr_assert_eq(d->limit, 5000);
    cr_assert_eq(d->test_limit, 1000);
    cr_assert(d->test_split == 0.2);

    cr_assert_eq(n->inputs, 4);
    cr_assert_eq(n->layer_count, 4);
    cr_assert_eq(n->layers[0].width, 16);
    cr_assert_eq(n->layers[0].activation, GC_ACT_TANH);
    cr_assert_eq(n->layers[1].width, 8);
    cr_assert_eq(n->layers[1].activation, GC_ACT_RELU);
    cr_assert_eq(n->layers[2].width, 4);
    cr_assert_eq(n->layers[2].activation, GC_ACT_LEAKY_RELU);
    cr_assert_eq(n->layers[3].width, 3);
    cr_assert_eq(n->layers[3].activation, GC_ACT_IDENTITY);
    cr_assert_eq(n->init, GC_INIT_CONSTANT);
    cr_assert(n->init_scale == -0.5);
    cr_assert(n->bias_init == 0.01);
    cr_assert_eq(n->seed, UINT64_MAX);

    cr_assert_eq(s.loss, GC_LOSS_BINARY_CROSS_ENTROPY);

    cr_assert(s.training.learning_rate == 0.05);
    cr_assert_eq(s.training.batch_size, 8);
    cr_assert_eq(s.training.steps, 250);
    cr_assert_eq(s.training.epochs, 3);
    cr_assert(!s.training.shuffle);
    cr_assert_eq(s.training.seed, 42);

    cr_assert_eq(s.as_written.softmax_derivative,
                 GC_SOFTMAX_DERIV_ELEMENTWISE);
    cr_assert(!s.as_written.softmax_subtract_max);
    cr_assert(s.as_written.derivative_at_activation);
    cr_assert(s.as_written.output_delta_skips_activation);
    cr_assert(s.as_written.weight_gradient_from_output);
    cr_assert(s.as_written.no_bias_gradient);
    cr_assert(s.as_written.batch_sum);
    cr_assert(s.as_written.update_ascent);
    cr_assert(s.as_written.log_unclamped);
    cr_assert(s.as_written.weight_gradient_transposed);

    cr_assert(!s.checks.every_step);
    cr_assert_eq(s.checks.full_every, 50);
    cr_assert_eq(s.checks.sample, 20);
    cr_assert_eq(s.checks.method, GC_METHOD_PREACTIVATION);
    cr_assert(s.checks.step_scale == 2.0);
    cr_assert(s.checks.pass_below == 1e-7);
    cr_assert(s.checks.fail_above == 1e-3);
    cr_assert(!s.checks.traps);
    cr_assert_eq(s.checks.drift_window, 10);

    /* The report path is relative to the current directory, not the
     * config, so it is kept as written. */
    cr_assert_str_eq(s.report.json, "out/run.jsonl");
    cr_assert_eq(s.report.histogram_bins, 64);
    cr_assert(s.report.quiet);
}

Test(config, documented_example_loads)
{
    gc_spec s;
    gc_error err;
    cr_assert_eq(gc_config_load(FIXTURES "fashion-softmax.cfg", &s, &err),
                 GC_OK, "%s", err.message);
    cr_assert_eq(s.data.source, GC_SOURCE_IDX);
    cr_assert_str_eq(s.data.train_images,
                     FASHION "train-images-idx3-ubyte.gz");
    cr_assert_eq(s.network.inputs, 784);
    cr_assert_eq(s.network.layer_count, 2);
    cr_assert_eq(s.network.layers[1].activation, GC_ACT_SOFTMAX);
    cr_assert_eq(s.loss, GC_LOSS_MSE);
    cr_assert(s.training.learning_rate == 0.5);
    cr_assert_eq(s.training.batch_size, 1);
    cr_assert_eq(s.as_written.softmax_derivative,
                 GC_SOFTMAX_DERIV_ELEMENTWISE);
    cr_assert(!s.as_written.softmax_subtract_max);
}

/* Reads a whole small file into a new string; the caller frees it. */
static char *read_text(const char *path)
{
    FILE *file = fopen(path, "rb");
    char *text;
    long size;
    cr_assert_not_null(file, "cannot open %s", path);
    cr_assert_eq(fseek(file, 0, SEEK_END), 0);
    size = ftell(file);
    cr_assert(size >= 0);
    rewind(file);
    text = malloc((size_t)size + 1);
    cr_assert_not_null(text);
    cr_assert_eq(fread(text, 1, (size_t)size, file), (size_t)size);
    text[size] = '\0';
    fclose(file);
    return text;
}

Test(config, documented_example_matches_fixture)
{
    /* docs/config.md quotes fixtures/config/fashion-softmax.cfg; the two
     * must not drift apart. */
    static const char open_fence[] = "```ini\n";
    char *doc = read_text(GC_SOURCE_DIR "/docs/config.md");
    char *cfg = read_text(FIXTURES "fashion-softmax.cfg");
    char *start = strstr(doc, open_fence);
    cr_assert_not_null(start, "docs/config.md has no ```ini block");
    start += sizeof open_fence - 1;
    char *end = strstr(start, "```");
    cr_assert_not_null(end);
    *end = '\0';
    cr_assert_str_eq(start, cfg);
    free(doc);
    free(cfg);
}

Test(config, syntax_variants)
{
    /* A byte order mark, CRLF line ends, indentation, "key: value",
     * inline comments, blanks in a section header, case in values. */
    gc_spec s = parse_ok("\xef\xbb\xbf[ training ]\r\n"
                         "  learning_rate = 0.25 ; a comment\r\n"
                         "\tbatch_size: 4\r\n"
                         "shuffle = Off\r\n"
                         "[loss]\n"
                         "type = MSE\n"
                         "[report]\n"
                         "json = a;b.jsonl\n"
                         "[network]\n"
                         "layers = 3 : ReLU ,2:Softmax\n");
    cr_assert(s.training.learning_rate == 0.25);
    cr_assert_eq(s.training.batch_size, 4);
    cr_assert(!s.training.shuffle);
    cr_assert_eq(s.loss, GC_LOSS_MSE);
    /* ';' starts a comment only after a blank. */
    cr_assert_str_eq(s.report.json, "a;b.jsonl");
    cr_assert_eq(s.network.layer_count, 2);
    cr_assert_eq(s.network.layers[0].width, 3);
    cr_assert_eq(s.network.layers[0].activation, GC_ACT_RELU);
    cr_assert_eq(s.network.layers[1].activation, GC_ACT_SOFTMAX);
}

Test(config, every_boolean_spelling)
{
    static const char *const yes[] = { "true", "yes", "on", "1", "TRUE" };
    static const char *const no[] = { "false", "no", "off", "0", "No" };
    char text[128];
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        snprintf(text, sizeof text, "[report]\nquiet = %s\n", yes[i]);
        cr_assert(parse_ok(text).report.quiet, "%s", yes[i]);
        snprintf(text, sizeof text, "[checks]\ntraps = %s\n", no[i]);
        cr_assert(!parse_ok(text).checks.traps, "%s", no[i]);
    }
}

Test(config, range_edges_are_accepted)
{
    gc_spec s = parse_ok("[data]\nlabel_column = -1\ntest_split = 0\n"
                         "source = csv\ncsv = x.csv\n"
                         "[report]\nhistogram_bins = 1000\n"
                         "[checks]\npass_below = 1e-4\nfail_above = 1e-4\n"
                         "[training]\nseed = 0\n");
    cr_assert_eq(s.data.label_column, -1);
    cr_assert_eq(s.report.histogram_bins, 1000);
    cr_assert(s.checks.pass_below == s.checks.fail_above);
    cr_assert_eq(parse_ok("[report]\nhistogram_bins = 1\n")
                 .report.histogram_bins, 1);
    cr_assert_eq(parse_ok("[network]\nlayers = 100000:identity\n")
                 .network.layers[0].width, 100000);
    cr_assert_eq(parse_ok("[data]\ntest_images =\ntest_labels =\n"
                          "test_split = 0.999\n").data.test_images[0], '\0');
}

Test(config, sixteen_layers_are_accepted)
{
    char text[512] = "[network]\nlayers = ";
    for (int i = 0; i < GC_MAX_LAYERS; i++)
        strcat(text, i + 1 < GC_MAX_LAYERS ? "5:tanh," : "2:softmax\n");
    cr_assert_eq(parse_ok(text).network.layer_count, GC_MAX_LAYERS);
}

/* ---- relative paths --------------------------------------------------- */

Test(config, relative_paths_follow_the_config_directory)
{
    gc_spec s = parse_ok("[data]\ntrain_images = img.gz\n");
    /* "ok.cfg" has no directory part: the path stays as written. */
    cr_assert_str_eq(s.data.train_images, "img.gz");

    gc_error err;
    cr_assert_eq(gc_config_parse_string("[data]\ntrain_images = img.gz\n"
                                        "csv = ../c.csv\n"
                                        "test_images = /abs/t.gz\n"
                                        "[report]\njson = r.jsonl\n",
                                        "runs/a/run.cfg", &s, &err), GC_OK);
    cr_assert_str_eq(s.path, "runs/a/run.cfg");
    cr_assert_str_eq(s.data.train_images, "runs/a/img.gz");
    cr_assert_str_eq(s.data.csv, "runs/a/../c.csv");
    cr_assert_str_eq(s.data.test_images, "/abs/t.gz");
    cr_assert_str_eq(s.report.json, "r.jsonl");
    cr_assert_eq(s.data.line_of_train_images, 2);
    cr_assert_eq(s.data.line_of_csv, 3);
    cr_assert_eq(s.data.line_of_test_images, 4);
    cr_assert_eq(s.data.line_of_train_labels, 0);

    cr_assert_eq(gc_config_parse_string("[data]\ncsv = c.csv\n", NULL, &s,
                                        &err), GC_OK);
    cr_assert_str_eq(s.data.csv, "c.csv");
    cr_assert_str_eq(s.path, "<string>");
}

Test(config, joined_path_too_long)
{
    char name[GC_PATH_MAX];
    gc_spec s;
    gc_error err;
    memset(name, 'd', sizeof name - 20);
    snprintf(name + sizeof name - 20, 20, "/x.cfg");
    /* A 30-character value fits on a line but not after the long
     * directory is put in front of it. */
    cr_assert_eq(gc_config_parse_string(
                     "[data]\ncsv = abcdefghijklmnopqrstuvwxyz.csv\n",
                     name, &s, &err), GC_ECONFIG);
    assert_has(err.message,
               "d/x.cfg:2: [data] csv: expected a path of at most");
}

/* ---- unknown names and malformed lines -------------------------------- */

Test(config, unknown_key)
{
    expect_error("[data]\nsource = idx\nsourse = csv\n",
                 "bad.cfg:3:", "unknown key 'sourse' in [data]",
                 "expected one of: source, train_images", NULL);
}

Test(config, unknown_key_from_file)
{
    gc_spec s;
    gc_error err;
    cr_assert_eq(gc_config_load(FIXTURES "bad-unknown-key.cfg", &s, &err),
                 GC_ECONFIG);
    assert_has(err.message, "bad-unknown-key.cfg:5:");
    assert_has(err.message, "unknown key 'batchsize' in [training]");
    assert_has(err.message, "batch_size");
    /* A failed load leaves the defaults, with the path for messages. */
    assert_defaults(&s);
    assert_has(s.path, "bad-unknown-key.cfg");
}

Test(config, unknown_section)
{
    expect_error("[data]\nlimit = 1\n[optimizer]\nmomentum = 0.9\n",
                 "bad.cfg:3:", "unknown section [optimizer]",
                 "expected one of: data, network, loss, training, "
                 "as-written, checks, report", NULL);
    /* Reported even when the section has no keys. */
    expect_error("[foo]\n", "bad.cfg:1:", "unknown section [foo]", NULL);
    expect_error("[Network]\n", "bad.cfg:1:", "unknown section [Network]",
                 "names are lower-case: [network]", NULL);
}

Test(config, key_outside_section)
{
    expect_error("limit = 5\n", "bad.cfg:1:", "key 'limit'",
                 "before any section", NULL);
}

Test(config, malformed_lines)
{
    expect_error("[data]\nsource idx\n", "bad.cfg:2:",
                 "expected 'key = value', '[section]' or a comment",
                 "got 'source idx'", NULL);
    expect_error("[data\nsource = idx\n", "bad.cfg:1:",
                 "expected a section header '[name]', got '[data'", NULL);
    expect_error("[data] extra\n", "bad.cfg:1:",
                 "expected nothing after ']'", NULL);
    expect_error("[data]\n= idx\n", "bad.cfg:2:",
                 "expected a key name before '='", NULL);
    /* The comment hides the '=' (inline comments start with " ;"). */
    expect_error("[data]\nsource ; = idx\n", "bad.cfg:2:",
                 "got 'source'", NULL);
}

Test(config, duplicate_key)
{
    expect_error("[training]\nbatch_size = 1\nsteps = 4\n[training]\n"
                 "batch_size = 2\n", "bad.cfg:5:", "[training] batch_size",
                 "expected each key once", "got a second value '2'",
                 "first set on line 2", NULL);
}

Test(config, same_key_name_in_two_sections_is_not_a_duplicate)
{
    gc_spec s = parse_ok("[network]\nseed = 7\n[training]\nseed = 9\n");
    cr_assert_eq(s.network.seed, 7);
    cr_assert_eq(s.training.seed, 9);
}

/* ---- values ------------------------------------------------------------- */

Test(config, bad_choices)
{
    expect_error("[data]\nsource = hdf5\n", "bad.cfg:2:", "[data] source",
                 "expected one of: idx, csv, synthetic", "got 'hdf5'", NULL);
    expect_error("[loss]\ntype = hinge\n", "bad.cfg:2:", "[loss] type",
                 "expected one of: mse, cross-entropy, "
                 "binary-cross-entropy", NULL);
    expect_error("[checks]\nmethod = \n", "[checks] method",
                 "expected one of: auto, preactivation, parameter",
                 "got ''", NULL);
    expect_error("[as-written]\nsoftmax_derivative = diagonal\n",
                 "bad.cfg:2:", "[as-written] softmax_derivative",
                 "expected one of: jacobian, elementwise", NULL);
}

Test(config, bad_booleans)
{
    expect_error("[training]\nshuffle = maybe\n", "bad.cfg:2:",
                 "[training] shuffle", "expected a boolean", "got 'maybe'",
                 NULL);
    expect_error("[report]\nquiet = 2\n", "[report] quiet",
                 "expected a boolean", NULL);
    expect_error("[as-written]\nbatch_sum =\n", "[as-written] batch_sum",
                 "got ''", NULL);
}

Test(config, bad_integers)
{
    expect_error("[training]\nbatch_size = +5\n", "bad.cfg:2:",
                 "[training] batch_size", "expected a whole number >= 1",
                 "got '+5'", NULL);
    expect_error("[data]\nlimit = -3\n", "[data] limit",
                 "expected a whole number >= 0", "got '-3'", NULL);
    expect_error("[data]\nlimit = 12abc\n", "[data] limit", "got '12abc'",
                 NULL);
    expect_error("[data]\nlimit = 1e3\n", "[data] limit", NULL);
    expect_error("[data]\nlimit = 0x10\n", "[data] limit", NULL);
    expect_error("[data]\nlimit = 1 000\n", "[data] limit", NULL);
    expect_error("[training]\nsteps = 99999999999999999999999\n",
                 "[training] steps", "fits in 64 bits", NULL);
    expect_error("[network]\nseed = 18446744073709551616\n",
                 "[network] seed", "fits in 64 bits", NULL);
    expect_error("[data]\nlabel_column = 2147483648\n",
                 "[data] label_column", NULL);
    expect_error("[data]\nlabel_column = --1\n", "[data] label_column",
                 NULL);
}

Test(config, bad_doubles)
{
    static const char *const bad[] = {
        "nan", "NaN", "inf", "-inf", "infinity", "1e999", "1e-400",
        "0.1.2", "0.1x", "", "- 1", "0,5"
    };
    char text[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "[training]\nlearning_rate = %s\n",
                 bad[i]);
        expect_error(text, "bad.cfg:2:", "[training] learning_rate",
                     "expected a finite number > 0", NULL);
    }
}

Test(config, numbers_out_of_range)
{
    expect_error("[training]\nlearning_rate = 0\n", "bad.cfg:2:",
                 "[training] learning_rate", "expected a finite number > 0",
                 "got '0'", NULL);
    expect_error("[training]\nlearning_rate = -0.1\n",
                 "[training] learning_rate", "got '-0.1'", NULL);
    expect_error("[training]\nbatch_size = 0\n", "[training] batch_size",
                 "expected a whole number >= 1", NULL);
    expect_error("[data]\ntest_split = 1\n", "[data] test_split",
                 "expected a number in [0, 1)", NULL);
    expect_error("[data]\ntest_split = -0.1\n", "[data] test_split", NULL);
    expect_error("[data]\nclasses = 1\n", "[data] classes",
                 "from 2 to 1000", NULL);
    expect_error("[data]\nlabel_column = -2\n", "[data] label_column",
                 "-1 for the last column", NULL);
    expect_error("[data]\nscale_divisor = 0\n", "[data] scale_divisor",
                 "> 0", NULL);
    expect_error("[data]\nnoise = -1\n", "[data] noise", ">= 0", NULL);
    expect_error("[data]\nsamples = 0\n", "[data] samples", ">= 1", NULL);
    expect_error("[checks]\nstep_scale = 0\n", "[checks] step_scale", NULL);
    expect_error("[checks]\npass_below = 0\n", "[checks] pass_below",
                 "expected a number in (0, 1)", NULL);
    expect_error("[checks]\nfail_above = 1\n", "[checks] fail_above",
                 "expected a number in (0, 1)", NULL);
    expect_error("[checks]\ndrift_window = 0\n", "[checks] drift_window",
                 ">= 1", NULL);
    expect_error("[report]\nhistogram_bins = 0\n", "bad.cfg:2:",
                 "[report] histogram_bins", "from 1 to 1000", NULL);
    expect_error("[report]\nhistogram_bins = 1001\n",
                 "[report] histogram_bins", "got '1001'", NULL);
}

/* ---- [checks] difference and threads ------------------------------------ */

Test(config, every_difference_scheme_is_accepted)
{
    static const struct {
        const char *text;
        gc_difference value;
    } schemes[] = {
        {"central", GC_DIFFERENCE_CENTRAL},
        {"richardson", GC_DIFFERENCE_RICHARDSON},
        {"complex-step", GC_DIFFERENCE_COMPLEX},
    };
    char text[128];
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        snprintf(text, sizeof text, "[checks]\ndifference = %s\n",
                 schemes[i].text);
        cr_assert_eq(parse_ok(text).checks.difference, schemes[i].value,
                     "%s", schemes[i].text);
        /* an inline comment and spaces around the value are not part
         * of it */
        snprintf(text, sizeof text,
                 "[checks]\ndifference =   %s   ; the scheme\n",
                 schemes[i].text);
        cr_assert_eq(parse_ok(text).checks.difference, schemes[i].value,
                     "%s with a comment", schemes[i].text);
    }
    /* choice values ignore case (docs/config.md), like `type = MSE` */
    cr_assert_eq(parse_ok("[checks]\ndifference = Complex-Step\n")
                 .checks.difference, GC_DIFFERENCE_COMPLEX);
    cr_assert_eq(parse_ok("[checks]\ndifference = RICHARDSON\n")
                 .checks.difference, GC_DIFFERENCE_RICHARDSON);
    /* the default is central, and a later key does not disturb it */
    cr_assert_eq(parse_ok("[checks]\nthreads = 2\n").checks.difference,
                 GC_DIFFERENCE_CENTRAL);
}

Test(config, bad_difference_schemes)
{
    static const char *const bad[] = {
        "forward", "complex", "complex_step", "richardson2", "centra",
        "central richardson", "",
    };
    char text[128], got[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "[checks]\nfail_above = 1e-4\n"
                 "difference = %s\n", bad[i]);
        snprintf(got, sizeof got, "got '%s'", bad[i]);
        expect_error(text, "bad.cfg:3:", "[checks] difference",
                     "expected one of: central, richardson, complex-step",
                     got, NULL);
    }
    /* a key of [checks] is not a key of another section */
    expect_error("[training]\ndifference = central\n", "bad.cfg:2:",
                 "unknown key 'difference' in [training]", NULL);
}

Test(config, thread_counts_are_accepted)
{
    static const size_t counts[] = {0, 1, 2, 8, 1023, 1024};
    char text[64];
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        snprintf(text, sizeof text, "[checks]\nthreads = %zu\n",
                 counts[i]);
        cr_assert_eq(parse_ok(text).checks.threads, counts[i], "%zu",
                     counts[i]);
    }
    gc_spec s = parse_ok("[checks]\nthreads = 4\ndifference = richardson\n");
    cr_assert_eq(s.checks.threads, 4);
    cr_assert_eq(s.checks.difference, GC_DIFFERENCE_RICHARDSON);
}

Test(config, bad_thread_counts)
{
    static const char *const bad[] = {
        "1025", "-1", "+2", "2.5", "1e2", "0x4", "four", "", "4 threads",
        "99999999999999999999999",
    };
    char text[128], got[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "[checks]\n\nthreads = %s\n", bad[i]);
        snprintf(got, sizeof got, "got '%s'", bad[i]);
        expect_error(text, "bad.cfg:3:", "[checks] threads", got, NULL);
    }
    /* the message says which numbers would do, for an out-of-range
     * value and for one that is not a whole number */
    expect_error("[checks]\nthreads = 1025\n", "[checks] threads",
                 "expected a whole number from 0 to 1024 (0 = every core)",
                 NULL);
    expect_error("[checks]\nthreads = 2.5\n", "[checks] threads",
                 "expected a whole number from 0 to 1024", NULL);
}

/* The command line turns either error into exit status 2 with the
 * reader's message, prefixed "gradcheck: ", on standard error, and no
 * report on standard output. */
Test(config, cli_exits_2_on_a_bad_difference_or_thread_count)
{
    static const struct {
        const char *text, *fragment;
    } cases[] = {
        {"[checks]\ndifference = forward\n",
         ":2: [checks] difference: expected one of: central, richardson, "
         "complex-step, got 'forward'"},
        {"[training]\nsteps = 1\n[checks]\nthreads = 2000\n",
         ":4: [checks] threads: expected a whole number from 0 to 1024 "
         "(0 = every core), got '2000'"},
    };
    char dir[4096], path[4096];
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(path, sizeof path, dir, "bad.cfg");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gc_cli_write(path, cases[i].text);
        const char *const commands[][3] = {
            {path, NULL, NULL}, {"trace", path, NULL},
            {"sweep", path, NULL},
        };
        for (size_t c = 0; c < 3; c++) {
            gc_cli_result r;
            gc_cli_run(&r, dir, commands[c]);
            cr_assert_eq(r.status, 2, "case %zu, command %zu: status %d",
                         i, c, r.status);
            assert_has(r.err, "gradcheck: ");
            assert_has(r.err, path);
            assert_has(r.err, cases[i].fragment);
            cr_assert_str_eq(r.out, "", "case %zu, command %zu", i, c);
            gc_cli_result_free(&r);
        }
    }
    gc_cli_dir_remove(dir);
}

/* ---- the layer list ----------------------------------------------------- */

Test(config, bad_layer_lists)
{
    expect_error("[network]\nlayers = 100:sigmoid, 10\n", "bad.cfg:2:",
                 "[network] layers", "expected width:activation for layer 2",
                 "got '10'", NULL);
    expect_error("[network]\nlayers = 100:sigmod\n", "[network] layers",
                 "expected an activation (identity, sigmoid, tanh, relu, "
                 "leaky-relu, softmax) for layer 1", "got 'sigmod'", NULL);
    expect_error("[network]\nlayers = 0:relu\n", "[network] layers",
                 "expected a width from 1 to 100000 for layer 1",
                 "got '0'", NULL);
    expect_error("[network]\nlayers = 100001:relu\n", "[network] layers",
                 "expected a width from 1 to 100000", NULL);
    expect_error("[network]\nlayers = ten:relu\n", "got 'ten'", NULL);
    expect_error("[network]\nlayers = -5:relu\n", "got '-5'", NULL);
    expect_error("[network]\nlayers = 10:relu,\n",
                 "expected width:activation for layer 2", "got ''", NULL);
    expect_error("[network]\nlayers =\n",
                 "expected width:activation for layer 1", NULL);
    expect_error("[network]\nlayers = 10:\n", "expected an activation",
                 NULL);
    expect_error("[network]\nlayers = 1:relu,,2:relu\n", "layer 2", NULL);

    char text[512] = "[network]\nlayers = ";
    for (int i = 0; i <= GC_MAX_LAYERS; i++)
        strcat(text, i < GC_MAX_LAYERS ? "5:tanh," : "2:softmax\n");
    expect_error(text, "bad.cfg:2:", "[network] layers",
                 "expected at most 16 layers", NULL);
}

Test(config, softmax_in_hidden_layer)
{
    expect_error("[network]\nlayers = 10:relu, 10:softmax, 3:identity\n",
                 "bad.cfg:2:", "[network] layers",
                 "expected softmax only on the last layer",
                 "softmax on layer 2 of 3", NULL);

    gc_spec s;
    gc_error err;
    cr_assert_eq(gc_config_load(FIXTURES "bad-softmax-hidden.cfg", &s,
                                &err), GC_ECONFIG);
    assert_has(err.message, "bad-softmax-hidden.cfg:3: [network] layers:");
    assert_has(err.message, "softmax only on the last layer");
}

/* ---- rules across keys --------------------------------------------------- */

Test(config, idx_needs_both_training_files)
{
    expect_error("[data]\nsource = idx\ntrain_labels =\n", "bad.cfg:3:",
                 "[data] train_labels",
                 "expected a file name when source = idx", "got ''", NULL);
    expect_error("[data]\ntrain_images =\n", "bad.cfg:2:",
                 "[data] train_images", NULL);
}

Test(config, test_files_come_in_pairs)
{
    expect_error("[data]\n\ntest_images =\n", "bad.cfg:3:",
                 "[data] test_labels", "both set or both empty", NULL);
    expect_error("[data]\ntest_images =\ntest_labels =\ntest_split = 0.1\n"
                 "test_images = x\n", "bad.cfg:5:", "expected each key once",
                 NULL);
}

Test(config, test_split_with_test_files)
{
    expect_error("[data]\nlimit = 10\ntest_split = 0.2\n", "bad.cfg:3:",
                 "[data] test_split", "expected 0 when test files are given",
                 "got '0.2'", NULL);
    /* Test files only matter for IDX data. */
    parse_ok("[data]\nsource = synthetic\ntest_split = 0.2\n");
}

Test(config, csv_needs_a_file)
{
    expect_error("[data]\nlimit = 3\nsource = csv\n", "bad.cfg:3:",
                 "[data] csv", "expected a file name when source = csv",
                 NULL);
}

Test(config, xor_has_two_classes)
{
    expect_error("[data]\nsource = synthetic\nclasses = 4\n", "bad.cfg:3:",
                 "[data] classes", "expected 2 when synthetic = xor",
                 "got '4'", NULL);
    cr_assert_eq(parse_ok("[data]\nsource = synthetic\nsynthetic = blobs\n"
                          "classes = 4\n").data.synthetic_classes, 4);
}

Test(config, negative_init_scale_only_for_constant)
{
    expect_error("[network]\ninit = he\ninit_scale = -1\n", "bad.cfg:3:",
                 "[network] init_scale",
                 "expected a number >= 0 when init = he", "got '-1'", NULL);
}

Test(config, steps_and_epochs_both_zero)
{
    expect_error("[training]\nepochs = 0\n", "bad.cfg:2:",
                 "[training] epochs", "expected at least 1 when steps = 0",
                 NULL);
    cr_assert_eq(parse_ok("[training]\nepochs = 0\nsteps = 10\n")
                 .training.steps, 10);
}

Test(config, inconsistent_bands)
{
    expect_error("[checks]\npass_below = 1e-3\nfail_above = 1e-5\n",
                 "bad.cfg:3:", "[checks] fail_above",
                 "expected a number >= pass_below (0.001, line 2)",
                 "got '1e-05'", NULL);
    expect_error("[checks]\nfail_above = 1e-7\n", "bad.cfg:2:",
                 "[checks] fail_above", "(1e-06, the default)", NULL);
    expect_error("[checks]\n\npass_below = 0.5\n", "bad.cfg:3:",
                 "[checks] pass_below",
                 "expected a number <= fail_above (0.0001, the default)",
                 NULL);
}

/* ---- files and hostile input -------------------------------------------- */

Test(config, missing_file)
{
    gc_spec s;
    gc_error err;
    cr_assert_eq(gc_config_load(FIXTURES "no-such-file.cfg", &s, &err),
                 GC_ECONFIG);
    assert_has(err.message, "no-such-file.cfg");
    assert_has(err.message, "cannot open config file");
    assert_has(err.message, "No such file or directory");
}

Test(config, directory_is_not_a_config)
{
    gc_spec s;
    gc_error err;
    gc_status status = gc_config_load(FIXTURES, &s, &err);
    cr_assert(status == GC_EIO || status == GC_ECONFIG, "status %d", status);
    assert_has(err.message, "config file");
}

Test(config, null_arguments)
{
    gc_spec s;
    gc_error err;
    cr_assert_eq(gc_config_load(NULL, &s, &err), GC_EINVAL);
    cr_assert_eq(gc_config_load("x.cfg", NULL, &err), GC_EINVAL);
    cr_assert_eq(gc_config_parse_string(NULL, "x", &s, &err), GC_EINVAL);
    /* err may be NULL: the status alone still tells what happened. */
    cr_assert_eq(gc_config_parse_string("[x]\n", "x", &s, NULL), GC_ECONFIG);
}

Test(config, nul_byte_in_file)
{
    static const char bytes[] = "[data]\nlimit = 1\nsou\0rce = idx\n";
    char path[64];
    gc_spec s;
    gc_error err;
    write_temp(path, sizeof path, bytes, sizeof bytes - 1);
    gc_status status = gc_config_load(path, &s, &err);
    remove(path);
    cr_assert_eq(status, GC_ECONFIG);
    assert_has(err.message, path);
    assert_has(err.message, ":3: expected text, got a NUL byte");
}

Test(config, binary_junk_file)
{
    unsigned char bytes[4096];
    uint64_t state = 12345;
    char path[64];
    gc_spec s;
    gc_error err;
    /* Seeded junk from a linear congruential generator (Knuth's MMIX
     * constants), without NUL bytes so that the line parser sees it. */
    for (size_t i = 0; i < sizeof bytes; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        bytes[i] = (unsigned char)(1 + (state >> 33) % 255);
    }
    write_temp(path, sizeof path, bytes, sizeof bytes);
    gc_status status = gc_config_load(path, &s, &err);
    remove(path);
    cr_assert_eq(status, GC_ECONFIG);
    assert_has(err.message, path);
}

Test(config, long_lines)
{
    /* inih hands over at most 199 characters a line; longer key lines are
     * an error with the line number, longer comments are fine. */
    enum { COMMENT = 100000, VALUE = 300 };
    char *text = malloc(COMMENT + VALUE + 64);
    size_t at = 0;
    cr_assert_not_null(text);
    at += (size_t)sprintf(text + at, "[data]\n; ");
    memset(text + at, 'c', COMMENT);
    at += COMMENT;
    at += (size_t)sprintf(text + at, "\ncsv = ");
    memset(text + at, 'x', VALUE);
    at += VALUE;
    strcpy(text + at, "\n");
    /* "csv = " and the value: 6 + 300 characters. */
    expect_error(text, "bad.cfg:3:", "expected a line of at most 199",
                 "got 306", NULL);
    free(text);
}

Test(config, mutated_configs_never_crash)
{
    /* Deterministic mutations of a valid config: every outcome must be
     * success or a config error whose message starts with the file name.
     * ASan/UBSan catch any out-of-bounds access along the way. */
    static const char base[] =
        "[data]\nsource = synthetic\nsamples = 200\n"
        "[network]\nlayers = 8:tanh, 2:softmax\ninit = xavier\n"
        "[training]\nlearning_rate = 0.1\nsteps = 5\n"
        "[checks]\npass_below = 1e-6 ; inline\n[report]\njson = r.jsonl\n";
    static const char alphabet[] = "[]=:;#, \t\r\n-+.e0123456789azAZ\x80\xff";
    char text[sizeof base + 64];
    uint64_t state = 2024;

    for (int round = 0; round < 5000; round++) {
        size_t len = sizeof base - 1;
        memcpy(text, base, sizeof base);
        for (int edit = 0; edit < 1 + round % 6; edit++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            size_t at = (size_t)(state >> 33) % len;
            char c = alphabet[(state >> 20) % (sizeof alphabet - 1)];
            switch ((state >> 8) % 3) {
            case 0:  /* replace */
                text[at] = c;
                break;
            case 1:  /* insert */
                if (len + 1 < sizeof text) {
                    memmove(text + at + 1, text + at, len - at + 1);
                    text[at] = c;
                    len++;
                }
                break;
            default: /* cut the rest */
                text[at] = '\0';
                len = at > 0 ? at : 1;
                text[len] = '\0';
                break;
            }
        }
        gc_spec s;
        gc_error err;
        gc_status status = gc_config_parse_string(text, "m.cfg", &s, &err);
        cr_assert(status == GC_OK || status == GC_ECONFIG,
                  "round %d: status %d", round, status);
        if (status != GC_OK)
            cr_assert(strncmp(err.message, "m.cfg:", 6) == 0,
                      "round %d: %s", round, err.message);
    }
}
