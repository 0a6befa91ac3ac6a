/* Native fast path for reading COCO keypoint results lists and ground-truth fields into arrays.
 *
 * Why this exists: the PCK-style engines spent most of their time turning each keypoint
 * number of a results list from a Python float into a C double. From Python the fastest way
 * (struct) costs 13-16 ns per number, which alone is ~1/20 of a per-person loop evaluator's
 * whole time; read here through the CPython API it costs ~3 ns, which is the memory traffic
 * of the float objects themselves.
 *
 * The functions fill buffers the caller allocated (numpy arrays, through the buffer protocol,
 * so no numpy headers are needed) and report the first record they cannot take; the Python
 * caller then runs its own path, which applies its rules or describes the problem. They accept
 * a subset of what the Python path accepts (numbers must be int, float or bool; rows must be
 * lists or tuples) and produce the same doubles, so results never depend on whether this
 * module was built. No Python code runs while a row is read (no __float__ or __iter__ calls);
 * where a look-up may run some (hashing an id), the objects in use are held and the list's
 * size is checked again.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "_buffers.h"

/* An int, float or bool -> double, as struct.pack("d", v) converts it; -1 for anything else
 * (refused, not converted) or an int too large for a double. */
static inline int as_double(PyObject *v, double *out) {
    if (PyFloat_Check(v)) {
        *out = PyFloat_AS_DOUBLE(v);
        return 0;
    }
    if (!PyLong_Check(v)) return -1;
    double d = PyLong_AsDouble(v);
    if (d == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    *out = d;
    return 0;
}

/* Copy one row of `width` numbers to out; -1 if it is not a list or tuple of that length or
 * holds a value that is not a number (with `finite`: or is NaN or infinite). */
static int fill_row(PyObject *row, Py_ssize_t width, double *out, int finite) {
    PyObject **items;
    if (PyList_Check(row)) {
        if (PyList_GET_SIZE(row) != width) return -1;
        items = ((PyListObject *)row)->ob_item;
    } else if (PyTuple_Check(row)) {
        if (PyTuple_GET_SIZE(row) != width) return -1;
        items = ((PyTupleObject *)row)->ob_item;
    } else {
        return -1;
    }
    for (Py_ssize_t j = 0; j < width; j++) {
        PyObject *v = items[j];
        if (PyFloat_CheckExact(v)) {
            out[j] = PyFloat_AS_DOUBLE(v);
        } else if (as_double(v, out + j) < 0) {
            return -1;
        }
        if (finite && !isfinite(out[j])) return -1;
    }
    return 0;
}

/* Set when a list was resized under a loop (by code run from a hash or comparison). */
static PyObject *changed_size(void) {
    PyErr_SetString(PyExc_RuntimeError, "list changed size while being read");
    return NULL;
}

/* Box [x1, y1, x2, y2] of the points of an (x, y, score) row that are not at (0, 0), the
 * results format's "absent"; NaN when every point is absent. */
static void present_box(const double *kp, Py_ssize_t width, double *box) {
    double x1 = INFINITY, y1 = INFINITY, x2 = -INFINITY, y2 = -INFINITY;
    for (Py_ssize_t j = 0; j + 2 < width; j += 3) {
        double x = kp[j], y = kp[j + 1];
        if (x == 0 && y == 0) continue;
        x1 = x < x1 ? x : x1;
        y1 = y < y1 ? y : y1;
        x2 = x > x2 ? x : x2;
        y2 = y > y2 ? y : y2;
    }
    if (x1 > x2) x1 = y1 = x2 = y2 = NAN;
    box[0] = x1, box[1] = y1, box[2] = x2, box[3] = y2;
}

/* index[key] as an int64 position: 1 found, 0 not found (or unhashable), -1 an error or a
 * value that is not an int. */
static int position(PyObject *index, PyObject *key, int64_t *pos) {
    PyObject *p = PyDict_GetItemWithError(index, key); /* borrowed */
    if (p == NULL) {
        if (PyErr_Occurred() && !PyErr_ExceptionMatches(PyExc_TypeError)) return -1;
        PyErr_Clear();
        return 0;
    }
    long long v = PyLong_AsLongLong(p);
    if (v == -1 && PyErr_Occurred()) return -1;
    *pos = (int64_t)v;
    return 1;
}

PyDoc_STRVAR(fill_rows_doc,
"fill_rows(rows, width, out) -> int\n\n"
"Write a list of equal-length rows (lists or tuples of ints, floats or bools) into the float64\n"
"buffer `out` ((n, width), row-major). Returns -1, or the index of the first row it does not\n"
"take (the buffer is then partly written).");

static PyObject *fill_rows(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *rows, *out_obj;
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "O!nO", &PyList_Type, &rows, &width, &out_obj)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(rows);
    Py_buffer out;
    if (get_buf(out_obj, &out, 0, n * width, 1) < 0) return NULL;
    double *buf = (double *)out.buf;
    Py_ssize_t bad = -1;
    for (Py_ssize_t i = 0; i < n; i++) { /* no Python code runs here: the list cannot change */
        if (fill_row(PyList_GET_ITEM(rows, i), width, buf + i * width, 0) < 0) {
            bad = i;
            break;
        }
    }
    PyBuffer_Release(&out);
    return PyLong_FromSsize_t(bad);
}

static PyObject *KEY_IMAGE_ID, *KEY_CATEGORY_ID, *KEY_KEYPOINTS, *KEY_SCORE;

/* One prediction record: 0 taken, 1 refused, -1 an error (exception set). The record is held
 * by the caller; its values are held here while hashing may run Python code. */
static int gather_one(PyObject *rec, Py_ssize_t width, PyObject *index, PyObject *categories,
                      double *kp, double *score, int64_t *pos) {
    if (!PyDict_Check(rec)) return 1;
    PyObject *keys[4] = {KEY_KEYPOINTS, KEY_SCORE, KEY_IMAGE_ID, KEY_CATEGORY_ID};
    PyObject *val[4];
    for (int f = 0; f < 4; f++) {
        val[f] = PyDict_GetItemWithError(rec, keys[f]);
        if (val[f] == NULL) {
            if (PyErr_Occurred()) return -1;
            return 1;
        }
    }
    /* the keys are str, so nothing above ran Python code: the values are alive */
    if (fill_row(val[0], width, kp, 1) < 0) return 1;
    if (PyFloat_CheckExact(val[1])) {
        *score = PyFloat_AS_DOUBLE(val[1]);
    } else if (as_double(val[1], score) < 0) {
        return 1;
    }
    if (!isfinite(*score)) return 1;
    Py_INCREF(val[2]);
    Py_INCREF(val[3]);
    int rc = position(index, val[2], pos); /* may hash a user object */
    if (rc == 1 && categories != Py_None) {
        int has = PySet_Contains(categories, val[3]);
        if (has < 0 && PyErr_ExceptionMatches(PyExc_TypeError)) { /* unhashable: not in it */
            PyErr_Clear();
            has = 0;
        }
        rc = has;
    }
    Py_DECREF(val[2]);
    Py_DECREF(val[3]);
    return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

PyDoc_STRVAR(gather_doc,
"gather(records, width, image_index, categories, keypoints, scores, image_pos, boxes) -> int\n\n"
"Check and convert a COCO keypoint results list in one pass. Each record must be a dict with\n"
"image_id (a key of `image_index`; its value goes to `image_pos`), category_id (in the set\n"
"`categories` unless that is None), keypoints (a list or tuple of `width` finite ints, floats\n"
"or bools, written to `keypoints` as (n, width)) and score (a finite int, float or bool). When\n"
"`boxes` is not None it receives (n, 4): x1, y1, x2, y2 of the keypoints not at (0, 0), NaN\n"
"if none. Returns -1, or the index of the first record that breaks a rule.");

static PyObject *gather(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *records, *index, *categories, *kp_obj, *score_obj, *pos_obj, *box_obj;
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "O!nO!OOOOO", &PyList_Type, &records, &width, &PyDict_Type,
                          &index, &categories, &kp_obj, &score_obj, &pos_obj, &box_obj))
        return NULL;
    if (categories != Py_None && !PyAnySet_Check(categories)) {
        PyErr_SetString(PyExc_TypeError, "categories must be a set or None");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(records);
    Py_buffer bufs[4];
    PyObject *objs[4] = {kp_obj, score_obj, pos_obj, box_obj};
    Py_ssize_t sizes[4] = {n * width, n, n, 4 * n};
    int n_bufs = box_obj == Py_None ? 3 : 4;
    for (int b = 0; b < n_bufs; b++) {
        if (get_buf(objs[b], &bufs[b], b == 2, sizes[b], 1) < 0) {
            while (b-- > 0) PyBuffer_Release(&bufs[b]);
            return NULL;
        }
    }
    double *kp = (double *)bufs[0].buf, *scores = (double *)bufs[1].buf;
    int64_t *pos = (int64_t *)bufs[2].buf;
    double *boxes = n_bufs == 4 ? (double *)bufs[3].buf : NULL;
    Py_ssize_t bad = -1;
    int failed = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyList_GET_SIZE(records) != n) {
            failed = 1;
            changed_size();
            break;
        }
        PyObject *rec = PyList_GET_ITEM(records, i);
        Py_INCREF(rec);
        double *row = kp + i * width;
        int rc = gather_one(rec, width, index, categories, row, scores + i, pos + i);
        Py_DECREF(rec);
        if (rc != 0) {
            failed = rc < 0;
            bad = i;
            break;
        }
        if (boxes != NULL) present_box(row, width, boxes + 4 * i);
    }
    for (int b = 0; b < n_bufs; b++) PyBuffer_Release(&bufs[b]);
    return failed ? NULL : PyLong_FromSsize_t(bad);
}

/* One field of `table`: the record's value under `key` -> a row of `width` doubles. */
typedef struct {
    PyObject *key;
    Py_ssize_t width;
    Py_buffer out, present, boxes;
    int have_out, have_present, have_boxes;
} field_spec;

/* -1 when the value is neither absent (NULL: no such key, or an empty list or tuple), nor a
 * list or tuple of `width` numbers, nor (width 1) a bare number. None is not absent: what it
 * means is the caller's rule, so its own path decides. */
static int read_field(PyObject *v, field_spec *f, Py_ssize_t i) {
    double *row = (double *)f->out.buf + i * f->width;
    int64_t *has = (int64_t *)f->present.buf + i;
    if (v == NULL || (PyList_Check(v) && PyList_GET_SIZE(v) == 0)
        || (PyTuple_Check(v) && PyTuple_GET_SIZE(v) == 0)) {
        *has = 0;
        memset(row, 0, (size_t)f->width * sizeof(double));
    } else if (PyList_Check(v) || PyTuple_Check(v)) {
        if (fill_row(v, f->width, row, 0) < 0) return -1;
        *has = 1;
    } else if (f->width == 1 && as_double(v, row) == 0) {
        *has = 1;
    } else {
        return -1;
    }
    if (f->have_boxes) present_box(row, f->width, (double *)f->boxes.buf + 4 * i);
    return 0;
}

/* One record of `table`: 0 taken, 1 refused, -1 an error. */
static int table_one(PyObject *rec, PyObject *index_key, PyObject *index, int64_t *pos,
                     field_spec *specs, Py_ssize_t n_fields, Py_ssize_t i) {
    if (!PyDict_Check(rec)) return 1;
    /* the fields first: reading them runs no Python code (str keys, numbers only) */
    for (Py_ssize_t f = 0; f < n_fields; f++) {
        PyObject *value = PyDict_GetItemWithError(rec, specs[f].key);
        if (value == NULL && PyErr_Occurred()) return -1;
        if (read_field(value, specs + f, i) < 0) return 1;
    }
    PyObject *id = PyDict_GetItemWithError(rec, index_key);
    if (id == NULL) {
        if (PyErr_Occurred()) return -1;
        *pos = -1;
        return 0;
    }
    Py_INCREF(id);
    int rc = position(index, id, pos);
    Py_DECREF(id);
    if (rc == 0) *pos = -1;
    return rc < 0 ? -1 : 0;
}

PyDoc_STRVAR(table_doc,
"table(records, index_key, index, positions, fields) -> int\n\n"
"Read a list of dicts in one pass. positions[i] (an int64 buffer) = index[records[i][index_key]],\n"
"or -1 when the record lacks the key or the value is not a key of the dict `index`. `fields`\n"
"is a list of (key, width, out, present[, boxes]): a list or tuple of `width` numbers (or,\n"
"with width 1, a bare number) goes to row i of the float64 buffer `out` (n, width) with\n"
"present[i] = 1 (int64); a missing key or an empty list gives present[i] = 0 and zeros.\n"
"`boxes` (n, 4), when given, receives each row's box of its (x, y, .) points not at (0, 0).\n"
"Returns -1, or the index of the first record that is not a dict or holds any other value.");

static PyObject *table(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *records, *index_key, *index, *pos_obj, *fields;
    if (!PyArg_ParseTuple(args, "O!UO!OO!", &PyList_Type, &records, &index_key, &PyDict_Type,
                          &index, &pos_obj, &PyList_Type, &fields))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(records), n_fields = PyList_GET_SIZE(fields);
    field_spec *specs = PyMem_Calloc((size_t)(n_fields ? n_fields : 1), sizeof(field_spec));
    if (specs == NULL) return PyErr_NoMemory();
    Py_buffer pos_buf;
    int have_pos = 0;
    PyObject *result = NULL;
    if (get_buf(pos_obj, &pos_buf, 1, n, 1) < 0) goto done;
    have_pos = 1;
    for (Py_ssize_t f = 0; f < n_fields; f++) {
        PyObject *out_obj, *present_obj, *box_obj = Py_None;
        field_spec *sp = specs + f;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(fields, f), "UnOO|O", &sp->key, &sp->width,
                              &out_obj, &present_obj, &box_obj))
            goto done;
        if (get_buf(out_obj, &sp->out, 0, n * sp->width, 1) < 0) goto done;
        sp->have_out = 1;
        if (get_buf(present_obj, &sp->present, 1, n, 1) < 0) goto done;
        sp->have_present = 1;
        if (box_obj != Py_None) {
            if (get_buf(box_obj, &sp->boxes, 0, 4 * n, 1) < 0) goto done;
            sp->have_boxes = 1;
        }
    }
    Py_ssize_t bad = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyList_GET_SIZE(records) != n) {
            changed_size();
            goto done;
        }
        PyObject *rec = PyList_GET_ITEM(records, i);
        Py_INCREF(rec);
        int rc = table_one(rec, index_key, index, (int64_t *)pos_buf.buf + i, specs, n_fields,
                           i);
        Py_DECREF(rec);
        if (rc < 0) goto done;
        if (rc > 0) {
            bad = i;
            break;
        }
    }
    result = PyLong_FromSsize_t(bad);
done:
    for (Py_ssize_t f = 0; f < n_fields; f++) {
        if (specs[f].have_out) PyBuffer_Release(&specs[f].out);
        if (specs[f].have_present) PyBuffer_Release(&specs[f].present);
        if (specs[f].have_boxes) PyBuffer_Release(&specs[f].boxes);
    }
    if (have_pos) PyBuffer_Release(&pos_buf);
    PyMem_Free(specs);
    return result;
}

PyDoc_STRVAR(all_have_doc,
"all_have(records, key) -> int\n\n"
"-1 when every item of the list is a dict holding the str `key`, else the index of the first\n"
"that is not.");

static PyObject *all_have(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *records, *key;
    if (!PyArg_ParseTuple(args, "O!U", &PyList_Type, &records, &key)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(records);
    for (Py_ssize_t i = 0; i < n; i++) { /* a str key: no Python code runs, the list holds */
        PyObject *rec = PyList_GET_ITEM(records, i);
        if (!PyDict_Check(rec)) return PyLong_FromSsize_t(i);
        int has = PyDict_Contains(rec, key);
        if (has < 0) return NULL;
        if (!has) return PyLong_FromSsize_t(i);
    }
    return PyLong_FromSsize_t(-1);
}

PyDoc_STRVAR(index_of_doc,
"index_of(records, key) -> (list, dict) or None\n\n"
"The values of `key` in a list of dicts, in order, and {value: position} (the last position\n"
"of a repeated value, as a dict comprehension gives). None when a record is not a dict, lacks\n"
"the key or holds an unhashable value.");

static PyObject *index_of(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *records, *key;
    if (!PyArg_ParseTuple(args, "O!U", &PyList_Type, &records, &key)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(records);
    PyObject *ids = PyList_New(n), *index = PyDict_New();
    if (ids == NULL || index == NULL) goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyList_GET_SIZE(records) != n) {
            changed_size();
            goto fail;
        }
        PyObject *rec = PyList_GET_ITEM(records, i);
        PyObject *v = PyDict_Check(rec) ? PyDict_GetItemWithError(rec, key) : NULL;
        if (v == NULL) {
            if (PyErr_Occurred()) goto fail;
            goto refuse;
        }
        Py_INCREF(v);
        PyList_SET_ITEM(ids, i, v); /* held by `ids` from here on */
        PyObject *pos = PyLong_FromSsize_t(i);
        if (pos == NULL) goto fail;
        int rc = PyDict_SetItem(index, v, pos); /* may hash a user object */
        Py_DECREF(pos);
        if (rc < 0) {
            if (!PyErr_ExceptionMatches(PyExc_TypeError)) goto fail;
            PyErr_Clear();
            goto refuse;
        }
    }
    return Py_BuildValue("(NN)", ids, index);
refuse:
    Py_DECREF(ids);
    Py_DECREF(index);
    Py_RETURN_NONE;
fail:
    Py_XDECREF(ids);
    Py_XDECREF(index);
    return NULL;
}

static PyMethodDef methods[] = {
    {"index_of", index_of, METH_VARARGS, index_of_doc},
    {"all_have", all_have, METH_VARARGS, all_have_doc},
    {"fill_rows", fill_rows, METH_VARARGS, fill_rows_doc},
    {"gather", gather, METH_VARARGS, gather_doc},
    {"table", table, METH_VARARGS, table_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_records",
    "Native fast path of benchmark.evaluation.inputs (see _records.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__records(void) {
    KEY_IMAGE_ID = PyUnicode_InternFromString("image_id");
    KEY_CATEGORY_ID = PyUnicode_InternFromString("category_id");
    KEY_KEYPOINTS = PyUnicode_InternFromString("keypoints");
    KEY_SCORE = PyUnicode_InternFromString("score");
    if (!KEY_IMAGE_ID || !KEY_CATEGORY_ID || !KEY_KEYPOINTS || !KEY_SCORE) return NULL;
    return PyModule_Create(&module);
}
