/* foreign.h - a model gradcheck did not build, run in a child process:
 * a C plugin (include/gradcheck/plugin.h) or a program of any language
 * speaking the pipe protocol (docs/sources/pipe.md).
 *
 * Both speak the same protocol with gradcheck over one socket: the pipe
 * program on its stdin and stdout, the plugin through a small host
 * (plugin_host.c) that gradcheck forks, which dlopens the plugin and
 * answers for it.  So a segfault, an endless loop or garbage on the wire
 * ends only the child: every call has a time limit, and any failure
 * makes that call and every later one return GC_EMODEL with a message
 * naming the model, the call, its parameters and what happened.
 *
 * The model (gc_foreign_model) has loss and gradient, and a layer view
 * when the model declares its layers: widths, activations, z and a (and
 * deltas when declared) of the last gradient call.  It has no partial
 * evaluations, no hook and no update: the checker uses the parameter
 * method on whole-loss evaluations, and run.c reports what it skips.
 */
#ifndef GRADCHECK_FOREIGN_H
#define GRADCHECK_FOREIGN_H

#include "model.h"
#include "spec.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct gc_foreign gc_foreign;

typedef struct {
    gc_model_source source;     /* GC_MODEL_PLUGIN or GC_MODEL_PIPE */
    const char *path;           /* plugin: the shared object */
    const char *command;        /* pipe: the command line */
    const char *directory;      /* pipe: where it runs ("" = here) */
    double timeout;             /* seconds per call */
    size_t max_batch;           /* largest batch gradient() is given */
} gc_foreign_options;

/* Starts the child, reads its declaration and its starting parameters.
 * Errors (GC_EMODEL) say what the child said or did instead. */
gc_status gc_foreign_open(const gc_foreign_options *options,
                          gc_foreign **out, gc_error *err);

/* Ends the child (asks it to quit, then kills it) and frees everything;
 * accepts NULL. */
void gc_foreign_free(gc_foreign *foreign);

/* The model-under-test view; valid until gc_foreign_free. */
gc_model *gc_foreign_model(gc_foreign *foreign);

/* Features per sample and output units the model declared. */
size_t gc_foreign_inputs(const gc_foreign *foreign);
size_t gc_foreign_outputs(const gc_foreign *foreign);

/* "plugin PATH (NAME)" or "pipe 'COMMAND'", for reports. */
const char *gc_foreign_describe(const gc_foreign *foreign);

/* Calls of loss() and gradient() answered so far. */
size_t gc_foreign_calls(const gc_foreign *foreign);

/* After a failure: the call ("call 7 (gradient of a batch of 32 at ...)")
 * and what happened; false while the model answers. */
bool gc_foreign_failure(const gc_foreign *foreign, const char **call,
                        const char **reason);

/* The plugin host: run in the forked child, serves the protocol on fd for
 * the plugin at path and returns the child's exit status (plugin_host.c).
 * The only library code that runs outside gradcheck's own process. */
int gc_plugin_host_serve(const char *path, int fd);

#endif
