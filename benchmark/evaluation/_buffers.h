/* Buffer helpers shared by _records.c and _kernels.c: arrays come in through the buffer
 * protocol, so the modules need no numpy headers; these check what numpy hands over. */
#ifndef MPBENCH_BUFFERS_H
#define MPBENCH_BUFFERS_H

#ifndef PY_SSIZE_T_CLEAN
#define PY_SSIZE_T_CLEAN
#endif
#include <Python.h>
#include <string.h>

/* Whether a buffer holds 8-byte float64 (`integer` 0) or int64 (`integer` 1) items. */
static inline int is_8byte(const Py_buffer *view, int integer) {
    const char *f = view->format;
    return view->itemsize == 8 && f != NULL
           && (integer ? (strcmp(f, "q") == 0 || strcmp(f, "l") == 0) : strcmp(f, "d") == 0);
}

/* Acquire a C-contiguous buffer of exactly `n` float64 or int64 items; -1 with an exception. */
static inline int get_buf(PyObject *obj, Py_buffer *view, int integer, Py_ssize_t n,
                          int writable) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) return -1;
    if (!is_8byte(view, integer) || view->len != n * 8) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "buffer must hold %zd contiguous %s items", n,
                     integer ? "int64" : "float64");
        return -1;
    }
    return 0;
}

#endif
