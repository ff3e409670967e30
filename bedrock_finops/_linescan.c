/* Line features of a prompt block, compiled: the hot loop of bedrock_finops.line_scan.
 *
 * line_features(text) -> (repeated_tokens, digest, may_open_json)
 *   repeated_tokens: for each distinct non-trivial line seen k > 1 times, (k - 1) * the
 *     token estimate of line.strip() (tokens.estimate_tokens: ceil(other characters / 4) +
 *     wide characters); a line is non-trivial when it and its stripped form are both at
 *     least MIN_LINE_CHARS long. Lines are those of str.splitlines().
 *   digest: the sorted, distinct 64-bit hashes of the non-trivial lines, as bytes. Two
 *     texts that share a non-trivial line share its hash (the hash is over the code points,
 *     whatever the string's internal width); a shared hash without a shared line is possible
 *     but vanishingly rare, and callers treat it as "maybe shared" (they then compute the
 *     exact answer the slow way), so results never depend on the hash being collision-free.
 *   may_open_json: whether "{\n" or "[\n" occurs in the text, found in the same pass (the
 *     only place a pretty-printed JSON span can open; a two-character str search is slow).
 *
 * lines_shared(digests) -> bool: whether two of a list of digests share a hash, in one pass
 *   over all their hashes (a hash set), so a conversation of n turns costs O(n), not the
 *   n^2 / 2 comparisons of every pair.
 *
 * wide_chars(text) -> int: how many characters of text the token estimate counts as one token
 *   each (tokens.WIDE_RANGES: CJK, kana, Hangul, full-width forms); 0 at once for a 1-byte-wide
 *   string, as Latin-1 holds none.
 *
 * looks_like_code(text, max_lines) -> bool: whether, of the non-blank lines among the first
 *   max_lines lines of text, there are at least two and at least half are code-like: the
 *   line ends with ";", "{" or "}" before trailing white space, or starts like a statement
 *   (line_scan.CODE_START_RE, matched here literal by literal: each alternative begins with
 *   a non-space character, so the greedy "\s*" before them never needs to give any back).
 *
 * The pure-Python twin in line_scan.py defines the results; tests pin the two equal.
 * Repeats are counted exactly: lines with equal hashes are compared character by character.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_LINE_CHARS 16
#define STACK_ENTRIES 128

typedef struct {
    uint64_t hash;
    Py_ssize_t start;    /* line start, in code points */
    Py_ssize_t len;      /* line length, in code points */
    Py_ssize_t lead;     /* where line.strip() starts */
    Py_ssize_t stripped; /* length of line.strip() */
} Entry;

/* Whether the token estimate counts ch as one token: tokens.WIDE_RANGES (tests pin the two
 * equal). No code point below 256 is wide. */
static inline int is_wide(Py_UCS4 ch) {
    return (ch >= 0x2E80 && ch <= 0x9FFF) || (ch >= 0xAC00 && ch <= 0xD7AF) ||
           (ch >= 0xF900 && ch <= 0xFAFF) || (ch >= 0xFF00 && ch <= 0xFFEF) ||
           (ch >= 0x20000 && ch <= 0x3FFFF);
}

/* is_wide for 2-byte code points, summed in 16-bit lanes a block at a time: the compiler
 * vectorises it (~0.2 ns a character, against ~0.5 for is_wide one by one). Each code point
 * is in one range at most, so a block of 32,768 cannot overflow its 16-bit count. */
static Py_ssize_t count_wide_ucs2(const Py_UCS2 *p, Py_ssize_t n) {
    Py_ssize_t wide = 0;
    while (n > 0) {
        Py_ssize_t m = n < 32768 ? n : 32768;
        uint16_t block = 0;
        for (Py_ssize_t i = 0; i < m; i++) {
            uint16_t ch = p[i];
            block += ((uint16_t)(ch - 0x2E80u) <= 0x9FFFu - 0x2E80u) +
                     ((uint16_t)(ch - 0xAC00u) <= 0xD7AFu - 0xAC00u) +
                     ((uint16_t)(ch - 0xF900u) <= 0xFAFFu - 0xF900u) +
                     ((uint16_t)(ch - 0xFF00u) <= 0xFFEFu - 0xFF00u);
        }
        wide += block;
        p += m;
        n -= m;
    }
    return wide;
}

/* Wide characters among the code points [start, end). */
static Py_ssize_t count_wide(int kind, const void *data, Py_ssize_t start, Py_ssize_t end) {
    Py_ssize_t wide = 0;
    if (kind == PyUnicode_2BYTE_KIND) {
        wide = count_wide_ucs2((const Py_UCS2 *)data + start, end - start);
    } else if (kind == PyUnicode_4BYTE_KIND) {
        const Py_UCS4 *p = (const Py_UCS4 *)data;
        for (Py_ssize_t i = start; i < end; i++) wide += is_wide(p[i]);
    } /* 1-byte wide: Latin-1, none */
    return wide;
}

/* The token estimate of the code points [start, end): tokens.estimate_tokens. */
static Py_ssize_t estimate_tokens(int kind, const void *data, Py_ssize_t start, Py_ssize_t end) {
    Py_ssize_t wide = count_wide(kind, data, start, end);
    return (end - start - wide + 3) / 4 + wide;
}

static const uint64_t SEED_NARROW = 0x243f6a8885a308d3ULL; /* all code points < 256 */
static const uint64_t SEED_WIDE = 0x13198a2e03707344ULL;   /* some code point >= 256 */

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t fmix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* A fast 64-bit hash of n bytes (8 at a time). Only equality matters, within one process. */
static uint64_t hash_bytes(const unsigned char *p, size_t n, uint64_t seed) {
    uint64_t h = seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h ^= w * 0xbf58476d1ce4e5b9ULL;
        h = rotl64(h, 27) * 0x94d049bb133111ebULL;
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, p, n);
        h ^= w * 0xbf58476d1ce4e5b9ULL;
        h = rotl64(h, 27) * 0x94d049bb133111ebULL;
    }
    return fmix64(h);
}

/* Hash of the code points [start, start + len) of a 2- or 4-byte-wide string: the same value
 * a 1-byte-wide string with the same code points gets, so lines compare across strings. */
static uint64_t hash_wide(int kind, const void *data, Py_ssize_t start, Py_ssize_t len,
                          unsigned char *buf) {
    Py_UCS4 top = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, start + i);
        if (ch > top) top = ch;
    }
    if (top < 256) {
        for (Py_ssize_t i = 0; i < len; i++) buf[i] = (unsigned char)PyUnicode_READ(kind, data, start + i);
        return hash_bytes(buf, (size_t)len, SEED_NARROW);
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        uint32_t ch = (uint32_t)PyUnicode_READ(kind, data, start + i);
        memcpy(buf + 4 * i, &ch, 4);
    }
    return hash_bytes(buf, (size_t)len * 4, SEED_WIDE);
}

/* 1 for the characters str.splitlines() breaks at, among those below 256. */
static unsigned char BREAK1[256];

static void init_break_table(void) {
    const unsigned char breaks[] = {0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x85};
    for (size_t i = 0; i < sizeof breaks; i++) BREAK1[breaks[i]] = 1;
}

/* End of the line starting at i in a 1-byte-wide string: 8 bytes at a time while no byte can
 * be a break (every break is below 0x1f or is 0x85, which has the high bit set); a word that
 * might hold one (a tab, say) is checked byte by byte. */
static Py_ssize_t line_end_narrow(const unsigned char *p, Py_ssize_t i, Py_ssize_t n) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        /* a byte below 0x1f, or a byte with its high bit set: look closer */
        if (((w - ones * 0x1f) & ~w & highs) | (w & highs)) {
            for (int k = 0; k < 8; k++)
                if (BREAK1[p[i + k]]) return i + k;
        }
        i += 8;
    }
    while (i < n && !BREAK1[p[i]]) i++;
    return i;
}

static Py_ssize_t line_end_wide(int kind, const void *data, Py_ssize_t i, Py_ssize_t n) {
    while (i < n && !Py_UNICODE_ISLINEBREAK(PyUnicode_READ(kind, data, i))) i++;
    return i;
}

static int compare_entries(const void *a, const void *b) {
    uint64_t x = ((const Entry *)a)->hash, y = ((const Entry *)b)->hash;
    return (x > y) - (x < y);
}

/* Sort by hash: insertion sort for the few lines of a typical block (no call per compare),
 * qsort beyond that. */
static void sort_entries(Entry *e, Py_ssize_t count) {
    if (count > 48) {
        qsort(e, (size_t)count, sizeof(Entry), compare_entries);
        return;
    }
    for (Py_ssize_t i = 1; i < count; i++) {
        Entry item = e[i];
        Py_ssize_t j = i;
        while (j > 0 && e[j - 1].hash > item.hash) {
            e[j] = e[j - 1];
            j--;
        }
        e[j] = item;
    }
}

static int same_line(int kind, const void *data, const Entry *a, const Entry *b) {
    return a->len == b->len &&
           memcmp((const char *)data + a->start * kind, (const char *)data + b->start * kind,
                  (size_t)(a->len * kind)) == 0;
}

/* Tokens of repeated non-trivial lines, from entries sorted by hash. Lines with equal hashes
 * are grouped by their actual text, so a hash collision cannot count a repeat that isn't. */
static long long repeated_tokens(int kind, const void *data, Entry *e, Py_ssize_t count,
                                 unsigned char *counted) {
    long long total = 0;
    Py_ssize_t run = 0;
    while (run < count) {
        Py_ssize_t end = run + 1;
        while (end < count && e[end].hash == e[run].hash) end++;
        if (end - run > 1) {
            memset(counted + run, 0, (size_t)(end - run));
            for (Py_ssize_t a = run; a < end; a++) {
                if (counted[a]) continue;
                Py_ssize_t k = 1;
                for (Py_ssize_t b = a + 1; b < end; b++) {
                    if (!counted[b] && same_line(kind, data, &e[a], &e[b])) {
                        counted[b] = 1;
                        k++;
                    }
                }
                total += (long long)(k - 1) *
                         estimate_tokens(kind, data, e[a].lead, e[a].lead + e[a].stripped);
            }
        }
        run = end;
    }
    return total;
}

static PyObject *line_features(PyObject *self, PyObject *text) {
    (void)self;
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "line_features() wants str, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    const Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Entry stack_entries[STACK_ENTRIES];
    Entry *entries = stack_entries;
    Py_ssize_t count = 0, capacity = STACK_ENTRIES;
    unsigned char *buf = NULL; /* code points of one wide line, for hashing */
    PyObject *result = NULL;
    int may_open_json = 0; /* some "{" or "[" right before a "\n": pretty_scan has work */

    Py_ssize_t i = 0;
    while (i < n) {
        Py_ssize_t end = kind == PyUnicode_1BYTE_KIND
                             ? line_end_narrow((const unsigned char *)data, i, n)
                             : line_end_wide(kind, data, i, n);
        Py_ssize_t len = end - i;
        if (len >= MIN_LINE_CHARS) {
            Py_ssize_t s = i, e = end;
            while (s < e && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, s))) s++;
            while (e > s && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, e - 1))) e--;
            if (e - s >= MIN_LINE_CHARS) {
                if (count == capacity) {
                    Py_ssize_t grown = capacity * 2;
                    Entry *bigger = entries == stack_entries ? PyMem_Malloc(sizeof(Entry) * grown)
                                                             : PyMem_Realloc(entries, sizeof(Entry) * grown);
                    if (bigger == NULL) goto nomemory;
                    if (entries == stack_entries) memcpy(bigger, stack_entries, sizeof stack_entries);
                    entries = bigger;
                    capacity = grown;
                }
                uint64_t h;
                if (kind == PyUnicode_1BYTE_KIND) {
                    h = hash_bytes((const unsigned char *)data + i, (size_t)len, SEED_NARROW);
                } else {
                    if (buf == NULL && (buf = PyMem_Malloc((size_t)n * 4)) == NULL) goto nomemory;
                    h = hash_wide(kind, data, i, len, buf);
                }
                entries[count].hash = h;
                entries[count].start = i;
                entries[count].len = len;
                entries[count].lead = s;
                entries[count].stripped = e - s;
                count++;
            }
        }
        if (end >= n) break;
        if (!may_open_json && end > 0 && PyUnicode_READ(kind, data, end) == '\n') {
            Py_UCS4 before = PyUnicode_READ(kind, data, end - 1);
            may_open_json = before == '{' || before == '[';
        }
        /* "\r\n" is one break */
        i = end + 1;
        if (PyUnicode_READ(kind, data, end) == '\r' && i < n && PyUnicode_READ(kind, data, i) == '\n') i++;
    }

    sort_entries(entries, count);
    unsigned char *counted = PyMem_Malloc((size_t)count + 1);
    if (counted == NULL) goto nomemory;
    long long repeated = repeated_tokens(kind, data, entries, count, counted);
    PyMem_Free(counted);

    Py_ssize_t distinct = 0;
    for (Py_ssize_t k = 0; k < count; k++)
        if (k == 0 || entries[k].hash != entries[k - 1].hash) distinct++;
    PyObject *digest = PyBytes_FromStringAndSize(NULL, distinct * 8);
    if (digest == NULL) goto done;
    char *out = PyBytes_AS_STRING(digest);
    for (Py_ssize_t k = 0; k < count; k++) {
        if (k == 0 || entries[k].hash != entries[k - 1].hash) {
            memcpy(out, &entries[k].hash, 8);
            out += 8;
        }
    }
    result = Py_BuildValue("(LNO)", repeated, digest, may_open_json ? Py_True : Py_False);
    goto done;

nomemory:
    PyErr_NoMemory();
done:
    if (entries != stack_entries) PyMem_Free(entries);
    PyMem_Free(buf);
    return result;
}

static PyObject *wide_chars(PyObject *self, PyObject *text) {
    (void)self;
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "wide_chars() wants str, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    return PyLong_FromSsize_t(
        count_wide(PyUnicode_KIND(text), PyUnicode_DATA(text), 0, PyUnicode_GET_LENGTH(text)));
}

#define SHARED_STACK_SLOTS 1024

/* Insert the sorted, distinct hashes of one digest; 1 when one was there already (from an
 * earlier digest: a digest holds each hash once). slots: open addressing, mask + 1 of them,
 * never more than half full; 0 marks a free slot, so the hash 0 is tracked on its own. */
static int insert_digest(uint64_t *slots, size_t mask, int *zero_seen, const unsigned char *p,
                         Py_ssize_t count) {
    for (Py_ssize_t k = 0; k < count; k++) {
        uint64_t h;
        memcpy(&h, p + 8 * k, 8);
        if (h == 0) {
            if (*zero_seen) return 1;
            *zero_seen = 1;
            continue;
        }
        size_t at = (size_t)h & mask;
        while (slots[at] != 0) {
            if (slots[at] == h) return 1;
            at = (at + 1) & mask;
        }
        slots[at] = h;
    }
    return 0;
}

static PyObject *lines_shared(PyObject *self, PyObject *digests) {
    (void)self;
    PyObject *seq = PySequence_Fast(digests, "lines_shared() wants a list of digests");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), total = 0;
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t k = 0; k < n; k++) {
        if (!PyBytes_Check(items[k])) {
            PyErr_Format(PyExc_TypeError, "lines_shared() wants digests (bytes), not %.100s",
                         Py_TYPE(items[k])->tp_name);
            Py_DECREF(seq);
            return NULL;
        }
        total += PyBytes_GET_SIZE(items[k]) / 8;
    }
    size_t size = 16;
    while (size < (size_t)total * 2) size *= 2;
    uint64_t stack_slots[SHARED_STACK_SLOTS];
    uint64_t *slots = size <= SHARED_STACK_SLOTS ? stack_slots : PyMem_Malloc(size * 8);
    if (slots == NULL) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    memset(slots, 0, size * 8);
    int zero_seen = 0, shared = 0;
    for (Py_ssize_t k = 0; k < n && !shared; k++)
        shared = insert_digest(slots, size - 1, &zero_seen,
                               (const unsigned char *)PyBytes_AS_STRING(items[k]),
                               PyBytes_GET_SIZE(items[k]) / 8);
    if (slots != stack_slots) PyMem_Free(slots);
    Py_DECREF(seq);
    return PyBool_FromLong(shared);
}

/* Whether code points [p, end) start with the ASCII literal lit. */
static int starts_with(int kind, const void *data, Py_ssize_t p, Py_ssize_t end, const char *lit) {
    for (; *lit; lit++, p++)
        if (p >= end || PyUnicode_READ(kind, data, p) != (Py_UCS4)(unsigned char)*lit) return 0;
    return 1;
}

/* re's \w for str patterns */
static int is_word(Py_UCS4 ch) { return Py_UNICODE_ISALNUM(ch) || ch == '_'; }

/* Whether [p, end), past the line's leading white space, starts like a statement. */
static int starts_statement(int kind, const void *data, Py_ssize_t p, Py_ssize_t end) {
    static const char *const literals[] = {
        "def ", "class ", "import ", "const ", "let ", "var ", "public ", "private ",
        "#include", "SELECT ", "select ", "if (", "for (", "while (",
    };
    for (size_t k = 0; k < sizeof literals / sizeof *literals; k++)
        if (starts_with(kind, data, p, end, literals[k])) return 1;
    static const char *const words[] = {"return", "function"}; /* then \b */
    for (size_t k = 0; k < 2; k++) {
        Py_ssize_t after = p + (Py_ssize_t)strlen(words[k]);
        if (starts_with(kind, data, p, end, words[k]) &&
            (after >= end || !is_word(PyUnicode_READ(kind, data, after))))
            return 1;
    }
    if (starts_with(kind, data, p, end, "from ")) { /* from \S+ import */
        Py_ssize_t q = p + 5;
        while (q < end && !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, q))) q++;
        return q > p + 5 && starts_with(kind, data, q, end, " import");
    }
    return 0;
}

static PyObject *looks_like_code(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *text;
    Py_ssize_t max_lines;
    if (!PyArg_ParseTuple(args, "Un:looks_like_code", &text, &max_lines)) return NULL;
    if (max_lines < 0) {
        PyErr_SetString(PyExc_ValueError, "looks_like_code() wants max_lines >= 0");
        return NULL;
    }
    const Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t lines = 0, nonblank = 0, code = 0, i = 0;
    while (i < n && lines < max_lines) {
        Py_ssize_t end = kind == PyUnicode_1BYTE_KIND
                             ? line_end_narrow((const unsigned char *)data, i, n)
                             : line_end_wide(kind, data, i, n);
        lines++;
        Py_ssize_t s = i, e = end;
        while (s < e && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, s))) s++;
        if (s < e) {
            nonblank++;
            while (Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, e - 1))) e--;
            Py_UCS4 last = PyUnicode_READ(kind, data, e - 1);
            if (last == ';' || last == '{' || last == '}' || starts_statement(kind, data, s, end))
                code++;
        }
        if (end >= n) break;
        /* "\r\n" is one break */
        i = end + 1;
        if (PyUnicode_READ(kind, data, end) == '\r' && i < n && PyUnicode_READ(kind, data, i) == '\n') i++;
    }
    return PyBool_FromLong(nonblank >= 2 && code * 2 >= nonblank);
}

static PyMethodDef METHODS[] = {
    {"line_features", line_features, METH_O,
     "line_features(text) -> (repeated-line tokens, digest of the non-trivial lines, "
     "whether '{\\n' or '[\\n' occurs)"},
    {"wide_chars", wide_chars, METH_O,
     "wide_chars(text) -> how many characters of text the token estimate counts as one token "
     "each (CJK, kana, Hangul, full-width forms)"},
    {"lines_shared", lines_shared, METH_O,
     "lines_shared(digests) -> whether two of the digests may share a non-trivial line"},
    {"looks_like_code", looks_like_code, METH_VARARGS,
     "looks_like_code(text, max_lines) -> whether at least two and at least half of the "
     "non-blank lines among the first max_lines are code-like"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_linescan",
    .m_doc = "Compiled line features of prompt text (see bedrock_finops.line_scan).",
    .m_size = -1,
    .m_methods = METHODS,
};

PyMODINIT_FUNC PyInit__linescan(void) {
    init_break_table();
    return PyModule_Create(&MODULE);
}
