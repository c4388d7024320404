/* npy.h - a small reader of NumPy .npy files (format versions 1, 2, 3).
 *
 * What it accepts, and nothing else: C order (fortran_order False), one
 * to four dimensions (or a 0-d scalar), and
 *   - GC_NPY_FLOAT64: dtype '<f8' (little-endian float64);
 *   - GC_NPY_INTEGER: a little-endian signed or unsigned integer of 1, 2,
 *     4 or 8 bytes ('|i1', '<i4', '<i8', '|u1', ...), each value within
 *     int range.
 * The file's length must be exactly the header plus the data.  Every
 * error names the file and says what was expected and what was found.
 * One allocation per array: gc_npy_free() releases it and accepts NULL.
 */
#ifndef GRADCHECK_NPY_H
#define GRADCHECK_NPY_H

#include "status.h"

#include <stddef.h>

#define GC_NPY_MAX_DIMS 4

typedef enum { GC_NPY_FLOAT64, GC_NPY_INTEGER } gc_npy_kind;

typedef struct {
    size_t ndim;
    size_t shape[GC_NPY_MAX_DIMS];
    size_t count;        /* product of the shape (1 for a scalar) */
    double *values;      /* count values, C order; integers as doubles */
} gc_npy_array;

/* Reads path into a new array (*out); GC_EDATA for a malformed file or
 * another dtype, GC_EIO for a read error, GC_ENOMEM. */
gc_status gc_npy_read(const char *path, gc_npy_kind kind,
                      gc_npy_array **out, gc_error *err);
void gc_npy_free(gc_npy_array *array);

#endif
