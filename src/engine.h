/* engine.h - the built-in dense network: one implementation of the model
 * under test (model.h), with the as-written mistakes living inside it.
 *
 * Layers l = 1..L, each z_l = W_l a_(l-1) + b_l followed by an activation;
 * a_0 is the batch input.  W_l is width_l x width_(l-1), row-major; the
 * flat parameter vector holds W_1, b_1, W_2, b_2, ... in that order.
 * Everything is double precision.  The correct backward is the default;
 * each field of gc_as_written_spec replaces one step of it (mistakes.c).
 *
 * One engine owns its parameters and every buffer for batches of up to
 * max_batch samples; gc_engine_free() releases all of it and accepts NULL.
 */
#ifndef GRADCHECK_ENGINE_H
#define GRADCHECK_ENGINE_H

#include "model.h"
#include "spec.h"
#include "status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct gc_engine gc_engine;

/* Builds the network the spec declares for `inputs` features.  Checks
 * that the as-written mistakes can apply (a transposed weight gradient
 * needs a square layer).  Parameters start at zero: call
 * gc_engine_init_params next. */
gc_status gc_engine_alloc(const gc_network_spec *network, gc_loss loss,
                          const gc_as_written_spec *as_written,
                          size_t inputs, size_t max_batch, gc_engine **out,
                          gc_error *err);
void gc_engine_free(gc_engine *engine);

/* Draws weights as network->init says, from a GSL mt19937 stream seeded
 * with seed; biases are set to bias_init. */
gc_status gc_engine_init_params(gc_engine *engine, uint64_t seed,
                                gc_error *err);

/* The model-under-test view of the engine; valid until gc_engine_free. */
gc_model *gc_engine_model(gc_engine *engine);

/* Bytes the engine allocated (parameters, activations, scratch). */
size_t gc_engine_bytes(const gc_engine *engine);

#endif
