/*
 * palette.c: reading palette files into an array of shades.
 *
 * In:  a palette's bytes (a file, memory, or the built-in default palette):
 *      CSV (RFC 4180) or CGATS.17/IT8 text, told apart by the first line.
 * Out: an smp_palette, an array of smp_shade with D50 Lab colours and owned
 *      strings, read-only once loaded (threads may share it).
 *      CSV rows with no colour but a base and a dilution are worked out
 *      from their base and the file's first diluent (Kubelka-Munk, heal.c);
 *      per-shade veil and blue_shift are read for the healed model.
 * Not: matching or ranking (match.c); writing palettes; any colour model of
 *      how a shade heals (the default palette's modelled values come from
 *      tools/model_palette.c, see docs/palette.md).
 *
 * CSV dialect (docs/palette.md): RFC 4180 quoting ("" inside quotes, commas
 * and line breaks inside quotes), CRLF, LF or lone CR line ends, an optional
 * UTF-8 BOM, '#' at the start of a line (outside quotes) makes a comment,
 * rows whose fields are all empty are skipped (spreadsheets export blank rows
 * as ",,,,"), one header row with case-insensitive names, surrounding spaces
 * and tabs trimmed from every field. Text after a closing quote is kept as
 * is rather than refused: no spreadsheet writes it, and refusing it would
 * only punish hand-edited files.
 *
 * CGATS vs CSV: a file is CGATS when its first line (after a BOM) has no
 * comma and either starts with "CGATS" or "IT8" (any case), or is one or two
 * words and a later line starts with BEGIN_DATA_FORMAT. LittleCMS itself
 * accepts any one- or two-word first line as the sheet type; a CSV header
 * such as "name" is also one word, hence the BEGIN_DATA_FORMAT test.
 */
#include "palette.h"
#include "heal.h"
#include "util.h"

#include <ctype.h>
#include <limits.h>
#include <lcms2.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct smp_palette {
    smp_shade *shades;
    size_t n, cap;
    char **warnings;   /* palette_check's lines, then those of appended palettes */
    size_t n_warnings;
};

/* ------------------------------------------------------------------ */
/* The shade array                                                     */
/* ------------------------------------------------------------------ */

/* A shade's six strings live in one block that starts with the name, so a
 * shade is freed with free(name). */
enum { STR_NAME, STR_CODE, STR_BRAND, STR_NOTES, STR_BASE, STR_PALETTE, STR_COUNT };

static int shade_set_strings(smp_shade *s, const char *const str[STR_COUNT])
{
    size_t len[STR_COUNT], total = 0;
    for (int i = 0; i < STR_COUNT; i++) {
        len[i] = str[i] ? strlen(str[i]) : 0;
        if (smp_add_size(total, len[i] + 1, &total) != 0)
            return -1;
    }
    char *block = malloc(total);
    if (!block)
        return -1;
    const char **field[STR_COUNT] = {&s->name, &s->code, &s->brand,
                                     &s->notes, &s->base, &s->palette};
    char *p = block;
    for (int i = 0; i < STR_COUNT; i++) {
        if (len[i])
            memcpy(p, str[i], len[i]);
        p[len[i]] = '\0';
        *field[i] = p;
        p += len[i] + 1;
    }
    return 0;
}

static void shade_free_strings(smp_shade *s)
{
    free((char *)s->name);
}

static smp_palette *palette_new(void)
{
    return calloc(1, sizeof(smp_palette));
}

void smp_palette_free(smp_palette *palette)
{
    if (!palette)
        return;
    for (size_t i = 0; i < palette->n; i++)
        shade_free_strings(&palette->shades[i]);
    free(palette->shades);
    for (size_t i = 0; i < palette->n_warnings; i++)
        free(palette->warnings[i]);
    free(palette->warnings);
    free(palette);
}

size_t smp_palette_warning_count(const smp_palette *palette)
{
    return palette ? palette->n_warnings : 0;
}

const char *smp_palette_warning(const smp_palette *palette, size_t i)
{
    if (!palette || i >= palette->n_warnings)
        return NULL;
    return palette->warnings[i];
}

size_t smp_palette_size(const smp_palette *palette)
{
    return palette ? palette->n : 0;
}

const smp_shade *smp_palette_get(const smp_palette *palette, size_t i)
{
    if (!palette || i >= palette->n)
        return NULL;
    return &palette->shades[i];
}

/* Makes room for `extra` more shades. Callers check SMP_PALETTE_MAX_ENTRIES
 * first, so the array never grows past it. Returns 0 or -1 (no memory). */
static int palette_reserve(smp_palette *p, size_t extra)
{
    size_t need;
    if (smp_add_size(p->n, extra, &need) != 0)
        return -1;
    if (need <= p->cap)
        return 0;
    size_t cap = p->cap ? p->cap : 16;
    while (cap < need)
        cap = cap > SMP_PALETTE_MAX_ENTRIES ? need : cap * 2;
    if (cap > SMP_PALETTE_MAX_ENTRIES && need <= SMP_PALETTE_MAX_ENTRIES)
        cap = SMP_PALETTE_MAX_ENTRIES;
    size_t bytes;
    if (smp_mul_size(cap, sizeof(smp_shade), &bytes) != 0)
        return -1;
    smp_shade *grown = realloc(p->shades, bytes);
    if (!grown)
        return -1;
    p->shades = grown;
    p->cap = cap;
    return 0;
}

smp_status smp_palette_append(smp_palette *dst, const smp_palette *src, smp_error *err)
{
    if (!dst || !src)
        return smp_fail(err, SMP_E_ARG, "palette: nothing to append to or from");
    size_t n = src->n; /* read first: dst may be src */
    if (n == 0)
        return SMP_OK;
    if (dst->n > SMP_PALETTE_MAX_ENTRIES || n > SMP_PALETTE_MAX_ENTRIES - dst->n)
        return smp_fail(err, SMP_E_LIMIT, "%s: adding its %zu shades would make more than %d in all",
                        src->shades[0].palette, n, SMP_PALETTE_MAX_ENTRIES);
    if (palette_reserve(dst, n) != 0)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory adding its shades",
                        src->shades[0].palette);
    size_t start = dst->n;
    for (size_t i = 0; i < n; i++) {
        const smp_shade *s = &src->shades[i]; /* after reserve: src->shades may have moved */
        smp_shade *d = &dst->shades[start + i];
        *d = *s;
        const char *str[STR_COUNT] = {s->name, s->code, s->brand, s->notes, s->base, s->palette};
        if (shade_set_strings(d, str) != 0) {
            for (size_t j = 0; j < i; j++)
                shade_free_strings(&dst->shades[start + j]);
            return smp_fail(err, SMP_E_NOMEM, "%s: out of memory adding its shades", s->palette);
        }
    }
    /* The warnings come along: they name src's file and lines. Read their
     * count first (dst may be src); on failure both lists go back. */
    size_t nw = src->n_warnings, w0 = dst->n_warnings;
    for (size_t i = 0; i < nw; i++) {
        if (smp_list_add(&dst->warnings, &dst->n_warnings, "%s", src->warnings[i]) != 0) {
            while (dst->n_warnings > w0)
                free(dst->warnings[--dst->n_warnings]);
            for (size_t j = 0; j < n; j++)
                shade_free_strings(&dst->shades[start + j]);
            return smp_fail(err, SMP_E_NOMEM, "%s: out of memory adding its shades",
                            src->shades[0].palette);
        }
    }
    dst->n = start + n; /* only now: a failure above leaves dst as it was */
    return SMP_OK;
}

/* ------------------------------------------------------------------ */
/* Loading state, numbers and colours                                  */
/* ------------------------------------------------------------------ */

typedef struct loader {
    const char *name;        /* for messages and shade.palette */
    smp_error *err;
    smp_palette *pal;
    cmsContext ctx;          /* made on first need, one per load: no global state */
    cmsHTRANSFORM srgb_to_lab;
    char lcms_msg[256];      /* LittleCMS's first error message of this load */
    const char *text;        /* CGATS: the file's text, to find a sample's line */
    size_t text_size;
    int nfields;             /* CGATS: fields per sample (NUMBER_OF_FIELDS) */
    size_t warnings_dropped; /* past SMP_PALETTE_MAX_WARNINGS */
    int trusted;             /* the built-in palette: no colour warnings to look for */
} loader;

/* LittleCMS reports errors through the context; the context's user data is
 * this load's loader, so concurrent loads never share a buffer. */
static void on_lcms_error(cmsContext ctx, cmsUInt32Number code, const char *text)
{
    (void)code;
    loader *ld = cmsGetContextUserData(ctx);
    if (ld && !ld->lcms_msg[0] && text)
        snprintf(ld->lcms_msg, sizeof ld->lcms_msg, "%s", text);
}

static int loader_context(loader *ld)
{
    if (!ld->ctx) {
        ld->ctx = cmsCreateContext(NULL, ld);
        if (!ld->ctx)
            return -1;
        cmsSetLogErrorHandlerTHR(ld->ctx, on_lcms_error);
    }
    return 0;
}

static void loader_done(loader *ld)
{
    if (ld->srgb_to_lab)
        cmsDeleteTransform(ld->srgb_to_lab);
    if (ld->ctx)
        cmsDeleteContext(ld->ctx);
}

/* sRGB (0..1 per channel) to D50 Lab, relative colorimetric, through
 * LittleCMS's built-in sRGB profile and a v4 Lab D50 profile. The float
 * path is used so no 8-bit lookup table adds interpolation error. */
static smp_status srgb_to_lab(loader *ld, const double rgb[3], double lab[3])
{
    if (!ld->srgb_to_lab) {
        if (loader_context(ld) != 0)
            return smp_fail(ld->err, SMP_E_NOMEM, "%s: out of memory", ld->name);
        cmsHPROFILE srgb = cmsCreate_sRGBProfileTHR(ld->ctx);
        cmsHPROFILE labp = cmsCreateLab4ProfileTHR(ld->ctx, NULL);
        if (srgb && labp)
            ld->srgb_to_lab = cmsCreateTransformTHR(ld->ctx, srgb, TYPE_RGB_DBL, labp, TYPE_Lab_DBL,
                                                    INTENT_RELATIVE_COLORIMETRIC, 0);
        if (srgb)
            cmsCloseProfile(srgb);
        if (labp)
            cmsCloseProfile(labp);
        if (!ld->srgb_to_lab)
            return smp_fail(ld->err, SMP_E_COLOUR, "%s: cannot convert sRGB colours (LittleCMS: %s)",
                            ld->name, ld->lcms_msg[0] ? ld->lcms_msg : "no transform");
    }
    cmsCIELab out;
    cmsDoTransform(ld->srgb_to_lab, rgb, &out, 1);
    lab[0] = out.L;
    lab[1] = out.a;
    lab[2] = out.b;
    return SMP_OK;
}

/* Strict, locale-independent decimal number: the whole text must be
 * [+-]digits[.digits][e[+-]digits] (or .digits), and finite. strtod is not
 * used because it follows LC_NUMERIC (a German locale would read "12.5" as
 * 12) and accepts "inf", "nan" and hex. Returns 0 or -1. */
static int parse_number(const char *s, double *out)
{
    int neg = 0, digits = 0, exp10 = 0;
    uint64_t m = 0;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    for (; isdigit((unsigned char)*s); s++, digits++) {
        if (m < UINT64_C(1000000000000000000))
            m = m * 10 + (uint64_t)(*s - '0');
        else
            exp10++; /* digits beyond 19 only scale: doubles hold 17 */
    }
    if (*s == '.') {
        for (s++; isdigit((unsigned char)*s); s++, digits++) {
            if (m < UINT64_C(1000000000000000000)) {
                m = m * 10 + (uint64_t)(*s - '0');
                exp10--;
            }
        }
    }
    if (digits == 0)
        return -1;
    if (*s == 'e' || *s == 'E') {
        int eneg = 0, e = 0, edigits = 0;
        s++;
        if (*s == '+' || *s == '-')
            eneg = *s++ == '-';
        for (; isdigit((unsigned char)*s); s++, edigits++)
            if (e < 10000)
                e = e * 10 + (*s - '0');
        if (edigits == 0)
            return -1;
        exp10 += eneg ? -e : e;
    }
    if (*s != '\0')
        return -1;
    /* 10^0..10^22 are exact doubles, so m / 10^k is correctly rounded
     * when m is exact (below 2^53): "12.34" reads as the double nearest
     * 12.34, like strtod. */
    double v = (double)m;
    if (exp10 < 0 && exp10 >= -22)
        v /= pow(10.0, -exp10);
    else if (exp10 != 0)
        v *= pow(10.0, exp10);
    if (!isfinite(v))
        return -1;
    *out = neg ? -v : v;
    return 0;
}

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "#rrggbb" or "rrggbb" to 0..1 per channel. Returns 0 or -1. */
static int parse_hex(const char *s, double rgb[3])
{
    if (*s == '#')
        s++;
    if (strlen(s) != 6)
        return -1;
    for (int i = 0; i < 3; i++) {
        int hi = hex_digit((unsigned char)s[2 * i]), lo = hex_digit((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        rgb[i] = (double)(hi * 16 + lo) / 255.0;
    }
    return 0;
}

/* CIELAB's usual encoding range (ICC Lab: L 0..100, a and b -128..127). */
static const double lab_min[3] = {0.0, -128.0, -128.0};
static const double lab_max[3] = {100.0, 127.0, 127.0};
static const char *const lab_col[3] = {"L", "a", "b"};

/* `where` is "line 7" for CSV, "line 12 (sample 2)" for CGATS. */
static smp_status check_lab(loader *ld, const char *where, const char *const names[3],
                            const double lab[3])
{
    for (int i = 0; i < 3; i++)
        if (lab[i] < lab_min[i] || lab[i] > lab_max[i])
            return smp_fail(ld->err, SMP_E_FORMAT, "%s: %s: %s is out of range (%g..%g): %g",
                            ld->name, where, names[i], lab_min[i], lab_max[i], lab[i]);
    return SMP_OK;
}

static smp_status add_shade(loader *ld, const char *where, const smp_shade *proto,
                            const char *const str[STR_COUNT])
{
    smp_palette *p = ld->pal;
    if (p->n >= SMP_PALETTE_MAX_ENTRIES)
        return smp_fail(ld->err, SMP_E_LIMIT, "%s: %s: more than %d shades, the most a palette may hold",
                        ld->name, where, SMP_PALETTE_MAX_ENTRIES);
    if (palette_reserve(p, 1) != 0)
        return smp_fail(ld->err, SMP_E_NOMEM, "%s: %s: out of memory", ld->name, where);
    smp_shade *s = &p->shades[p->n];
    *s = *proto;
    if (shade_set_strings(s, str) != 0)
        return smp_fail(ld->err, SMP_E_NOMEM, "%s: %s: out of memory", ld->name, where);
    p->n++;
    return SMP_OK;
}

/* ------------------------------------------------------------------ */
/* CSV                                                                 */
/* ------------------------------------------------------------------ */

typedef struct csv_reader {
    const char *p, *end;
    size_t line;        /* physical line of *p, 1-based */
    char *buf;          /* one record's fields, NUL-separated */
    size_t len;
    size_t *field;      /* start of each field in buf */
    size_t nfields;
    smp_status status;  /* why csv_next returned -1 */
} csv_reader;

/* Buffer sizes: a record is at most SMP_PALETTE_MAX_LINE bytes of input,
 * and unquoting only shrinks it (commas become NULs, "" becomes "). */
#define CSV_BUF_BYTES ((size_t)SMP_PALETTE_MAX_LINE + 2)
#define CSV_MAX_FIELDS ((size_t)SMP_PALETTE_MAX_LINE + 1)

static int is_eol(char c)
{
    return c == '\n' || c == '\r';
}

/* Steps over one line end (CRLF, LF or a lone CR, as old Mac exports use). */
static void skip_eol(csv_reader *r)
{
    if (r->p < r->end && *r->p == '\r') {
        r->p++;
        if (r->p < r->end && *r->p == '\n')
            r->p++;
    } else if (r->p < r->end && *r->p == '\n')
        r->p++;
    r->line++;
}

static void skip_line(csv_reader *r)
{
    while (r->p < r->end && !is_eol(*r->p))
        r->p++;
    if (r->p < r->end)
        skip_eol(r);
}

/* Trims spaces and tabs around the field that started at buf[start]. */
static void end_field(csv_reader *r, size_t start)
{
    size_t a = start, b = r->len;
    while (a < b && (r->buf[a] == ' ' || r->buf[a] == '\t'))
        a++;
    while (b > a && (r->buf[b - 1] == ' ' || r->buf[b - 1] == '\t'))
        b--;
    memmove(r->buf + start, r->buf + a, b - a);
    r->len = start + (b - a);
    r->buf[r->len++] = '\0';
    r->field[r->nfields++] = start;
}

/* Reads the next record that is not a comment. Returns 1 with the fields in
 * r, 0 at the end of the input, -1 on error (err filled). *rec_line is the
 * line the record starts on. */
static int csv_next(loader *ld, csv_reader *r, size_t *rec_line)
{
    while (r->p < r->end && *r->p == '#')
        skip_line(r);
    if (r->p >= r->end)
        return 0;
    const char *start = r->p;
    size_t quote_line = 0;
    int in_quotes = 0, field_start = 1;
    size_t fstart = 0;
    *rec_line = r->line;
    r->len = 0;
    r->nfields = 0;
    for (;;) {
        if (r->p >= r->end) {
            if (in_quotes) {
                r->status = smp_fail(ld->err, SMP_E_FORMAT, "%s: line %zu: unclosed quote", ld->name,
                                     quote_line);
                return -1;
            }
            break;
        }
        char c = *r->p;
        /* The limit is checked before anything grows: the buffers were
         * sized for it. The line end itself does not count. */
        if ((in_quotes || !is_eol(c)) && (size_t)(r->p - start) >= SMP_PALETTE_MAX_LINE) {
            if (in_quotes && quote_line != r->line)
                r->status = smp_fail(ld->err, SMP_E_FORMAT,
                         "%s: line %zu: unclosed quote (the quoted text runs on for over %d bytes)",
                         ld->name, quote_line, SMP_PALETTE_MAX_LINE);
            else
                r->status = smp_fail(ld->err, SMP_E_LIMIT, "%s: line %zu: longer than %d bytes", ld->name,
                         r->line, SMP_PALETTE_MAX_LINE);
            return -1;
        }
        if (in_quotes) {
            if (c == '"') {
                if (r->p + 1 < r->end && r->p[1] == '"') {
                    r->buf[r->len++] = '"';
                    r->p += 2;
                } else {
                    in_quotes = 0;
                    r->p++;
                }
            } else if (is_eol(c)) {
                r->buf[r->len++] = '\n'; /* line breaks inside quotes read as LF */
                skip_eol(r);
            } else {
                r->buf[r->len++] = c;
                r->p++;
            }
            continue;
        }
        if (c == '"' && field_start) {
            in_quotes = 1;
            quote_line = r->line;
            field_start = 0;
            r->p++;
            continue;
        }
        if (c == ',') {
            end_field(r, fstart);
            fstart = r->len;
            field_start = 1;
            r->p++;
            continue;
        }
        if (is_eol(c)) {
            skip_eol(r);
            break;
        }
        if (c != ' ' && c != '\t')
            field_start = 0; /* a quote may follow leading spaces: " \"x\"" */
        r->buf[r->len++] = c;
        r->p++;
    }
    end_field(r, fstart);
    return 1;
}

static const char *csv_field(const csv_reader *r, int col)
{
    return col >= 0 && (size_t)col < r->nfields ? r->buf + r->field[col] : "";
}

static int csv_blank(const csv_reader *r)
{
    for (size_t i = 0; i < r->nfields; i++)
        if (r->buf[r->field[i]])
            return 0;
    return 1;
}

enum { COL_NAME, COL_CODE, COL_L, COL_A, COL_B, COL_HEX, COL_BRAND, COL_KIND,
       COL_BASE, COL_DILUTION, COL_NOTES, COL_VEIL, COL_BLUE_SHIFT, COL_COUNT };

/* Header names (lower case) and the spellings colour software also writes
 * ("L*" in spectrophotometer exports). */
static int column_id(const char *name)
{
    static const struct { const char *name; int id; } cols[] = {
        {"name", COL_NAME}, {"code", COL_CODE}, {"l", COL_L}, {"a", COL_A}, {"b", COL_B},
        {"l*", COL_L}, {"a*", COL_A}, {"b*", COL_B}, {"hex", COL_HEX}, {"brand", COL_BRAND},
        {"kind", COL_KIND}, {"base", COL_BASE}, {"dilution", COL_DILUTION}, {"notes", COL_NOTES},
        {"veil", COL_VEIL}, {"blue_shift", COL_BLUE_SHIFT}, {"blue-shift", COL_BLUE_SHIFT},
        {"blue shift", COL_BLUE_SHIFT},
    };
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        const char *a = cols[i].name, *b = name;
        while (*a && tolower((unsigned char)*b) == *a)
            a++, b++;
        if (!*a && !*b)
            return cols[i].id;
    }
    return -1;
}

static smp_status csv_header(loader *ld, const csv_reader *r, size_t line, int col[COL_COUNT])
{
    static const char *const col_name[COL_COUNT] = {"name", "code", "L", "a", "b", "hex",
                                                    "brand", "kind", "base", "dilution", "notes",
                                                    "veil", "blue_shift"};
    for (int i = 0; i < COL_COUNT; i++)
        col[i] = -1;
    for (size_t i = 0; i < r->nfields; i++) {
        int id = column_id(r->buf + r->field[i]);
        if (id < 0)
            continue; /* unknown columns are the user's own notes */
        if (col[id] >= 0)
            return smp_fail(ld->err, SMP_E_FORMAT, "%s: line %zu: the '%s' column appears twice",
                            ld->name, line, col_name[id]);
        col[id] = (int)i;
    }
    if (col[COL_NAME] < 0) {
        int semicolons = r->nfields == 1 && strchr(csv_field(r, 0), ';');
        return smp_fail(ld->err, SMP_E_FORMAT, "%s: no 'name' column in the header%s", ld->name,
                        semicolons ? " (the columns seem to be separated by ';': save the file "
                                     "with commas)" : "");
    }
    int has_lab = col[COL_L] >= 0 && col[COL_A] >= 0 && col[COL_B] >= 0;
    if (!has_lab && col[COL_HEX] < 0)
        return smp_fail(ld->err, SMP_E_FORMAT,
                        "%s: the header needs L, a and b columns or a hex column", ld->name);
    return SMP_OK;
}

static smp_status bad_number(loader *ld, size_t line, const char *col, const char *text)
{
    return smp_fail(ld->err, SMP_E_FORMAT, "%s: line %zu: %s is not a number (\"%.40s\")%s", ld->name,
                    line, col, text, strchr(text, ',') ? ": use a dot for decimals" : "");
}

/* A dilution as a number of parts diluent to one part pigment ("3"), or
 * the way technicians write it, diluent:pigment ("3:1"). */
static smp_status csv_dilution(loader *ld, size_t line, const char *text, double *out)
{
    *out = 0.0;
    if (!*text)
        return SMP_OK;
    char tmp[64];
    const char *colon = strchr(text, ':');
    double v, per = 1.0;
    if (colon) {
        size_t k = (size_t)(colon - text);
        if (k >= sizeof tmp)
            return bad_number(ld, line, "dilution", text);
        memcpy(tmp, text, k);
        tmp[k] = '\0';
        if (parse_number(tmp, &v) != 0 || parse_number(colon + 1, &per) != 0 || !(per > 0))
            return bad_number(ld, line, "dilution", text);
        v /= per;
    } else if (parse_number(text, &v) != 0) {
        return bad_number(ld, line, "dilution", text);
    }
    if (v < 0)
        return smp_fail(ld->err, SMP_E_FORMAT, "%s: line %zu: dilution is below 0 (\"%.40s\")",
                        ld->name, line, text);
    *out = v;
    return SMP_OK;
}

/* An optional model parameter: empty leaves *out as it is (NAN, "the
 * options' value"). */
static smp_status csv_param(loader *ld, size_t line, const char *col, const char *text, double lo,
                            double hi, double *out)
{
    double v;
    if (!*text)
        return SMP_OK;
    if (parse_number(text, &v) != 0)
        return bad_number(ld, line, col, text);
    if (v < lo || v > hi)
        return smp_fail(ld->err, SMP_E_FORMAT, "%s: line %zu: %s is out of range (%g..%g): %g",
                        ld->name, line, col, lo, hi, v);
    *out = v;
    return SMP_OK;
}

/* A row without colour is the third way to give one: a base and a dilution
 * to work it out from (resolve_derived, after the whole file is read). */
static smp_status csv_derivable(loader *ld, size_t line, const smp_shade *s, const char *base)
{
    if (!*base)
        return smp_fail(ld->err, SMP_E_FORMAT,
                        "%s: line %zu: needs L,a,b or hex, or a base and a dilution to work the "
                        "colour out from", ld->name, line);
    if (!(s->dilution > 0))
        return smp_fail(ld->err, SMP_E_FORMAT,
                        "%s: line %zu: needs L,a,b or hex, or a dilution above 0 to work the colour "
                        "out from its base \"%.60s\"", ld->name, line, base);
    if (s->kind == SMP_KIND_DILUENT)
        return smp_fail(ld->err, SMP_E_FORMAT,
                        "%s: line %zu: a diluent needs its own colour (L,a,b or hex)", ld->name, line);
    return SMP_OK;
}

static smp_status csv_row(loader *ld, const csv_reader *r, size_t line, const int col[COL_COUNT])
{
    char where[48];
    snprintf(where, sizeof where, "line %zu", line);
    smp_shade s;
    memset(&s, 0, sizeof s);
    s.veil = s.blue_shift = NAN; /* the options' */
    s.line = line > INT_MAX ? INT_MAX : (int)line;

    const char *name = csv_field(r, col[COL_NAME]);
    if (!*name)
        return smp_fail(ld->err, SMP_E_FORMAT, "%s: line %zu: the name is empty", ld->name, line);

    /* Colour: complete L,a,b first (a measurement), else hex. */
    const char *lab_text[3];
    int n_lab = 0;
    for (int i = 0; i < 3; i++) {
        lab_text[i] = csv_field(r, col[COL_L + i]);
        n_lab += lab_text[i][0] != '\0';
    }
    const char *hex = csv_field(r, col[COL_HEX]);
    smp_status st;
    if (n_lab == 3) {
        for (int i = 0; i < 3; i++)
            if (parse_number(lab_text[i], &s.lab[i]) != 0)
                return bad_number(ld, line, lab_col[i], lab_text[i]);
        if ((st = check_lab(ld, where, lab_col, s.lab)) != SMP_OK)
            return st;
    } else if (*hex) {
        double rgb[3];
        if (parse_hex(hex, rgb) != 0)
            return smp_fail(ld->err, SMP_E_FORMAT,
                            "%s: line %zu: hex is not a colour like #1a1a1a (\"%.40s\")", ld->name,
                            line, hex);
        if ((st = srgb_to_lab(ld, rgb, s.lab)) != SMP_OK)
            return st;
    } else if (n_lab) {
        return smp_fail(ld->err, SMP_E_FORMAT,
                        "%s: line %zu: needs L,a,b or hex (some of L, a, b are empty)", ld->name, line);
    } else {
        s.derived = 1; /* worked out from its base once the whole file is read */
    }

    const char *kind = csv_field(r, col[COL_KIND]);
    if (*kind) {
        char low[16];
        size_t k = 0;
        for (; kind[k] && k + 1 < sizeof low; k++)
            low[k] = (char)tolower((unsigned char)kind[k]);
        low[k] = '\0';
        if (strlen(kind) < sizeof low && strcmp(low, "pigment") == 0)
            s.kind = SMP_KIND_PIGMENT;
        else if (strlen(kind) < sizeof low && strcmp(low, "diluent") == 0)
            s.kind = SMP_KIND_DILUENT;
        else
            return smp_fail(ld->err, SMP_E_FORMAT,
                            "%s: line %zu: kind must be pigment or diluent (\"%.40s\")", ld->name,
                            line, kind);
    }
    if ((st = csv_dilution(ld, line, csv_field(r, col[COL_DILUTION]), &s.dilution)) != SMP_OK)
        return st;
    if (s.derived && (st = csv_derivable(ld, line, &s, csv_field(r, col[COL_BASE]))) != SMP_OK)
        return st;
    /* The healed model's parameters, in the CLI's ranges (--veil, --blue-shift). */
    if ((st = csv_param(ld, line, "veil", csv_field(r, col[COL_VEIL]), 0.0, SMP_PALETTE_MAX_VEIL,
                         &s.veil)) != SMP_OK ||
        (st = csv_param(ld, line, "blue_shift", csv_field(r, col[COL_BLUE_SHIFT]), 0.0,
                        SMP_PALETTE_MAX_BLUE_SHIFT, &s.blue_shift)) != SMP_OK)
        return st;

    const char *str[STR_COUNT] = {name,
                                  csv_field(r, col[COL_CODE]),
                                  csv_field(r, col[COL_BRAND]),
                                  csv_field(r, col[COL_NOTES]),
                                  csv_field(r, col[COL_BASE]),
                                  ld->name};
    return add_shade(ld, where, &s, str);
}

/* ------------------------------------------------------------------ */
/* Derived rows: a colour worked out from a base and a dilution        */
/* ------------------------------------------------------------------ */

/* A CSV row with no colour but a base and a dilution > 0 is the base thinned
 * with the file's first diluent: single-constant Kubelka-Munk in linear-light
 * sRGB with the base's share 1/(1 + dilution) (heal.c, the model that made
 * the built-in ladder, tools/model_palette.c). Bases are looked up by name,
 * ASCII case ignored, the first row of that name; a base may come later in
 * the file and may itself be derived (a chain: the mix of a mix). Work is
 * O(n log n) for the name index and O(n) for the chains, whatever the file. */

enum { ROW_DONE = 0, ROW_PENDING, ROW_VISITING };

typedef struct name_ref {
    const char *name;
    size_t i;
} name_ref;

static int ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : (unsigned char)c;
}

static int name_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = ascii_lower(*a), cb = ascii_lower(*b);
        if (ca != cb || !ca)
            return ca - cb;
    }
}

static int by_name(const void *x, const void *y)
{
    return name_cmp(((const name_ref *)x)->name, ((const name_ref *)y)->name);
}

static int by_name_then_row(const void *x, const void *y)
{
    int c = by_name(x, y);
    if (c)
        return c;
    size_t i = ((const name_ref *)x)->i, j = ((const name_ref *)y)->i;
    return i < j ? -1 : i > j;
}

typedef struct deriver {
    loader *ld;
    smp_heal_ctx heal;
    size_t *base;         /* per shade: the index of its base (derived rows) */
    unsigned char *state; /* per shade: ROW_* */
    size_t *chain;        /* rows waiting for their base, innermost last */
    const smp_shade *diluent;
    double diluent_rgb[3];
} deriver;

static smp_status derive_fail(deriver *d, const smp_shade *s, const char *what, const char *name)
{
    return smp_fail(d->ld->err, SMP_E_FORMAT, "%s: line %d: base \"%.60s\" %s", d->ld->name, s->line,
                    name, what);
}

/* Finds every derived row's base, before any shade's strings move (the
 * index points into them). */
static smp_status find_bases(deriver *d)
{
    smp_palette *p = d->ld->pal;
    name_ref *names = malloc(p->n * sizeof *names); /* n <= SMP_PALETTE_MAX_ENTRIES */
    if (!names)
        return smp_fail(d->ld->err, SMP_E_NOMEM, "%s: out of memory", d->ld->name);
    for (size_t i = 0; i < p->n; i++) {
        names[i].name = p->shades[i].name;
        names[i].i = i;
    }
    qsort(names, p->n, sizeof *names, by_name_then_row);
    size_t m = 0; /* keep the first row of each name */
    for (size_t i = 0; i < p->n; i++)
        if (m == 0 || name_cmp(names[m - 1].name, names[i].name) != 0)
            names[m++] = names[i];
    smp_status st = SMP_OK;
    for (size_t i = 0; i < p->n && st == SMP_OK; i++) {
        const smp_shade *s = &p->shades[i];
        if (!s->derived)
            continue;
        name_ref key = {s->base, 0};
        const name_ref *hit = bsearch(&key, names, m, sizeof *names, by_name);
        if (!hit)
            st = derive_fail(d, s, "is not a shade in this file", s->base);
        else if (hit->i == i)
            st = derive_fail(d, s, "is this row itself", s->base);
        d->base[i] = hit ? hit->i : 0;
        d->state[i] = ROW_PENDING;
    }
    free(names);
    return st;
}

/* "derived: 1 part Carbon black : 6 parts Distilled water, Kubelka-Munk",
 * as the shade's notes when it has none. */
static smp_status derived_notes(deriver *d, smp_shade *s, const smp_shade *b)
{
    static const char fmt[] = "derived: 1 part %s : %g part%s %s, Kubelka-Munk";
    const char *plural = s->dilution == 1.0 ? "" : "s";
    int len = snprintf(NULL, 0, fmt, b->name, s->dilution, plural, d->diluent->name);
    char *notes = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!notes)
        return smp_fail(d->ld->err, SMP_E_NOMEM, "%s: out of memory", d->ld->name);
    snprintf(notes, (size_t)len + 1, fmt, b->name, s->dilution, plural, d->diluent->name);
    const char *str[STR_COUNT] = {s->name, s->code, s->brand, notes, s->base, s->palette};
    smp_shade copy = *s;
    int rc = shade_set_strings(&copy, str);
    free(notes);
    if (rc != 0)
        return smp_fail(d->ld->err, SMP_E_NOMEM, "%s: out of memory", d->ld->name);
    shade_free_strings(s);
    *s = copy;
    return SMP_OK;
}

/* Works out row i from its base, which is done. */
static smp_status derive_row(deriver *d, size_t i)
{
    smp_shade *s = &d->ld->pal->shades[i];
    const smp_shade *b = &d->ld->pal->shades[d->base[i]];
    if (b->kind == SMP_KIND_DILUENT)
        return derive_fail(d, s, "is a diluent, not a pigment", b->name);
    /* A healed measurement has been through the skin: thinning it in the
     * bottle with water means nothing (match.c does not mix them either). */
    if (b->veil == 0.0)
        return derive_fail(d, s, "is a healed measurement (veil 0); dilutions are worked out "
                                 "from bottle colours only", b->name);
    double rgb[3], mix[3];
    smp_heal_to_rgb(&d->heal, b->lab, rgb);
    smp_mix_rgb(rgb, d->diluent_rgb, 1.0 / (1.0 + s->dilution), mix);
    smp_heal_to_lab(&d->heal, mix, s->lab);
    /* The pigment's own model parameters carry over to its dilutions. */
    if (isnan(s->veil))
        s->veil = b->veil;
    if (isnan(s->blue_shift))
        s->blue_shift = b->blue_shift;
    d->state[i] = ROW_DONE;
    return s->notes[0] ? SMP_OK : derived_notes(d, s, b);
}

/* Row i and, first, the derived rows it rests on. */
static smp_status derive_chain(deriver *d, size_t i)
{
    size_t k = 0, j = i;
    while (d->state[j] == ROW_PENDING) {
        d->state[j] = ROW_VISITING;
        d->chain[k++] = j; /* each row enters once: k <= n */
        j = d->base[j];
    }
    if (d->state[j] == ROW_VISITING) {
        const smp_shade *s = &d->ld->pal->shades[j];
        return derive_fail(d, s, "leads back to this row (the derived rows go round in a circle)",
                           s->base);
    }
    smp_status st = SMP_OK;
    while (k > 0 && st == SMP_OK)
        st = derive_row(d, d->chain[--k]);
    return st;
}

static smp_status resolve_derived(loader *ld)
{
    smp_palette *p = ld->pal;
    const smp_shade *first = NULL;
    deriver d;
    memset(&d, 0, sizeof d);
    d.ld = ld;
    for (size_t i = 0; i < p->n; i++) {
        if (p->shades[i].derived && !first)
            first = &p->shades[i];
        if (p->shades[i].kind == SMP_KIND_DILUENT && !d.diluent)
            d.diluent = &p->shades[i];
    }
    if (!first)
        return SMP_OK;
    if (!d.diluent)
        return smp_fail(ld->err, SMP_E_FORMAT,
                        "%s: line %d: to work out a dilution of \"%.60s\" the file needs a row of "
                        "kind diluent (e.g. Distilled water)", ld->name, first->line, first->base);
    smp_status st = SMP_OK;
    d.base = malloc(p->n * sizeof *d.base);
    d.chain = malloc(p->n * sizeof *d.chain);
    d.state = calloc(p->n, 1);
    if (!d.base || !d.chain || !d.state)
        st = smp_fail(ld->err, SMP_E_NOMEM, "%s: out of memory", ld->name);
    else if (smp_heal_ctx_init(&d.heal) != SMP_OK)
        st = smp_fail(ld->err, SMP_E_COLOUR, "%s: cannot work out the derived shades (LittleCMS "
                      "could not build its transforms)", ld->name);
    if (st == SMP_OK) {
        smp_heal_to_rgb(&d.heal, d.diluent->lab, d.diluent_rgb);
        st = find_bases(&d);
        for (size_t i = 0; i < p->n && st == SMP_OK; i++)
            if (d.state[i] == ROW_PENDING)
                st = derive_chain(&d, i);
        smp_heal_ctx_release(&d.heal);
    }
    free(d.base);
    free(d.chain);
    free(d.state);
    return st;
}

/* ------------------------------------------------------------------ */
/* Warnings: repeated names, colours no pigment can have               */
/* ------------------------------------------------------------------ */

static void cgats_where(const loader *ld, int row, int col, char *where, size_t n);

/* "line 7" (CSV) or "line 12 (sample 2)" (CGATS) for shade s. */
static void shade_where(const loader *ld, const smp_shade *s, char *where, size_t n)
{
    if (ld->text)
        cgats_where(ld, s->line - 1, 0, where, n);
    else
        snprintf(where, n, "line %d", s->line);
}

/* Adds one warning, "<file>: <where>: <text>"; past the cap, only counts.
 * Returns 0, or -1 when memory runs out. */
static int palette_warn(loader *ld, const smp_shade *s, const char *fmt, ...) SMP_PRINTF(3, 4);
static int palette_warn(loader *ld, const smp_shade *s, const char *fmt, ...)
{
    if (ld->pal->n_warnings >= SMP_PALETTE_MAX_WARNINGS) {
        ld->warnings_dropped++;
        return 0;
    }
    char where[64], text[512];
    shade_where(ld, s, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return smp_list_add(&ld->pal->warnings, &ld->pal->n_warnings, "%s: %s: %s", ld->name, where,
                        text);
}

/* Rows whose names differ only in ASCII case (fields are already trimmed):
 * each later one gets a warning naming the first. Both stay in the palette
 * and are ranked; a base of that name means the first (find_bases). */
static int warn_duplicates(loader *ld)
{
    smp_palette *p = ld->pal;
    name_ref *names = malloc(p->n * sizeof *names); /* n <= SMP_PALETTE_MAX_ENTRIES */
    if (!names)
        return -1;
    for (size_t i = 0; i < p->n; i++) {
        names[i].name = p->shades[i].name;
        names[i].i = i;
    }
    qsort(names, p->n, sizeof *names, by_name_then_row);
    int rc = 0;
    char first_where[64];
    for (size_t i = 1, first = 0; i < p->n && rc == 0; i++) {
        if (name_cmp(names[first].name, names[i].name) != 0) {
            first = i;
            continue;
        }
        const smp_shade *a = &p->shades[names[first].i], *b = &p->shades[names[i].i];
        shade_where(ld, a, first_where, sizeof first_where);
        rc = palette_warn(ld, b,
                          "\"%.60s\" is also on %s; both are ranked, and a base of that name "
                          "means the one on %s", b->name, first_where, first_where);
    }
    free(names);
    return rc;
}

/* The sRGB primaries as LittleCMS's built-in sRGB profile holds them
 * (IEC 61966-2-1 primaries and D65 white, Bradford-adapted to D50): the
 * matrix from linear sRGB to XYZ D50 that hex colours and untagged photos
 * go through, and its inverse. Returns 0 or -1. */
static int srgb_matrix(loader *ld, double m[3][3], double inv[3][3])
{
    if (loader_context(ld) != 0)
        return -1;
    cmsHPROFILE srgb = cmsCreate_sRGBProfileTHR(ld->ctx);
    if (!srgb)
        return -1;
    const cmsTagSignature tag[3] = {cmsSigRedColorantTag, cmsSigGreenColorantTag,
                                    cmsSigBlueColorantTag};
    int rc = 0;
    for (int c = 0; c < 3 && rc == 0; c++) {
        const cmsCIEXYZ *xyz = cmsReadTag(srgb, tag[c]);
        if (!xyz) {
            rc = -1;
            break;
        }
        m[0][c] = xyz->X;
        m[1][c] = xyz->Y;
        m[2][c] = xyz->Z;
    }
    cmsCloseProfile(srgb);
    if (rc != 0)
        return -1;
    double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                 m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                 m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if (!(fabs(det) > 1e-9))
        return -1;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) {
            /* inverse = adjugate / det: cofactor of (c, r) */
            int r1 = (c + 1) % 3, r2 = (c + 2) % 3, c1 = (r + 1) % 3, c2 = (r + 2) % 3;
            inv[r][c] = (m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]) / det;
        }
    return 0;
}

static void mat_apply(const double m[3][3], const double v[3], double out[3])
{
    for (int r = 0; r < 3; r++)
        out[r] = m[r][0] * v[0] + m[r][1] * v[1] + m[r][2] * v[2];
}

/* One shade's colour against what a pigment can be (palette.h, "Colours
 * no pigment can have"). */
static int warn_colour(loader *ld, const smp_shade *s, const double m[3][3], const double inv[3][3])
{
    const double *lab = s->lab;
    double xyz[3], rgb[3], back[3];
    cmsCIELab l = {lab[0], lab[1], lab[2]};
    cmsCIEXYZ x;
    cmsLab2XYZ(NULL, &x, &l); /* NULL: the D50 white of the ICC PCS */
    const cmsCIEXYZ *w = cmsD50_XYZ();
    const double white[3] = {w->X, w->Y, w->Z};
    xyz[0] = x.X, xyz[1] = x.Y, xyz[2] = x.Z;
    for (int i = 0; i < 3; i++)
        if (xyz[i] < -SURFACE_SLACK || xyz[i] > white[i] * (1.0 + SURFACE_SLACK))
            return palette_warn(ld, s,
                                "\"%.60s\" (L %.4g, a %.4g, b %.4g) is a colour no surface can "
                                "have (it would reflect %s): check L, a and b", s->name, lab[0],
                                lab[1], lab[2], xyz[i] < 0 ? "less than no light" :
                                "more light than falls on it");
    mat_apply(inv, xyz, rgb);
    for (int i = 0; i < 3; i++)
        rgb[i] = rgb[i] < 0.0 ? 0.0 : rgb[i] > 1.0 ? 1.0 : rgb[i];
    mat_apply(m, rgb, xyz);
    cmsCIEXYZ cx = {xyz[0], xyz[1], xyz[2]};
    cmsXYZ2Lab(NULL, &l, &cx);
    back[0] = l.L, back[1] = l.a, back[2] = l.b;
    cmsCIELab a = {lab[0], lab[1], lab[2]}, c = {back[0], back[1], back[2]};
    double de = cmsCIE2000DeltaE(&a, &c, 1.0, 1.0, 1.0);
    if (de > SMP_PALETTE_GAMUT_DE00)
        return palette_warn(ld, s,
                            "\"%.60s\" (L %.4g, a %.4g, b %.4g) is %.1f ΔE00 outside the sRGB "
                            "gamut, too colourful for a pigment for hair: check L, a and b",
                            s->name, lab[0], lab[1], lab[2], de);
    return 0;
}

/* All the warnings of a freshly loaded palette. They never fail the load:
 * out of memory only loses them. */
static void palette_check(loader *ld)
{
    if (ld->trusted)
        return;
    smp_palette *p = ld->pal;
    if (warn_duplicates(ld) != 0)
        return;
    double m[3][3], inv[3][3];
    if (srgb_matrix(ld, m, inv) != 0)
        return;
    for (size_t i = 0; i < p->n; i++)
        if (warn_colour(ld, &p->shades[i], m, inv) != 0)
            return;
    if (ld->warnings_dropped)
        smp_list_add(&p->warnings, &p->n_warnings, "%s: %zu more warnings like these", ld->name,
                     ld->warnings_dropped);
}

static smp_status load_csv(loader *ld, const char *data, size_t size)
{
    csv_reader r;
    memset(&r, 0, sizeof r);
    r.p = data;
    r.end = data + size;
    r.line = 1;
    r.buf = malloc(CSV_BUF_BYTES);
    r.field = malloc(CSV_MAX_FIELDS * sizeof(size_t));
    smp_status st = SMP_OK;
    if (!r.buf || !r.field) {
        st = smp_fail(ld->err, SMP_E_NOMEM, "%s: out of memory", ld->name);
        goto done;
    }
    int col[COL_COUNT], have_header = 0, got;
    size_t line;
    while ((got = csv_next(ld, &r, &line)) > 0) {
        if (csv_blank(&r))
            continue;
        if (!have_header) {
            if ((st = csv_header(ld, &r, line, col)) != SMP_OK)
                goto done;
            have_header = 1;
        } else if ((st = csv_row(ld, &r, line, col)) != SMP_OK) {
            goto done;
        }
    }
    if (got < 0)
        st = r.status;
    else if (!have_header)
        st = smp_fail(ld->err, SMP_E_FORMAT,
                      "%s: no header row (the file has only comments and blank lines)", ld->name);
    else if (ld->pal->n == 0)
        st = smp_fail(ld->err, SMP_E_FORMAT, "%s: no shades in the file", ld->name);
    else if ((st = resolve_derived(ld)) == SMP_OK)
        palette_check(ld);
done:
    free(r.buf);
    free(r.field);
    return st;
}

/* ------------------------------------------------------------------ */
/* CGATS.17 / IT8                                                      */
/* ------------------------------------------------------------------ */

/* LittleCMS's parser messages read "Line 10, Count mismatch. ..." after the
 * memory block's empty file name: reworded to our "line 10: ..." form. */
static smp_status cgats_error(loader *ld)
{
    const char *m = ld->lcms_msg;
    while (*m == ':' || *m == ' ')
        m++;
    if (!*m)
        return smp_fail(ld->err, SMP_E_FORMAT, "%s: not a CGATS/IT8 file LittleCMS can read",
                        ld->name);
    size_t len = strlen(m);
    while (len && (m[len - 1] == ' ' || m[len - 1] == '\n'))
        len--;
    int line = 0, used = 0;
    if (sscanf(m, "Line %d,%n", &line, &used) == 1 && used > 0) {
        const char *rest = m + used;
        while (*rest == ' ')
            rest++;
        int rlen = (int)(len - (size_t)(rest - m));
        return smp_fail(ld->err, SMP_E_FORMAT, "%s: line %d: %.*s", ld->name, line,
                        rlen > 0 ? rlen : 0, rest);
    }
    return smp_fail(ld->err, SMP_E_FORMAT, "%s: %.*s", ld->name, (int)len, m);
}

/* LittleCMS follows ".INCLUDE \"file\"" directives and opens that file
 * itself: a palette must not make the library read other files (or hang on
 * a device), so such palettes are refused before parsing. Returns the line
 * of the directive, or 0. */
static size_t cgats_include_line(const char *data, size_t size)
{
    static const char key[] = ".include";
    size_t line = 1;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n')
            line++;
        if ((i == 0 || isspace((unsigned char)data[i - 1])) && size - i >= sizeof key - 1 &&
            strncasecmp(data + i, key, sizeof key - 1) == 0)
            return line;
    }
    return 0;
}

static int cgats_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int cgats_eol(char c)
{
    return c == '\n' || c == '\r';
}

/* The text line (1-based) of data value number `k` (0-based, counted across
 * samples: sample r, field f is r * NUMBER_OF_FIELDS + f) of the first
 * BEGIN_DATA ... END_DATA table, or 0 when there is no such value.
 *
 * LittleCMS reads the data section as a stream of values, not of lines
 * (cmscgats.c DataSection): line ends only separate values, so a sample
 * may span lines or share one. Values are counted as it splits them: runs
 * of characters between blanks, tabs and line ends; a quoted string ('...'
 * or "...", ending at its quote or the line end) is one value; '#' starts a
 * comment to the end of the line. Line ends are LF, CRLF or a lone CR. The
 * text holds no NUL (checked on entry). */
static size_t cgats_value_line(const char *t, size_t size, size_t k)
{
    size_t line = 1, i = 0, seen = 0;
    int in_data = 0;
    while (i < size) {
        char c = t[i];
        if (cgats_eol(c)) {
            i += c == '\r' && i + 1 < size && t[i + 1] == '\n' ? 2 : 1;
            line++;
            continue;
        }
        if (cgats_blank(c)) {
            i++;
            continue;
        }
        if (c == '#') {
            while (i < size && !cgats_eol(t[i]))
                i++;
            continue;
        }
        size_t start = i++;
        if (c == '"' || c == '\'') {
            while (i < size && t[i] != c && !cgats_eol(t[i]))
                i++;
            if (i < size && t[i] == c)
                i++;
        } else {
            while (i < size && !cgats_blank(t[i]) && !cgats_eol(t[i]) && t[i] != '#' &&
                   t[i] != '"' && t[i] != '\'')
                i++;
        }
        size_t len = i - start;
        if (!in_data) {
            in_data = len == 10 && strncasecmp(t + start, "BEGIN_DATA", 10) == 0;
            continue;
        }
        if (len == 8 && strncasecmp(t + start, "END_DATA", 8) == 0)
            return 0;
        if (seen++ == k)
            return line;
    }
    return 0;
}

/* "line 12 (sample 2)" for field `col` of sample `row` (both 0-based), or
 * "sample 2" when the line cannot be found. */
static void cgats_where(const loader *ld, int row, int col, char *where, size_t n)
{
    size_t line = 0;
    if (ld->nfields > 0 && row >= 0 && col >= 0)
        line = cgats_value_line(ld->text, ld->text_size,
                                (size_t)row * (size_t)ld->nfields + (size_t)col);
    if (line)
        snprintf(where, n, "line %zu (sample %d)", line, row + 1);
    else
        snprintf(where, n, "sample %d", row + 1);
}

/* A field of sample `row` as a strict number in [lo, hi]. */
static smp_status cgats_number(loader *ld, cmsHANDLE it8, int row, int col, const char *field,
                               double lo, double hi, double *out)
{
    char where[64];
    cgats_where(ld, row, col, where, sizeof where);
    const char *text = cmsIT8GetDataRowCol(it8, row, col);
    if (!text || !*text)
        return smp_fail(ld->err, SMP_E_FORMAT, "%s: %s: %s is empty", ld->name, where, field);
    if (parse_number(text, out) != 0)
        return smp_fail(ld->err, SMP_E_FORMAT, "%s: %s: %s is not a number (\"%.40s\")", ld->name,
                        where, field, text);
    if (*out < lo || *out > hi)
        return smp_fail(ld->err, SMP_E_FORMAT, "%s: %s: %s is out of range (%g..%g): %g", ld->name,
                        where, field, lo, hi, *out);
    return SMP_OK;
}

static smp_status cgats_sample(loader *ld, cmsHANDLE it8, int row, const int id_col, const int name_col,
                               const int lab[3], const int rgb[3], const char *notes)
{
    static const char *const lab_f[3] = {"LAB_L", "LAB_A", "LAB_B"};
    static const char *const rgb_f[3] = {"RGB_R", "RGB_G", "RGB_B"};
    char where[64];
    cgats_where(ld, row, 0, where, sizeof where);
    smp_shade s;
    memset(&s, 0, sizeof s);
    s.veil = s.blue_shift = NAN; /* the options' */
    s.line = row + 1;
    smp_status st;
    if (lab[0] >= 0) {
        for (int i = 0; i < 3; i++)
            if ((st = cgats_number(ld, it8, row, lab[i], lab_f[i], lab_min[i], lab_max[i],
                                   &s.lab[i])) != SMP_OK)
                return st;
    } else {
        /* RGB is taken as 8-bit sRGB, 0..255 (docs/palette.md). */
        double v[3];
        for (int i = 0; i < 3; i++) {
            if ((st = cgats_number(ld, it8, row, rgb[i], rgb_f[i], 0.0, 255.0, &v[i])) != SMP_OK)
                return st;
            v[i] /= 255.0;
        }
        if ((st = srgb_to_lab(ld, v, s.lab)) != SMP_OK)
            return st;
    }
    const char *id = id_col >= 0 ? cmsIT8GetDataRowCol(it8, row, id_col) : NULL;
    const char *name = name_col >= 0 ? cmsIT8GetDataRowCol(it8, row, name_col) : NULL;
    if (!id)
        id = "";
    if (!name || !*name)
        name = id;
    if (!*name)
        return smp_fail(ld->err, SMP_E_FORMAT, "%s: %s: no SAMPLE_NAME or SAMPLE_ID", ld->name, where);
    const char *str[STR_COUNT] = {name, id, "", notes, "", ld->name};
    return add_shade(ld, where, &s, str);
}

/* LittleCMS sizes its table of values from the header's NUMBER_OF_FIELDS
 * and NUMBER_OF_SETS and allocates it, zeroed, before reading one value
 * (cmscgats.c AllocateDataSet: a pointer per value): measured with
 * LittleCMS 2.14, a 40 kB file claiming 7000 fields x 9000 sets made it
 * take 495 MB. So both counts are read here first, from the lines that
 * start with them (LittleCMS takes the value as a whole number; any other
 * spelling is refused here), and the claim is refused when the file could
 * not hold that many values: each needs a character and a separator. */
/* Does the line [a, end) start with the keyword `key` (then a blank or its
 * end)? */
static int cgats_keyword(const char *t, size_t a, size_t end, const char *key)
{
    size_t kl = strlen(key);
    return end - a >= kl && strncasecmp(t + a, key, kl) == 0 && (end - a == kl || cgats_blank(t[a + kl]));
}

/* A table (up to END_DATA) that gives NUMBER_OF_FIELDS or its
 * BEGIN_DATA_FORMAT twice is refused: LittleCMS 2.14 keeps the first
 * format's room and then reads as many names as the second count says,
 * past its end (found by tests/fuzz, regressions/palette_cgats). `seen`
 * holds the line of the first of each in the table, 0 when none. */
static smp_status cgats_repeat(loader *ld, const char *t, size_t a, size_t end, size_t line,
                               size_t seen[2])
{
    static const char *const once[2] = {"NUMBER_OF_FIELDS", "BEGIN_DATA_FORMAT"};
    if (cgats_keyword(t, a, end, "END_DATA")) {
        seen[0] = seen[1] = 0;
        return SMP_OK;
    }
    for (int k = 0; k < 2; k++) {
        if (!cgats_keyword(t, a, end, once[k]))
            continue;
        if (seen[k])
            return smp_fail(ld->err, SMP_E_FORMAT,
                            "%s: line %zu: %s is given a second time (first on line %zu)", ld->name,
                            line, once[k], seen[k]);
        seen[k] = line;
    }
    return SMP_OK;
}

static smp_status cgats_counts(loader *ld, const char *t, size_t size)
{
    static const char *const key[2] = {"NUMBER_OF_FIELDS", "NUMBER_OF_SETS"};
    unsigned long long most[2] = {0, 0}, sets_total = 0;
    size_t line = 1, seen[2] = {0, 0};
    for (size_t i = 0; i < size; line++) {
        size_t end = i;
        while (end < size && !cgats_eol(t[end]))
            end++;
        size_t a = i;
        while (a < end && cgats_blank(t[a]))
            a++;
        smp_status twice = cgats_repeat(ld, t, a, end, line, seen);
        if (twice != SMP_OK)
            return twice;
        for (int k = 0; k < 2; k++) {
            size_t kl = strlen(key[k]);
            if (end - a <= kl || strncasecmp(t + a, key[k], kl) != 0 || !cgats_blank(t[a + kl]))
                continue;
            size_t v = a + kl;
            while (v < end && cgats_blank(t[v]))
                v++;
            int quoted = v < end && (t[v] == '"' || t[v] == '\'');
            v += (size_t)quoted;
            unsigned long long n = 0;
            size_t digits = 0;
            for (; v < end && isdigit((unsigned char)t[v]); v++, digits++)
                if (n < 1000000000ULL)
                    n = n * 10 + (unsigned long long)(t[v] - '0');
            v += (size_t)(quoted && v < end && (t[v] == '"' || t[v] == '\''));
            while (v < end && cgats_blank(t[v]))
                v++;
            if (!digits || (v < end && t[v] != '#'))
                return smp_fail(ld->err, SMP_E_FORMAT, "%s: line %zu: %s is not a whole number",
                                ld->name, line, key[k]);
            if (n > most[k])
                most[k] = n;
            if (k == 1)
                sets_total += n;
            if (k == 1 && n > SMP_PALETTE_MAX_ENTRIES)
                return smp_fail(ld->err, SMP_E_LIMIT,
                                "%s: line %zu: %llu samples, more than the %d a palette may hold",
                                ld->name, line, n, SMP_PALETTE_MAX_ENTRIES);
        }
        i = end;
        if (i < size)
            i += t[i] == '\r' && i + 1 < size && t[i + 1] == '\n' ? 2 : 1;
    }
    /* LittleCMS refuses more than 0x7ffe fields itself; clamped so that the
     * product (sets_total < 10^4 x 2^24 lines) stays far inside 64 bits. */
    unsigned long long values = (most[0] < 0x8000 ? most[0] : 0x8000) * sets_total;
    if (values > size / 2) {
        char h[32];
        return smp_fail(ld->err, SMP_E_FORMAT,
                        "%s: the header promises %llu values (NUMBER_OF_FIELDS %llu x "
                        "NUMBER_OF_SETS), more than a file of %s can hold", ld->name, values,
                        most[0], smp_human_size(size, h));
    }
    return SMP_OK;
}

static smp_status load_cgats(loader *ld, const char *data, size_t size)
{
    size_t inc = cgats_include_line(data, size);
    if (inc)
        return smp_fail(ld->err, SMP_E_UNSUPPORTED,
                        "%s: line %zu: .INCLUDE of other files is not supported (paste their "
                        "contents in instead)", ld->name, inc);
    smp_status counted = cgats_counts(ld, data, size);
    if (counted != SMP_OK)
        return counted;
    if (loader_context(ld) != 0)
        return smp_fail(ld->err, SMP_E_NOMEM, "%s: out of memory", ld->name);
    cmsHANDLE it8 = cmsIT8LoadFromMem(ld->ctx, data, (cmsUInt32Number)size);
    if (!it8)
        return cgats_error(ld);
    smp_status st = SMP_OK;
    ld->text = data;
    ld->text_size = size;
    ld->nfields = cmsIT8EnumDataFormat(it8, NULL);
    int id_col = cmsIT8FindDataFormat(it8, "SAMPLE_ID");
    int name_col = cmsIT8FindDataFormat(it8, "SAMPLE_NAME");
    int lab[3] = {cmsIT8FindDataFormat(it8, "LAB_L"), cmsIT8FindDataFormat(it8, "LAB_A"),
                  cmsIT8FindDataFormat(it8, "LAB_B")};
    int rgb[3] = {cmsIT8FindDataFormat(it8, "RGB_R"), cmsIT8FindDataFormat(it8, "RGB_G"),
                  cmsIT8FindDataFormat(it8, "RGB_B")};
    if (lab[0] < 0 || lab[1] < 0 || lab[2] < 0)
        lab[0] = -1;
    if (lab[0] < 0 && (rgb[0] < 0 || rgb[1] < 0 || rgb[2] < 0)) {
        st = smp_fail(ld->err, SMP_E_FORMAT,
                      "%s: needs LAB_L, LAB_A, LAB_B or RGB_R, RGB_G, RGB_B in its data format", ld->name);
        goto done;
    }
    if (id_col < 0 && name_col < 0) {
        st = smp_fail(ld->err, SMP_E_FORMAT, "%s: needs SAMPLE_ID or SAMPLE_NAME in its data format",
                      ld->name);
        goto done;
    }
    double sets = cmsIT8GetPropertyDbl(it8, "NUMBER_OF_SETS");
    if (!(sets >= 1)) {
        st = smp_fail(ld->err, SMP_E_FORMAT, "%s: no shades in the file", ld->name);
        goto done;
    }
    if (sets > SMP_PALETTE_MAX_ENTRIES) {
        st = smp_fail(ld->err, SMP_E_LIMIT, "%s: %.0f samples, more than the %d a palette may hold",
                      ld->name, sets, SMP_PALETTE_MAX_ENTRIES);
        goto done;
    }
    /* The file's DESCRIPTOR, when it has one, says where the values came from. */
    const char *notes = cmsIT8GetProperty(it8, "DESCRIPTOR");
    for (int row = 0; row < (int)sets && st == SMP_OK; row++)
        st = cgats_sample(ld, it8, row, id_col, name_col, lab, rgb, notes ? notes : "");
    if (st == SMP_OK)
        palette_check(ld);
done:
    cmsIT8Free(it8);
    return st;
}

/* First line, trimmed; see the top of the file for the rule. */
static int looks_like_cgats(const char *data, size_t size)
{
    size_t n = 0;
    while (n < size && !is_eol(data[n]))
        n++;
    size_t a = 0;
    while (a < n && (data[a] == ' ' || data[a] == '\t'))
        a++;
    if (a == n || data[a] == '#' || memchr(data + a, ',', n - a))
        return 0;
    if ((n - a >= 5 && strncasecmp(data + a, "CGATS", 5) == 0) ||
        (n - a >= 3 && strncasecmp(data + a, "IT8", 3) == 0))
        return 1;
    int words = 0, in_word = 0;
    for (size_t i = a; i < n; i++) {
        int sp = data[i] == ' ' || data[i] == '\t';
        if (!sp && !in_word)
            words++;
        in_word = !sp;
    }
    if (words > 2)
        return 0;
    static const char key[] = "BEGIN_DATA_FORMAT";
    for (size_t i = n; i + sizeof key - 1 <= size; i++) {
        if (!is_eol(data[i - 1])) /* i >= n >= 1 */
            continue;
        size_t j = i;
        while (j < size && (data[j] == ' ' || data[j] == '\t'))
            j++;
        if (size - j >= sizeof key - 1 && memcmp(data + j, key, sizeof key - 1) == 0)
            return 1;
    }
    return 0;
}

static int is_blank_text(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)p[i]))
            return 0;
    return 1;
}

/* smp_palette_load_memory; `trusted`: the built-in palette, whose colour
 * checks (an sRGB profile and a ΔE00 a shade, 0.1-0.15 ms of a lone
 * photo's start, mostly LittleCMS's code read in for the first time) find
 * nothing: test_palette loads the same text from palettes/default.csv
 * with them, and asserts no warning. */
static smp_status load_memory(const char *name, const void *data, size_t size, smp_palette **out,
                              smp_error *err, int trusted)
{
    if (!name)
        name = "palette";
    if (!out || (!data && size))
        return smp_fail(err, SMP_E_ARG, "%s: no palette data given", name);
    if (size > SMP_PALETTE_MAX_BYTES) {
        char h1[32], h2[32];
        return smp_fail(err, SMP_E_LIMIT, "%s: the palette is %s, over the %s limit", name,
                        smp_human_size(size, h1), smp_human_size(SMP_PALETTE_MAX_BYTES, h2));
    }
    const char *text = data ? data : "";
    /* The UTF-8 byte order mark spreadsheet programs put in front. */
    if (size >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        text += 3, size -= 3;
    if (is_blank_text(text, size))
        return smp_fail(err, SMP_E_FORMAT, "%s: the file is empty", name);
    const char *nul = memchr(text, '\0', size);
    if (nul) {
        size_t line = 1;
        for (const char *q = text; q < nul; q++)
            line += *q == '\n';
        return smp_fail(err, SMP_E_FORMAT, "%s: line %zu: not a text file (it holds a NUL byte)",
                        name, line);
    }

    loader ld;
    memset(&ld, 0, sizeof ld);
    ld.name = name;
    ld.err = err;
    ld.trusted = trusted;
    ld.pal = palette_new();
    if (!ld.pal)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory", name);
    smp_status st = looks_like_cgats(text, size) ? load_cgats(&ld, text, size)
                                                 : load_csv(&ld, text, size);
    loader_done(&ld);
    if (st != SMP_OK) {
        smp_palette_free(ld.pal);
        return st;
    }
    *out = ld.pal;
    return SMP_OK;
}

smp_status smp_palette_load_memory(const char *name, const void *data, size_t size,
                                   smp_palette **out, smp_error *err)
{
    return load_memory(name, data, size, out, err, 0);
}

smp_status smp_palette_load(const char *path, smp_palette **out, smp_error *err)
{
    if (!path || !out)
        return smp_fail(err, SMP_E_ARG, "palette: no file given");
    unsigned char *data;
    size_t size;
    smp_status st = smp_read_file(path, SMP_PALETTE_MAX_BYTES, &data, &size, err);
    if (st != SMP_OK)
        return st;
    st = smp_palette_load_memory(path, data, size, out, err);
    free(data);
    return st;
}

smp_status smp_palette_new_default(smp_palette **out, smp_error *err)
{
    return load_memory("built-in", smp_default_palette_csv, smp_default_palette_csv_size, out, err, 1);
}
