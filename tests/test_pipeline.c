/*
 * test_pipeline.c: whole photos through smp_analyse_file (src/pipeline.c),
 * on the rendered samples whose true colours samples/truth.csv gives.
 *
 * What issue 2 asks, checked here:
 * - the hair measured inside its rectangle is within ΔE00 1.0 of the colour
 *   the generator rendered, the skin within 0.5;
 * - the Display P3 and sRGB versions of one scene agree within ΔE00 0.5;
 * - a broken photo gets a one-line error naming the file and the cause.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colour.h"
#include "encode.h"
#include "smpmatch.h"

#define MAX_SAMPLES 32

typedef struct truth {
    char file[128], profile[64];
    double hair[3], skin[3];
    int has_hair_roi, has_scalp_roi, has_white_roi;
    smp_rect hair_roi, scalp_roi, white_roi;
} truth;

/* Splits one CSV line (RFC 4180 quotes, no embedded newlines) into fields. */
static int split_csv(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        char *out = p;
        fields[n++] = p;
        if (*p == '"') {
            char *q = p + 1;
            for (;;) {
                if (*q == '"' && q[1] == '"') {
                    *out++ = '"';
                    q += 2;
                } else if (*q == '"' || *q == 0) {
                    if (*q)
                        q++;
                    break;
                } else {
                    *out++ = *q++;
                }
            }
            p = q;
        } else {
            while (*p && *p != ',')
                *out++ = *p++;
        }
        char sep = *p;
        *out = 0;
        if (sep != ',')
            break;
        p++;
    }
    return n;
}

static size_t load_truth(truth *t, size_t max)
{
    char *text = tu_read_file(SMP_SOURCE_DIR "/samples/truth.csv", NULL);
    size_t n = 0;
    int header = 0;
    char *save;
    for (char *line = strtok_r(text, "\r\n", &save); line && n < max;
         line = strtok_r(NULL, "\r\n", &save)) {
        if (line[0] == '#')
            continue;
        if (!header) {
            header = 1;
            assert_true(strncmp(line, "file,profile,hair_L,hair_a,hair_b,skin_L,skin_a,skin_b,"
                                      "hair_roi,scalp_roi,white_roi",
                                53) == 0);
            continue;
        }
        char *f[16];
        int k = split_csv(line, f, 16);
        assert_true(k >= 11);
        truth *r = &t[n++];
        memset(r, 0, sizeof *r);
        snprintf(r->file, sizeof r->file, "%s", f[0]);
        snprintf(r->profile, sizeof r->profile, "%s", f[1]);
        for (int c = 0; c < 3; c++) {
            r->hair[c] = atof(f[2 + c]);
            r->skin[c] = atof(f[5 + c]);
        }
        r->has_hair_roi = smp_rect_parse(f[8], &r->hair_roi) == 0;
        r->has_scalp_roi = smp_rect_parse(f[9], &r->scalp_roi) == 0;
        r->has_white_roi = smp_rect_parse(f[10], &r->white_roi) == 0;
    }
    free(text);
    return n;
}

static smp_result *analyse(const truth *t, int with_white, const smp_palette *pal)
{
    char path[512];
    snprintf(path, sizeof path, "%s/samples/%s", SMP_SOURCE_DIR, t->file);
    smp_options opt;
    smp_options_init(&opt);
    opt.model = SMP_MODEL_DIRECT;
    if (t->has_hair_roi)
        opt.hair_roi[opt.n_hair_roi++] = t->hair_roi;
    if (t->has_scalp_roi)
        opt.scalp_roi[opt.n_scalp_roi++] = t->scalp_roi;
    if (with_white && t->has_white_roi) {
        opt.has_white_roi = 1;
        opt.white_roi = t->white_roi;
    }
    smp_result *r = NULL;
    smp_analyse_file(path, pal, &opt, &r);
    assert_non_null(r);
    if (r->status != SMP_OK)
        fail_msg("%s: %s", t->file, r->error);
    return r;
}

/* Every sample: hair within 1.0 and skin within 0.5 ΔE00 of the truth
 * (using its grey card where it has one), with shades ranked. */
static void test_samples_accuracy(void **state)
{
    (void)state;
    truth t[MAX_SAMPLES];
    size_t n = load_truth(t, MAX_SAMPLES);
    assert_true(n >= 5);
    smp_palette *pal;
    smp_error err;
    assert_int_equal(smp_palette_new_default(&pal, &err), SMP_OK);
    double worst_hair = 0, worst_skin = 0;
    for (size_t i = 0; i < n; i++) {
        if (!t[i].has_hair_roi || !t[i].has_scalp_roi)
            continue;
        smp_result *r = analyse(&t[i], 1, pal);
        assert_true(r->hair.measured && r->scalp.measured);
        assert_int_equal(r->hair.source, SMP_SOURCE_ROI);
        double dh = smp_de00(r->hair.lab, t[i].hair), ds = smp_de00(r->scalp.lab, t[i].skin);
        print_message("%-28s hair ΔE00 %.2f  skin ΔE00 %.2f  (%s%s)\n", t[i].file, dh, ds,
                      r->image.icc_profile, t[i].has_white_roi ? ", white-roi" : "");
        if (dh > worst_hair)
            worst_hair = dh;
        if (ds > worst_skin)
            worst_skin = ds;
        assert_true(dh <= 1.0);
        assert_true(ds <= 0.5);
        assert_true(r->n_matches > 0 && r->n_matches <= 5);
        assert_true(r->confidence > 0 && r->confidence <= 1);
        assert_true(fabs(r->ita_deg - smp_ita_deg(r->scalp.lab)) < 1e-9);
        smp_result_free(r);
    }
    print_message("worst: hair %.2f, skin %.2f\n", worst_hair, worst_skin);
    smp_palette_free(pal);
}

/* The same scene saved as Display P3 and as sRGB measures the same. */
static void test_p3_and_srgb_agree(void **state)
{
    (void)state;
    truth t[MAX_SAMPLES];
    size_t n = load_truth(t, MAX_SAMPLES);
    int pairs = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strstr(t[i].profile, "P3"))
            continue;
        for (size_t j = 0; j < n; j++) {
            if (j == i || strstr(t[j].profile, "P3") || memcmp(t[i].hair, t[j].hair, sizeof t[i].hair) ||
                memcmp(t[i].skin, t[j].skin, sizeof t[i].skin))
                continue;
            smp_result *a = analyse(&t[i], 0, NULL), *b = analyse(&t[j], 0, NULL);
            assert_non_null(strstr(a->image.icc_profile, "P3"));
            assert_int_equal(a->image.icc_assumed, 0);
            double dh = smp_de00(a->hair.lab, b->hair.lab), ds = smp_de00(a->scalp.lab, b->scalp.lab);
            print_message("%s vs %s: hair ΔE00 %.2f, skin %.2f\n", t[i].file, t[j].file, dh, ds);
            assert_true(dh <= 0.5 && ds <= 0.5);
            smp_result_free(a);
            smp_result_free(b);
            pairs++;
        }
    }
    assert_true(pairs >= 1);
}

/* The grey card: with --white-roi the cast photo measures closer to the
 * truth than without, and the calibration is reported. */
static void test_white_roi_helps(void **state)
{
    (void)state;
    truth t[MAX_SAMPLES];
    size_t n = load_truth(t, MAX_SAMPLES);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (!t[i].has_white_roi)
            continue;
        smp_result *with = analyse(&t[i], 1, NULL), *without = analyse(&t[i], 0, NULL);
        assert_string_equal(with->calibration.method, "white-roi");
        assert_string_equal(without->calibration.method, "none");
        double w = smp_de00(with->scalp.lab, t[i].skin), wo = smp_de00(without->scalp.lab, t[i].skin);
        print_message("%s: skin ΔE00 %.2f with the grey card, %.2f without\n", t[i].file, w, wo);
        assert_true(w < wo);
        assert_true(with->confidence > without->confidence);
        smp_result_free(with);
        smp_result_free(without);
        seen++;
    }
    assert_true(seen >= 1);
}

/* No region at all: hair and scalp are found automatically (issue 3), and
 * on every sample they measure close to the truth: hair within 1.5 and
 * skin within 1.0 ΔE00 (issue 3's median targets, held here per photo;
 * the grey card is given where there is one, as a technician would). */
static void test_automatic_on_samples(void **state)
{
    (void)state;
    truth t[MAX_SAMPLES];
    size_t n = load_truth(t, MAX_SAMPLES);
    for (size_t i = 0; i < n; i++) {
        truth bare = t[i];
        bare.has_hair_roi = bare.has_scalp_roi = 0;
        smp_result *r = analyse(&bare, 1, NULL);
        assert_int_equal(r->hair.source, SMP_SOURCE_AUTO);
        assert_int_equal(r->scalp.source, SMP_SOURCE_AUTO);
        double dh = smp_de00(r->hair.lab, t[i].hair), ds = smp_de00(r->scalp.lab, t[i].skin);
        print_message("auto %-28s hair ΔE00 %.2f  skin ΔE00 %.2f  confidence %.2f\n", t[i].file, dh,
                      ds, r->confidence);
        assert_true(dh <= 1.5);
        assert_true(ds <= 1.0);
        assert_true(r->confidence >= 0.3);
        for (size_t w = 0; w < r->n_warnings; w++)
            assert_null(strstr(r->warnings[w], "does not look like"));
        smp_result_free(r);
    }
}

static int has_warning(const smp_result *r, const char *words)
{
    for (size_t i = 0; i < r->n_warnings; i++)
        if (strstr(r->warnings[i], words))
            return 1;
    return 0;
}

static int has_guidance(const smp_result *r, const char *words)
{
    for (size_t i = 0; i < r->n_guidance; i++)
        if (strstr(r->guidance[i], words))
            return 1;
    return 0;
}

static smp_result *analyse_with(const char *file, const smp_options *opt, smp_palette *pal)
{
    char path[1024];
    if (snprintf(path, sizeof path, "%s/samples/%s", SMP_SOURCE_DIR, file) >= (int)sizeof path)
        fail_msg("path too long: %s", file);
    smp_result *r = NULL;
    smp_analyse_file(path, pal, opt, &r);
    assert_non_null(r);
    if (r->status != SMP_OK)
        fail_msg("%s: %s", file, r->error);
    return r;
}

/* The healed model on whole photos (issue 4): shades are ranked by their
 * predicted healed colour in the measured scalp; --model direct ranks the
 * bottle colour; a first session lists only shades that heal at or lighter
 * than the hair, and the lighter start is the best of those. */
static void test_healed_model_on_samples(void **state)
{
    (void)state;
    smp_palette *pal;
    smp_error err;
    assert_int_equal(smp_palette_new_default(&pal, &err), SMP_OK);
    truth t[MAX_SAMPLES];
    size_t n = load_truth(t, MAX_SAMPLES);
    for (size_t i = 0; i < n; i++) {
        smp_options opt;
        smp_options_init(&opt);
        smp_result *healed = analyse_with(t[i].file, &opt, pal);
        assert_string_equal(healed->heal.skin_source, "scalp");
        assert_memory_equal(healed->heal.skin_lab, healed->scalp.lab, sizeof healed->scalp.lab);
        assert_true(healed->n_matches > 0);
        for (size_t k = 0; k < healed->n_matches; k++) {
            const smp_match *m = &healed->matches[k];
            double de = smp_de00(healed->hair.lab, m->healed_lab);
            assert_true(fabs(de - m->delta_e00) < 1e-9);
            if (k > 0)
                assert_true(m->delta_e >= healed->matches[k - 1].delta_e);
            /* every shade here is darker than the skin: it heals lighter */
            if (m->lab[0] < healed->scalp.lab[0])
                assert_true(m->healed_lab[0] > m->lab[0]);
        }
        if (healed->has_lighter_start)
            assert_true(healed->lighter_start.healed_lab[0] >= healed->hair.lab[0]);
        else /* grey hair on dark skin: even the lightest dilution heals darker */
            for (size_t k = 0; k < healed->n_matches; k++)
                assert_true(healed->matches[k].healed_lab[0] < healed->hair.lab[0]);

        opt.session = SMP_SESSION_FIRST;
        smp_result *first = analyse_with(t[i].file, &opt, pal);
        for (size_t k = 0; k < first->n_matches; k++)
            assert_true(first->matches[k].healed_lab[0] >= first->hair.lab[0]);
        assert_int_equal(first->n_matches > 0, healed->has_lighter_start);
        if (first->n_matches > 0)
            assert_string_equal(first->matches[0].name, healed->lighter_start.name);
        else
            assert_true(has_warning(first, "no shade heals at or lighter"));

        opt.session = SMP_SESSION_ANY;
        opt.model = SMP_MODEL_DIRECT;
        smp_result *direct = analyse_with(t[i].file, &opt, pal);
        for (size_t k = 0; k < direct->n_matches; k++)
            assert_memory_equal(direct->matches[k].healed_lab, direct->matches[k].lab,
                                sizeof direct->matches[k].lab);
        print_message("%-34s healed top %-18s %5.2f  lighter start %-18s  direct top %-18s\n",
                      t[i].file, healed->matches[0].name, healed->matches[0].delta_e00,
                      healed->has_lighter_start ? healed->lighter_start.name : "(none)",
                      direct->matches[0].name);
        smp_result_free(healed);
        smp_result_free(first);
        smp_result_free(direct);
    }
    smp_palette_free(pal);
}

/* Skin tone in words and the advice that goes with it: black hair on light
 * skin cannot be matched by any healed shade (pigment under skin is always
 * lighter than hair on it) and the advice says so; a Fitzpatrick type that
 * contradicts the photo's skin is a warning; without a measured scalp the
 * technician's Fitzpatrick type stands in for the skin. */
static void test_skin_tone_and_guidance(void **state)
{
    (void)state;
    smp_palette *pal;
    smp_error err;
    assert_int_equal(smp_palette_new_default(&pal, &err), SMP_OK);
    smp_options opt;
    smp_options_init(&opt);
    smp_result *r = analyse_with("crown_dark_on_light.jpg", &opt, pal);
    assert_string_not_equal(r->undertone, "unknown");
    assert_true(has_guidance(r, "darker than any shade heals"));
    assert_false(has_warning(r, "does not fit Fitzpatrick"));
    smp_result_free(r);

    opt.fitzpatrick = 6; /* the photo's skin is light (ITA° about 47) */
    r = analyse_with("crown_dark_on_light.jpg", &opt, pal);
    assert_true(has_warning(r, "does not fit Fitzpatrick type VI"));
    assert_true(has_guidance(r, "Dark skin"));
    smp_result_free(r);

    /* No scalp at all (an empty scalp mask): the Fitzpatrick type stands in
     * for the skin, and says so. */
    const char *mask = tu_path("empty.png");
    unsigned char *zeros = calloc((size_t)1024 * 768, 1);
    assert_non_null(zeros);
    enc_png_opts po = {.bits = 8};
    assert_int_equal(enc_png(mask, NULL, NULL, zeros, 1024, 768, ENC_PNG_GREY, &po), 0);
    opt.fitzpatrick = 2;
    opt.scalp_mask = mask;
    r = analyse_with("crown_dark_on_light.jpg", &opt, pal);
    assert_int_equal(r->scalp.measured, 0);
    assert_string_equal(r->heal.skin_source, "fitzpatrick");
    assert_true(has_warning(r, "Fitzpatrick type II, a rough guide"));
    assert_true(r->matches[0].healed_lab[0] > r->matches[0].lab[0]);
    smp_result_free(r);
    opt.fitzpatrick = 0; /* nothing to stand in: bottle colours, with a warning */
    r = analyse_with("crown_dark_on_light.jpg", &opt, pal);
    assert_string_equal(r->heal.skin_source, "none");
    assert_true(has_warning(r, "ranked by their bottle colour"));
    assert_memory_equal(r->matches[0].healed_lab, r->matches[0].lab, sizeof r->matches[0].lab);
    smp_result_free(r);
    free(zeros);
    smp_palette_free(pal);
}

/* Transparent pixels are not there: they make no photo "under-exposed".
 * And a region the user marked is measured whatever the rest looks like:
 * no "does not look like hair on skin" verdict on it. */
static void test_transparency_and_marked_regions(void **state)
{
    (void)state;
    enum { W = 120, H = 80 };
    unsigned char px[W * H * 4];
    for (int i = 0; i < W * H; i++) {
        int dark = (i % W) < W / 3; /* left third a dark "hair" grey, the rest mid grey */
        int shown = i < W * H / 2; /* bottom half transparent, and black as such files often are */
        px[4 * i] = px[4 * i + 1] = px[4 * i + 2] = !shown ? 0 : dark ? 40 : 150;
        px[4 * i + 3] = shown ? 255 : 0;
    }
    unsigned char *png;
    size_t size;
    assert_int_equal(enc_png(NULL, &png, &size, px, W, H, ENC_PNG_RGBA, &(enc_png_opts){.bits = 8}), 0);
    smp_result *r = NULL;
    smp_analyse_memory("half.png", png, size, NULL, NULL, &r);
    assert_int_equal(r->status, SMP_OK);
    assert_false(has_warning(r, "under-exposed"));
    assert_true(has_warning(r, "does not look like")); /* grey blocks are not a scalp */
    smp_result_free(r);

    smp_options opt;
    smp_options_init(&opt);
    opt.hair_roi[opt.n_hair_roi++] = (smp_rect){5, 5, 40, 30};
    smp_analyse_memory("half.png", png, size, NULL, &opt, &r);
    assert_int_equal(r->status, SMP_OK);
    assert_true(r->hair.measured);
    assert_int_equal(r->hair.source, SMP_SOURCE_ROI);
    assert_false(has_warning(r, "does not look like"));
    assert_true(has_warning(r, "no bare scalp was found"));
    smp_result_free(r);
    free(png);
}

/* A colour cast seen in the highlights (no grey card): dark "hair" with
 * 240 pixels lighter than the skin by more than 15 L*, strongly yellow
 * (the light's colour, as a highlight shows it) or white, and the same
 * hair with none. Only the yellow ones warn; with none, the exposure's
 * counts say there are too few to judge and the photo is not read again
 * for them (pipeline.c, could_be_lighter): no warning either way. */
static void test_cast_from_highlights(void **state)
{
    (void)state;
    enum { W = 120, H = 80 };
    static const unsigned char light[3][3] = {{250, 225, 110}, {246, 246, 246}, {40, 30, 25}};
    const int warns[3] = {1, 0, 0};
    for (int kind = 0; kind < 3; kind++) {
        unsigned char px[W * H * 3];
        int n_light = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                unsigned char *p = px + 3 * (y * W + x);
                int hair = x < W / 3;
                int spot = hair && x % 4 == 1 && y % 4 == 1 && n_light < 240; /* strand highlights */
                const unsigned char skin[3] = {200, 150, 120}, dark[3] = {40, 30, 25};
                memcpy(p, spot ? light[kind] : hair ? dark : skin, 3);
                n_light += spot;
            }
        unsigned char *png;
        size_t size;
        assert_int_equal(enc_png(NULL, &png, &size, px, W, H, ENC_PNG_RGB, &(enc_png_opts){.bits = 8}), 0);
        smp_options opt;
        smp_options_init(&opt);
        opt.hair_roi[opt.n_hair_roi++] = (smp_rect){0, 0, W / 3, H};
        opt.scalp_roi[opt.n_scalp_roi++] = (smp_rect){W / 2, 0, W / 2, H};
        smp_result *r = NULL;
        smp_analyse_memory("cast.png", png, size, NULL, &opt, &r);
        assert_int_equal(r->status, SMP_OK);
        assert_true(r->scalp.measured);
        assert_int_equal(has_warning(r, "strong colour cast"), warns[kind]);
        smp_result_free(r);
        free(png);
    }
}

/* Broken photos: one line naming the file and the cause; never a crash. */
static void test_broken_photos(void **state)
{
    (void)state;
    const struct {
        const char *name;
        const char *bytes;
        size_t size;
        const char *cause;
    } cases[] = {
        {"empty.jpg", "", 0, "empty"},
        {"text.jpg", "hello, this is not a photo at all", 33, "not a JPEG or PNG"},
        {"cut.jpg", "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 20, "truncated"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = tu_path(cases[i].name);
        tu_write_file(path, cases[i].bytes, cases[i].size);
        smp_result *r = NULL;
        assert_int_not_equal(smp_analyse_file(path, NULL, NULL, &r), SMP_OK);
        assert_non_null(r);
        assert_non_null(r->error);
        assert_true(strncmp(r->error, path, strlen(path)) == 0);
        assert_non_null(strstr(r->error, cases[i].cause));
        assert_null(strchr(r->error, '\n'));
        assert_int_equal(r->n_matches, 0);
        smp_result_free(r);
    }
    smp_result *r = NULL;
    assert_int_equal(smp_analyse_file(tu_path("missing.jpg"), NULL, NULL, &r), SMP_E_IO);
    assert_non_null(strstr(r->error, "no such file"));
    smp_result_free(r);
}

/* Options that do not fit the photo are the photo's error, not a crash. */
static void test_rectangles_outside(void **state)
{
    (void)state;
    truth t[MAX_SAMPLES];
    load_truth(t, MAX_SAMPLES);
    char path[512];
    snprintf(path, sizeof path, "%s/samples/%s", SMP_SOURCE_DIR, t[0].file);
    smp_options opt;
    smp_options_init(&opt);
    opt.hair_roi[opt.n_hair_roi++] = (smp_rect){100000, 0, 10, 10};
    smp_result *r = NULL;
    assert_int_equal(smp_analyse_file(path, NULL, &opt, &r), SMP_E_ARG);
    assert_non_null(strstr(r->error, "outside"));
    smp_result_free(r);
    smp_options_init(&opt);
    opt.has_white_roi = 1;
    opt.white_roi = (smp_rect){0, 100000, 10, 10};
    assert_int_equal(smp_analyse_file(path, NULL, &opt, &r), SMP_E_ARG);
    assert_non_null(strstr(r->error, "white rectangle"));
    smp_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_accuracy),  cmocka_unit_test(test_p3_and_srgb_agree),
        cmocka_unit_test(test_white_roi_helps),   cmocka_unit_test(test_automatic_on_samples),
        cmocka_unit_test(test_transparency_and_marked_regions),
        cmocka_unit_test(test_cast_from_highlights),
        cmocka_unit_test(test_broken_photos),
        cmocka_unit_test(test_healed_model_on_samples), cmocka_unit_test(test_skin_tone_and_guidance),     cmocka_unit_test(test_rectangles_outside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
