/* data_synthetic.c - small seeded 2-D classification sets.
 *
 * Every set draws from GSL's MT19937 seeded with the caller's seed, in a
 * fixed order (per sample: the position, then the x noise, then the y
 * noise), so a seed always gives the same data.  Samples of class k sit
 * at indices i with i % classes == k: classes are interleaved, so the
 * first N samples (a limit) and the last ones (a test split) are
 * balanced.
 */
#include "dataset.h"

#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

/* Beyond this a 2-D toy set is no longer a sensible test. */
#define GC_SYNTH_MAX_CLASSES 1000

/* Each spiral arm turns once around the origin between radius 0 and 1:
 * enough that neighbouring arms interleave and no straight line separates
 * them, few enough that a small MLP learns them. */
#define GC_SPIRAL_TURNS 1.0

/* Blob centres lie on the unit circle. */
#define GC_BLOB_RADIUS 1.0

/* x: samples x 2; labels: samples.  Fills set from rng. */
static void gc_synthetic_fill(gc_synthetic kind, int classes, double noise,
                              gsl_rng *rng, gc_dataset *set)
{
    for (size_t i = 0; i < set->samples; i++) {
        double x0 = 0.0, x1 = 0.0;
        int label = 0;

        if (kind == GC_SYNTH_XOR) {
            /* Uniform on [-1,1]^2; the label is taken before the noise,
             * so noise pushes points across the axes. */
            x0 = gsl_ran_flat(rng, -1.0, 1.0);
            x1 = gsl_ran_flat(rng, -1.0, 1.0);
            label = (x0 < 0.0) != (x1 < 0.0);
        } else if (kind == GC_SYNTH_SPIRALS) {
            /* Arm k: radius t, angle 2 pi (k / classes + turns * t). */
            label = (int)(i % (size_t)classes);
            double t = gsl_rng_uniform(rng);
            double angle = 2.0 * M_PI *
                           ((double)label / classes + GC_SPIRAL_TURNS * t);
            x0 = t * cos(angle);
            x1 = t * sin(angle);
        } else {
            label = (int)(i % (size_t)classes);
            double angle = 2.0 * M_PI * (double)label / classes;
            x0 = GC_BLOB_RADIUS * cos(angle);
            x1 = GC_BLOB_RADIUS * sin(angle);
        }

        set->x[2 * i] = x0 + gsl_ran_gaussian(rng, noise);
        set->x[2 * i + 1] = x1 + gsl_ran_gaussian(rng, noise);
        set->labels[i] = label;
    }
}

gc_status gc_synthetic_make(gc_synthetic kind, size_t samples, int classes,
                            double noise, uint64_t seed, gc_dataset **out,
                            gc_error *err)
{
    if (out == NULL)
        return gc_error_set(err, GC_EINVAL, "gc_synthetic_make: NULL "
                            "argument");
    *out = NULL;
    if (kind != GC_SYNTH_XOR && kind != GC_SYNTH_SPIRALS &&
        kind != GC_SYNTH_BLOBS)
        return gc_error_set(err, GC_EINVAL, "[data] synthetic: unknown kind "
                            "%d", (int)kind);
    if (samples == 0)
        return gc_error_set(err, GC_EINVAL, "[data] synthetic_samples: "
                            "expected at least 1, got 0");
    if (!(noise >= 0.0 && isfinite(noise)))
        return gc_error_set(err, GC_EINVAL, "[data] synthetic_noise: "
                            "expected a finite standard deviation >= 0, "
                            "got %g", noise);
    /* xor always has two classes and ignores `classes`. */
    if (kind == GC_SYNTH_XOR)
        classes = 2;
    if (classes < 2 || classes > GC_SYNTH_MAX_CLASSES)
        return gc_error_set(err, GC_EINVAL, "[data] synthetic_classes: "
                            "expected 2 to %d classes, got %d",
                            GC_SYNTH_MAX_CLASSES, classes);

    gc_dataset *set = gc_dataset_alloc(samples, 2, classes);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (set == NULL || rng == NULL) {
        gc_dataset_free(set);
        if (rng != NULL)
            gsl_rng_free(rng);
        return gc_error_set(err, GC_ENOMEM, "no memory for %zu synthetic "
                            "samples", samples);
    }
    /* gsl_rng_set takes an unsigned long (64 bits here); MT19937 keeps the
     * low 32 bits, and GSL maps seed 0 to its default seed 4357. */
    gsl_rng_set(rng, (unsigned long)seed);
    gc_synthetic_fill(kind, classes, noise, rng, set);
    gsl_rng_free(rng);
    *out = set;
    return GC_OK;
}
