/* Inner loops of the mvor-pck and mpii-pckh engines.
 *
 * Why this exists: with the inputs read natively (_records.c), what remained of these engines
 * was two dozen whole-dataset numpy passes each, over arrays of every (GT person, prediction
 * of its image) pair or every (person, joint); one loop here does the same work in a pass.
 * Each function is the exact counterpart of a numpy function kept in mvor.py / mpii.py (used
 * when this module is not built, and compared with it in tests): the same IEEE operations in
 * the same order (compiled without FMA contraction), so the numbers are the same to the bit.
 * Arrays come in through the buffer protocol (no numpy headers); shapes are checked in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "_buffers.h"

/* Release the first n buffers, those marked in `used` when it is not NULL (optional arrays
 * that were not given were never acquired). */
static void release(Py_buffer *views, const int *used, int n) {
    for (int i = 0; i < n; i++)
        if (used == NULL || used[i]) PyBuffer_Release(views + i);
}

PyDoc_STRVAR(mvor_match_doc,
"mvor_match(gt_box, gt_image, det_box, scores, order, starts, min_overlap, tie, chosen)\n\n"
"MVOR's matching (see mvor.match): for GT person g (box gt_box[g] = x1, y1, x2, y2 of its\n"
"labelled joints, image gt_image[g]), the predictions of its image are order[starts[img]:\n"
"starts[img + 1]] (file order); candidates cover more than `min_overlap` of the GT box (+1\n"
"pixel widths); chosen[g] = the first of them, in that order, whose score is within `tie` of\n"
"the best candidate score, or -1.");

static PyObject *mvor_match(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[7];
    double min_overlap, tie;
    if (!PyArg_ParseTuple(args, "OOOOOOddO", o, o + 1, o + 2, o + 3, o + 4, o + 5, &min_overlap,
                          &tie, o + 6))
        return NULL;
    Py_buffer b[7];
    Py_ssize_t g = PyObject_Length(o[1]), n = PyObject_Length(o[3]), m = PyObject_Length(o[5]);
    if (g < 0 || n < 0 || m < 1) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "mvor_match: bad array lengths");
        return NULL;
    }
    Py_ssize_t sizes[7] = {4 * g, g, 4 * n, n, n, m, g};
    int integer[7] = {0, 1, 0, 0, 1, 1, 1};
    for (int i = 0; i < 7; i++) {
        if (get_buf(o[i], b + i, integer[i], sizes[i], i == 6) < 0) {
            release(b, NULL, i);
            return NULL;
        }
    }
    const double *gbox = b[0].buf, *dbox = b[2].buf, *score = b[3].buf;
    const int64_t *gimg = b[1].buf, *order = b[4].buf, *starts = b[5].buf;
    int64_t *chosen = b[6].buf;
    int bad = 0;
    for (Py_ssize_t k = 0; k < g && !bad; k++) {
        int64_t img = gimg[k];
        chosen[k] = -1;
        if (img < 0 || img + 1 >= m) {
            bad = 1;
            break;
        }
        double gx1 = gbox[4 * k], gy1 = gbox[4 * k + 1], gx2 = gbox[4 * k + 2],
               gy2 = gbox[4 * k + 3];
        double area = (gx2 - gx1 + 1) * (gy2 - gy1 + 1);
        double best = -INFINITY;
        int64_t lo = starts[img], hi = starts[img + 1];
        for (int64_t q = lo; q < hi; q++) {
            const double *d = dbox + 4 * order[q];
            double w = (gx2 < d[2] ? gx2 : d[2]) - (gx1 > d[0] ? gx1 : d[0]) + 1;
            double h = (gy2 < d[3] ? gy2 : d[3]) - (gy1 > d[1] ? gy1 : d[1]) + 1;
            w = w < 0 ? 0 : w; /* NaN stays NaN (a prediction without joints): never a candidate */
            h = h < 0 ? 0 : h;
            double cover = (w * h) / area;
            double s = score[order[q]];
            if (cover > min_overlap && s > best) best = s;
        }
        if (best == -INFINITY) continue;
        for (int64_t q = lo; q < hi; q++) {
            if (fabs(score[order[q]] - best) < tie) {
                chosen[k] = order[q];
                break;
            }
        }
    }
    release(b, NULL, 7);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "mvor_match: image position out of range");
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(pckh_doc,
"pckh(gt_kp, normaliser, pred_kp, chosen, curve, hit_at, scaled, hits, counts)\n\n"
"MPII PCKh per (person, joint) (see mpii.scaled_errors and mpii.first_hits): gt_kp (G, K, 3)\n"
"with the third value > 0 for a labelled joint, normaliser (G,), pred_kp (N, K, 3), chosen\n"
"(G,) the paired prediction or -1. A joint's error is |pred - gt| / normaliser (NaN when\n"
"unpaired), written to scaled (G, K) unless that is None; its first index is the first i with\n"
"error <= curve[i] (len(curve) when none, or when the joint is unlabelled or its error not\n"
"finite). hits (G, T, K) receives 1.0 where first <= hit_at[t] (T threshold indices), and\n"
"counts (K, len(curve) + 1), unless None, the histogram of first per joint. The curve must\n"
"ascend.");

static PyObject *pckh(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[9];
    if (!PyArg_ParseTuple(args, "OOOOOOOOO", o, o + 1, o + 2, o + 3, o + 4, o + 5, o + 6, o + 7,
                          o + 8))
        return NULL;
    Py_ssize_t g = PyObject_Length(o[1]), c = PyObject_Length(o[4]), t = PyObject_Length(o[5]);
    if (g < 0 || c < 1 || t < 0) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "pckh: bad array lengths");
        return NULL;
    }
    Py_buffer probe; /* K from gt_kp's size, N from pred_kp's */
    if (PyObject_GetBuffer(o[0], &probe, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    Py_ssize_t k = g > 0 ? probe.len / 8 / (3 * g) : 0;
    PyBuffer_Release(&probe);
    if (PyObject_GetBuffer(o[2], &probe, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    Py_ssize_t n = k > 0 ? probe.len / 8 / (3 * k) : 0;
    PyBuffer_Release(&probe);
    int with_scaled = o[6] != Py_None, with_counts = o[8] != Py_None;
    Py_buffer b[9];
    Py_ssize_t sizes[9] = {3 * g * k, g, 3 * n * k, g, c, t, g * k, g * t * k, k * (c + 1)};
    int integer[9] = {0, 0, 0, 1, 0, 1, 0, 0, 1};
    int used[9] = {1, 1, 1, 1, 1, 1, with_scaled, 1, with_counts};
    for (int i = 0; i < 9; i++) {
        if (used[i] && get_buf(o[i], b + i, integer[i], sizes[i], i >= 6) < 0) {
            release(b, used, i);
            return NULL;
        }
    }
    const double *gt = b[0].buf, *norm = b[1].buf, *pred = b[2].buf, *curve = b[4].buf;
    const int64_t *chosen = b[3].buf, *hit_at = b[5].buf;
    double *scaled = with_scaled ? b[6].buf : NULL, *hits = b[7].buf;
    int64_t *counts = with_counts ? b[8].buf : NULL;
    if (counts != NULL) memset(counts, 0, (size_t)(k * (c + 1)) * sizeof(int64_t));
    int bad = 0;
    for (Py_ssize_t p = 0; p < g && !bad; p++) {
        int64_t q = chosen[p];
        if (q >= n) {
            bad = 1;
            break;
        }
        for (Py_ssize_t j = 0; j < k; j++) {
            const double *gj = gt + 3 * (p * k + j);
            double s = NAN;
            if (q >= 0) {
                const double *pj = pred + 3 * (q * k + j);
                double dx = pj[0] - gj[0], dy = pj[1] - gj[1];
                s = sqrt(dx * dx + dy * dy) / norm[p];
            }
            if (scaled != NULL) scaled[p * k + j] = s;
            /* first_hits' arithmetic, without branches (random errors mispredict them):
             * e = ceil(100 s) clipped to [0, c], then one step down or up, settled by the
             * thresholds themselves */
            double x = (s < 1 ? s : 1) * 100; /* NaN: handled by `valid` below */
            x = x > 0 ? x : 0;
            Py_ssize_t e = (Py_ssize_t)x;
            e += (double)e < x;
            e = e < c ? e : c;
            e -= (e > 0) & (s <= curve[e > 0 ? e - 1 : 0]);
            e += (e < c) & (s > curve[e < c ? e : c - 1]);
            int valid = gj[2] > 0 && isfinite(s);
            Py_ssize_t first = valid ? e : c;
            for (Py_ssize_t h = 0; h < t; h++) hits[(p * t + h) * k + j] = first <= hit_at[h];
            if (counts != NULL) counts[j * (c + 1) + first]++;
        }
    }
    release(b, used, 9);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "pckh: chosen prediction out of range");
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(mvor_hits_doc,
"mvor_hits(gt_kp, gt_box, pred_kp, chosen, sources, threshold, hits)\n\n"
"MVOR's joint test (see mvor.to_mvor and mvor.joint_hits): gt_kp (G, J, 3) with (0, 0)\n"
"unlabelled, gt_box (G, 4) its labelled extent, pred_kp (N, K, 3) with (0, 0) absent, in any\n"
"layout (K is read from its shape: 17 for COCO-17, 10 for MVOR's own joints with an identity\n"
"table), chosen (G,) the matched prediction or -1. sources (J, S, 2) int64 lists, per GT\n"
"joint, the prediction joints to use in order of preference: (a, b) is the mid-point of a and\n"
"b when both are present, (a, -1) joint a alone, (-1, -1) ends the list. hits (G, J) receives\n"
"1.0 where the joint is within threshold x max(box width + 1, box height + 1), else 0.0.");

static PyObject *mvor_hits(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[6];
    double threshold;
    if (!PyArg_ParseTuple(args, "OOOOOdO", o, o + 1, o + 2, o + 3, o + 4, &threshold, o + 5))
        return NULL;
    Py_buffer b[6];
    int integer[6] = {0, 0, 0, 1, 1, 0};
    for (int i = 0; i < 6; i++) { /* sizes are checked below, once the shapes are known */
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (i == 5 ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(o[i], b + i, flags) < 0) {
            release(b, NULL, i);
            return NULL;
        }
        if (!is_8byte(b + i, integer[i])) {
            release(b, NULL, i + 1);
            PyErr_SetString(PyExc_ValueError, "mvor_hits: arrays must be float64 / int64");
            return NULL;
        }
    }
    Py_ssize_t g = b[3].len / 8, j_count = b[1].len / 8 == 4 * g && g ? b[0].len / 8 / (3 * g) : 0;
    Py_ssize_t s_count = j_count ? b[4].len / 8 / (2 * j_count) : 0;
    Py_ssize_t k = 0, n = 0;
    if (b[4].ndim == 3 && b[2].ndim == 3) {
        k = b[2].shape[1];
        n = b[2].shape[0];
    }
    if (g == 0 || j_count == 0 || s_count == 0 || k == 0 || b[2].shape[2] != 3
        || b[0].len / 8 != 3 * g * j_count || b[4].len / 8 != 2 * j_count * s_count
        || b[5].len / 8 != g * j_count) {
        release(b, NULL, 6);
        PyErr_SetString(PyExc_ValueError, "mvor_hits: inconsistent shapes");
        return NULL;
    }
    const double *gt = b[0].buf, *box = b[1].buf, *pred = b[2].buf;
    const int64_t *chosen = b[3].buf, *src = b[4].buf;
    double *hits = b[5].buf;
    int bad = 0;
    for (Py_ssize_t p = 0; p < g && !bad; p++) {
        int64_t q = chosen[p];
        double scale_x = box[4 * p + 2] - box[4 * p] + 1, scale_y = box[4 * p + 3] - box[4 * p + 1] + 1;
        double limit = threshold * (scale_x > scale_y ? scale_x : scale_y);
        for (Py_ssize_t j = 0; j < j_count; j++) hits[p * j_count + j] = 0.0;
        if (q < 0) continue;
        if (q >= n) {
            bad = 1;
            break;
        }
        const double *pk = pred + 3 * k * q;
        for (Py_ssize_t j = 0; j < j_count; j++) {
            const double *gj = gt + 3 * (p * j_count + j);
            if (gj[0] == 0 && gj[1] == 0) continue; /* unlabelled */
            double px = NAN, py = NAN;
            for (Py_ssize_t t = 0; t < s_count; t++) {
                const int64_t *ab = src + 2 * (j * s_count + t);
                if (ab[0] < 0 || ab[0] >= k || ab[1] >= k) break;
                const double *pa = pk + 3 * ab[0];
                if (pa[0] == 0 && pa[1] == 0) continue; /* absent */
                if (ab[1] < 0) {
                    px = pa[0], py = pa[1];
                    break;
                }
                const double *pb = pk + 3 * ab[1];
                if (pb[0] == 0 && pb[1] == 0) continue;
                px = (pa[0] + pb[0]) / 2, py = (pa[1] + pb[1]) / 2;
                break;
            }
            double dx = px - gj[0], dy = py - gj[1];
            hits[p * j_count + j] = sqrt(dx * dx + dy * dy) <= limit ? 1.0 : 0.0;
        }
    }
    release(b, NULL, 6);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "mvor_hits: chosen prediction out of range");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"mvor_match", mvor_match, METH_VARARGS, mvor_match_doc},
    {"mvor_hits", mvor_hits, METH_VARARGS, mvor_hits_doc},
    {"pckh", pckh, METH_VARARGS, pckh_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernels",
    "Inner loops of the mvor-pck and mpii-pckh engines (see _kernels.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
