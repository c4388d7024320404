/* dataset.h - a labelled dataset in one layout, whatever file it came from.
 *
 * Features are row-major doubles: x[i * features + j] is feature j of
 * sample i.  Labels are class indices in [0, classes).  One allocation per
 * dataset; gc_dataset_free() releases it and accepts NULL.
 *
 * Loaders (data_idx.c, data_csv.c, data_synthetic.c) know nothing of
 * networks.  gc_data_load() reads what a gc_data_spec names, applies the
 * sample limit, the test split and the input scaling, and returns a
 * training and a test set.
 */
#ifndef GRADCHECK_DATASET_H
#define GRADCHECK_DATASET_H

#include "spec.h"
#include "status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t samples;
    size_t features;
    int classes;
    double *x;          /* samples x features */
    int *labels;        /* samples */
} gc_dataset;

/* Allocates a zeroed dataset of the given size in one block. */
gc_dataset *gc_dataset_alloc(size_t samples, size_t features, int classes);
void gc_dataset_free(gc_dataset *set);

/* Reads an IDX image file (magic 0x00000803, u8, n x rows x cols) and its
 * label file (0x00000801, u8, n), plain or gzip-compressed (detected from
 * the bytes, not the name).  Pixels are returned unscaled (0..255).
 * Errors name the file and what was expected (magic, size, truncation). */
gc_status gc_idx_load(const char *images_path, const char *labels_path,
                      gc_dataset **out, gc_error *err);

/* Which of the two files an IDX error is about: the images for their own
 * errors and for running out of memory, the labels for theirs and for a
 * count that does not match the images'. */
typedef enum { GC_IDX_IMAGES, GC_IDX_LABELS } gc_idx_part;

/* gc_idx_load(), and on failure *failed (may be NULL) says which file to
 * blame, even when both paths are the same file. */
gc_status gc_idx_load_blamed(const char *images_path,
                             const char *labels_path, gc_dataset **out,
                             gc_idx_part *failed, gc_error *err);

/* Reads a CSV file with one label column (0-based; -1 = last) and numeric
 * features in every other column.  Labels may be integers or names; names
 * are mapped to classes in order of first appearance.  Errors name the
 * file, line and column. */
gc_status gc_csv_load(const char *path, int label_column, bool header,
                      gc_dataset **out, gc_error *err);

/* Seeded synthetic sets (deterministic for a given seed):
 *   xor:     2 features in [-1,1]^2, class = sign(x0) != sign(x1), 2 classes;
 *   spirals: 2 features, `classes` interleaved arms with gaussian noise;
 *   blobs:   2 features, `classes` gaussian clusters on a circle.
 * noise is the standard deviation of the added gaussian noise. */
gc_status gc_synthetic_make(gc_synthetic kind, size_t samples, int classes,
                            double noise, uint64_t seed, gc_dataset **out,
                            gc_error *err);

/* Loads train and test sets as the spec says; applies limit, test_limit,
 * test_split and scaling (statistics from the training set only).  On
 * success *train is non-NULL and *test may be NULL (no test data).
 * config_path is used only to name the config line in error messages. */
gc_status gc_data_load(const gc_data_spec *spec, const char *config_path,
                       uint64_t seed, gc_dataset **train, gc_dataset **test,
                       gc_error *err);

#endif
