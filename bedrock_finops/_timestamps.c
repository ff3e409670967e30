/* Invocation-log timestamps, compiled: the twin of parse_scalars.py_fast_timestamp_ms.
 *
 * fast_timestamp_ms(value, hours) -> int | None
 *   "YYYY-MM-DDTHH:MM:SSZ" (AWS's own form) or "YYYY-MM-DDTHH:MM:SS.mmmZ" (ASCII digits, a
 *   real date and time) -> epoch milliseconds,
 *   computed as parse_timestamp_ms computes it: microseconds / 1e6 * 1000 in IEEE doubles,
 *   truncated. Below 2**53 microseconds (years up to 2255) the integer converts to a double
 *   exactly, so the C division is the correctly rounded one Python's int / int gives. None
 *   for anything else: the caller then runs the full parser, which gives the value or the
 *   quarantine reason. ``hours`` (the Python twin's memo) is accepted and not needed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

static int digits(const unsigned char *c, int start, int count, int *out) {
    int value = 0;
    for (int i = start; i < start + count; i++) {
        if (c[i] < '0' || c[i] > '9') return 0;
        value = value * 10 + (c[i] - '0');
    }
    *out = value;
    return 1;
}

static int is_leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static PyObject *fast_timestamp_ms(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *value, *hours;
    if (!PyArg_UnpackTuple(args, "fast_timestamp_ms", 2, 2, &value, &hours)) return NULL;
    if (!PyUnicode_CheckExact(value) || PyUnicode_KIND(value) != PyUnicode_1BYTE_KIND)
        Py_RETURN_NONE;
    const Py_ssize_t length = PyUnicode_GET_LENGTH(value);
    if (length != 24 && length != 20) Py_RETURN_NONE;
    const unsigned char *c = PyUnicode_1BYTE_DATA(value);
    if (c[4] != '-' || c[7] != '-' || c[10] != 'T' || c[13] != ':' || c[16] != ':' ||
        c[length - 1] != 'Z' || (length == 24 && c[19] != '.'))
        Py_RETURN_NONE;
    int year, month, day, hour, minute, second, milli = 0;
    if (!digits(c, 0, 4, &year) || !digits(c, 5, 2, &month) || !digits(c, 8, 2, &day) ||
        !digits(c, 11, 2, &hour) || !digits(c, 14, 2, &minute) || !digits(c, 17, 2, &second) ||
        (length == 24 && !digits(c, 20, 3, &milli)))
        Py_RETURN_NONE;
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59)
        Py_RETURN_NONE;
    if (day > month_days[month - 1] + (month == 2 && is_leap(year))) Py_RETURN_NONE;
    int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    int64_t micros = seconds * 1000000 + (int64_t)milli * 1000;
    const int64_t exact = (int64_t)1 << 53;
    if (micros >= exact || micros <= -exact) Py_RETURN_NONE;
    double ms = (double)micros / 1000000.0 * 1000.0;
    return PyLong_FromLongLong((long long)ms); /* truncation toward zero, as int() */
}

static PyMethodDef METHODS[] = {
    {"fast_timestamp_ms", fast_timestamp_ms, METH_VARARGS,
     "fast_timestamp_ms(value, hours) -> epoch ms of 'YYYY-MM-DDTHH:MM:SS[.mmm]Z', else None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_timestamps",
    .m_doc = "Invocation-log timestamps, compiled (see bedrock_finops.parse_scalars).",
    .m_size = -1,
    .m_methods = METHODS,
};

PyMODINIT_FUNC PyInit__timestamps(void) { return PyModule_Create(&MODULE); }
