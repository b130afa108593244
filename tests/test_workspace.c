/*
 * test_workspace.c: smp_workspace, the memory a thread reuses from photo to
 * photo (issue 5: a batch's memory must stay flat, also on several threads).
 *
 * - The block rules of util.c: a given-back block serves the next request
 *   of about its size, not a much smaller one; small requests go to malloc;
 *   blocks a photo did not use are unmapped when it ends; a full lending
 *   table falls back to malloc; anything malloc'd may be given back.
 * - The library's own workspace for one photo carves small blocks from
 *   shared slabs and does not keep big ones, and blocks of any size from
 *   a reserve touched ahead (smp_work_reserve).
 * - Photos analysed through one workspace, in two orders, give results
 *   identical to the same photos analysed one by one (each in the
 *   library's own workspace for it): JPEG, PNG, a turned JPEG, ICC
 *   profiles (the sample photos, large enough to use every kind of block).
 * - The command at -j 2 (whose threads use workspaces) writes the same
 *   JSON as at -j 1 (which does not) over the samples.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpmatch.h"
#include "util.h"

#define MB ((size_t)1024 * 1024)
#define GAP 64 /* what a carved block may have after it (util.c) */

static void test_reuse_rules(void **state)
{
    (void)state;
    smp_workspace *ws;
    assert_int_equal(smp_workspace_new(&ws), SMP_OK);

    unsigned char *a = smp_work_alloc(ws, 3 * MB);
    assert_non_null(a);
    memset(a, 1, 3 * MB);
    assert_int_equal(smp_work_kept(ws), 0);
    smp_work_free(ws, a);
    assert_int_equal(smp_work_kept(ws), 4 * MB); /* whole huge pages */

    /* About its size: the same block again. */
    unsigned char *b = smp_work_alloc(ws, 3 * MB - 1000);
    assert_ptr_equal(b, a);
    assert_int_equal(smp_work_kept(ws), 0);
    smp_work_free(ws, b);

    /* Much smaller: a block of its own, the big one stays kept. */
    unsigned char *c = smp_work_alloc(ws, 300 * 1024);
    assert_non_null(c);
    assert_ptr_not_equal(c, a);
    assert_int_equal(smp_work_kept(ws), 4 * MB);
    memset(c, 2, 300 * 1024);

    /* Small requests are malloc's: nothing is kept when they come back. */
    unsigned char *d = smp_work_alloc(ws, 1000);
    assert_non_null(d);
    smp_work_free(ws, d);
    /* ... and so is any malloc'd buffer given back (LSan would see a leak). */
    smp_work_free(ws, malloc(5 * MB));
    smp_work_free(ws, NULL);
    assert_int_equal(smp_work_kept(ws), 4 * MB);
    smp_work_free(ws, c);
    size_t both = smp_work_kept(ws);
    assert_true(both > 4 * MB);

    /* Photo ends: both were given back during it, both stay. The next
     * photo uses only the big one; when it ends the small one goes. */
    smp_work_settle(ws);
    assert_int_equal(smp_work_kept(ws), both);
    a = smp_work_alloc(ws, 3 * MB);
    smp_work_free(ws, a);
    smp_work_settle(ws);
    assert_int_equal(smp_work_kept(ws), 4 * MB);
    smp_work_settle(ws); /* unused in this one: unmapped */
    assert_int_equal(smp_work_kept(ws), 0);

    /* More at once than the lending table holds: the rest from malloc,
     * given back the same way. */
    enum { MANY = 40 };
    void *p[MANY];
    for (int i = 0; i < MANY; i++) {
        p[i] = smp_work_alloc(ws, 300 * 1024);
        assert_non_null(p[i]);
        memset(p[i], i, 300 * 1024);
    }
    for (int i = 0; i < MANY; i++)
        smp_work_free(ws, p[i]);
    assert_true(smp_work_kept(ws) > 0);
    smp_workspace_free(ws);

    /* No workspace: plain allocation. */
    void *e = smp_work_alloc(NULL, 3 * MB);
    assert_non_null(e);
    smp_work_free(NULL, e);
    smp_work_settle(NULL);
    smp_workspace_free(NULL);
}

/* The library's own workspace for one photo: small blocks carved out of
 * shared huge pages, big ones unmapped as soon as they come back. */
static void test_one_photo(void **state)
{
    (void)state;
    smp_workspace *ws = smp_workspace_for_photo();
    assert_non_null(ws);
    unsigned char *a = smp_work_alloc(ws, 100 * 1024);
    unsigned char *b = smp_work_alloc(ws, 200 * 1024);
    assert_non_null(a);
    assert_non_null(b);
    /* side by side in one slab, not two mappings (under AddressSanitizer
     * with a poisoned cache line between them) */
    assert_true(b >= a + 100 * 1024 && b <= a + 100 * 1024 + GAP);
    memset(a, 1, 100 * 1024);
    memset(b, 2, 200 * 1024);
    smp_work_free(ws, a);
    assert_in_range(smp_work_kept(ws), 100 * 1024, 100 * 1024 + GAP);
    /* the same size again: the same block */
    unsigned char *c = smp_work_alloc(ws, 100 * 1024 - 10);
    assert_ptr_equal(c, a);
    assert_int_equal(smp_work_kept(ws), 0);
    /* A slab's worth and more: the next block starts a new slab. */
    unsigned char *d = smp_work_alloc(ws, 1000 * 1024);
    unsigned char *e = smp_work_alloc(ws, 1000 * 1024);
    assert_non_null(d);
    assert_non_null(e);
    assert_true(d >= b + 200 * 1024 && d <= b + 200 * 1024 + GAP); /* 1.3 MB of the first slab used */
    assert_true(e < a || e >= a + 2 * MB);
    memset(d, 3, 1000 * 1024);
    memset(e, 4, 1000 * 1024);
    /* Big blocks are not kept. */
    unsigned char *f = smp_work_alloc(ws, 5 * MB);
    assert_non_null(f);
    memset(f, 5, 5 * MB);
    smp_work_free(ws, f);
    assert_int_equal(smp_work_kept(ws), 0);
    /* Tiny ones are malloc's. */
    void *g = smp_work_alloc(ws, 100);
    assert_non_null(g);
    smp_work_free(ws, g);
    assert_int_equal(smp_work_kept(ws), 0);
    smp_work_free(ws, b);
    smp_work_free(ws, c);
    smp_work_free(ws, d);
    smp_work_free(ws, e);
    size_t all = 100 * 1024 + 200 * 1024 + 2 * 1000 * 1024;
    assert_in_range(smp_work_kept(ws), all, all + 4 * GAP);
    smp_workspace_free(ws);
}


/* smp_work_reserve: a one-photo workspace carves blocks of any size out
 * of the reserve, side by side, until it has no room; a block given back
 * is kept for the next request of its size; other workspaces ignore it. */
static void test_reserve(void **state)
{
    (void)state;
    smp_workspace *ws = smp_workspace_for_photo();
    assert_non_null(ws);
    smp_work_reserve(ws, 4 * MB);
    const size_t big = 3 * MB / 2;
    unsigned char *a = smp_work_alloc(ws, big);
    unsigned char *b = smp_work_alloc(ws, 2 * MB);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(b >= a + big && b <= a + big + GAP); /* mapped blocks would not lie so */
    memset(a, 1, big);
    memset(b, 2, 2 * MB);
    /* Touching ahead skips what is carved: a and b keep their bytes. */
    assert_int_equal(smp_work_touch(ws, 2 * MB), 0); /* a and b hold the whole reserve */
    for (size_t i = 0; i < big; i += 4096)
        assert_int_equal(a[i], 1);
    for (size_t i = 0; i < 2 * MB; i += 4096)
        assert_int_equal(b[i], 2);
    unsigned char *c = smp_work_alloc(ws, MB); /* no room left: elsewhere */
    assert_non_null(c);
    assert_true(c + MB <= a || c >= b + 2 * MB);
    memset(c, 3, MB);
    smp_work_free(ws, a);
    assert_in_range(smp_work_kept(ws), big, big + GAP);
    assert_ptr_equal(smp_work_alloc(ws, big - 100), a);
    smp_work_free(ws, a);
    smp_work_free(ws, b);
    smp_work_free(ws, c);
    smp_workspace_free(ws);

    smp_workspace *kept;
    assert_int_equal(smp_workspace_new(&kept), SMP_OK);
    smp_work_reserve(kept, 4 * MB); /* not a one-photo workspace: nothing */
    assert_int_equal(smp_work_touch(kept, MB), 0);
    a = smp_work_alloc(kept, big);
    b = smp_work_alloc(kept, big);
    assert_non_null(a);
    assert_non_null(b);
    assert_false(b >= a + big && b <= a + big + GAP);
    smp_work_free(kept, a);
    smp_work_free(kept, b);
    smp_workspace_free(kept);
}

/* smp_work_touch: step by step through the part of the reserve no block
 * holds, 1 while some is left; a block carved meanwhile comes from the
 * touched pages first, and the touch never goes back over it. */
static void test_touch(void **state)
{
    (void)state;
    smp_workspace *ws = smp_workspace_for_photo();
    assert_non_null(ws);
    assert_int_equal(smp_work_touch(ws, MB), 0); /* no reserve yet */
    smp_work_reserve(ws, 6 * MB);
    unsigned char *a = smp_work_alloc(ws, MB);
    assert_non_null(a);
    memset(a, 7, MB);
    assert_int_equal(smp_work_touch(ws, 2 * MB), 1);
    unsigned char *b = smp_work_alloc(ws, MB); /* from the touched pages */
    assert_non_null(b);
    assert_true(b >= a + MB && b <= a + MB + GAP);
    memset(b, 8, MB);
    int steps = 1;
    while (smp_work_touch(ws, 2 * MB))
        steps++;
    assert_int_equal(steps, 2); /* 1-3 MB, then 3-5; the call that touches 5-6 says no more */
    assert_int_equal(smp_work_touch(ws, 2 * MB), 0);
    for (size_t i = 0; i < MB; i += 4096) {
        assert_int_equal(a[i], 7);
        assert_int_equal(b[i], 8);
    }
    unsigned char *c = smp_work_alloc(ws, 3 * MB); /* the rest of the reserve */
    assert_non_null(c);
    assert_true(c >= b + MB && c <= b + MB + GAP);
    for (size_t i = 0; i < 3 * MB; i += 4096)
        assert_int_equal(c[i], 0); /* touched pages are zero, as fresh ones */
    smp_work_free(ws, a);
    smp_work_free(ws, b);
    smp_work_free(ws, c);
    smp_workspace_free(ws);
}

static char *analyse_json(smp_palette *pal, const char *file, smp_workspace *ws)
{
    smp_options opt;
    smp_options_init(&opt);
    opt.workspace = ws;
    return tu_sample_json(pal, file, &opt);
}

static void test_same_results(void **state)
{
    (void)state;
    smp_palette *pal;
    assert_int_equal(smp_palette_new_default(&pal, NULL), SMP_OK);
    char *plain[TU_N_SAMPLES];
    for (size_t i = 0; i < TU_N_SAMPLES; i++)
        plain[i] = analyse_json(pal, tu_samples[i], NULL);

    smp_workspace *ws;
    assert_int_equal(smp_workspace_new(&ws), SMP_OK);
    for (int round = 0; round < 2; round++)
        for (size_t k = 0; k < TU_N_SAMPLES; k++) {
            /* forwards, then backwards: each photo meets blocks that other
             * photos (of other sizes and formats) left */
            size_t i = round == 0 ? k : TU_N_SAMPLES - 1 - k;
            char *json = analyse_json(pal, tu_samples[i], ws);
            if (strcmp(json, plain[i]) != 0)
                fail_msg("%s: different result through a workspace", tu_samples[i]);
            free(json);
        }
    assert_true(smp_work_kept(ws) > 0); /* it was used */
    smp_workspace_free(ws);
    for (size_t i = 0; i < TU_N_SAMPLES; i++)
        free(plain[i]);
    smp_palette_free(pal);
}

static void test_command_threads(void **state)
{
    (void)state;
    char args[8192] = "-q -f json";
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < TU_N_SAMPLES; i++) {
            size_t len = strlen(args);
            snprintf(args + len, sizeof args - len, " '%s/samples/%s'", SMP_SOURCE_DIR, tu_samples[i]);
        }
    char with_j2[8300];
    snprintf(with_j2, sizeof with_j2, "-j 2 %s", args);
    char *one = NULL, *two = NULL;
    assert_int_equal(tu_run_cli(args, &one, NULL), 0);
    assert_int_equal(tu_run_cli(with_j2, &two, NULL), 0);
    size_t lines = 0;
    for (const char *p = one; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2 * TU_N_SAMPLES);
    assert_string_equal(one, two);
    free(one);
    free(two);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse_rules),
        cmocka_unit_test(test_one_photo),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_touch),
        cmocka_unit_test(test_same_results),
        cmocka_unit_test(test_command_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
