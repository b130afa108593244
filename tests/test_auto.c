/*
 * test_auto.c: automatic hair and scalp finding (src/regions_auto.c through
 * smp_analyse_memory) on small rendered photos, one per hair/skin
 * combination of issue 3 item 1, plus a background strip and a photo of
 * something else.
 *
 * The photos come from tools/render.c, which knows the true hair and skin
 * colours (CIELAB D50, at illumination 1.0) independently of the library.
 * Each is ~400x300 with a bare-scalp area and no background, encoded as an
 * sRGB PNG in memory and analysed with default options: no rectangles, so
 * the automatic mode, and the built-in palette.
 *
 * Thresholds come from issue 3 ("Done when"): hair within ΔE00 2.0 of the
 * truth (the 90th-percentile target is 3.0, the median 1.5), skin within 1.0
 * (the median target), confidence above 0.3 for a photo of hair on skin and
 * below 0.3 with a warning for a photo of something else.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colour.h"
#include "encode.h"
#include "measure.h"
#include "regions.h"
#include "render.h"
#include "smpmatch.h"
#include "util.h"

#define HAIR_MAX_DE00 2.0
#define SKIN_MAX_DE00 1.0
#define MIN_CONFIDENCE 0.3

/* A small close-up: hair dense on the right, bare scalp on the left (the
 * "side" layout of the evaluation set), strands 2-3.3 px wide. */
static void small_scene(rnd_params *p, uint64_t seed, rnd_lab hair, rnd_lab skin)
{
    rnd_params_init(p);
    p->width = 400;
    p->height = 300;
    p->seed = seed;
    p->hair = hair;
    p->hair2 = hair;
    p->skin = skin;
    p->layout = (rnd_layout){RND_LAYOUT_RAMP, 0, 0, 0, 0, 0, 160, -0.10};
    const double hr[4] = {0.75, 0.30, 0.21, 0.40}, sr[4] = {0.04, 0.30, 0.18, 0.40};
    memcpy(p->hair_roi, hr, sizeof hr);
    memcpy(p->scalp_roi, sr, sizeof sr);
    p->strand_width[0] = 6.0;
    p->strand_width[1] = 10.0;
    p->coverage = 0.75;
    p->shade_global = 1;
    p->min_half_width = 1.0;
    p->noise = 1.5;
}

/* Renders, encodes as an sRGB PNG in memory and analyses in automatic mode.
 * *truth gets the render's truth; the caller frees the result. */
static smp_result *analyse(const rnd_params *p, const char *name, rnd_image *truth)
{
    char err[256];
    if (rnd_render(p, truth, err, sizeof err) != 0)
        fail_msg("%s: render failed: %s", name, err);
    unsigned char *png = NULL;
    size_t png_size = 0;
    enc_png_opts po = {0};
    po.bits = 8;
    po.srgb_chunk = 1;
    assert_int_equal(enc_png(NULL, &png, &png_size, truth->rgb, truth->width, truth->height, ENC_PNG_RGB, &po), 0);

    smp_palette *pal = NULL;
    smp_error perr;
    assert_int_equal(smp_palette_new_default(&pal, &perr), SMP_OK);
    smp_options opt;
    smp_options_init(&opt);
    smp_result *res = NULL;
    smp_analyse_memory(name, png, png_size, pal, &opt, &res);
    assert_non_null(res);
    free(png);
    smp_palette_free(pal);
    return res;
}

static void print_result(const char *name, const smp_result *r, const rnd_image *t)
{
    print_message("%s: status %d, hair (%.1f, %.1f, %.1f) source %s, truth (%.1f, %.1f, %.1f); "
                  "scalp (%.1f, %.1f, %.1f), truth (%.1f, %.1f, %.1f); confidence %.2f\n",
                  name, (int)r->status, r->hair.lab[0], r->hair.lab[1], r->hair.lab[2],
                  smp_source_name(r->hair.source), t->hair_truth.L, t->hair_truth.a, t->hair_truth.b,
                  r->scalp.lab[0], r->scalp.lab[1], r->scalp.lab[2], t->skin_truth.L, t->skin_truth.a,
                  t->skin_truth.b, r->confidence);
    for (size_t i = 0; i < r->n_warnings; i++)
        print_message("  warning: %s\n", r->warnings[i]);
}

/* The checks every photo of hair on skin must pass. */
static void check_consult(const rnd_params *p, const char *name)
{
    rnd_image t;
    smp_result *r = analyse(p, name, &t);
    print_result(name, r, &t);
    assert_int_equal(r->status, SMP_OK);
    assert_int_equal(r->hair.source, SMP_SOURCE_AUTO);
    assert_int_equal(r->scalp.source, SMP_SOURCE_AUTO);
    assert_true(r->hair.measured);
    assert_true(r->scalp.measured);
    const double hair_truth[3] = {t.hair_truth.L, t.hair_truth.a, t.hair_truth.b};
    const double skin_truth[3] = {t.skin_truth.L, t.skin_truth.a, t.skin_truth.b};
    double dh = smp_de00(r->hair.lab, hair_truth), ds = smp_de00(r->scalp.lab, skin_truth);
    if (dh > HAIR_MAX_DE00)
        fail_msg("%s: hair %.2f ΔE00 from the truth (at most %.1f)", name, dh, HAIR_MAX_DE00);
    if (ds > SKIN_MAX_DE00)
        fail_msg("%s: scalp %.2f ΔE00 from the truth (at most %.1f)", name, ds, SKIN_MAX_DE00);
    if (r->confidence <= MIN_CONFIDENCE)
        fail_msg("%s: confidence %.2f (more than %.1f expected)", name, r->confidence, MIN_CONFIDENCE);
    smp_result_free(r);
    rnd_image_free(&t);
}

/* Colours, CIELAB D50, from the evaluation set's families (tools/gen_samples.c). */
static const rnd_lab BLACK = {15, 0.8, 1.2}, DARK_BROWN = {22, 3, 5}, GREY = {62, 0.5, 6},
                     WHITE = {80, 0.3, 5}, BLOND = {60, 5, 21}, RED = {31, 15, 19};
static const rnd_lab LIGHT_SKIN = {66, 10, 15};   /* ITA 46.8: light */
static const rnd_lab MEDIUM_SKIN = {57, 11, 18};  /* ITA 21.3: tan */
static const rnd_lab DARK_SKIN = {36, 11, 15};    /* ITA -43.0: dark */

static void test_black_on_light(void **state)
{
    (void)state;
    rnd_params p;
    small_scene(&p, 0xa0701, BLACK, LIGHT_SKIN);
    check_consult(&p, "black_on_light.png");
}

static void test_dark_on_dark(void **state)
{
    (void)state;
    rnd_params p;
    small_scene(&p, 0xa0702, DARK_BROWN, DARK_SKIN);
    check_consult(&p, "dark_on_dark.png");
}

static void test_grey_on_dark(void **state)
{
    (void)state;
    rnd_params p;
    small_scene(&p, 0xa0703, GREY, DARK_SKIN);
    check_consult(&p, "grey_on_dark.png");
}

static void test_white_on_dark(void **state)
{
    (void)state;
    rnd_params p;
    small_scene(&p, 0xa0704, WHITE, DARK_SKIN);
    check_consult(&p, "white_on_dark.png");
}

static void test_blond_on_light(void **state)
{
    (void)state;
    rnd_params p;
    small_scene(&p, 0xa0705, BLOND, LIGHT_SKIN);
    check_consult(&p, "blond_on_light.png");
}

static void test_red_on_light(void **state)
{
    (void)state;
    rnd_params p;
    small_scene(&p, 0xa0706, RED, LIGHT_SKIN);
    check_consult(&p, "red_on_light.png");
}

/* Short stubble everywhere around a bare patch: strands 2.3-3.3 px wide and
 * 5-13 px long at this size. */
static void test_stubble_dark_on_medium(void **state)
{
    (void)state;
    rnd_params p;
    small_scene(&p, 0xa0707, DARK_BROWN, MEDIUM_SKIN);
    p.layout = (rnd_layout){RND_LAYOUT_EVEN, 0, 0, 0, 0, 0, -60, 0};
    p.strand_width[0] = 7.0;
    p.strand_width[1] = 10.0;
    p.strand_length[0] = 15.0;
    p.strand_length[1] = 40.0;
    p.spread_deg = 30.0;
    p.coverage = 0.4;
    check_consult(&p, "stubble_dark_on_medium.png");
}

/* Salt-and-pepper: 35 % grey strands among dark ones; the truth is the
 * dominant (dark) colour, which issue 3 item 3 says to match against. */
static void test_salt_and_pepper(void **state)
{
    (void)state;
    rnd_params p;
    small_scene(&p, 0xa0708, (rnd_lab){18, 1.5, 2.5}, LIGHT_SKIN);
    p.hair2 = (rnd_lab){64, 0.5, 6};
    p.hair2_share = 0.35;
    p.hair2_mix = RND_MIX_STRANDS;
    check_consult(&p, "salt_and_pepper.png");
}

/* A wall strip along the bottom edge must end up in neither mask. */
static void test_wall_strip(void **state)
{
    (void)state;
    rnd_params p;
    small_scene(&p, 0xa0709, BLACK, LIGHT_SKIN);
    p.strip = RND_STRIP_WALL;
    p.strip_edge = RND_EDGE_BOTTOM;
    p.strip_depth = 0.12;
    rnd_default_bg(&p, 0);
    check_consult(&p, "wall_strip.png");
}

/* A photo of cloth: no hair, no skin. */
static void test_not_a_scalp(void **state)
{
    (void)state;
    rnd_params p;
    rnd_params_init(&p);
    p.scene = RND_SCENE_CLOTH;
    p.width = 400;
    p.height = 300;
    p.seed = 0xa070a;
    p.shade_global = 1;
    rnd_default_bg(&p, 2); /* grey towel */
    rnd_image t;
    smp_result *r = analyse(&p, "cloth.png", &t);
    print_result("cloth.png", r, &t);
    int warned = 0;
    for (size_t i = 0; i < r->n_warnings; i++)
        warned |= strstr(r->warnings[i], "does not look like") != NULL;
    assert_true(warned);
    assert_true(r->confidence < MIN_CONFIDENCE);
    smp_result_free(r);
    rnd_image_free(&t);
}

/* Brick and wood have a skin-coloured ground with thin lines on it; what
 * tells them from hair on skin is that their lines are straight, or that
 * no bare scalp is left once the lines are taken for skin. Other seeds and
 * sizes than the evaluation set's. */
static void straight_lines_are_not_hair(rnd_scene scene, const char *name, uint64_t seed)
{
    rnd_params p;
    rnd_params_init(&p);
    p.scene = scene;
    p.width = 640;
    p.height = 480;
    p.seed = seed;
    p.shade_global = 1;
    p.shading = 0.08;
    rnd_default_bg(&p, 1);
    rnd_image t;
    smp_result *r = analyse(&p, name, &t);
    print_result(name, r, &t);
    int warned = 0;
    for (size_t i = 0; i < r->n_warnings; i++)
        warned |= strstr(r->warnings[i], "does not look like") != NULL;
    assert_true(warned);
    assert_true(r->confidence < MIN_CONFIDENCE);
    smp_result_free(r);
    rnd_image_free(&t);
}

static void test_brick_is_not_a_scalp(void **state)
{
    (void)state;
    straight_lines_are_not_hair(RND_SCENE_BRICK, "brick.png", 0xb51c);
}

static void test_wood_is_not_a_scalp(void **state)
{
    (void)state;
    straight_lines_are_not_hair(RND_SCENE_WOOD, "wood.png", 0x300d);
}

/* The renderer is what the thresholds above rest on: one params struct
 * always renders the same bytes, and the masks agree with the coverage. */
/* Noise-free skin in two flat tones, 520 and 480 columns wide, with
 * strands across both (a synthetic picture: a photo has noise). Every flat
 * pixel is equally smooth, its local L* deviation exactly 0, so all of them
 * pass the 30 % smoothness cut (which keeps what is at or below its
 * percentile), and the skin colour is the tone of the larger area. Before
 * the deviation was summed directly (a running prefix sum's rounding left
 * residues of about 1e-7 that depended on x), the cut kept a scattered
 * subset and the skin came out as the smaller area's tone (found in
 * review: L* 71.9 instead of 77.4 on a picture like this one). */
static void test_flat_two_tone_skin(void **state)
{
    (void)state;
    enum { W = 1000, H = 750, SPLIT = 520 };
    const float left[3] = {77.4f, 16.0f, 22.7f}, right[3] = {71.9f, 16.1f, 23.1f};
    const float strand[3] = {15.0f, 5.0f, 7.0f};
    smp_lab_image lab = {W, H, malloc((size_t)W * H * 3 * sizeof(float)), calloc((size_t)W * H, 1), NULL, NULL};
    assert_non_null(lab.lab);
    assert_non_null(lab.flags);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int in_strand = fmod(x + 25.0 * sin(y / 37.0) + 40.0, 40.0) < 3.0;
            const float *c = in_strand ? strand : x < SPLIT ? left : right;
            memcpy(lab.lab + 3 * ((size_t)y * W + x), c, sizeof left);
        }
    smp_regions found;
    smp_auto_info ai;
    assert_int_equal(smp_regions_auto(&lab, &found, &ai), SMP_OK);
    assert_non_null(found.scalp);
    size_t on_left = 0, on_right = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            if (found.scalp[(size_t)y * W + x])
                *(x < SPLIT ? &on_left : &on_right) += 1;
    print_message("scalp pixels: %zu in the larger tone, %zu in the smaller\n", on_left, on_right);
    assert_true(on_left > 100000);
    assert_true(on_right * 20 < on_left);
    smp_colour_stat skin;
    assert_int_equal(smp_measure_region(&lab, found.scalp, SMP_TARGET_SKIN, NULL, &skin), SMP_OK);
    assert_true(skin.measured);
    assert_true(fabs(skin.lab[0] - left[0]) < 0.05);
    smp_regions_release(&found);
    smp_lab_image_release(&lab);
}

/* The orientation band of the straightness test against its definition:
 * the 17 boundaries tan(5°k) * |gx| compared with gy one by one (as
 * regions_auto.c did before its lookup table), on random gradients of
 * the sizes a Sobel filter on L* gives, on whole numbers, and on slopes
 * that lie exactly on a boundary (as computed), where "at or below" and
 * "strictly below" differ. tan(5°k) from libm here, as the table's were. */
static int band_by_definition(double gx, double gy)
{
    if (gy < 0) {
        gx = -gx;
        gy = -gy;
    }
    if (gy == 0)
        return 0;
    double t[17];
    for (int k = 0; k < 17; k++)
        t[k] = tan((5.0 * (k + 1)) * 3.14159265358979323846 / 180.0);
    t[8] = 1.0; /* 45°: atan2 gives it exactly */
    int n = 0;
    if (gx > 0) {
        for (int k = 0; k < 17; k++)
            n += t[k] * gx <= gy;
        return n;
    }
    if (gx == 0)
        return 18;
    for (int k = 0; k < 17; k++)
        n += t[k] * -gx < gy;
    return 35 - n;
}

/* Step 4 from distances kept as floats (smp_hair_step): the same pixels
 * as the test on the doubles, for copies of one pixel with L* moved by a
 * few of its ulps (their floats at and beside lim2's), pixels far from the
 * boundary, a lim2 between one pixel's distance and its float (above
 * the distance: only the double says the pixel is not hair), and lim2 = 0.
 * Fails when the pixels whose float equals lim2's are not decided again,
 * or are taken as hair without it. */
#define HAIR_STEP_N 4000
static void test_hair_step(void **state)
{
    (void)state;
    enum { THIN = 0x20, HAIR = 0x40 };
    static float lab[3 * HAIR_STEP_N], d2[HAIR_STEP_N];
    static unsigned char cls[HAIR_STEP_N], got[HAIR_STEP_N], want[HAIR_STEP_N];
    const double skin[3] = {58.0, 12.5, 16.0};
    unsigned seed = 12345;
    for (int i = 0; i < HAIR_STEP_N; i++) {
        seed = seed * 1103515245u + 12345u; /* a fixed LCG: the same pixels every run */
        double u = (double)(seed >> 8) / (double)(1u << 24);
        float *p = lab + 3 * i;
        if (i % 4 == 0) { /* near the boundary: L* 40 moved by -8 .. +8 of its ulps */
            p[0] = 40.0f;
            for (int k = 0; k < (int)(u * 17) - 8; k++)
                p[0] = nextafterf(p[0], 100.0f);
            for (int k = 0; k > (int)(u * 17) - 8; k--)
                p[0] = nextafterf(p[0], 0.0f);
            p[1] = 6.0f;
            p[2] = 9.0f;
        } else {
            p[0] = (float)(20 + 60 * u);
            p[1] = (float)(-5 + 30 * u * u);
            p[2] = (float)(40 * (1 - u));
        }
        d2[i] = (float)smp_dist2(p[0], p[1], p[2], skin);
        cls[i] = (unsigned char)(((seed >> 3) & 0x9F) | ((seed >> 5) % 10 < 7 ? THIN : 0));
    }
    const float at[3] = {40.0f, 6.0f, 9.0f};
    int q = 1; /* a thin pixel whose float is above its distance */
    while ((double)d2[q] <= smp_dist2(lab[3 * q], lab[3 * q + 1], lab[3 * q + 2], skin))
        q++;
    cls[q] |= THIN;
    const double between = (d2[q] + smp_dist2(lab[3 * q], lab[3 * q + 1], lab[3 * q + 2], skin)) / 2;
    const double lim2s[] = {smp_dist2(at[0], at[1], at[2], skin), between, 150.0, 0.0};
    for (size_t l = 0; l < sizeof lim2s / sizeof *lim2s; l++) {
        size_t nwant = 0, unsure = 0;
        for (int i = 0; i < HAIR_STEP_N; i++) {
            int hair = (cls[i] & THIN) && smp_dist2(lab[3 * i], lab[3 * i + 1], lab[3 * i + 2], skin) >= lim2s[l];
            want[i] = (unsigned char)(cls[i] | (hair ? HAIR : 0));
            nwant += (size_t)hair;
            unsure += (cls[i] & THIN) && d2[i] == (float)lim2s[l];
        }
        if (l < 2)
            assert_true(unsure > 0); /* the second pass has work */
        memcpy(got, cls, sizeof got);
        size_t n = smp_hair_step(got, d2, lab, HAIR_STEP_N, skin, lim2s[l], THIN, HAIR);
        assert_memory_equal(got, want, sizeof got);
        assert_int_equal(n, nwant);
    }
}

static void test_orientation_band(void **state)
{
    (void)state;
    uint64_t r = 0x5eed;
    for (int i = 0; i < 200000; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        double gx = (double)(int32_t)(r >> 32) / 2147483648.0 * 400.0;
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        double gy = (double)(int32_t)(r >> 32) / 2147483648.0 * 400.0;
        if (i % 4 == 1)
            gx = (double)(int)gx; /* whole numbers: exact 45° and 90° */
        if (i % 4 == 1)
            gy = (double)(int)gy;
        if (gx == 0 && gy == 0)
            continue;
        assert_int_equal(smp_orientation_band(gx, gy), band_by_definition(gx, gy));
    }
    for (int k = 0; k < 17; k++) /* on each boundary, from all four quadrants */
        for (double g = 0.5; g < 400; g *= 1.7) {
            double t = k == 8 ? 1.0 : tan((5.0 * (k + 1)) * 3.14159265358979323846 / 180.0);
            double gx[4] = {g, -g, g, -g}, gy[4] = {t * g, t * g, -t * g, -t * g};
            for (int q = 0; q < 4; q++)
                assert_int_equal(smp_orientation_band(gx[q], gy[q]), band_by_definition(gx[q], gy[q]));
        }
    assert_int_equal(smp_orientation_band(1, 0), 0);
    assert_int_equal(smp_orientation_band(-1, 0), 0);
    assert_int_equal(smp_orientation_band(0, 1), 18);
    assert_int_equal(smp_orientation_band(0, -1), 18);
    assert_int_equal(smp_orientation_band(1, 1), 9);   /* 45° */
    assert_int_equal(smp_orientation_band(-1, 1), 27); /* 135° */
    assert_int_equal(smp_orientation_band(1, -1), 27);
    assert_int_equal(smp_orientation_band(1, 1e-3), 0);
    assert_int_equal(smp_orientation_band(-1, 1e-3), 35);
}

/* The region finder's first step taken as a JPEG's rows come (the seed
 * pass the colour conversion feeds on the photo's helper: regions.h)
 * against the region finder taking it itself, in the same order, for
 * every EXIF orientation: the same masks and the same findings. The
 * stored rows are fed in uneven batches, as a decoder reports them. For
 * orientation 1 both also equal the finder given no pass at all. */
static void test_seed_pass(void **state)
{
    (void)state;
    rnd_params p;
    small_scene(&p, 0x5eed5, DARK_BROWN, MEDIUM_SKIN);
    rnd_image t;
    char err[256];
    assert_int_equal(rnd_render(&p, &t, err, sizeof err), 0);
    smp_image img = {.width = t.width, .height = t.height, .channels = 3, .bits = 8,
                     .stride = (size_t)t.width * 3, .pixels = t.rgb};
    smp_lab_image shown; /* as displayed */
    smp_colour_info info;
    smp_error cerr;
    assert_int_equal(smp_colour_to_lab("scene", &img, &shown, &info, &cerr), SMP_OK);
    const int W = shown.width, H = shown.height;
    float *row = malloc((size_t)(W > H ? W : H) * 3 * sizeof *row);
    unsigned char *flags = calloc((size_t)(W > H ? W : H), 1);
    smp_lab_image live = shown;
    live.lab = malloc((size_t)W * H * 3 * sizeof *row);
    assert_non_null(live.lab);
    assert_non_null(row);
    assert_non_null(flags);
    for (int turn = 1; turn <= 8; turn++) {
        int sw = turn >= 5 ? H : W, sh = turn >= 5 ? W : H;
        /* The image as the conversion fills it: rows not yet converted
         * hold a grey no deviation may see. */
        for (size_t i = 0; i < (size_t)W * H; i++) {
            live.lab[3 * i] = 99.0f;
            live.lab[3 * i + 1] = live.lab[3 * i + 2] = 0.0f;
        }
        smp_seed_pass fed;
        memset(&fed, 0, sizeof fed);
        assert_int_equal(smp_seed_pass_begin(&fed, &live, turn, sw, sh), 1);
        for (int y = 0, batch = 1; y < sh; batch = batch % 13 + 5) {
            int upto = y + batch < sh ? y + batch : sh;
            for (; y < upto; y++) {
                ptrdiff_t at, step;
                smp_orient_walk(turn, sw, sh, y, &at, &step);
                for (int x = 0; x < sw; x++) {
                    memcpy(row + 3 * x, shown.lab + 3 * (at + x * step), 3 * sizeof *row);
                    memcpy(live.lab + 3 * (at + x * step), row + 3 * x, 3 * sizeof *row);
                }
                smp_seed_pass_row(&fed, y, row, flags);
            }
            smp_seed_pass_follow(&fed, live.lab, upto);
        }
        assert_true(fed.complete);
        assert_memory_equal(live.lab, shown.lab, (size_t)W * H * 3 * sizeof *row);
        smp_seed_pass own = {.turn = turn, .sw = sw, .sh = sh}; /* not followed */
        smp_regions a, b;
        smp_auto_info ia, ib;
        assert_int_equal(smp_regions_auto_seeded(&shown, &fed, &a, &ia), SMP_OK);
        assert_null(fed.cls); /* the finder took the pass's work */
        assert_int_equal(smp_regions_auto_seeded(&shown, &own, &b, &ib), SMP_OK);
        assert_non_null(a.hair);
        assert_non_null(a.scalp);
        assert_non_null(b.hair);
        assert_non_null(b.scalp);
        assert_memory_equal(a.hair, b.hair, (size_t)W * H);
        assert_memory_equal(a.scalp, b.scalp, (size_t)W * H);
        assert_memory_equal(&ia, &ib, sizeof ia);
        assert_true(ia.looks_like_scalp);
        if (turn == 1) {
            smp_regions c;
            smp_auto_info ic;
            assert_int_equal(smp_regions_auto(&shown, &c, &ic), SMP_OK);
            assert_memory_equal(a.hair, c.hair, (size_t)W * H);
            assert_memory_equal(a.scalp, c.scalp, (size_t)W * H);
            assert_memory_equal(&ia, &ic, sizeof ia);
            smp_regions_release(&c);
        }
        smp_regions_release(&a);
        smp_regions_release(&b);
        smp_seed_pass_release(&fed);
    }
    free(row);
    free(flags);
    free(live.lab);
    smp_lab_image_release(&shown);
    rnd_image_free(&t);
}

static void test_render_deterministic(void **state)
{
    (void)state;
    rnd_params p;
    small_scene(&p, 0xa070b, BLACK, LIGHT_SKIN);
    p.hair2 = GREY;
    p.hair2_share = 0.3;
    p.strip = RND_STRIP_COMB;
    p.strip_edge = RND_EDGE_BOTTOM;
    rnd_default_bg(&p, 1);
    rnd_image a, b;
    char err[256];
    assert_int_equal(rnd_render(&p, &a, err, sizeof err), 0);
    assert_int_equal(rnd_render(&p, &b, err, sizeof err), 0);
    size_t n = (size_t)a.width * (size_t)a.height;
    assert_memory_equal(a.rgb, b.rgb, n * 3);
    size_t hair = 0, skin = 0;
    for (size_t i = 0; i < n; i++) {
        assert_false(a.hair_mask[i] && a.skin_mask[i]);
        assert_int_equal(a.hair_mask[i] != 0, a.coverage[i] >= 0.5f);
        hair += a.hair_mask[i] != 0;
        skin += a.skin_mask[i] != 0;
    }
    /* The comb covers the bottom ~12 %: some pixels are neither. */
    assert_true(hair > n / 10 && skin > n / 10 && hair + skin < n * 95 / 100);
    rnd_image_free(&a);
    rnd_image_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orientation_band),
        cmocka_unit_test(test_hair_step),
        cmocka_unit_test(test_seed_pass),
        cmocka_unit_test(test_render_deterministic),
        cmocka_unit_test(test_flat_two_tone_skin),
        cmocka_unit_test(test_black_on_light),
        cmocka_unit_test(test_dark_on_dark),
        cmocka_unit_test(test_grey_on_dark),
        cmocka_unit_test(test_white_on_dark),
        cmocka_unit_test(test_blond_on_light),
        cmocka_unit_test(test_red_on_light),
        cmocka_unit_test(test_stubble_dark_on_medium),
        cmocka_unit_test(test_salt_and_pepper),
        cmocka_unit_test(test_wall_strip),
        cmocka_unit_test(test_not_a_scalp),
        cmocka_unit_test(test_brick_is_not_a_scalp),
        cmocka_unit_test(test_wood_is_not_a_scalp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
