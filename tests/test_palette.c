/*
 * test_palette.c: palette loading (src/palette.c) and the default palette.
 *
 * Expected colours come from outside the code under test: refdata rows
 * (colorjs.io) copied into tests/data/palette_srgb_refdata.csv, the CIE
 * L* formula for greys, and the Kubelka-Munk relation docs/palette.md
 * states for the default ladder, recomputed here without LittleCMS.
 */
#include "testutil.h"
#include "smpmatch.h"
#include "palette.h"

#include <lcms2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static smp_palette *load_ok(const char *name, const char *text)
{
    smp_palette *p = NULL;
    smp_error err;
    memset(&err, 0, sizeof err);
    smp_status st = smp_palette_load_memory(name, text, strlen(text), &p, &err);
    if (st != SMP_OK)
        fail_msg("%s: expected to load, got %d: %s", name, (int)st, err.message);
    assert_non_null(p);
    return p;
}

/* Loads text expecting failure with `status`; the message must contain
 * each of the NULL-terminated fragments, and be one line. */
static void expect_fail(const char *name, const char *text, size_t size, smp_status status, ...)
{
    smp_palette *p = (smp_palette *)0x1; /* must stay untouched on failure */
    smp_error err;
    memset(&err, 0, sizeof err);
    smp_status st = smp_palette_load_memory(name, text, size, &p, &err);
    if (st != status)
        fail_msg("%s: expected status %d, got %d (%s)", name, (int)status, (int)st, err.message);
    assert_int_equal(err.status, status);
    assert_ptr_equal(p, (smp_palette *)0x1);
    assert_null(strchr(err.message, '\n'));
    va_list ap;
    va_start(ap, status);
    for (const char *frag; (frag = va_arg(ap, const char *)) != NULL;)
        if (!strstr(err.message, frag))
            fail_msg("%s: message \"%s\" lacks \"%s\"", name, err.message, frag);
    va_end(ap);
}

#define FAIL(text, status, ...) expect_fail("mypal.csv", text, strlen(text), status, __VA_ARGS__, NULL)

/* CIE 1976 L* of a relative luminance Y (white Y = 1), and back. */
static double lstar_of_y(double y)
{
    return y > 216.0 / 24389.0 ? 116.0 * cbrt(y) - 16.0 : y * 24389.0 / 27.0;
}

static double y_of_lstar(double l)
{
    double f = (l + 16.0) / 116.0;
    return l > 8.0 ? f * f * f : l * 27.0 / 24389.0;
}

static double de00(const double x[3], const double y[3])
{
    cmsCIELab a = {x[0], x[1], x[2]}, b = {y[0], y[1], y[2]};
    return cmsCIE2000DeltaE(&a, &b, 1, 1, 1);
}

/* ---- the built-in palette ---- */

static const smp_shade *find(const smp_palette *p, const char *name)
{
    for (size_t i = 0; i < smp_palette_size(p); i++)
        if (strcmp(smp_palette_get(p, i)->name, name) == 0)
            return smp_palette_get(p, i);
    return NULL;
}

static void test_default_loads(void **state)
{
    (void)state;
    smp_palette *p = NULL;
    smp_error err;
    assert_int_equal(smp_palette_new_default(&p, &err), SMP_OK);
    assert_true(smp_palette_size(p) >= 15);
    for (size_t i = 0; i < smp_palette_size(p); i++) {
        const smp_shade *s = smp_palette_get(p, i);
        assert_non_null(strstr(s->notes, "modelled"));
        assert_string_equal(s->palette, "built-in");
        assert_non_null(s->code);
        assert_non_null(s->brand);
        assert_true(s->line > 0);
    }
    /* The file in palettes/ is the one compiled in, and passes every check
     * of a loaded palette (the built-in one is not checked again). */
    smp_palette *f = NULL;
    assert_int_equal(smp_palette_load(SMP_SOURCE_DIR "/palettes/default.csv", &f, &err), SMP_OK);
    assert_int_equal(smp_palette_warning_count(f), 0);
    assert_int_equal(smp_palette_warning_count(p), 0);
    assert_int_equal(smp_palette_size(f), smp_palette_size(p));
    for (size_t i = 0; i < smp_palette_size(p); i++) {
        assert_string_equal(smp_palette_get(f, i)->name, smp_palette_get(p, i)->name);
        assert_true(de00(smp_palette_get(f, i)->lab, smp_palette_get(p, i)->lab) == 0.0);
    }
    smp_palette_free(f);
    smp_palette_free(p);
}

/* The carbon ladder: technicians' dilutions (water : pigment), lighter as
 * they are thinned, from black-hair L* (15-25) to light grey/blond (>= 60). */
static void test_default_ladder(void **state)
{
    (void)state;
    static const double want[] = {0, 1, 3, 6, 12, 18, 20};
    smp_palette *p = NULL;
    assert_int_equal(smp_palette_new_default(&p, NULL), SMP_OK);
    const smp_shade *neat = find(p, "Carbon black");
    assert_non_null(neat);
    assert_string_equal(neat->base, "");
    assert_true(neat->dilution == 0.0);
    assert_true(neat->lab[0] >= 15.0 && neat->lab[0] <= 25.0);

    const smp_shade *ladder[7];
    size_t n = 0;
    for (size_t i = 0; i < smp_palette_size(p); i++) {
        const smp_shade *s = smp_palette_get(p, i);
        if (s == neat || strcmp(s->base, "Carbon black") == 0) {
            assert_true(n < 7);
            ladder[n++] = s;
        }
    }
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++) {
        assert_true(ladder[i]->dilution == want[i]);
        assert_int_equal(ladder[i]->kind, SMP_KIND_PIGMENT);
        if (i > 0)
            assert_true(ladder[i]->lab[0] > ladder[i - 1]->lab[0]);
    }
    assert_true(ladder[6]->lab[0] >= 60.0 && ladder[6]->lab[0] <= 75.0);

    /* The stated model, recomputed on luminance alone (the carbon and the
     * white are neutral, so every channel is Y): K/S additivity with
     * c = 1/(1 + water) and a white of L* 95 (docs/palette.md). Tolerance:
     * the file rounds L* to 2 decimals. */
    double ks_w, ks_p, yw = y_of_lstar(95.0), yp = y_of_lstar(neat->lab[0]);
    ks_w = (1 - yw) * (1 - yw) / (2 * yw);
    ks_p = (1 - yp) * (1 - yp) / (2 * yp);
    for (size_t i = 0; i < n; i++) {
        double c = 1.0 / (1.0 + want[i]), ks = c * ks_p + (1 - c) * ks_w;
        double y = 1 + ks - sqrt(ks * ks + 2 * ks);
        assert_true(fabs(lstar_of_y(y) - ladder[i]->lab[0]) < 0.011);
        assert_true(fabs(ladder[i]->lab[1]) < 0.011 && fabs(ladder[i]->lab[2]) < 0.011);
    }

    /* Warm leans to +a*,+b*, cool to -b*, at every step. */
    size_t warm = 0, cool = 0;
    for (size_t i = 0; i < smp_palette_size(p); i++) {
        const smp_shade *s = smp_palette_get(p, i);
        if (strncmp(s->name, "Warm carbon", 11) == 0) {
            assert_true(s->lab[1] > 0 && s->lab[2] > 0);
            warm++;
        }
        if (strncmp(s->name, "Cool carbon", 11) == 0) {
            assert_true(s->lab[2] < 0);
            cool++;
        }
    }
    assert_true(warm >= 3 && cool >= 3);
    smp_palette_free(p);
}

/* ---- CSV ---- */

static void test_csv_lab_and_fields(void **state)
{
    (void)state;
    smp_palette *p = NULL;
    smp_error err;
    assert_int_equal(smp_palette_load(SMP_TEST_DATA "/palette_example.csv", &p, &err), SMP_OK);
    assert_int_equal(smp_palette_size(p), 4);
    const smp_shade *s = smp_palette_get(p, 0);
    assert_string_equal(s->name, "Clinic black");
    assert_string_equal(s->code, "K0");
    assert_string_equal(s->brand, "MyBrand");
    assert_string_equal(s->base, "");
    assert_string_equal(s->palette, SMP_TEST_DATA "/palette_example.csv");
    assert_string_equal(s->notes, "measured: healed swatch, forearm, 2024-03");
    assert_int_equal(s->kind, SMP_KIND_PIGMENT);
    assert_true(s->lab[0] == 21.5 && s->lab[1] == 0.3 && s->lab[2] == -0.8);
    assert_int_equal(s->line, 4);
    s = smp_palette_get(p, 1);
    assert_string_equal(s->base, "Clinic black");
    assert_true(s->dilution == 3.0); /* written "3:1" */
    assert_true(s->lab[0] == 38.25);
    assert_int_equal(s->line, 5);
    s = smp_palette_get(p, 2); /* hex: lab columns empty */
    assert_true(s->lab[0] > 30 && s->lab[0] < 45);
    assert_true(s->dilution == 0.0);
    s = smp_palette_get(p, 3);
    assert_int_equal(s->kind, SMP_KIND_DILUENT);
    assert_true(fabs(s->lab[0] - 100.0) < 0.01);
    smp_palette_free(p);
}

/* Hex through the ICC sRGB profile against colorjs.io's values. Measured
 * on all 2,000 rows of refdata/srgb_to_lab.csv: at most 0.0036 ΔE00 and
 * 0.0094 in any of L*, a*, b* between LittleCMS (ICC D50) and colorjs.io
 * (D50 from chromaticity, Bradford); 0.01 ΔE00 leaves room for libm. */
static void test_csv_hex_refdata(void **state)
{
    (void)state;
    const char *path = SMP_TEST_DATA "/palette_srgb_refdata.csv";
    smp_palette *p = NULL;
    smp_error err;
    assert_int_equal(smp_palette_load(path, &p, &err), SMP_OK);
    char *text = tu_read_file(path, NULL);
    size_t rows = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char name[64], hex[16];
        int r, g, b;
        double lab[3];
        if (line[0] == '#' || sscanf(line, "%63[^,],%15[^,],%d,%d,%d,%lf,%lf,%lf", name, hex, &r, &g,
                                     &b, &lab[0], &lab[1], &lab[2]) != 8)
            continue;
        const smp_shade *s = find(p, name);
        assert_non_null(s);
        double d = de00(s->lab, lab);
        if (d > 0.01)
            fail_msg("%s (%s): got %.4f %.4f %.4f, colorjs %.4f %.4f %.4f, dE00 %.4f", name, hex,
                     s->lab[0], s->lab[1], s->lab[2], lab[0], lab[1], lab[2], d);
        rows++;
    }
    assert_int_equal(rows, smp_palette_size(p));
    assert_true(rows >= 8);
    free(text);
    smp_palette_free(p);

    /* #808080: a grey's L* depends only on Y (no white-point question):
     * sRGB decoding (IEC 61966-2-1) then CIE L*, = 53.585. */
    p = load_ok("grey.csv", "name,hex\nmid grey,#808080\n");
    double y = pow((128.0 / 255.0 + 0.055) / 1.055, 2.4);
    const smp_shade *s = smp_palette_get(p, 0);
    assert_true(fabs(s->lab[0] - lstar_of_y(y)) < 0.01);
    assert_true(fabs(s->lab[1]) < 0.01 && fabs(s->lab[2]) < 0.01);
    smp_palette_free(p);
}

static void test_csv_quoting(void **state)
{
    (void)state;
    smp_palette *p = load_ok("q.csv",
                             "name,L,a,b,notes\n"
                             "\"Black, \"\"jet\"\"\",20,0,0,\"two\nlines, and\r\na CRLF\"\n"
                             "\"#not a comment\nstill the name\",30,1,2,\n"
                             "plain,40,0,0,\"\"\n");
    assert_int_equal(smp_palette_size(p), 3);
    assert_string_equal(smp_palette_get(p, 0)->name, "Black, \"jet\"");
    assert_string_equal(smp_palette_get(p, 0)->notes, "two\nlines, and\na CRLF");
    assert_int_equal(smp_palette_get(p, 0)->line, 2);
    assert_string_equal(smp_palette_get(p, 1)->name, "#not a comment\nstill the name");
    assert_int_equal(smp_palette_get(p, 1)->line, 5);
    assert_int_equal(smp_palette_get(p, 2)->line, 7);
    assert_string_equal(smp_palette_get(p, 2)->notes, "");
    smp_palette_free(p);
}

static void test_csv_line_ends_bom_comments(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "name,L,a,b\r\nA,10,0,0\r\n\r\n# comment\r\nB,20,1,-1\r\n",
        "name,L,a,b\rA,10,0,0\r\r# comment\rB,20,1,-1",          /* old Mac CR */
        "\xEF\xBB\xBFname,L,a,b\nA,10,0,0\n\n# comment\nB,20,1,-1", /* BOM, no final newline */
        "# leading comment, with commas\n\n  \nname,L,a,b\nA,10,0,0\n,,,\n#x\nB,20,1,-1\n",
    };
    static const int line_b[] = {5, 5, 5, 8};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        smp_palette *p = load_ok("le.csv", texts[i]);
        assert_int_equal(smp_palette_size(p), 2);
        assert_string_equal(smp_palette_get(p, 0)->name, "A");
        assert_string_equal(smp_palette_get(p, 1)->name, "B");
        assert_true(smp_palette_get(p, 1)->lab[2] == -1.0);
        assert_int_equal(smp_palette_get(p, 1)->line, line_b[i]);
        smp_palette_free(p);
    }
}

static void test_csv_headers(void **state)
{
    (void)state;
    /* Case, spaces, L* spellings, unknown columns, columns in any order,
     * short rows (missing trailing fields read as empty). */
    smp_palette *p = load_ok("h.csv", " Notes ,Extra, B* ,\tNAME\t,a*,L*,Kind,Dilution\n"
                                      "n1,zz, -3.5 ,Shade one,1.25,33,Diluent, 2.5\n"
                                      ",,4,Two,5,60\n");
    assert_int_equal(smp_palette_size(p), 2);
    const smp_shade *s = smp_palette_get(p, 0);
    assert_string_equal(s->name, "Shade one");
    assert_string_equal(s->notes, "n1");
    assert_true(s->lab[0] == 33.0 && s->lab[1] == 1.25 && s->lab[2] == -3.5);
    assert_int_equal(s->kind, SMP_KIND_DILUENT);
    assert_true(s->dilution == 2.5);
    s = smp_palette_get(p, 1);
    assert_int_equal(s->kind, SMP_KIND_PIGMENT);
    assert_string_equal(s->code, "");
    assert_string_equal(s->brand, "");
    smp_palette_free(p);

    /* Numbers: signs, exponents, leading dot are numbers. */
    p = load_ok("n.csv", "name,L,a,b\nx,+5e1,-.5,1E-1\n");
    s = smp_palette_get(p, 0);
    assert_true(s->lab[0] == 50.0 && s->lab[1] == -0.5 && s->lab[2] == 0.1);
    smp_palette_free(p);
}

static void test_csv_errors(void **state)
{
    (void)state;
    FAIL("name,L,a,b\nA,10,0,0\n\nB,abc,0,0\n", SMP_E_FORMAT, "mypal.csv: line 4: L is not a number (\"abc\")");
    FAIL("name,L,a,b\nA,10,0,0\nB,120,0,0\n", SMP_E_FORMAT, "mypal.csv: line 3: L is out of range");
    FAIL("name,L,a,b\nA,10,-200,0\n", SMP_E_FORMAT, "line 2: a is out of range");
    FAIL("name,L,a,b\nA,10,0,127.5\n", SMP_E_FORMAT, "line 2: b is out of range");
    FAIL("name,L,a,b\nA,nan,0,0\n", SMP_E_FORMAT, "line 2: L is not a number");
    FAIL("name,L,a,b\nA,inf,0,0\n", SMP_E_FORMAT, "line 2: L is not a number");
    FAIL("name,L,a,b\nA,0x10,0,0\n", SMP_E_FORMAT, "line 2: L is not a number");
    FAIL("name,L,a,b\nA,1e999,0,0\n", SMP_E_FORMAT, "line 2: L is not a number");
    FAIL("name,L,a,b\nA,12 5,0,0\n", SMP_E_FORMAT, "line 2: L is not a number");
    FAIL("name,L,a,b\nA,\"12,5\",0,0\n", SMP_E_FORMAT, "line 2: L is not a number", "use a dot");
    FAIL("code,L,a,b\nA,10,0,0\n", SMP_E_FORMAT, "mypal.csv: no 'name' column in the header");
    FAIL("name;L;a;b\nA;10;0;0\n", SMP_E_FORMAT, "no 'name' column", "';'");
    FAIL("name,L,a\nA,10,0\n", SMP_E_FORMAT, "mypal.csv: the header needs L, a and b columns or a hex column");
    FAIL("name,L,a,b,hex\nA,10,0,0,\nB,,,,\nC,1,2,3,\n", SMP_E_FORMAT, "mypal.csv: line 3: needs L,a,b or hex");
    FAIL("name,L,a,b\nA,10,,0\n", SMP_E_FORMAT, "line 2: needs L,a,b or hex");
    FAIL("name,L,a,b\nA,10,0,0\n\"B,20,0,0\nC,30,0,0\n", SMP_E_FORMAT, "mypal.csv: line 3: unclosed quote");
    FAIL("", SMP_E_FORMAT, "mypal.csv: the file is empty");
    FAIL(" \r\n\n\t\n", SMP_E_FORMAT, "mypal.csv: the file is empty");
    FAIL("\xEF\xBB\xBF", SMP_E_FORMAT, "mypal.csv: the file is empty");
    FAIL("# only a comment\n\n", SMP_E_FORMAT, "mypal.csv: no header row");
    FAIL("# header only\nname,L,a,b\n\n", SMP_E_FORMAT, "mypal.csv: no shades in the file");
    FAIL("name,L,a,b\n,10,0,0\n", SMP_E_FORMAT, "line 2: the name is empty");
    FAIL("name,hex\nA,#12345\n", SMP_E_FORMAT, "line 2: hex is not a colour");
    FAIL("name,hex\nA,#12345g\n", SMP_E_FORMAT, "line 2: hex is not a colour");
    FAIL("name,L,a,b,kind\nA,10,0,0,ink\n", SMP_E_FORMAT, "line 2: kind must be pigment or diluent");
    FAIL("name,L,a,b,dilution\nA,10,0,0,-1\n", SMP_E_FORMAT, "line 2: dilution is below 0");
    FAIL("name,L,a,b,dilution\nA,10,0,0,3:0\n", SMP_E_FORMAT, "line 2: dilution is not a number");
    FAIL("name,L,a,b,L\nA,10,0,0,1\n", SMP_E_FORMAT, "line 1: the 'L' column appears twice");
    static const char bin[] = "name,L,a,b\nA,1\0,0,0\n";
    expect_fail("bin.csv", bin, sizeof bin - 1, SMP_E_FORMAT, "bin.csv: line 2: not a text file",
                NULL);
}

static void test_csv_limits(void **state)
{
    (void)state;
    /* A line one byte over the limit, on line 3. */
    size_t n = SMP_PALETTE_MAX_LINE + 64;
    char *text = malloc(n);
    assert_non_null(text);
    int k = snprintf(text, n, "name,L,a,b,notes\nA,10,0,0,x\nB,10,0,0,");
    size_t fill = SMP_PALETTE_MAX_LINE + 1 - strlen("B,10,0,0,");
    memset(text + k, 'x', fill);
    text[k + fill] = '\n';
    text[k + fill + 1] = '\0';
    expect_fail("long.csv", text, strlen(text), SMP_E_LIMIT, "long.csv: line 3: longer than 4096 bytes", NULL);
    /* Exactly at the limit is fine. */
    text[k + fill - 1] = '\n';
    text[k + fill] = '\0';
    smp_palette *p = load_ok("long.csv", text);
    assert_int_equal(strlen(smp_palette_get(p, 1)->notes), fill - 1);
    smp_palette_free(p);
    free(text);

    /* An unclosed quote that swallows the rest of a big file. */
    text = malloc(3 * SMP_PALETTE_MAX_LINE);
    assert_non_null(text);
    k = snprintf(text, 64, "name,L,a,b\nA,10,0,0\n\"B,");
    for (size_t i = (size_t)k; i < 3 * SMP_PALETTE_MAX_LINE - 1; i++)
        text[i] = i % 40 == 0 ? '\n' : 'y';
    text[3 * SMP_PALETTE_MAX_LINE - 1] = '\0';
    expect_fail("q.csv", text, strlen(text), SMP_E_FORMAT, "q.csv: line 3: unclosed quote", NULL);
    free(text);

    /* One shade over SMP_PALETTE_MAX_ENTRIES. */
    size_t rows = SMP_PALETTE_MAX_ENTRIES + 1, cap = 32 + rows * 16, len = 0;
    text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text, cap, "name,L,a,b\n");
    for (size_t i = 0; i < rows; i++)
        len += (size_t)snprintf(text + len, cap - len, "s%zu,50,0,0\n", i);
    expect_fail("big.csv", text, len, SMP_E_LIMIT, "big.csv: line 10002: more than 10000 shades", NULL);
    free(text);

    /* Over SMP_PALETTE_MAX_BYTES, refused before reading any of it. */
    char *huge = calloc(SMP_PALETTE_MAX_BYTES + 1, 1);
    assert_non_null(huge);
    expect_fail("huge.csv", huge, SMP_PALETTE_MAX_BYTES + 1, SMP_E_LIMIT, "huge.csv: the palette is", NULL);
    free(huge);
}

static void test_load_file_errors(void **state)
{
    (void)state;
    smp_palette *p = NULL;
    smp_error err;
    assert_int_equal(smp_palette_load("no/such/palette.csv", &p, &err), SMP_E_IO);
    assert_non_null(strstr(err.message, "no/such/palette.csv"));
    assert_null(p);

    const char *path = tu_path("palette_bad.csv");
    const char *text = "name,L,a,b\nA,10,0,0\nB,x7,0,0\n";
    tu_write_file(path, text, strlen(text));
    assert_int_equal(smp_palette_load(path, &p, &err), SMP_E_FORMAT);
    char want[1300];
    snprintf(want, sizeof want, "%s: line 3: L is not a number (\"x7\")", path);
    assert_string_equal(err.message, want);
    assert_null(p);
    /* err may be NULL */
    assert_int_equal(smp_palette_load(path, &p, NULL), SMP_E_FORMAT);
}

/* ---- CGATS ---- */

static void test_cgats_lab(void **state)
{
    (void)state;
    const char *path = SMP_TEST_DATA "/palette_lab.it8";
    smp_palette *p = NULL;
    smp_error err;
    assert_int_equal(smp_palette_load(path, &p, &err), SMP_OK);
    assert_int_equal(smp_palette_size(p), 3);
    const smp_shade *s = smp_palette_get(p, 1);
    assert_string_equal(s->name, "Clinic black 3:1");
    assert_string_equal(s->code, "S2");
    assert_string_equal(s->palette, path);
    assert_int_equal(s->line, 2);
    assert_true(s->lab[0] == 38.25 && s->lab[1] == 0.1 && s->lab[2] == -1.2);
    assert_non_null(strstr(s->notes, "healed swatches"));
    smp_palette_free(p);

    /* With a BOM and CRLF, too. */
    char *text = tu_read_file(path, NULL);
    size_t len = strlen(text), m = 3;
    char *crlf = malloc(2 * len + 4);
    memcpy(crlf, "\xEF\xBB\xBF", 3);
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n')
            crlf[m++] = '\r';
        crlf[m++] = text[i];
    }
    crlf[m] = '\0';
    p = load_ok("crlf.it8", crlf);
    assert_int_equal(smp_palette_size(p), 3);
    smp_palette_free(p);
    free(crlf);
    free(text);

    /* A first line LittleCMS accepts that is neither CGATS nor IT8. */
    p = load_ok("other.txt", "ECI2002\nNUMBER_OF_FIELDS 4\nBEGIN_DATA_FORMAT\nSAMPLE_ID LAB_L LAB_A LAB_B\n"
                             "END_DATA_FORMAT\nNUMBER_OF_SETS 1\nBEGIN_DATA\nX1 20 0 0\nEND_DATA\n");
    assert_string_equal(smp_palette_get(p, 0)->name, "X1");
    smp_palette_free(p);
}

static void test_cgats_rgb(void **state)
{
    (void)state;
    smp_palette *p = NULL;
    smp_error err;
    assert_int_equal(smp_palette_load(SMP_TEST_DATA "/palette_rgb.it8", &p, &err), SMP_OK);
    assert_int_equal(smp_palette_size(p), 3);
    const smp_shade *s = smp_palette_get(p, 0);
    assert_string_equal(s->name, "grey128"); /* no SAMPLE_NAME: the id */
    assert_string_equal(s->code, "grey128");
    assert_true(fabs(s->lab[0] - lstar_of_y(pow((128.0 / 255.0 + 0.055) / 1.055, 2.4))) < 0.01);
    /* refdata/srgb_to_lab.csv lines 223 and 1157 (colorjs.io); tolerance as
     * in test_csv_hex_refdata. */
    static const double olive[3] = {51.185073, 1.958414, 24.360715};
    static const double brown[3] = {35.062758, 20.257879, 24.001499};
    assert_true(de00(smp_palette_get(p, 1)->lab, olive) < 0.01);
    assert_true(de00(smp_palette_get(p, 2)->lab, brown) < 0.01);
    smp_palette_free(p);
}

#define CG_HEAD "CGATS.17\nNUMBER_OF_FIELDS 4\nBEGIN_DATA_FORMAT\nSAMPLE_ID LAB_L LAB_A LAB_B\nEND_DATA_FORMAT\n"

static void test_cgats_errors(void **state)
{
    (void)state;
    smp_palette *p = NULL;
    smp_error err;
    const char *path = SMP_TEST_DATA "/palette_broken.it8";
    assert_int_equal(smp_palette_load(path, &p, &err), SMP_E_FORMAT);
    assert_null(p);
    char want[1300];
    snprintf(want, sizeof want, "%s: line ", path);
    assert_true(strncmp(err.message, want, strlen(want)) == 0); /* names the file and a line */
    assert_non_null(strstr(err.message, "NUMBER_OF_SETS"));

    const char *t = "CGATS.17\nBEGIN_DATA_FORMAT\nSAMPLE_ID LAB_L\n";
    expect_fail("x.it8", t, strlen(t), SMP_E_FORMAT, "x.it8: ", NULL);
    t = CG_HEAD "NUMBER_OF_SETS 2\nBEGIN_DATA\nS1 20 0 0\nS2 abc 0 0\nEND_DATA\n";
    /* CG_HEAD is lines 1-5, so S2 is on line 9. */
    expect_fail("n.it8", t, strlen(t), SMP_E_FORMAT,
                "n.it8: line 9 (sample 2): LAB_L is not a number (\"abc\")", NULL);
    t = CG_HEAD "NUMBER_OF_SETS 1\nBEGIN_DATA\nS1 20 130 0\nEND_DATA\n";
    expect_fail("r.it8", t, strlen(t), SMP_E_FORMAT, "r.it8: line 8 (sample 1): LAB_A is out of range",
                NULL);
    /* LittleCMS reads data as a stream of values: comments, blank lines and
     * a sample split over two lines do not change which sample is which.
     * Lines: 6 NUMBER_OF_SETS, 7 BEGIN_DATA, 8 comment, 9 blank, 10 "S1 ...",
     * 11 "'S # 2' 30" (a quoted name, its '#' not a comment), 12 comment,
     * 13 "0 x" (sample 2's LAB_B is the x). */
    t = CG_HEAD "NUMBER_OF_SETS 2\nBEGIN_DATA\n# measured 2024\n\nS1 20 0 0 # fine\n'S # 2' 30\n"
                "   # wrapped\n0 x\nEND_DATA\n";
    expect_fail("w.it8", t, strlen(t), SMP_E_FORMAT,
                "w.it8: line 13 (sample 2): LAB_B is not a number (\"x\")", NULL);
    /* CR-only and CRLF line ends count as one line each. */
    t = "CGATS.17\r\nNUMBER_OF_FIELDS 4\r\nBEGIN_DATA_FORMAT\rSAMPLE_ID LAB_L LAB_A LAB_B\r"
        "END_DATA_FORMAT\r\nNUMBER_OF_SETS 2\r\nBEGIN_DATA\r\nS1 20 0 0\rS2 20 y 0\r\nEND_DATA\r\n";
    expect_fail("c.it8", t, strlen(t), SMP_E_FORMAT, "c.it8: line 9 (sample 2): LAB_A is not a number",
                NULL);
    t = "CGATS.17\nNUMBER_OF_FIELDS 3\nBEGIN_DATA_FORMAT\nSAMPLE_ID XYZ_X XYZ_Y\nEND_DATA_FORMAT\n"
        "NUMBER_OF_SETS 1\nBEGIN_DATA\nS1 20 0\nEND_DATA\n";
    expect_fail("f.it8", t, strlen(t), SMP_E_FORMAT, "f.it8: needs LAB_L, LAB_A, LAB_B or RGB_R", NULL);
    t = "IT8.7/2\nNUMBER_OF_FIELDS 4\nBEGIN_DATA_FORMAT\nSAMPLE_ID RGB_R RGB_G RGB_B\nEND_DATA_FORMAT\n"
        "NUMBER_OF_SETS 1\nBEGIN_DATA\nS1 300 0 0\nEND_DATA\n";
    expect_fail("g.it8", t, strlen(t), SMP_E_FORMAT,
                "g.it8: line 8 (sample 1): RGB_R is out of range (0..255)", NULL);
    /* LittleCMS would open the included file itself: refused. */
    t = "CGATS.17\n.INCLUDE \"/etc/hostname\"\n" CG_HEAD "NUMBER_OF_SETS 1\nBEGIN_DATA\nS1 20 0 0\nEND_DATA\n";
    expect_fail("i.it8", t, strlen(t), SMP_E_UNSUPPORTED, "i.it8: line 2: .INCLUDE", NULL);
}

/* A CSV whose only column is "name" is still CSV (no BEGIN_DATA_FORMAT). */
static void test_detection(void **state)
{
    (void)state;
    FAIL("name\nA\n", SMP_E_FORMAT, "mypal.csv: the header needs L, a and b columns or a hex column");
    FAIL("CGATS.17\n", SMP_E_FORMAT, "mypal.csv: ");
}

/* ---- model parameters per shade ---- */

static void test_csv_model_params(void **state)
{
    (void)state;
    /* Header names in any case and spelling the docs list. */
    smp_palette *p = load_ok("m.csv", "name,L,a,b,VEIL,Blue_Shift\n"
                                      "A,20,0,0,0.08,0.01\n"
                                      "B,30,0,0,,\n"
                                      "C,40,0,0,0,0\n"
                                      "D,50,0,0,1,0.1\n");
    const smp_shade *s = smp_palette_get(p, 0);
    assert_true(s->veil == 0.08 && s->blue_shift == 0.01);
    s = smp_palette_get(p, 1); /* empty: the options' values */
    assert_true(isnan(s->veil) && isnan(s->blue_shift));
    s = smp_palette_get(p, 2); /* 0 is a value, not "unset" */
    assert_true(s->veil == 0.0 && s->blue_shift == 0.0);
    assert_false(isnan(s->veil));
    s = smp_palette_get(p, 3); /* the ends of the ranges are allowed */
    assert_true(s->veil == 1.0 && s->blue_shift == 0.1);
    for (size_t i = 0; i < smp_palette_size(p); i++)
        assert_int_equal(smp_palette_get(p, i)->derived, 0);
    smp_palette_free(p);

    p = load_ok("m2.csv", "name,L,a,b,blue shift\nA,20,0,0,0.002\n");
    assert_true(smp_palette_get(p, 0)->blue_shift == 0.002);
    assert_true(isnan(smp_palette_get(p, 0)->veil)); /* no column at all */
    smp_palette_free(p);
    p = load_ok("m3.csv", "name,L,a,b,blue-shift\nA,20,0,0,0.003\n");
    assert_true(smp_palette_get(p, 0)->blue_shift == 0.003);
    smp_palette_free(p);

    /* The CLI's ranges (--veil 0..1, --blue-shift 0..0.1). */
    FAIL("name,L,a,b,veil\nA,20,0,0,0.1\nB,20,0,0,1.5\n", SMP_E_FORMAT,
         "mypal.csv: line 3: veil is out of range (0..1): 1.5");
    FAIL("name,L,a,b,veil\nA,20,0,0,-0.01\n", SMP_E_FORMAT, "mypal.csv: line 2: veil is out of range");
    FAIL("name,L,a,b,blue_shift\nA,20,0,0,0.2\n", SMP_E_FORMAT,
         "mypal.csv: line 2: blue_shift is out of range (0..0.1): 0.2");
    FAIL("name,L,a,b,blue_shift\n\nA,20,0,0,-1\n", SMP_E_FORMAT, "line 3: blue_shift is out of range");
    FAIL("name,L,a,b,veil\nA,20,0,0,thin\n", SMP_E_FORMAT,
         "mypal.csv: line 2: veil is not a number (\"thin\")");
    FAIL("name,L,a,b,blue_shift\nA,20,0,0,nan\n", SMP_E_FORMAT, "line 2: blue_shift is not a number");
    FAIL("name,L,a,b,veil\nA,20,0,0,\"0,5\"\n", SMP_E_FORMAT, "line 2: veil is not a number", "use a dot");
    FAIL("name,L,a,b,veil,Veil\nA,20,0,0,1,1\n", SMP_E_FORMAT, "line 1: the 'veil' column appears twice");
    FAIL("name,L,a,b,blue_shift,blue shift\nA,20,0,0,0,0\n", SMP_E_FORMAT,
         "line 1: the 'blue_shift' column appears twice");

    /* CGATS and the built-in palette never set them. */
    smp_error err;
    assert_int_equal(smp_palette_load(SMP_TEST_DATA "/palette_lab.it8", &p, &err), SMP_OK);
    for (size_t i = 0; i < smp_palette_size(p); i++) {
        assert_true(isnan(smp_palette_get(p, i)->veil) && isnan(smp_palette_get(p, i)->blue_shift));
        assert_int_equal(smp_palette_get(p, i)->derived, 0);
    }
    smp_palette_free(p);
    assert_int_equal(smp_palette_new_default(&p, &err), SMP_OK);
    for (size_t i = 0; i < smp_palette_size(p); i++) {
        assert_true(isnan(smp_palette_get(p, i)->veil) && isnan(smp_palette_get(p, i)->blue_shift));
        assert_int_equal(smp_palette_get(p, i)->derived, 0);
    }
    smp_palette_free(p);
}

/* ---- derived rows ---- */

/* Largest per-coordinate difference. */
static double lab_gap(const double x[3], const double y[3])
{
    double g = 0;
    for (int i = 0; i < 3; i++)
        g = fmax(g, fabs(x[i] - y[i]));
    return g;
}

/* The example file: a measured base, a 1:1, 3:1, 6:1 ladder with no
 * colour, water, and a healed swatch (veil 0). */
static void test_derived_ladder(void **state)
{
    (void)state;
    smp_palette *p = NULL;
    smp_error err;
    assert_int_equal(smp_palette_load(SMP_TEST_DATA "/palette_ladder.csv", &p, &err), SMP_OK);
    assert_int_equal(smp_palette_size(p), 6);
    const smp_shade *base = find(p, "Clinic black"), *water = find(p, "Distilled water");
    assert_non_null(base);
    assert_non_null(water);
    assert_int_equal(base->derived, 0);
    assert_int_equal(water->kind, SMP_KIND_DILUENT);
    assert_true(base->blue_shift == 0.006 && isnan(base->veil));

    static const char *const names[] = {"Clinic black 1:1", "Clinic black 3:1", "Clinic black 6:1"};
    static const double parts[] = {1, 3, 6};
    double prev_l = base->lab[0];
    for (int k = 0; k < 3; k++) {
        const smp_shade *s = find(p, names[k]);
        assert_non_null(s);
        assert_int_equal(s->derived, 1);
        assert_true(s->dilution == parts[k]);
        assert_string_equal(s->base, "Clinic black");
        /* The public mixing model, base share 1/(1 + parts water). */
        double want[3];
        assert_int_equal(smp_mix_lab(base->lab, water->lab, 1.0 / (1.0 + parts[k]), want), SMP_OK);
        if (lab_gap(s->lab, want) > 1e-6)
            fail_msg("%s: %.6f %.6f %.6f, smp_mix_lab %.6f %.6f %.6f", s->name, s->lab[0], s->lab[1],
                     s->lab[2], want[0], want[1], want[2]);
        /* Between the pigment and the water, lighter with more water. */
        assert_true(s->lab[0] > prev_l && s->lab[0] < water->lab[0]);
        prev_l = s->lab[0];
        /* The pigment's blue shift carries over; the veil stays the options'. */
        assert_true(s->blue_shift == 0.006);
        assert_true(isnan(s->veil));
    }
    const smp_shade *six = find(p, "Clinic black 6:1");
    assert_string_equal(six->notes,
                        "derived: 1 part Clinic black : 6 parts Distilled water, Kubelka-Munk");
    assert_string_equal(find(p, "Clinic black 1:1")->notes,
                        "derived: 1 part Clinic black : 1 part Distilled water, Kubelka-Munk");
    assert_string_equal(six->code, "K6");
    assert_string_equal(six->palette, SMP_TEST_DATA "/palette_ladder.csv");
    assert_int_equal(six->line, 9);
    const smp_shade *healed = find(p, "Clinic black 3:1 healed");
    assert_true(healed->veil == 0.0);
    assert_int_equal(healed->derived, 0);
    assert_true(healed->lab[0] == 40.2);

    /* The palette keeps what it derived when appended elsewhere. */
    smp_palette *d = NULL;
    assert_int_equal(smp_palette_new_default(&d, &err), SMP_OK);
    size_t nd = smp_palette_size(d);
    assert_int_equal(smp_palette_append(d, p, &err), SMP_OK);
    assert_int_equal(smp_palette_get(d, nd + 3)->derived, 1);
    assert_true(lab_gap(smp_palette_get(d, nd + 3)->lab, six->lab) == 0.0);
    smp_palette_free(d);
    smp_palette_free(p);
}

static void test_derived_order_chain_and_notes(void **state)
{
    (void)state;
    /* The base after its dilution, a hex diluent, a base named in another
     * case, a chain (the 3:1 of the 1:1), notes kept when given, and a
     * row that has a colour and a base (measured: not derived). */
    smp_palette *p = load_ok("o.csv", "name,kind,base,dilution,L,a,b,hex,notes,veil\n"
                                      "Warm 1:1,,WARM BLACK,1,,,,,,\n"
                                      "Warm 1:1 then 3:1,,Warm 1:1,3,,,,,my own words,0.1\n"
                                      "Warm black,pigment,,,22,3,5,,,0.05\n"
                                      "Warm 6:1 measured,,Warm black,6,50,2,6,,,\n"
                                      "Water,diluent,,,,,,#f0f0f0,,\n"
                                      "Other water,diluent,,,96,0,0,,,\n");
    const smp_shade *w11 = smp_palette_get(p, 0), *chain = smp_palette_get(p, 1);
    const smp_shade *base = smp_palette_get(p, 2), *meas = smp_palette_get(p, 3);
    const smp_shade *water = smp_palette_get(p, 4);
    double want[3];
    /* The file's FIRST diluent is the one used. */
    assert_int_equal(smp_mix_lab(base->lab, water->lab, 0.5, want), SMP_OK);
    assert_true(lab_gap(w11->lab, want) < 1e-6);
    assert_true(w11->veil == 0.05); /* inherited from its base */
    /* K/S is linear in concentration, so thinning 1:1 then 3:1 is the base
     * at a share of 1/2 * 1/4: the chain must land there. */
    assert_int_equal(smp_mix_lab(base->lab, water->lab, 0.125, want), SMP_OK);
    assert_true(lab_gap(chain->lab, want) < 1e-4);
    assert_int_equal(chain->derived, 1);
    assert_string_equal(chain->notes, "my own words");
    assert_true(chain->veil == 0.1); /* its own value wins */
    assert_true(chain->lab[0] > w11->lab[0]);
    assert_int_equal(meas->derived, 0);
    assert_true(meas->lab[0] == 50.0);
    assert_true(meas->dilution == 6.0);
    smp_palette_free(p);
}

/* Tinted bases: every channel follows Kubelka-Munk, hue kept close, L*
 * between base and water and rising with the water at fine steps. */
static void test_derived_monotonic(void **state)
{
    (void)state;
    char text[4096];
    int len = snprintf(text, sizeof text, "name,kind,base,dilution,L,a,b\n"
                                          "Brown,,,,30,12,18\nW,diluent,,,95,0,0\n");
    for (int k = 1; k <= 40; k++)
        len += snprintf(text + len, sizeof text - (size_t)len, "B%d,,Brown,%g,,,\n", k, k * 0.5);
    smp_palette *p = load_ok("mono.csv", text);
    assert_int_equal(smp_palette_size(p), 42);
    double prev = smp_palette_get(p, 0)->lab[0];
    for (size_t i = 2; i < 42; i++) {
        const smp_shade *s = smp_palette_get(p, i);
        assert_true(s->lab[0] > prev && s->lab[0] < 95.0);
        assert_true(s->lab[1] > 0 && s->lab[2] > 0); /* still a brown */
        prev = s->lab[0];
    }
    smp_palette_free(p);
}

/* A table that gives its field count or its data format twice is refused
 * before LittleCMS reads it (2.14 reads past the first format's room: the
 * fuzz target found it); a table that gives each once still loads. */
static void test_cgats_repeated_header(void **state)
{
    (void)state;
    const char *twice = "CGATS.17\n"
                        "NUMBER_OF_FIELDS 3\n"
                        "BEGIN_DATA_FORMAT\nSAMPLE_ID LAB_L LAB_A\nEND_DATA_FORMAT\n"
                        "NUMBER_OF_FIELDS 5\n"
                        "BEGIN_DATA_FORMAT\nSAMPLE_ID SAMPLE_NAME LAB_L LAB_A LAB_B\nEND_DATA_FORMAT\n"
                        "NUMBER_OF_SETS 1\nBEGIN_DATA\n1 \"Black\" 20 0 0\nEND_DATA\n";
    expect_fail("twice.it8", twice, strlen(twice), SMP_E_FORMAT,
                "twice.it8: line 6: NUMBER_OF_FIELDS is given a second time (first on line 2)", NULL);
    const char *format_twice = "CGATS.17\n"
                               "NUMBER_OF_FIELDS 5\n"
                               "BEGIN_DATA_FORMAT\nSAMPLE_ID SAMPLE_NAME LAB_L LAB_A LAB_B\nEND_DATA_FORMAT\n"
                               "BEGIN_DATA_FORMAT\nSAMPLE_ID SAMPLE_NAME LAB_L LAB_A LAB_B\nEND_DATA_FORMAT\n"
                               "NUMBER_OF_SETS 1\nBEGIN_DATA\n1 \"Black\" 20 0 0\nEND_DATA\n";
    expect_fail("format.it8", format_twice, strlen(format_twice), SMP_E_FORMAT,
                "format.it8: line 6: BEGIN_DATA_FORMAT is given a second time (first on line 3)", NULL);
    const char *one = "CGATS.17\n"
                      "NUMBER_OF_FIELDS 5\n"
                      "BEGIN_DATA_FORMAT\nSAMPLE_ID SAMPLE_NAME LAB_L LAB_A LAB_B\nEND_DATA_FORMAT\n"
                      "NUMBER_OF_SETS 1\nBEGIN_DATA\n1 \"Black\" 20 0 0\nEND_DATA\n";
    smp_palette *p = load_ok("one.it8", one);
    assert_int_equal(smp_palette_size(p), 1);
    smp_palette_free(p);
}

static void test_derived_errors(void **state)
{
    (void)state;
    FAIL("name,kind,base,dilution,L,a,b\nK,,,,20,0,0\nW,diluent,,,95,0,0\nK 3:1,,Kk,3,,,\n", SMP_E_FORMAT,
         "mypal.csv: line 4: base \"Kk\" is not a shade in this file");
    FAIL("name,kind,base,dilution,L,a,b\nK,,,,20,0,0\n\nK 3:1,,K,3,,,\n", SMP_E_FORMAT,
         "mypal.csv: line 4: ", "needs a row of kind diluent");
    FAIL("name,kind,base,dilution,L,a,b\nK,,,,20,0,0\nW,diluent,,,95,0,0\nK 0,,K,,,,\n", SMP_E_FORMAT,
         "mypal.csv: line 4: needs L,a,b or hex, or a dilution above 0", "\"K\"");
    FAIL("name,kind,base,dilution,L,a,b\nK,,,,20,0,0\nW,diluent,,,95,0,0\nK 0,,K,0:1,,,\n", SMP_E_FORMAT,
         "mypal.csv: line 4: needs L,a,b or hex, or a dilution above 0");
    FAIL("name,kind,base,dilution,L,a,b\nK,,,,20,0,0\nW,diluent,,,95,0,0\nX,,,3,,,\n", SMP_E_FORMAT,
         "mypal.csv: line 4: needs L,a,b or hex, or a base and a dilution");
    FAIL("name,kind,base,dilution,L,a,b\nK,,,,20,0,0\nW,diluent,K,3,,,\n", SMP_E_FORMAT,
         "mypal.csv: line 3: a diluent needs its own colour");
    FAIL("name,kind,base,dilution,L,a,b\nK,,,,20,0,0\nW,diluent,,,95,0,0\nK 3:1,,W,3,,,\n", SMP_E_FORMAT,
         "mypal.csv: line 4: base \"W\" is a diluent");
    FAIL("name,kind,base,dilution,L,a,b,veil\nK,,,,20,0,0,0\nW,diluent,,,95,0,0,\nK 3:1,,K,3,,,,\n",
         SMP_E_FORMAT, "mypal.csv: line 4: base \"K\" is a healed measurement (veil 0)");
    FAIL("name,kind,base,dilution,L,a,b\nW,diluent,,,95,0,0\nA,,A,3,,,\n", SMP_E_FORMAT,
         "mypal.csv: line 3: base \"A\" is this row itself");
    FAIL("name,kind,base,dilution,L,a,b\nW,diluent,,,95,0,0\nA,,B,3,,,\nB,,C,1,,,\nC,,B,1,,,\n",
         SMP_E_FORMAT, "mypal.csv: line ", "go round in a circle");
    /* Still one line when the names are long. */
    char text[3000], name[2001];
    memset(name, 'n', 2000);
    name[2000] = '\0';
    snprintf(text, sizeof text, "name,kind,base,dilution,L,a,b\nW,diluent,,,95,0,0\nX,,%s,2,,,\n", name);
    expect_fail("long.csv", text, strlen(text), SMP_E_FORMAT, "long.csv: line 3: base \"nnn", NULL);
}

/* A chain as long as a palette may be, and as many derived rows: bounded
 * work (no recursion, no quadratic name search) and the chain's end where
 * Kubelka-Munk puts it. */
static void test_derived_limits(void **state)
{
    (void)state;
    size_t rows = SMP_PALETTE_MAX_ENTRIES - 2, cap = 64 + rows * 40, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text, cap, "name,kind,base,dilution,L,a,b\nW,diluent,,,95,0,0\nS0,,,,20,0,0\n");
    for (size_t i = 1; i <= rows; i++) /* each the next's base, listed last first */
        len += (size_t)snprintf(text + len, cap - len, "S%zu,,S%zu,0.0001,,,\n", rows + 1 - i,
                                rows - i);
    smp_palette *p = load_ok("chain.csv", text);
    assert_int_equal(smp_palette_size(p), rows + 2);
    const smp_shade *end = find(p, "S9998");
    assert_non_null(end);
    double want[3];
    assert_int_equal(smp_mix_lab(smp_palette_get(p, 1)->lab, smp_palette_get(p, 0)->lab,
                                 pow(1.0 / 1.0001, (double)rows), want),
                     SMP_OK);
    if (lab_gap(end->lab, want) > 0.05)
        fail_msg("end of chain %.4f %.4f %.4f, want %.4f %.4f %.4f", end->lab[0], end->lab[1],
                 end->lab[2], want[0], want[1], want[2]);
    smp_palette_free(p);
    free(text);
}

/* The built-in palette's diluent and ladder agree with derived rows: a
 * palette that gives only the neat pigments and the water, with every
 * built-in dilution as a row without colour, must give the built-in
 * values (tools/model_palette.c computed them with the same model; the file
 * rounds to 2 decimals). */
static void test_default_diluent_and_derived(void **state)
{
    (void)state;
    smp_palette *p = NULL;
    smp_error err;
    assert_int_equal(smp_palette_new_default(&p, &err), SMP_OK);
    const smp_shade *water = NULL;
    size_t n_diluents = 0;
    for (size_t i = 0; i < smp_palette_size(p); i++)
        if (smp_palette_get(p, i)->kind == SMP_KIND_DILUENT) {
            water = smp_palette_get(p, i);
            n_diluents++;
        }
    assert_int_equal(n_diluents, 1);
    assert_string_equal(water->name, "Distilled water");
    /* The white medium docs/palette.md states: neutral, L* 95. */
    assert_true(water->lab[0] == 95.0 && water->lab[1] == 0.0 && water->lab[2] == 0.0);
    assert_non_null(strstr(water->notes, "never recommended"));

    size_t cap = 16384, len = 0, n_derived = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text, cap, "name,kind,base,dilution,L,a,b\n");
    for (size_t i = 0; i < smp_palette_size(p); i++) {
        const smp_shade *s = smp_palette_get(p, i);
        if (s->base[0]) {
            len += (size_t)snprintf(text + len, cap - len, "\"%s\",,\"%s\",%.17g,,,\n", s->name,
                                    s->base, s->dilution);
            n_derived++;
        } else {
            len += (size_t)snprintf(text + len, cap - len, "\"%s\",%s,,,%.17g,%.17g,%.17g\n", s->name,
                                    s->kind == SMP_KIND_DILUENT ? "diluent" : "pigment", s->lab[0],
                                    s->lab[1], s->lab[2]);
        }
        assert_true(len < cap);
    }
    assert_true(n_derived >= 12);
    smp_palette *q = load_ok("rederived.csv", text);
    assert_int_equal(smp_palette_size(q), smp_palette_size(p));
    for (size_t i = 0; i < smp_palette_size(p); i++) {
        const smp_shade *a = smp_palette_get(p, i), *b = smp_palette_get(q, i);
        assert_string_equal(a->name, b->name);
        assert_int_equal(b->derived, a->base[0] != '\0');
        if (lab_gap(a->lab, b->lab) > 0.0051)
            fail_msg("%s: built-in %.2f %.2f %.2f, derived %.4f %.4f %.4f", a->name, a->lab[0],
                     a->lab[1], a->lab[2], b->lab[0], b->lab[1], b->lab[2]);
    }
    assert_true(lab_gap(find(q, "Carbon black 3:1")->lab, find(p, "Carbon black 3:1")->lab) < 0.01);
    smp_palette_free(q);
    free(text);
    smp_palette_free(p);
}

/* ---- append, access, free ---- */

static void test_append_and_access(void **state)
{
    (void)state;
    smp_palette *a = load_ok("a.csv", "name,code,L,a,b\nA1,c1,10,0,0\nA2,c2,20,0,0\n");
    char *name = strdup("b.csv");
    smp_palette *b = load_ok(name, "name,L,a,b,notes\nB1,30,1,2,note b1\n");
    smp_error err;
    assert_int_equal(smp_palette_append(a, b, &err), SMP_OK);
    smp_palette_free(b); /* the copies must not point into b ... */
    free(name);          /* ... nor at the name it was loaded with */
    assert_int_equal(smp_palette_size(a), 3);
    const smp_shade *s = smp_palette_get(a, 2);
    assert_string_equal(s->name, "B1");
    assert_string_equal(s->notes, "note b1");
    assert_string_equal(s->palette, "b.csv");
    assert_true(s->lab[0] == 30.0 && s->lab[2] == 2.0);
    assert_int_equal(s->line, 2);
    assert_string_equal(smp_palette_get(a, 0)->palette, "a.csv");

    assert_int_equal(smp_palette_append(a, a, &err), SMP_OK); /* onto itself */
    assert_int_equal(smp_palette_size(a), 6);
    assert_string_equal(smp_palette_get(a, 5)->name, "B1");
    assert_string_equal(smp_palette_get(a, 3)->code, "c1");

    smp_palette *d = NULL;
    assert_int_equal(smp_palette_new_default(&d, &err), SMP_OK);
    size_t nd = smp_palette_size(d);
    assert_int_equal(smp_palette_append(d, a, &err), SMP_OK);
    assert_int_equal(smp_palette_size(d), nd + 6);

    assert_null(smp_palette_get(a, 6));
    assert_null(smp_palette_get(a, (size_t)-1));
    assert_null(smp_palette_get(NULL, 0));
    assert_int_equal(smp_palette_size(NULL), 0);
    assert_int_equal(smp_palette_append(NULL, a, &err), SMP_E_ARG);
    smp_palette_free(NULL);
    smp_palette_free(d);
    smp_palette_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_loads),
        cmocka_unit_test(test_default_ladder),
        cmocka_unit_test(test_csv_lab_and_fields),
        cmocka_unit_test(test_csv_hex_refdata),
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test(test_csv_line_ends_bom_comments),
        cmocka_unit_test(test_csv_headers),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_csv_limits),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_cgats_lab),
        cmocka_unit_test(test_cgats_rgb),
        cmocka_unit_test(test_cgats_errors),
        cmocka_unit_test(test_detection),
        cmocka_unit_test(test_append_and_access),
        cmocka_unit_test(test_csv_model_params),
        cmocka_unit_test(test_derived_ladder),
        cmocka_unit_test(test_derived_order_chain_and_notes),
        cmocka_unit_test(test_derived_monotonic),
        cmocka_unit_test(test_derived_errors),
        cmocka_unit_test(test_cgats_repeated_header),
        cmocka_unit_test(test_derived_limits),
        cmocka_unit_test(test_default_diluent_and_derived),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
