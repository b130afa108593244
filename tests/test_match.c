/*
 * test_match.c: colour differences against published and reference values,
 * verdicts, and ranking (src/match.c).
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"
#include "pipeline.h"
#include "smpmatch.h"

/* Sharma, Wu & Dalal (2005), Table 1: all 34 pairs to 1e-4 (the table has
 * 4 decimals). */
static void test_ciede2000_sharma(void **state)
{
    (void)state;
    double *rows;
    size_t n = tu_csv_numbers(SMP_TEST_DATA "/ciede2000_sharma.csv", 8, &rows);
    assert_int_equal(n, 34);
    for (size_t i = 0; i < n; i++) {
        const double *r = rows + 8 * i;
        double d = smp_delta_e(SMP_METRIC_DE2000, r + 1, r + 4);
        if (fabs(d - r[7]) > 1e-4)
            fail_msg("pair %.0f: ΔE00 %.6f, published %.4f", r[0], d, r[7]);
        /* CIEDE2000 is symmetric. */
        assert_true(fabs(smp_delta_e(SMP_METRIC_DE2000, r + 4, r + 1) - d) < 1e-9);
    }
    free(rows);
}

/* 2,000 pairs (1,500 hair- and pigment-like) from colorjs.io 0.5.2: every
 * metric to 1e-4, ΔE94 being ours (graphic arts, first colour reference). */
static void test_delta_e_pairs(void **state)
{
    (void)state;
    double *rows;
    size_t n = tu_csv_numbers(SMP_TEST_DATA "/delta_e_pairs.csv", 11, &rows);
    assert_int_equal(n, 2000);
    const struct {
        smp_metric m;
        int col;
    } cases[] = {{SMP_METRIC_DE76, 6}, {SMP_METRIC_DE94, 7}, {SMP_METRIC_DE2000, 8}, {SMP_METRIC_CMC, 9}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            const double *r = rows + 11 * i;
            double d = smp_delta_e(cases[c].m, r, r + 3);
            double e = fabs(d - r[cases[c].col]);
            if (e > worst)
                worst = e;
            if (e > 1e-4)
                fail_msg("%s pair %zu: %.6f, reference %.6f", smp_metric_name(cases[c].m), i + 1, d,
                         r[cases[c].col]);
        }
    }
    free(rows);
}

/* Our ΔE94 is not LittleCMS's: on the reference pairs the two differ
 * (LittleCMS uses the symmetric chroma, column dE94sym), which is why we
 * have our own. */
static void test_de94_is_asymmetric(void **state)
{
    (void)state;
    const double ref[3] = {40, 20, 30}, smp[3] = {42, 10, 12};
    double a = smp_delta_e(SMP_METRIC_DE94, ref, smp), b = smp_delta_e(SMP_METRIC_DE94, smp, ref);
    assert_true(fabs(a - b) > 0.1);
    assert_true(smp_de94(ref, ref) == 0.0);
}

static void test_verdicts(void **state)
{
    (void)state;
    assert_string_equal(smp_verdict(0.0), "indistinguishable");
    assert_string_equal(smp_verdict(0.8), "indistinguishable");
    assert_string_equal(smp_verdict(0.81), "acceptable");
    assert_string_equal(smp_verdict(1.8), "acceptable");
    assert_string_equal(smp_verdict(1.81), "marginal");
    assert_string_equal(smp_verdict(3.5), "marginal");
    assert_string_equal(smp_verdict(3.51), "no good match");
}

static void test_metric_names(void **state)
{
    (void)state;
    const char *names[] = {"de2000", "de94", "de76", "cmc"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(smp_metric_parse(names[i]), i);
        assert_string_equal(smp_metric_name((smp_metric)i), names[i]);
    }
    assert_int_equal(smp_metric_parse("de2001"), -1);
    assert_int_equal(smp_metric_parse(""), -1);
    assert_int_equal(smp_metric_parse(NULL), -1);
}

static smp_palette *palette_from(const char *csv)
{
    smp_palette *p = NULL;
    smp_error err;
    if (smp_palette_load_memory("test.csv", csv, strlen(csv), &p, &err) != SMP_OK)
        fail_msg("palette: %s", err.message);
    return p;
}

/* Bottle colours against the hair (--model direct), no mixes: the ranking
 * alone. The matches are taken out of the result. */
static smp_status rank_direct(const smp_palette *p, const double hair[3], smp_metric metric, int top,
                              smp_match **m, size_t *n)
{
    smp_heal_ctx h;
    smp_options opt;
    smp_options_init(&opt);
    smp_result *r = smp_result_new("test", &opt);
    assert_non_null(r);
    assert_int_equal(smp_heal_ctx_init(&h), SMP_OK);
    smp_match_params mp = {.palette = p, .hair = hair, .metric = metric,
                           .model = SMP_MODEL_DIRECT, .top = top};
    smp_status st = smp_match_result(&mp, &h, r);
    smp_heal_ctx_release(&h);
    *m = r->matches;
    *n = r->n_matches;
    r->matches = NULL;
    r->n_matches = 0;
    smp_result_free(r);
    return st;
}

/* Ranking: nearest first, diluents never listed, --top respected, shades
 * within 0.8 ΔE00 of the group's best share its rank. */
static void test_rank(void **state)
{
    (void)state;
    smp_palette *p = palette_from("name,code,L,a,b,kind\n"
                                  "Far,F,60,0,0,pigment\n"
                                  "Near,N,30.5,0,0,pigment\n"
                                  "Water,W,30,0,0,diluent\n"
                                  "Exact,E,30,0,0,pigment\n"
                                  "Mid,M,34,0,0,pigment\n");
    const double hair[3] = {30, 0, 0};
    smp_match *m;
    size_t n;
    assert_int_equal(rank_direct(p, hair, SMP_METRIC_DE2000, 10, &m, &n), SMP_OK);
    assert_int_equal(n, 4); /* the diluent is not a shade */
    assert_string_equal(m[0].name, "Exact");
    assert_string_equal(m[1].name, "Near");
    assert_string_equal(m[2].name, "Mid");
    assert_string_equal(m[3].name, "Far");
    assert_int_equal(m[0].rank, 1);
    assert_int_equal(m[1].rank, 1); /* within 0.8 of Exact: equally good */
    assert_int_equal(m[2].rank, 3);
    assert_int_equal(m[3].rank, 4);
    assert_true(m[0].delta_e < 1e-9);
    assert_string_equal(m[0].verdict, "indistinguishable");
    assert_string_equal(m[3].verdict, "no good match");
    for (size_t i = 1; i < n; i++)
        assert_true(m[i].delta_e >= m[i - 1].delta_e);
    smp_matches_free(m, n);

    assert_int_equal(rank_direct(p, hair, SMP_METRIC_DE76, 2, &m, &n), SMP_OK);
    assert_int_equal(n, 2);
    assert_true(fabs(m[1].delta_e - 0.5) < 1e-9); /* ΔE76 of Near */
    smp_matches_free(m, n);
    smp_palette_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ciede2000_sharma), cmocka_unit_test(test_delta_e_pairs),
        cmocka_unit_test(test_de94_is_asymmetric), cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_metric_names), cmocka_unit_test(test_rank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
