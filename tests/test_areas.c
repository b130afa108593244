/*
 * test_areas.c: per-area shades (--region NAME=X,Y,W,H, src/areas.c),
 * through the public API.
 *
 * What issue 4 item 5 asks, checked here:
 * - smp_area_parse accepts NAME=X,Y,W,H and rejects bad names and
 *   rectangles;
 * - on samples/temple_grey_on_tan.jpg (rendered: 65 % grey strands rooted
 *   in the left third, plain brown elsewhere; samples/README.md), a
 *   "temples" area over the grey part has more grey and lighter hair than
 *   a "crown" area over the plain part, and its best shade heals lighter;
 * - an area outside the photo is a warning, not a failure;
 * - a scar (a pale patch of skin without hair inside hairy scalp, rendered
 *   here) is compared with the scalp around it, warned about when much
 *   lighter, and its shades are predicted on the scar tissue.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "render.h"
#include "smpmatch.h"

/* ------------------------------------------------------------ parsing -- */

static void test_parse_accepts(void **state)
{
    (void)state;
    smp_area_spec a;
    assert_int_equal(smp_area_parse("temples=10,20,30,40", &a), 0);
    assert_string_equal(a.name, "temples");
    assert_int_equal(a.rect.x, 10);
    assert_int_equal(a.rect.y, 20);
    assert_int_equal(a.rect.w, 30);
    assert_int_equal(a.rect.h, 40);
    assert_int_equal(smp_area_parse("scar_2-left=0,0,1,1", &a), 0);
    assert_string_equal(a.name, "scar_2-left");
    /* The longest name that fits: SMP_AREA_NAME_MAX - 1 characters. */
    char text[SMP_AREA_NAME_MAX + 16];
    memset(text, 'a', SMP_AREA_NAME_MAX - 1);
    strcpy(text + SMP_AREA_NAME_MAX - 1, "=1,2,3,4");
    assert_int_equal(smp_area_parse(text, &a), 0);
    assert_int_equal(strlen(a.name), SMP_AREA_NAME_MAX - 1);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    smp_area_spec a;
    static const char *const bad[] = {
        "",                    /* nothing */
        "=1,2,3,4",            /* empty name */
        "temples",             /* no '=' */
        "temples:1,2,3,4",     /* no '=' */
        "tem ples=1,2,3,4",    /* space in the name */
        "temples.left=1,2,3,4", /* '.' */
        "t\xc3\xa9mple=1,2,3,4", /* a letter outside ASCII */
        "temples=",            /* no rectangle */
        "temples=1,2,3",       /* three numbers */
        "temples=1,2,0,4",     /* zero width */
        "temples=-1,2,3,4",    /* negative */
        "temples=1,2,3,4,5",   /* five numbers */
        "temples=1,2,3,4 ",    /* trailing space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (smp_area_parse(bad[i], &a) == 0)
            fail_msg("accepted \"%s\"", bad[i]);
    char text[SMP_AREA_NAME_MAX + 16];
    memset(text, 'a', SMP_AREA_NAME_MAX); /* one too long */
    strcpy(text + SMP_AREA_NAME_MAX, "=1,2,3,4");
    assert_int_equal(smp_area_parse(text, &a), -1);
    assert_int_equal(smp_area_parse(NULL, &a), -1);
}

/* ------------------------------------------------------------ helpers -- */

static smp_palette *palette(void)
{
    smp_palette *pal = NULL;
    smp_error err;
    assert_int_equal(smp_palette_new_default(&pal, &err), SMP_OK);
    return pal;
}

static void add_area(smp_options *opt, const char *text)
{
    assert_true(opt->n_areas < SMP_MAX_AREAS);
    assert_int_equal(smp_area_parse(text, &opt->areas[opt->n_areas]), 0);
    opt->n_areas++;
}

static int has_warning(const smp_result *r, const char *part)
{
    for (size_t i = 0; i < r->n_warnings; i++)
        if (strstr(r->warnings[i], part))
            return 1;
    return 0;
}

static const smp_area *find_area(const smp_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_areas; i++)
        if (strcmp(r->areas[i].name, name) == 0)
            return &r->areas[i];
    fail_msg("no area %s", name);
    return NULL;
}

#define SAMPLE SMP_SOURCE_DIR "/samples/temple_grey_on_tan.jpg"

/* ------------------------------------------------ greyer temple sample -- */

/* The sample's truth (samples/truth.csv, tools/gen_samples.c): brown hair
 * L* 32 everywhere but the left third, where 65 % of the strands are grey
 * L* 66; tan skin L* 57. "temples" lies inside x < 300 (all of it in the
 * grey part, clear of the fade that ends at x 400); "crown" lies in the
 * brown part, away from the bare rectangle. */
static void test_temple_greyer_than_crown(void **state)
{
    (void)state;
    smp_palette *pal = palette();
    smp_options opt;
    smp_options_init(&opt);
    add_area(&opt, "temples=20,100,280,560");
    add_area(&opt, "crown=620,30,380,330");
    smp_result *r = NULL;
    assert_int_equal(smp_analyse_file(SAMPLE, pal, &opt, &r), SMP_OK);
    assert_int_equal(r->n_areas, 2);
    /* In the order given. */
    assert_string_equal(r->areas[0].name, "temples");
    assert_string_equal(r->areas[1].name, "crown");
    const smp_area *t = &r->areas[0], *c = &r->areas[1];
    assert_int_equal(t->scar, 0);
    assert_int_equal(t->rect.x, 20);
    assert_int_equal(t->rect.w, 280);
    const smp_result *tr = t->result, *cr = c->result;
    assert_non_null(tr);
    assert_non_null(cr);
    print_message("temples: grey %.2f hair (%.1f %.1f %.1f) skin L* %.1f top %s healed L* %.1f\n",
                  tr->grey_share, tr->hair.lab[0], tr->hair.lab[1], tr->hair.lab[2], tr->scalp.lab[0],
                  tr->n_matches ? tr->matches[0].name : "-", tr->n_matches ? tr->matches[0].healed_lab[0] : 0);
    print_message("crown:   grey %.2f hair (%.1f %.1f %.1f) skin L* %.1f top %s healed L* %.1f\n",
                  cr->grey_share, cr->hair.lab[0], cr->hair.lab[1], cr->hair.lab[2], cr->scalp.lab[0],
                  cr->n_matches ? cr->matches[0].name : "-", cr->n_matches ? cr->matches[0].healed_lab[0] : 0);

    assert_true(tr->hair.measured && cr->hair.measured);
    assert_true(tr->scalp.measured && cr->scalp.measured);
    /* Greyer temple: most of its hair grey, the crown's none (rendered 65 %
     * and 0 % of the strands). */
    assert_true(tr->grey_share > 0.4);
    assert_true(cr->grey_share < 0.1);
    assert_true(tr->grey_share > cr->grey_share + 0.3);
    /* Each area's hair is its own dominant colour: grey L* 66 in the
     * temple, brown L* 32 at the crown (within 3 L* of what was rendered). */
    assert_true(fabs(tr->hair.lab[0] - 66.0) < 3.0);
    assert_true(fabs(cr->hair.lab[0] - 32.0) < 3.0);
    assert_true(tr->hair.lab[0] > cr->hair.lab[0] + 20.0);
    /* Both found their own skin, the tan L* 57. */
    assert_true(fabs(tr->scalp.lab[0] - 57.0) < 3.0);
    assert_true(fabs(cr->scalp.lab[0] - 57.0) < 3.0);
    assert_string_equal(tr->heal.skin_source, "scalp");
    /* Shades for each; the temple's best shade heals lighter. */
    assert_true(tr->n_matches > 0 && cr->n_matches > 0);
    assert_true(tr->matches[0].healed_lab[0] > cr->matches[0].healed_lab[0] + 5.0);
    /* The photo as a whole stays brown (mostly plain hair). */
    assert_true(fabs(r->hair.lab[0] - 32.0) < 3.0);
    assert_true(r->grey_share < tr->grey_share);
    smp_result_free(r);
    smp_palette_free(pal);
}

static void test_area_outside_photo(void **state)
{
    (void)state;
    smp_palette *pal = palette();
    smp_options opt;
    smp_options_init(&opt);
    add_area(&opt, "gone=5000,5000,10,10");
    add_area(&opt, "edge=900,600,200,300"); /* partly outside the 1024 x 768 frame */
    add_area(&opt, "bare=600,450,130,125"); /* inside the sample's bare rectangle: no hair */
    smp_result *r = NULL;
    assert_int_equal(smp_analyse_file(SAMPLE, pal, &opt, &r), SMP_OK);
    assert_int_equal(r->status, SMP_OK);
    assert_int_equal(r->n_areas, 2);
    assert_true(has_warning(r, "area gone"));
    assert_true(has_warning(r, "reaches outside"));
    const smp_area *e = find_area(r, "edge");
    assert_int_equal(e->rect.x, 900);
    assert_int_equal(e->rect.w, 124);
    assert_int_equal(e->rect.h, 168);
    assert_true(e->result->hair.measured);
    assert_true(e->result->n_matches > 0);
    const smp_area *b = find_area(r, "bare");
    assert_false(b->result->hair.measured);
    assert_int_equal(b->result->n_matches, 0);
    assert_true(has_warning(b->result, "no hair found in area bare"));
    assert_true(b->result->scalp.measured); /* the skin is still there */
    smp_result_free(r);
    smp_palette_free(pal);
}

/* -------------------------------------------------------------- scars -- */

/* A 320 x 240 scalp with dark-brown hair on tan skin, bare in a rectangle
 * (the renderer keeps strands out of scalp_roi) that is then painted with
 * the scar's colour plus camera-like noise. Lossless PNG with an sRGB
 * chunk, so the scar keeps its colour. */
#define SCAR_X 120
#define SCAR_Y 90
#define SCAR_W 80
#define SCAR_H 60

static smp_result *analyse_scar(const double scar_lab[3], const smp_palette *pal)
{
    rnd_params p;
    rnd_params_init(&p);
    p.width = 320;
    p.height = 240;
    p.seed = 0x5ca7;
    p.hair = (rnd_lab){22.0, 3.0, 5.0}; /* dark brown */
    p.skin = (rnd_lab){57.0, 11.0, 18.0}; /* tan */
    p.layout = (rnd_layout){RND_LAYOUT_EVEN, 0, 0, 0, 0, 0, 60, 0};
    p.coverage = 0.5;
    const double sr[4] = {SCAR_X / 320.0, SCAR_Y / 240.0, SCAR_W / 320.0, SCAR_H / 240.0};
    const double hr[4] = {0.02, 0.72, 0.20, 0.24};
    memcpy(p.scalp_roi, sr, sizeof sr);
    memcpy(p.hair_roi, hr, sizeof hr);
    rnd_image img;
    char err[256];
    if (rnd_render(&p, &img, err, sizeof err) != 0)
        fail_msg("render failed: %s", err);
    assert_int_equal(img.scalp_roi.x, SCAR_X);
    assert_int_equal(img.scalp_roi.w, SCAR_W);

    char hex[8];
    unsigned rgb[3];
    smp_lab_to_hex(scar_lab, hex);
    assert_int_equal(sscanf(hex, "#%2x%2x%2x", &rgb[0], &rgb[1], &rgb[2]), 3);
    uint32_t lcg = 12345;
    for (int y = SCAR_Y; y < SCAR_Y + SCAR_H; y++)
        for (int x = SCAR_X; x < SCAR_X + SCAR_W; x++)
            for (int c = 0; c < 3; c++) {
                lcg = lcg * 1664525u + 1013904223u; /* Numerical Recipes LCG */
                int v = (int)rgb[c] + (int)(lcg >> 30) - 1; /* -1 .. +2 levels */
                img.rgb[((size_t)y * 320 + (size_t)x) * 3 + (size_t)c] =
                    (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
            }

    unsigned char *png = NULL;
    size_t png_size = 0;
    enc_png_opts po = {0};
    po.bits = 8;
    po.srgb_chunk = 1;
    assert_int_equal(enc_png(NULL, &png, &png_size, img.rgb, 320, 240, ENC_PNG_RGB, &po), 0);
    rnd_image_free(&img);

    smp_options opt;
    smp_options_init(&opt);
    char spec[64];
    snprintf(spec, sizeof spec, "scar=%d,%d,%d,%d", SCAR_X, SCAR_Y, SCAR_W, SCAR_H);
    add_area(&opt, spec);
    smp_result *r = NULL;
    smp_analyse_memory("scar.png", png, png_size, pal, &opt, &r);
    free(png);
    assert_non_null(r);
    assert_int_equal(r->status, SMP_OK);
    assert_int_equal(r->n_areas, 1);
    return r;
}

static void test_scar_lighter(void **state)
{
    (void)state;
    smp_palette *pal = palette();
    const double scar[3] = {70.0, 8.0, 12.0}; /* paler and less pigmented than the scalp */
    smp_result *r = analyse_scar(scar, pal);
    const smp_area *a = &r->areas[0];
    const smp_result *n = a->result;
    assert_int_equal(a->scar, 1);
    print_message("scar L* %.1f, around %.1f (%zu px), dL %.1f, dE00 %.1f; hair L* %.1f (%zu px); "
                  "top %s healed L* %.1f\n",
                  n->scalp.lab[0], a->surround.lab[0], a->surround.pixels, a->scar_delta_l, a->scar_de00,
                  n->hair.lab[0], n->hair.pixels, n->n_matches ? n->matches[0].name : "-",
                  n->n_matches ? n->matches[0].healed_lab[0] : 0);
    /* The scar tissue is what was painted, the scalp around it the tan
     * skin, the hair around it the dark brown. */
    assert_true(n->scalp.measured);
    assert_true(fabs(n->scalp.lab[0] - 70.0) < 2.0);
    assert_true(a->surround.measured);
    assert_true(fabs(a->surround.lab[0] - 57.0) < 3.0);
    assert_true(n->hair.measured);
    assert_true(fabs(n->hair.lab[0] - 22.0) < 4.0);
    assert_true(a->scar_delta_l > 8.0 && a->scar_delta_l < 18.0); /* painted 13 L* lighter */
    assert_true(fabs(a->scar_delta_l - (n->scalp.lab[0] - a->surround.lab[0])) < 1e-9);
    assert_true(a->scar_de00 > 5.0);
    assert_true(has_warning(n, "much lighter"));
    /* The shades are predicted on the scar tissue. */
    assert_string_equal(n->heal.skin_source, "scalp");
    for (int k = 0; k < 3; k++)
        assert_true(fabs(n->heal.skin_lab[k] - n->scalp.lab[k]) < 1e-9);
    assert_true(n->n_matches > 0);
    double healed[3];
    assert_int_equal(smp_heal_lab(n->matches[0].lab, n->scalp.lab, n->heal.veil, n->heal.blue_shift, healed),
                     SMP_OK);
    for (int k = 0; k < 3; k++)
        assert_true(fabs(healed[k] - n->matches[0].healed_lab[k]) < 0.01);
    /* ... and not on the scalp around it: the same shade heals to another
     * colour there. */
    assert_int_equal(smp_heal_lab(n->matches[0].lab, a->surround.lab, n->heal.veil, n->heal.blue_shift, healed),
                     SMP_OK);
    assert_true(fabs(healed[0] - n->matches[0].healed_lab[0]) > 0.1);
    smp_result_free(r);
    smp_palette_free(pal);
}

static void test_scar_like_scalp(void **state)
{
    (void)state;
    smp_palette *pal = palette();
    const double scar[3] = {59.0, 10.0, 16.0}; /* 2 L* lighter: under the threshold */
    smp_result *r = analyse_scar(scar, pal);
    const smp_area *a = &r->areas[0];
    print_message("scar L* %.1f, around %.1f, dL %.1f\n", a->result->scalp.lab[0], a->surround.lab[0],
                  a->scar_delta_l);
    assert_true(a->surround.measured);
    assert_true(fabs(a->scar_delta_l) < 5.0);
    assert_false(has_warning(a->result, "much lighter"));
    smp_result_free(r);
    smp_palette_free(pal);
}

/* A scar far paler than any skin the automatic finder looks for (a white,
 * depigmented scar): its tissue is then every usable pixel of the
 * rectangle. */
static void test_scar_very_pale(void **state)
{
    (void)state;
    smp_palette *pal = palette();
    const double scar[3] = {86.0, 2.0, 5.0};
    smp_result *r = analyse_scar(scar, pal);
    const smp_area *a = &r->areas[0];
    const smp_result *n = a->result;
    print_message("scar L* %.1f (%zu px), around %.1f, dL %.1f\n", n->scalp.lab[0], n->scalp.pixels,
                  a->surround.lab[0], a->scar_delta_l);
    assert_true(n->scalp.measured);
    assert_true(fabs(n->scalp.lab[0] - 86.0) < 2.0);
    assert_true(n->scalp.pixels > SCAR_W * SCAR_H / 2);
    assert_true(a->scar_delta_l > 20.0);
    assert_true(has_warning(n, "much lighter"));
    assert_true(n->n_matches > 0);
    smp_result_free(r);
    smp_palette_free(pal);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_temple_greyer_than_crown),
        cmocka_unit_test(test_area_outside_photo),
        cmocka_unit_test(test_scar_lighter),
        cmocka_unit_test(test_scar_like_scalp),
        cmocka_unit_test(test_scar_very_pale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
