/*
 * test_report.c: the consult sheet (src/report.c).
 *
 * Sheets are rendered from a hand-built result and a small Lab image, and
 * from the real pipeline on a sample, then looked at as a person would:
 * the PNG is read back with libpng (tu_read_png), the PDF is rasterised
 * with poppler's pdftoppm, and the pixel at the centre of every swatch box
 * the layout names must be the swatch's Lab converted to sRGB here, with
 * our own LittleCMS transform (D50 Lab v4 -> sRGB, relative colorimetric),
 * within 2 levels. The whole page is compared with a reviewed golden PNG.
 *
 * Regenerate the golden (then LOOK at it) with
 *   SMP_REPORT_UPDATE_GOLDEN=1 ./test_report
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <lcms2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "colour.h"
#include "report.h"
#include "util.h"

/* fontconfig, behind cairo's toy text API, keeps its configuration and
 * font patterns in process-wide caches that live until exit; LeakSanitizer
 * reports them. They are not ours and not per sheet (a second sheet adds
 * nothing), so this test program tells LeakSanitizer to ignore them. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

/* A4 at 2 pixels per point, rounded up: 595.28 x 841.89 pt (ISO 216). */
#define PAGE_PX_W 1191
#define PAGE_PX_H 1684

static char *xdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    assert_non_null(d);
    memcpy(d, s, n);
    return d;
}

/* sRGB of a D50 Lab, worked out here and not by report.c. */
static void expected_rgb(const double lab[3], int out[3])
{
    cmsHPROFILE l = cmsCreateLab4Profile(NULL), s = cmsCreate_sRGBProfile();
    cmsHTRANSFORM xf = cmsCreateTransform(l, TYPE_Lab_DBL, s, TYPE_RGB_8, INTENT_RELATIVE_COLORIMETRIC, 0);
    assert_non_null(xf);
    cmsCIELab in = {lab[0], lab[1], lab[2]};
    unsigned char rgb[3];
    cmsDoTransform(xf, &in, rgb, 1);
    cmsDeleteTransform(xf);
    cmsCloseProfile(l);
    cmsCloseProfile(s);
    for (int c = 0; c < 3; c++)
        out[c] = rgb[c];
}

static void set_match(smp_match *m, int rank, const char *name, const char *code, double L, double a, double b,
                      double heal_dl)
{
    m->rank = rank;
    m->name = xdup(name);
    m->code = xdup(code);
    m->palette = xdup("built-in");
    m->notes = xdup("");
    m->lab[0] = L, m->lab[1] = a, m->lab[2] = b;
    /* healed: lighter and greyer than the bottle, as the model makes it */
    m->healed_lab[0] = L + heal_dl, m->healed_lab[1] = a * 0.6, m->healed_lab[2] = b * 0.6 - 2;
    smp_lab_to_hex(m->lab, m->hex);
    smp_lab_to_hex(m->healed_lab, m->healed_hex);
    m->delta_e = m->delta_e00 = m->bottle_delta_e00 = 1.1 * rank;
    m->verdict = smp_verdict(m->delta_e00);
    m->lighter = 1;
}

/* A finished result: brown hair on light-tan skin, five shades of clearly
 * different colours, a lighter start different from the top shade, a
 * warning and a piece of advice. `long_text` makes every name 200
 * characters and adds 10 long warnings, advice and recipes. */
static smp_result *make_result(int long_text)
{
    smp_result *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->file = xdup("consults/client 12.jpg");
    r->image.width = r->image.analysed_width = 64;
    r->image.height = r->image.analysed_height = 48;
    r->image.format = "jpeg";
    r->image.icc_profile = xdup("sRGB IEC61966-2.1");
    r->image.icc_assumed = 1;
    r->image.orientation = 1;
    r->hair = (smp_colour_stat){1, {28.0, 6.0, 11.0}, "", 1000, 1200, 2.0, SMP_SOURCE_AUTO};
    r->scalp = (smp_colour_stat){1, {64.0, 12.0, 17.0}, "", 900, 1000, 1.5, SMP_SOURCE_ROI};
    smp_lab_to_hex(r->hair.lab, r->hair.hex);
    smp_lab_to_hex(r->scalp.lab, r->scalp.hex);
    r->ita_deg = smp_ita_deg(r->scalp.lab);
    r->ita_category = smp_ita_category(r->ita_deg);
    r->undertone = smp_undertone(r->scalp.lab);
    r->heal.skin_source = "scalp";
    memcpy(r->heal.skin_lab, r->scalp.lab, sizeof r->heal.skin_lab);
    r->heal.veil = SMP_DEFAULT_VEIL;
    r->heal.blue_shift = SMP_DEFAULT_BLUE_SHIFT;
    r->calibration.method = "none";
    r->metric = SMP_METRIC_DE2000;
    r->model = SMP_MODEL_HEALED;
    r->confidence = 0.8;

    char longname[220];
    memset(longname, 'W', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    static const double labs[6][3] = {{30, 8, 14}, {22, 3, 5}, {40, 10, 20}, {15, 0, 0}, {50, 2, 8}, {35, 15, 25}};
    r->n_matches = 6; /* one more than the sheet shows */
    r->matches = calloc(r->n_matches, sizeof *r->matches);
    assert_non_null(r->matches);
    for (size_t i = 0; i < r->n_matches; i++) {
        char name[40], code[32];
        snprintf(name, sizeof name, "Shade %zu", i + 1);
        snprintf(code, sizeof code, "S-%zu", i + 1);
        set_match(&r->matches[i], (int)i + 1, long_text ? longname : name, long_text ? longname : code,
                  labs[i][0], labs[i][1], labs[i][2], 4.0);
    }
    r->has_lighter_start = 1;
    set_match(&r->lighter_start, 3, long_text ? longname : "Shade 3", long_text ? longname : "S-3", labs[2][0],
              labs[2][1], labs[2][2], 4.0);

    size_t n = long_text ? 10 : 1;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(smp_list_add(&r->warnings, &r->n_warnings,
                                      "warning %zu: %s the photo is darker than a consult photo should be, "
                                      "so the hair colour may read darker than it is",
                                      i + 1, long_text ? longname : ""),
                         0);
        assert_int_equal(smp_list_add(&r->guidance, &r->n_guidance,
                                      "advice %zu: start one step lighter; pigment can be added at the next "
                                      "session but not taken away %s",
                                      i + 1, long_text ? longname : ""),
                         0);
    }
    if (long_text) {
        r->n_recipes = 8;
        r->recipes = calloc(r->n_recipes, sizeof *r->recipes);
        assert_non_null(r->recipes);
        for (size_t i = 0; i < r->n_recipes; i++) {
            smp_recipe *m = &r->recipes[i];
            m->a = xdup(longname), m->a_code = xdup("A"), m->b = xdup("Distilled water"), m->b_code = xdup("");
            m->b_diluent = 1, m->parts_a = 1, m->parts_b = 3, m->share_a = 0.25;
            m->lab[0] = 40, m->healed_lab[0] = 44;
            smp_lab_to_hex(m->lab, m->hex);
            smp_lab_to_hex(m->healed_lab, m->healed_hex);
            m->delta_e00 = m->delta_e = 1.0;
            m->verdict = "acceptable";
            size_t tn = strlen(longname) + 64;
            m->text = malloc(tn);
            assert_non_null(m->text);
            snprintf(m->text, tn, "1 part %s : 3 parts Distilled water", longname);
        }
    }
    return r;
}

/* A 64 x 48 Lab image: skin on the right, hair strands on the left. */
static smp_lab_image make_lab(unsigned char **hair, unsigned char **scalp)
{
    int w = 64, h = 48;
    smp_lab_image img = {w, h, malloc((size_t)w * h * 3 * sizeof(float)), calloc((size_t)w * h, 1), NULL, NULL};
    assert_non_null(img.lab);
    *hair = calloc((size_t)w * h, 1);
    *scalp = calloc((size_t)w * h, 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + (size_t)x;
            int is_hair = x < 32 && (x + y) % 5 < 2;
            float *p = img.lab + 3 * i;
            p[0] = is_hair ? 28.0f : 64.0f, p[1] = is_hair ? 6.0f : 12.0f, p[2] = is_hair ? 11.0f : 17.0f;
            (*hair)[i] = (unsigned char)is_hair;
            (*scalp)[i] = x >= 40;
        }
    return img;
}

/* The pixel at the centre of box b (points) on a page rendered at `scale`
 * pixels per point equals the sRGB of lab within `tol` levels. */
static void assert_box(const tu_png *img, double scale, smp_report_box b, const double lab[3], int tol,
                       const char *what)
{
    int x = (int)floor((b.x + b.w / 2) * scale), y = (int)floor((b.y + b.h / 2) * scale);
    assert_true(x >= 0 && y >= 0 && x < img->width && y < img->height);
    const unsigned char *p = img->pixels + ((size_t)y * (size_t)img->width + (size_t)x) * (size_t)img->channels;
    int want[3];
    expected_rgb(lab, want);
    for (int c = 0; c < 3; c++)
        if (abs(p[c] - want[c]) > tol)
            fail_msg("%s at (%d,%d) is %d,%d,%d, wanted %d,%d,%d (±%d)", what, x, y, p[0], p[1], p[2], want[0],
                     want[1], want[2], tol);
}

/* Every swatch of the layout on a rendered page. */
static void assert_swatches(const tu_png *img, double scale, const smp_result *r, int photo_w, int photo_h)
{
    smp_report_layout L;
    smp_report_layout_for(r, photo_w, photo_h, &L);
    assert_int_equal(img->channels, 3);
    assert_box(img, scale, L.hair, r->hair.lab, 2, "hair swatch");
    assert_box(img, scale, L.skin, r->scalp.lab, 2, "skin swatch");
    size_t want = r->n_matches < SMP_REPORT_MAX_SHADES ? r->n_matches : SMP_REPORT_MAX_SHADES;
    assert_int_equal(L.n_shades, want);
    for (size_t i = 0; i < L.n_shades; i++) {
        char what[64];
        snprintf(what, sizeof what, "bottle swatch %zu", i + 1);
        assert_box(img, scale, L.bottle[i], r->matches[i].lab, 2, what);
        snprintf(what, sizeof what, "healed swatch %zu", i + 1);
        assert_box(img, scale, L.healed[i], r->matches[i].healed_lab, 2, what);
    }
    assert_box(img, scale, L.preview_skin_probe, r->heal.skin_lab, 2, "bare skin in the dots preview");
}

/* Where needle first occurs in the n bytes of hay, or NULL. */
static const char *find_bytes(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return hay + i;
    return NULL;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* No hidden file (our temporary names start with a dot) is left in dir. */
static void assert_no_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            fail_msg("temporary file left behind: %s/%s", dir, e->d_name);
    closedir(d);
}

static const char *fresh_dir(const char *name)
{
    const char *dir = tu_path(name);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        fail_msg("cannot create %s", dir);
    return dir;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* ------------------------------------------------------------------ */

static void test_png_swatches(void **state)
{
    (void)state;
    char *path = join(fresh_dir("png"), "sheet.PNG"); /* the extension in any case */
    smp_result *r = make_result(0);
    unsigned char *hair, *scalp;
    smp_lab_image lab = make_lab(&hair, &scalp);
    smp_error err = {0};
    assert_int_equal(smp_report_write(path, r, &lab, hair, scalp, (time_t)1764151200, &err), SMP_OK);

    size_t size;
    char *bytes = tu_read_file(path, &size);
    assert_true(size > 8 && memcmp(bytes, "\x89PNG\r\n\x1a\n", 8) == 0);
    /* the colour chunks come before the pixels (PNG 1.2, 4.2.2.5) */
    const char *idat = find_bytes(bytes, size, "IDAT");
    assert_non_null(idat);
    assert_non_null(find_bytes(bytes, (size_t)(idat - bytes), "sRGB"));
    free(bytes);

    tu_png img = tu_read_png(path);
    assert_int_equal(img.width, PAGE_PX_W);
    assert_int_equal(img.height, PAGE_PX_H);
    assert_swatches(&img, 2.0, r, lab.width, lab.height);
    free(img.pixels);

    /* no masks and no photo: still a sheet, the same swatches */
    assert_int_equal(smp_report_write(path, r, NULL, NULL, NULL, (time_t)1764151200, &err), SMP_OK);
    img = tu_read_png(path);
    assert_swatches(&img, 2.0, r, 0, 0);
    free(img.pixels);

    smp_lab_image_release(&lab);
    free(hair), free(scalp), free(path);
    smp_result_free(r);
}

static int have_pdftoppm(void)
{
    char *out = NULL;
    int rc = tu_run("command -v pdftoppm", &out);
    free(out);
    return rc == 0;
}

/* The PDF says its colours are sRGB: the catalog in force (the last
 * cross-reference section's) lists an OutputIntent whose profile is an
 * ICC stream of 3 components named sRGB, and every offset of that last
 * section points at the object it names (a reader can follow them). */
static void assert_pdf_says_srgb(const char *pdf, size_t n)
{
    const char *sx = NULL;
    for (const char *p = pdf; (p = find_bytes(p, n - (size_t)(p - pdf), "startxref")); p++)
        sx = p;
    assert_non_null(sx);
    size_t xref = (size_t)strtoul(sx + strlen("startxref"), NULL, 10);
    assert_true(xref < n && memcmp(pdf + xref, "xref\n", 5) == 0);
    const char *line = pdf + xref + 5;
    int catalog_ok = 0, intent_ok = 0, objects = 0;
    while (strncmp(line, "trailer", 7) != 0) {
        char *after;
        long first = strtol(line, &after, 10), count = strtol(after, &after, 10);
        line = after + 1;
        for (long i = 0; i < count; i++, line += 20) {
            size_t off = (size_t)strtoul(line, NULL, 10);
            char head[32];
            int hn = snprintf(head, sizeof head, "%ld 0 obj", first + i);
            assert_true(off + (size_t)hn < n);
            assert_memory_equal(pdf + off, head, (size_t)hn);
            const char *body = pdf + off + hn, *end = find_bytes(body, n - (size_t)(body - pdf), "endobj");
            assert_non_null(end);
            size_t bn = (size_t)(end - body);
            if (find_bytes(body, bn, "/Type /Catalog") && find_bytes(body, bn, "/OutputIntents"))
                catalog_ok = 1;
            if (find_bytes(body, bn, "/Type /OutputIntent") && find_bytes(body, bn, "(sRGB IEC61966-2.1)") &&
                find_bytes(body, bn, "/DestOutputProfile"))
                intent_ok = 1;
            objects++;
        }
    }
    assert_int_equal(objects, 3); /* catalog, profile, intent */
    assert_true(catalog_ok);
    assert_true(intent_ok);
    assert_non_null(find_bytes(pdf, n, "/N 3 /Length"));
    assert_non_null(find_bytes(line, n - (size_t)(line - pdf), "/Prev "));
}

static void test_pdf_swatches(void **state)
{
    (void)state;
    const char *dir = fresh_dir("pdf");
    char *path = join(dir, "sheet.pdf");
    smp_result *r = make_result(0);
    unsigned char *hair, *scalp;
    smp_lab_image lab = make_lab(&hair, &scalp);
    smp_error err = {0};
    assert_int_equal(smp_report_write(path, r, &lab, hair, scalp, (time_t)1764151200, &err), SMP_OK);
    size_t size;
    char *bytes = tu_read_file(path, &size);
    assert_true(size > 5 && memcmp(bytes, "%PDF-", 5) == 0);
    assert_pdf_says_srgb(bytes, size);
    free(bytes);

    if (!have_pdftoppm()) {
        printf("SKIP: pdftoppm (poppler-utils) is not installed: the PDF was not rasterised\n");
    } else {
        char cmd[2048], *out = NULL;
        char *stem = join(dir, "page");
        snprintf(cmd, sizeof cmd, "pdftoppm -r 144 -png -singlefile '%s' '%s'", path, stem);
        assert_int_equal(tu_run(cmd, &out), 0);
        free(out);
        char *png = join(dir, "page.png");
        tu_png img = tu_read_png(png);
        /* 595.28 x 841.89 pt at 144/72 = 1190.6 x 1683.8 px: poppler rounds */
        assert_true(abs(img.width - PAGE_PX_W) <= 1 && abs(img.height - PAGE_PX_H) <= 1);
        assert_swatches(&img, 144.0 / 72.0, r, lab.width, lab.height);
        free(img.pixels);
        free(png), free(stem);
    }
    smp_lab_image_release(&lab);
    free(hair), free(scalp), free(path);
    smp_result_free(r);
}

static void test_atomic_replace(void **state)
{
    (void)state;
    const char *dir = fresh_dir("atomic");
    char *path = join(dir, "a.png");
    smp_result *r = make_result(0);
    smp_error err = {0};
    assert_int_equal(smp_report_write(path, r, NULL, NULL, NULL, 0, &err), SMP_OK);

    /* a second sheet with another hair colour replaces the first */
    r->hair.lab[0] = 45.0, r->hair.lab[1] = 20.0, r->hair.lab[2] = 30.0;
    assert_int_equal(smp_report_write(path, r, NULL, NULL, NULL, 0, &err), SMP_OK);
    tu_png img = tu_read_png(path);
    assert_swatches(&img, 2.0, r, 0, 0);
    free(img.pixels);
    assert_no_temp_files(dir);

    /* the folder is missing: the message names the path and says so */
    char *missing = join(dir, "no-such-folder/b.pdf");
    assert_int_not_equal(smp_report_write(missing, r, NULL, NULL, NULL, 0, &err), SMP_OK);
    assert_int_equal(err.status, SMP_E_IO);
    assert_non_null(strstr(err.message, missing));
    assert_non_null(strstr(err.message, "the folder does not exist"));
    assert_null(strchr(err.message, '\n'));

    /* the target is a folder: the finished temporary file cannot be renamed
     * over it; it is removed, and the folder is left as it was */
    char *blocked = join(dir, "blocked.pdf");
    assert_int_equal(mkdir(blocked, 0755), 0);
    char *inside = join(blocked, "keep.txt");
    tu_write_file(inside, "x", 1);
    assert_int_not_equal(smp_report_write(blocked, r, NULL, NULL, NULL, 0, &err), SMP_OK);
    assert_non_null(strstr(err.message, blocked));
    assert_true(file_exists(inside));
    assert_no_temp_files(dir);

    /* a failed write leaves the old sheet as it was, byte for byte */
    size_t before_n, after_n;
    char *before = tu_read_file(path, &before_n);
    if (geteuid() != 0) {
        assert_int_equal(chmod(dir, 0555), 0);
        assert_int_not_equal(smp_report_write(path, r, NULL, NULL, NULL, 0, &err), SMP_OK);
        assert_non_null(strstr(err.message, "permission"));
        assert_int_equal(chmod(dir, 0755), 0);
    } else {
        printf("note: running as root, the no-permission case is not tried\n");
    }
    char *after = tu_read_file(path, &after_n);
    assert_int_equal(before_n, after_n);
    assert_memory_equal(before, after, before_n);
    free(before), free(after);
    assert_no_temp_files(dir);

    /* neither .pdf nor .png */
    char *txt = join(dir, "sheet.txt");
    assert_int_equal(smp_report_write(txt, r, NULL, NULL, NULL, 0, &err), SMP_E_ARG);
    assert_non_null(strstr(err.message, txt));
    assert_false(file_exists(txt));

    free(txt), free(inside), free(blocked), free(missing), free(path);
    smp_result_free(r);
}

/* Long names, 10 warnings, 10 pieces of advice and 8 mixes: the sheet is
 * still drawn, every box lies on the page, and nothing is drawn in the
 * side margins (text that overflowed its column would be). */
static void test_long_text(void **state)
{
    (void)state;
    const char *dir = fresh_dir("long");
    smp_result *r = make_result(1);
    smp_error err = {0};
    char *path = join(dir, "long.png");
    assert_int_equal(smp_report_write(path, r, NULL, NULL, NULL, 0, &err), SMP_OK);
    char *pdf = join(dir, "long.pdf");
    assert_int_equal(smp_report_write(pdf, r, NULL, NULL, NULL, 0, &err), SMP_OK);

    smp_report_layout L;
    smp_report_layout_for(r, 4000, 100, &L);
    smp_report_box boxes[8 + 2 * SMP_REPORT_MAX_SHADES] = {L.photo, L.hair, L.skin, L.preview_light,
                                                           L.preview_full, L.preview_skin_probe,
                                                           L.notes_left, L.notes_right};
    size_t nb = 8;
    for (size_t i = 0; i < L.n_shades; i++)
        boxes[nb++] = L.bottle[i], boxes[nb++] = L.healed[i];
    for (size_t i = 0; i < nb; i++) {
        smp_report_box b = boxes[i];
        assert_true(b.x >= 0 && b.y >= 0 && b.w > 0 && b.h > 0);
        assert_true(b.x + b.w <= L.page_w && b.y + b.h <= L.page_h);
    }

    tu_png img = tu_read_png(path);
    /* the side margins are 36 pt; look at the outer 30 pt of each */
    for (int y = 0; y < img.height; y++)
        for (int x = 0; x < img.width; x++) {
            if (x >= 60 && x < img.width - 60)
                continue;
            const unsigned char *p = img.pixels + ((size_t)y * img.width + x) * 3;
            if (p[0] != 255 || p[1] != 255 || p[2] != 255)
                fail_msg("something drawn in the margin at (%d,%d): %d,%d,%d", x, y, p[0], p[1], p[2]);
        }
    free(img.pixels);
    free(path), free(pdf);
    smp_result_free(r);
}

/* The whole sheet of a sample against a reviewed golden picture. Font
 * rasterisation (FreeType version, hinting, antialiasing) may move text
 * edges by a pixel between machines, so a pixel counts as different only
 * beyond 8 levels in a channel, and up to 0.5 % of the page may differ:
 * text is about 5 % of the page, so a changed swatch, a missing section
 * or a moved block of text still fails. */
static void test_golden_sheet(void **state)
{
    (void)state;
    const char *dir = fresh_dir("golden");
    char *path = join(dir, "temple_grey_on_tan.png");
    smp_palette *pal = NULL;
    smp_error err = {0};
    assert_int_equal(smp_palette_new_default(&pal, &err), SMP_OK);
    smp_options opt;
    smp_options_init(&opt);
    /* the areas of tests/data/golden/temple_grey_on_tan.jpg.args */
    assert_int_equal(smp_area_parse("temple=20,60,260,300", &opt.areas[0]), 0);
    assert_int_equal(smp_area_parse("crown=737,46,225,200", &opt.areas[1]), 0);
    opt.n_areas = 2;
    opt.report_path = path;
    opt.report_time = 1764151200; /* 2025-11-26 10:00 UTC; printed in TZ=UTC */
    setenv("TZ", "UTC", 1);
    tzset();
    smp_result *r = NULL;
    assert_int_equal(smp_analyse_file(SMP_SOURCE_DIR "/samples/temple_grey_on_tan.jpg", pal, &opt, &r), SMP_OK);
    assert_int_equal(r->report_written, 1);
    smp_result_free(r);
    smp_palette_free(pal);

    const char *golden = SMP_TEST_DATA "/golden/report_temple_grey_on_tan.png";
    if (getenv("SMP_REPORT_UPDATE_GOLDEN")) {
        size_t n;
        char *b = tu_read_file(path, &n);
        tu_write_file(golden, b, n);
        free(b);
        printf("wrote %s: look at it before committing\n", golden);
    }
    tu_png got = tu_read_png(path), want = tu_read_png(golden);
    assert_int_equal(got.width, want.width);
    assert_int_equal(got.height, want.height);
    assert_int_equal(got.channels, want.channels);
    size_t n = (size_t)got.width * got.height, differ = 0;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < got.channels; c++)
            if (abs(got.pixels[i * got.channels + c] - want.pixels[i * want.channels + c]) > 8) {
                differ++;
                break;
            }
    double share = (double)differ / (double)n;
    if (share >= 0.005)
        fail_msg("%.2f %% of the sheet differs from %s (limit 0.5 %%); the new sheet is %s", 100 * share, golden,
                 path);
    free(got.pixels), free(want.pixels), free(path);
}

/* Every sample photo through the real pipeline to a PNG and a PDF sheet:
 * the sheet is written, and every swatch on it (PNG as written, PDF as
 * pdftoppm rasterises it) is the result's colour within 2 levels. */
static void test_sheets_for_samples(void **state)
{
    (void)state;
    static const char *const samples[] = {
        "crown_auburn_srgb_icc.jpg", "crown_dark_on_light.jpg", "frontal_blond_adobergb.jpg",
        "part_dark_on_brown_cast_card.jpg", "part_grey_on_dark.png", "side_lightbrown_orient6.jpg",
        "temple_brown_p3.jpg", "temple_brown_srgb.jpg", "temple_grey_on_tan.jpg"};
    const char *dir = fresh_dir("samples");
    smp_palette *pal = NULL;
    smp_error err = {0};
    assert_int_equal(smp_palette_new_default(&pal, &err), SMP_OK);
    int pdf_too = have_pdftoppm();
    if (!pdf_too)
        printf("SKIP: pdftoppm (poppler-utils) is not installed: PDFs not rasterised\n");
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        for (int pdf = 0; pdf <= pdf_too; pdf++) {
            char name[256], photo[1024];
            snprintf(name, sizeof name, "%s.%s", samples[i], pdf ? "pdf" : "png");
            snprintf(photo, sizeof photo, "%s/samples/%s", SMP_SOURCE_DIR, samples[i]);
            char *path = join(dir, name);
            smp_options opt;
            smp_options_init(&opt);
            opt.report_path = path;
            smp_result *r = NULL;
            assert_int_equal(smp_analyse_file(photo, pal, &opt, &r), SMP_OK);
            if (!r->report_written)
                fail_msg("%s: no sheet (%s)", samples[i], r->n_warnings ? r->warnings[r->n_warnings - 1] : "?");
            char *png = path;
            if (pdf) {
                char cmd[4096], *out = NULL;
                char *stem = join(dir, "page");
                snprintf(cmd, sizeof cmd, "pdftoppm -r 144 -png -singlefile '%s' '%s'", path, stem);
                assert_int_equal(tu_run(cmd, &out), 0);
                free(out);
                free(stem);
                png = join(dir, "page.png");
            }
            tu_png img = tu_read_png(png);
            assert_swatches(&img, 2.0, r, r->image.analysed_width, r->image.analysed_height);
            free(img.pixels);
            if (png != path)
                free(png);
            free(path);
            smp_result_free(r);
        }
    }
    smp_palette_free(pal);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_swatches),
        cmocka_unit_test(test_pdf_swatches),
        cmocka_unit_test(test_atomic_replace),
        cmocka_unit_test(test_long_text),
        cmocka_unit_test(test_golden_sheet),
        cmocka_unit_test(test_sheets_for_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
