/*
 * output.c: the `output` stage: one analysed photo (an smp_result) as JSON,
 * CSV or text.
 *
 * In:  a finished smp_result (ok or error), read only.
 * Out: a malloc'd string the caller frees; NULL only when memory runs out.
 * Not: printing, choosing a format, deciding exit codes (the CLI does that),
 *      or any colour science beyond formatting (the hex of a shade comes from
 *      smp_lab_to_hex).
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
 * - CSV: one row per (photo, match); a photo without matches (an error, or
 *   an empty palette) is one row with the match fields empty. Rows end in
 *   "\n"; fields with a comma, quote or line break are quoted (RFC 4180).
 *   Columns added later go at the end (hair_clusters, grey_share), so that a
 *   script that counted columns keeps working; scripts should use names.
 *   hair_clusters is "0.72 #3a3330;0.28 #a9a6a2 grey": share, hex and "grey"
 *   for a grey group, groups joined by ';' (no comma: no quoting needed).
 * - Text: for a person at a terminal; control characters in names are shown
 *   as '?' so a hostile file name cannot drive the terminal. An error result
 *   is a single line "file: message" with no warnings.
 */
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
/* A growing string                                                    */
/* ------------------------------------------------------------------ */

typedef struct sbuf {
    char *data;
    size_t len, cap;
    int failed; /* memory ran out once: every later append is ignored */
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    size_t need;
    if (smp_add_size(b->len, n + 1, &need) != 0) {
        b->failed = 1;
        return;
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_printf(sbuf *b, const char *fmt, ...) SMP_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        sb_put(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_put(b, big, (size_t)n);
    free(big);
}

/* Hands the buffer over, or frees it and returns NULL when memory ran out. */
static char *sb_finish(sbuf *b)
{
    if (b->failed) {
        free(b->data);
        return NULL;
    }
    if (!b->data)
        sb_put(b, "", 0);
    return b->failed ? NULL : b->data;
}

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
    sbuf b = {0};
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        size_t n = utf8_next(p, &cp);
        if (n) {
            sb_put(&b, (const char *)p, n);
            p += n;
        } else {
            sb_puts(&b, "\xef\xbf\xbd");
            p++;
        }
    }
    char *fixed = sb_finish(&b);
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
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The hair's colour groups, at most the four the result holds. */
static size_t n_clusters(const smp_result *r)
{
    size_t cap = sizeof r->hair_clusters / sizeof r->hair_clusters[0];
    return r->n_hair_clusters < cap ? r->n_hair_clusters : cap;
}

/* A cluster's hex as the result holds it, or made from its Lab when empty. */
static void cluster_hex(const struct smp_hair_cluster *c, char hex[8])
{
    if (c->hex[0] == '#' && strlen(c->hex) == 7)
        memcpy(hex, c->hex, 8);
    else
        smp_lab_to_hex(c->lab, hex);
}

/* hair.clusters: [{lab, hex, share, grey}], largest first as the result has them. */
static json_t *json_clusters(const smp_result *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n_clusters(r); i++) {
        const struct smp_hair_cluster *c = &r->hair_clusters[i];
        char hex[8];
        cluster_hex(c, hex);
        json_t *o = json_object();
        int bad = put(o, "lab", jlab(c->lab));
        bad |= put(o, "hex", jstr(hex));
        bad |= put(o, "share", jnum(c->share, 3));
        bad |= put(o, "grey", json_boolean(c->grey));
        if (bad)
            json_decref(o);
        if (bad || json_array_append_new(a, o) != 0) { /* append takes o, also on failure */
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* hair or scalp; null when not measured. */
static json_t *json_colour(const smp_colour_stat *c, const smp_result *r, int is_scalp)
{
    if (!c->measured)
        return json_null();
    json_t *o = json_object();
    int bad = 0;
    bad |= put(o, "lab", jlab(c->lab));
    bad |= put(o, "hex", jstr(c->hex));
    bad |= put(o, "pixels", json_integer((json_int_t)c->pixels));
    bad |= put(o, "region_pixels", json_integer((json_int_t)c->region_pixels));
    bad |= put(o, "spread_de", jnum(c->spread_de, 2));
    bad |= put(o, "source", jstr(smp_source_name(c->source)));
    if (is_scalp) {
        bad |= put(o, "ita_deg", jnum(r->ita_deg, 1));
        bad |= put(o, "ita_category", jstr(r->ita_category));
    } else {
        /* clusters only when the hair was grouped; grey_share always, null
         * then, so that a script can read it without checking first */
        if (n_clusters(r) > 0)
            bad |= put(o, "clusters", json_clusters(r));
        bad |= put(o, "grey_share", n_clusters(r) > 0 ? jnum(r->grey_share, 3) : json_null());
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *json_calibration(const smp_calibration *cal)
{
    const char *method = cal->method ? cal->method : "none";
    json_t *o = json_object();
    int bad = put(o, "method", jstr(method));
    if (strcmp(method, "none") != 0) {
        bad |= put(o, "roi", json_pack("[iiii]", cal->roi.x, cal->roi.y, cal->roi.w, cal->roi.h));
        bad |= put(o, "patch_lab", jlab(cal->patch_lab));
        bad |= put(o, "spread_de", jnum(cal->spread_de, 2));
        bad |= put(o, "clipped_share", jnum(cal->clipped_share, 3));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *json_match(const smp_match *m, smp_metric metric)
{
    char hex[8];
    smp_lab_to_hex(m->lab, hex);
    json_t *o = json_object();
    int bad = 0;
    bad |= put(o, "rank", json_integer(m->rank));
    bad |= put(o, "name", jstr(m->name ? m->name : ""));
    bad |= put(o, "code", jstr(m->code ? m->code : ""));
    bad |= put(o, "palette", jstr(m->palette ? m->palette : ""));
    bad |= put(o, "lab", jlab(m->lab));
    bad |= put(o, "hex", jstr(hex));
    bad |= put(o, "delta_e", jnum(m->delta_e, 2));
    bad |= put(o, "delta_e00", jnum(m->delta_e00, 2));
    bad |= put(o, "metric", jstr(smp_metric_name(metric)));
    bad |= put(o, "verdict", jstr(m->verdict));
    if (m->notes && m->notes[0])
        bad |= put(o, "notes", jstr(m->notes));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *json_strings(char *const *s, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        if (json_array_append_new(a, jstr(s[i] ? s[i] : "")) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
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
        json_t *matches = json_array();
        for (size_t i = 0; matches && i < r->n_matches; i++)
            if (json_array_append_new(matches, json_match(&r->matches[i], r->metric)) != 0)
                bad = 1;
        bad |= put(o, "status", json_string("ok"));
        bad |= put(o, "image", json_image(r));
        bad |= put(o, "hair", json_colour(&r->hair, r, 0));
        bad |= put(o, "scalp", json_colour(&r->scalp, r, 1));
        bad |= put(o, "calibration", json_calibration(&r->calibration));
        bad |= put(o, "metric", jstr(smp_metric_name(r->metric)));
        bad |= put(o, "model", json_string(r->model == SMP_MODEL_DIRECT ? "direct" : "healed"));
        bad |= put(o, "matches", matches);
        bad |= put(o, "confidence", jnum(r->confidence, 2));
        bad |= put(o, "warnings", json_strings(r->warnings, r->n_warnings));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
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
    "warnings,error,hair_clusters,grey_share\n";

const char *smp_csv_header(void)
{
    return csv_header;
}

/* One field, quoted when RFC 4180 requires it, followed by `sep`. */
static void csv_field(sbuf *b, const char *s, char sep)
{
    if (!s)
        s = "";
    if (strpbrk(s, ",\"\r\n")) {
        sb_put(b, "\"", 1);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                sb_put(b, "\"", 1);
            sb_put(b, p, 1);
        }
        sb_put(b, "\"", 1);
    } else {
        sb_puts(b, s);
    }
    sb_put(b, &sep, 1);
}

/* A number with `decimals` places; empty when NaN or infinite. */
static void csv_num(sbuf *b, double v, int decimals)
{
    if (isfinite(v))
        sb_printf(b, "%.*f", decimals, round_to(v, decimals));
    sb_put(b, ",", 1);
}

static void csv_lab_hex(sbuf *b, const smp_colour_stat *c)
{
    if (c->measured) {
        csv_num(b, c->lab[0], 2);
        csv_num(b, c->lab[1], 2);
        csv_num(b, c->lab[2], 2);
        csv_field(b, c->hex, ',');
    } else {
        sb_puts(b, ",,,,");
    }
}

/* The hair_clusters field and its comma: "0.72 #3a3330;0.28 #a9a6a2 grey". */
static void csv_clusters(sbuf *b, const smp_result *r)
{
    for (size_t i = 0; i < n_clusters(r); i++) {
        const struct smp_hair_cluster *c = &r->hair_clusters[i];
        char hex[8];
        cluster_hex(c, hex);
        if (i)
            sb_puts(b, ";");
        if (isfinite(c->share))
            sb_printf(b, "%.2f ", round_to(c->share, 2));
        sb_puts(b, hex);
        if (c->grey)
            sb_puts(b, " grey");
    }
    sb_puts(b, ",");
}

/* The fields that follow the match fields, the same on every row of a photo. */
static void csv_photo_tail(sbuf *b, const smp_result *r, const char *warnings)
{
    int ok = r->status == SMP_OK;
    if (ok) {
        csv_lab_hex(b, &r->hair);
        csv_lab_hex(b, &r->scalp);
        if (r->scalp.measured) {
            csv_num(b, r->ita_deg, 1);
            csv_field(b, r->ita_category, ',');
        } else {
            sb_puts(b, ",,");
        }
        csv_field(b, r->calibration.method ? r->calibration.method : "none", ',');
        csv_num(b, r->confidence, 2);
    } else {
        sb_puts(b, ",,,,,,,,,,,,"); /* hair_L .. confidence: 12 empty fields */
    }
    csv_field(b, warnings, ',');
    csv_field(b, ok ? "" : (r->error ? r->error : smp_status_string(r->status)), ',');
    if (ok && n_clusters(r) > 0) {
        csv_clusters(b, r);
        if (isfinite(r->grey_share))
            sb_printf(b, "%.3f", round_to(r->grey_share, 3));
    } else {
        sb_puts(b, ","); /* hair_clusters and grey_share empty */
    }
    sb_puts(b, "\n");
}

/* All warnings in one field, joined with "; ". */
static char *csv_join_warnings(const smp_result *r)
{
    sbuf b = {0};
    for (size_t i = 0; i < r->n_warnings; i++) {
        if (i)
            sb_puts(&b, "; ");
        sb_puts(&b, r->warnings[i] ? r->warnings[i] : "");
    }
    return sb_finish(&b);
}

char *smp_result_to_csv(const smp_result *result)
{
    if (!result)
        return NULL;
    const smp_result *r = result;
    char *warnings = csv_join_warnings(r);
    if (!warnings)
        return NULL;
    sbuf b = {0};
    size_t rows = r->status == SMP_OK && r->n_matches ? r->n_matches : 1;
    for (size_t i = 0; i < rows; i++) {
        csv_field(&b, r->file, ',');
        csv_field(&b, r->status == SMP_OK ? "ok" : "error", ',');
        if (r->status == SMP_OK && r->n_matches) {
            const smp_match *m = &r->matches[i];
            char hex[8];
            smp_lab_to_hex(m->lab, hex);
            sb_printf(&b, "%d,", m->rank);
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
            sb_puts(&b, ",,,,,,,,,,,,,"); /* rank .. shade_hex: 13 empty fields */
        }
        csv_photo_tail(&b, r, warnings);
    }
    free(warnings);
    return sb_finish(&b);
}

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

/* Appends s with control characters (C0, DEL, C1) and invalid UTF-8 shown
 * as '?': names come from files and palettes, and an escape sequence in a
 * file name must not reach the terminal. Pads with spaces to `width`
 * columns (0: no padding). */
static void text_str(sbuf *b, const char *s, size_t width)
{
    size_t cols = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        uint32_t cp;
        size_t n = utf8_next(p, &cp);
        if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
            sb_put(b, "?", 1);
            p += n ? n : 1;
        } else {
            sb_put(b, (const char *)p, n);
            p += n;
        }
        cols++;
    }
    for (; cols < width; cols++)
        sb_put(b, " ", 1);
}

/* A 24-bit colour swatch from "#rrggbb" and a space, or nothing when colour
 * is off. A hex we cannot read gives blank space of the same width, keeping
 * the columns. */
static void text_swatch(sbuf *b, const char *hex, int colour)
{
    if (!colour)
        return;
    unsigned r, g, bl;
    char tail;
    if (hex && sscanf(hex, "#%2x%2x%2x%c", &r, &g, &bl, &tail) == 3 && strlen(hex) == 7)
        sb_printf(b, "\x1b[48;2;%u;%u;%um    \x1b[0m ", r, g, bl);
    else
        sb_puts(b, "     ");
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

static void text_colour(sbuf *b, const char *label, const smp_colour_stat *c, int colour)
{
    sb_printf(b, "  %-11s ", label);
    if (!c->measured) {
        sb_puts(b, "not measured\n");
        return;
    }
    text_swatch(b, c->hex, colour);
    sb_printf(b, "L* %5.1f  a* %5.1f  b* %5.1f  ", round_to(c->lab[0], 1), round_to(c->lab[1], 1),
              round_to(c->lab[2], 1));
    text_str(b, c->hex, 0);
    sb_printf(b, "  spread ΔE %.1f  %zu px, %s\n", round_to(c->spread_de, 1), c->pixels,
              source_words(c->source));
}

/* Under the hair, when it has more than one colour group:
 * "groups: 72 % #3a3330, 28 % #a9a6a2 grey". One group says nothing the
 * hair line does not. */
static void text_clusters(sbuf *b, const smp_result *r, int colour)
{
    if (n_clusters(r) < 2)
        return;
    sb_printf(b, "  %-11s groups: ", "");
    for (size_t i = 0; i < n_clusters(r); i++) {
        const struct smp_hair_cluster *c = &r->hair_clusters[i];
        char hex[8];
        cluster_hex(c, hex);
        if (i)
            sb_puts(b, ", ");
        if (isfinite(c->share))
            sb_printf(b, "%.0f %% ", round_to(c->share * 100.0, 0));
        text_swatch(b, hex, colour);
        sb_puts(b, hex);
        if (c->grey)
            sb_puts(b, " grey");
    }
    sb_puts(b, "\n");
}

/* "consult1.jpg  4032×3024 JPEG, analysed 1008×756, sRGB built-in (assumed sRGB)" */
static void text_heading(sbuf *b, const smp_result *r)
{
    text_str(b, r->file, 0);
    sb_printf(b, "  %d×%d", r->image.width, r->image.height);
    if (r->image.format) {
        sb_puts(b, " ");
        for (const char *p = r->image.format; *p; p++) {
            char c = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
            text_str(b, (char[]){c, 0}, 0);
        }
    }
    if (r->image.analysed_width != r->image.width || r->image.analysed_height != r->image.height)
        sb_printf(b, ", analysed %d×%d", r->image.analysed_width, r->image.analysed_height);
    sb_puts(b, ", ");
    if (r->image.icc_profile && r->image.icc_profile[0])
        text_str(b, r->image.icc_profile, 0);
    else
        sb_puts(b, "sRGB");
    if (r->image.icc_assumed)
        sb_puts(b, " (assumed sRGB)");
    if (r->image.orientation > 1)
        sb_printf(b, ", EXIF orientation %d applied", r->image.orientation);
    sb_puts(b, "\n");
}

static void text_calibration(sbuf *b, const smp_calibration *cal)
{
    if (!cal->method || strcmp(cal->method, "none") == 0)
        return;
    sb_printf(b, "  %-11s ", "calibration");
    text_str(b, cal->method, 0);
    sb_printf(b, " at %d,%d %d×%d: patch L* %.1f a* %.1f b* %.1f, spread ΔE %.1f, %.1f%% clipped\n",
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

/* The ranked shades. A shade that shares its rank with the one above (the
 * two are within 0.8 ΔE00, equally good) shows "=" instead of a number. */
static void text_matches(sbuf *b, const smp_result *r, int colour)
{
    sb_printf(b, "  %-11s ", "shades");
    if (r->n_matches == 0) {
        sb_puts(b, r->hair.measured ? "none (the palette has no pigment)\n"
                                    : "none (no hair colour was measured)\n");
        return;
    }
    sb_printf(b, "%s against the hair, %s model\n", metric_label(r->metric),
              r->model == SMP_MODEL_DIRECT ? "direct" : "healed");
    size_t name_w, code_w, pal_w;
    int show_palette;
    text_widths(r, &name_w, &code_w, &pal_w, &show_palette);

    sb_puts(b, "    rank  ");
    if (colour)
        sb_puts(b, "     ");
    text_str(b, "shade", name_w + 2);
    text_str(b, "code", code_w + 2);
    if (show_palette)
        text_str(b, "palette", pal_w + 2);
    /* right-aligned over the "%5.2f" values */
    for (size_t w = display_width(metric_label(r->metric)); w < 5; w++)
        sb_puts(b, " ");
    sb_printf(b, "%s  verdict\n", metric_label(r->metric));

    int tie_seen = 0;
    for (size_t i = 0; i < r->n_matches; i++) {
        const smp_match *m = &r->matches[i];
        if (i > 0 && m->rank == r->matches[i - 1].rank) {
            sb_puts(b, "       =  ");
            tie_seen = 1;
        } else {
            sb_printf(b, "    %4d  ", m->rank);
        }
        char hex[8];
        smp_lab_to_hex(m->lab, hex);
        text_swatch(b, hex, colour);
        text_str(b, m->name, name_w + 2);
        text_str(b, m->code, code_w + 2);
        if (show_palette)
            text_str(b, m->palette, pal_w + 2);
        if (isfinite(m->delta_e))
            sb_printf(b, "%5.2f  ", round_to(m->delta_e, 2));
        else
            sb_puts(b, "    -  ");
        text_str(b, m->verdict, 0);
        sb_puts(b, "\n");
    }
    if (tie_seen)
        sb_puts(b, "          (= as good as the shade above: within 0.8 ΔE00)\n");
}

/* "file: message", without saying the file twice when the message already
 * starts with it (library messages do). */
static void text_error(sbuf *b, const smp_result *r)
{
    const char *file = r->file ? r->file : "";
    const char *msg = r->error ? r->error : smp_status_string(r->status);
    size_t n = strlen(file);
    if (!(n && strncmp(msg, file, n) == 0 && msg[n] == ':')) {
        text_str(b, file, 0);
        sb_puts(b, ": ");
    }
    text_str(b, msg, 0);
    sb_puts(b, "\n");
}

char *smp_result_to_text(const smp_result *result, int colour)
{
    if (!result)
        return NULL;
    const smp_result *r = result;
    sbuf b = {0};
    if (r->status != SMP_OK) {
        text_error(&b, r); /* one line, nothing else: the CLI prints it on stderr */
        return sb_finish(&b);
    }
    text_heading(&b, r);
    text_colour(&b, "hair", &r->hair, colour);
    if (r->hair.measured)
        text_clusters(&b, r, colour);
    text_colour(&b, "scalp", &r->scalp, colour);
    if (r->scalp.measured && isfinite(r->ita_deg)) {
        sb_printf(&b, "  %-11s ITA° %.1f, ", "", round_to(r->ita_deg, 1));
        text_str(&b, r->ita_category, 0);
        sb_puts(&b, "\n");
    }
    text_calibration(&b, &r->calibration);
    text_matches(&b, r, colour);
    if (isfinite(r->confidence))
        sb_printf(&b, "  %-11s %.2f\n", "confidence", round_to(r->confidence, 2));
    for (size_t i = 0; i < r->n_warnings; i++) {
        sb_puts(&b, "  warning: ");
        text_str(&b, r->warnings[i], 0);
        sb_puts(&b, "\n");
    }
    return sb_finish(&b);
}
