/* data_csv.c - a CSV file with one label column and numeric features.
 *
 * The whole file is read into memory and split in place.  Fields are
 * separated by commas; spaces and tabs around a field are ignored; a
 * field may be quoted ("a, b" with "" for a quote) but may not span
 * lines.  Line ends may be LF or CRLF, a UTF-8 byte-order mark is
 * skipped, and empty lines may follow the last row but not split the
 * data.  Numbers are read with strtod() in the C locale (a '.' decimal
 * point); NaN and infinities are refused.
 *
 * Labels: when every label is written with digits only they are class
 * numbers (classes = largest + 1, at least 2); otherwise every label is a
 * name and names become classes 0, 1, ... in order of first appearance.
 */
#include "dataset.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* More classes than this means the label column is probably wrong (a
 * feature column read as labels); the message says so. */
#define GC_CSV_MAX_CLASSES 1000

/* The longest piece of a bad field quoted back in a message. */
#define GC_CSV_QUOTE_MAX 40

typedef struct {
    char *text;         /* NUL-terminated, in the file buffer */
    size_t column;      /* 1-based character column where it starts */
} gc_csv_field;

typedef struct {
    const char *path;
    size_t line;                    /* 1-based number of the current line */

    gc_csv_field *fields;           /* the current line, split */
    size_t field_count, field_cap;

    char **header;                  /* column names, or NULL */
    size_t columns;                 /* 0 until the first line is seen */
    size_t first_line;              /* the line that fixed `columns` */
    size_t label;                   /* 0-based label column */

    double *x;                      /* rows x (columns - 1) */
    int *number;                    /* label as a class number, or -1 */
    int *name;                      /* label as a name index, or -1 */
    size_t rows, row_cap;

    const char **names;             /* distinct label texts, in order */
    size_t name_count;
    size_t names_full_line;         /* first line with one name too many */
    size_t number_big_line;         /* first line with a number too big */
    bool all_numbers;               /* every label so far is digits only */
} gc_csv_reader;

static void gc_csv_reader_free(gc_csv_reader *r)
{
    free(r->fields);
    free(r->header);
    free(r->x);
    free(r->number);
    free(r->name);
    free(r->names);
}

/* Reads the whole file into a NUL-terminated buffer. */
static gc_status gc_csv_slurp(const char *path, char **out, size_t *len,
                              gc_error *err)
{
    *out = NULL;
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return gc_error_set(err, GC_EDATA, "cannot open '%s': %s", path,
                            strerror(errno));

    size_t cap = 1 << 16, have = 0;
    char *buf = malloc(cap);
    gc_status status = GC_OK;
    while (buf != NULL) {
        have += fread(buf + have, 1, cap - have - 1, file);
        if (have < cap - 1)
            break;
        char *bigger = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    if (buf == NULL)
        status = gc_error_set(err, GC_ENOMEM, "'%s': no memory to read the "
                              "file", path);
    else if (ferror(file))
        status = gc_error_set(err, GC_EDATA, "cannot read '%s': %s", path,
                              strerror(errno));
    fclose(file);
    if (status != GC_OK) {
        free(buf);
        return status;
    }
    buf[have] = '\0';
    if (memchr(buf, '\0', have) != NULL) {
        free(buf);
        return gc_error_set(err, GC_EDATA, "'%s': expected a text CSV file, "
                            "found NUL bytes (a binary file?)", path);
    }
    *out = buf;
    *len = have;
    return GC_OK;
}

/* Appends one field to the current line's list. */
static gc_status gc_csv_push(gc_csv_reader *r, char *text, size_t column,
                             gc_error *err)
{
    if (r->field_count == r->field_cap) {
        size_t cap = r->field_cap == 0 ? 16 : 2 * r->field_cap;
        gc_csv_field *grown = realloc(r->fields, cap * sizeof *grown);
        if (grown == NULL)
            return gc_error_set(err, GC_ENOMEM, "'%s': no memory", r->path);
        r->fields = grown;
        r->field_cap = cap;
    }
    r->fields[r->field_count].text = text;
    r->fields[r->field_count].column = column;
    r->field_count++;
    return GC_OK;
}

static bool gc_csv_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Splits one line (no line end) into r->fields, in place. */
static gc_status gc_csv_split(gc_csv_reader *r, char *line, gc_error *err)
{
    r->field_count = 0;
    char *p = line;
    for (;;) {
        while (gc_csv_blank(*p))
            p++;
        size_t column = (size_t)(p - line) + 1;
        char *text = p, *end;

        if (*p == '"') {
            /* Unquote in place: the write pointer trails the read one. */
            char *w = ++p;
            text = w;
            for (;;) {
                if (*p == '\0')
                    return gc_error_set(err, GC_EDATA, "%s:%zu:%zu: quoted "
                                        "field has no closing quote",
                                        r->path, r->line, column);
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            while (gc_csv_blank(*p))
                p++;
            if (*p != ',' && *p != '\0')
                return gc_error_set(err, GC_EDATA, "%s:%zu:%zu: expected a "
                                    "comma after the closing quote, got "
                                    "'%c'", r->path, r->line,
                                    (size_t)(p - line) + 1, *p);
            end = w;
        } else {
            while (*p != ',' && *p != '\0')
                p++;
            end = p;
            while (end > text && gc_csv_blank(end[-1]))
                end--;
        }

        char separator = *p;
        *end = '\0';
        gc_status status = gc_csv_push(r, text, column, err);
        if (status != GC_OK)
            return status;
        if (separator == '\0')
            return GC_OK;
        p++;
    }
}

/* " (name)" for a column with a header name, "" otherwise. */
static void gc_csv_column_name(const gc_csv_reader *r, size_t j, char *out,
                               size_t size)
{
    if (r->header != NULL && r->header[j][0] != '\0')
        snprintf(out, size, " (%s)", r->header[j]);
    else
        out[0] = '\0';
}

/* Reads one feature; its message names line, column and header name. */
static gc_status gc_csv_number(const gc_csv_reader *r, size_t j,
                               double *out, gc_error *err)
{
    const gc_csv_field *field = &r->fields[j];
    char name[96];
    gc_csv_column_name(r, j, name, sizeof name);

    if (field->text[0] == '\0')
        return gc_error_set(err, GC_EDATA, "%s:%zu:%zu: column %zu%s: "
                            "expected a number, got an empty field", r->path,
                            r->line, field->column, j + 1, name);
    char *end = NULL;
    double v = strtod(field->text, &end);
    if (end == field->text || *end != '\0')
        return gc_error_set(err, GC_EDATA, "%s:%zu:%zu: column %zu%s: "
                            "expected a number, got '%.*s'", r->path,
                            r->line, field->column, j + 1, name,
                            GC_CSV_QUOTE_MAX, field->text);
    if (!isfinite(v))
        return gc_error_set(err, GC_EDATA, "%s:%zu:%zu: column %zu%s: "
                            "expected a finite number, got '%.*s'", r->path,
                            r->line, field->column, j + 1, name,
                            GC_CSV_QUOTE_MAX, field->text);
    *out = v;
    return GC_OK;
}

/* Notes one label both as a class number (if written with digits only)
 * and as a name, since the choice is made once the whole file is read. */
static gc_status gc_csv_label(gc_csv_reader *r, const char *text, int *number,
                              int *name, gc_error *err)
{
    *number = -1;
    bool digits = text[0] != '\0';
    long value = 0;
    for (const char *c = text; *c != '\0' && digits; c++) {
        if (*c < '0' || *c > '9')
            digits = false;
        else if (value < GC_CSV_MAX_CLASSES)
            value = value * 10 + (*c - '0');
    }
    if (!digits)
        r->all_numbers = false;
    else if (value < GC_CSV_MAX_CLASSES)
        *number = (int)value;
    else if (r->number_big_line == 0)
        r->number_big_line = r->line;

    *name = -1;
    for (size_t k = 0; k < r->name_count; k++)
        if (strcmp(r->names[k], text) == 0) {
            *name = (int)k;
            return GC_OK;
        }
    if (r->name_count == GC_CSV_MAX_CLASSES) {
        if (r->names_full_line == 0)
            r->names_full_line = r->line;
        return GC_OK;
    }
    if (r->name_count % 16 == 0) {
        const char **grown = realloc(r->names,
                                     (r->name_count + 16) * sizeof *grown);
        if (grown == NULL)
            return gc_error_set(err, GC_ENOMEM, "'%s': no memory", r->path);
        r->names = grown;
    }
    /* The text lives in the file buffer, which outlives the reader. */
    r->names[r->name_count] = text;
    *name = (int)r->name_count++;
    return GC_OK;
}

/* Fixes the column count (and the label column) from the first line. */
static gc_status gc_csv_columns(gc_csv_reader *r, int label_column,
                                gc_error *err)
{
    r->columns = r->field_count;
    r->first_line = r->line;
    if (r->columns < 2)
        return gc_error_set(err, GC_EDATA, "%s:%zu: expected a label column "
                            "and at least one feature column, got 1 column "
                            "(is the separator a comma?)", r->path, r->line);
    if (label_column >= 0 && (size_t)label_column >= r->columns)
        return gc_error_set(err, GC_EDATA, "%s:%zu: label_column is %d "
                            "(0-based; -1 = last) but the line has %zu "
                            "columns", r->path, r->line, label_column,
                            r->columns);
    r->label = label_column < 0 ? r->columns - 1 : (size_t)label_column;
    return GC_OK;
}

/* Stores one data row: features in file order without the label. */
static gc_status gc_csv_row(gc_csv_reader *r, gc_error *err)
{
    size_t f = r->columns - 1;
    if (r->rows == r->row_cap) {
        size_t cap = r->row_cap == 0 ? 256 : 2 * r->row_cap;
        if (cap > SIZE_MAX / sizeof(double) / f)
            return gc_error_set(err, GC_ENOMEM, "'%s': too many rows",
                                r->path);
        double *x = realloc(r->x, cap * f * sizeof *x);
        if (x != NULL)
            r->x = x;
        int *number = realloc(r->number, cap * sizeof *number);
        if (number != NULL)
            r->number = number;
        int *name = realloc(r->name, cap * sizeof *name);
        if (name != NULL)
            r->name = name;
        if (x == NULL || number == NULL || name == NULL)
            return gc_error_set(err, GC_ENOMEM, "'%s': no memory for %zu "
                                "rows", r->path, cap);
        r->row_cap = cap;
    }

    double *row = r->x + r->rows * f;
    for (size_t j = 0, k = 0; j < r->columns; j++) {
        gc_status status = j == r->label
            ? gc_csv_label(r, r->fields[j].text, &r->number[r->rows],
                           &r->name[r->rows], err)
            : gc_csv_number(r, j, &row[k++], err);
        if (status != GC_OK)
            return status;
    }
    r->rows++;
    return GC_OK;
}

/* Handles one line (without its line end). */
static gc_status gc_csv_line(gc_csv_reader *r, char *line, bool header,
                             int label_column, size_t *blank_line,
                             gc_error *err)
{
    const char *c = line;
    while (gc_csv_blank(*c))
        c++;
    bool want_header = header && r->line == 1;
    if (*c == '\0') {
        if (want_header)
            return gc_error_set(err, GC_EDATA, "%s:1: expected a header line "
                                "of column names, got an empty line",
                                r->path);
        if (*blank_line == 0)
            *blank_line = r->line;
        return GC_OK;
    }
    if (*blank_line != 0)
        return gc_error_set(err, GC_EDATA, "%s:%zu: empty line inside the "
                            "data (more rows follow on line %zu)", r->path,
                            *blank_line, r->line);

    gc_status status = gc_csv_split(r, line, err);
    if (status != GC_OK)
        return status;
    if (r->columns == 0) {
        status = gc_csv_columns(r, label_column, err);
        if (status != GC_OK)
            return status;
    } else if (r->field_count != r->columns) {
        return gc_error_set(err, GC_EDATA, "%s:%zu: expected %zu columns "
                            "(as on line %zu), got %zu", r->path, r->line,
                            r->columns, r->first_line, r->field_count);
    }

    if (!want_header)
        return gc_csv_row(r, err);
    r->header = malloc(r->columns * sizeof *r->header);
    if (r->header == NULL)
        return gc_error_set(err, GC_ENOMEM, "'%s': no memory", r->path);
    for (size_t j = 0; j < r->columns; j++)
        r->header[j] = r->fields[j].text;
    return GC_OK;
}

/* Turns the labels into classes once every row is known. */
static gc_status gc_csv_classes(gc_csv_reader *r, int *labels, int *classes,
                                gc_error *err)
{
    char name[96];
    gc_csv_column_name(r, r->label, name, sizeof name);

    if (r->all_numbers) {
        if (r->number_big_line != 0)
            return gc_error_set(err, GC_EDATA, "%s:%zu: column %zu%s: "
                                "expected a class number below %d (is "
                                "label_column right?)", r->path,
                                r->number_big_line, r->label + 1, name,
                                GC_CSV_MAX_CLASSES);
        *classes = 2;
        for (size_t i = 0; i < r->rows; i++) {
            labels[i] = r->number[i];
            if (labels[i] + 1 > *classes)
                *classes = labels[i] + 1;
        }
        return GC_OK;
    }
    if (r->names_full_line != 0)
        return gc_error_set(err, GC_EDATA, "%s:%zu: column %zu%s: more than "
                            "%d distinct labels (is label_column right?)",
                            r->path, r->names_full_line, r->label + 1, name,
                            GC_CSV_MAX_CLASSES);
    for (size_t i = 0; i < r->rows; i++)
        labels[i] = r->name[i];
    *classes = r->name_count < 2 ? 2 : (int)r->name_count;
    return GC_OK;
}

static gc_status gc_csv_parse(gc_csv_reader *r, char *buf, size_t len,
                              int label_column, bool header, gc_error *err)
{
    char *p = buf, *end = buf + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;

    size_t blank_line = 0;
    while (p < end) {
        char *newline = memchr(p, '\n', (size_t)(end - p));
        char *next = newline != NULL ? newline + 1 : end;
        char *line_end = newline != NULL ? newline : end;
        if (line_end > p && line_end[-1] == '\r')
            line_end--;
        *line_end = '\0';
        r->line++;

        gc_status status = gc_csv_line(r, p, header, label_column,
                                       &blank_line, err);
        if (status != GC_OK)
            return status;
        p = next;
    }
    if (r->rows == 0)
        return gc_error_set(err, GC_EDATA, "'%s': expected at least one row "
                            "of data, found %s", r->path,
                            r->header != NULL ? "only the header line"
                                              : "none");
    return GC_OK;
}

gc_status gc_csv_load(const char *path, int label_column, bool header,
                      gc_dataset **out, gc_error *err)
{
    if (path == NULL || out == NULL)
        return gc_error_set(err, GC_EINVAL, "gc_csv_load: NULL argument");
    *out = NULL;
    if (label_column < -1)
        return gc_error_set(err, GC_EINVAL, "gc_csv_load: label_column is "
                            "%d; expected a 0-based column or -1 (last)",
                            label_column);

    char *buf = NULL;
    size_t len = 0;
    gc_status status = gc_csv_slurp(path, &buf, &len, err);
    if (status != GC_OK)
        return status;

    gc_csv_reader r = {.path = path, .all_numbers = true};
    status = gc_csv_parse(&r, buf, len, label_column, header, err);

    gc_dataset *set = NULL;
    if (status == GC_OK) {
        set = gc_dataset_alloc(r.rows, r.columns - 1, 2);
        if (set == NULL)
            status = gc_error_set(err, GC_ENOMEM, "'%s': no memory for %zu "
                                  "x %zu doubles", path, r.rows,
                                  r.columns - 1);
    }
    if (status == GC_OK)
        status = gc_csv_classes(&r, set->labels, &set->classes, err);
    if (status == GC_OK) {
        memcpy(set->x, r.x, r.rows * (r.columns - 1) * sizeof(double));
        *out = set;
    } else {
        gc_dataset_free(set);
    }
    gc_csv_reader_free(&r);
    free(buf);
    return status;
}
