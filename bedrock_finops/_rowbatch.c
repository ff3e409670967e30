/* Row tuples -> one Arrow record batch, compiled: the hot loop of bedrock_finops.row_batch.
 *
 * rows_to_batch(rows, layout) -> PyCapsule "arrow_array" (Arrow C data interface, a struct
 * array whose children are the batch's columns; row_batch.py pairs it with the schema).
 *
 * ``layout`` gives one (kind, index) pair per output column: the value at ``row[index]`` of
 * each row becomes the column's value. Kinds:
 *   's' string  'L' large_string  'i' int64  'f' float64  'b' bool  't' timestamp (int64)
 *   'n' all null (index ignored)
 *   'p' list<struct<kind: large_string, hash: large_string, tokens: int64>> from 3-tuples
 * None is null in every kind. Any other type than the exact one expected (a bool where an
 * int belongs, an int where a float belongs, ...) raises TypeError: the caller then lets
 * pyarrow convert that batch, so odd values get exactly pyarrow's treatment.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- the Arrow C data interface */

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

typedef struct {
    void *buffers[3];        /* owned: freed on release */
    const void *views[3];    /* what ArrowArray.buffers points at */
    struct ArrowArray **children;
    int64_t n_children;
} Owned;

static void release_array(struct ArrowArray *array) {
    Owned *own = array->private_data;
    for (int64_t i = 0; i < own->n_children; i++) {
        struct ArrowArray *child = own->children[i];
        if (child->release != NULL) child->release(child); /* NULL: moved by the consumer */
        free(child);
    }
    free(own->children);
    for (int i = 0; i < 3; i++) free(own->buffers[i]);
    free(own);
    array->release = NULL;
}

/* Fill ``array`` (length, nulls, buffers taken over, children taken over). 0 on success. */
static int init_array(struct ArrowArray *array, int64_t length, int64_t nulls, int n_buffers,
                      void *b0, void *b1, void *b2, struct ArrowArray **children,
                      int64_t n_children) {
    Owned *own = calloc(1, sizeof(Owned));
    if (own == NULL) return -1;
    own->buffers[0] = b0;
    own->buffers[1] = b1;
    own->buffers[2] = b2;
    for (int i = 0; i < 3; i++) own->views[i] = own->buffers[i];
    own->children = children;
    own->n_children = n_children;
    memset(array, 0, sizeof *array);
    array->length = length;
    array->null_count = nulls;
    array->n_buffers = n_buffers;
    array->n_children = n_children;
    array->buffers = own->views;
    array->children = children;
    array->release = release_array;
    array->private_data = own;
    return 0;
}

/* ---------------------------------------------------------------------- growable buffers */

typedef struct {
    char *data;
    size_t len, cap;
} Buf;

static int reserve(Buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra) cap *= 2;
    char *grown = realloc(b->data, cap);
    if (grown == NULL) return -1;
    b->data = grown;
    b->cap = cap;
    return 0;
}

static int append(Buf *b, const void *src, size_t n) {
    if (reserve(b, n)) return -1;
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 0;
}

/* A validity bitmap (all valid), or NULL on failure. */
static uint8_t *new_bitmap(int64_t n) {
    uint8_t *bits = malloc((size_t)(n / 8 + 1));
    if (bits != NULL) memset(bits, 0xff, (size_t)(n / 8 + 1));
    return bits;
}

static inline void set_null(uint8_t *bits, int64_t i) { bits[i / 8] &= (uint8_t)~(1u << (i % 8)); }

static int wrong_type(PyObject *value, const char *wanted) {
    PyErr_Format(PyExc_TypeError, "expected %s or None, got %.100s", wanted, Py_TYPE(value)->tp_name);
    return -1;
}

/* ---------------------------------------------------------------------- column builders */

typedef struct {
    PyObject **items; /* the rows' values for this column (borrowed) */
    int64_t n;
} Values;

/* Append one string's end to offsets (4-byte for string, 8-byte for large_string). */
static int put_end(Buf *offsets, size_t end, int width) {
    if (width == 8) {
        int64_t end64 = (int64_t)end;
        return append(offsets, &end64, 8);
    }
    int32_t end32 = (int32_t)end;
    return append(offsets, &end32, 4);
}

/* Append one string to offsets/data. */
static int put_string(Buf *offsets, Buf *data, PyObject *value, int width) {
    Py_ssize_t size;
    const char *utf8 = PyUnicode_AsUTF8AndSize(value, &size);
    if (utf8 == NULL) return -1;
    if (width == 4 && data->len + (size_t)size > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "string column over 2 GB in one batch");
        return -1;
    }
    if (append(data, utf8, (size_t)size)) return -1;
    return put_end(offsets, data->len, width);
}

/* string (width 4) and large_string (width 8) columns */
static int build_strings(struct ArrowArray *out, Values v, int width) {
    Buf offsets = {0}, data = {0};
    uint8_t *bits = new_bitmap(v.n);
    int64_t nulls = 0;
    /* size the buffers once: ASCII text (nearly all of it) is as long in UTF-8 as in
     * characters, and the rest only grows the data buffer a few times */
    size_t chars = 0;
    for (int64_t i = 0; i < v.n; i++)
        if (PyUnicode_CheckExact(v.items[i])) chars += (size_t)PyUnicode_GET_LENGTH(v.items[i]);
    if (bits == NULL || reserve(&offsets, (size_t)(v.n + 1) * (size_t)width) ||
        reserve(&data, chars + 1) || put_end(&offsets, 0, width))
        goto fail;
    for (int64_t i = 0; i < v.n; i++) {
        PyObject *value = v.items[i];
        if (value == Py_None) {
            set_null(bits, i);
            nulls++;
            if (put_end(&offsets, data.len, width)) goto fail;
        } else if (!PyUnicode_CheckExact(value)) {
            wrong_type(value, "str");
            goto fail;
        } else if (put_string(&offsets, &data, value, width)) {
            goto fail;
        }
    }
    if (data.data == NULL && reserve(&data, 1)) goto fail;
    if (init_array(out, v.n, nulls, 3, bits, offsets.data, data.data, NULL, 0)) goto fail;
    return 0;
fail:
    free(bits);
    free(offsets.data);
    free(data.data);
    return -1;
}

/* Hand a validity bitmap and one values buffer over to ``out``; free both if that fails. */
static int hand_over(struct ArrowArray *out, int64_t n, int64_t nulls, uint8_t *bits, void *values,
                     int failed) {
    if (!failed && bits != NULL && values != NULL &&
        init_array(out, n, nulls, 2, bits, values, NULL, NULL, 0) == 0)
        return 0;
    free(values);
    free(bits);
    return -1;
}

/* int64, timestamp and float64 columns: 8-byte values */
static int build_fixed(struct ArrowArray *out, Values v, char kind) {
    int64_t *values = malloc((size_t)v.n * 8 + 8);
    uint8_t *bits = new_bitmap(v.n);
    int64_t nulls = 0;
    int failed = values == NULL || bits == NULL;
    for (int64_t i = 0; !failed && i < v.n; i++) {
        PyObject *value = v.items[i];
        if (value == Py_None) {
            set_null(bits, i);
            nulls++;
            values[i] = 0;
        } else if (kind == 'f') {
            if (!PyFloat_CheckExact(value)) {
                failed = wrong_type(value, "float");
                break;
            }
            double d = PyFloat_AS_DOUBLE(value);
            memcpy(&values[i], &d, 8);
        } else {
            if (!PyLong_CheckExact(value)) { /* bool is not an exact int: pyarrow decides */
                failed = wrong_type(value, "int");
                break;
            }
            long long x = PyLong_AsLongLong(value);
            failed = x == -1 && PyErr_Occurred() != NULL;
            values[i] = (int64_t)x;
        }
    }
    return hand_over(out, v.n, nulls, bits, values, failed);
}

static int build_bools(struct ArrowArray *out, Values v) {
    uint8_t *values = calloc((size_t)(v.n / 8 + 1), 1);
    uint8_t *bits = new_bitmap(v.n);
    int64_t nulls = 0;
    int failed = values == NULL || bits == NULL;
    for (int64_t i = 0; !failed && i < v.n; i++) {
        PyObject *value = v.items[i];
        if (value == Py_None) {
            set_null(bits, i);
            nulls++;
        } else if (value == Py_True) {
            values[i / 8] |= (uint8_t)(1u << (i % 8));
        } else if (value != Py_False) {
            failed = wrong_type(value, "bool");
        }
    }
    return hand_over(out, v.n, nulls, bits, values, failed);
}

static int build_nulls(struct ArrowArray *out, int64_t n) {
    /* a string column with every slot null: validity all zero, offsets all zero */
    uint8_t *bits = calloc((size_t)(n / 8 + 1), 1);
    int32_t *offsets = calloc((size_t)n + 1, 4);
    char *data = malloc(1);
    if (bits == NULL || offsets == NULL || data == NULL ||
        init_array(out, n, n, 3, bits, offsets, data, NULL, 0)) {
        free(bits);
        free(offsets);
        free(data);
        return -1;
    }
    return 0;
}

static struct ArrowArray **new_children(int64_t n) {
    struct ArrowArray **children = calloc((size_t)n, sizeof *children);
    if (children == NULL) return NULL;
    for (int64_t i = 0; i < n; i++) {
        if ((children[i] = calloc(1, sizeof(struct ArrowArray))) == NULL) {
            for (int64_t j = 0; j < i; j++) free(children[j]);
            free(children);
            return NULL;
        }
    }
    return children;
}

static void free_children(struct ArrowArray **children, int64_t n) {
    if (children == NULL) return;
    for (int64_t i = 0; i < n; i++) {
        if (children[i]->release != NULL) children[i]->release(children[i]);
        free(children[i]);
    }
    free(children);
}

/* list<struct<kind: large_string, hash: large_string, tokens: int64>> from lists of 3-tuples
 * (64-bit string offsets: a month of long agent conversations passes 2 GB of hashes) */
static int build_prefixes(struct ArrowArray *out, Values v) {
    Buf list_offsets = {0}, kind_offsets = {0}, kinds = {0}, hash_offsets = {0}, hashes = {0};
    Buf tokens = {0};
    uint8_t *bits = new_bitmap(v.n);
    struct ArrowArray **fields = NULL, **items = NULL;
    int64_t nulls = 0, count = 0;
    int32_t zero = 0;
    if (bits == NULL || append(&list_offsets, &zero, 4) || put_end(&kind_offsets, 0, 8) ||
        put_end(&hash_offsets, 0, 8))
        goto fail;
    for (int64_t i = 0; i < v.n; i++) {
        PyObject *value = v.items[i];
        if (value == Py_None) {
            set_null(bits, i);
            nulls++;
        } else if (!PyList_CheckExact(value)) {
            wrong_type(value, "list");
            goto fail;
        } else {
            for (Py_ssize_t k = 0; k < PyList_GET_SIZE(value); k++) {
                PyObject *entry = PyList_GET_ITEM(value, k);
                if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 3) {
                    wrong_type(entry, "(kind, hash, tokens) tuple");
                    goto fail;
                }
                PyObject *kind = PyTuple_GET_ITEM(entry, 0), *hash = PyTuple_GET_ITEM(entry, 1);
                PyObject *n = PyTuple_GET_ITEM(entry, 2);
                if (!PyUnicode_CheckExact(kind) || !PyUnicode_CheckExact(hash) || !PyLong_CheckExact(n)) {
                    wrong_type(entry, "(str, str, int) tuple");
                    goto fail;
                }
                long long t = PyLong_AsLongLong(n);
                if (t == -1 && PyErr_Occurred()) goto fail;
                int64_t t64 = (int64_t)t;
                if (put_string(&kind_offsets, &kinds, kind, 8) || put_string(&hash_offsets, &hashes, hash, 8) ||
                    append(&tokens, &t64, 8))
                    goto fail;
                count++;
            }
        }
        if (count > INT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "too many prefix entries in one batch");
            goto fail;
        }
        int32_t end = (int32_t)count;
        if (append(&list_offsets, &end, 4)) goto fail;
    }
    if ((kinds.data == NULL && reserve(&kinds, 1)) || (hashes.data == NULL && reserve(&hashes, 1)) ||
        (tokens.data == NULL && reserve(&tokens, 8)))
        goto fail;
    if ((fields = new_children(3)) == NULL) goto fail;
    if (init_array(fields[0], count, 0, 3, NULL, kind_offsets.data, kinds.data, NULL, 0)) goto fail;
    kind_offsets.data = kinds.data = NULL;
    if (init_array(fields[1], count, 0, 3, NULL, hash_offsets.data, hashes.data, NULL, 0)) goto fail;
    hash_offsets.data = hashes.data = NULL;
    if (init_array(fields[2], count, 0, 2, NULL, tokens.data, NULL, NULL, 0)) goto fail;
    tokens.data = NULL;
    if ((items = new_children(1)) == NULL) goto fail;
    if (init_array(items[0], count, 0, 1, NULL, NULL, NULL, fields, 3)) goto fail;
    fields = NULL;
    if (init_array(out, v.n, nulls, 2, bits, list_offsets.data, NULL, items, 1)) goto fail;
    return 0;
fail:
    free_children(items, 1);
    free_children(fields, 3);
    free(bits);
    free(list_offsets.data);
    free(kind_offsets.data);
    free(kinds.data);
    free(hash_offsets.data);
    free(hashes.data);
    free(tokens.data);
    return -1;
}

/* ---------------------------------------------------------------------------- the module */

static void capsule_destructor(PyObject *capsule) {
    struct ArrowArray *array = PyCapsule_GetPointer(capsule, "arrow_array");
    if (array == NULL) {
        PyErr_Clear();
        return;
    }
    if (array->release != NULL) array->release(array); /* not taken by a consumer */
    free(array);
}

static PyObject *rows_to_batch(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *rows, *layout;
    if (!PyArg_ParseTuple(args, "O!O!:rows_to_batch", &PyList_Type, &rows, &PyTuple_Type, &layout))
        return NULL;
    const int64_t n = PyList_GET_SIZE(rows), n_columns = PyTuple_GET_SIZE(layout);
    PyObject **column = PyMem_Malloc(sizeof(PyObject *) * (size_t)(n + 1));
    struct ArrowArray **children = new_children(n_columns);
    struct ArrowArray *batch = calloc(1, sizeof *batch);
    if (column == NULL || children == NULL || batch == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (int64_t c = 0; c < n_columns; c++) {
        int kind;
        Py_ssize_t index;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(layout, c), "Cn", &kind, &index)) goto fail;
        if (kind != 'n') {
            for (int64_t r = 0; r < n; r++) {
                PyObject *row = PyList_GET_ITEM(rows, r);
                if (!PyTuple_CheckExact(row) || index < 0 || index >= PyTuple_GET_SIZE(row)) {
                    PyErr_Format(PyExc_TypeError, "row %lld is not a tuple with a value at %zd",
                                 (long long)r, index);
                    goto fail;
                }
                column[r] = PyTuple_GET_ITEM(row, index);
            }
        }
        Values v = {column, n};
        int failed;
        switch (kind) {
        case 's': failed = build_strings(children[c], v, 4); break;
        case 'L': failed = build_strings(children[c], v, 8); break;
        case 'i':
        case 't':
        case 'f': failed = build_fixed(children[c], v, (char)kind); break;
        case 'b': failed = build_bools(children[c], v); break;
        case 'n': failed = build_nulls(children[c], n); break;
        case 'p': failed = build_prefixes(children[c], v); break;
        default:
            PyErr_Format(PyExc_ValueError, "unknown column kind %c", kind);
            failed = 1;
        }
        if (failed) {
            if (!PyErr_Occurred()) PyErr_NoMemory();
            goto fail;
        }
    }
    if (init_array(batch, n, 0, 1, NULL, NULL, NULL, children, n_columns)) {
        PyErr_NoMemory();
        goto fail;
    }
    children = NULL;
    PyMem_Free(column);
    PyObject *capsule = PyCapsule_New(batch, "arrow_array", capsule_destructor);
    if (capsule == NULL) {
        batch->release(batch);
        free(batch);
    }
    return capsule;
fail:
    PyMem_Free(column);
    free_children(children, n_columns);
    free(batch);
    return NULL;
}

static PyMethodDef METHODS[] = {
    {"rows_to_batch", rows_to_batch, METH_VARARGS,
     "rows_to_batch(rows, layout) -> PyCapsule 'arrow_array' holding a struct array"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_rowbatch",
    .m_doc = "Row tuples to an Arrow record batch, compiled (see bedrock_finops.row_batch).",
    .m_size = -1,
    .m_methods = METHODS,
};

PyMODINIT_FUNC PyInit__rowbatch(void) { return PyModule_Create(&MODULE); }
