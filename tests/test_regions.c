/*
 * test_regions.c: rectangles and mask files (src/regions.c) and the
 * rectangle syntax (smp_rect_parse in src/pipeline.c).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "regions.h"
#include "smpmatch.h"

static void test_rect_parse(void **state)
{
    (void)state;
    smp_rect r;
    assert_int_equal(smp_rect_parse("10,20,30,40", &r), 0);
    assert_int_equal(r.x, 10);
    assert_int_equal(r.y, 20);
    assert_int_equal(r.w, 30);
    assert_int_equal(r.h, 40);
    const char *bad[] = {"", "1,2,3", "1,2,3,4,5", "a,b,c,d", "-1,2,3,4", "1,2,0,4", "1,2,3,0",
                         "1, 2,3,4", "1,2,3,4x", "1,2,3,99999999999", NULL};
    for (int i = 0; bad[i]; i++)
        if (smp_rect_parse(bad[i], &r) == 0)
            fail_msg("\"%s\" was accepted", bad[i]);
}

static void test_rect_clip(void **state)
{
    (void)state;
    smp_rect c;
    assert_int_equal(smp_rect_clip((smp_rect){10, 10, 20, 20}, 100, 50, &c), 0);
    assert_int_equal(c.w, 20);
    assert_int_equal(smp_rect_clip((smp_rect){90, 40, 20, 20}, 100, 50, &c), 0);
    assert_int_equal(c.x, 90);
    assert_int_equal(c.w, 10);
    assert_int_equal(c.h, 10);
    assert_int_equal(smp_rect_clip((smp_rect){100, 0, 5, 5}, 100, 50, &c), -1);
    assert_int_equal(smp_rect_clip((smp_rect){0, 50, 5, 5}, 100, 50, &c), -1);
}

static size_t count(const unsigned char *m, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += m[i] != 0;
    return k;
}

/* Several rectangles are united; one reaching outside is clipped with a
 * warning; one wholly outside is an error naming the photo. */
static void test_rectangles(void **state)
{
    (void)state;
    smp_options opt;
    smp_options_init(&opt);
    opt.hair_roi[0] = (smp_rect){0, 0, 10, 10};
    opt.hair_roi[1] = (smp_rect){5, 5, 10, 10}; /* overlaps: 175 px in all */
    opt.n_hair_roi = 2;
    opt.scalp_roi[0] = (smp_rect){90, 40, 20, 20}; /* 10 x 10 inside */
    opt.n_scalp_roi = 1;
    smp_regions reg;
    char **warn = NULL;
    size_t nwarn = 0;
    smp_error err;
    assert_int_equal(smp_regions_build("p.jpg", &opt, NULL, 100, 50, &reg, &warn, &nwarn, &err), SMP_OK);
    assert_int_equal(reg.hair_source, SMP_SOURCE_ROI);
    assert_int_equal(count(reg.hair, 5000), 175);
    assert_int_equal(count(reg.scalp, 5000), 100);
    assert_int_equal(nwarn, 1);
    assert_non_null(strstr(warn[0], "outside"));
    smp_regions_release(&reg);
    free(warn[0]);
    free(warn);

    opt.hair_roi[1] = (smp_rect){200, 0, 10, 10};
    warn = NULL;
    nwarn = 0;
    assert_int_equal(smp_regions_build("p.jpg", &opt, NULL, 100, 50, &reg, &warn, &nwarn, &err), SMP_E_ARG);
    assert_true(strncmp(err.message, "p.jpg: ", 7) == 0);
    assert_non_null(strstr(err.message, "outside the 100 x 50 photo"));
    assert_null(reg.hair);
    for (size_t i = 0; i < nwarn; i++)
        free(warn[i]);
    free(warn);

    /* More rectangles than the options hold: refused, never read past. */
    opt.hair_roi[1] = (smp_rect){5, 5, 10, 10};
    opt.n_hair_roi = SMP_MAX_ROIS + 1;
    assert_int_equal(smp_regions_build("p.jpg", &opt, NULL, 100, 50, &reg, &warn, &nwarn, &err), SMP_E_ARG);
    assert_non_null(strstr(err.message, "more than"));
    /* A mask and rectangles for one region: which to measure would be a guess. */
    opt.n_hair_roi = 1;
    opt.hair_mask = "m.png";
    assert_int_equal(smp_regions_build("p.jpg", &opt, NULL, 100, 50, &reg, &warn, &nwarn, &err), SMP_E_ARG);
    assert_non_null(strstr(err.message, "both"));

    /* Nothing given: no masks (the pipeline measures the whole photo). */
    smp_options_init(&opt);
    assert_int_equal(smp_regions_build("p.jpg", &opt, NULL, 100, 50, &reg, &warn, &nwarn, &err), SMP_OK);
    assert_null(reg.hair);
    assert_null(reg.scalp);
}

/* Mask files: non-zero is in; the size must be the photo's; not a PNG or
 * unreadable is an error naming the photo and the mask. */
static void test_mask_files(void **state)
{
    (void)state;
    unsigned char px[40 * 30];
    memset(px, 0, sizeof px);
    for (int y = 10; y < 20; y++)
        memset(px + y * 40 + 5, 255, 7);
    const char *good = tu_path("mask.png");
    assert_int_equal(enc_png(good, NULL, NULL, px, 40, 30, ENC_PNG_GREY, &(enc_png_opts){.bits = 8}), 0);
    smp_options opt;
    smp_options_init(&opt);
    opt.hair_mask = good;
    smp_regions reg;
    char **warn = NULL;
    size_t nwarn = 0;
    smp_error err;
    assert_int_equal(smp_regions_build("p.jpg", &opt, NULL, 40, 30, &reg, &warn, &nwarn, &err), SMP_OK);
    assert_int_equal(reg.hair_source, SMP_SOURCE_MASK);
    assert_int_equal(count(reg.hair, 1200), 70);
    assert_true(reg.hair[15 * 40 + 5] && !reg.hair[15 * 40 + 4]);
    smp_regions_release(&reg);

    assert_int_equal(smp_regions_build("p.jpg", &opt, NULL, 41, 30, &reg, &warn, &nwarn, &err), SMP_E_ARG);
    assert_non_null(strstr(err.message, "40 x 30"));
    assert_true(strncmp(err.message, "p.jpg: ", 7) == 0);

    const char *jpg = tu_path("mask.jpg");
    assert_int_equal(enc_jpeg(jpg, NULL, NULL, px, 40, 30, 1, &(enc_jpeg_opts){.quality = 90}), 0);
    opt.hair_mask = jpg;
    assert_int_equal(smp_regions_build("p.jpg", &opt, NULL, 40, 30, &reg, &warn, &nwarn, &err), SMP_E_FORMAT);
    assert_non_null(strstr(err.message, "not a PNG"));

    opt.hair_mask = tu_path("no-such-mask.png");
    assert_int_not_equal(smp_regions_build("p.jpg", &opt, NULL, 40, 30, &reg, &warn, &nwarn, &err), SMP_OK);
    assert_non_null(strstr(err.message, "no such file"));
    assert_non_null(strstr(err.message, "hair mask"));
    assert_int_equal(nwarn, 0);
    free(warn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rect_parse),
        cmocka_unit_test(test_rect_clip),
        cmocka_unit_test(test_rectangles),
        cmocka_unit_test(test_mask_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
