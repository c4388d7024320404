/* snapshot.h - a network's gradients saved as .npy files, checked against
 * the forward the config declares (docs/sources/snapshot.md).
 *
 * The directory holds, for the network [network] declares (tensors named
 * as the built-in engine names them: layer1.W, layer1.b, ...):
 *   x.npy             batch x inputs, float64: the batch
 *   labels.npy        batch, integers: its class labels
 *   <tensor>.npy      the parameters, float64: W of layer l is
 *                     width_l x width_(l-1) (z = W a + b); b is width_l
 *                     (or width_l x 1)
 *   grad.<tensor>.npy the user's gradient of the batch loss, same shape
 * The model's loss is the engine's loss of the declared network, so the
 * reference of every check is that declared forward, not the user's own;
 * its gradient is the saved one, valid at the saved parameters only.
 */
#ifndef GRADCHECK_SNAPSHOT_H
#define GRADCHECK_SNAPSHOT_H

#include "dataset.h"
#include "model.h"
#include "spec.h"
#include "status.h"

typedef struct gc_snapshot gc_snapshot;

/* Reads every file; errors (GC_EDATA) name the file and what was
 * expected of it. */
gc_status gc_snapshot_open(const char *directory,
                           const gc_network_spec *network, gc_loss loss,
                           gc_snapshot **out, gc_error *err);
void gc_snapshot_free(gc_snapshot *snapshot);

/* The model-under-test view; valid until gc_snapshot_free. */
gc_model *gc_snapshot_model(gc_snapshot *snapshot);

/* The saved batch as a dataset, handed to the caller (who frees it with
 * gc_dataset_free); a second call returns NULL. */
gc_dataset *gc_snapshot_take_batch(gc_snapshot *snapshot);

#endif
