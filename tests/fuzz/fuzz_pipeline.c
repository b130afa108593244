/*
 * fuzz_pipeline.c: the whole analysis of a small photo (smp_analyse_memory)
 * with the built-in palette, and its three outputs.
 *
 * In:  4 option bytes, then the photo file (seeds: corpus/pipeline/ are the
 *      image seeds with 4 bytes in front).
 *        byte 0: bits 0-1 regions: automatic, hair + scalp rectangles,
 *                named areas (one a scar), or both; bit 2 --white-roi;
 *                bit 3 --model direct; bit 4 first session; bit 5 no
 *                recipes; bit 6 match all hair (match_cluster -1); bit 7
 *                a Fitzpatrick type (from byte 3)
 *        byte 1: bits 0-1 metric; bits 2-5 top (0..15)
 *        byte 2: bits 0-1 analysis size (default, full, 32, 64); bits 2-3
 *                veil (default, 0, 1, 0.2); bits 4-5 blue shift (default,
 *                0, 0.1, 0.05)
 *        byte 3: where the rectangles lie (in 8 px steps; some fall outside
 *                the photo, which must be an error or a warning, not a crash)
 * Out: nothing; aborts when the result or its JSON / CSV / text breaks a
 *      promise: JSON that jansson cannot parse or that holds a non-finite
 *      number, a CSV number field that is nan or inf, more than one line of
 *      JSON, an error without a message, a confidence outside 0..1.
 * Not: mask files, --report and debug masks (they read or write files).
 */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "smpmatch.h"

/* Loaded once (LLVMFuzzerInitialize) and only read afterwards: test code,
 * not the library, so a static is fine here. */
static smp_palette *palette;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    smp_error err;
    if (smp_palette_new_default(&palette, &err) != SMP_OK) {
        fprintf(stderr, "fuzz_pipeline: no default palette: %s\n", err.message);
        abort();
    }
    return 0;
}

static smp_rect rect_at(unsigned b, int k)
{
    smp_rect r = {(int)(b & 15) * 8 + 12 * k, (int)(b >> 4) * 8 + 5 * k, 16 + 8 * k, 12 + 4 * k};
    return r;
}

static void options_from(const uint8_t *o, smp_options *opt)
{
    smp_options_init(opt);
    unsigned regions = o[0] & 3;
    if (regions & 1) {
        opt->hair_roi[0] = rect_at(o[3], 0);
        opt->scalp_roi[0] = rect_at(o[3] ^ 0x55, 1);
        opt->scalp_roi[1] = rect_at(o[3] ^ 0x0f, 2);
        opt->n_hair_roi = 1;
        opt->n_scalp_roi = 2;
    }
    if (regions & 2) {
        snprintf(opt->areas[0].name, sizeof opt->areas[0].name, "crown");
        opt->areas[0].rect = rect_at(o[3] ^ 0x33, 0);
        snprintf(opt->areas[1].name, sizeof opt->areas[1].name, "scar_1");
        opt->areas[1].rect = rect_at(o[3] ^ 0xcc, 1);
        opt->n_areas = 2;
    }
    if (o[0] & 4) {
        opt->has_white_roi = 1;
        opt->white_roi = rect_at(o[3] ^ 0xa5, 0);
    }
    opt->model = o[0] & 8 ? SMP_MODEL_DIRECT : SMP_MODEL_HEALED;
    opt->session = o[0] & 16 ? SMP_SESSION_FIRST : SMP_SESSION_ANY;
    opt->recipes = !(o[0] & 32);
    opt->match_cluster = o[0] & 64 ? -1 : 0;
    opt->fitzpatrick = o[0] & 128 ? 1 + o[3] % 6 : 0;
    opt->metric = (smp_metric)(o[1] & 3);
    opt->top = (o[1] >> 2) & 15;
    static const int sizes[4] = {SMP_DEFAULT_ANALYSIS_SIZE, 0, 32, 64};
    static const double veils[4] = {SMP_DEFAULT_VEIL, 0, 1, 0.2};
    static const double blues[4] = {SMP_DEFAULT_BLUE_SHIFT, 0, 0.1, 0.05};
    opt->analysis_size = sizes[o[2] & 3];
    opt->veil = veils[(o[2] >> 2) & 3];
    opt->blue_shift = blues[(o[2] >> 4) & 3];
    opt->max_pixels = (size_t)4 * 1000 * 1000; /* as fuzz_image.c */
}

/* Every number in a parsed JSON value is finite (jansson refuses to parse
 * nan/inf, and json_real refuses to make them, so this guards the writer's
 * own number formatting). */
static void check_json_numbers(const json_t *v)
{
    if (json_is_real(v)) {
        FUZZ_CHECK(isfinite(json_real_value(v)));
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) check_json_numbers(x);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) check_json_numbers(x);
    }
}

static void check_json(const smp_result *r)
{
    char *s = smp_result_to_json(r);
    FUZZ_CHECK(s != NULL);
    FUZZ_CHECK(strchr(s, '\n') == NULL); /* JSON Lines: one object, one line */
    json_error_t e;
    json_t *root = json_loads(s, 0, &e);
    if (!root)
        fprintf(stderr, "JSON does not parse (%s): %s\n", e.text, s);
    FUZZ_CHECK(root != NULL);
    FUZZ_CHECK(json_is_object(root));
    const char *status = json_string_value(json_object_get(root, "status"));
    FUZZ_CHECK(status && strcmp(status, r->status == SMP_OK ? "ok" : "error") == 0);
    check_json_numbers(root);
    json_decref(root);
    free(s);
}

/* Columns of smp_csv_header() that hold numbers. */
static int numeric_column(const char *name, size_t n)
{
    static const char *const cols[] = {
        "rank",    "delta_e", "delta_e00", "shade_L", "shade_a", "shade_b", "hair_L",
        "hair_a",  "hair_b",  "scalp_L",   "scalp_a", "scalp_b", "ita_deg", "confidence",
        "grey_share", "healed_L", "healed_a", "healed_b", "bottle_delta_e00"};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        if (strlen(cols[i]) == n && memcmp(cols[i], name, n) == 0)
            return 1;
    return 0;
}

/* The header's i-th column name (unquoted words): start and length. */
static const char *header_column(const char *h, size_t i, size_t *n)
{
    while (i-- > 0) {
        h = strchr(h, ',');
        if (!h)
            return NULL;
        h++;
    }
    *n = strcspn(h, ",\n");
    return h;
}

/* Splits the CSV rows (RFC 4180 quoting) and checks the numeric fields are
 * empty or a finite number, and every row has the header's field count. */
static void check_csv(const smp_result *r)
{
    char *s = smp_result_to_csv(r);
    FUZZ_CHECK(s != NULL);
    const char *h = smp_csv_header();
    size_t len = strlen(s), field = 0, nfields = 1;
    for (const char *p = h; *p; p++)
        nfields += *p == ',';
    FUZZ_CHECK(len > 0 && s[len - 1] == '\n');
    char buf[128];
    size_t blen = 0;
    int quoted = 0, toolong = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (quoted) {
            if (c == '"' && s[i + 1] == '"')
                i++;
            else if (c == '"')
                quoted = 0;
            toolong = 1; /* a quoted field is text, never a number */
            continue;
        }
        if (c == '"') {
            quoted = 1;
            continue;
        }
        if (c != ',' && c != '\n') {
            if (blen + 1 < sizeof buf)
                buf[blen++] = c;
            else
                toolong = 1;
            continue;
        }
        size_t cn;
        const char *col = header_column(h, field, &cn);
        FUZZ_CHECK(col != NULL);
        if (numeric_column(col, cn) && blen > 0) {
            FUZZ_CHECK(!toolong);
            buf[blen] = 0;
            char *end;
            double d = strtod(buf, &end);
            FUZZ_CHECK(*end == 0 && isfinite(d));
        }
        blen = 0;
        toolong = 0;
        field++;
        if (c == '\n') {
            FUZZ_CHECK(field == nfields);
            field = 0;
        }
    }
    FUZZ_CHECK(!quoted);
    free(s);
}

static void check_result(const smp_result *r, smp_status st)
{
    FUZZ_CHECK(r->status == st);
    FUZZ_CHECK(r->file && strcmp(r->file, "fuzz.jpg") == 0);
    if (st != SMP_OK) {
        FUZZ_CHECK(r->error && r->error[0] && strchr(r->error, '\n') == NULL);
        return;
    }
    FUZZ_CHECK(r->error == NULL);
    FUZZ_CHECK(isfinite(r->confidence) && r->confidence >= 0 && r->confidence <= 1);
    FUZZ_CHECK(r->image.width > 0 && r->image.height > 0);
    FUZZ_CHECK(r->image.analysed_width > 0 && r->image.analysed_width <= r->image.width);
    FUZZ_CHECK(r->image.analysed_height > 0 && r->image.analysed_height <= r->image.height);
    for (size_t i = 0; i < r->n_matches; i++) {
        const smp_match *m = &r->matches[i];
        FUZZ_CHECK(m->name && m->verdict);
        FUZZ_CHECK(isfinite(m->delta_e) && isfinite(m->delta_e00) && m->delta_e00 >= 0);
        FUZZ_CHECK(i == 0 || m->rank >= r->matches[i - 1].rank);
    }
    if (r->hair.measured)
        FUZZ_CHECK(isfinite(r->hair.lab[0]) && isfinite(r->hair.lab[1]) && isfinite(r->hair.lab[2]));
    if (r->scalp.measured)
        FUZZ_CHECK(isfinite(r->scalp.lab[0]) && isfinite(r->scalp.lab[1]) &&
                   isfinite(r->scalp.lab[2]));
    for (size_t i = 0; i < r->n_warnings; i++)
        FUZZ_CHECK(r->warnings[i] != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    smp_options opt;
    options_from(data, &opt);
    smp_result *r = NULL;
    smp_status st = smp_analyse_memory("fuzz.jpg", data + 4, size - 4, palette, &opt, &r);
    if (!r) {
        FUZZ_CHECK(st == SMP_E_NOMEM);
        return 0;
    }
    check_result(r, st);
    check_json(r);
    check_csv(r);
    char *text = smp_result_to_text(r, (int)(data[1] >> 7));
    FUZZ_CHECK(text != NULL && text[0] != 0);
    free(text);
    smp_result_free(r);
    return 0;
}
