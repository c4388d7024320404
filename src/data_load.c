/* data_load.c - the dataset block, and loading what a [data] spec names.
 *
 * gc_data_load() runs four steps in a fixed order (docs/data.md):
 *   1. read the training set (and the test files, when named);
 *   2. keep the first `limit` training samples, in file order;
 *   3. without test files, hold out the last round(test_split * n) of
 *      those as the test set; then keep the first `test_limit` test
 *      samples;
 *   4. scale both sets with statistics of the training set alone.
 */
#include "dataset.h"

#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the dataset block ------------------------------------------------ */

/* Layout of the single allocation:
 *   [gc_dataset][x: samples * features doubles][labels: samples ints]
 * The header is padded to a multiple of alignof(double); the doubles end
 * on a multiple of 8 bytes, which is enough alignment for int. */
gc_dataset *gc_dataset_alloc(size_t samples, size_t features, int classes)
{
    if (classes < 0)
        return NULL;
    size_t head = (sizeof(gc_dataset) + alignof(double) - 1) /
                  alignof(double) * alignof(double);
    if (features != 0 && samples > SIZE_MAX / features)
        return NULL;
    size_t cells = samples * features;
    if (cells > (SIZE_MAX - head) / sizeof(double))
        return NULL;
    size_t label_offset = head + cells * sizeof(double);
    if (samples > (SIZE_MAX - label_offset) / sizeof(int))
        return NULL;
    size_t total = label_offset + samples * sizeof(int);

    unsigned char *block = calloc(1, total);
    if (block == NULL)
        return NULL;
    gc_dataset *set = (gc_dataset *)block;
    set->samples = samples;
    set->features = features;
    set->classes = classes;
    set->x = (double *)(block + head);
    set->labels = (int *)(block + label_offset);
    return set;
}

void gc_dataset_free(gc_dataset *set)
{
    free(set);
}

/* A new dataset holding samples [first, first + count) of src. */
static gc_dataset *gc_dataset_slice(const gc_dataset *src, size_t first,
                                    size_t count)
{
    gc_dataset *out = gc_dataset_alloc(count, src->features, src->classes);
    if (out == NULL)
        return NULL;
    if (count > 0) {
        memcpy(out->x, src->x + first * src->features,
               count * src->features * sizeof(double));
        memcpy(out->labels, src->labels + first, count * sizeof(int));
    }
    return out;
}

/* Replaces *set by its first `keep` samples when keep is smaller. */
static gc_status gc_dataset_keep_first(gc_dataset **set, size_t keep,
                                       const char *what, gc_error *err)
{
    if (keep == 0 || keep >= (*set)->samples)
        return GC_OK;
    gc_dataset *smaller = gc_dataset_slice(*set, 0, keep);
    if (smaller == NULL)
        return gc_error_set(err, GC_ENOMEM, "no memory for %zu %s samples",
                            keep, what);
    gc_dataset_free(*set);
    *set = smaller;
    return GC_OK;
}

/* ---- messages that name the config line ------------------------------- */

/* Rewrites err->message as "CONFIG:LINE: [data] KEY: MESSAGE".  A value
 * that no config line set (line 0) is marked "(default)"; without a
 * config name the message starts at "[data]". */
static void gc_data_blame(gc_error *err, const char *config_path,
                          const char *key, int line)
{
    if (err == NULL)
        return;
    char original[sizeof err->message];
    memcpy(original, err->message, sizeof original);
    gc_status code = err->code;

    if (config_path != NULL && line > 0)
        gc_error_set(err, code, "%s:%d: [data] %s: %s", config_path, line,
                     key, original);
    else if (config_path != NULL)
        gc_error_set(err, code, "%s: [data] %s (default): %s", config_path,
                     key, original);
    else
        gc_error_set(err, code, "[data] %s: %s", key, original);
}

/* gc_idx_load() with the failing file's config key named. */
static gc_status gc_data_load_idx(const char *images, const char *labels,
                                  const char *images_key,
                                  const char *labels_key, int images_line,
                                  int labels_line, const char *config_path,
                                  gc_dataset **out, gc_error *err)
{
    if (images[0] == '\0' || labels[0] == '\0') {
        bool no_images = images[0] == '\0';
        gc_error_set(err, GC_ECONFIG, "expected the path of an IDX %s file, "
                     "got an empty value", no_images ? "images" : "labels");
        gc_data_blame(err, config_path, no_images ? images_key : labels_key,
                      no_images ? images_line : labels_line);
        return GC_ECONFIG;
    }
    gc_idx_part failed;
    gc_status status = gc_idx_load_blamed(images, labels, out, &failed, err);
    if (status != GC_OK && err != NULL) {
        if (failed == GC_IDX_LABELS)
            gc_data_blame(err, config_path, labels_key, labels_line);
        else
            gc_data_blame(err, config_path, images_key, images_line);
    }
    return status;
}

/* ---- scaling ---------------------------------------------------------- */

/* Per-feature affine map x' = (x - shift[j]) / span[j], computed from
 * train (samples x features) and applied to train and test in place.
 * Statistics are gathered row by row, in memory order. */
static gc_status gc_data_scale(gc_scaling scale, double divisor,
                               gc_dataset *train, gc_dataset *test,
                               gc_error *err)
{
    size_t n = train->samples, f = train->features;
    if (scale == GC_SCALE_NONE || f == 0 || n == 0)
        return GC_OK;

    /* Four per-feature arrays: lo, hi, mean (first the sum), and the sum
     * of squared deviations from the mean. */
    double *lo = malloc(4 * f * sizeof(double));
    if (lo == NULL)
        return gc_error_set(err, GC_ENOMEM, "no memory to scale %zu "
                            "features", f);
    double *hi = lo + f, *mean = hi + f, *ss = mean + f;

    for (size_t j = 0; j < f; j++) {
        lo[j] = hi[j] = train->x[j];
        mean[j] = ss[j] = 0.0;
    }
    for (size_t i = 0; i < n; i++) {
        const double *row = train->x + i * f;
        for (size_t j = 0; j < f; j++) {
            lo[j] = row[j] < lo[j] ? row[j] : lo[j];
            hi[j] = row[j] > hi[j] ? row[j] : hi[j];
            mean[j] += row[j];
        }
    }
    for (size_t j = 0; j < f; j++)
        mean[j] /= (double)n;

    /* Standardizing takes a second pass: the population variance (divided
     * by n, not n - 1) about the mean, which avoids the cancellation of
     * sum(x^2) - n mean^2. */
    if (scale == GC_SCALE_STANDARDIZE)
        for (size_t i = 0; i < n; i++) {
            const double *row = train->x + i * f;
            for (size_t j = 0; j < f; j++) {
                double d = row[j] - mean[j];
                ss[j] += d * d;
            }
        }

    /* The map reuses the arrays: shift in lo, divisor in hi.  Dividing
     * (rather than multiplying by a reciprocal) keeps x / 255 and the
     * training maximum under minmax exact.  A feature that never changes
     * in training carries no information and would divide by zero: it
     * becomes 0 everywhere (divisor 0 marks it). */
    for (size_t j = 0; j < f; j++) {
        bool constant = lo[j] == hi[j];
        double shift = 0.0, span = divisor;
        if (scale == GC_SCALE_MINMAX) {
            shift = lo[j];
            span = constant ? 0.0 : hi[j] - lo[j];
        } else if (scale == GC_SCALE_STANDARDIZE) {
            double sd = sqrt(ss[j] / (double)n);
            shift = mean[j];
            span = constant || sd == 0.0 ? 0.0 : sd;
        }
        lo[j] = shift;
        hi[j] = span;
    }

    gc_dataset *sets[2] = {train, test};
    for (size_t s = 0; s < 2; s++) {
        if (sets[s] == NULL)
            continue;
        for (size_t i = 0; i < sets[s]->samples; i++) {
            double *row = sets[s]->x + i * f;
            for (size_t j = 0; j < f; j++)
                row[j] = hi[j] == 0.0 ? 0.0 : (row[j] - lo[j]) / hi[j];
        }
    }
    free(lo);
    return GC_OK;
}

/* ---- the spec --------------------------------------------------------- */

/* Arguments that config.c should already have refused. */
static gc_status gc_data_check_spec(const gc_data_spec *spec, gc_error *err)
{
    if (spec->source != GC_SOURCE_IDX && spec->source != GC_SOURCE_CSV &&
        spec->source != GC_SOURCE_SYNTHETIC)
        return gc_error_set(err, GC_EINVAL, "[data] source: unknown source "
                            "%d", (int)spec->source);
    if (!(spec->test_split >= 0.0 && spec->test_split < 1.0))
        return gc_error_set(err, GC_EINVAL, "[data] test_split: expected a "
                            "fraction in [0, 1), got %g", spec->test_split);
    if (spec->scale != GC_SCALE_NONE && spec->scale != GC_SCALE_DIVIDE &&
        spec->scale != GC_SCALE_MINMAX && spec->scale != GC_SCALE_STANDARDIZE)
        return gc_error_set(err, GC_EINVAL, "[data] scale: unknown scaling "
                            "%d", (int)spec->scale);
    if (spec->scale == GC_SCALE_DIVIDE &&
        !(isfinite(spec->scale_divisor) && spec->scale_divisor != 0.0))
        return gc_error_set(err, GC_EINVAL, "[data] scale_divisor: expected "
                            "a finite non-zero number, got %g",
                            spec->scale_divisor);
    return GC_OK;
}

/* Step 1: the training set, and the test set when files name one. */
static gc_status gc_data_read(const gc_data_spec *spec,
                              const char *config_path, uint64_t seed,
                              gc_dataset **train, gc_dataset **test,
                              gc_error *err)
{
    gc_status status = GC_OK;

    switch (spec->source) {
    case GC_SOURCE_IDX: {
        status = gc_data_load_idx(spec->train_images, spec->train_labels,
                                  "train_images", "train_labels",
                                  spec->line_of_train_images,
                                  spec->line_of_train_labels, config_path,
                                  train, err);
        bool has_images = spec->test_images[0] != '\0';
        bool has_labels = spec->test_labels[0] != '\0';
        if (status != GC_OK || (!has_images && !has_labels))
            break;
        status = gc_data_load_idx(spec->test_images, spec->test_labels,
                                  "test_images", "test_labels",
                                  spec->line_of_test_images,
                                  spec->line_of_test_labels, config_path,
                                  test, err);
        if (status == GC_OK && (*test)->features != (*train)->features)
            status = gc_error_set(err, GC_EDATA,
                                  "'%s' has %zu pixels per image but the "
                                  "training images '%s' have %zu",
                                  spec->test_images, (*test)->features,
                                  spec->train_images, (*train)->features);
        break;
    }
    case GC_SOURCE_CSV:
        if (spec->csv[0] == '\0') {
            status = gc_error_set(err, GC_ECONFIG, "expected the path of a "
                                  "CSV file, got an empty value");
            gc_data_blame(err, config_path, "csv", spec->line_of_csv);
            break;
        }
        status = gc_csv_load(spec->csv, spec->label_column, spec->csv_header,
                             train, err);
        if (status != GC_OK)
            gc_data_blame(err, config_path, "csv", spec->line_of_csv);
        break;
    case GC_SOURCE_SYNTHETIC:
        status = gc_synthetic_make(spec->synthetic, spec->synthetic_samples,
                                   spec->synthetic_classes,
                                   spec->synthetic_noise, seed, train, err);
        break;
    }
    return status;
}

/* Step 3: moves the last round(split * n) training samples to a new test
 * set; a split that rounds to 0 samples makes no test set. */
static gc_status gc_data_split(double split, gc_dataset **train,
                               gc_dataset **test, gc_error *err)
{
    size_t n = (*train)->samples;
    size_t held = (size_t)floor(split * (double)n + 0.5);
    if (held == 0)
        return GC_OK;
    if (held >= n)
        return gc_error_set(err, GC_EDATA, "[data] test_split: holding out "
                            "%g of %zu samples leaves none for training",
                            split, n);

    gc_dataset *kept = gc_dataset_slice(*train, 0, n - held);
    gc_dataset *out = gc_dataset_slice(*train, n - held, held);
    if (kept == NULL || out == NULL) {
        gc_dataset_free(kept);
        gc_dataset_free(out);
        return gc_error_set(err, GC_ENOMEM, "no memory to split %zu "
                            "samples", n);
    }
    gc_dataset_free(*train);
    *train = kept;
    *test = out;
    return GC_OK;
}

gc_status gc_data_load(const gc_data_spec *spec, const char *config_path,
                       uint64_t seed, gc_dataset **train, gc_dataset **test,
                       gc_error *err)
{
    if (spec == NULL || train == NULL || test == NULL)
        return gc_error_set(err, GC_EINVAL, "gc_data_load: NULL argument");
    *train = NULL;
    *test = NULL;

    gc_status status = gc_data_check_spec(spec, err);
    if (status == GC_OK)
        status = gc_data_read(spec, config_path, seed, train, test, err);
    if (status == GC_OK)
        status = gc_dataset_keep_first(train, spec->limit, "training", err);
    if (status == GC_OK && *test == NULL && spec->test_split > 0.0)
        status = gc_data_split(spec->test_split, train, test, err);
    if (status == GC_OK && *test != NULL)
        status = gc_dataset_keep_first(test, spec->test_limit, "test", err);

    /* Both sets must agree on the number of classes the network emits. */
    if (status == GC_OK && *test != NULL) {
        int classes = (*train)->classes > (*test)->classes
                          ? (*train)->classes : (*test)->classes;
        (*train)->classes = classes;
        (*test)->classes = classes;
    }
    if (status == GC_OK)
        status = gc_data_scale(spec->scale, spec->scale_divisor, *train,
                               *test, err);

    if (status != GC_OK) {
        gc_dataset_free(*train);
        gc_dataset_free(*test);
        *train = NULL;
        *test = NULL;
    }
    return status;
}
