/* milekit.types._pagejson: one list page's JSON -> Arrow columns, without Python objects.

   decode(content, envelope, rows_key, hints) parses the page with yyjson (vendored,
   MIT) and builds one Arrow column per key of the row objects, the way Arrow's own JSON
   reader infers them (first appearance order; int promoted to float; objects as structs,
   arrays as lists; a key missing from a row is null), except that text stays text (no
   timestamp inference). `hints` fixes the raw type of documented fields, as the reader's
   explicit schema does. The columns leave through the Arrow C data interface as two
   PyCapsules ("arrow_schema", "arrow_array") of one struct array whose children are the
   columns. The GIL is released while parsing and building.

   A row field whose values do not fit one column (its JSON type changes within the page,
   even deep inside it; a value of another type than its hint; an integer past int64)
   costs that field alone: the field becomes a column of JSON text (K_JSON, one text per
   value, nulls null), rebuilt from the rows read so far, and its name goes back to Python,
   which types it from the values as its Python path would. The rest of the page stays
   columns. Whatever else this decoder does not take (a row that is not an object, a key
   twice in one object, an unexpected envelope) is a ValueError: the caller falls back to
   Arrow's reader, so refusing is always safe.

   A page no reader should be given is a PageError (not a ValueError): a value nested more
   than MAX_DEPTH containers below the row (Arrow's reader overflows the C stack on deep
   nesting, and Arrow's C-data import refuses more than 63 levels), more than MAX_COLUMNS
   distinct keys in one object column, a key holding a NUL (Arrow's C schema names end at
   the first NUL), or columns that would hold more than CELLS_FLOOR + CELLS_PER_BYTE cells
   per byte of the page (a sparse page's columns are dense: every key seen once is a
   column as long as its object column, null elsewhere). When the decoder refuses a page
   with a ValueError, the whole page is walked once more for these (shape_of; re-read
   leniently if yyjson found it not JSON, its brackets counted if even that fails) before
   a reader is let near it. So memory and time stay within a small constant of the page's
   size, and the recursion (append_value, shape_of, export_col, col_free) within MAX_DEPTH
   frames. Keys are found through a hash index per object column (kid_for), not a search.

   In the envelope the last of a repeated key wins (as orjson reads it; Arrow's reader
   refuses the page). total and last_page go back to Python as they are: an int for a JSON
   integer, a float for a real, None otherwise; the caller validates them. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "yyjson.h"

#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif

/* ---- limits (module constants MAX_DEPTH and MAX_COLUMNS) ----------------------------------
   MAX_DEPTH: containers (arrays, objects) nested in a row's field, the field's own counted.
   Each is one level of the exported Arrow schema, below the root struct (level 0) and above
   a possible null item (an empty list's): at most MAX_DEPTH + 1 levels where pyarrow's
   import takes 63 (tests/types/test_pagejson_hostile.py checks the boundary); the sandbox's
   deepest rows nest 6. MAX_COLUMNS: distinct keys of one object column (the sandbox's widest, a
   task row, has 81). CELLS_*: the column slots (values and nulls) a page may fill, each at
   most 8 bytes and a bit: the sandbox's pages fill at most 0.063 per byte. */
#define MAX_DEPTH 32
#define MAX_COLUMNS 4096
#define CELLS_FLOOR ((int64_t)1 << 20)
#define CELLS_PER_BYTE 4
#define STR_(n) #n
#define STR(n) STR_(n)

/* ---- the Arrow C data interface (https://arrow.apache.org/docs/format/CDataInterface.html) */
#define ARROW_FLAG_NULLABLE 2

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

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

/* ---- growable buffers ---------------------------------------------------------------- */
typedef struct {
    uint8_t *p;
    int64_t len, cap;
} buf_t;

static int buf_grow(buf_t *b, int64_t need) {
    if (need <= b->cap) return 0;
    int64_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    uint8_t *p = realloc(b->p, (size_t)cap);
    if (!p) return -1;
    memset(p + b->cap, 0, (size_t)(cap - b->cap)); /* bitmaps rely on zeroed growth */
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Room for exactly `need` bytes (a column's known length): one allocation, not a doubling
   series whose freed steps fragment the allocator's arenas (measured: +65 MB at 200k tasks). */
static int buf_reserve(buf_t *b, int64_t need) {
    if (need <= b->cap) return 0;
    uint8_t *p = realloc(b->p, (size_t)need);
    if (!p) return -1;
    memset(p + b->cap, 0, (size_t)(need - b->cap));
    b->p = p;
    b->cap = need;
    return 0;
}

static int buf_put(buf_t *b, const void *src, int64_t n) {
    if (buf_grow(b, b->len + n)) return -1;
    if (n) memcpy(b->p + b->len, src, (size_t)n);
    b->len += n;
    return 0;
}

static int bit_put(buf_t *b, int64_t i, int on) {
    if (buf_grow(b, i / 8 + 1)) return -1;
    if (b->len < i / 8 + 1) b->len = i / 8 + 1;
    if (on) b->p[i / 8] |= (uint8_t)(1u << (i % 8));
    return 0;
}

/* ---- column builders ------------------------------------------------------------------- */
enum { K_NULL, K_BOOL, K_INT, K_FLOAT, K_STR, K_LIST, K_STRUCT, K_JSON };

typedef struct col {
    int kind;
    int fixed; /* the kind came from a hint: never changes */
    int64_t len, nulls;
    buf_t valid, data, offs;
    struct col *item; /* K_LIST; K_JSON: the shape of its values, as a reader's columns */
    struct col **kids; /* K_STRUCT */
    char **names;
    size_t *nlens;
    int64_t *follow; /* per child: the child whose key came next in the last object */
    int32_t *index;  /* the children by key: open addressing, child + 1 (0: empty) */
    int64_t icap;    /* slots of index: a power of two, at least twice nkids */
    int64_t expect;  /* the length this column will reach, when known (a row's fields) */
    int64_t charged; /* a row's field: the cells its values charged (given back if demoted) */
    int64_t nkids, capkids, first, prev;
} col_t;

typedef struct {
    const char *error; /* static text, set once */
    int fatal;         /* the error is a PageError: no reader should be given the page */
    int misfit;        /* the error is a value that does not fit its column: demote it */
    yyjson_val *list;  /* the rows (an array) */
    int64_t cells;     /* column slots filled or promised so far */
    int64_t budget;    /* ... and at most (CELLS_FLOOR + CELLS_PER_BYTE per byte) */
    int64_t rewalk;    /* keys looked at to rebuild demoted fields (within budget too) */
} ctx_t;

static int refuse(ctx_t *x, const char *why) {
    if (!x->error) x->error = why;
    return -1;
}

static int forbid(ctx_t *x, const char *why) {
    if (!x->error) {
        x->error = why;
        x->fatal = 1;
    }
    return -1;
}

/* A value that does not fit the column it goes to: the row's field holding it is demoted
   to JSON text (append_object), the page is not refused. */
static int misfit(ctx_t *x, const char *why) {
    if (!x->error) {
        x->error = why;
        x->misfit = 1;
    }
    return -1;
}

static const char TOO_DEEP[] = "a value nested deeper than " STR(MAX_DEPTH) " levels";

/* `n` more column slots (values or nulls): each costs memory, and time to fill. */
static int charge(ctx_t *x, int64_t n) {
    x->cells += n;
    if (x->cells <= x->budget) return 0;
    return forbid(x, "a page whose columns would take more than " STR(CELLS_PER_BYTE)
                     " cells per byte of it");
}

static void col_free(col_t *c) {
    if (!c) return;
    free(c->valid.p);
    free(c->data.p);
    free(c->offs.p);
    col_free(c->item);
    for (int64_t i = 0; i < c->nkids; i++) {
        col_free(c->kids[i]);
        free(c->names[i]);
    }
    free(c->kids);
    free(c->names);
    free(c->nlens);
    free(c->follow);
    free(c->index);
    free(c);
}

static col_t *col_new(int64_t nulls) {
    col_t *c = calloc(1, sizeof(col_t));
    if (c) {
        c->len = c->nulls = nulls;
        c->first = c->prev = -1;
    }
    return c;
}

static int offs_put(col_t *c, int64_t v) {
    if (v > INT32_MAX) return -1;
    int32_t o = (int32_t)v;
    return buf_put(&c->offs, &o, 4);
}

/* A column of `len` nulls so far becomes `kind`: its buffers are laid out for them, with
   room for the length it is expected to reach. */
static int materialize(col_t *c, int kind) {
    int64_t n = c->len, e = c->expect > n ? c->expect : n;
    c->kind = kind;
    if (buf_reserve(&c->valid, e / 8 + 1)) return -1;
    c->valid.len = (n + 7) / 8; /* zeroed by buf_reserve, as all below: n nulls */
    switch (kind) {
    case K_BOOL:
        if (buf_reserve(&c->data, e / 8 + 1)) return -1;
        c->data.len = (n + 7) / 8;
        return 0;
    case K_INT:
    case K_FLOAT:
        if (buf_reserve(&c->data, e * 8 + 8)) return -1;
        c->data.len = n * 8;
        return 0;
    case K_STR:
    case K_LIST:
    case K_JSON:
        if (buf_reserve(&c->offs, (e + 1) * 4)) return -1;
        c->offs.len = (n + 1) * 4;
        if (kind == K_LIST && !(c->item = col_new(0))) return -1;
        return 0;
    default:
        return 0; /* K_STRUCT: children come as keys appear */
    }
}

static int append_null(ctx_t *x, col_t *c) {
    int64_t i = c->len;
    switch (c->kind) {
    case K_NULL:
        break;
    case K_BOOL:
        if (bit_put(&c->valid, i, 0) || bit_put(&c->data, i, 0)) return -1;
        break;
    case K_INT:
    case K_FLOAT: {
        int64_t zero = 0;
        if (bit_put(&c->valid, i, 0) || buf_put(&c->data, &zero, 8)) return -1;
        break;
    }
    case K_STR:
    case K_JSON:
        if (bit_put(&c->valid, i, 0) || offs_put(c, c->data.len)) return -1;
        break;
    case K_LIST:
        if (bit_put(&c->valid, i, 0) || offs_put(c, c->item->len)) return -1;
        break;
    case K_STRUCT:
        if (bit_put(&c->valid, i, 0)) return -1;
        if (!c->expect && charge(x, c->nkids)) return -1; /* else paid when each was added */
        for (int64_t k = 0; k < c->nkids; k++)
            if (append_null(x, c->kids[k])) return -1;
        break;
    }
    c->len++;
    c->nulls++;
    return 0;
}

/* ---- the children of a struct column, by key ---------------------------------------------- */
static uint64_t hash_seed; /* set once at import: key orders that collide are not foreseeable */

static uint64_t key_hash(const char *key, size_t klen) {
    uint64_t h = 0xcbf29ce484222325u ^ hash_seed; /* FNV-1a */
    for (size_t i = 0; i < klen; i++) h = (h ^ (uint8_t)key[i]) * 0x100000001b3u;
    return h ^ (h >> 32);
}

static void index_put(col_t *c, int64_t kid) {
    uint64_t mask = (uint64_t)c->icap - 1;
    uint64_t h = key_hash(c->names[kid], c->nlens[kid]) & mask;
    while (c->index[h]) h = (h + 1) & mask;
    c->index[h] = (int32_t)(kid + 1);
}

/* Room in the index for one more child (the table stays at most half full). */
static int index_room(col_t *c) {
    if (2 * (c->nkids + 1) <= c->icap) return 0;
    int64_t cap = c->icap ? c->icap * 2 : 32;
    int32_t *index = calloc((size_t)cap, sizeof(int32_t));
    if (!index) return -1;
    free(c->index);
    c->index = index;
    c->icap = cap;
    for (int64_t k = 0; k < c->nkids; k++) index_put(c, k);
    return 0;
}

static int64_t index_find(const col_t *c, const char *key, size_t klen) {
    if (!c->icap) return -1;
    uint64_t mask = (uint64_t)c->icap - 1;
    for (uint64_t h = key_hash(key, klen) & mask;; h = (h + 1) & mask) {
        int64_t k = (int64_t)c->index[h] - 1;
        if (k < 0 || (c->nlens[k] == klen && memcmp(c->names[k], key, klen) == 0)) return k;
    }
}

static int kid_room(col_t *c) {
    if (c->nkids < c->capkids) return 0;
    int64_t cap = c->capkids ? c->capkids * 2 : 16;
    col_t **kids = realloc(c->kids, (size_t)cap * sizeof(col_t *));
    if (kids) c->kids = kids;
    char **names = realloc(c->names, (size_t)cap * sizeof(char *));
    if (names) c->names = names;
    size_t *nlens = realloc(c->nlens, (size_t)cap * sizeof(size_t));
    if (nlens) c->nlens = nlens;
    int64_t *follow = realloc(c->follow, (size_t)cap * sizeof(int64_t));
    if (follow) c->follow = follow;
    if (!kids || !names || !nlens || !follow) return -1;
    c->capkids = cap;
    return 0;
}

/* A new child: null in every row so far, as long as `c` is. */
static col_t *kid_add(ctx_t *x, col_t *c, const char *name, size_t nlen) {
    if (memchr(name, 0, nlen)) {
        forbid(x, "a key contains a NUL character");
        return NULL;
    }
    if (c->nkids >= MAX_COLUMNS) {
        forbid(x, "more than " STR(MAX_COLUMNS) " distinct keys in one object column");
        return NULL;
    }
    /* a struct's fields are as long as it is; those of a row's reach the rows' count */
    if (charge(x, c->expect > c->len ? c->expect : c->len)) return NULL;
    if (kid_room(c) || index_room(c)) return NULL;
    char *copy = malloc(nlen + 1);
    col_t *kid = col_new(c->len);
    if (!copy || !kid) {
        free(copy);
        col_free(kid);
        return NULL;
    }
    memcpy(copy, name, nlen);
    copy[nlen] = 0;
    kid->expect = c->expect;
    c->kids[c->nkids] = kid;
    c->names[c->nkids] = copy;
    c->nlens[c->nkids] = nlen;
    c->follow[c->nkids] = -1;
    index_put(c, c->nkids);
    c->nkids++;
    return kid;
}

/* The child for `key`. Objects of one column mostly repeat the previous one's key order,
   so the child that followed the previous key last time is tried first; a miss looks the
   key up in the index. */
static col_t *kid_for(ctx_t *x, col_t *c, const char *key, size_t klen) {
    int64_t guess = c->prev < 0 ? c->first : c->follow[c->prev];
    int64_t i = guess;
    if (i < 0 || c->nlens[i] != klen || memcmp(c->names[i], key, klen) != 0) {
        i = index_find(c, key, klen);
        if (i < 0) {
            if (!kid_add(x, c, key, klen)) return NULL;
            i = c->nkids - 1;
        }
        if (c->prev < 0)
            c->first = i;
        else
            c->follow[c->prev] = i;
    }
    c->prev = i;
    return c->kids[i];
}

/* ---- values ------------------------------------------------------------------------------- */
static int append_value(ctx_t *x, col_t *c, yyjson_val *v, int depth);
static int shape_of(ctx_t *x, col_t *c, yyjson_val *v, int depth);

/* `v` (not null) as JSON text into the K_JSON column `c`. Its shape is held to the limits
   as the columns a reader would build for it (the Python path types it so). */
static int append_json(ctx_t *x, col_t *c, yyjson_val *v, int depth) {
    if (!c->item && !(c->item = col_new(0))) return -1;
    if (shape_of(x, c->item, v, depth)) return -1;
    size_t len = 0;
    char *text = yyjson_val_write(v, 0, &len);
    if (!text) return -1;
    int rc = buf_put(&c->data, text, (int64_t)len);
    free(text);
    if (rc || offs_put(c, c->data.len) || bit_put(&c->valid, c->len, 1)) return -1;
    c->len++;
    return 0;
}

/* The row field `k` of the rows `c` becomes JSON text: its column is dropped and rebuilt
   from the first `row` rows (each an object: checked as it was read). Each rebuild looks at
   up to every key of those rows: past the budget (many fields demoted late in a long
   page would cost rows x keys x fields), the page is refused instead, and a reader has it. */
static int demote(ctx_t *x, col_t *c, int64_t k, int64_t row) {
    x->rewalk += row * c->nkids;
    if (x->rewalk > x->budget) return refuse(x, "too many fields do not fit a column");
    col_t *was = c->kids[k], *j = col_new(0);
    if (!j) return -1;
    j->expect = was->expect;
    j->fixed = 1;
    c->kids[k] = j;
    col_free(was);
    if (materialize(j, K_JSON)) return -1;
    yyjson_arr_iter it = yyjson_arr_iter_with(x->list);
    yyjson_val *r;
    for (int64_t i = 0; i < row && (r = yyjson_arr_iter_next(&it)); i++) {
        yyjson_val *v = yyjson_obj_getn(r, c->names[k], c->nlens[k]);
        if (v && !yyjson_is_null(v) ? append_json(x, j, v, 1) : append_null(x, j)) return -1;
    }
    return 0;
}

/* `obj` at `depth` (a row: 0) into the struct column `c`. */
static int append_object(ctx_t *x, col_t *c, yyjson_val *obj, int depth) {
    int64_t row = c->len;
    c->prev = -1;
    yyjson_obj_iter it = yyjson_obj_iter_with(obj);
    yyjson_val *key;
    while ((key = yyjson_obj_iter_next(&it))) {
        col_t *kid = kid_for(x, c, unsafe_yyjson_get_str(key), unsafe_yyjson_get_len(key));
        if (!kid) return -1;
        if (kid->len != row) return refuse(x, "a key repeats within one object");
        yyjson_val *v = yyjson_obj_iter_get_val(key);
        int64_t before = x->cells;
        if (append_value(x, kid, v, depth + 1) == 0) {
            kid->charged += x->cells - before;
            continue;
        }
        if (depth || !x->misfit) return -1; /* a misfit below a row's field: demote that */
        x->error = NULL;
        x->misfit = 0;
        x->cells = before - kid->charged; /* the dropped column's cells are given back */
        if (demote(x, c, c->prev, row)) return -1;
        kid = c->kids[c->prev];
        int64_t start = x->cells;
        if (append_json(x, kid, v, depth + 1)) return -1;
        kid->charged = x->cells - start;
    }
    if (!c->expect && charge(x, c->nkids)) return -1; /* else paid when each was added */
    for (int64_t k = 0; k < c->nkids; k++)
        if (c->kids[k]->len == row && append_null(x, c->kids[k])) return -1;
    return bit_put(&c->valid, row, 1);
}

static int kind_of(ctx_t *x, yyjson_val *v) {
    switch (yyjson_get_type(v)) {
    case YYJSON_TYPE_BOOL:
        return K_BOOL;
    case YYJSON_TYPE_STR:
        return K_STR;
    case YYJSON_TYPE_ARR:
        return K_LIST;
    case YYJSON_TYPE_OBJ:
        return K_STRUCT;
    case YYJSON_TYPE_NUM:
        if (yyjson_is_real(v)) return K_FLOAT;
        if (yyjson_is_uint(v) && yyjson_get_uint(v) > (uint64_t)INT64_MAX)
            return misfit(x, "an integer past int64");
        return K_INT;
    default:
        return refuse(x, "an unexpected JSON value");
    }
}

/* The column takes a value of kind `vk`: a column of nulls becomes that kind, an integer
   column becomes float on the first float (as Arrow's inference does); anything else that
   changes kind is refused. */
static int settle_kind(ctx_t *x, col_t *c, int vk) {
    if (c->kind == vk || (c->kind == K_FLOAT && vk == K_INT)) return 0;
    if (c->kind == K_NULL && !c->fixed) return materialize(c, vk);
    if (c->kind == K_INT && vk == K_FLOAT && !c->fixed) {
        int64_t *iv = (int64_t *)c->data.p;
        double *dv = (double *)c->data.p;
        for (int64_t i = 0; i < c->len; i++) dv[i] = (double)iv[i];
        c->kind = K_FLOAT;
        return 0;
    }
    return misfit(x, "a field's JSON type changes within the page");
}

/* `v`, `depth` containers below the row (a row's field: 1), into the column `c`. */
static int append_value(ctx_t *x, col_t *c, yyjson_val *v, int depth) {
    if (yyjson_is_null(v)) return append_null(x, c);
    if (c->kind == K_JSON) return append_json(x, c, v, depth);
    int vk = kind_of(x, v);
    if (vk < 0) return -1;
    if (vk >= K_LIST && depth > MAX_DEPTH) return forbid(x, TOO_DEEP);
    if (settle_kind(x, c, vk)) return -1;
    int64_t i = c->len;
    switch (c->kind) {
    case K_BOOL:
        if (bit_put(&c->data, i, yyjson_get_bool(v))) return -1;
        break;
    case K_INT: {
        int64_t n = yyjson_is_sint(v) ? yyjson_get_sint(v) : (int64_t)yyjson_get_uint(v);
        if (buf_put(&c->data, &n, 8)) return -1;
        break;
    }
    case K_FLOAT: {
        double d = yyjson_get_num(v);
        if (buf_put(&c->data, &d, 8)) return -1;
        break;
    }
    case K_STR:
        if (buf_put(&c->data, unsafe_yyjson_get_str(v), (int64_t)unsafe_yyjson_get_len(v)) ||
            offs_put(c, c->data.len))
            return -1;
        break;
    case K_LIST: {
        if (charge(x, (int64_t)yyjson_arr_size(v))) return -1;
        yyjson_arr_iter it = yyjson_arr_iter_with(v);
        yyjson_val *e;
        while ((e = yyjson_arr_iter_next(&it)))
            if (append_value(x, c->item, e, depth + 1)) return -1;
        if (offs_put(c, c->item->len)) return -1;
        break;
    }
    case K_STRUCT:
        if (append_object(x, c, v, depth)) return -1;
        c->len++;
        return 0; /* append_object set the validity bit */
    }
    if (bit_put(&c->valid, i, 1)) return -1;
    c->len++;
    return 0;
}

/* After a page was refused (a ValueError), its shape alone, as a reader would build its
   columns (the keys of every object column, the nesting, the slots), for what no reader
   should be given. `c` takes both children and an item: kinds do not matter here. */
static int shape_of(ctx_t *x, col_t *c, yyjson_val *v, int depth) {
    int arr = yyjson_is_arr(v);
    if (!arr && !yyjson_is_obj(v)) return 0;
    if (depth > MAX_DEPTH) return forbid(x, TOO_DEEP);
    if (arr) {
        if (!c->item && !(c->item = col_new(0))) return -1;
        if (charge(x, (int64_t)yyjson_arr_size(v))) return -1;
        yyjson_arr_iter it = yyjson_arr_iter_with(v);
        yyjson_val *e;
        while ((e = yyjson_arr_iter_next(&it)))
            if (shape_of(x, c->item, e, depth + 1)) return -1;
        return 0;
    }
    c->prev = -1;
    yyjson_obj_iter it = yyjson_obj_iter_with(v);
    yyjson_val *key;
    while ((key = yyjson_obj_iter_next(&it))) {
        col_t *kid = kid_for(x, c, unsafe_yyjson_get_str(key), unsafe_yyjson_get_len(key));
        if (!kid || shape_of(x, kid, yyjson_obj_iter_get_val(key), depth + 1)) return -1;
    }
    return charge(x, c->nkids);
}

/* The deepest nesting of brackets outside strings, up to `limit` + 1: for a page that is
   not JSON to yyjson, which a reader may still try (and overflow its stack on). */
static int brackets_deeper_than(const char *p, size_t n, int limit) {
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == '[' || ch == '{') {
            if (++depth > limit) return 1;
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

/* ---- export: builders -> ArrowSchema/ArrowArray trees ------------------------------------ */
static void release_schema(struct ArrowSchema *s) {
    for (int64_t i = 0; i < s->n_children; i++) {
        if (s->children[i]->release) s->children[i]->release(s->children[i]);
        free(s->children[i]);
    }
    free(s->children);
    free((void *)s->name);
    s->release = NULL;
}

static void release_array(struct ArrowArray *a) {
    for (int64_t i = 0; i < a->n_children; i++) {
        if (a->children[i]->release) a->children[i]->release(a->children[i]);
        free(a->children[i]);
    }
    free(a->children);
    for (int64_t i = 0; i < a->n_buffers; i++) free((void *)a->buffers[i]);
    free(a->buffers);
    a->release = NULL;
}

static const char *FORMATS[] = {"n", "b", "l", "g", "u", "+l", "+s", "u"};

/* The buffer's memory, now the array's; never null: an empty buffer gets a (zeroed)
   allocation. */
static void *taken(buf_t *b) {
    if (buf_grow(b, 8)) return NULL;
    void *p = b->p;
    b->p = NULL;
    return p;
}

static char *dup_name(const char *name, size_t len) {
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, name, len);
        s[len] = 0;
    }
    return s;
}

/* Moves `c`'s buffers into `a`/`s` (c keeps none of them). Returns -1 on no memory; what
   was filled is released by the caller through the root's release callbacks. */
static int export_col(col_t *c, const char *name, size_t nlen, struct ArrowSchema *s,
                      struct ArrowArray *a) {
    int64_t nchild = c->kind == K_LIST ? 1 : c->kind == K_STRUCT ? c->nkids : 0;
    int64_t nbuf = c->kind == K_NULL                        ? 0
                   : c->kind == K_STR || c->kind == K_JSON ? 3
                   : c->kind == K_STRUCT                   ? 1
                                                           : 2;
    memset(s, 0, sizeof *s);
    memset(a, 0, sizeof *a);
    s->format = FORMATS[c->kind];
    s->flags = ARROW_FLAG_NULLABLE;
    s->release = release_schema;
    a->release = release_array;
    a->length = c->len;
    a->null_count = c->nulls;
    if (!(s->name = dup_name(name, nlen))) return -1;
    a->buffers = calloc((size_t)(nbuf ? nbuf : 1), sizeof(void *));
    s->children = calloc((size_t)(nchild ? nchild : 1), sizeof(void *));
    a->children = calloc((size_t)(nchild ? nchild : 1), sizeof(void *));
    if (!a->buffers || !s->children || !a->children) return -1;
    a->n_buffers = nbuf;
    buf_t *order[3] = {&c->valid, c->kind >= K_STR && c->kind != K_STRUCT ? &c->offs : &c->data,
                       &c->data};
    for (int64_t i = 0; i < nbuf; i++)
        if (!(a->buffers[i] = taken(order[i]))) return -1;
    for (int64_t i = 0; i < nchild; i++) {
        s->children[i] = malloc(sizeof(struct ArrowSchema));
        a->children[i] = malloc(sizeof(struct ArrowArray));
        if (!s->children[i] || !a->children[i]) {
            free(s->children[i]);
            free(a->children[i]);
            s->children[i] = NULL;
            a->children[i] = NULL;
            return -1;
        }
        s->n_children = a->n_children = i + 1;
        int rc = c->kind == K_LIST
                     ? export_col(c->item, "item", 4, s->children[i], a->children[i])
                     : export_col(c->kids[i], c->names[i], c->nlens[i], s->children[i],
                                  a->children[i]);
        if (rc) return -1;
    }
    return 0;
}

/* ---- parse buffers, reused -------------------------------------------------------------------
   yyjson's document for a page takes a few MB. Fresh each time, it either faults in new pages
   (mmap: +1.4 ms of CPU per page, measured) or fragments the parsing threads' malloc arenas
   (+65 MB of RSS at 200k tasks, measured); a few buffers kept for the next pages cost
   neither. At most SLOTS are kept, none over KEEP_MAX bytes. */
#define SLOTS 4
#define KEEP_MAX ((size_t)256 << 20)

typedef struct {
    void *p;
    size_t cap;
} slot_t;

static slot_t slots[SLOTS];
static PyThread_type_lock slots_lock;
static uint64_t pages_done; /* under slots_lock */

/* The column buffers of a page are malloc'd in whichever fetching thread parsed it, and
   freed when its table dies, in another: glibc spreads them over one arena per thread, and
   the free space they leave stays resident (+90 MB at 1M tasks, growing with the pages,
   measured). Every TRIM_EVERY pages, glibc is asked to give it back (~1.5 ms a call; the
   export's peak at 1M tasks went from 664-671 to 596-601 MB, Arrow's reader: 570-575). */
#define TRIM_EVERY 64

static slot_t slot_take(size_t need) {
    slot_t got = {NULL, 0};
    PyThread_acquire_lock(slots_lock, WAIT_LOCK);
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].p && slots[i].cap >= need) {
            got = slots[i];
            slots[i].p = NULL;
            slots[i].cap = 0;
            break;
        }
    }
    PyThread_release_lock(slots_lock);
    if (!got.p && (got.p = malloc(need))) got.cap = need;
    return got;
}

static void slot_give(slot_t s) {
    PyThread_acquire_lock(slots_lock, WAIT_LOCK);
    int trim = ++pages_done % TRIM_EVERY == 0;
    if (s.cap <= KEEP_MAX) {
        int small = 0;
        for (int i = 1; i < SLOTS; i++)
            if (slots[i].cap < slots[small].cap) small = i; /* an empty slot has cap 0 */
        if (slots[small].cap < s.cap) {
            slot_t out = slots[small];
            slots[small] = s;
            s = out;
        }
    }
    PyThread_release_lock(slots_lock);
    free(s.p);
#ifdef __GLIBC__
    if (trim) malloc_trim(0);
#else
    (void)trim;
#endif
}

/* ---- the page ------------------------------------------------------------------------------ */
typedef struct {
    const char *name;
    size_t len;
    int kind;
} hint_t;

/* A number of the envelope as JSON wrote it: none (absent, or not a number), an integer
   (signed or past INT64_MAX) or a real. Never cast: Python validates it. */
typedef struct {
    enum { N_NONE, N_SINT, N_UINT, N_REAL } kind;
    int64_t i;
    uint64_t u;
    double d;
} num_t;

typedef struct {
    col_t *rows;
    num_t total, last;
} page_t;

/* The value of the last `key` in `obj` (a key repeated: the last wins, as orjson reads it),
   or NULL. */
static yyjson_val *last_of(yyjson_val *obj, const char *key) {
    yyjson_val *got = NULL, *k;
    size_t klen = strlen(key);
    yyjson_obj_iter it = yyjson_obj_iter_with(obj);
    while ((k = yyjson_obj_iter_next(&it)))
        if (unsafe_yyjson_get_len(k) == klen && !memcmp(unsafe_yyjson_get_str(k), key, klen))
            got = yyjson_obj_iter_get_val(k);
    return got;
}

static num_t number_of(yyjson_val *obj, const char *key) {
    num_t n = {N_NONE, 0, 0, 0.0};
    yyjson_val *v = last_of(obj, key);
    if (yyjson_is_real(v)) {
        n.kind = N_REAL;
        n.d = yyjson_get_real(v);
    } else if (yyjson_is_sint(v)) {
        n.kind = N_SINT;
        n.i = yyjson_get_sint(v);
    } else if (yyjson_is_uint(v)) {
        n.kind = N_UINT;
        n.u = yyjson_get_uint(v);
    }
    return n;
}

static int hinted_rows(ctx_t *x, col_t *rows, const hint_t *hints, Py_ssize_t nhints) {
    for (Py_ssize_t i = 0; i < nhints; i++) {
        col_t *kid = kid_add(x, rows, hints[i].name, hints[i].len);
        if (!kid) return -1;
        int kind = hints[i].kind;
        if (materialize(kid, kind)) return -1;
        kid->fixed = 1;
        if (kind == K_LIST) {
            if (materialize(kid->item, K_STR)) return -1;
            kid->item->fixed = 1;
        }
    }
    return 0;
}

static int64_t budget_for(size_t size) {
    return CELLS_FLOOR + CELLS_PER_BYTE * (int64_t)size;
}

/* The rows of a parsed page into out->rows. */
static int rows_of(ctx_t *x, yyjson_doc *doc, const char *envelope, const char *rows_key,
                   const hint_t *hints, Py_ssize_t nhints, page_t *out) {
    yyjson_val *root = yyjson_doc_get_root(doc);
    yyjson_val *env = yyjson_is_obj(root) ? last_of(root, envelope) : NULL;
    yyjson_val *list = yyjson_is_obj(env) ? last_of(env, rows_key) : NULL;
    if (!yyjson_is_arr(list)) return refuse(x, "no paginator");
    x->list = list;
    out->total = number_of(env, "total");
    out->last = number_of(env, "last_page");
    if (!(out->rows = col_new(0))) return -1;
    out->rows->expect = (int64_t)yyjson_arr_size(list);
    if (charge(x, out->rows->expect) || materialize(out->rows, K_STRUCT) ||
        hinted_rows(x, out->rows, hints, nhints))
        return -1;
    yyjson_arr_iter it = yyjson_arr_iter_with(list);
    yyjson_val *row;
    while ((row = yyjson_arr_iter_next(&it))) {
        if (!yyjson_is_obj(row)) return refuse(x, "a row that is not an object");
        if (append_value(x, out->rows, row, 0)) return -1;
    }
    return 0;
}

#define LENIENT (YYJSON_READ_ALLOW_INVALID_UNICODE | YYJSON_READ_ALLOW_INF_AND_NAN)

/* A refused page (x->error set, not fatal) becomes a PageError where a reader should not
   have it either: `doc` is the page read as it is, or leniently when it is not JSON (NULL
   when not even that: its brackets are counted). The root sits 3 containers above a row
   (root, envelope, rows). */
static void recheck(ctx_t *x, yyjson_doc *doc, const char *data, size_t size) {
    ctx_t y = {.budget = x->budget};
    if (!doc) {
        if (brackets_deeper_than(data, size, MAX_DEPTH + 4)) forbid(&y, TOO_DEEP);
    } else {
        col_t *root = col_new(0);
        if (root) shape_of(&y, root, yyjson_doc_get_root(doc), -3);
        col_free(root);
    }
    if (y.fatal) {
        x->error = y.error;
        x->fatal = 1;
    }
}

static int decode_page(ctx_t *x, const char *data, size_t size, const char *envelope,
                       const char *rows_key, const hint_t *hints, Py_ssize_t nhints,
                       page_t *out) {
    yyjson_read_err err;
    yyjson_alc alc;
    x->budget = budget_for(size);
    slot_t buf = slot_take(yyjson_read_max_memory_usage(size, 0));
    if (!buf.p || !yyjson_alc_pool_init(&alc, buf.p, buf.cap)) {
        slot_give(buf);
        return -1; /* no memory */
    }
    yyjson_doc *doc = yyjson_read_opts((char *)data, size, 0, &alc, &err);
    int rc = doc ? rows_of(x, doc, envelope, rows_key, hints, nhints, out) : refuse(x, "not JSON");
    if (rc) {
        col_free(out->rows); /* before the recheck builds its own */
        out->rows = NULL;
        if (x->error && !x->fatal) {
            /* text that is not UTF-8, NaN: not JSON to yyjson, a page to Arrow's reader */
            if (!doc) doc = yyjson_read_opts((char *)data, size, LENIENT, &alc, &err);
            recheck(x, doc, data, size);
        }
    }
    yyjson_doc_free(doc);
    slot_give(buf);
    return rc;
}

/* ---- Python ------------------------------------------------------------------------------- */
static void schema_capsule_free(PyObject *cap) {
    struct ArrowSchema *s = PyCapsule_GetPointer(cap, "arrow_schema");
    if (s && s->release) s->release(s);
    free(s);
}

static void array_capsule_free(PyObject *cap) {
    struct ArrowArray *a = PyCapsule_GetPointer(cap, "arrow_array");
    if (a && a->release) a->release(a);
    free(a);
}

/* `hold` is a tuple of (name, kind) tuples; the names stay borrowed from it. */
static int read_hints(PyObject *hold, hint_t **out, Py_ssize_t *n) {
    *n = PyTuple_Size(hold);
    *out = calloc((size_t)(*n ? *n : 1), sizeof(hint_t));
    if (!*out) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < *n; i++) {
        const char *name;
        Py_ssize_t len;
        int kind;
        if (!PyArg_ParseTuple(PyTuple_GetItem(hold, i), "s#i", &name, &len, &kind))
            goto fail;
        if (kind < K_BOOL || kind > K_LIST) {
            PyErr_SetString(PyExc_ValueError, "unknown hint kind");
            goto fail;
        }
        (*out)[i].name = name;
        (*out)[i].len = (size_t)len;
        (*out)[i].kind = kind;
    }
    return 0;
fail:
    free(*out);
    *out = NULL;
    return -1;
}

static PyObject *PageError; /* _pagejson.PageError */

static PyObject *number_to_python(const num_t *n) {
    switch (n->kind) {
    case N_SINT:
        return PyLong_FromLongLong(n->i);
    case N_UINT:
        return PyLong_FromUnsignedLongLong(n->u);
    case N_REAL:
        return PyFloat_FromDouble(n->d);
    default:
        return Py_NewRef(Py_None);
    }
}

/* The names of the row fields demoted to JSON text, in column order. */
static PyObject *demoted_names(const col_t *rows) {
    PyObject *out = PyList_New(0);
    for (int64_t k = 0; out && k < rows->nkids; k++) {
        if (rows->kids[k]->kind != K_JSON) continue;
        PyObject *name = PyUnicode_DecodeUTF8(rows->names[k], (Py_ssize_t)rows->nlens[k], NULL);
        if (!name || PyList_Append(out, name)) Py_CLEAR(out);
        Py_XDECREF(name);
    }
    if (!out) return NULL;
    PyObject *t = PyList_AsTuple(out);
    Py_DECREF(out);
    return t;
}

static PyObject *export_page(page_t *page) {
    PyObject *demoted = demoted_names(page->rows);
    if (!demoted) return NULL;
    struct ArrowSchema *s = malloc(sizeof *s);
    struct ArrowArray *a = malloc(sizeof *a);
    PyObject *cs = NULL, *ca = NULL;
    if (!s || !a) {
        free(s);
        free(a);
        Py_DECREF(demoted);
        return PyErr_NoMemory();
    }
    int rc = export_col(page->rows, "", 0, s, a);
    cs = PyCapsule_New(s, "arrow_schema", schema_capsule_free);
    if (!cs) {
        Py_DECREF(demoted);
        release_schema(s);
        free(s);
        release_array(a);
        free(a);
        return NULL;
    }
    ca = PyCapsule_New(a, "arrow_array", array_capsule_free);
    if (!ca) {
        Py_DECREF(cs);
        Py_DECREF(demoted);
        release_array(a);
        free(a);
        return NULL;
    }
    if (rc) {
        Py_DECREF(cs);
        Py_DECREF(ca);
        Py_DECREF(demoted);
        return PyErr_NoMemory();
    }
    PyObject *total = number_to_python(&page->total);
    PyObject *last = total ? number_to_python(&page->last) : NULL;
    if (!last) {
        Py_DECREF(cs);
        Py_DECREF(ca);
        Py_DECREF(demoted);
        Py_XDECREF(total);
        return NULL;
    }
    return Py_BuildValue("(NNNNN)", cs, ca, total, last, demoted);
}

static PyObject *decode(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer content;
    const char *envelope, *rows_key;
    PyObject *hint_seq, *hold = NULL;
    if (!PyArg_ParseTuple(args, "y*ssO", &content, &envelope, &rows_key, &hint_seq)) return NULL;
    hint_t *hints = NULL;
    Py_ssize_t nhints = 0;
    hold = PySequence_Tuple(hint_seq); /* the limited API has no PySequence_Fast_GET_ITEM */
    if (!hold || read_hints(hold, &hints, &nhints)) {
        Py_XDECREF(hold);
        PyBuffer_Release(&content);
        return NULL;
    }
    ctx_t x = {0};
    page_t page = {0};
    int rc;
    Py_BEGIN_ALLOW_THREADS;
    rc = decode_page(&x, content.buf, (size_t)content.len, envelope, rows_key, hints, nhints,
                     &page);
    Py_END_ALLOW_THREADS;
    free(hints);
    Py_DECREF(hold);
    PyBuffer_Release(&content);
    PyObject *result = NULL;
    if (rc == 0)
        result = export_page(&page);
    else if (x.error)
        PyErr_SetString(x.fatal ? PageError : PyExc_ValueError, x.error);
    else
        PyErr_NoMemory();
    col_free(page.rows);
    return result;
}

static PyMethodDef methods[] = {
    {"decode", decode, METH_VARARGS,
     "decode(content, envelope, rows_key, hints) -> (schema capsule, array capsule, total, "
     "last_page, names of the fields demoted to JSON text)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_pagejson", "One list page's JSON -> Arrow columns (C, yyjson).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pagejson(void) {
    if (!slots_lock && !(slots_lock = PyThread_allocate_lock())) return PyErr_NoMemory();
    if (!hash_seed) /* differs per process (address space layout, time) */
        hash_seed = ((uint64_t)(uintptr_t)&hash_seed * 0x9e3779b97f4a7c15u) ^ (uint64_t)time(NULL);
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (!PageError &&
        !(PageError = PyErr_NewExceptionWithDoc(
              "milekit.types._pagejson.PageError",
              "A page no reader should be given: nesting deeper than MAX_DEPTH, more than "
              "MAX_COLUMNS keys in one object column, a key holding a NUL, or columns far "
              "larger than the page.",
              PyExc_Exception, NULL)))
        goto fail;
    if (PyModule_AddObjectRef(m, "PageError", PageError) ||
        PyModule_AddIntConstant(m, "MAX_DEPTH", MAX_DEPTH) ||
        PyModule_AddIntConstant(m, "MAX_COLUMNS", MAX_COLUMNS) ||
        /* the kinds a hint may name (milekit/types/kinds.py reads them by name) */
        PyModule_AddIntConstant(m, "KIND_BOOL", K_BOOL) ||
        PyModule_AddIntConstant(m, "KIND_INT", K_INT) ||
        PyModule_AddIntConstant(m, "KIND_FLOAT", K_FLOAT) ||
        PyModule_AddIntConstant(m, "KIND_STRING", K_STR) ||
        PyModule_AddIntConstant(m, "KIND_LIST", K_LIST))
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
