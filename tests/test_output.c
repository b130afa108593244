/*
 * test_output.c: the output stage (src/output.c) on hand-built results.
 *
 * Results are filled here with malloc'd strings, the way the pipeline fills
 * them, and freed with a local helper, so these tests need no photo. JSON is
 * read back with jansson; CSV with the small RFC 4180 reader below, written
 * from the RFC and not from output.c.
 */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "smpmatch.h"

static char *xdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    assert_non_null(d);
    memcpy(d, s, n);
    return d;
}

/* A finished "ok" result with three matches (ranks 1, 1, 3) and one warning.
 * The colours are values a hair/scalp measurement could give; what matters
 * is that they come back rounded as documented. */
static smp_result *make_result(const char *file)
{
    smp_result *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->file = xdup(file);
    r->status = SMP_OK;
    r->image.width = 4032;
    r->image.height = 3024;
    r->image.analysed_width = 1008;
    r->image.analysed_height = 756;
    r->image.format = "jpeg";
    r->image.icc_profile = xdup("sRGB IEC61966-2.1");
    r->image.icc_assumed = 1;
    r->image.orientation = 6;

    r->hair = (smp_colour_stat){1, {23.456, 4.123, -6.789}, "#3e3128", 12345, 20000, 2.346,
                                SMP_SOURCE_AUTO};
    r->scalp = (smp_colour_stat){1, {62.1, 12.3, 16.2}, "#b58f7a", 8100, 9000, 1.8, SMP_SOURCE_ROI};
    r->ita_deg = 36.44;
    r->ita_category = "intermediate";
    r->calibration.method = "none";
    r->metric = SMP_METRIC_DE2000;
    r->model = SMP_MODEL_DIRECT;
    r->confidence = 0.625;

    static const char *names[] = {"Dark Ash Brown", "Espresso", "Soft Black"};
    static const int ranks[] = {1, 1, 3};
    r->n_matches = 3;
    r->matches = calloc(3, sizeof *r->matches);
    assert_non_null(r->matches);
    for (int i = 0; i < 3; i++) {
        smp_match *m = &r->matches[i];
        char code[16];
        snprintf(code, sizeof code, "C-%d", i + 1);
        m->rank = ranks[i];
        m->name = xdup(names[i]);
        m->code = xdup(code);
        m->palette = xdup("built-in");
        m->notes = xdup(i == 0 ? "vendor swatch, healed" : "");
        m->lab[0] = 25.0 + i;
        m->lab[1] = 3.0;
        m->lab[2] = -5.0;
        m->delta_e = 1.234 + i;
        m->delta_e00 = 1.234 + i;
        m->verdict = "acceptable";
    }
    r->n_warnings = 1;
    r->warnings = calloc(1, sizeof *r->warnings);
    assert_non_null(r->warnings);
    r->warnings[0] = xdup("no colour reference in the photo");
    return r;
}

/* Salt-and-pepper hair: a dark group of 72.49 % and a grey one of 27.51 %
 * (grey_share the grey group's share, as smpmatch.h defines it). */
static void add_clusters(smp_result *r)
{
    r->n_hair_clusters = 2;
    r->hair_clusters[0] = (struct smp_hair_cluster){{21.234, 2.5, 3.456}, "#3a3330", 0.7249, 0};
    r->hair_clusters[1] = (struct smp_hair_cluster){{68.0, -0.4, 1.2}, "#a9a6a2", 0.2751, 1};
    r->grey_share = 0.2751;
}

static smp_result *make_error(const char *file, const char *message)
{
    smp_result *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->file = xdup(file);
    r->status = SMP_E_FORMAT;
    r->error = xdup(message);
    return r;
}

/* Frees what make_result allocated (smp_result_free lives in the pipeline;
 * this mirrors what it is documented to free). */
static void free_result(smp_result *r)
{
    free(r->file);
    free(r->error);
    free(r->image.icc_profile);
    for (size_t i = 0; i < r->n_matches; i++) {
        free((char *)r->matches[i].name);
        free((char *)r->matches[i].code);
        free((char *)r->matches[i].palette);
        free((char *)r->matches[i].notes);
    }
    free(r->matches);
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    free(r);
}

static json_t *to_json(const smp_result *r)
{
    char *s = smp_result_to_json(r);
    assert_non_null(s);
    assert_null(strchr(s, '\n')); /* JSON Lines: one object, one line */
    json_error_t jerr;
    json_t *j = json_loads(s, 0, &jerr);
    if (!j)
        fail_msg("output is not JSON (%s): %s", jerr.text, s);
    free(s);
    return j;
}

static double num(json_t *o, const char *path_key)
{
    json_t *v = json_object_get(o, path_key);
    if (!json_is_number(v))
        fail_msg("%s is not a number", path_key);
    return json_number_value(v);
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("%s is not a string", key);
    return json_string_value(v);
}

/* ------------------------------------------------------------------ */

static void test_json_ok_keys_and_values(void **state)
{
    (void)state;
    smp_result *r = make_result("consult1.jpg");
    json_t *j = to_json(r);

    assert_string_equal(str(j, "file"), "consult1.jpg");
    assert_string_equal(str(j, "status"), "ok");
    assert_null(json_object_get(j, "error"));

    json_t *img = json_object_get(j, "image");
    assert_true(json_is_object(img));
    assert_int_equal(json_integer_value(json_object_get(img, "width")), 4032);
    assert_int_equal(json_integer_value(json_object_get(img, "height")), 3024);
    assert_int_equal(json_integer_value(json_object_get(img, "analysed_width")), 1008);
    assert_int_equal(json_integer_value(json_object_get(img, "analysed_height")), 756);
    assert_int_equal(json_integer_value(json_object_get(img, "orientation")), 6);
    assert_string_equal(str(img, "icc_profile"), "sRGB IEC61966-2.1");
    assert_true(json_is_true(json_object_get(img, "icc_assumed")));
    assert_string_equal(str(img, "format"), "jpeg");

    /* Lab to two decimals: 23.456 -> 23.46, -6.789 -> -6.79. */
    json_t *hair = json_object_get(j, "hair");
    json_t *lab = json_object_get(hair, "lab");
    assert_int_equal(json_array_size(lab), 3);
    assert_float_equal(json_number_value(json_array_get(lab, 0)), 23.46, 1e-9);
    assert_float_equal(json_number_value(json_array_get(lab, 1)), 4.12, 1e-9);
    assert_float_equal(json_number_value(json_array_get(lab, 2)), -6.79, 1e-9);
    assert_string_equal(str(hair, "hex"), "#3e3128");
    assert_int_equal(json_integer_value(json_object_get(hair, "pixels")), 12345);
    assert_float_equal(num(hair, "spread_de"), 2.35, 1e-9);
    assert_string_equal(str(hair, "source"), "auto");
    assert_null(json_object_get(hair, "ita_deg")); /* ITA° is the skin's */

    json_t *scalp = json_object_get(j, "scalp");
    assert_string_equal(str(scalp, "source"), "roi");
    assert_float_equal(num(scalp, "ita_deg"), 36.4, 1e-9);
    assert_string_equal(str(scalp, "ita_category"), "intermediate");

    json_t *cal = json_object_get(j, "calibration");
    assert_string_equal(str(cal, "method"), "none");
    assert_null(json_object_get(cal, "roi"));

    assert_string_equal(str(j, "model"), "direct");
    assert_string_equal(str(j, "metric"), "de2000");
    assert_float_equal(num(j, "confidence"), 0.63, 1e-9); /* 0.625 rounds half away from zero */

    json_t *m = json_object_get(j, "matches");
    assert_int_equal(json_array_size(m), 3);
    json_t *m0 = json_array_get(m, 0), *m1 = json_array_get(m, 1), *m2 = json_array_get(m, 2);
    assert_int_equal(json_integer_value(json_object_get(m0, "rank")), 1);
    assert_int_equal(json_integer_value(json_object_get(m1, "rank")), 1);
    assert_int_equal(json_integer_value(json_object_get(m2, "rank")), 3);
    assert_string_equal(str(m0, "name"), "Dark Ash Brown");
    assert_string_equal(str(m0, "code"), "C-1");
    assert_string_equal(str(m0, "palette"), "built-in");
    assert_string_equal(str(m0, "metric"), "de2000");
    assert_string_equal(str(m0, "verdict"), "acceptable");
    assert_float_equal(num(m0, "delta_e"), 1.23, 1e-9);
    assert_float_equal(num(m2, "delta_e"), 3.23, 1e-9);
    assert_float_equal(json_number_value(json_array_get(json_object_get(m1, "lab"), 0)), 26.0, 1e-9);
    assert_string_equal(str(m0, "notes"), "vendor swatch, healed");
    assert_null(json_object_get(m1, "notes")); /* empty notes are left out */
    /* sRGB hex of a dark brown: '#' and six hex digits. */
    const char *hex = str(m0, "hex");
    assert_int_equal(strlen(hex), 7);
    assert_int_equal(strspn(hex + 1, "0123456789abcdef"), 6);

    json_t *w = json_object_get(j, "warnings");
    assert_int_equal(json_array_size(w), 1);
    assert_string_equal(json_string_value(json_array_get(w, 0)), "no colour reference in the photo");
    json_decref(j);
    free_result(r);
}

/* Keys come in the order of docs/DESIGN.md, for people reading the lines. */
static void test_json_key_order(void **state)
{
    (void)state;
    smp_result *r = make_result("a.jpg");
    char *s = smp_result_to_json(r);
    assert_non_null(s);
    static const char *order[] = {"\"file\"", "\"status\"", "\"image\"", "\"hair\"", "\"scalp\"",
                                  "\"calibration\"", "\"matches\"", "\"confidence\"", "\"warnings\""};
    const char *prev = s;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *at = strstr(s, order[i]);
        if (!at || at < prev)
            fail_msg("key %s missing or out of order in %s", order[i], s);
        prev = at;
    }
    free(s);
    free_result(r);
}

static void test_json_escaping(void **state)
{
    (void)state;
    /* quote, backslash, newline, tab and non-ASCII (é, Δ, 😀) */
    const char *name = "my \"best\" \\ consult\nphoto\t\xc3\xa9\xce\x94\xf0\x9f\x98\x80.jpg";
    smp_result *r = make_result(name);
    free((char *)r->matches[0].name);
    r->matches[0].name = xdup("Ash \"cool\", 2\\3");
    json_t *j = to_json(r);
    assert_string_equal(str(j, "file"), name);
    json_t *m0 = json_array_get(json_object_get(j, "matches"), 0);
    assert_string_equal(str(m0, "name"), "Ash \"cool\", 2\\3");
    json_decref(j);
    free_result(r);
}

/* A file name in Latin-1 is not UTF-8: JSON cannot carry it as is, so the
 * bad byte becomes U+FFFD and the rest is kept. */
static void test_json_invalid_utf8(void **state)
{
    (void)state;
    smp_result *r = make_result("caf\xe9.jpg");
    json_t *j = to_json(r);
    assert_string_equal(str(j, "file"), "caf\xef\xbf\xbd.jpg");
    json_decref(j);
    free_result(r);
}

static void test_json_nan_is_null(void **state)
{
    (void)state;
    smp_result *r = make_result("a.jpg");
    r->hair.spread_de = NAN;
    r->hair.lab[1] = INFINITY;
    r->confidence = NAN;
    r->matches[1].delta_e = -INFINITY;
    json_t *j = to_json(r);
    json_t *hair = json_object_get(j, "hair");
    assert_true(json_is_null(json_object_get(hair, "spread_de")));
    assert_true(json_is_null(json_array_get(json_object_get(hair, "lab"), 1)));
    assert_float_equal(json_number_value(json_array_get(json_object_get(hair, "lab"), 0)), 23.46, 1e-9);
    assert_true(json_is_null(json_object_get(j, "confidence")));
    json_t *m1 = json_array_get(json_object_get(j, "matches"), 1);
    assert_true(json_is_null(json_object_get(m1, "delta_e")));
    json_decref(j);
    free_result(r);
}

static void test_json_unmeasured_and_calibrated(void **state)
{
    (void)state;
    smp_result *r = make_result("a.jpg");
    r->scalp.measured = 0;
    r->calibration.method = "white-roi";
    r->calibration.roi = (smp_rect){10, 20, 30, 40};
    r->calibration.patch_lab[0] = 91.234;
    r->calibration.spread_de = 0.5;
    r->calibration.clipped_share = 0.0126;
    json_t *j = to_json(r);
    json_t *scalp = json_object_get(j, "scalp");
    assert_non_null(scalp); /* the key stays, as null */
    assert_true(json_is_null(scalp));
    json_t *cal = json_object_get(j, "calibration");
    assert_string_equal(str(cal, "method"), "white-roi");
    json_t *roi = json_object_get(cal, "roi");
    assert_int_equal(json_array_size(roi), 4);
    assert_int_equal(json_integer_value(json_array_get(roi, 0)), 10);
    assert_int_equal(json_integer_value(json_array_get(roi, 3)), 40);
    assert_float_equal(json_number_value(json_array_get(json_object_get(cal, "patch_lab"), 0)), 91.23,
                       1e-9);
    assert_float_equal(num(cal, "clipped_share"), 0.013, 1e-9);
    json_decref(j);
    free_result(r);
}

static void test_json_hair_clusters(void **state)
{
    (void)state;
    smp_result *r = make_result("a.jpg");
    json_t *j = to_json(r);
    json_t *hair = json_object_get(j, "hair");
    assert_null(json_object_get(hair, "clusters")); /* not grouped: no key */
    json_t *gs = json_object_get(hair, "grey_share");
    assert_non_null(gs); /* ... but grey_share is always there, null */
    assert_true(json_is_null(gs));
    json_decref(j);

    add_clusters(r);
    j = to_json(r);
    hair = json_object_get(j, "hair");
    json_t *cl = json_object_get(hair, "clusters");
    assert_int_equal(json_array_size(cl), 2);
    json_t *c0 = json_array_get(cl, 0), *c1 = json_array_get(cl, 1);
    assert_float_equal(json_number_value(json_array_get(json_object_get(c0, "lab"), 0)), 21.23, 1e-9);
    assert_float_equal(json_number_value(json_array_get(json_object_get(c0, "lab"), 2)), 3.46, 1e-9);
    assert_string_equal(str(c0, "hex"), "#3a3330");
    assert_float_equal(num(c0, "share"), 0.725, 1e-9); /* shares to 3 decimals */
    assert_true(json_is_false(json_object_get(c0, "grey")));
    assert_string_equal(str(c1, "hex"), "#a9a6a2");
    assert_float_equal(num(c1, "share"), 0.275, 1e-9);
    assert_true(json_is_true(json_object_get(c1, "grey")));
    assert_float_equal(num(hair, "grey_share"), 0.275, 1e-9);
    assert_null(json_object_get(json_object_get(j, "scalp"), "clusters")); /* the hair's only */
    json_decref(j);

    /* An empty hex (a result filled by hand) is made from the Lab. */
    r->hair_clusters[1].hex[0] = 0;
    j = to_json(r);
    const char *hex = str(json_array_get(json_object_get(json_object_get(j, "hair"), "clusters"), 1), "hex");
    char want[8];
    smp_lab_to_hex(r->hair_clusters[1].lab, want);
    assert_string_equal(hex, want);
    json_decref(j);
    free_result(r);
}

static void test_json_error_shape(void **state)
{
    (void)state;
    smp_result *r = make_error("consult7.jpg", "consult7.jpg: not a JPEG or PNG file");
    json_t *j = to_json(r);
    assert_string_equal(str(j, "file"), "consult7.jpg");
    assert_string_equal(str(j, "status"), "error");
    json_t *e = json_object_get(j, "error");
    assert_true(json_is_object(e));
    assert_string_equal(str(e, "message"), "consult7.jpg: not a JPEG or PNG file");
    assert_true(json_is_array(json_object_get(j, "warnings")));
    assert_int_equal(json_array_size(json_object_get(j, "warnings")), 0);
    assert_null(json_object_get(j, "matches"));
    assert_null(json_object_get(j, "image"));
    assert_null(json_object_get(j, "hair"));
    json_decref(j);
    free_result(r);
}

/* ------------------------------------------------------------------ */
/* CSV                                                                 */
/* ------------------------------------------------------------------ */

/* An RFC 4180 reader: splits text into records of fields. Fields are
 * written into `fields` (strdup'd), records end at a line break outside
 * quotes. Returns the number of records; counts[i] is record i's fields. */
#define MAXREC 16
#define MAXFLD 64
typedef struct csv_doc {
    size_t n;
    size_t counts[MAXREC];
    char *fields[MAXREC][MAXFLD];
} csv_doc;

static void csv_read(const char *s, csv_doc *d)
{
    memset(d, 0, sizeof *d);
    char buf[1024];
    size_t len = 0;
    int quoted = 0, in_quotes = 0;
    for (const char *p = s;; p++) {
        if (in_quotes) {
            assert_true(*p != 0); /* unterminated quote */
            if (*p == '"' && p[1] == '"') {
                buf[len++] = '"';
                p++;
            } else if (*p == '"') {
                in_quotes = 0;
            } else {
                buf[len++] = *p;
            }
            assert_true(len < sizeof buf);
            continue;
        }
        if (*p == '"') {
            assert_int_equal(len, 0); /* a quote only opens a field */
            assert_false(quoted);
            quoted = in_quotes = 1;
            continue;
        }
        if (*p == ',' || *p == '\n' || *p == 0) {
            if (*p == 0 && len == 0 && !quoted && d->counts[d->n] == 0)
                break; /* end of text after the last "\n" */
            assert_true(d->n < MAXREC && d->counts[d->n] < MAXFLD);
            buf[len] = 0;
            d->fields[d->n][d->counts[d->n]++] = strdup(buf);
            len = 0;
            quoted = 0;
            if (*p != ',')
                d->n++;
            if (*p == 0)
                break;
            continue;
        }
        assert_false(quoted); /* nothing after a closing quote but , or \n */
        buf[len++] = *p;
        assert_true(len < sizeof buf);
    }
}

static void csv_free(csv_doc *d)
{
    for (size_t i = 0; i < MAXREC; i++)
        for (size_t k = 0; k < d->counts[i]; k++)
            free(d->fields[i][k]);
}

/* Index of a column by its header name. */
static size_t col(const csv_doc *hdr, const char *name)
{
    for (size_t k = 0; k < hdr->counts[0]; k++)
        if (strcmp(hdr->fields[0][k], name) == 0)
            return k;
    fail_msg("no column %s", name);
    return 0;
}

static void test_csv_rows_and_quoting(void **state)
{
    (void)state;
    smp_result *r = make_result("dir/consult, \"one\".jpg");
    free((char *)r->matches[0].name);
    r->matches[0].name = xdup("Ash, \"Dark\"");
    free((char *)r->matches[2].notes);
    r->matches[2].notes = xdup("two\nlines");

    csv_doc h, d;
    const char *header = smp_csv_header();
    assert_non_null(header);
    assert_int_equal(header[strlen(header) - 1], '\n');
    csv_read(header, &h);
    assert_int_equal(h.n, 1);

    char *rows = smp_result_to_csv(r);
    assert_non_null(rows);
    assert_int_equal(rows[strlen(rows) - 1], '\n');
    assert_non_null(strstr(rows, "\"Ash, \"\"Dark\"\"\"")); /* RFC 4180 quoting, exactly */
    csv_read(rows, &d);
    assert_int_equal(d.n, 3); /* one row per match */
    for (size_t i = 0; i < d.n; i++)
        assert_int_equal(d.counts[i], h.counts[0]);

    assert_string_equal(d.fields[0][col(&h, "file")], "dir/consult, \"one\".jpg");
    assert_string_equal(d.fields[0][col(&h, "status")], "ok");
    assert_string_equal(d.fields[0][col(&h, "name")], "Ash, \"Dark\"");
    assert_string_equal(d.fields[1][col(&h, "name")], "Espresso");
    assert_string_equal(d.fields[0][col(&h, "rank")], "1");
    assert_string_equal(d.fields[1][col(&h, "rank")], "1");
    assert_string_equal(d.fields[2][col(&h, "rank")], "3");
    assert_string_equal(d.fields[2][col(&h, "code")], "C-3");
    assert_string_equal(d.fields[0][col(&h, "delta_e")], "1.23");
    assert_string_equal(d.fields[0][col(&h, "metric")], "de2000");
    assert_string_equal(d.fields[0][col(&h, "verdict")], "acceptable");
    assert_string_equal(d.fields[1][col(&h, "shade_L")], "26.00");
    assert_string_equal(d.fields[0][col(&h, "hair_L")], "23.46");
    assert_string_equal(d.fields[0][col(&h, "hair_b")], "-6.79");
    assert_string_equal(d.fields[0][col(&h, "hair_hex")], "#3e3128");
    assert_string_equal(d.fields[2][col(&h, "scalp_hex")], "#b58f7a");
    assert_string_equal(d.fields[0][col(&h, "ita_category")], "intermediate");
    assert_string_equal(d.fields[0][col(&h, "confidence")], "0.63");
    assert_string_equal(d.fields[0][col(&h, "error")], "");
    free(rows);
    csv_free(&h);
    csv_free(&d);
    free_result(r);
}

/* The columns scripts knew before hair_clusters and grey_share came keep
 * their places (this list is the header as it was released); the two new
 * ones come last. */
static void test_csv_new_columns_at_end(void **state)
{
    (void)state;
    static const char *const old[] = {
        "file", "status", "rank", "name", "code", "palette", "delta_e", "delta_e00", "metric", "model",
        "verdict", "shade_L", "shade_a", "shade_b", "shade_hex", "hair_L", "hair_a", "hair_b", "hair_hex",
        "scalp_L", "scalp_a", "scalp_b", "scalp_hex", "ita_deg", "ita_category", "calibration",
        "confidence", "warnings", "error"};
    size_t n_old = sizeof old / sizeof old[0];
    csv_doc h;
    csv_read(smp_csv_header(), &h);
    assert_int_equal(h.counts[0], n_old + 2);
    for (size_t i = 0; i < n_old; i++)
        assert_string_equal(h.fields[0][i], old[i]);
    assert_string_equal(h.fields[0][n_old], "hair_clusters");
    assert_string_equal(h.fields[0][n_old + 1], "grey_share");

    smp_result *r = make_result("a.jpg");
    add_clusters(r);
    csv_doc d;
    char *rows = smp_result_to_csv(r);
    assert_non_null(rows);
    csv_read(rows, &d);
    assert_int_equal(d.n, 3);
    for (size_t i = 0; i < d.n; i++) {
        assert_int_equal(d.counts[i], h.counts[0]);
        assert_string_equal(d.fields[i][col(&h, "hair_clusters")], "0.72 #3a3330;0.28 #a9a6a2 grey");
        assert_string_equal(d.fields[i][col(&h, "grey_share")], "0.275");
        assert_string_equal(d.fields[i][col(&h, "error")], "");
    }
    free(rows);
    csv_free(&d);

    /* Not grouped: both empty. */
    r->n_hair_clusters = 0;
    rows = smp_result_to_csv(r);
    csv_read(rows, &d);
    assert_string_equal(d.fields[0][col(&h, "hair_clusters")], "");
    assert_string_equal(d.fields[0][col(&h, "grey_share")], "");
    assert_string_equal(d.fields[0][col(&h, "hair_hex")], "#3e3128");
    free(rows);
    csv_free(&d);
    csv_free(&h);
    free_result(r);
}

static void test_csv_error_row(void **state)
{
    (void)state;
    smp_result *r = make_error("bad.jpg", "bad.jpg: truncated after 1.2 MB, \"corrupt\"");
    csv_doc h, d;
    csv_read(smp_csv_header(), &h);
    char *rows = smp_result_to_csv(r);
    assert_non_null(rows);
    csv_read(rows, &d);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.counts[0], h.counts[0]);
    assert_string_equal(d.fields[0][col(&h, "status")], "error");
    assert_string_equal(d.fields[0][col(&h, "name")], "");
    assert_string_equal(d.fields[0][col(&h, "error")], "bad.jpg: truncated after 1.2 MB, \"corrupt\"");
    assert_string_equal(d.fields[0][col(&h, "hair_clusters")], "");
    assert_string_equal(d.fields[0][col(&h, "grey_share")], "");
    free(rows);
    csv_free(&h);
    csv_free(&d);
    free_result(r);
}

/* No matches (an empty palette) and NaN numbers: still one full row. */
static void test_csv_no_matches_nan(void **state)
{
    (void)state;
    smp_result *r = make_result("a.jpg");
    for (size_t i = 0; i < r->n_matches; i++) {
        free((char *)r->matches[i].name);
        free((char *)r->matches[i].code);
        free((char *)r->matches[i].palette);
        free((char *)r->matches[i].notes);
    }
    r->n_matches = 0;
    r->hair.lab[0] = NAN;
    r->scalp.measured = 0;
    csv_doc h, d;
    csv_read(smp_csv_header(), &h);
    char *rows = smp_result_to_csv(r);
    assert_non_null(rows);
    assert_null(strstr(rows, "nan"));
    csv_read(rows, &d);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.counts[0], h.counts[0]);
    assert_string_equal(d.fields[0][col(&h, "status")], "ok");
    assert_string_equal(d.fields[0][col(&h, "rank")], "");
    assert_string_equal(d.fields[0][col(&h, "hair_L")], "");
    assert_string_equal(d.fields[0][col(&h, "hair_a")], "4.12");
    assert_string_equal(d.fields[0][col(&h, "scalp_L")], "");
    assert_string_equal(d.fields[0][col(&h, "ita_deg")], "");
    free(rows);
    csv_free(&h);
    csv_free(&d);
    free_result(r);
}

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

static void test_text_plain(void **state)
{
    (void)state;
    smp_result *r = make_result("consult1.jpg");
    char *t = smp_result_to_text(r, 0);
    assert_non_null(t);
    assert_null(strchr(t, '\x1b'));
    assert_int_equal(strncmp(t, "consult1.jpg", 12), 0); /* first line: the file */
    assert_non_null(strstr(t, "4032×3024"));
    assert_non_null(strstr(t, "(assumed sRGB)"));
    assert_non_null(strstr(t, "Dark Ash Brown"));
    assert_non_null(strstr(t, "Espresso"));
    assert_non_null(strstr(t, "Soft Black"));
    assert_non_null(strstr(t, "ΔE"));
    assert_non_null(strstr(t, "ITA° 36.4"));
    assert_non_null(strstr(t, "intermediate"));
    assert_non_null(strstr(t, "#3e3128"));
    assert_non_null(strstr(t, "1.23"));
    assert_non_null(strstr(t, "\n  warning: no colour reference in the photo\n"));
    /* Espresso ties with rank 1: shown as "=", not as a second "1". */
    const char *esp = strstr(t, "Espresso");
    const char *line = esp;
    while (line > t && line[-1] != '\n')
        line--;
    assert_non_null(memchr(line, '=', (size_t)(esp - line)));
    /* Soft Black's row starts with its rank, 3. */
    const char *sb = strstr(t, "Soft Black");
    line = sb;
    while (line > t && line[-1] != '\n')
        line--;
    assert_non_null(memchr(line, '3', (size_t)(sb - line)));
    assert_int_equal(t[strlen(t) - 1], '\n');
    free(t);
    free_result(r);
}

static void test_text_colour(void **state)
{
    (void)state;
    smp_result *r = make_result("consult1.jpg");
    char *t = smp_result_to_text(r, 1);
    assert_non_null(t);
    /* The hair swatch: #3e3128 is 62,49,40. */
    assert_non_null(strstr(t, "\x1b[48;2;62;49;40m"));
    assert_non_null(strstr(t, "\x1b[0m"));
    /* one swatch each for hair, scalp and the three shades */
    size_t n = 0;
    for (const char *p = t; (p = strstr(p, "\x1b[48;2;")); p++)
        n++;
    assert_int_equal(n, 5);
    free(t);
    free_result(r);
}

/* Two or more hair groups get a line under the hair; one group does not. */
static void test_text_clusters(void **state)
{
    (void)state;
    smp_result *r = make_result("consult1.jpg");
    add_clusters(r);
    char *t = smp_result_to_text(r, 0);
    assert_non_null(t);
    const char *g = strstr(t, "groups: 72 % #3a3330, 28 % #a9a6a2 grey\n");
    assert_non_null(g);
    /* between the hair line and the scalp line */
    const char *hair = strstr(t, "  hair "), *scalp = strstr(t, "  scalp ");
    assert_non_null(hair);
    assert_non_null(scalp);
    assert_true(hair < g && g < scalp);
    free(t);

    t = smp_result_to_text(r, 1); /* a swatch for each group, too */
    size_t n = 0;
    for (const char *p = t; (p = strstr(p, "\x1b[48;2;")); p++)
        n++;
    assert_int_equal(n, 7);
    assert_non_null(strstr(t, "\x1b[48;2;169;166;162m")); /* #a9a6a2 */
    free(t);

    r->n_hair_clusters = 1;
    r->hair_clusters[0].share = 1.0;
    t = smp_result_to_text(r, 0);
    assert_null(strstr(t, "groups"));
    free(t);
    free_result(r);
}

/* Escape sequences in names from files must not reach the terminal. */
static void test_text_control_characters(void **state)
{
    (void)state;
    smp_result *r = make_result("evil\x1b[2Jname\n.jpg");
    free((char *)r->matches[0].name);
    r->matches[0].name = xdup("red\x1b]0;title\x07");
    char *t = smp_result_to_text(r, 0);
    assert_non_null(t);
    assert_null(strchr(t, '\x1b'));
    assert_null(strchr(t, '\x07'));
    assert_non_null(strstr(t, "evil?[2Jname?.jpg"));
    free(t);
    free_result(r);
}

static void test_text_error(void **state)
{
    (void)state;
    smp_result *r = make_error("consult7.jpg", "consult7.jpg: not a JPEG or PNG file");
    char *t = smp_result_to_text(r, 1);
    assert_non_null(t);
    assert_string_equal(t, "consult7.jpg: not a JPEG or PNG file\n"); /* file named once */
    free(t);
    free_result(r);

    /* A message that does not name the file gets it in front. */
    r = make_error("x.png", "out of memory");
    t = smp_result_to_text(r, 0);
    assert_string_equal(t, "x.png: out of memory\n");
    free(t);
    free_result(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_ok_keys_and_values),
        cmocka_unit_test(test_json_key_order),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_json_invalid_utf8),
        cmocka_unit_test(test_json_nan_is_null),
        cmocka_unit_test(test_json_unmeasured_and_calibrated),
        cmocka_unit_test(test_json_hair_clusters),
        cmocka_unit_test(test_json_error_shape),
        cmocka_unit_test(test_csv_rows_and_quoting),
        cmocka_unit_test(test_csv_new_columns_at_end),
        cmocka_unit_test(test_csv_error_row),
        cmocka_unit_test(test_csv_no_matches_nan),
        cmocka_unit_test(test_text_plain),
        cmocka_unit_test(test_text_colour),
        cmocka_unit_test(test_text_clusters),
        cmocka_unit_test(test_text_control_characters),
        cmocka_unit_test(test_text_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
