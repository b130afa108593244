/*
 * test_measure.c: the robust hair and skin colour (src/measure.c).
 *
 * The pixels here are drawn the way a hair rectangle looks: pure strand
 * colour with camera noise, bare skin between strands, strand edges that
 * mix the two, and specular highlights. The tests show why the centre is the
 * mode of the hair group and not the mean or the median.
 */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "colour.h"
#include "measure.h"
#include "util.h"

/* A small deterministic generator (xorshift64*) and Box–Muller normals. */
static uint64_t rng = 88172645463325252ull;
static double uniform(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}
static double normal(void)
{
    double u = uniform(), v = uniform();
    if (u < 1e-12)
        u = 1e-12;
    return sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979 * v);
}

static const double HAIR[3] = {22.0, 3.0, 6.0};  /* dark brown */
static const double SKIN[3] = {66.0, 12.0, 17.0}; /* light skin, ITA° 43 */

typedef struct mix {
    double hair, skin, edge, specular; /* shares, summing to 1 */
} mix;

/* Fills a w x h Lab image with pixels drawn from the mix. Noise sigma 1.0
 * per channel, about what an 8-bit phone photo shows on dark tones. */
static smp_lab_image draw(int w, int h, mix m)
{
    smp_lab_image img = {w, h, malloc((size_t)w * h * 3 * sizeof(float)), calloc((size_t)w * h, 1), NULL, NULL};
    for (int i = 0; i < w * h; i++) {
        double u = uniform(), c[3];
        if (u < m.hair) {
            memcpy(c, HAIR, sizeof c);
        } else if (u < m.hair + m.skin) {
            memcpy(c, SKIN, sizeof c);
        } else if (u < m.hair + m.skin + m.edge) {
            /* strand edge: a mix with 10 % to 90 % skin */
            double t = 0.1 + 0.8 * uniform();
            for (int k = 0; k < 3; k++)
                c[k] = HAIR[k] + t * (SKIN[k] - HAIR[k]);
        } else {
            /* specular highlight: much lighter, less saturated */
            c[0] = HAIR[0] + 25 + 10 * uniform();
            c[1] = HAIR[1] * 0.3;
            c[2] = HAIR[2] * 0.3;
        }
        for (int k = 0; k < 3; k++)
            img.lab[3 * i + k] = (float)(c[k] + normal());
    }
    return img;
}

/* The estimators on the hair strands with their mixed edges and highlights
 * (the skin left out, as the 2-means split does): the mean and the median
 * are pulled towards the skin; the mode is not. */
static void test_mode_beats_mean_and_median(void **state)
{
    (void)state;
    smp_lab_image img = draw(200, 200, (mix){0.65, 0.0, 0.28, 0.07});
    size_t n = 200 * 200;
    double mean[3], median[3], mode[3];
    smp_centre_mean(img.lab, n, mean);
    assert_int_equal(smp_centre_median(img.lab, n, median), SMP_OK);
    assert_int_equal(smp_centre_mode(img.lab, n, mode, NULL), SMP_OK);
    double de_mean = smp_de00(mean, HAIR), de_median = smp_de00(median, HAIR),
           de_mode = smp_de00(mode, HAIR);
    print_message("ΔE00 from the true hair colour: mean %.2f, median %.2f, mode %.2f\n", de_mean,
                  de_median, de_mode);
    assert_true(de_mode < 0.3);
    assert_true(de_median > 2 * de_mode && de_median > 0.5);
    assert_true(de_mean > 3.0);
    smp_lab_image_release(&img);
}

/* A whole hair rectangle: 45 % strands, 30 % skin between them, edges and
 * highlights. With the skin colour known, and without. */
static void test_hair_region(void **state)
{
    (void)state;
    smp_lab_image img = draw(300, 200, (mix){0.45, 0.30, 0.20, 0.05});
    smp_colour_stat s = {0};
    assert_int_equal(smp_measure_region(&img, NULL, SMP_TARGET_HAIR, SKIN, &s), SMP_OK);
    assert_true(s.measured);
    print_message("hair with skin known: ΔE00 %.3f, %zu px, spread %.2f\n", smp_de00(s.lab, HAIR),
                  s.pixels, s.spread_de);
    assert_true(smp_de00(s.lab, HAIR) < 0.3);
    assert_int_equal(s.region_pixels, 300 * 200);
    /* kept: the strands and some edges, not the skin */
    assert_true(s.pixels > 0.40 * 60000 && s.pixels < 0.70 * 60000);
    assert_true(s.spread_de > 0.3 && s.spread_de < 3.0);

    smp_colour_stat t = {0};
    assert_int_equal(smp_measure_region(&img, NULL, SMP_TARGET_HAIR, NULL, &t), SMP_OK);
    assert_true(smp_de00(t.lab, HAIR) < 0.3);
    smp_lab_image_release(&img);
}

/* A rectangle over thinning hair, with no scalp rectangle to say what the
 * skin looks like: the strands are the minority, and must still be what is
 * measured (the skin is the lighter group). */
static void test_sparse_hair_without_skin(void **state)
{
    (void)state;
    smp_lab_image img = draw(200, 200, (mix){0.30, 0.60, 0.08, 0.02});
    smp_colour_stat s = {0};
    assert_int_equal(smp_measure_region(&img, NULL, SMP_TARGET_HAIR, NULL, &s), SMP_OK);
    assert_true(s.measured);
    assert_true(smp_de00(s.lab, HAIR) < 0.3);
    smp_colour_stat k = {0};
    assert_int_equal(smp_measure_region(&img, NULL, SMP_TARGET_SKIN, NULL, &k), SMP_OK);
    assert_true(smp_de00(k.lab, SKIN) < 0.3);
    smp_lab_image_release(&img);
}

/* A scalp rectangle with a few strands crossing it. */
static void test_skin_region(void **state)
{
    (void)state;
    smp_lab_image img = draw(200, 200, (mix){0.08, 0.85, 0.05, 0.02});
    smp_colour_stat s = {0};
    assert_int_equal(smp_measure_region(&img, NULL, SMP_TARGET_SKIN, NULL, &s), SMP_OK);
    assert_true(s.measured);
    assert_true(smp_de00(s.lab, SKIN) < 0.2);
    smp_lab_image_release(&img);
}

/* Grey hair on dark skin: the hair is the lighter material. */
static void test_grey_hair_on_dark_skin(void **state)
{
    (void)state;
    const double grey[3] = {62, 0.5, 3}, dark[3] = {32, 9, 14};
    smp_lab_image img = {100, 100, malloc(100 * 100 * 3 * sizeof(float)), calloc(100 * 100, 1), NULL, NULL};
    for (int i = 0; i < 10000; i++) {
        const double *c = (i % 10) < 6 ? grey : dark;
        for (int k = 0; k < 3; k++)
            img.lab[3 * i + k] = (float)(c[k] + 0.8 * normal());
    }
    smp_colour_stat s = {0};
    assert_int_equal(smp_measure_region(&img, NULL, SMP_TARGET_HAIR, dark, &s), SMP_OK);
    assert_true(smp_de00(s.lab, grey) < 0.2);
    /* And with neither colour known: the lighter group is grey, so the skin
     * is the darker one. */
    smp_colour_stat h = {0}, k = {0};
    assert_int_equal(smp_measure_region(&img, NULL, SMP_TARGET_HAIR, NULL, &h), SMP_OK);
    assert_int_equal(smp_measure_region(&img, NULL, SMP_TARGET_SKIN, NULL, &k), SMP_OK);
    assert_true(h.measured && k.measured);
    assert_true(smp_de00(h.lab, grey) < 0.2);
    assert_true(smp_de00(k.lab, dark) < 0.2);
    smp_lab_image_release(&img);
}

/* Auburn hair is redder than the light skin under it: with neither colour
 * known the skin is still the lighter group. */
static void test_auburn_without_skin(void **state)
{
    (void)state;
    const double auburn[3] = {31, 15, 19}, skin[3] = {66, 10, 14};
    smp_lab_image img = {100, 100, malloc(100 * 100 * 3 * sizeof(float)), calloc(100 * 100, 1), NULL, NULL};
    for (int i = 0; i < 10000; i++) {
        const double *c = (i % 10) < 4 ? auburn : skin;
        for (int k = 0; k < 3; k++)
            img.lab[3 * i + k] = (float)(c[k] + 0.8 * normal());
    }
    smp_colour_stat h = {0}, k = {0};
    assert_int_equal(smp_measure_region(&img, NULL, SMP_TARGET_HAIR, NULL, &h), SMP_OK);
    assert_int_equal(smp_measure_region(&img, NULL, SMP_TARGET_SKIN, NULL, &k), SMP_OK);
    assert_true(smp_de00(h.lab, auburn) < 0.2);
    assert_true(smp_de00(k.lab, skin) < 0.2);
    smp_lab_image_release(&img);
}

/* Salt-and-pepper: dark and grey strands over skin, with edges. Two groups,
 * the dark one first, the grey one flagged; strand edges (mixes with skin)
 * never become a group of their own. */
static void test_salt_and_pepper_groups(void **state)
{
    (void)state;
    const double dark[3] = {20, 1, 2}, grey[3] = {70, 0.5, 4};
    smp_lab_image img = {200, 200, malloc(200 * 200 * 3 * sizeof(float)), calloc(200 * 200, 1), NULL, NULL};
    for (int i = 0; i < 200 * 200; i++) {
        double u = uniform(), c[3];
        if (u < 0.45) {
            memcpy(c, dark, sizeof c);
        } else if (u < 0.70) {
            memcpy(c, grey, sizeof c);
        } else if (u < 0.90) {
            memcpy(c, SKIN, sizeof c);
        } else {
            double t = 0.2 + 0.6 * uniform();
            for (int k = 0; k < 3; k++)
                c[k] = dark[k] + t * (SKIN[k] - dark[k]);
        }
        for (int k = 0; k < 3; k++)
            img.lab[3 * i + k] = (float)(c[k] + normal());
    }
    struct smp_hair_cluster g[4];
    double grey_share;
    size_t n;
    smp_colour_stat hair, alone;
    assert_int_equal(smp_measure_hair(&img, NULL, SKIN, &hair, g, &n, &grey_share), SMP_OK);
    /* The hair's colour from the shared pass is the one smp_measure_region
     * gives on its own: the groups do not disturb its pixels. */
    assert_int_equal(smp_measure_region(&img, NULL, SMP_TARGET_HAIR, SKIN, &alone), SMP_OK);
    assert_true(hair.measured && alone.measured);
    assert_memory_equal(hair.lab, alone.lab, sizeof hair.lab);
    assert_int_equal(hair.pixels, alone.pixels);
    assert_int_equal(n, 2);
    assert_true(smp_de00(g[0].lab, dark) < 0.5);
    assert_true(smp_de00(g[1].lab, grey) < 0.5);
    assert_false(g[0].grey);
    assert_true(g[1].grey);
    assert_true(g[0].share > 0.55 && g[0].share < 0.72); /* 45 : 25, plus a few edges */
    assert_true(fabs(grey_share - g[1].share) < 1e-12);
    assert_true(fabs(g[0].share + g[1].share - 1.0) < 1e-9);

    /* One hair colour with its edges: one group. */
    smp_lab_image one = draw(200, 200, (mix){0.5, 0.3, 0.18, 0.02});
    assert_int_equal(smp_measure_hair(&one, NULL, SKIN, &hair, g, &n, &grey_share), SMP_OK);
    assert_int_equal(n, 1);
    assert_true(smp_de00(g[0].lab, HAIR) < 0.3);
    assert_true(grey_share == 0.0);
    smp_lab_image_release(&img);
    smp_lab_image_release(&one);
}

/* Masks select pixels; clipped and transparent pixels never count; too few
 * pixels is "not measured", not a guess. */
static void test_mask_and_flags(void **state)
{
    (void)state;
    smp_lab_image img = {10, 10, malloc(300 * sizeof(float)), calloc(100, 1), NULL, NULL};
    unsigned char mask[100] = {0};
    for (int i = 0; i < 100; i++) {
        img.lab[3 * i] = i < 50 ? 20.0f : 70.0f;
        img.lab[3 * i + 1] = 5.0f;
        img.lab[3 * i + 2] = 5.0f;
    }
    smp_colour_stat s = {0};
    memset(mask, 1, 50);
    assert_int_equal(smp_measure_region(&img, mask, SMP_TARGET_HAIR, NULL, &s), SMP_OK);
    assert_true(s.measured);
    assert_true(fabs(s.lab[0] - 20.0) < 1e-4);
    /* Flag 10 of the 50 as clipped: 40 usable, under the minimum. */
    for (int i = 0; i < 10; i++)
        img.flags[i] = SMP_PX_CLIPPED_HIGH;
    assert_int_equal(smp_measure_region(&img, mask, SMP_TARGET_HAIR, NULL, &s), SMP_OK);
    assert_false(s.measured);
    assert_int_equal(s.region_pixels, 50);
    smp_lab_image_release(&img);
}

/* The order statistics that the medians and percentiles rest on must give
 * exactly what a full sort gives, for any k: values spread over many
 * histogram bins, piled into one bin, repeated, outside the binned range
 * (-256..256), and each at a bin's lower edge (where the gathering's test
 * of four at a time must not lose them), read with a stride as from Lab
 * triples. */
static void test_kth_matches_sort(void **state)
{
    (void)state;
    enum { N = 3001 };
    float *v = malloc(3 * N * sizeof *v), *sorted = malloc(N * sizeof *sorted);
    float *scratch = malloc(N * sizeof *scratch), *copy = malloc(N * sizeof *copy);
    assert_non_null(v);
    assert_non_null(sorted);
    assert_non_null(scratch);
    assert_non_null(copy);
    unsigned seed = 12345;
    for (int kind = 0; kind < 5; kind++) {
        for (size_t i = 0; i < N; i++) {
            seed = seed * 1103515245u + 12345u;
            float u = (float)((seed >> 8) & 0xffff) / 65536.0f;
            float x = kind == 0 ? 100.0f * u - 50.0f           /* many bins */
                      : kind == 1 ? 66.0f + 0.1f * u           /* one bin */
                      : kind == 2 ? (float)((seed >> 8) % 5)   /* repeats */
                      : kind == 3 ? 2000.0f * u - 1000.0f      /* beyond the bins */
                                  : -50.0f + (float)((seed >> 8) % 800) / 8.0f; /* each on a bin's edge */
            v[3 * i + 1] = x;
            v[3 * i] = v[3 * i + 2] = -1e9f; /* the other channels must not count */
            sorted[i] = x;
        }
        qsort(sorted, N, sizeof *sorted, smp_cmp_float);
        const size_t ks[] = {0, 1, N / 4, N / 2, (3 * N) / 4, N - 2, N - 1};
        for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
            assert_true(smp_kth_float(v + 1, N, 3, ks[j], scratch) == sorted[ks[j]]);
            for (size_t i = 0; i < N; i++)
                copy[i] = v[3 * i + 1];
            assert_true(smp_select_float(copy, N, ks[j]) == sorted[ks[j]]);
        }
    }
    free(v);
    free(sorted);
    free(scratch);
    free(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_beats_mean_and_median),
        cmocka_unit_test(test_hair_region),
        cmocka_unit_test(test_sparse_hair_without_skin),
        cmocka_unit_test(test_skin_region),
        cmocka_unit_test(test_grey_hair_on_dark_skin),
        cmocka_unit_test(test_auburn_without_skin),
        cmocka_unit_test(test_salt_and_pepper_groups),
        cmocka_unit_test(test_mask_and_flags),
        cmocka_unit_test(test_kth_matches_sort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
