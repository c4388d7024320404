/* config.h - reads an INI config file into a gc_spec.
 *
 * The file format, every key, its default and its range are described in
 * docs/config.md.  Nothing else in gradcheck reads the config file.
 *
 * Both functions start from gc_spec_init(), so keys a file leaves out keep
 * their defaults and an empty file is a valid run.  On success spec->path
 * holds the file name, the data paths are resolved against the config's
 * directory and spec->data.line_of_* say where each data path was set.
 * On failure *spec holds the defaults again (with spec->path set) and err
 * holds one message naming the file, the line, the section, the key, what
 * was expected and what was found, e.g.
 *     "run.cfg:12: [network] layers: expected width:activation for
 *      layer 2, got '10'"
 * Parsing stops at the first error.
 */
#ifndef GRADCHECK_CONFIG_H
#define GRADCHECK_CONFIG_H

#include "spec.h"
#include "status.h"

/* Reads the file at path (at most GC_CONFIG_MAX_BYTES).  Returns GC_OK,
 * GC_ECONFIG for a file that cannot be opened or whose contents are
 * wrong, GC_EIO when reading fails part-way, GC_ENOMEM, or GC_EINVAL for
 * NULL arguments. */
gc_status gc_config_load(const char *path, gc_spec *spec, gc_error *err);

/* Parses config text held in memory, as if it had been read from a file
 * called name_for_messages: that name appears in messages, is stored in
 * spec->path, and its directory is the base for relative data paths.
 * NULL means "<string>", with relative data paths kept as written. */
gc_status gc_config_parse_string(const char *text,
                                 const char *name_for_messages,
                                 gc_spec *spec, gc_error *err);

/* A config is a few hundred lines; anything larger is not a config. */
#define GC_CONFIG_MAX_BYTES (1024 * 1024)

#endif
