/* npy.c - the .npy reader (npy.h).
 *
 * Layout of a .npy file: the magic "\x93NUMPY", a major and a minor
 * version byte, the header length (2 bytes little-endian in version 1,
 * 4 bytes in versions 2 and 3), then that many bytes of a Python dict
 * literal such as {'descr': '<f8', 'fortran_order': False,
 * 'shape': (3, 4), } padded with spaces and ended by '\n', then the data.
 */
#include "npy.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* numpy writes headers of a few hundred bytes; anything far larger is not
 * an array file. */
#define HEADER_MAX 65536

/* The value text after 'key': in the header dict, or NULL. */
static const char *value_of(const char *header, const char *key)
{
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    const char *p = strstr(header, quoted);
    if (p == NULL)
        return NULL;
    p += strlen(quoted);
    while (*p == ' ')
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (*p == ' ')
        p++;
    return p;
}

static gc_status bad(gc_error *err, const char *path, const char *what,
                     const char *found)
{
    return gc_error_set(err, GC_EDATA, "%s: expected %s, got %s", path,
                        what, found);
}

/* The dtype: itemsize and whether it is the float or an integer kind. */
static gc_status parse_descr(const char *path, const char *header,
                             gc_npy_kind kind, size_t *itemsize,
                             bool *is_signed, gc_error *err)
{
    const char *v = value_of(header, "descr");
    char descr[16] = "";
    if (v == NULL || *v != '\'' ||
        sscanf(v + 1, "%15[^']", descr) != 1)
        return bad(err, path, "a header with a 'descr' string",
                   "none (not a plain array of numbers)");
    char shown[48];
    snprintf(shown, sizeof shown, "dtype '%s'", descr);
    if (kind == GC_NPY_FLOAT64) {
        if (strcmp(descr, "<f8") != 0)
            return bad(err, path, "dtype '<f8' (little-endian float64; "
                       "save with arr.astype('<f8'))", shown);
        *itemsize = 8;
        *is_signed = true;
        return GC_OK;
    }
    char order = descr[0], type = descr[1];
    int size = atoi(descr + 2);
    bool order_ok = order == '<' || (order == '|' && size == 1);
    if (!order_ok || (type != 'i' && type != 'u') ||
        (size != 1 && size != 2 && size != 4 && size != 8) ||
        strlen(descr) != (size >= 10 ? 4u : 3u))
        return bad(err, path, "a little-endian integer dtype ('<i8', "
                   "'<i4', '|u1', ...) for class labels", shown);
    *itemsize = (size_t)size;
    *is_signed = type == 'i';
    return GC_OK;
}

static gc_status parse_shape(const char *path, const char *header,
                             gc_npy_array *a, gc_error *err)
{
    const char *v = value_of(header, "fortran_order");
    if (v == NULL || strncmp(v, "False", 5) != 0)
        return bad(err, path, "C order ('fortran_order': False; save "
                   "np.ascontiguousarray(arr))", "Fortran order or none");
    v = value_of(header, "shape");
    if (v == NULL || *v != '(')
        return bad(err, path, "a 'shape' tuple in the header", "none");
    const char *p = v + 1;
    a->ndim = 0;
    a->count = 1;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            break;
        char *end;
        errno = 0;
        unsigned long long d = strtoull(p, &end, 10);
        if (end == p || errno != 0 || a->ndim == GC_NPY_MAX_DIMS ||
            (d > 0 && a->count > SIZE_MAX / 8 / d))
            return bad(err, path, "a shape of at most 4 dimensions, each "
                       "a whole number", "something else");
        a->shape[a->ndim++] = (size_t)d;
        a->count *= (size_t)d;
        p = end;
    }
    return GC_OK;
}

static double decode(const unsigned char *b, size_t size, bool is_signed,
                     bool *in_range)
{
    uint64_t u = 0;
    for (size_t i = 0; i < size; i++)
        u |= (uint64_t)b[i] << (8 * i);
    if (is_signed && size < 8 && (u >> (8 * size - 1)) & 1)
        u |= ~(uint64_t)0 << (8 * size);     /* sign-extend */
    if (is_signed) {
        int64_t s = (int64_t)u;
        *in_range = s >= INT_MIN && s <= INT_MAX;
        return (double)s;
    }
    *in_range = u <= INT_MAX;
    return (double)u;
}

static gc_status read_data(FILE *f, const char *path, gc_npy_kind kind,
                           size_t itemsize, bool is_signed, gc_npy_array *a,
                           gc_error *err)
{
    size_t bytes = a->count * itemsize;
    unsigned char *raw = malloc(bytes ? bytes : 1);
    if (raw == NULL)
        return gc_error_set(err, GC_ENOMEM, "%s: no memory for %zu "
                            "values", path, a->count);
    size_t got = fread(raw, 1, bytes, f);
    int extra = fgetc(f);
    if (got != bytes || extra != EOF) {
        free(raw);
        char found[64];
        snprintf(found, sizeof found, "%s", got != bytes
                 ? "fewer (the file is truncated)" : "more bytes after them");
        char what[96];
        snprintf(what, sizeof what, "%zu bytes of data for the shape in "
                 "its header", bytes);
        return bad(err, path, what, found);
    }
    for (size_t i = 0; i < a->count; i++) {
        if (kind == GC_NPY_FLOAT64) {
            memcpy(&a->values[i], raw + 8 * i, 8);
            continue;
        }
        bool ok;
        a->values[i] = decode(raw + itemsize * i, itemsize, is_signed, &ok);
        if (!ok) {
            free(raw);
            return bad(err, path, "integer labels within int range",
                       "a larger value");
        }
    }
    free(raw);
    return GC_OK;
}

gc_status gc_npy_read(const char *path, gc_npy_kind kind,
                      gc_npy_array **out, gc_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return gc_error_set(err, GC_EDATA, "%s: cannot open: %s", path,
                            strerror(errno));
    unsigned char head[12];
    size_t got = fread(head, 1, 10, f);
    gc_status status = GC_OK;
    if (got < 10 || memcmp(head, "\x93NUMPY", 6) != 0) {
        fclose(f);
        return bad(err, path, "a .npy file (magic \\x93NUMPY)",
                   "other bytes");
    }
    unsigned major = head[6];
    size_t header_len = (size_t)head[8] | (size_t)head[9] << 8;
    if (major == 2 || major == 3) {
        if (fread(head + 10, 1, 2, f) != 2) {
            fclose(f);
            return bad(err, path, "a complete header", "a truncated one");
        }
        header_len |= (size_t)head[10] << 16 | (size_t)head[11] << 24;
    } else if (major != 1) {
        fclose(f);
        char found[32];
        snprintf(found, sizeof found, "version %u", major);
        return bad(err, path, "format version 1, 2 or 3", found);
    }
    if (header_len == 0 || header_len > HEADER_MAX) {
        fclose(f);
        return bad(err, path, "a header of at most 64 KiB", "a larger one");
    }
    char *header = malloc(header_len + 1);
    if (header == NULL) {
        fclose(f);
        return gc_error_set(err, GC_ENOMEM, "%s: no memory", path);
    }
    if (fread(header, 1, header_len, f) != header_len) {
        free(header);
        fclose(f);
        return bad(err, path, "a complete header", "a truncated one");
    }
    header[header_len] = '\0';
    gc_npy_array shape;
    memset(&shape, 0, sizeof shape);
    size_t itemsize = 0;
    bool is_signed = true;
    status = parse_descr(path, header, kind, &itemsize, &is_signed, err);
    if (status == GC_OK)
        status = parse_shape(path, header, &shape, err);
    free(header);
    gc_npy_array *a = NULL;
    if (status == GC_OK) {
        a = malloc(sizeof *a + (shape.count ? shape.count : 1) *
                               sizeof(double));
        if (a == NULL)
            status = gc_error_set(err, GC_ENOMEM, "%s: no memory", path);
    }
    if (status == GC_OK) {
        *a = shape;
        a->values = (double *)(a + 1);
        status = read_data(f, path, kind, itemsize, is_signed, a, err);
    }
    fclose(f);
    if (status != GC_OK) {
        free(a);
        return status;
    }
    *out = a;
    return GC_OK;
}

void gc_npy_free(gc_npy_array *a)
{
    free(a);
}
