/*
 * output.c: the `output` stage: one analysed photo (an smp_result) as JSON,
 * CSV or text.
 *
 * In:  a finished smp_result (ok or error), read only.
 * Out: a malloc'd string the caller frees; NULL only when memory runs out.
 * Not: printing, choosing a format, deciding exit codes (the CLI does that),
 *      or any colour science beyond formatting (a hex is the result's own, or
 *      made by smp_lab_to_hex when the result has none).
 *
 * Choices a script relies on (README.md "JSON keys" lists them):
 * - JSON: one compact object per photo, keys in a fixed order, UTF-8 output
 *   (not \u-escaped); a string that is not valid UTF-8 (a Latin-1 file name)
 *   has its bad bytes replaced by U+FFFD, because jansson, rightly, refuses
 *   to emit invalid JSON. Numbers are rounded for reading (Lab, ΔE, spread to
 *   2 decimals, ITA° to 1, shares to 3, confidence to 2); a NaN or infinity
 *   becomes null. "hair" and "scalp" are always present and null when that
 *   colour was not measured, so keys never come and go. An error result has
 *   only file, status, error {message} and warnings. hair.clusters (the
 *   colour groups: lab, hex, share, grey) is there only when the hair was
 *   grouped; hair.grey_share is always there, null when it was not.
 *   The healed model adds keys without renaming any: per match "hex",
 *   "healed_lab", "healed_hex", "bottle_delta_e00", "lighter"; scalp
 *   "undertone"; top level "healed_model" {skin_source, skin_lab (null when
 *   the source is "none"), veil, blue_shift (not rounded: they are the
 *   technician's own values), fitzpatrick ("I".."VI" or null), session},
 *   "lighter_start" (a match object, or null when no shade heals at or
 *   lighter than the hair), "recipes", "guidance" and "areas" (always there,
 *   possibly empty). An area carries name, rect, scar, hair, scalp, the
 *   recommendation keys of its own result and, for a scar, surround,
 *   scar_delta_l and scar_de00; "error" only when its result failed.
 * - CSV: one row per (photo, match); a photo without matches (an error, or
 *   an empty palette) is one row with the match fields empty. Rows end in
 *   "\n"; fields with a comma, quote or line break are quoted (RFC 4180).
 *   Columns added later go at the end (hair_clusters, grey_share, then
 *   healed_L .. skin_source), so that a script that counted columns keeps
 *   working; scripts should use names.
 *   hair_clusters is "0.72 #3a3330;0.28 #a9a6a2 grey": share, hex and "grey"
 *   for a grey group, groups joined by ';' (no comma: no quoting needed).
 *   lighter is 1 or 0; lighter_start_name/_code name the photo's lighter
 *   start (empty when there is none) on every row. Areas (--region) are NOT
 *   in the CSV: one row per match has no place for them; the JSON carries
 *   them.
 * - Text: for a person at a terminal; control characters in names are shown
 *   as '?' so a hostile file name cannot drive the terminal. An error result
 *   is a single line "file: message" with no warnings. Each shade has a
 *   second line saying why ("heals to #4a4748 on this skin, ΔE00 1.2 from
 *   the hair"); the lighter start is shown when it is not the top shade;
 *   mixes, advice and warnings follow; advice and warnings are folded at
 *   TEXT_WIDTH columns. Each area follows as a block indented two columns.
 */
#include "chart.h"
#include "smpmatch.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* UTF-8 and numbers                                                   */
/* ------------------------------------------------------------------ */

/* Length (1..4) of the valid UTF-8 sequence at s, storing its code point, or
 * 0 when the bytes there are not valid UTF-8 (overlong forms, surrogates and
 * values past U+10FFFF included, per RFC 3629). s points at a non-NUL byte. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t n;
    uint32_t c, min;
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2, c = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3, c = s[0] & 0x0f, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

/* Columns a string takes on a terminal: one per code point, which is right
 * for the Latin, Greek and Cyrillic names palettes hold. */
static size_t display_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            w++;
    return w;
}

/* v rounded to `decimals` places, with -0 turned into 0 so that nothing
 * prints as "-0.00". */
static double round_to(double v, int decimals)
{
    static const double scale[] = {1, 10, 100, 1000, 10000};
    double s = scale[decimals];
    return round(v * s) / s + 0.0;
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

/* A JSON string of s; invalid UTF-8 bytes become U+FFFD; NULL -> null. */
static json_t *jstr(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    smp_sbuf b = {0};
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        size_t n = utf8_next(p, &cp);
        if (n) {
            smp_sb_put(&b, (const char *)p, n);
            p += n;
        } else {
            smp_sb_puts(&b, "\xef\xbf\xbd");
            p++;
        }
    }
    char *fixed = smp_sb_finish(&b);
    if (!fixed)
        return NULL;
    j = json_string(fixed);
    free(fixed);
    return j;
}

/* A rounded number, or null when v is NaN or infinite (JSON has neither). */
static json_t *jnum(double v, int decimals)
{
    return isfinite(v) ? json_real(round_to(v, decimals)) : json_null();
}

static json_t *jlab(const double lab[3])
{
    json_t *a = json_array();
    if (a && (json_array_append_new(a, jnum(lab[0], 2)) || json_array_append_new(a, jnum(lab[1], 2)) ||
              json_array_append_new(a, jnum(lab[2], 2)))) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* Sets obj[key] = val, taking val; returns 1 when either is NULL or the set
 * failed, so that a builder can OR the results and check once. */
static int put(json_t *obj, const char *key, json_t *val)
{
    if (!obj || !val) {
        json_decref(val);
        return 1;
    }
    return json_object_set_new(obj, key, val) != 0;
}

/* Returns o, or frees it and returns NULL when a step of building it failed. */
static json_t *done(json_t *o, int bad)
{
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Appends v (taken, also on failure) to the array a; on failure frees a and
 * returns 1. */
static int append(json_t *a, json_t *v)
{
    if (json_array_append_new(a, v) != 0) {
        json_decref(a);
        return 1;
    }
    return 0;
}

static json_t *json_image(const smp_result *r)
{
    json_t *o = json_object();
    int bad = 0;
    bad |= put(o, "width", json_integer(r->image.width));
    bad |= put(o, "height", json_integer(r->image.height));
    bad |= put(o, "analysed_width", json_integer(r->image.analysed_width));
    bad |= put(o, "analysed_height", json_integer(r->image.analysed_height));
    bad |= put(o, "format", jstr(r->image.format));
    bad |= put(o, "icc_profile", jstr(r->image.icc_profile));
    bad |= put(o, "icc_assumed", json_boolean(r->image.icc_assumed));
    bad |= put(o, "orientation", json_integer(r->image.orientation));
    return done(o, bad);
}

/* The hair's colour groups, at most the four the result holds. */
static size_t n_clusters(const smp_result *r)
{
    size_t cap = sizeof r->hair_clusters / sizeof r->hair_clusters[0];
    return r->n_hair_clusters < cap ? r->n_hair_clusters : cap;
}

/* The hex a result holds when it is a "#rrggbb", else one made from the Lab
 * (a result filled by hand may leave it empty). */
static void hex_of(const char *have, const double lab[3], char hex[8])
{
    if (have && have[0] == '#' && strlen(have) == 7 && strspn(have + 1, "0123456789abcdefABCDEF") == 6)
        memcpy(hex, have, 8);
    else
        smp_lab_to_hex(lab, hex);
}

static json_t *jhex(const char *have, const double lab[3])
{
    char hex[8];
    hex_of(have, lab, hex);
    return jstr(hex);
}

/* hair.clusters: [{lab, hex, share, grey}], largest first as the result has them. */
static json_t *json_clusters(const smp_result *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n_clusters(r); i++) {
        const struct smp_hair_cluster *c = &r->hair_clusters[i];
        json_t *o = json_object();
        int bad = put(o, "lab", jlab(c->lab));
        bad |= put(o, "hex", jhex(c->hex, c->lab));
        bad |= put(o, "share", jnum(c->share, 3));
        bad |= put(o, "grey", json_boolean(c->grey));
        if (append(a, done(o, bad)))
            return NULL;
    }
    return a;
}

typedef enum colour_kind { COLOUR_PLAIN, COLOUR_HAIR, COLOUR_SCALP } colour_kind;

/* A measured colour; null when not measured. The hair adds its groups, the
 * scalp its skin tone (from r). */
static json_t *json_colour(const smp_colour_stat *c, const smp_result *r, colour_kind kind)
{
    if (!c->measured)
        return json_null();
    json_t *o = json_object();
    int bad = 0;
    bad |= put(o, "lab", jlab(c->lab));
    bad |= put(o, "hex", jhex(c->hex, c->lab));
    bad |= put(o, "pixels", json_integer((json_int_t)c->pixels));
    bad |= put(o, "region_pixels", json_integer((json_int_t)c->region_pixels));
    bad |= put(o, "spread_de", jnum(c->spread_de, 2));
    bad |= put(o, "source", jstr(smp_source_name(c->source)));
    if (kind == COLOUR_SCALP) {
        bad |= put(o, "ita_deg", jnum(r->ita_deg, 1));
        bad |= put(o, "ita_category", jstr(r->ita_category));
        bad |= put(o, "undertone", jstr(r->undertone ? r->undertone : "unknown"));
    } else if (kind == COLOUR_HAIR) {
        /* clusters only when the hair was grouped; grey_share always, null
         * then, so that a script can read it without checking first */
        if (n_clusters(r) > 0)
            bad |= put(o, "clusters", json_clusters(r));
        bad |= put(o, "grey_share", n_clusters(r) > 0 ? jnum(r->grey_share, 3) : json_null());
    }
    return done(o, bad);
}

/* The --chart figures (docs/chart.md): corners as [x, y] pairs in the
 * chart's order (A01, A06, D06, D01), the ids of the patches left out. */
static int json_chart(json_t *o, const smp_calibration *cal)
{
    const smp_chart_patch *ref = smp_chart_reference();
    json_t *corners = json_array(), *clipped = json_array(), *loo = json_object();
    int bad = !corners || !clipped || !loo;
    for (int i = 0; i < 4 && !bad; i++)
        bad |= append(corners, json_pack("[ff]", round_to(cal->chart_corners[2 * i], 1),
                                         round_to(cal->chart_corners[2 * i + 1], 1)));
    for (int k = 0; k < SMP_CHART_PATCHES && !bad; k++)
        if (cal->chart_clipped & (1UL << k))
            bad |= append(clipped, json_string(ref[k].id));
    bad |= put(loo, "matrix", jnum(cal->chart_loo_matrix, 2));
    bad |= put(loo, "root_polynomial", jnum(cal->chart_loo_rootpoly, 2));
    bad |= put(o, "fit", jstr(cal->fit));
    bad |= put(o, "orientation", jstr(cal->chart_orientation));
    bad |= put(o, "corners", corners);
    bad |= put(o, "mean_de00", jnum(cal->chart_mean_de, 2));
    bad |= put(o, "max_de00", jnum(cal->chart_max_de, 2));
    bad |= put(o, "loo_de00", loo);
    bad |= put(o, "clipped_patches", clipped);
    return bad;
}

static json_t *json_calibration(const smp_calibration *cal)
{
    const char *method = cal->method ? cal->method : "none";
    json_t *o = json_object();
    int bad = put(o, "method", jstr(method));
    if (strcmp(method, "chart") == 0) {
        bad |= json_chart(o, cal);
    } else if (strcmp(method, "none") != 0) {
        bad |= put(o, "roi", json_pack("[iiii]", cal->roi.x, cal->roi.y, cal->roi.w, cal->roi.h));
        bad |= put(o, "patch_lab", jlab(cal->patch_lab));
        bad |= put(o, "spread_de", jnum(cal->spread_de, 2));
        bad |= put(o, "clipped_share", jnum(cal->clipped_share, 3));
    }
    return done(o, bad);
}

/* One shade. "lab"/"hex" are the bottle, "healed_lab"/"healed_hex" the
 * prediction on this skin (the same as the bottle with --model direct). */
static json_t *json_match(const smp_match *m, smp_metric metric)
{
    json_t *o = json_object();
    int bad = 0;
    bad |= put(o, "rank", json_integer(m->rank));
    bad |= put(o, "name", jstr(m->name ? m->name : ""));
    bad |= put(o, "code", jstr(m->code ? m->code : ""));
    bad |= put(o, "palette", jstr(m->palette ? m->palette : ""));
    bad |= put(o, "lab", jlab(m->lab));
    bad |= put(o, "hex", jhex(m->hex, m->lab));
    bad |= put(o, "healed_lab", jlab(m->healed_lab));
    bad |= put(o, "healed_hex", jhex(m->healed_hex, m->healed_lab));
    bad |= put(o, "delta_e", jnum(m->delta_e, 2));
    bad |= put(o, "delta_e00", jnum(m->delta_e00, 2));
    bad |= put(o, "bottle_delta_e00", jnum(m->bottle_delta_e00, 2));
    bad |= put(o, "metric", jstr(smp_metric_name(metric)));
    bad |= put(o, "verdict", jstr(m->verdict));
    bad |= put(o, "lighter", json_boolean(m->lighter));
    if (m->notes && m->notes[0])
        bad |= put(o, "notes", jstr(m->notes));
    return done(o, bad);
}

static json_t *json_matches(const smp_result *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->n_matches; i++)
        if (append(a, json_match(&r->matches[i], r->metric)))
            return NULL;
    return a;
}

static json_t *json_recipe(const smp_recipe *rc)
{
    json_t *o = json_object();
    int bad = 0;
    bad |= put(o, "text", jstr(rc->text ? rc->text : ""));
    bad |= put(o, "a", jstr(rc->a ? rc->a : ""));
    bad |= put(o, "a_code", jstr(rc->a_code ? rc->a_code : ""));
    bad |= put(o, "b", jstr(rc->b ? rc->b : ""));
    bad |= put(o, "b_code", jstr(rc->b_code ? rc->b_code : ""));
    bad |= put(o, "diluent", json_boolean(rc->b_diluent));
    bad |= put(o, "parts_a", json_integer(rc->parts_a));
    bad |= put(o, "parts_b", json_integer(rc->parts_b));
    bad |= put(o, "share_a", jnum(rc->share_a, 2));
    bad |= put(o, "lab", jlab(rc->lab));
    bad |= put(o, "hex", jhex(rc->hex, rc->lab));
    bad |= put(o, "healed_lab", jlab(rc->healed_lab));
    bad |= put(o, "healed_hex", jhex(rc->healed_hex, rc->healed_lab));
    bad |= put(o, "delta_e", jnum(rc->delta_e, 2));
    bad |= put(o, "delta_e00", jnum(rc->delta_e00, 2));
    bad |= put(o, "gain_de00", jnum(rc->gain_de00, 2));
    bad |= put(o, "verdict", jstr(rc->verdict));
    bad |= put(o, "lighter", json_boolean(rc->lighter));
    return done(o, bad);
}

static json_t *json_recipes(const smp_result *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && r->recipes && i < r->n_recipes; i++)
        if (append(a, json_recipe(&r->recipes[i])))
            return NULL;
    return a;
}

static json_t *json_strings(char *const *s, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && s && i < n; i++)
        if (append(a, jstr(s[i] ? s[i] : "")))
            return NULL;
    return a;
}

/* Fitzpatrick types are written as technicians write them. */
static const char *const roman[] = {"", "I", "II", "III", "IV", "V", "VI"};

/* healed_model: the skin the model used and its parameters. The parameters
 * are the technician's own values, so they are not rounded (0.004 would
 * not survive two decimals). */
static json_t *json_heal(const smp_result *r)
{
    const char *source = r->heal.skin_source ? r->heal.skin_source : "none";
    int fitz = r->heal.fitzpatrick;
    json_t *o = json_object();
    int bad = put(o, "skin_source", jstr(source));
    bad |= put(o, "skin_lab", strcmp(source, "none") != 0 ? jlab(r->heal.skin_lab) : json_null());
    bad |= put(o, "veil", isfinite(r->heal.veil) ? json_real(r->heal.veil) : json_null());
    bad |= put(o, "blue_shift", isfinite(r->heal.blue_shift) ? json_real(r->heal.blue_shift) : json_null());
    bad |= put(o, "fitzpatrick", fitz >= 1 && fitz <= 6 ? json_string(roman[fitz]) : json_null());
    bad |= put(o, "session", json_string(r->heal.session == SMP_SESSION_FIRST ? "first" : "any"));
    return done(o, bad);
}

static json_t *json_lighter_start(const smp_result *r)
{
    return r->has_lighter_start ? json_match(&r->lighter_start, r->metric) : json_null();
}

static json_t *json_area(const smp_area *area);

static json_t *json_areas(const smp_result *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && r->areas && i < r->n_areas; i++)
        if (append(a, json_area(&r->areas[i])))
            return NULL;
    return a;
}

/* An area: the photo's recommendation keys, on the area's own result. A
 * scar adds the scalp around it and how far the scar is from it. An area
 * without a result (the pipeline could not make one) keeps every key, empty. */
static json_t *json_area(const smp_area *area)
{
    const smp_result *r = area->result;
    smp_result none;
    if (!r) {
        memset(&none, 0, sizeof none);
        none.status = SMP_OK;
        r = &none;
    }
    json_t *o = json_object();
    int bad = put(o, "name", jstr(area->name ? area->name : ""));
    bad |= put(o, "rect", json_pack("[iiii]", area->rect.x, area->rect.y, area->rect.w, area->rect.h));
    bad |= put(o, "scar", json_boolean(area->scar));
    if (r->status != SMP_OK)
        bad |= put(o, "error", jstr(r->error ? r->error : smp_status_string(r->status)));
    bad |= put(o, "hair", json_colour(&r->hair, r, COLOUR_HAIR));
    bad |= put(o, "scalp", json_colour(&r->scalp, r, COLOUR_SCALP));
    if (area->scar) {
        bad |= put(o, "surround", json_colour(&area->surround, r, COLOUR_PLAIN));
        bad |= put(o, "scar_delta_l", jnum(area->scar_delta_l, 2));
        bad |= put(o, "scar_de00", jnum(area->scar_de00, 2));
    }
    bad |= put(o, "healed_model", json_heal(r));
    bad |= put(o, "matches", json_matches(r));
    bad |= put(o, "lighter_start", json_lighter_start(r));
    bad |= put(o, "recipes", json_recipes(r));
    bad |= put(o, "guidance", json_strings(r->guidance, r->n_guidance));
    bad |= put(o, "warnings", json_strings(r->warnings, r->n_warnings));
    return done(o, bad);
}

static json_t *json_result(const smp_result *r)
{
    json_t *o = json_object();
    int bad = put(o, "file", jstr(r->file ? r->file : ""));
    if (r->status != SMP_OK) {
        json_t *e = json_object();
        bad |= put(e, "message", jstr(r->error ? r->error : smp_status_string(r->status)));
        bad |= put(o, "status", json_string("error"));
        bad |= put(o, "error", e);
        bad |= put(o, "warnings", json_strings(r->warnings, r->n_warnings));
    } else {
        bad |= put(o, "status", json_string("ok"));
        bad |= put(o, "image", json_image(r));
        bad |= put(o, "hair", json_colour(&r->hair, r, COLOUR_HAIR));
        bad |= put(o, "scalp", json_colour(&r->scalp, r, COLOUR_SCALP));
        bad |= put(o, "calibration", json_calibration(&r->calibration));
        bad |= put(o, "metric", jstr(smp_metric_name(r->metric)));
        bad |= put(o, "model", json_string(r->model == SMP_MODEL_DIRECT ? "direct" : "healed"));
        bad |= put(o, "healed_model", json_heal(r));
        bad |= put(o, "matches", json_matches(r));
        bad |= put(o, "lighter_start", json_lighter_start(r));
        bad |= put(o, "recipes", json_recipes(r));
        bad |= put(o, "confidence", jnum(r->confidence, 2));
        bad |= put(o, "warnings", json_strings(r->warnings, r->n_warnings));
        bad |= put(o, "guidance", json_strings(r->guidance, r->n_guidance));
        bad |= put(o, "areas", json_areas(r));
    }
    return done(o, bad);
}

char *smp_result_to_json(const smp_result *result)
{
    if (!result)
        return NULL;
    json_t *o = json_result(result);
    if (!o)
        return NULL;
    /* Ten significant digits print every rounded value exactly ("23.41", not
     * "23.409999999999997") while keeping all the digits we rounded to. */
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    return s;
}

/* ------------------------------------------------------------------ */
/* CSV                                                                 */
/* ------------------------------------------------------------------ */

static const char csv_header[] =
    "file,status,rank,name,code,palette,delta_e,delta_e00,metric,model,verdict,"
    "shade_L,shade_a,shade_b,shade_hex,hair_L,hair_a,hair_b,hair_hex,"
    "scalp_L,scalp_a,scalp_b,scalp_hex,ita_deg,ita_category,calibration,confidence,"
    "warnings,error,hair_clusters,grey_share,"
    "healed_L,healed_a,healed_b,healed_hex,lighter,undertone,lighter_start_name,"
    "lighter_start_code,bottle_delta_e00,skin_source,"
    "chart_fit,chart_mean_de00,chart_max_de00,chart_clipped\n";

const char *smp_csv_header(void)
{
    return csv_header;
}

/* One field, quoted when RFC 4180 requires it, followed by `sep`. */
static void csv_field(smp_sbuf *b, const char *s, char sep)
{
    if (!s)
        s = "";
    if (strpbrk(s, ",\"\r\n")) {
        smp_sb_put(b, "\"", 1);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                smp_sb_put(b, "\"", 1);
            smp_sb_put(b, p, 1);
        }
        smp_sb_put(b, "\"", 1);
    } else {
        smp_sb_puts(b, s);
    }
    smp_sb_put(b, &sep, 1);
}

/* A number with `decimals` places; empty when NaN or infinite. */
static void csv_num(smp_sbuf *b, double v, int decimals)
{
    if (isfinite(v))
        smp_sb_printf(b, "%.*f", decimals, round_to(v, decimals));
    smp_sb_put(b, ",", 1);
}

static void csv_lab_hex(smp_sbuf *b, const smp_colour_stat *c)
{
    if (c->measured) {
        csv_num(b, c->lab[0], 2);
        csv_num(b, c->lab[1], 2);
        csv_num(b, c->lab[2], 2);
        csv_field(b, c->hex, ',');
    } else {
        smp_sb_puts(b, ",,,,");
    }
}

/* The hair_clusters field and its comma: "0.72 #3a3330;0.28 #a9a6a2 grey". */
static void csv_clusters(smp_sbuf *b, const smp_result *r)
{
    for (size_t i = 0; i < n_clusters(r); i++) {
        const struct smp_hair_cluster *c = &r->hair_clusters[i];
        char hex[8];
        hex_of(c->hex, c->lab, hex);
        if (i)
            smp_sb_puts(b, ";");
        if (isfinite(c->share))
            smp_sb_printf(b, "%.2f ", round_to(c->share, 2));
        smp_sb_puts(b, hex);
        if (c->grey)
            smp_sb_puts(b, " grey");
    }
    smp_sb_puts(b, ",");
}

/* The fields that follow the match fields up to grey_share, the same on
 * every row of a photo; ends with the comma after grey_share. */
static void csv_photo_tail(smp_sbuf *b, const smp_result *r, const char *warnings)
{
    int ok = r->status == SMP_OK;
    if (ok) {
        csv_lab_hex(b, &r->hair);
        csv_lab_hex(b, &r->scalp);
        if (r->scalp.measured) {
            csv_num(b, r->ita_deg, 1);
            csv_field(b, r->ita_category, ',');
        } else {
            smp_sb_puts(b, ",,");
        }
        csv_field(b, r->calibration.method ? r->calibration.method : "none", ',');
        csv_num(b, r->confidence, 2);
    } else {
        smp_sb_puts(b, ",,,,,,,,,,,,"); /* hair_L .. confidence: 12 empty fields */
    }
    csv_field(b, warnings, ',');
    csv_field(b, ok ? "" : (r->error ? r->error : smp_status_string(r->status)), ',');
    if (ok && n_clusters(r) > 0) {
        csv_clusters(b, r);
        csv_num(b, r->grey_share, 3);
    } else {
        smp_sb_puts(b, ",,"); /* hair_clusters and grey_share empty */
    }
}

/* The --chart columns (chart_fit .. chart_clipped, empty without a chart)
 * and the line break; chart_clipped lists patch ids joined with ';'. */
static void csv_chart_tail(smp_sbuf *b, const smp_result *r)
{
    const smp_calibration *cal = &r->calibration;
    if (r->status != SMP_OK || !cal->method || strcmp(cal->method, "chart") != 0) {
        smp_sb_puts(b, ",,,\n");
        return;
    }
    csv_field(b, cal->fit, ',');
    csv_num(b, cal->chart_mean_de, 2);
    csv_num(b, cal->chart_max_de, 2);
    const smp_chart_patch *ref = smp_chart_reference();
    int n = 0;
    for (int k = 0; k < SMP_CHART_PATCHES; k++)
        if (cal->chart_clipped & (1UL << k))
            smp_sb_printf(b, "%s%s", n++ ? ";" : "", ref[k].id);
    smp_sb_puts(b, "\n");
}

/* The columns added with the healed model (healed_L .. skin_source) and the
 * line break; m is the row's match or NULL. */
static void csv_healed_tail(smp_sbuf *b, const smp_result *r, const smp_match *m)
{
    int ok = r->status == SMP_OK;
    if (m) {
        char hex[8];
        hex_of(m->healed_hex, m->healed_lab, hex);
        csv_num(b, m->healed_lab[0], 2);
        csv_num(b, m->healed_lab[1], 2);
        csv_num(b, m->healed_lab[2], 2);
        csv_field(b, hex, ',');
        smp_sb_puts(b, m->lighter ? "1," : "0,");
    } else {
        smp_sb_puts(b, ",,,,,");
    }
    csv_field(b, ok ? (r->undertone ? r->undertone : "unknown") : "", ',');
    csv_field(b, ok && r->has_lighter_start ? r->lighter_start.name : "", ',');
    csv_field(b, ok && r->has_lighter_start ? r->lighter_start.code : "", ',');
    if (m)
        csv_num(b, m->bottle_delta_e00, 2);
    else
        smp_sb_puts(b, ",");
    csv_field(b, ok ? (r->heal.skin_source ? r->heal.skin_source : "none") : "", ',');
    csv_chart_tail(b, r);
}

/* All warnings in one field, joined with "; ". */
static char *csv_join_warnings(const smp_result *r)
{
    smp_sbuf b = {0};
    for (size_t i = 0; i < r->n_warnings; i++) {
        if (i)
            smp_sb_puts(&b, "; ");
        smp_sb_puts(&b, r->warnings[i] ? r->warnings[i] : "");
    }
    return smp_sb_finish(&b);
}

char *smp_result_to_csv(const smp_result *result)
{
    if (!result)
        return NULL;
    const smp_result *r = result;
    char *warnings = csv_join_warnings(r);
    if (!warnings)
        return NULL;
    smp_sbuf b = {0};
    size_t rows = r->status == SMP_OK && r->n_matches ? r->n_matches : 1;
    for (size_t i = 0; i < rows; i++) {
        csv_field(&b, r->file, ',');
        csv_field(&b, r->status == SMP_OK ? "ok" : "error", ',');
        if (r->status == SMP_OK && r->n_matches) {
            const smp_match *m = &r->matches[i];
            char hex[8];
            hex_of(m->hex, m->lab, hex);
            smp_sb_printf(&b, "%d,", m->rank);
            csv_field(&b, m->name, ',');
            csv_field(&b, m->code, ',');
            csv_field(&b, m->palette, ',');
            csv_num(&b, m->delta_e, 2);
            csv_num(&b, m->delta_e00, 2);
            csv_field(&b, smp_metric_name(r->metric), ',');
            csv_field(&b, r->model == SMP_MODEL_DIRECT ? "direct" : "healed", ',');
            csv_field(&b, m->verdict, ',');
            csv_num(&b, m->lab[0], 2);
            csv_num(&b, m->lab[1], 2);
            csv_num(&b, m->lab[2], 2);
            csv_field(&b, hex, ',');
        } else {
            smp_sb_puts(&b, ",,,,,,,,,,,,,"); /* rank .. shade_hex: 13 empty fields */
        }
        csv_photo_tail(&b, r, warnings);
        csv_healed_tail(&b, r, r->status == SMP_OK && r->n_matches ? &r->matches[i] : NULL);
    }
    free(warnings);
    return smp_sb_finish(&b);
}

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

/* Appends s with control characters (C0, DEL, C1) and invalid UTF-8 shown
 * as '?': names come from files and palettes, and an escape sequence in a
 * file name must not reach the terminal. Pads with spaces to `width`
 * columns (0: no padding). */
static void text_str(smp_sbuf *b, const char *s, size_t width)
{
    size_t cols = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        uint32_t cp;
        size_t n = utf8_next(p, &cp);
        if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
            smp_sb_put(b, "?", 1);
            p += n ? n : 1;
        } else {
            smp_sb_put(b, (const char *)p, n);
            p += n;
        }
        cols++;
    }
    for (; cols < width; cols++)
        smp_sb_put(b, " ", 1);
}

/* A 24-bit colour swatch from "#rrggbb" and a space, or nothing when colour
 * is off. A hex we cannot read gives blank space of the same width, keeping
 * the columns. */
static void text_swatch(smp_sbuf *b, const char *hex, int colour)
{
    if (!colour)
        return;
    unsigned r, g, bl;
    char tail;
    if (hex && sscanf(hex, "#%2x%2x%2x%c", &r, &g, &bl, &tail) == 3 && strlen(hex) == 7)
        smp_sb_printf(b, "\x1b[48;2;%u;%u;%um    \x1b[0m ", r, g, bl);
    else
        smp_sb_puts(b, "     ");
}

static const char *source_words(smp_source s)
{
    switch (s) {
    case SMP_SOURCE_AUTO: return "found automatically";
    case SMP_SOURCE_ROI: return "rectangles";
    case SMP_SOURCE_MASK: return "mask";
    default: return "not measured";
    }
}

/* Lines longer than this are folded where they can be (advice, warnings,
 * the lighter start): 80-100 columns is what a terminal shows. */
#define TEXT_WIDTH 96

/* `ind` spaces: an area's lines sit two columns right of the photo's. */
static void text_lead(smp_sbuf *b, int ind)
{
    smp_sb_printf(b, "%*s", ind, "");
}

static void text_colour(smp_sbuf *b, int ind, const char *label, const smp_colour_stat *c, int colour)
{
    text_lead(b, ind);
    smp_sb_printf(b, "  %-11s ", label);
    if (!c->measured) {
        smp_sb_puts(b, "not measured\n");
        return;
    }
    char hex[8];
    hex_of(c->hex, c->lab, hex);
    text_swatch(b, hex, colour);
    smp_sb_printf(b, "L* %5.1f  a* %5.1f  b* %5.1f  ", round_to(c->lab[0], 1), round_to(c->lab[1], 1),
              round_to(c->lab[2], 1));
    smp_sb_puts(b, hex);
    smp_sb_printf(b, "  spread ΔE %.1f  %zu px, %s\n", round_to(c->spread_de, 1), c->pixels,
              source_words(c->source));
}

/* Under the hair, when it has more than one colour group:
 * "groups: 72 % #3a3330, 28 % #a9a6a2 grey". One group says nothing the
 * hair line does not. */
static void text_clusters(smp_sbuf *b, int ind, const smp_result *r, int colour)
{
    if (n_clusters(r) < 2)
        return;
    text_lead(b, ind);
    smp_sb_printf(b, "  %-11s groups: ", "");
    for (size_t i = 0; i < n_clusters(r); i++) {
        const struct smp_hair_cluster *c = &r->hair_clusters[i];
        char hex[8];
        hex_of(c->hex, c->lab, hex);
        if (i)
            smp_sb_puts(b, ", ");
        if (isfinite(c->share))
            smp_sb_printf(b, "%.0f %% ", round_to(c->share * 100.0, 0));
        text_swatch(b, hex, colour);
        smp_sb_puts(b, hex);
        if (c->grey)
            smp_sb_puts(b, " grey");
    }
    smp_sb_puts(b, "\n");
}

/* Under the scalp: "ITA° 47.0, light, warm undertone". */
static void text_skin_tone(smp_sbuf *b, int ind, const smp_result *r)
{
    if (!r->scalp.measured || !isfinite(r->ita_deg))
        return;
    text_lead(b, ind);
    smp_sb_printf(b, "  %-11s ITA° %.1f, ", "", round_to(r->ita_deg, 1));
    text_str(b, r->ita_category, 0);
    if (r->undertone && strcmp(r->undertone, "unknown") != 0) {
        smp_sb_puts(b, ", ");
        text_str(b, r->undertone, 0);
        smp_sb_puts(b, " undertone");
    }
    smp_sb_puts(b, "\n");
}

/* "consult1.jpg  4032×3024 JPEG, analysed 1008×756, sRGB built-in (assumed sRGB)" */
static void text_heading(smp_sbuf *b, const smp_result *r)
{
    text_str(b, r->file, 0);
    smp_sb_printf(b, "  %d×%d", r->image.width, r->image.height);
    if (r->image.format) {
        smp_sb_puts(b, " ");
        for (const char *p = r->image.format; *p; p++) {
            char c = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
            text_str(b, (char[]){c, 0}, 0);
        }
    }
    if (r->image.analysed_width != r->image.width || r->image.analysed_height != r->image.height)
        smp_sb_printf(b, ", analysed %d×%d", r->image.analysed_width, r->image.analysed_height);
    smp_sb_puts(b, ", ");
    if (r->image.icc_profile && r->image.icc_profile[0])
        text_str(b, r->image.icc_profile, 0);
    else
        smp_sb_puts(b, "sRGB");
    if (r->image.icc_assumed)
        smp_sb_puts(b, " (assumed sRGB)");
    if (r->image.orientation > 1)
        smp_sb_printf(b, ", EXIF orientation %d applied", r->image.orientation);
    smp_sb_puts(b, "\n");
}

static void text_calibration(smp_sbuf *b, const smp_calibration *cal)
{
    if (!cal->method || strcmp(cal->method, "none") == 0)
        return;
    smp_sb_printf(b, "  %-11s ", "calibration");
    text_str(b, cal->method, 0);
    if (strcmp(cal->method, "chart") == 0) {
        /* "chart (matrix, upright): patches fit to ΔE00 0.6 mean, 1.9 worst, 1 clipped" */
        int clipped = 0;
        for (int k = 0; k < SMP_CHART_PATCHES; k++)
            clipped += (cal->chart_clipped >> k) & 1;
        smp_sb_printf(b, " (%s, %s): patches fit to ΔE00 %.1f mean, %.1f worst", cal->fit ? cal->fit : "",
                      cal->chart_orientation ? cal->chart_orientation : "",
                      round_to(cal->chart_mean_de, 1), round_to(cal->chart_max_de, 1));
        if (clipped)
            smp_sb_printf(b, ", %d clipped", clipped);
        smp_sb_puts(b, "\n");
        return;
    }
    smp_sb_printf(b, " at %d,%d %d×%d: patch L* %.1f a* %.1f b* %.1f, spread ΔE %.1f, %.1f%% clipped\n",
              cal->roi.x, cal->roi.y, cal->roi.w, cal->roi.h, round_to(cal->patch_lab[0], 1),
              round_to(cal->patch_lab[1], 1), round_to(cal->patch_lab[2], 1),
              round_to(cal->spread_de, 1), round_to(cal->clipped_share * 100.0, 1));
}

static const char *metric_label(smp_metric m)
{
    switch (m) {
    case SMP_METRIC_DE94: return "ΔE94";
    case SMP_METRIC_DE76: return "ΔE76";
    case SMP_METRIC_CMC: return "ΔEcmc";
    default: return "ΔE00";
    }
}

/* Widths of the name, code and palette columns: the longest entry, within
 * limits, so that one very long name does not push every row off screen. */
static void text_widths(const smp_result *r, size_t *name_w, size_t *code_w, size_t *pal_w,
                        int *show_palette)
{
    *name_w = 5, *code_w = 4, *pal_w = 7, *show_palette = 0;
    for (size_t i = 0; i < r->n_matches; i++) {
        const smp_match *m = &r->matches[i];
        size_t w = display_width(m->name ? m->name : "");
        if (w > *name_w)
            *name_w = w < 32 ? w : 32;
        w = display_width(m->code ? m->code : "");
        if (w > *code_w)
            *code_w = w < 16 ? w : 16;
        w = display_width(m->palette ? m->palette : "");
        if (w > *pal_w)
            *pal_w = w < 24 ? w : 24;
        const char *p0 = r->matches[0].palette ? r->matches[0].palette : "";
        if (strcmp(m->palette ? m->palette : "", p0) != 0)
            *show_palette = 1;
    }
}

/* Whether the colours were predicted in skin: not with --model direct, and
 * not when no skin was known (then shades were ranked by their bottles). */
static int text_healed(const smp_result *r)
{
    return r->model != SMP_MODEL_DIRECT && r->heal.skin_source &&
           strcmp(r->heal.skin_source, "none") != 0;
}

/* Why a shade or mix is where it is, in one line without its line break:
 * "heals to #4a4748 on this skin, ΔE00 1.2 from the hair", or for a bottle
 * colour "bottle #1d1c1c (direct model), ΔE00 ...". */
static void text_why(smp_sbuf *b, const smp_result *r, const char *healed_hex, const double healed_lab[3],
                     const char *bottle_hex, const double lab[3], double de00, int colour)
{
    char hex[8];
    if (text_healed(r)) {
        hex_of(healed_hex, healed_lab, hex);
        smp_sb_puts(b, "heals to ");
        text_swatch(b, hex, colour);
        smp_sb_puts(b, hex);
        int fitz = r->heal.fitzpatrick;
        if (strcmp(r->heal.skin_source, "fitzpatrick") == 0 && fitz >= 1 && fitz <= 6)
            smp_sb_printf(b, " on a typical type %s skin", roman[fitz]);
        else
            smp_sb_puts(b, " on this skin");
    } else {
        hex_of(bottle_hex, lab, hex);
        smp_sb_puts(b, "bottle "); /* no swatch: the row has the bottle's */
        smp_sb_puts(b, hex);
        smp_sb_puts(b, r->model == SMP_MODEL_DIRECT ? " (direct model)" : " (no skin known to heal in)");
    }
    if (isfinite(de00))
        smp_sb_printf(b, ", ΔE00 %.1f from the hair", round_to(de00, 1));
}

/* The ranked shades. A shade that shares its rank with the one above (the
 * two are within 0.8 ΔE00, equally good) shows "=" instead of a number.
 * Under each, the line that says why. */
static void text_matches(smp_sbuf *b, int ind, const smp_result *r, int colour)
{
    text_lead(b, ind);
    smp_sb_printf(b, "  %-11s ", "shades");
    if (r->n_matches == 0) {
        smp_sb_puts(b, r->hair.measured ? "none (the palette has no pigment)\n"
                                    : "none (no hair colour was measured)\n");
        return;
    }
    smp_sb_printf(b, "%s against the hair, %s model\n", metric_label(r->metric),
              r->model == SMP_MODEL_DIRECT ? "direct" : "healed");
    size_t name_w, code_w, pal_w;
    int show_palette;
    text_widths(r, &name_w, &code_w, &pal_w, &show_palette);

    text_lead(b, ind);
    smp_sb_puts(b, "    rank  ");
    if (colour)
        smp_sb_puts(b, "     ");
    text_str(b, "shade", name_w + 2);
    text_str(b, "code", code_w + 2);
    if (show_palette)
        text_str(b, "palette", pal_w + 2);
    /* right-aligned over the "%5.2f" values */
    for (size_t w = display_width(metric_label(r->metric)); w < 5; w++)
        smp_sb_puts(b, " ");
    smp_sb_printf(b, "%s  verdict\n", metric_label(r->metric));

    int tie_seen = 0;
    for (size_t i = 0; i < r->n_matches; i++) {
        const smp_match *m = &r->matches[i];
        text_lead(b, ind);
        if (i > 0 && m->rank == r->matches[i - 1].rank) {
            smp_sb_puts(b, "       =  ");
            tie_seen = 1;
        } else {
            smp_sb_printf(b, "    %4d  ", m->rank);
        }
        char hex[8];
        hex_of(m->hex, m->lab, hex);
        text_swatch(b, hex, colour);
        text_str(b, m->name, name_w + 2);
        text_str(b, m->code, code_w + 2);
        if (show_palette)
            text_str(b, m->palette, pal_w + 2);
        if (isfinite(m->delta_e))
            smp_sb_printf(b, "%5.2f  ", round_to(m->delta_e, 2));
        else
            smp_sb_puts(b, "    -  ");
        text_str(b, m->verdict, 0);
        smp_sb_puts(b, "\n");
        /* the why, under the name */
        text_lead(b, ind + 10 + (colour ? 5 : 0));
        text_why(b, r, m->healed_hex, m->healed_lab, m->hex, m->lab, m->delta_e00, colour);
        smp_sb_puts(b, "\n");
    }
    if (tie_seen) {
        text_lead(b, ind);
        smp_sb_puts(b, "          (= as good as the shade above: within 0.8 ΔE00)\n");
    }
}

static int same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* "lighter start: Carbon black 1:1 (CB-01) heals to #5a5553, ΔE00 3.2 —
 * start here and build up", only when it is not already the top shade. */
static void text_lighter_start(smp_sbuf *b, int ind, const smp_result *r, int colour)
{
    if (!r->has_lighter_start)
        return;
    const smp_match *ls = &r->lighter_start, *top = r->n_matches ? &r->matches[0] : NULL;
    if (top && same_str(ls->name, top->name) && same_str(ls->code, top->code) &&
        same_str(ls->palette, top->palette))
        return;
    char hex[8];
    if (text_healed(r))
        hex_of(ls->healed_hex, ls->healed_lab, hex);
    else
        hex_of(ls->hex, ls->lab, hex);
    smp_sbuf line = {0}; /* without the swatch, to measure it */
    text_str(&line, ls->name, 0);
    if (ls->code && ls->code[0]) {
        smp_sb_puts(&line, " (");
        text_str(&line, ls->code, 0);
        smp_sb_puts(&line, ")");
    }
    smp_sb_puts(&line, text_healed(r) ? " heals to " : " bottle ");
    size_t before_swatch = line.len;
    smp_sb_puts(&line, hex);
    if (isfinite(ls->delta_e00))
        smp_sb_printf(&line, ", ΔE00 %.1f", round_to(ls->delta_e00, 1));
    char *s = smp_sb_finish(&line);
    if (!s) {
        b->failed = 1;
        return;
    }
    static const char lead[] = "  lighter start: ", tail[] = " — start here and build up";
    size_t width = (size_t)ind + display_width(lead) + display_width(s) + display_width(tail) +
                   (colour ? 5 : 0);
    text_lead(b, ind);
    smp_sb_puts(b, lead);
    smp_sb_put(b, s, before_swatch);
    text_swatch(b, hex, colour);
    smp_sb_puts(b, s + before_swatch);
    if (width > TEXT_WIDTH) { /* the advice on a line of its own */
        smp_sb_puts(b, "\n");
        text_lead(b, ind + (int)display_width(lead) - 1);
    }
    smp_sb_puts(b, tail);
    smp_sb_puts(b, "\n");
    free(s);
}

/* The two-part mixes that beat the best single shade: the recipe, then why. */
static void text_recipes(smp_sbuf *b, int ind, const smp_result *r, int colour)
{
    if (!r->recipes || r->n_recipes == 0)
        return;
    text_lead(b, ind);
    smp_sb_printf(b, "  %-11s closer than any single shade\n", "mixes");
    for (size_t i = 0; i < r->n_recipes; i++) {
        const smp_recipe *rc = &r->recipes[i];
        char hex[8];
        hex_of(rc->hex, rc->lab, hex);
        text_lead(b, ind);
        smp_sb_puts(b, "          ");
        text_swatch(b, hex, colour);
        text_str(b, rc->text, 0);
        smp_sb_puts(b, "\n");
        text_lead(b, ind + 10 + (colour ? 5 : 0));
        text_why(b, r, rc->healed_hex, rc->healed_lab, rc->hex, rc->lab, rc->delta_e00, colour);
        if (isfinite(rc->gain_de00))
            smp_sb_printf(b, ", %.1f closer than the best shade", round_to(rc->gain_de00, 1));
        smp_sb_puts(b, "\n");
    }
}

/* Text wider than a terminal line is folded at spaces: "  advice: " and
 * the like on the first line, the same width of blanks on the others. */

static void text_wrapped(smp_sbuf *b, int ind, const char *prefix, const char *text)
{
    smp_sbuf clean = {0}; /* control characters shown as '?' first */
    text_str(&clean, text, 0);
    char *s = smp_sb_finish(&clean);
    if (!s) {
        b->failed = 1;
        return;
    }
    size_t lead = (size_t)ind + display_width(prefix), col = lead;
    text_lead(b, ind);
    smp_sb_puts(b, prefix);
    int first = 1;
    for (char *p = s; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, " ");
        char save = p[n];
        p[n] = 0;
        size_t w = display_width(p);
        if (!first && col + 1 + w > TEXT_WIDTH) {
            smp_sb_puts(b, "\n");
            text_lead(b, (int)lead);
            col = lead;
        } else if (!first) {
            smp_sb_puts(b, " ");
            col++;
        }
        smp_sb_puts(b, p);
        col += w;
        first = 0;
        p[n] = save;
        p += n;
    }
    smp_sb_puts(b, "\n");
    free(s);
}

/* A scar against the scalp around it: "scar 12.3 L* lighter than the
 * scalp around it, ΔE00 8.1". */
static void text_scar(smp_sbuf *b, int ind, const smp_area *a, int colour)
{
    text_colour(b, ind, "around", &a->surround, colour);
    if (!isfinite(a->scar_delta_l))
        return;
    text_lead(b, ind);
    smp_sb_printf(b, "  %-11s scar %.1f L* %s than the scalp around it", "",
              round_to(fabs(a->scar_delta_l), 1), a->scar_delta_l >= 0 ? "lighter" : "darker");
    if (isfinite(a->scar_de00))
        smp_sb_printf(b, ", ΔE00 %.1f", round_to(a->scar_de00, 1));
    smp_sb_puts(b, "\n");
}

/* What the photo and each area share: hair, scalp, shades, lighter start,
 * mixes, advice and warnings. For a scar the scalp is the scar tissue. */
static void text_body(smp_sbuf *b, int ind, const smp_result *r, const smp_area *area, int colour)
{
    int scar = area && area->scar;
    text_colour(b, ind, scar ? "hair around" : "hair", &r->hair, colour);
    if (r->hair.measured)
        text_clusters(b, ind, r, colour);
    text_colour(b, ind, scar ? "scar" : "scalp", &r->scalp, colour);
    text_skin_tone(b, ind, r);
    if (scar)
        text_scar(b, ind, area, colour);
    if (!area)
        text_calibration(b, &r->calibration);
    text_matches(b, ind, r, colour);
    text_lighter_start(b, ind, r, colour);
    text_recipes(b, ind, r, colour);
    if (!area && isfinite(r->confidence))
        smp_sb_printf(b, "  %-11s %.2f\n", "confidence", round_to(r->confidence, 2));
    for (size_t i = 0; r->guidance && i < r->n_guidance; i++)
        text_wrapped(b, ind, "  advice: ", r->guidance[i]);
    for (size_t i = 0; r->warnings && i < r->n_warnings; i++)
        text_wrapped(b, ind, "  warning: ", r->warnings[i]);
}

/* "  area temples  300×200 at 10,20", then the area's lines two columns in. */
static void text_area(smp_sbuf *b, const smp_area *a, int colour)
{
    smp_sb_puts(b, a->scar ? "  scar area " : "  area ");
    text_str(b, a->name, 0);
    smp_sb_printf(b, "  %d×%d at %d,%d\n", a->rect.w, a->rect.h, a->rect.x, a->rect.y);
    if (!a->result) {
        smp_sb_puts(b, "    not measured\n");
        return;
    }
    if (a->result->status != SMP_OK) {
        smp_sb_puts(b, "    ");
        text_str(b, a->result->error ? a->result->error : smp_status_string(a->result->status), 0);
        smp_sb_puts(b, "\n");
        return;
    }
    text_body(b, 2, a->result, a, colour);
}

/* "file: message", without saying the file twice when the message already
 * starts with it (library messages do). */
static void text_error(smp_sbuf *b, const smp_result *r)
{
    const char *file = r->file ? r->file : "";
    const char *msg = r->error ? r->error : smp_status_string(r->status);
    size_t n = strlen(file);
    if (!(n && strncmp(msg, file, n) == 0 && msg[n] == ':')) {
        text_str(b, file, 0);
        smp_sb_puts(b, ": ");
    }
    text_str(b, msg, 0);
    smp_sb_puts(b, "\n");
}

char *smp_result_to_text(const smp_result *result, int colour)
{
    if (!result)
        return NULL;
    const smp_result *r = result;
    smp_sbuf b = {0};
    if (r->status != SMP_OK) {
        text_error(&b, r); /* one line, nothing else: the CLI prints it on stderr */
        return smp_sb_finish(&b);
    }
    text_heading(&b, r);
    text_body(&b, 0, r, NULL, colour);
    for (size_t i = 0; r->areas && i < r->n_areas; i++)
        text_area(&b, &r->areas[i], colour);
    return smp_sb_finish(&b);
}
