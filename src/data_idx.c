/* data_idx.c - IDX (MNIST-format) image and label files, plain or gzip.
 *
 * An IDX file is a 4-byte big-endian magic number 0x0000TTDD (TT the
 * element type, 0x08 = unsigned byte; DD the number of dimensions), DD
 * big-endian u32 sizes, then the elements in row-major order.  Images are
 * 0x00000803 (n x rows x cols), labels 0x00000801 (n).
 *
 * Compression is recognised from the first two bytes (1f 8b), never from
 * the name; zlib's gzread() passes a plain file through unchanged, so one
 * reader serves both.  Every message starts with "cannot open 'PATH'",
 * "cannot read 'PATH'" or "'PATH':" so that gc_data_load() can tell which
 * file (and so which config key) it concerns.
 */
#include "dataset.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GC_IDX_MAGIC_IMAGES 0x00000803u
#define GC_IDX_MAGIC_LABELS 0x00000801u

/* The pixel buffer grows in steps so that a header claiming more data
 * than the file holds costs no more memory than the file itself. */
#define GC_IDX_FIRST_CHUNK ((size_t)1 << 20)

/* zlib's own buffer; 256 KiB decompresses MNIST about twice as fast as
 * the 8 KiB default. */
#define GC_IDX_GZ_BUFFER (256u * 1024u)

typedef struct {
    const char *path;
    gzFile gz;
    bool gzip;          /* the file starts with the gzip magic 1f 8b */
    bool cut_short;     /* the gzip stream ended before its trailer */
} gc_idx_file;

/* What the header of one IDX file says. */
typedef struct {
    uint32_t count;     /* images or labels */
    uint32_t rows;      /* images only */
    uint32_t cols;
} gc_idx_header;

static void gc_idx_close(gc_idx_file *file)
{
    if (file->gz != NULL)
        gzclose(file->gz);
    file->gz = NULL;
}

/* Opens path for reading and notes whether it is gzip-compressed. */
static gc_status gc_idx_open(const char *path, gc_idx_file *file,
                             gc_error *err)
{
    file->path = path;
    file->gz = NULL;
    file->gzip = false;
    file->cut_short = false;

    /* Peek at the first two bytes with stdio: it gives a clean errno for
     * a missing file or a directory, which gzopen() does not promise. */
    FILE *peek = fopen(path, "rb");
    if (peek == NULL)
        return gc_error_set(err, GC_EDATA, "cannot open '%s': %s", path,
                            strerror(errno));
    unsigned char magic[2];
    size_t got = fread(magic, 1, sizeof magic, peek);
    if (got < sizeof magic && ferror(peek)) {
        int saved = errno;
        fclose(peek);
        return gc_error_set(err, GC_EDATA, "cannot read '%s': %s", path,
                            strerror(saved));
    }
    fclose(peek);
    file->gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;

    errno = 0;
    file->gz = gzopen(path, "rb");
    if (file->gz == NULL)
        return gc_error_set(err, GC_EDATA, "cannot open '%s': %s", path,
                            errno != 0 ? strerror(errno) : "out of memory");
    gzbuffer(file->gz, GC_IDX_GZ_BUFFER);
    return GC_OK;
}

/* Reads up to len bytes; *got says how many arrived.  Returns GC_OK at an
 * end of data too (then *got < len, and file->cut_short says whether a
 * gzip stream stopped early); GC_EDATA for corrupt compressed data or a
 * failed read, with the message filled. */
static gc_status gc_idx_read(gc_idx_file *file, unsigned char *buf,
                             size_t len, size_t *got, gc_error *err)
{
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > INT_MAX)
            want = INT_MAX;
        int n = gzread(file->gz, buf + *got, (unsigned)want);
        if (n > 0) {
            *got += (size_t)n;
            continue;
        }
        int zcode = Z_OK;
        const char *zmsg = gzerror(file->gz, &zcode);
        if (zcode == Z_OK || zcode == Z_STREAM_END)
            return GC_OK;
        if (zcode == Z_BUF_ERROR) {
            /* zlib's "unexpected end of file": a cut-off download. */
            file->cut_short = true;
            return GC_OK;
        }
        if (zcode == Z_ERRNO)
            return gc_error_set(err, GC_EDATA, "cannot read '%s': %s",
                                file->path, strerror(errno));
        return gc_error_set(err, GC_EDATA, "'%s': the gzip data is corrupt "
                            "(%s)", file->path, zmsg);
    }
    return GC_OK;
}

/* How the data ended, for truncation messages. */
static const char *gc_idx_end_note(const gc_idx_file *file)
{
    if (file->cut_short)
        return " (the gzip stream is cut short)";
    return file->gzip ? " (decompressed)" : "";
}

static uint32_t gc_be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
           (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* A short description of an unexpected magic number, for messages. */
static void gc_idx_describe_magic(uint32_t magic, char *out, size_t size)
{
    const char *type = NULL;
    switch ((magic >> 8) & 0xffu) {
    case 0x08: type = "unsigned-byte"; break;
    case 0x09: type = "signed-byte"; break;
    case 0x0b: type = "16-bit integer"; break;
    case 0x0c: type = "32-bit integer"; break;
    case 0x0d: type = "float"; break;
    case 0x0e: type = "double"; break;
    default: break;
    }
    unsigned dims = magic & 0xffu;

    if (magic == GC_IDX_MAGIC_LABELS)
        snprintf(out, size, "IDX unsigned-byte labels: is this the labels "
                 "file?");
    else if (magic == GC_IDX_MAGIC_IMAGES)
        snprintf(out, size, "IDX unsigned-byte images: is this the images "
                 "file?");
    else if ((magic >> 16) == 0 && type != NULL)
        snprintf(out, size, "IDX %s data in %u dimension%s", type, dims,
                 dims == 1 ? "" : "s");
    else if ((magic >> 16) == 0x1f8bu)
        snprintf(out, size, "gzip data inside gzip data: compressed twice?");
    else
        snprintf(out, size, "not an IDX file");
}

/* Reads and checks the magic number and the sizes that follow it. */
static gc_status gc_idx_read_header(gc_idx_file *file, uint32_t expected,
                                    const char *what, gc_idx_header *head,
                                    gc_error *err)
{
    unsigned dims = expected & 0xffu;
    size_t header_bytes = 4 + 4 * (size_t)dims;
    unsigned char bytes[16];
    size_t got = 0;

    gc_status status = gc_idx_read(file, bytes, 4, &got, err);
    if (status != GC_OK)
        return status;
    if (got < 4)
        return gc_error_set(err, GC_EDATA,
                            "'%s': expected magic 0x%08x (IDX unsigned-byte "
                            "%s), %s%s", file->path, (unsigned)expected,
                            what, got == 0 ? "the file is empty"
                                           : "the file ends inside it",
                            gc_idx_end_note(file));
    uint32_t magic = gc_be32(bytes);
    if (magic != expected) {
        char about[96];
        gc_idx_describe_magic(magic, about, sizeof about);
        return gc_error_set(err, GC_EDATA,
                            "'%s': expected magic 0x%08x (IDX unsigned-byte "
                            "%s), got 0x%08x (%s)", file->path,
                            (unsigned)expected, what, (unsigned)magic, about);
    }

    status = gc_idx_read(file, bytes + 4, header_bytes - 4, &got, err);
    if (status != GC_OK)
        return status;
    if (got < header_bytes - 4)
        return gc_error_set(err, GC_EDATA,
                            "'%s': expected a %zu-byte header, the file "
                            "ends after %zu bytes%s", file->path,
                            header_bytes, 4 + got, gc_idx_end_note(file));

    head->count = gc_be32(bytes + 4);
    head->rows = dims == 3 ? gc_be32(bytes + 8) : 1;
    head->cols = dims == 3 ? gc_be32(bytes + 12) : 1;
    if (head->count == 0)
        return gc_error_set(err, GC_EDATA, "'%s': the header says it holds "
                            "no %s", file->path, what);
    if (head->rows == 0 || head->cols == 0)
        return gc_error_set(err, GC_EDATA, "'%s': expected images of at "
                            "least 1x1 pixels, the header says %ux%u",
                            file->path, (unsigned)head->rows,
                            (unsigned)head->cols);
    return GC_OK;
}

/* Reads exactly len bytes of body into a new buffer and checks that
 * nothing follows.  what names the bytes in messages ("pixels"). */
static gc_status gc_idx_read_body(gc_idx_file *file, size_t len,
                                  const char *what, const char *layout,
                                  unsigned char **out, gc_error *err)
{
    *out = NULL;
    size_t cap = len < GC_IDX_FIRST_CHUNK ? len : GC_IDX_FIRST_CHUNK;
    unsigned char *buf = malloc(cap);
    if (buf == NULL)
        return gc_error_set(err, GC_ENOMEM, "'%s': no memory for %zu bytes "
                            "of %s", file->path, cap, what);

    size_t have = 0;
    for (;;) {
        size_t got = 0;
        gc_status status = gc_idx_read(file, buf + have, cap - have, &got,
                                       err);
        if (status != GC_OK) {
            free(buf);
            return status;
        }
        have += got;
        if (have < cap) {
            free(buf);
            return gc_error_set(err, GC_EDATA,
                                "'%s': expected %zu bytes of %s (%s), the "
                                "file ends after %zu%s", file->path, len,
                                what, layout, have, gc_idx_end_note(file));
        }
        if (cap == len)
            break;
        size_t grown = cap > len / 2 ? len : 2 * cap;
        unsigned char *bigger = realloc(buf, grown);
        if (bigger == NULL) {
            free(buf);
            return gc_error_set(err, GC_ENOMEM, "'%s': no memory for %zu "
                                "bytes of %s", file->path, grown, what);
        }
        buf = bigger;
        cap = grown;
    }

    /* A byte past the end means the header's count is wrong. */
    unsigned char extra;
    size_t got = 0;
    gc_status status = gc_idx_read(file, &extra, 1, &got, err);
    if (status == GC_OK && got != 0)
        status = gc_error_set(err, GC_EDATA,
                              "'%s': expected %zu bytes of %s (%s), the file "
                              "holds more: does the header's count match?",
                              file->path, len, what, layout);
    if (status != GC_OK) {
        free(buf);
        return status;
    }
    *out = buf;
    return GC_OK;
}

/* size_t product with an overflow check. */
static bool gc_idx_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return false;
    *out = a * b;
    return true;
}

gc_status gc_idx_load(const char *images_path, const char *labels_path,
                      gc_dataset **out, gc_error *err)
{
    return gc_idx_load_blamed(images_path, labels_path, out, NULL, err);
}

gc_status gc_idx_load_blamed(const char *images_path,
                             const char *labels_path, gc_dataset **out,
                             gc_idx_part *failed, gc_error *err)
{
    gc_idx_part ignored;
    if (failed == NULL)
        failed = &ignored;
    *failed = GC_IDX_IMAGES;
    if (out == NULL || images_path == NULL || labels_path == NULL)
        return gc_error_set(err, GC_EINVAL, "gc_idx_load: NULL argument");
    *out = NULL;

    gc_idx_file images = {0}, labels = {0};
    gc_idx_header image_head = {0}, label_head = {0};
    unsigned char *pixels = NULL, *label_bytes = NULL;

    /* Both headers first, so that a count mismatch is reported before
     * tens of megabytes are decompressed. */
    gc_status status = gc_idx_open(images_path, &images, err);
    if (status == GC_OK)
        status = gc_idx_read_header(&images, GC_IDX_MAGIC_IMAGES, "images",
                                    &image_head, err);
    if (status == GC_OK) {
        *failed = GC_IDX_LABELS;
        status = gc_idx_open(labels_path, &labels, err);
    }
    if (status == GC_OK)
        status = gc_idx_read_header(&labels, GC_IDX_MAGIC_LABELS, "labels",
                                    &label_head, err);
    if (status == GC_OK && image_head.count != label_head.count)
        status = gc_error_set(err, GC_EDATA,
                              "'%s' holds %u images but '%s' holds %u "
                              "labels: expected one label per image",
                              images_path, (unsigned)image_head.count,
                              labels_path, (unsigned)label_head.count);

    /* Shapes: n images of rows x cols bytes; n label bytes. */
    size_t n = image_head.count;
    size_t features = 0, pixel_bytes = 0;
    if (status == GC_OK)
        *failed = GC_IDX_IMAGES;
    if (status == GC_OK &&
        (!gc_idx_mul(image_head.rows, image_head.cols, &features) ||
         !gc_idx_mul(n, features, &pixel_bytes)))
        status = gc_error_set(err, GC_EDATA, "'%s': %zu images of %ux%u "
                              "pixels do not fit in memory", images_path, n,
                              (unsigned)image_head.rows,
                              (unsigned)image_head.cols);

    if (status == GC_OK) {
        char layout[96];
        snprintf(layout, sizeof layout, "%zu images of %ux%u after the "
                 "16-byte header", n, (unsigned)image_head.rows,
                 (unsigned)image_head.cols);
        status = gc_idx_read_body(&images, pixel_bytes, "pixels", layout,
                                  &pixels, err);
    }
    if (status == GC_OK) {
        *failed = GC_IDX_LABELS;
        char layout[64];
        snprintf(layout, sizeof layout, "%zu labels after the 8-byte header",
                 n);
        status = gc_idx_read_body(&labels, n, "labels", layout, &label_bytes,
                                  err);
    }
    gc_idx_close(&images);
    gc_idx_close(&labels);

    /* classes = largest label + 1, at least 2 (a one-class file still
     * trains a two-way output). */
    int classes = 2;
    for (size_t i = 0; status == GC_OK && i < n; i++)
        if (label_bytes[i] + 1 > classes)
            classes = label_bytes[i] + 1;

    gc_dataset *set = NULL;
    if (status == GC_OK) {
        *failed = GC_IDX_IMAGES;
        set = gc_dataset_alloc(n, features, classes);
        if (set == NULL)
            status = gc_error_set(err, GC_ENOMEM, "'%s': no memory for %zu "
                                  "x %zu doubles", images_path, n, features);
    }
    if (status == GC_OK) {
        for (size_t i = 0; i < pixel_bytes; i++)
            set->x[i] = (double)pixels[i];
        for (size_t i = 0; i < n; i++)
            set->labels[i] = label_bytes[i];
        *out = set;
    }
    free(pixels);
    free(label_bytes);
    return status;
}
