/* config.c - an INI config file into a gc_spec (keys: docs/config.md).
 *
 * Three stages, each stopping at the first error:
 *   1. read_line() hands inih one physical line at a time.  It counts lines
 *      (Debian's inih is built without INI_HANDLER_LINENO), removes
 *      comments and indentation, and rejects what inih would misread or
 *      skip silently: NUL bytes, over-long lines, a section header that is
 *      unknown or lacks ']', a line with neither '=' nor ':'.
 *   2. on_value() looks each key up in the table below, rejects unknown and
 *      duplicate keys, and parses the value with its range.
 *   3. check_spec() applies the rules that involve more than one key.
 * Every message names the file and line, the section and key, what was
 * expected and what was found.
 */
#include "config.h"
#include "expect.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The widest layer accepted.  Wider is almost surely a typo, and a 784 x
 * 100000 weight matrix already takes 600 MiB. */
#define GC_LAYER_WIDTH_MAX 100000

/* How much of a bad value a message quotes; each byte may become "\xNN". */
#define GC_SHOW_BYTES 60
#define GC_SHOW_MAX (GC_SHOW_BYTES * 4 + 4)

/* ---- the sections and keys ------------------------------------------- */

typedef enum {
    GC_SECTION_DATA,
    GC_SECTION_NETWORK,
    GC_SECTION_LOSS,
    GC_SECTION_TRAINING,
    GC_SECTION_AS_WRITTEN,
    GC_SECTION_CHECKS,
    GC_SECTION_REPORT,
    GC_SECTION_EXPECT,
    GC_SECTION_MODEL,
    GC_SECTION_COUNT
} gc_config_section;

/* In enum order; NULL-terminated like the other name lists. */
static const char *const section_names[GC_SECTION_COUNT + 1] = {
    "data", "network", "loss", "training", "as-written", "checks", "report",
    "expect", "model", NULL
};

typedef enum {
    GC_VALUE_BOOL,       /* bool */
    GC_VALUE_SIZE,       /* size_t, digits only */
    GC_VALUE_INT,        /* int, optional leading '-' */
    GC_VALUE_SEED,       /* uint64_t, digits only */
    GC_VALUE_DOUBLE,     /* finite double */
    GC_VALUE_DATA_PATH,  /* char[GC_PATH_MAX], relative to the config */
    GC_VALUE_PATH,       /* char[GC_PATH_MAX], kept as written */
    GC_VALUE_CHOICE,     /* an enum, by its name */
    GC_VALUE_LAYERS,     /* the [network] layers list */
    GC_VALUE_FINDINGS    /* the [expect] findings list (expect.c) */
} gc_value_kind;

typedef struct {
    gc_config_section section;
    const char *name;
    gc_value_kind kind;
    size_t offset;               /* offsetof(gc_spec, field) */
    double min, max;             /* numeric range, inclusive unless open */
    bool min_open, max_open;
    const char *const *choices;  /* GC_VALUE_CHOICE: names in enum order */
    const char *expected;        /* what a valid value is; NULL: choices */
} gc_config_key;

/* Names in the order of the enum values they stand for (spec.h). */
static const char *const source_choices[] = {
    "idx", "csv", "synthetic", NULL
};
static const char *const synthetic_choices[] = {
    "xor", "spirals", "blobs", NULL
};
static const char *const scale_choices[] = {
    "none", "divide", "minmax", "standardize", NULL
};
static const char *const init_choices[] = {
    "normal", "uniform", "xavier", "he", "constant", NULL
};
static const char *const loss_choices[] = {
    "mse", "cross-entropy", "binary-cross-entropy", NULL
};
static const char *const softmax_derivative_choices[] = {
    "jacobian", "elementwise", NULL
};
static const char *const model_source_choices[] = {
    "engine", "plugin", "pipe", "snapshot", NULL
};
static const char *const method_choices[] = {
    "auto", "preactivation", "parameter", NULL
};
static const char *const difference_choices[] = {
    "central", "richardson", "complex-step", NULL
};

#define EXPECT_BOOL "a boolean (true/false, yes/no, on/off, 1/0)"

#define KEY_BOOL(sec, key, field)                                           \
    { GC_SECTION_##sec, key, GC_VALUE_BOOL, offsetof(gc_spec, field),       \
      0, 0, false, false, NULL, EXPECT_BOOL }
#define KEY_NUMBER(sec, key, kind, field, lo, hi, lo_open, hi_open, what)   \
    { GC_SECTION_##sec, key, GC_VALUE_##kind, offsetof(gc_spec, field),     \
      lo, hi, lo_open, hi_open, NULL, what }
#define KEY_CHOICE(sec, key, field, names)                                  \
    { GC_SECTION_##sec, key, GC_VALUE_CHOICE, offsetof(gc_spec, field),     \
      0, 0, false, false, names, NULL }
#define KEY_TEXT(sec, key, kind, field, what)                               \
    { GC_SECTION_##sec, key, GC_VALUE_##kind, offsetof(gc_spec, field),     \
      0, 0, false, false, NULL, what }

#define EXPECT_FILE "a file name"

static const gc_config_key keys[] = {
    KEY_CHOICE(DATA, "source", data.source, source_choices),
    KEY_TEXT(DATA, "train_images", DATA_PATH, data.train_images, EXPECT_FILE),
    KEY_TEXT(DATA, "train_labels", DATA_PATH, data.train_labels, EXPECT_FILE),
    KEY_TEXT(DATA, "test_images", DATA_PATH, data.test_images, EXPECT_FILE),
    KEY_TEXT(DATA, "test_labels", DATA_PATH, data.test_labels, EXPECT_FILE),
    KEY_TEXT(DATA, "csv", DATA_PATH, data.csv, EXPECT_FILE),
    KEY_NUMBER(DATA, "label_column", INT, data.label_column,
               -1, INT_MAX, false, false,
               "a column index >= 0, or -1 for the last column"),
    KEY_BOOL(DATA, "header", data.csv_header),
    KEY_CHOICE(DATA, "synthetic", data.synthetic, synthetic_choices),
    KEY_NUMBER(DATA, "samples", SIZE, data.synthetic_samples,
               1, INFINITY, false, false, "a whole number >= 1"),
    KEY_NUMBER(DATA, "classes", INT, data.synthetic_classes,
               2, 1000, false, false, "a whole number from 2 to 1000"),
    KEY_NUMBER(DATA, "noise", DOUBLE, data.synthetic_noise,
               0, INFINITY, false, false, "a finite number >= 0"),
    KEY_CHOICE(DATA, "scale", data.scale, scale_choices),
    KEY_NUMBER(DATA, "scale_divisor", DOUBLE, data.scale_divisor,
               0, INFINITY, true, false, "a finite number > 0"),
    KEY_NUMBER(DATA, "limit", SIZE, data.limit,
               0, INFINITY, false, false, "a whole number >= 0 (0 = all)"),
    KEY_NUMBER(DATA, "test_limit", SIZE, data.test_limit,
               0, INFINITY, false, false, "a whole number >= 0 (0 = all)"),
    KEY_NUMBER(DATA, "test_split", DOUBLE, data.test_split,
               0, 1, false, true, "a number in [0, 1)"),

    KEY_NUMBER(NETWORK, "inputs", SIZE, network.inputs,
               0, INFINITY, false, false,
               "a whole number >= 0 (0 = from the data)"),
    KEY_TEXT(NETWORK, "layers", LAYERS, network.layers,
             "a comma-separated list of width:activation"),
    KEY_CHOICE(NETWORK, "init", network.init, init_choices),
    KEY_NUMBER(NETWORK, "init_scale", DOUBLE, network.init_scale,
               -INFINITY, INFINITY, false, false,
               "a finite number (0 = 1/sqrt(fan_in))"),
    KEY_NUMBER(NETWORK, "bias_init", DOUBLE, network.bias_init,
               -INFINITY, INFINITY, false, false, "a finite number"),
    KEY_NUMBER(NETWORK, "seed", SEED, network.seed,
               0, INFINITY, false, false,
               "a whole number from 0 to 2^64-1 (0 = from [training] seed)"),

    KEY_CHOICE(LOSS, "type", loss, loss_choices),

    KEY_NUMBER(TRAINING, "learning_rate", DOUBLE, training.learning_rate,
               0, INFINITY, true, false, "a finite number > 0"),
    KEY_NUMBER(TRAINING, "batch_size", SIZE, training.batch_size,
               1, INFINITY, false, false, "a whole number >= 1"),
    KEY_NUMBER(TRAINING, "steps", SIZE, training.steps,
               0, INFINITY, false, false,
               "a whole number >= 0 (0 = use epochs)"),
    KEY_NUMBER(TRAINING, "epochs", SIZE, training.epochs,
               0, INFINITY, false, false, "a whole number >= 0"),
    KEY_BOOL(TRAINING, "shuffle", training.shuffle),
    KEY_NUMBER(TRAINING, "seed", SEED, training.seed,
               0, INFINITY, false, false, "a whole number from 0 to 2^64-1"),

    KEY_CHOICE(AS_WRITTEN, "softmax_derivative",
               as_written.softmax_derivative, softmax_derivative_choices),
    KEY_BOOL(AS_WRITTEN, "softmax_subtract_max",
             as_written.softmax_subtract_max),
    KEY_BOOL(AS_WRITTEN, "derivative_at_activation",
             as_written.derivative_at_activation),
    KEY_BOOL(AS_WRITTEN, "output_delta_skips_activation",
             as_written.output_delta_skips_activation),
    KEY_BOOL(AS_WRITTEN, "weight_gradient_from_output",
             as_written.weight_gradient_from_output),
    KEY_BOOL(AS_WRITTEN, "no_bias_gradient", as_written.no_bias_gradient),
    KEY_BOOL(AS_WRITTEN, "batch_sum", as_written.batch_sum),
    KEY_BOOL(AS_WRITTEN, "update_ascent", as_written.update_ascent),
    KEY_BOOL(AS_WRITTEN, "log_unclamped", as_written.log_unclamped),
    KEY_BOOL(AS_WRITTEN, "weight_gradient_transposed",
             as_written.weight_gradient_transposed),

    KEY_BOOL(CHECKS, "every_step", checks.every_step),
    KEY_NUMBER(CHECKS, "full_every", SIZE, checks.full_every,
               0, INFINITY, false, false,
               "a whole number >= 0 (0 = only at step 0)"),
    KEY_NUMBER(CHECKS, "sample", SIZE, checks.sample,
               0, INFINITY, false, false,
               "a whole number >= 0 (0 = every element)"),
    KEY_CHOICE(CHECKS, "method", checks.method, method_choices),
    KEY_NUMBER(CHECKS, "step_scale", DOUBLE, checks.step_scale,
               0, INFINITY, true, false, "a finite number > 0"),
    KEY_NUMBER(CHECKS, "pass_below", DOUBLE, checks.pass_below,
               0, 1, true, true, "a number in (0, 1)"),
    KEY_NUMBER(CHECKS, "fail_above", DOUBLE, checks.fail_above,
               0, 1, true, true, "a number in (0, 1)"),
    KEY_BOOL(CHECKS, "traps", checks.traps),
    KEY_NUMBER(CHECKS, "drift_window", SIZE, checks.drift_window,
               1, INFINITY, false, false, "a whole number >= 1"),
    KEY_CHOICE(CHECKS, "difference", checks.difference, difference_choices),
    KEY_NUMBER(CHECKS, "threads", SIZE, checks.threads,
               0, 1024, false, false,
               "a whole number from 0 to 1024 (0 = every core)"),

    KEY_TEXT(REPORT, "json", PATH, report.json, "a file name (or empty)"),
    KEY_NUMBER(REPORT, "histogram_bins", SIZE, report.histogram_bins,
               1, 1000, false, false, "a whole number from 1 to 1000"),
    KEY_BOOL(REPORT, "quiet", report.quiet),

    KEY_TEXT(EXPECT, "findings", FINDINGS, expect.findings,
             "a comma-separated list of finding ids, each optionally "
             "id@step"),
    KEY_BOOL(EXPECT, "no_other_errors", expect.no_other_errors),
    KEY_BOOL(EXPECT, "enforce", expect.enforce),

    KEY_CHOICE(MODEL, "source", model.source, model_source_choices),
    KEY_TEXT(MODEL, "path", DATA_PATH, model.path,
             "a plugin file or a snapshot directory"),
    KEY_TEXT(MODEL, "command", PATH, model.command,
             "a command line (program and arguments)"),
    KEY_NUMBER(MODEL, "timeout", DOUBLE, model.timeout,
               0, 86400, true, false, "a number of seconds in (0, 86400]"),
    KEY_NUMBER(MODEL, "sample", SIZE, model.sample,
               0, INFINITY, false, false,
               "a whole number >= 0 (0 = every element)"),
};

#define GC_KEY_COUNT (sizeof keys / sizeof keys[0])

/* ---- the parser's state ---------------------------------------------- */

typedef struct {
    const char *name;            /* the file, as named in messages */
    const char *text;            /* the whole config, length bytes */
    size_t length;
    size_t pos;                  /* first byte not yet handed to inih */
    int line;                    /* physical line last handed to inih */
    char base_dir[GC_PATH_MAX];  /* "" or the config's directory + '/' */
    int line_of[GC_KEY_COUNT];   /* where each key was set; 0 = default */
    gc_spec spec;                /* filled as keys arrive */
    gc_error *err;
    gc_status status;            /* GC_OK until the first error */
} gc_config_parser;

/* ---- small text helpers ---------------------------------------------- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static char to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive comparison of s[0..len) with the C string word. */
static bool matches_word(const char *s, size_t len, const char *word)
{
    size_t i;
    for (i = 0; i < len; i++) {
        if (word[i] == '\0' || to_lower(s[i]) != word[i])
            return false;
    }
    return word[i] == '\0';
}

/* Shrinks [*s, *s + *len) to drop blanks at both ends. */
static void trim_range(const char **s, size_t *len)
{
    while (*len > 0 && is_blank(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_blank((*s)[*len - 1]))
        (*len)--;
}

/* Writes s[0..len) into out (GC_SHOW_MAX bytes) for quoting in a message:
 * control and non-ASCII bytes become \xNN, and text past GC_SHOW_BYTES is
 * cut and marked with "...".  Returns out. */
static const char *show(char *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    size_t shown = len < GC_SHOW_BYTES ? len : GC_SHOW_BYTES;
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f) {
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 0xf];
        } else {
            out[n++] = (char)c;
        }
    }
    if (shown < len) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

/* Appends the names of a NULL-terminated list to out as "a, b, c". */
static void join_names(char *out, size_t cap, const char *const *names)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; names[i] != NULL && n < cap; i++) {
        int w = snprintf(out + n, cap - n, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            return;
        n += (size_t)w;
    }
}

/* ---- errors ---------------------------------------------------------- */

/* The file name as messages show it: a name longer than GC_NAME_SHOWN is
 * cut at the front ("...dir/run.cfg") so that the rest of the message
 * still fits in gc_error's 1024 bytes. */
#define GC_NAME_SHOWN 200

static const char *short_name(char *out, const char *name)
{
    size_t len = strlen(name);
    if (len <= GC_NAME_SHOWN)
        return name;
    memcpy(out, "...", 3);
    memcpy(out + 3, name + len - (GC_NAME_SHOWN - 3), GC_NAME_SHOWN - 3);
    out[GC_NAME_SHOWN] = '\0';
    return out;
}

/* Records the first error as "<file>:<line>: <message>".  Later errors
 * are dropped; parsing stops at the next line anyway. */
__attribute__((format(printf, 3, 4)))
static gc_status fail(gc_config_parser *p, int line, const char *format, ...)
{
    char message[sizeof p->err->message];
    char name[GC_NAME_SHOWN + 1];
    va_list args;

    if (p->status != GC_OK)
        return p->status;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    p->status = GC_ECONFIG;
    gc_error_set(p->err, GC_ECONFIG, "%s:%d: %s",
                 short_name(name, p->name), line, message);
    return p->status;
}

/* "[section] key: expected <what>, got '<value>'" at the current line. */
static gc_status fail_value(gc_config_parser *p, const gc_config_key *key,
                            const char *what, const char *value)
{
    char shown[GC_SHOW_MAX];
    return fail(p, p->line, "[%s] %s: expected %s, got '%s'",
                section_names[key->section], key->name, what,
                show(shown, value, strlen(value)));
}

/* The same with the expected text taken from the key's table entry. */
static gc_status fail_key(gc_config_parser *p, const gc_config_key *key,
                          const char *value)
{
    char what[256];
    if (key->expected != NULL)
        return fail_value(p, key, key->expected, value);
    memcpy(what, "one of: ", 9);
    join_names(what + 8, sizeof what - 8, key->choices);
    return fail_value(p, key, what, value);
}

/* ---- value parsers ---------------------------------------------------- */

typedef enum { PARSE_OK, PARSE_SYNTAX, PARSE_OVERFLOW } parse_result;

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };
    size_t len = strlen(s);
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (matches_word(s, len, yes[i])) {
            *out = true;
            return true;
        }
        if (matches_word(s, len, no[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Digits only (no sign, no blanks, no base prefix), at most limit. */
static parse_result parse_unsigned(const char *s, size_t len, uint64_t limit,
                                   uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return PARSE_SYNTAX;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return PARSE_SYNTAX;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned digit = (unsigned)(s[i] - '0');
        /* v * 10 + digit <= limit, written so that it cannot wrap. */
        if (v > (limit - digit) / 10)
            return PARSE_OVERFLOW;
        v = v * 10 + digit;
    }
    *out = v;
    return PARSE_OK;
}

/* An optional '-' then digits, within int. */
static parse_result parse_int(const char *s, int *out)
{
    bool negative = s[0] == '-';
    const char *digits = s + (negative ? 1 : 0);
    uint64_t limit = negative ? (uint64_t)INT_MAX + 1 : (uint64_t)INT_MAX;
    uint64_t magnitude;
    parse_result r = parse_unsigned(digits, strlen(digits), limit,
                                    &magnitude);
    if (r != PARSE_OK)
        return r;
    if (negative)
        *out = magnitude == (uint64_t)INT_MAX + 1
                   ? INT_MIN : -(int)magnitude;
    else
        *out = (int)magnitude;
    return PARSE_OK;
}

/* A decimal or hexadecimal floating constant, finite, nothing after it.
 * Values that overflow or underflow double (errno ERANGE) are rejected so
 * that 1e-400 does not quietly become 0. */
static parse_result parse_double(const char *s, double *out)
{
    char *end;
    double v;
    if (s[0] == '\0' || is_blank(s[0]))
        return PARSE_SYNTAX;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0')
        return PARSE_SYNTAX;
    if (!isfinite(v))
        return PARSE_SYNTAX;
    if (errno == ERANGE)
        return PARSE_OVERFLOW;
    *out = v;
    return PARSE_OK;
}

static bool in_range(const gc_config_key *key, double v)
{
    bool above = key->min_open ? v > key->min : v >= key->min;
    bool below = key->max_open ? v < key->max : v <= key->max;
    return above && below;
}

/* Index of s[0..len) in a NULL-terminated list of names, or -1. */
static int find_choice(const char *s, size_t len, const char *const *names)
{
    for (int i = 0; names[i] != NULL; i++) {
        if (matches_word(s, len, names[i]))
            return i;
    }
    return -1;
}

/* ---- storing values --------------------------------------------------- */

/* Stores enum value `index` of the key's field.  A switch on the field's
 * offset keeps the enum types exact (no writes through int pointers). */
static void store_choice(gc_spec *spec, const gc_config_key *key, int index)
{
    switch (key->offset) {
    case offsetof(gc_spec, data.source):
        spec->data.source = (gc_source)index;
        break;
    case offsetof(gc_spec, data.synthetic):
        spec->data.synthetic = (gc_synthetic)index;
        break;
    case offsetof(gc_spec, data.scale):
        spec->data.scale = (gc_scaling)index;
        break;
    case offsetof(gc_spec, network.init):
        spec->network.init = (gc_init)index;
        break;
    case offsetof(gc_spec, loss):
        spec->loss = (gc_loss)index;
        break;
    case offsetof(gc_spec, as_written.softmax_derivative):
        spec->as_written.softmax_derivative = (gc_softmax_derivative)index;
        break;
    case offsetof(gc_spec, checks.method):
        spec->checks.method = (gc_check_method)index;
        break;
    case offsetof(gc_spec, model.source):
        spec->model.source = (gc_model_source)index;
        break;
    case offsetof(gc_spec, checks.difference):
        spec->checks.difference = (gc_difference)index;
        break;
    default:
        break;
    }
}

/* Records in gc_data_spec where a data path was set. */
static void store_path_line(gc_spec *spec, const gc_config_key *key, int line)
{
    switch (key->offset) {
    case offsetof(gc_spec, data.train_images):
        spec->data.line_of_train_images = line;
        break;
    case offsetof(gc_spec, data.train_labels):
        spec->data.line_of_train_labels = line;
        break;
    case offsetof(gc_spec, data.test_images):
        spec->data.line_of_test_images = line;
        break;
    case offsetof(gc_spec, data.test_labels):
        spec->data.line_of_test_labels = line;
        break;
    case offsetof(gc_spec, data.csv):
        spec->data.line_of_csv = line;
        break;
    default:
        break;
    }
}

/* A path into field (GC_PATH_MAX bytes).  Data paths that are relative are
 * joined to the config's directory; an empty value stays empty. */
static gc_status set_path(gc_config_parser *p, const gc_config_key *key,
                          const char *value, char *field)
{
    bool join = key->kind == GC_VALUE_DATA_PATH && value[0] != '\0'
                && value[0] != '/';
    const char *base = join ? p->base_dir : "";
    char what[128];

    if (strlen(base) + strlen(value) >= GC_PATH_MAX) {
        snprintf(what, sizeof what, "a path of at most %d characters "
                 "once joined to the config's directory (%zu characters)",
                 GC_PATH_MAX - 1, strlen(base));
        return fail_value(p, key, what, value);
    }
    snprintf(field, GC_PATH_MAX, "%s%s", base, value);
    if (key->kind == GC_VALUE_DATA_PATH)
        store_path_line(&p->spec, key, p->line);
    return GC_OK;
}

/* Writes the activation names to out as "identity, sigmoid, ...". */
static void join_activations(char *out, size_t cap)
{
    const char *names[GC_ACT_SOFTMAX + 2];
    for (int a = GC_ACT_IDENTITY; a <= GC_ACT_SOFTMAX; a++)
        names[a] = gc_activation_name((gc_activation)a);
    names[GC_ACT_SOFTMAX + 1] = NULL;
    join_names(out, cap, names);
}

/* One "width:activation" item, s[0..len), of layer number `number`. */
static gc_status set_layer(gc_config_parser *p, const gc_config_key *key,
                           const char *s, size_t len, size_t number,
                           gc_layer_spec *layer)
{
    char shown[GC_SHOW_MAX];
    char names[128];
    const char *colon, *width_text, *act;
    size_t width_len, act_len;
    uint64_t width;
    int a;

    trim_range(&s, &len);
    colon = memchr(s, ':', len);
    if (colon == NULL)
        return fail(p, p->line, "[%s] %s: expected width:activation for "
                    "layer %zu, got '%s'", section_names[key->section],
                    key->name, number, show(shown, s, len));

    width_text = s;
    width_len = (size_t)(colon - s);
    trim_range(&width_text, &width_len);
    if (parse_unsigned(width_text, width_len, GC_LAYER_WIDTH_MAX, &width)
        != PARSE_OK || width < 1)
        return fail(p, p->line, "[%s] %s: expected a width from 1 to %d "
                    "for layer %zu, got '%s'", section_names[key->section],
                    key->name, GC_LAYER_WIDTH_MAX, number,
                    show(shown, width_text, width_len));

    act = colon + 1;
    act_len = len - (size_t)(act - s);
    trim_range(&act, &act_len);
    for (a = GC_ACT_IDENTITY; a <= GC_ACT_SOFTMAX; a++) {
        if (matches_word(act, act_len, gc_activation_name((gc_activation)a)))
            break;
    }
    if (a > GC_ACT_SOFTMAX) {
        join_activations(names, sizeof names);
        return fail(p, p->line, "[%s] %s: expected an activation (%s) for "
                    "layer %zu, got '%s'", section_names[key->section],
                    key->name, names, number, show(shown, act, act_len));
    }
    layer->width = (size_t)width;
    layer->activation = (gc_activation)a;
    return GC_OK;
}

/* "100:sigmoid, 10:softmax": 1..GC_MAX_LAYERS items, softmax last only. */
static gc_status set_layers(gc_config_parser *p, const gc_config_key *key,
                            const char *value)
{
    gc_layer_spec layers[GC_MAX_LAYERS];
    char shown[GC_SHOW_MAX];
    size_t count = 0;
    const char *item = value;

    for (;;) {
        const char *comma = strchr(item, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        if (count == GC_MAX_LAYERS)
            return fail(p, p->line, "[%s] %s: expected at most %d layers, "
                        "got more in '%s'", section_names[key->section],
                        key->name, GC_MAX_LAYERS,
                        show(shown, value, strlen(value)));
        if (set_layer(p, key, item, len, count + 1, &layers[count])
            != GC_OK)
            return p->status;
        count++;
        if (comma == NULL)
            break;
        item = comma + 1;
    }

    for (size_t i = 0; i + 1 < count; i++) {
        if (layers[i].activation == GC_ACT_SOFTMAX)
            return fail(p, p->line, "[%s] %s: expected softmax only on the "
                        "last layer, got softmax on layer %zu of %zu in "
                        "'%s'", section_names[key->section], key->name,
                        i + 1, count, show(shown, value, strlen(value)));
    }
    p->spec.network.layer_count = count;
    memcpy(p->spec.network.layers, layers, count * sizeof layers[0]);
    return GC_OK;
}

/* Parses value as the key says and stores it in p->spec. */
static gc_status set_value(gc_config_parser *p, const gc_config_key *key,
                           const char *value)
{
    char *field = (char *)&p->spec + key->offset;
    char what[256];
    uint64_t u;
    double d;
    int i;
    bool b;

    switch (key->kind) {
    case GC_VALUE_BOOL:
        if (!parse_bool(value, &b))
            return fail_key(p, key, value);
        *(bool *)field = b;
        return GC_OK;
    case GC_VALUE_SIZE:
    case GC_VALUE_SEED: {
        uint64_t limit = key->kind == GC_VALUE_SIZE ? SIZE_MAX : UINT64_MAX;
        parse_result r = parse_unsigned(value, strlen(value), limit, &u);
        if (r == PARSE_OVERFLOW) {
            snprintf(what, sizeof what, "%s that fits in %zu bits",
                     key->expected, key->kind == GC_VALUE_SIZE
                     ? sizeof(size_t) * CHAR_BIT : (size_t)64);
            return fail_value(p, key, what, value);
        }
        if (r != PARSE_OK || !in_range(key, (double)u))
            return fail_key(p, key, value);
        if (key->kind == GC_VALUE_SIZE)
            *(size_t *)field = (size_t)u;
        else
            *(uint64_t *)field = u;
        return GC_OK;
    }
    case GC_VALUE_INT:
        if (parse_int(value, &i) != PARSE_OK || !in_range(key, i))
            return fail_key(p, key, value);
        *(int *)field = i;
        return GC_OK;
    case GC_VALUE_DOUBLE: {
        parse_result r = parse_double(value, &d);
        if (r == PARSE_OVERFLOW) {
            snprintf(what, sizeof what, "%s within double range",
                     key->expected);
            return fail_value(p, key, what, value);
        }
        if (r != PARSE_OK || !in_range(key, d))
            return fail_key(p, key, value);
        *(double *)field = d;
        return GC_OK;
    }
    case GC_VALUE_DATA_PATH:
    case GC_VALUE_PATH:
        return set_path(p, key, value, field);
    case GC_VALUE_CHOICE:
        i = find_choice(value, strlen(value), key->choices);
        if (i < 0)
            return fail_key(p, key, value);
        store_choice(&p->spec, key, i);
        return GC_OK;
    case GC_VALUE_LAYERS:
        return set_layers(p, key, value);
    case GC_VALUE_FINDINGS: {
        char why[512];   /* an unknown id with four suggestions */
        if (!gc_expect_parse_findings(value, &p->spec.expect, why,
                                      sizeof why))
            return fail(p, p->line, "[%s] %s: %s",
                        section_names[key->section], key->name, why);
        p->spec.expect.line_of_findings = p->line;
        return GC_OK;
    }
    }
    return fail_key(p, key, value);
}

/* ---- stage 1: lines for inih ------------------------------------------ */

static int find_section(const char *s, size_t len)
{
    for (int i = 0; i < GC_SECTION_COUNT; i++) {
        if (strlen(section_names[i]) == len
            && memcmp(s, section_names[i], len) == 0)
            return i;
    }
    return -1;
}

/* "; expected one of: data, network, ..." plus a hint when only the case
 * of the name is wrong. */
static void describe_sections(char *out, size_t cap, const char *s,
                              size_t len)
{
    char names[256];
    int n;
    join_names(names, sizeof names, section_names);
    n = snprintf(out, cap, "expected one of: %s", names);
    for (int i = 0; i < GC_SECTION_COUNT && n >= 0 && (size_t)n < cap; i++) {
        if (matches_word(s, len, section_names[i])) {
            snprintf(out + n, cap - (size_t)n,
                     " (names are lower-case: [%s])", section_names[i]);
            break;
        }
    }
}

/* A trimmed "[name]" line: checks it and writes "[name]" without blanks
 * inside the brackets to out. */
static bool read_section(gc_config_parser *p, const char *s, size_t len,
                         char *out)
{
    char shown[GC_SHOW_MAX];
    char expected[512];
    const char *close = memchr(s, ']', len);
    const char *name = s + 1;
    size_t name_len;

    if (close == NULL) {
        fail(p, p->line, "expected a section header '[name]', got '%s'",
             show(shown, s, len));
        return false;
    }
    if (close != s + len - 1) {
        fail(p, p->line, "expected nothing after ']' in a section header, "
             "got '%s'", show(shown, s, len));
        return false;
    }
    name_len = (size_t)(close - name);
    trim_range(&name, &name_len);
    if (find_section(name, name_len) < 0) {
        describe_sections(expected, sizeof expected, name, name_len);
        fail(p, p->line, "unknown section [%s]; %s",
             show(shown, name, name_len), expected);
        return false;
    }
    out[0] = '[';
    memcpy(out + 1, name, name_len);
    out[name_len + 1] = ']';
    out[name_len + 2] = '\0';
    return true;
}

/* Whether s[0..len) holds the '=' or ':' that ends a key. */
static bool has_separator(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=' || s[i] == ':')
            return true;
    }
    return false;
}

/* inih's fgets-style reader: one physical line per call, cleaned.
 * Returns NULL at the end of the text or after the first error, which
 * makes inih stop. */
static char *read_line(char *out, int capacity, void *stream)
{
    gc_config_parser *p = stream;
    char shown[GC_SHOW_MAX];
    const char *s, *newline;
    size_t len;

    if (p->status != GC_OK || p->pos >= p->length || capacity < 3)
        return NULL;
    s = p->text + p->pos;
    newline = memchr(s, '\n', p->length - p->pos);
    len = newline ? (size_t)(newline - s) : p->length - p->pos;
    p->pos += len + (newline ? 1 : 0);
    p->line++;

    if (memchr(s, '\0', len) != NULL) {
        fail(p, p->line, "expected text, got a NUL byte "
             "(is this a binary file?)");
        return NULL;
    }
    /* A UTF-8 byte order mark, which some editors write. */
    if (p->line == 1 && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
        s += 3;
        len -= 3;
    }

    /* Whole-line comments (';' or '#' first) and blank lines.  Removing the
     * indentation also keeps inih from taking an indented line as the
     * continuation of the previous value. */
    trim_range(&s, &len);
    if (len == 0 || s[0] == ';' || s[0] == '#') {
        out[0] = '\0';
        return out;
    }
    /* Inline comments: ';' after a blank, as inih defines them. */
    for (size_t i = 1; i < len; i++) {
        if (s[i] == ';' && is_blank(s[i - 1])) {
            len = i;
            break;
        }
    }
    trim_range(&s, &len);

    if (len > (size_t)capacity - 1) {
        fail(p, p->line, "expected a line of at most %d characters "
             "(not counting comments and indentation), got %zu: '%s'",
             capacity - 1, len, show(shown, s, len));
        return NULL;
    }
    if (s[0] == '[')
        return read_section(p, s, len, out) ? out : NULL;
    if (!has_separator(s, len)) {
        fail(p, p->line, "expected 'key = value', '[section]' or a "
             "comment, got '%s'", show(shown, s, len));
        return NULL;
    }
    if (s[0] == '=' || s[0] == ':') {
        fail(p, p->line, "expected a key name before '%c', got '%s'",
             s[0], show(shown, s, len));
        return NULL;
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

/* ---- stage 2: keys ------------------------------------------------------ */

static const gc_config_key *find_key(int section, const char *name)
{
    for (size_t i = 0; i < GC_KEY_COUNT; i++) {
        if ((int)keys[i].section == section
            && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    }
    return NULL;
}

static gc_status fail_unknown_key(gc_config_parser *p, int section,
                                  const char *name)
{
    char shown[GC_SHOW_MAX];
    char list[768];
    size_t n = 0;
    list[0] = '\0';
    for (size_t i = 0; i < GC_KEY_COUNT && n < sizeof list; i++) {
        if ((int)keys[i].section != section)
            continue;
        int w = snprintf(list + n, sizeof list - n, "%s%s",
                         n ? ", " : "", keys[i].name);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    return fail(p, p->line, "unknown key '%s' in [%s]; expected one of: %s",
                show(shown, name, strlen(name)), section_names[section],
                list);
}

/* inih's handler: one "key = value" of the current line. */
static int on_value(void *user, const char *section, const char *name,
                    const char *value)
{
    gc_config_parser *p = user;
    char shown[GC_SHOW_MAX];
    const gc_config_key *key;
    int s;
    size_t k;

    if (p->status != GC_OK)
        return 0;
    if (section[0] == '\0') {
        fail(p, p->line, "key '%s' comes before any section; expected a "
             "section header such as [data] first",
             show(shown, name, strlen(name)));
        return 0;
    }
    s = find_section(section, strlen(section));
    if (s < 0) {
        /* read_line() already rejected unknown headers; kept for safety. */
        fail(p, p->line, "unknown section [%s]",
             show(shown, section, strlen(section)));
        return 0;
    }
    key = find_key(s, name);
    if (key == NULL) {
        fail_unknown_key(p, s, name);
        return 0;
    }
    k = (size_t)(key - keys);
    if (p->line_of[k] != 0) {
        fail(p, p->line, "[%s] %s: expected each key once, got a second "
             "value '%s' (first set on line %d)", section_names[s],
             key->name, show(shown, value, strlen(value)), p->line_of[k]);
        return 0;
    }
    p->line_of[k] = p->line;
    return set_value(p, key, value) == GC_OK;
}

/* ---- stage 3: rules across keys ---------------------------------------- */

/* Line where the field at offset was set; 0 if it kept its default. */
static int line_of(const gc_config_parser *p, size_t offset)
{
    for (size_t i = 0; i < GC_KEY_COUNT; i++) {
        if (keys[i].offset == offset)
            return p->line_of[i];
    }
    return 0;
}

/* The first of two lines that is set: the key concerned, else the key
 * that made it matter. */
static int either_line(const gc_config_parser *p, size_t first,
                       size_t second)
{
    int line = line_of(p, first);
    return line != 0 ? line : line_of(p, second);
}

static gc_status check_data(gc_config_parser *p)
{
    const gc_data_spec *d = &p->spec.data;
    char a[GC_SHOW_MAX], b[GC_SHOW_MAX];

    if (d->source == GC_SOURCE_IDX) {
        if (d->train_images[0] == '\0')
            return fail(p, either_line(p, offsetof(gc_spec, data.train_images),
                                       offsetof(gc_spec, data.source)),
                        "[data] train_images: expected a file name when "
                        "source = idx, got ''");
        if (d->train_labels[0] == '\0')
            return fail(p, either_line(p, offsetof(gc_spec, data.train_labels),
                                       offsetof(gc_spec, data.source)),
                        "[data] train_labels: expected a file name when "
                        "source = idx, got ''");
        if ((d->test_images[0] == '\0') != (d->test_labels[0] == '\0'))
            return fail(p, either_line(p, offsetof(gc_spec, data.test_labels),
                                       offsetof(gc_spec, data.test_images)),
                        "[data] test_labels: expected test_images and "
                        "test_labels both set or both empty, got "
                        "test_images = '%s' and test_labels = '%s'",
                        show(a, d->test_images, strlen(d->test_images)),
                        show(b, d->test_labels, strlen(d->test_labels)));
        if (d->test_images[0] != '\0' && d->test_split > 0)
            return fail(p, line_of(p, offsetof(gc_spec, data.test_split)),
                        "[data] test_split: expected 0 when test files are "
                        "given (test_images = '%s'), got '%g'",
                        show(a, d->test_images, strlen(d->test_images)),
                        d->test_split);
    }
    if (d->source == GC_SOURCE_CSV && d->csv[0] == '\0')
        return fail(p, either_line(p, offsetof(gc_spec, data.csv),
                                   offsetof(gc_spec, data.source)),
                    "[data] csv: expected a file name when source = csv, "
                    "got ''");
    if (d->source == GC_SOURCE_SYNTHETIC && d->synthetic == GC_SYNTH_XOR
        && d->synthetic_classes != 2)
        return fail(p, line_of(p, offsetof(gc_spec, data.synthetic_classes)),
                    "[data] classes: expected 2 when synthetic = xor, "
                    "got '%d'", d->synthetic_classes);
    return GC_OK;
}

static gc_status check_network(gc_config_parser *p)
{
    const gc_network_spec *n = &p->spec.network;
    if (n->init != GC_INIT_CONSTANT && n->init_scale < 0)
        return fail(p, line_of(p, offsetof(gc_spec, network.init_scale)),
                    "[network] init_scale: expected a number >= 0 when "
                    "init = %s (only init = constant takes a negative "
                    "scale), got '%g'", init_choices[n->init],
                    n->init_scale);
    return GC_OK;
}

static gc_status check_training(gc_config_parser *p)
{
    const gc_training_spec *t = &p->spec.training;
    if (t->steps == 0 && t->epochs == 0)
        return fail(p, either_line(p, offsetof(gc_spec, training.epochs),
                                   offsetof(gc_spec, training.steps)),
                    "[training] epochs: expected at least 1 when steps = "
                    "0, got '0'");
    return GC_OK;
}

static gc_status check_bands(gc_config_parser *p)
{
    const gc_checks_spec *c = &p->spec.checks;
    int pass_line = line_of(p, offsetof(gc_spec, checks.pass_below));
    int fail_line = line_of(p, offsetof(gc_spec, checks.fail_above));

    if (c->pass_below <= c->fail_above)
        return GC_OK;
    if (fail_line != 0 && pass_line != 0)
        return fail(p, fail_line, "[checks] fail_above: expected a number "
                    ">= pass_below (%g, line %d), got '%g'", c->pass_below,
                    pass_line, c->fail_above);
    if (fail_line != 0)
        return fail(p, fail_line, "[checks] fail_above: expected a number "
                    ">= pass_below (%g, the default), got '%g'",
                    c->pass_below, c->fail_above);
    return fail(p, pass_line, "[checks] pass_below: expected a number <= "
                "fail_above (%g, the default), got '%g'", c->fail_above,
                c->pass_below);
}

/* A pipe needs its command and a snapshot its directory; a plugin's path
 * may still come from the command line (--plugin), so run.c checks it. */
static gc_status check_model(gc_config_parser *p)
{
    const gc_model_spec *m = &p->spec.model;
    int line = line_of(p, offsetof(gc_spec, model.source));
    if (m->source == GC_MODEL_PIPE && m->command[0] == '\0')
        return fail(p, line, "[model] command: expected the program to "
                    "start (as in command = python3 adapter.py) when "
                    "source = pipe, got none");
    if (m->source == GC_MODEL_SNAPSHOT && m->path[0] == '\0')
        return fail(p, line, "[model] path: expected the snapshot's "
                    "directory when source = snapshot, got none");
    return GC_OK;
}

static gc_status check_spec(gc_config_parser *p)
{
    if (check_data(p) != GC_OK || check_network(p) != GC_OK
        || check_training(p) != GC_OK || check_bands(p) != GC_OK
        || check_model(p) != GC_OK)
        return p->status;
    return GC_OK;
}

/* ---- entry points ------------------------------------------------------ */

/* Text of line `number` (1-based) of the config, for inih's own errors. */
static void line_text(const gc_config_parser *p, int number,
                      const char **s, size_t *len)
{
    const char *at = p->text, *end = p->text + p->length;
    for (int i = 1; i < number && at < end; i++) {
        const char *nl = memchr(at, '\n', (size_t)(end - at));
        at = nl ? nl + 1 : end;
    }
    const char *nl = memchr(at, '\n', (size_t)(end - at));
    *s = at;
    *len = nl ? (size_t)(nl - at) : (size_t)(end - at);
}

static gc_status parse_text(gc_config_parser *p)
{
    int result = ini_parse_stream(read_line, p, on_value, p);
    if (p->status == GC_OK && result != 0) {
        /* inih found something read_line() let through. */
        char shown[GC_SHOW_MAX];
        const char *s;
        size_t len;
        if (result < 0)
            return fail(p, 0, "inih failed (%d) before reading", result);
        line_text(p, result, &s, &len);
        return fail(p, result, "expected 'key = value' or '[section]', "
                    "got '%s'", show(shown, s, len));
    }
    if (p->status != GC_OK)
        return p->status;
    return check_spec(p);
}

/* The directory part of name, with its '/', or "" when it has none. */
static void set_base_dir(gc_config_parser *p)
{
    const char *slash = strrchr(p->name, '/');
    size_t len = slash ? (size_t)(slash - p->name) + 1 : 0;
    memcpy(p->base_dir, p->name, len);
    p->base_dir[len] = '\0';
}

/* Parses text[0..length) named name into spec.  The parser (about 10 KiB,
 * most of it the spec being filled) lives on the heap. */
static gc_status parse_buffer(const char *text, size_t length,
                              const char *name, gc_spec *spec,
                              gc_error *err)
{
    gc_config_parser *p;
    gc_status status;

    gc_spec_init(spec);
    if (strlen(name) >= GC_PATH_MAX)
        return gc_error_set(err, GC_ECONFIG, "config file name is longer "
                            "than %d characters: '%.60s...'",
                            GC_PATH_MAX - 1, name);
    memcpy(spec->path, name, strlen(name) + 1);

    p = calloc(1, sizeof *p);
    if (p == NULL)
        return gc_error_set(err, GC_ENOMEM, "%s: out of memory reading "
                            "the config", name);
    p->name = name;
    p->text = text;
    p->length = length;
    p->err = err;
    p->status = GC_OK;
    set_base_dir(p);
    gc_spec_init(&p->spec);
    memcpy(p->spec.path, spec->path, sizeof spec->path);

    status = parse_text(p);
    if (status == GC_OK) {
        *spec = p->spec;
        gc_error_clear(err);
    }
    free(p);
    return status;
}

gc_status gc_config_parse_string(const char *text,
                                 const char *name_for_messages,
                                 gc_spec *spec, gc_error *err)
{
    if (text == NULL || spec == NULL)
        return gc_error_set(err, GC_EINVAL, "gc_config_parse_string: text "
                            "and spec must not be NULL");
    if (name_for_messages == NULL)
        name_for_messages = "<string>";
    return parse_buffer(text, strlen(text), name_for_messages, spec, err);
}

/* Reads the whole file into a new buffer (*text, *length). */
static gc_status read_file(const char *path, char **text, size_t *length,
                           gc_error *err)
{
    char name[GC_NAME_SHOWN + 1];
    const char *shown = short_name(name, path);
    FILE *file = fopen(path, "rb");
    char *buffer;
    size_t used;

    if (file == NULL)
        return gc_error_set(err, GC_ECONFIG, "%s: cannot open config "
                            "file: %s", shown, strerror(errno));
    buffer = malloc(GC_CONFIG_MAX_BYTES + 1);
    if (buffer == NULL) {
        fclose(file);
        return gc_error_set(err, GC_ENOMEM, "%s: out of memory reading "
                            "the config", shown);
    }
    /* One byte more than the limit tells a full-size file from a larger
     * one. */
    used = fread(buffer, 1, GC_CONFIG_MAX_BYTES + 1, file);
    if (ferror(file)) {
        int saved = errno;
        free(buffer);
        fclose(file);
        return gc_error_set(err, GC_EIO, "%s: cannot read config file: %s",
                            shown, strerror(saved));
    }
    fclose(file);
    if (used > GC_CONFIG_MAX_BYTES) {
        free(buffer);
        return gc_error_set(err, GC_ECONFIG, "%s: expected a config file "
                            "of at most %d bytes, got a larger file",
                            shown, GC_CONFIG_MAX_BYTES);
    }
    buffer[used] = '\0';
    *text = buffer;
    *length = used;
    return GC_OK;
}

gc_status gc_config_load(const char *path, gc_spec *spec, gc_error *err)
{
    char *text = NULL;
    size_t length = 0;
    gc_status status;

    if (path == NULL || spec == NULL)
        return gc_error_set(err, GC_EINVAL, "gc_config_load: path and spec "
                            "must not be NULL");
    gc_spec_init(spec);
    if (strlen(path) < GC_PATH_MAX)
        memcpy(spec->path, path, strlen(path) + 1);
    status = read_file(path, &text, &length, err);
    if (status != GC_OK)
        return status;
    status = parse_buffer(text, length, path, spec, err);
    free(text);
    return status;
}
