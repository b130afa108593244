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
    r->undertone = "neutral"; /* hue angle atan2(16.2, 12.3) = 52.8°: 50-60° */
    r->heal.skin_source = "scalp";
    memcpy(r->heal.skin_lab, r->scalp.lab, sizeof r->heal.skin_lab);
    r->heal.veil = SMP_DEFAULT_VEIL;
    r->heal.blue_shift = SMP_DEFAULT_BLUE_SHIFT;
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
        memcpy(m->healed_lab, m->lab, sizeof m->lab); /* direct model: the bottle */
        m->delta_e = 1.234 + i;
        m->delta_e00 = 1.234 + i;
        m->bottle_delta_e00 = 1.234 + i;
        m->lighter = 1; /* L* 25..27 against the hair's 23.5 */
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

static void free_match(smp_match *m)
{
    free((char *)m->name);
    free((char *)m->code);
    free((char *)m->palette);
    free((char *)m->notes);
}

static void free_strings(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

/* Frees what make_result and the helpers below allocated (smp_result_free
 * lives in the pipeline; this mirrors what it is documented to free). */
static void free_result(smp_result *r)
{
    if (!r)
        return;
    free(r->file);
    free(r->error);
    free(r->image.icc_profile);
    for (size_t i = 0; i < r->n_matches; i++)
        free_match(&r->matches[i]);
    free(r->matches);
    if (r->has_lighter_start)
        free_match(&r->lighter_start);
    for (size_t i = 0; i < r->n_recipes; i++) {
        smp_recipe *rc = &r->recipes[i];
        free((char *)rc->a);
        free((char *)rc->a_code);
        free((char *)rc->b);
        free((char *)rc->b_code);
        free(rc->text);
    }
    free(r->recipes);
    free_strings(r->guidance, r->n_guidance);
    free_strings(r->warnings, r->n_warnings);
    for (size_t i = 0; i < r->n_areas; i++) {
        free(r->areas[i].name);
        free_result(r->areas[i].result);
    }
    free(r->areas);
    free(r);
}

/* A shade as the match stage fills it, with made-up but plausible figures. */
static void set_match(smp_match *m, int rank, const char *name, const char *code, const double lab[3],
                      const char *hex, const double healed[3], const char *healed_hex, double de00,
                      double bottle_de00, int lighter)
{
    memset(m, 0, sizeof *m);
    m->rank = rank;
    m->name = xdup(name);
    m->code = xdup(code);
    m->palette = xdup("built-in");
    m->notes = xdup("");
    memcpy(m->lab, lab, sizeof m->lab);
    snprintf(m->hex, sizeof m->hex, "%s", hex);
    memcpy(m->healed_lab, healed, sizeof m->healed_lab);
    snprintf(m->healed_hex, sizeof m->healed_hex, "%s", healed_hex);
    m->delta_e = de00;
    m->delta_e00 = de00;
    m->bottle_delta_e00 = bottle_de00;
    m->lighter = lighter;
    m->verdict = smp_verdict(de00);
}

/* make_result turned into what the healed model gives: healed colours that
 * differ from the bottles (lighter and nearer the skin), a warm skin, the
 * technician's Fitzpatrick type and a first session. */
static smp_result *make_healed(const char *file)
{
    smp_result *r = make_result(file);
    r->model = SMP_MODEL_HEALED;
    r->undertone = "warm";
    r->heal.fitzpatrick = 3;
    r->heal.session = SMP_SESSION_FIRST;
    for (size_t i = 0; i < r->n_matches; i++)
        free_match(&r->matches[i]);
    static const double lab0[3] = {20.0, 1.0, 1.0}, heal0[3] = {28.444, 2.345, 3.456};
    static const double lab1[3] = {18.0, 0.0, 0.0}, heal1[3] = {26.0, 1.0, 1.5};
    static const double lab2[3] = {24.0, 2.0, 3.0}, heal2[3] = {33.0, 4.0, 6.0};
    set_match(&r->matches[0], 1, "Warm carbon", "WC-00", lab0, "#332d28", heal0, "#4a4748", 1.234, 4.567, 1);
    set_match(&r->matches[1], 2, "Carbon black", "CB-00", lab1, "#2c2c2c", heal1, "#434240", 2.5, 5.8, 1);
    set_match(&r->matches[2], 3, "Carbon black 1:1", "CB-01", lab2, "#3e3e3e", heal2, "#505155", 3.1, 2.0,
              1);
    return r;
}

/* Two mixes: pigment with water, and two pigments. */
static void add_recipes(smp_result *r)
{
    r->n_recipes = 2;
    r->recipes = calloc(2, sizeof *r->recipes);
    assert_non_null(r->recipes);
    smp_recipe *a = &r->recipes[0], *b = &r->recipes[1];
    a->a = xdup("Carbon black");
    a->a_code = xdup("CB-00");
    a->b = xdup("Distilled water");
    a->b_code = xdup("");
    a->b_diluent = 1;
    a->parts_a = 1;
    a->parts_b = 6;
    a->share_a = 1.0 / 7.0; /* 0.142857: 0.14 to two decimals */
    a->lab[0] = 40.0, a->lab[1] = 0.5, a->lab[2] = 1.0;
    snprintf(a->hex, sizeof a->hex, "#5e5e5d");
    a->healed_lab[0] = 24.111, a->healed_lab[1] = 3.0, a->healed_lab[2] = -6.0;
    snprintf(a->healed_hex, sizeof a->healed_hex, "#3b3a44");
    a->delta_e = 0.234;
    a->delta_e00 = 0.234;
    a->gain_de00 = 1.0;
    a->lighter = 1;
    a->verdict = "indistinguishable";
    a->text = xdup("1 part Carbon black : 6 parts Distilled water");
    b->a = xdup("Warm carbon");
    b->a_code = xdup("WC-00");
    b->b = xdup("Cool carbon");
    b->b_code = xdup("CC-00");
    b->parts_a = 3;
    b->parts_b = 1;
    b->share_a = 0.75;
    snprintf(b->hex, sizeof b->hex, "#302c2a");
    snprintf(b->healed_hex, sizeof b->healed_hex, "#484644");
    b->delta_e = 0.5;
    b->delta_e00 = 0.5;
    b->gain_de00 = NAN; /* a NaN must come out as null */
    b->verdict = "indistinguishable";
    b->text = xdup("3 parts Warm carbon : 1 part Cool carbon");
}

static void add_strings(char ***list, size_t *n, const char *s)
{
    char **p = realloc(*list, (*n + 1) * sizeof *p);
    assert_non_null(p);
    p[*n] = xdup(s);
    *list = p;
    (*n)++;
}

/* A lighter start that is not the top shade. */
static void add_lighter_start(smp_result *r)
{
    static const double lab[3] = {45.0, 0.0, 0.0}, healed[3] = {50.0, 0.5, 1.0};
    set_match(&r->lighter_start, 0, "Soft Black 1:2", "SB-12", lab, "#6a6a6a", healed, "#777776", 2.44,
              20.0, 1);
    r->has_lighter_start = 1;
}

/* Areas: a crown with its own grey-flecked hair and one shade, a scar, and
 * an area the pipeline gave no result. */
static void add_areas(smp_result *r)
{
    r->n_areas = 3;
    r->areas = calloc(3, sizeof *r->areas);
    assert_non_null(r->areas);

    smp_area *crown = &r->areas[0];
    crown->name = xdup("crown");
    crown->rect = (smp_rect){10, 20, 200, 100};
    crown->result = make_healed("consult1.jpg");
    smp_result *cr = crown->result;
    add_clusters(cr);
    cr->hair.lab[0] = 30.0;
    for (size_t i = 1; i < cr->n_matches; i++)
        free_match(&cr->matches[i]);
    cr->n_matches = 1;
    free_strings(cr->warnings, cr->n_warnings);
    cr->warnings = NULL;
    cr->n_warnings = 0;
    add_strings(&cr->warnings, &cr->n_warnings, "the crown area has little bare scalp");
    add_strings(&cr->guidance, &cr->n_guidance, "Grey or white hair makes up 28 % of the hair");

    smp_area *scar = &r->areas[1];
    scar->name = xdup("scar1");
    scar->rect = (smp_rect){300, 40, 50, 60};
    scar->scar = 1;
    scar->result = make_healed("consult1.jpg");
    scar->result->scalp.lab[0] = 74.4; /* the scar tissue */
    scar->surround = (smp_colour_stat){1, {62.1, 12.3, 16.2}, "#b58f7a", 900, 1000, 1.5, SMP_SOURCE_ROI};
    scar->scar_delta_l = 12.345;
    scar->scar_de00 = NAN;

    smp_area *empty = &r->areas[2];
    empty->name = xdup("temples");
    empty->rect = (smp_rect){0, 0, 5, 5};
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
    static const char *order[] = {"\"file\"",         "\"status\"",        "\"image\"",
                                  "\"hair\"",         "\"scalp\"",         "\"calibration\"",
                                  "\"model\"",        "\"healed_model\"",  "\"matches\"",
                                  "\"lighter_start\"", "\"recipes\"",       "\"confidence\"",
                                  "\"warnings\"",     "\"guidance\"",      "\"areas\""};
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

/* The columns scripts knew keep their places: the header as first released,
 * then hair_clusters and grey_share, then the healed model's columns (issue
 * 4), always added at the end. */
static void test_csv_new_columns_at_end(void **state)
{
    (void)state;
    static const char *const old[] = {
        "file", "status", "rank", "name", "code", "palette", "delta_e", "delta_e00", "metric", "model",
        "verdict", "shade_L", "shade_a", "shade_b", "shade_hex", "hair_L", "hair_a", "hair_b", "hair_hex",
        "scalp_L", "scalp_a", "scalp_b", "scalp_hex", "ita_deg", "ita_category", "calibration",
        "confidence", "warnings", "error",
        /* second release */
        "hair_clusters", "grey_share",
        /* issue 4 */
        "healed_L", "healed_a", "healed_b", "healed_hex", "lighter", "undertone", "lighter_start_name"};
    size_t n_old = sizeof old / sizeof old[0];
    csv_doc h;
    csv_read(smp_csv_header(), &h);
    assert_true(h.counts[0] >= n_old);
    for (size_t i = 0; i < n_old; i++)
        assert_string_equal(h.fields[0][i], old[i]);
    for (size_t i = 0; i < h.counts[0]; i++) /* no name twice */
        for (size_t k = i + 1; k < h.counts[0]; k++)
            assert_string_not_equal(h.fields[0][i], h.fields[0][k]);

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
    /* one swatch each for hair, scalp and the three shades; with --model
     * direct the "why" line names the bottle, whose swatch the row has */
    size_t n = 0;
    for (const char *p = t; (p = strstr(p, "\x1b[48;2;")); p++)
        n++;
    assert_int_equal(n, 5);
    free(t);
    free_result(r);

    /* Healed: each "why" line adds the healed colour's swatch, and so do the
     * lighter start and each mix (its bottle on the recipe line, its healed
     * colour on the next). */
    r = make_healed("consult1.jpg");
    t = smp_result_to_text(r, 1);
    n = 0;
    for (const char *p = t; (p = strstr(p, "\x1b[48;2;")); p++)
        n++;
    assert_int_equal(n, 8);
    assert_non_null(strstr(t, "heals to \x1b[48;2;74;71;72m    \x1b[0m #4a4748")); /* #4a4748 */
    free(t);
    add_lighter_start(r);
    add_recipes(r);
    t = smp_result_to_text(r, 1);
    n = 0;
    for (const char *p = t; (p = strstr(p, "\x1b[48;2;")); p++)
        n++;
    assert_int_equal(n, 8 + 1 + 2 * 2);
    assert_non_null(strstr(t, "heals to \x1b[48;2;119;119;118m    \x1b[0m #777776, ΔE00 2.4")); /* #777776 */
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

/* ------------------------------------------------------------------ */
/* The healed model, lighter start, mixes, guidance and areas (issue 4) */
/* ------------------------------------------------------------------ */

static double lab_at(json_t *o, const char *key, size_t i)
{
    json_t *a = json_object_get(o, key);
    if (!json_is_array(a) || json_array_size(a) != 3)
        fail_msg("%s is not [L, a, b]", key);
    return json_number_value(json_array_get(a, i));
}

/* The keys of an object, sorted, joined with ','; for comparing shapes. */
static char *key_set(json_t *o)
{
    assert_true(json_is_object(o));
    const char *keys[64];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        assert_true(n < 64);
        keys[n++] = k;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    char *out = calloc(1, 64 * 40);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        strcat(out, keys[i]);
        strcat(out, ",");
    }
    return out;
}

static void test_json_healed_match_and_model(void **state)
{
    (void)state;
    smp_result *r = make_healed("a.jpg");
    json_t *j = to_json(r);
    assert_string_equal(str(j, "model"), "healed"); /* the old string key stays */

    json_t *m0 = json_array_get(json_object_get(j, "matches"), 0);
    assert_string_equal(str(m0, "hex"), "#332d28");
    assert_string_equal(str(m0, "healed_hex"), "#4a4748");
    assert_float_equal(lab_at(m0, "lab", 0), 20.0, 1e-9);
    assert_float_equal(lab_at(m0, "healed_lab", 0), 28.44, 1e-9); /* to 2 decimals */
    assert_float_equal(lab_at(m0, "healed_lab", 1), 2.35, 1e-9);  /* 2.345: half away from 0 */
    assert_float_equal(lab_at(m0, "healed_lab", 2), 3.46, 1e-9);
    assert_float_equal(num(m0, "bottle_delta_e00"), 4.57, 1e-9);
    assert_float_equal(num(m0, "delta_e00"), 1.23, 1e-9);
    assert_true(json_is_true(json_object_get(m0, "lighter")));
    r->matches[1].lighter = 0;
    json_decref(j);
    j = to_json(r);
    json_t *m1 = json_array_get(json_object_get(j, "matches"), 1);
    assert_true(json_is_false(json_object_get(m1, "lighter")));

    json_t *scalp = json_object_get(j, "scalp");
    assert_string_equal(str(scalp, "undertone"), "warm");
    assert_string_equal(str(scalp, "ita_category"), "intermediate"); /* next to ITA° */

    json_t *hm = json_object_get(j, "healed_model");
    assert_true(json_is_object(hm));
    assert_string_equal(str(hm, "skin_source"), "scalp");
    assert_float_equal(lab_at(hm, "skin_lab", 0), 62.1, 1e-9);
    assert_float_equal(lab_at(hm, "skin_lab", 2), 16.2, 1e-9);
    /* the parameters as given: 0.004 must not become 0.0 by rounding */
    assert_float_equal(num(hm, "veil"), SMP_DEFAULT_VEIL, 1e-12);
    assert_float_equal(num(hm, "blue_shift"), SMP_DEFAULT_BLUE_SHIFT, 1e-12);
    assert_string_equal(str(hm, "fitzpatrick"), "III");
    assert_string_equal(str(hm, "session"), "first");
    json_decref(j);

    /* Each Fitzpatrick type in roman numerals, out of range as null. */
    static const char *const roman[] = {"I", "II", "III", "IV", "V", "VI"};
    for (int t = 1; t <= 6; t++) {
        r->heal.fitzpatrick = t;
        j = to_json(r);
        assert_string_equal(str(json_object_get(j, "healed_model"), "fitzpatrick"), roman[t - 1]);
        json_decref(j);
    }
    r->heal.fitzpatrick = 7;
    j = to_json(r);
    assert_true(json_is_null(json_object_get(json_object_get(j, "healed_model"), "fitzpatrick")));
    json_decref(j);
    free_result(r);
}

/* What is absent is there as null or [], never missing, and no NaN or
 * infinity ever reaches the text. */
static void test_json_new_keys_null_and_empty(void **state)
{
    (void)state;
    smp_result *r = make_result("a.jpg");
    r->heal.skin_source = "none";
    r->undertone = NULL;
    json_t *j = to_json(r);
    json_t *hm = json_object_get(j, "healed_model");
    assert_string_equal(str(hm, "skin_source"), "none");
    json_t *skin = json_object_get(hm, "skin_lab");
    assert_non_null(skin);
    assert_true(json_is_null(skin));
    assert_true(json_is_null(json_object_get(hm, "fitzpatrick")));
    assert_string_equal(str(hm, "session"), "any");
    json_t *ls = json_object_get(j, "lighter_start");
    assert_non_null(ls);
    assert_true(json_is_null(ls));
    static const char *const lists[] = {"recipes", "guidance", "areas"};
    for (size_t i = 0; i < 3; i++) {
        json_t *a = json_object_get(j, lists[i]);
        if (!json_is_array(a) || json_array_size(a) != 0)
            fail_msg("%s is not an empty array", lists[i]);
    }
    assert_string_equal(str(json_object_get(j, "scalp"), "undertone"), "unknown");
    json_decref(j);

    /* A result with no heal.skin_source at all (filled by hand) says "none". */
    r->heal.skin_source = NULL;
    j = to_json(r);
    assert_string_equal(str(json_object_get(j, "healed_model"), "skin_source"), "none");
    json_decref(j);

    /* NaN and infinity in every new number */
    smp_result *h = make_healed("b.jpg");
    h->matches[0].healed_lab[0] = NAN;
    h->matches[0].bottle_delta_e00 = INFINITY;
    h->heal.veil = NAN;
    h->heal.skin_lab[1] = -INFINITY;
    add_recipes(h);
    h->recipes[0].share_a = NAN;
    add_lighter_start(h);
    h->lighter_start.delta_e00 = NAN;
    add_areas(h);
    h->areas[0].result->matches[0].healed_lab[2] = NAN;
    char *s = smp_result_to_json(h);
    assert_non_null(s);
    assert_null(strstr(s, "nan"));
    assert_null(strstr(s, "NaN"));
    assert_null(strstr(s, "inf"));
    free(s);
    j = to_json(h);
    json_t *m0 = json_array_get(json_object_get(j, "matches"), 0);
    assert_true(json_is_null(json_array_get(json_object_get(m0, "healed_lab"), 0)));
    assert_float_equal(lab_at(m0, "healed_lab", 1), 2.35, 1e-9); /* the others kept */
    assert_true(json_is_null(json_object_get(m0, "bottle_delta_e00")));
    hm = json_object_get(j, "healed_model");
    assert_true(json_is_null(json_object_get(hm, "veil")));
    assert_true(json_is_null(json_array_get(json_object_get(hm, "skin_lab"), 1)));
    json_t *r0 = json_array_get(json_object_get(j, "recipes"), 0);
    json_t *r1 = json_array_get(json_object_get(j, "recipes"), 1);
    assert_true(json_is_null(json_object_get(r0, "share_a")));
    assert_true(json_is_null(json_object_get(r1, "gain_de00")));
    assert_true(json_is_null(json_object_get(json_object_get(j, "lighter_start"), "delta_e00")));
    json_t *scar = json_array_get(json_object_get(j, "areas"), 1);
    assert_true(json_is_null(json_object_get(scar, "scar_de00")));
    json_decref(j);
    free_result(h);
    free_result(r);
}

static void test_json_lighter_start(void **state)
{
    (void)state;
    smp_result *r = make_healed("a.jpg");
    add_lighter_start(r);
    json_t *j = to_json(r);
    json_t *ls = json_object_get(j, "lighter_start");
    assert_true(json_is_object(ls));
    /* the same shape as a match, rank 0 allowed */
    char *want = key_set(json_array_get(json_object_get(j, "matches"), 1));
    char *got = key_set(ls);
    assert_string_equal(got, want);
    free(want);
    free(got);
    assert_int_equal(json_integer_value(json_object_get(ls, "rank")), 0);
    assert_string_equal(str(ls, "name"), "Soft Black 1:2");
    assert_string_equal(str(ls, "code"), "SB-12");
    assert_string_equal(str(ls, "healed_hex"), "#777776");
    assert_float_equal(lab_at(ls, "healed_lab", 0), 50.0, 1e-9);
    assert_float_equal(num(ls, "delta_e00"), 2.44, 1e-9);
    assert_true(json_is_true(json_object_get(ls, "lighter")));
    json_decref(j);

    r->has_lighter_start = 0; /* the strings stay set: has_ decides */
    j = to_json(r);
    assert_true(json_is_null(json_object_get(j, "lighter_start")));
    json_decref(j);
    r->has_lighter_start = 1;
    free_result(r);
}

static void test_json_recipes(void **state)
{
    (void)state;
    smp_result *r = make_healed("a.jpg");
    add_recipes(r);
    json_t *j = to_json(r);
    json_t *rec = json_object_get(j, "recipes");
    assert_int_equal(json_array_size(rec), 2);
    json_t *a = json_array_get(rec, 0), *b = json_array_get(rec, 1);
    char *keys = key_set(a);
    assert_string_equal(keys, "a,a_code,b,b_code,delta_e,delta_e00,diluent,gain_de00,healed_hex,"
                              "healed_lab,hex,lab,lighter,parts_a,parts_b,share_a,text,verdict,");
    free(keys);
    assert_string_equal(str(a, "text"), "1 part Carbon black : 6 parts Distilled water");
    assert_string_equal(str(a, "a"), "Carbon black");
    assert_string_equal(str(a, "a_code"), "CB-00");
    assert_string_equal(str(a, "b"), "Distilled water");
    assert_string_equal(str(a, "b_code"), "");
    assert_true(json_is_true(json_object_get(a, "diluent")));
    assert_false(json_is_true(json_object_get(b, "diluent")));
    assert_true(json_is_false(json_object_get(b, "diluent")));
    assert_int_equal(json_integer_value(json_object_get(a, "parts_a")), 1);
    assert_int_equal(json_integer_value(json_object_get(a, "parts_b")), 6);
    assert_int_equal(json_integer_value(json_object_get(b, "parts_a")), 3);
    assert_float_equal(num(a, "share_a"), 0.14, 1e-9);
    assert_float_equal(num(b, "share_a"), 0.75, 1e-9);
    assert_float_equal(lab_at(a, "lab", 0), 40.0, 1e-9);
    assert_string_equal(str(a, "hex"), "#5e5e5d");
    assert_float_equal(lab_at(a, "healed_lab", 0), 24.11, 1e-9);
    assert_string_equal(str(a, "healed_hex"), "#3b3a44");
    assert_float_equal(num(a, "delta_e"), 0.23, 1e-9);
    assert_float_equal(num(a, "delta_e00"), 0.23, 1e-9);
    assert_float_equal(num(a, "gain_de00"), 1.0, 1e-9);
    assert_string_equal(str(a, "verdict"), "indistinguishable");
    assert_true(json_is_true(json_object_get(a, "lighter")));
    assert_true(json_is_false(json_object_get(b, "lighter")));
    json_decref(j);
    free_result(r);
}

static void test_json_guidance(void **state)
{
    (void)state;
    smp_result *r = make_healed("a.jpg");
    add_strings(&r->guidance, &r->n_guidance, "Very light skin: a pure carbon shade can heal blue-grey");
    add_strings(&r->guidance, &r->n_guidance, "First session: start with \"Soft Black\"");
    json_t *j = to_json(r);
    json_t *g = json_object_get(j, "guidance");
    assert_int_equal(json_array_size(g), 2);
    assert_string_equal(json_string_value(json_array_get(g, 0)),
                        "Very light skin: a pure carbon shade can heal blue-grey");
    assert_string_equal(json_string_value(json_array_get(g, 1)), "First session: start with \"Soft Black\"");
    json_decref(j);
    free_result(r);
}

static void test_json_areas(void **state)
{
    (void)state;
    smp_result *r = make_healed("a.jpg");
    add_clusters(r);
    add_areas(r);
    json_t *j = to_json(r);
    json_t *areas = json_object_get(j, "areas");
    assert_int_equal(json_array_size(areas), 3);
    json_t *crown = json_array_get(areas, 0), *scar = json_array_get(areas, 1),
           *empty = json_array_get(areas, 2);

    assert_string_equal(str(crown, "name"), "crown");
    json_t *rect = json_object_get(crown, "rect");
    assert_int_equal(json_array_size(rect), 4);
    assert_int_equal(json_integer_value(json_array_get(rect, 0)), 10);
    assert_int_equal(json_integer_value(json_array_get(rect, 1)), 20);
    assert_int_equal(json_integer_value(json_array_get(rect, 2)), 200);
    assert_int_equal(json_integer_value(json_array_get(rect, 3)), 100);
    assert_true(json_is_false(json_object_get(crown, "scar")));
    /* hair and scalp have the photo's shapes, groups and skin tone included */
    char *want = key_set(json_object_get(j, "hair")), *got = key_set(json_object_get(crown, "hair"));
    assert_string_equal(got, want);
    free(want);
    free(got);
    want = key_set(json_object_get(j, "scalp"));
    got = key_set(json_object_get(crown, "scalp"));
    assert_string_equal(got, want);
    free(want);
    free(got);
    assert_float_equal(lab_at(json_object_get(crown, "hair"), "lab", 0), 30.0, 1e-9); /* its own */
    assert_int_equal(json_array_size(json_object_get(json_object_get(crown, "hair"), "clusters")), 2);
    assert_string_equal(str(json_object_get(crown, "scalp"), "undertone"), "warm");
    assert_int_equal(json_array_size(json_object_get(crown, "matches")), 1);
    want = key_set(json_array_get(json_object_get(j, "matches"), 0));
    got = key_set(json_array_get(json_object_get(crown, "matches"), 0));
    assert_string_equal(got, want);
    free(want);
    free(got);
    assert_true(json_is_null(json_object_get(crown, "lighter_start")));
    assert_int_equal(json_array_size(json_object_get(crown, "recipes")), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(crown, "guidance"), 0)),
                        "Grey or white hair makes up 28 % of the hair");
    assert_string_equal(json_string_value(json_array_get(json_object_get(crown, "warnings"), 0)),
                        "the crown area has little bare scalp");
    assert_string_equal(str(json_object_get(crown, "healed_model"), "session"), "first");
    assert_null(json_object_get(crown, "surround")); /* scars only */
    assert_null(json_object_get(crown, "scar_delta_l"));
    assert_null(json_object_get(crown, "file"));     /* the photo's, not repeated */
    assert_null(json_object_get(crown, "areas"));    /* no areas within areas */

    assert_true(json_is_true(json_object_get(scar, "scar")));
    assert_float_equal(lab_at(json_object_get(scar, "scalp"), "lab", 0), 74.4, 1e-9);
    json_t *sur = json_object_get(scar, "surround");
    assert_true(json_is_object(sur));
    assert_float_equal(lab_at(sur, "lab", 0), 62.1, 1e-9);
    assert_string_equal(str(sur, "hex"), "#b58f7a");
    assert_int_equal(json_integer_value(json_object_get(sur, "pixels")), 900);
    assert_null(json_object_get(sur, "ita_deg")); /* a plain colour */
    assert_null(json_object_get(sur, "clusters"));
    assert_float_equal(num(scar, "scar_delta_l"), 12.35, 1e-9);
    assert_true(json_is_null(json_object_get(scar, "scar_de00")));

    /* No result: every key still there, empty. */
    assert_string_equal(str(empty, "name"), "temples");
    assert_true(json_is_null(json_object_get(empty, "hair")));
    assert_true(json_is_null(json_object_get(empty, "scalp")));
    assert_int_equal(json_array_size(json_object_get(empty, "matches")), 0);
    assert_true(json_is_null(json_object_get(empty, "lighter_start")));
    assert_true(json_is_array(json_object_get(empty, "recipes")));
    assert_true(json_is_array(json_object_get(empty, "guidance")));
    assert_true(json_is_array(json_object_get(empty, "warnings")));
    assert_true(json_is_object(json_object_get(empty, "healed_model")));
    json_decref(j);
    free_result(r);
}

static void test_csv_healed_columns(void **state)
{
    (void)state;
    smp_result *r = make_healed("a.jpg");
    r->matches[2].lighter = 0;
    add_lighter_start(r);
    csv_doc h, d;
    csv_read(smp_csv_header(), &h);
    char *rows = smp_result_to_csv(r);
    assert_non_null(rows);
    csv_read(rows, &d);
    assert_int_equal(d.n, 3);
    for (size_t i = 0; i < d.n; i++) {
        assert_int_equal(d.counts[i], h.counts[0]);
        assert_string_equal(d.fields[i][col(&h, "undertone")], "warm");
        assert_string_equal(d.fields[i][col(&h, "lighter_start_name")], "Soft Black 1:2");
        assert_string_equal(d.fields[i][col(&h, "lighter_start_code")], "SB-12");
        assert_string_equal(d.fields[i][col(&h, "skin_source")], "scalp");
    }
    assert_string_equal(d.fields[0][col(&h, "healed_L")], "28.44");
    assert_string_equal(d.fields[0][col(&h, "healed_a")], "2.35");
    assert_string_equal(d.fields[0][col(&h, "healed_b")], "3.46");
    assert_string_equal(d.fields[0][col(&h, "healed_hex")], "#4a4748");
    assert_string_equal(d.fields[0][col(&h, "shade_hex")], "#332d28"); /* the bottle's, as before */
    assert_string_equal(d.fields[1][col(&h, "healed_hex")], "#434240");
    assert_string_equal(d.fields[0][col(&h, "lighter")], "1");
    assert_string_equal(d.fields[2][col(&h, "lighter")], "0");
    assert_string_equal(d.fields[0][col(&h, "bottle_delta_e00")], "4.57");
    assert_string_equal(d.fields[0][col(&h, "model")], "healed");
    free(rows);
    csv_free(&d);

    /* No lighter start, no skin: empty name, "none"; NaN healed L* empty. */
    r->has_lighter_start = 0;
    r->heal.skin_source = "none";
    r->matches[0].healed_lab[0] = NAN;
    rows = smp_result_to_csv(r);
    csv_read(rows, &d);
    assert_string_equal(d.fields[0][col(&h, "lighter_start_name")], "");
    assert_string_equal(d.fields[0][col(&h, "skin_source")], "none");
    assert_string_equal(d.fields[0][col(&h, "healed_L")], "");
    assert_string_equal(d.fields[0][col(&h, "healed_a")], "2.35");
    r->has_lighter_start = 1;
    free(rows);
    csv_free(&d);

    /* Areas are not in the CSV: still one row per photo match. */
    add_areas(r);
    rows = smp_result_to_csv(r);
    csv_read(rows, &d);
    assert_int_equal(d.n, 3);
    assert_null(strstr(rows, "crown"));
    free(rows);
    csv_free(&d);
    csv_free(&h);
    free_result(r);
}

/* The line that follows a line containing `needle`, without its "\n"
 * (malloc'd), or NULL. */
static char *line_after(const char *text, const char *needle)
{
    const char *at = strstr(text, needle);
    if (!at)
        return NULL;
    const char *nl = strchr(at, '\n');
    if (!nl)
        return NULL;
    const char *end = strchr(nl + 1, '\n');
    size_t n = end ? (size_t)(end - nl - 1) : strlen(nl + 1);
    char *s = malloc(n + 1);
    assert_non_null(s);
    memcpy(s, nl + 1, n);
    s[n] = 0;
    return s;
}

/* Each shade is followed by one line that says why it is there. */
static void test_text_heals_to(void **state)
{
    (void)state;
    smp_result *r = make_healed("a.jpg");
    r->heal.fitzpatrick = 0;
    char *t = smp_result_to_text(r, 0);
    assert_non_null(t);
    char *why = line_after(t, "Warm carbon ");
    assert_non_null(why);
    assert_non_null(strstr(why, "heals to #4a4748 on this skin, ΔE00 1.2 from the hair"));
    assert_int_equal(strspn(why, " "), 10); /* under the name column */
    free(why);
    why = line_after(t, "Carbon black 1:1 ");
    assert_non_null(strstr(why, "heals to #505155 on this skin, ΔE00 3.1 from the hair"));
    free(why);
    /* the scalp's tone line carries the undertone */
    assert_non_null(strstr(t, "ITA° 36.4, intermediate, warm undertone\n"));
    free(t);

    /* No scalp, a Fitzpatrick stand-in: says which skin. */
    r->heal.skin_source = "fitzpatrick";
    r->heal.fitzpatrick = 4;
    t = smp_result_to_text(r, 0);
    why = line_after(t, "Warm carbon ");
    assert_non_null(strstr(why, "heals to #4a4748 on a typical type IV skin, ΔE00 1.2 from the hair"));
    free(why);
    free(t);

    /* No skin known: the bottle colour, and why. */
    r->heal.skin_source = "none";
    t = smp_result_to_text(r, 0);
    why = line_after(t, "Warm carbon ");
    assert_non_null(strstr(why, "bottle #332d28 (no skin known to heal in), ΔE00 1.2 from the hair"));
    assert_null(strstr(t, "heals to"));
    free(why);
    free(t);

    /* --model direct: the bottle colour, and why. */
    r->heal.skin_source = "scalp";
    r->model = SMP_MODEL_DIRECT;
    t = smp_result_to_text(r, 0);
    why = line_after(t, "Warm carbon ");
    assert_non_null(strstr(why, "bottle #332d28 (direct model), ΔE00 1.2 from the hair"));
    free(why);
    free(t);

    /* An unknown undertone is not printed. */
    r->undertone = "unknown";
    t = smp_result_to_text(r, 0);
    assert_non_null(strstr(t, "ITA° 36.4, intermediate\n"));
    free(t);
    free_result(r);
}

static void test_text_lighter_start(void **state)
{
    (void)state;
    smp_result *r = make_healed("a.jpg");
    add_lighter_start(r);
    char *t = smp_result_to_text(r, 0);
    assert_non_null(t);
    assert_non_null(strstr(t, "\n  lighter start: Soft Black 1:2 (SB-12) heals to #777776, ΔE00 2.4 — "
                              "start here and build up\n"));
    free(t);

    /* The same shade as the top one: not repeated. */
    free_match(&r->lighter_start);
    static const double lab0[3] = {20.0, 1.0, 1.0}, heal0[3] = {28.444, 2.345, 3.456};
    set_match(&r->lighter_start, 1, "Warm carbon", "WC-00", lab0, "#332d28", heal0, "#4a4748", 1.234, 4.567,
              1);
    t = smp_result_to_text(r, 0);
    assert_null(strstr(t, "lighter start"));
    free(t);

    /* None at all: nothing. */
    r->has_lighter_start = 0;
    t = smp_result_to_text(r, 0);
    assert_null(strstr(t, "lighter start"));
    free(t);
    r->has_lighter_start = 1;

    /* No code: no empty parentheses; a long name folds the advice. */
    free_match(&r->lighter_start);
    static const double lab[3] = {45.0, 0.0, 0.0}, healed[3] = {50.0, 0.5, 1.0};
    set_match(&r->lighter_start, 0, "A very long clinic shade name for the lighter start", "", lab,
              "#6a6a6a", healed, "#777776", 2.44, 20.0, 1);
    t = smp_result_to_text(r, 0);
    assert_non_null(strstr(t, "lighter start: A very long clinic shade name for the lighter start heals "
                              "to #777776, ΔE00 2.4\n"));
    assert_non_null(strstr(t, "— start here and build up\n"));
    assert_null(strstr(t, "()"));
    free(t);
    free_result(r);
}

static void test_text_mixes(void **state)
{
    (void)state;
    smp_result *r = make_healed("a.jpg");
    char *t = smp_result_to_text(r, 0);
    assert_null(strstr(t, "mixes")); /* none: no block */
    free(t);

    add_recipes(r);
    t = smp_result_to_text(r, 0);
    const char *mixes = strstr(t, "\n  mixes ");
    assert_non_null(mixes);
    assert_true(mixes > strstr(t, "Carbon black 1:1")); /* after the shades */
    char *why = line_after(t, "1 part Carbon black : 6 parts Distilled water");
    assert_non_null(why);
    assert_non_null(strstr(why, "heals to #3b3a44 on this skin, ΔE00 0.2 from the hair, 1.0 closer than "
                                "the best shade"));
    free(why);
    why = line_after(t, "3 parts Warm carbon : 1 part Cool carbon");
    assert_non_null(strstr(why, "heals to #484644 on this skin, ΔE00 0.5 from the hair"));
    assert_null(strstr(why, "closer")); /* the gain was NaN */
    free(why);
    free(t);
    free_result(r);
}

/* Advice is shown, folded at the terminal width without losing a word. */
static void test_text_advice(void **state)
{
    (void)state;
    smp_result *r = make_healed("a.jpg");
    const char *advice =
        "The hair (L* 18) is darker than any shade heals on this skin: Warm carbon heals to L* 31. "
        "Pigment seen through skin always looks lighter than hair on it; use the darkest shade and build "
        "density rather than look for a darker bottle";
    add_strings(&r->guidance, &r->n_guidance, advice);
    add_strings(&r->guidance, &r->n_guidance, "Short advice");
    char *t = smp_result_to_text(r, 0);
    assert_non_null(strstr(t, "\n  advice: Short advice\n"));
    const char *start = strstr(t, "\n  advice: The hair");
    assert_non_null(start);
    start++;
    /* gather the folded lines back: each at most 96 columns, continuation
     * lines indented under the text */
    char joined[1024] = "";
    const char *p = start;
    for (int line = 0;; line++) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        size_t cols = 0;
        for (const char *q = p; q < nl; q++)
            cols += ((unsigned char)*q & 0xc0) != 0x80;
        assert_true(cols <= 96);
        const char *text = p + 10; /* "  advice: " or ten blanks */
        if (line > 0) {
            assert_int_equal(strspn(p, " "), 10);
            strcat(joined, " ");
        }
        strncat(joined, text, (size_t)(nl - text));
        p = nl + 1;
        if (strncmp(p, "          ", 10) != 0 || p[10] == ' ')
            break;
        assert_true(line < 5);
    }
    assert_string_equal(joined, advice);
    assert_true(strchr(start, '\n') < strstr(start, "Pigment")); /* it was folded */
    free(t);
    free_result(r);
}

static void test_text_areas(void **state)
{
    (void)state;
    smp_result *r = make_healed("consult1.jpg");
    add_areas(r);
    char *t = smp_result_to_text(r, 0);
    assert_non_null(t);
    const char *crown = strstr(t, "\n  area crown  200×100 at 10,20\n");
    assert_non_null(crown);
    const char *photo_warning = strstr(t, "\n  warning: no colour reference in the photo\n");
    assert_non_null(photo_warning);
    assert_true(photo_warning < crown); /* after the photo's block */
    /* the crown's own lines, two columns further in */
    assert_non_null(strstr(crown, "\n    hair        L*  30.0"));
    assert_non_null(strstr(crown, "\n                groups: 72 % #3a3330, 28 % #a9a6a2 grey\n"));
    assert_non_null(strstr(crown, "\n    scalp       L*  62.1"));
    assert_non_null(strstr(crown, "\n    shades      ΔE00 against the hair, healed model\n"));
    assert_non_null(strstr(crown, "heals to #4a4748 on this skin, ΔE00 1.2 from the hair\n"));
    assert_non_null(strstr(crown, "\n    advice: Grey or white hair makes up 28 % of the hair\n"));
    assert_non_null(strstr(crown, "\n    warning: the crown area has little bare scalp\n"));

    const char *scar = strstr(t, "\n  scar area scar1  50×60 at 300,40\n");
    assert_non_null(scar);
    assert_true(scar > crown);
    assert_non_null(strstr(scar, "\n    hair around L*  23.5"));
    assert_non_null(strstr(scar, "\n    scar        L*  74.4"));
    assert_non_null(strstr(scar, "\n    around      L*  62.1"));
    assert_non_null(strstr(scar, "scar 12.3 L* lighter than the scalp around it\n")); /* ΔE00 NaN */
    free(t);

    r->areas[1].scar_delta_l = -3.0;
    r->areas[1].scar_de00 = 4.04;
    t = smp_result_to_text(r, 0);
    assert_non_null(strstr(t, "scar 3.0 L* darker than the scalp around it, ΔE00 4.0\n"));
    assert_non_null(strstr(t, "\n  area temples  5×5 at 0,0\n    not measured\n"));
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
        cmocka_unit_test(test_json_healed_match_and_model),
        cmocka_unit_test(test_json_new_keys_null_and_empty),
        cmocka_unit_test(test_json_lighter_start),
        cmocka_unit_test(test_json_recipes),
        cmocka_unit_test(test_json_guidance),
        cmocka_unit_test(test_json_areas),
        cmocka_unit_test(test_csv_healed_columns),
        cmocka_unit_test(test_text_heals_to),
        cmocka_unit_test(test_text_lighter_start),
        cmocka_unit_test(test_text_mixes),
        cmocka_unit_test(test_text_advice),
        cmocka_unit_test(test_text_areas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
