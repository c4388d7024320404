/* setup.h - what a run needs before its first step, shared by the run
 * loop (run.c) and by a session (session.c, for gradcheck trace and
 * sweep), so that the two cannot drift apart:
 *
 *   - the data of [data], loaded with seed stream GC_SEED_DATA;
 *   - the model under test, built from [model] source: the engine of
 *     [network] (initialised from GC_SEED_INIT or [network] seed), a
 *     plugin or pipe in a child process (foreign.h), or a snapshot
 *     (snapshot.h), whose saved batch is the training set and whose
 *     spec is adjusted to one step of the whole batch;
 *   - the planned number of steps;
 *   - the batch order (a permutation, reshuffled with GC_SEED_SHUFFLE at
 *     each epoch when [training] shuffle is on) and the batch of step s.
 *
 * Shapes: the batch of a step is batch_size x features, row-major, as
 * gc_batch says (model.h).
 *
 * The struct is the caller's (on its stack or inside its own state) so
 * that a set-up that failed half way still shows what it built: gc_run
 * reports a plugin that would not start with the data it had loaded.
 * gc_setup_close() frees everything on every path.  Do not copy the
 * struct once opened: for a snapshot, spec points into it.
 */
#ifndef GRADCHECK_SETUP_H
#define GRADCHECK_SETUP_H

#include "dataset.h"
#include "engine.h"
#include "foreign.h"
#include "model.h"
#include "snapshot.h"
#include "spec.h"
#include "status.h"

#include <gsl/gsl_rng.h>
#include <stddef.h>

/* The independent seed streams of a run (gc_seed_derive). */
enum {
    GC_SEED_DATA = 0,       /* the synthetic data sets */
    GC_SEED_INIT = 1,       /* the engine's initial parameters */
    GC_SEED_SHUFFLE = 2,    /* the batch order */
    GC_SEED_CHECKS = 3,     /* the checks' directions and samples */
    GC_SEED_RECHECKS = 4    /* the rechecks at a larger step */
};

/* The engine is built for batches of at least this many samples: the
 * run's test accuracy goes through predict() in chunks of this size. */
#define GC_SETUP_EVAL_CHUNK 256

typedef struct {
    /* The spec every step follows: the caller's, or `adjusted` for a
     * snapshot.  Valid while the caller's spec and this struct are. */
    const gc_spec *spec;
    gc_dataset *train;          /* NULL until loaded */
    gc_dataset *test;           /* NULL when there is none (snapshot) */
    gc_model *model;            /* NULL until built */
    gc_engine *engine;          /* source = engine */
    gc_foreign *foreign;        /* source = plugin or pipe */
    gc_snapshot *snapshot;      /* source = snapshot */
    size_t inputs;              /* features per sample */
    size_t steps;               /* planned steps; 0 until the model is */
    gc_batch batch;             /* of the last gc_setup_fill_batch() */

    /* owned by setup.c */
    gc_spec adjusted;
    gsl_rng *shuffle_rng;
    size_t *order;              /* train->samples: the permutation */
    double *batch_x;            /* batch_size x inputs */
    int *batch_labels;          /* batch_size */
} gc_setup;

/* Derives an independent 64-bit seed for stream `stream` of a run (the
 * SplitMix64 finaliser of seed + stream * golden ratio). */
unsigned long long gc_seed_derive(unsigned long long seed, unsigned stream);

/* Loads the data and builds the model of spec into *setup (which it
 * clears first).  On failure the members built so far stay set for the
 * caller to report; call gc_setup_close() in either case.  spec must
 * outlive the set-up.  Errors: those of the data, the engine, the
 * foreign model (GC_EMODEL) or the snapshot, and GC_ECONFIG when the
 * model's inputs or outputs do not fit the data. */
gc_status gc_setup_open(gc_setup *setup, const gc_spec *spec,
                        gc_error *err);

/* Frees everything gc_setup_open() built, including a child process;
 * safe on a cleared or half-built set-up, and more than once. */
void gc_setup_close(gc_setup *setup);

/* Fills setup->batch with the samples of `step`: positions step * batch
 * to step * batch + batch - 1 of the permutation, modulo the training
 * set, shuffling at each position 0 when [training] shuffle is on.  The
 * shuffles consume the RNG, so it must be called for every step in turn
 * from 0. */
void gc_setup_fill_batch(gc_setup *setup, size_t step);

/* One training update of the model's parameters with its gradient: the
 * model's own rule when it has one, else params -= learning_rate * grad
 * (param_count values). */
gc_status gc_setup_update(gc_model *model, const double *grad,
                          double learning_rate, gc_error *err);

#endif
