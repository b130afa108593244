/*
 * test_team.c: a photo's second thread (src/team.h) and what it must not
 * change.
 *
 * - A split runs each part exactly once, part 1 on the helper thread when
 *   there is a team, both on the caller when there is none; the parts'
 *   ranges cover every item once, for any count.
 * - The helper may run on the caller's CPUs less the one the caller was
 *   on (team.c: the scheduler once put both on one CPU).
 * - A job started beside the caller is done when smp_team_wait returns,
 *   and a split after it sees what it wrote; after smp_team_retire all
 *   runs on the caller.
 * - smp_kth_float_team (and smp_kth_float_counted, given the counts)
 *   gives the sorted array's k-th with a team and
 *   without, with room given and with room it takes itself.
 * - Automatic hair and scalp finding gives the same masks and figures
 *   with a team as without, on synthetic photos of many sizes (odd
 *   heights, bands thinner than a chamfer's reach, strands across the cut);
 *   and where the rows are cut in two changes no mask (test_cut).
 * - The work the pipeline fits beside the measurement runs once each,
 *   after_scalp on the helper and the shared pieces on whichever thread
 *   is free, and changes no measured colour; the
 *   exposure counted while a JPEG decodes warns as the check's own pass.
 * - JPEGs of every orientation, grey, progressive, with a profile, cut
 *   short or CMYK (whose rows the colour stream follows or declines) give
 *   the same JSON, status and error with two threads as with one.
 * - The sample photos analysed with threads = 2 give byte-identical JSON
 *   to threads = 1, and so does the command on each photo alone (which
 *   uses two threads) against the same photos in a batch (one each).
 */
#define _GNU_SOURCE /* cpu_set_t, pthread_getaffinity_np */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colour.h"
#include "encode.h"
#include "measure.h"
#include "regions.h"
#include "smpmatch.h"
#include "team.h"
#include "util.h"

typedef struct record {
    int calls[SMP_PARTS];
    pthread_t who[SMP_PARTS];
    size_t n;
    unsigned char *seen; /* n counters */
} record;

static void note_part(void *arg, int part)
{
    record *r = arg;
    r->calls[part]++;
    r->who[part] = pthread_self();
    size_t lo, hi;
    smp_part_range(r->n, part, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        r->seen[i]++;
}

static void check_split(smp_team *t, size_t n)
{
    record r = {{0, 0}, {0}, n, calloc(n ? n : 1, 1)};
    assert_non_null(r.seen);
    smp_team_split(t, note_part, &r);
    assert_int_equal(r.calls[0], 1);
    assert_int_equal(r.calls[1], 1);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(r.seen[i], 1);
    assert_true(pthread_equal(r.who[0], pthread_self()));
    if (t)
        assert_false(pthread_equal(r.who[1], pthread_self()));
    else
        assert_true(pthread_equal(r.who[1], pthread_self()));
    free(r.seen);
}

static void test_split(void **state)
{
    (void)state;
    assert_null(smp_team_new(1));
    assert_null(smp_team_new(0));
    smp_team *t = smp_team_new(2);
    assert_non_null(t);
    const size_t counts[] = {0, 1, 2, 3, 7, 756, 1001};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        check_split(NULL, counts[k]);
        for (int again = 0; again < 3; again++) /* the helper is reused */
            check_split(t, counts[k]);
    }
    smp_team_free(t);
    smp_team_free(NULL);
}

typedef struct slow {
    volatile double sink;
    int done;
    int seen_by_split;
} slow;

static void slow_job(void *arg, int part)
{
    (void)part;
    slow *s = arg;
    double x = 0;
    for (int i = 0; i < 2000000; i++)
        x += sqrt((double)i);
    s->sink = x;
    s->done = 1;
}

static void read_done(void *arg, int part)
{
    slow *s = arg;
    if (part == 1)
        s->seen_by_split = s->done;
}

static void test_start_wait(void **state)
{
    (void)state;
    smp_team *t = smp_team_new(2);
    assert_non_null(t);
    slow s = {0, 0, 0};
    smp_team_start(t, slow_job, &s);
    smp_team_wait(t);
    assert_int_equal(s.done, 1);

    slow s2 = {0, 0, 0};
    smp_team_start(t, slow_job, &s2);
    smp_team_split(t, read_done, &s2); /* waits for the job before its part 1 */
    assert_int_equal(s2.seen_by_split, 1);
    smp_team_free(t);

    slow s3 = {0, 0, 0};
    smp_team_start(NULL, slow_job, &s3); /* no team: at once */
    assert_int_equal(s3.done, 1);
    smp_team_wait(NULL);
}

/* The helper keeps off the CPU its caller was on when the team began
 * (team.c, keep_apart), when the caller may use two CPUs or more: a job on
 * the helper reads its own affinity, which must be the caller's CPUs less
 * one of them. */
typedef struct where {
    cpu_set_t mask;
    int ok;
} where;

static void affinity_job(void *arg, int part)
{
    (void)part;
    where *w = arg;
    w->ok = pthread_getaffinity_np(pthread_self(), sizeof w->mask, &w->mask) == 0;
}

static void test_apart(void **state)
{
    (void)state;
    cpu_set_t mine;
    assert_int_equal(sched_getaffinity(0, sizeof mine, &mine), 0);
    if (CPU_COUNT(&mine) < 2)
        skip(); /* nothing to keep apart on */
    smp_team *t = smp_team_new(2);
    assert_non_null(t);
    where w = {.ok = 0};
    smp_team_start(t, affinity_job, &w);
    smp_team_wait(t);
    smp_team_free(t);
    assert_true(w.ok);
    cpu_set_t both;
    CPU_AND(&both, &w.mask, &mine);
    assert_true(CPU_EQUAL(&both, &w.mask)); /* only CPUs the caller may use */
    assert_int_equal(CPU_COUNT(&w.mask), CPU_COUNT(&mine) - 1);
}

/* A helper told to leave (smp_team_retire): splits and jobs after it run
 * on the caller, both parts in part order, and a wait returns at once. */
static void test_retire(void **state)
{
    (void)state;
    smp_team *t = smp_team_new(2);
    assert_non_null(t);
    check_split(t, 100); /* the helper takes part 1 while it is there */
    smp_team_retire(t);
    smp_team_wait(t); /* nothing to wait for */
    record r = {{0, 0}, {0}, 10, calloc(10, 1)};
    assert_non_null(r.seen);
    smp_team_split(t, note_part, &r);
    assert_int_equal(r.calls[0], 1);
    assert_int_equal(r.calls[1], 1);
    assert_true(pthread_equal(r.who[0], pthread_self()));
    assert_true(pthread_equal(r.who[1], pthread_self()));
    free(r.seen);
    slow s = {0, 0, 0};
    smp_team_start(t, slow_job, &s); /* at once, here */
    assert_int_equal(s.done, 1);
    smp_team_retire(t); /* again: nothing happens */
    smp_team_free(t);
    smp_team_retire(NULL);
}

/* Skin with curving dark strands, a thick dark object (not hair) on the
 * left, a dark bar across the middle of the first `rows` rows and a grey
 * card at their bottom right; every row from `rows` on is bare skin. With
 * seed 0 there is no noise. */
static void synthetic(smp_lab_image *lab, int w, int h, int rows, unsigned seed)
{
    memset(lab, 0, sizeof *lab);
    lab->width = w;
    lab->height = h;
    lab->lab = malloc((size_t)w * h * 3 * sizeof(float));
    lab->flags = calloc((size_t)w * h, 1);
    assert_non_null(lab->lab);
    assert_non_null(lab->flags);
    unsigned rng = seed;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float *p = lab->lab + 3 * ((size_t)y * w + x);
            rng = rng * 1103515245u + 12345u;
            float noise = seed ? (float)((rng >> 16) % 100) / 100.0f - 0.5f : 0.0f;
            double wave = 6.0 * sin((double)y / 9.0 + (double)x / 37.0);
            int strand = ((x + (int)wave) % 11) < 3;
            /* 12 rows tall: hair, as no pixel of it is more than 6 rows
             * from skin; 2 of them above the middle row, 10 below */
            int bar = y >= rows / 2 - 2 && y < rows / 2 + 10 && x >= w / 4 && x < w / 2;
            if (y >= rows) {
                p[0] = 66.0f + noise, p[1] = 12.0f, p[2] = 17.0f;
            } else if (x < w / 8) {
                p[0] = 30.0f + noise, p[1] = 2.0f, p[2] = 3.0f; /* a thick dark object */
            } else if (bar) {
                p[0] = 24.0f + noise, p[1] = 4.0f, p[2] = 6.0f;
            } else if (x > (3 * w) / 4 && y > (3 * rows) / 4) {
                p[0] = 60.0f + noise, p[1] = 0.0f, p[2] = 0.0f; /* grey card */
            } else if (strand) {
                p[0] = 22.0f + noise, p[1] = 4.0f, p[2] = 6.0f;
            } else {
                p[0] = 66.0f + noise, p[1] = 12.0f, p[2] = 17.0f;
            }
            if (x == w / 2 && y == rows / 3)
                lab->flags[(size_t)y * w + x] = SMP_PX_CLIPPED_HIGH;
        }
}

static void same_mask(const unsigned char *a, const unsigned char *b, size_t n, const char *what, int w,
                      int h)
{
    if (!a || !b) {
        if (a != b)
            fail_msg("%dx%d: the %s mask is found only %s", w, h, what, a ? "without a team" : "with one");
        return;
    }
    if (memcmp(a, b, n) != 0)
        fail_msg("%dx%d: the %s masks differ with a team", w, h, what);
}

static void test_regions_same(void **state)
{
    (void)state;
    const int sizes[][2] = {{64, 9},   {64, 17},  {40, 40},  {301, 97},
                            {97, 301}, {640, 481}, {1008, 756}};
    smp_team *t = smp_team_new(2);
    assert_non_null(t);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int w = sizes[k][0], h = sizes[k][1];
        smp_lab_image lab;
        synthetic(&lab, w, h, h, (unsigned)k + 1);
        smp_regions one, two;
        smp_auto_info ia, ib;
        assert_int_equal(smp_regions_auto(&lab, &one, &ia), SMP_OK);
        lab.team = t;
        assert_int_equal(smp_regions_auto(&lab, &two, &ib), SMP_OK);
        if (w * h >= 100000) /* large enough for the finder to see hair on skin */
            assert_true(ia.looks_like_scalp);
        assert_memory_equal(&ia, &ib, sizeof ia);
        same_mask(one.hair, two.hair, (size_t)w * h, "hair", w, h);
        same_mask(one.scalp, two.scalp, (size_t)w * h, "scalp", w, h);
        smp_regions_release(&one);
        smp_regions_release(&two);
        free(lab.lab);
        free(lab.flags);
    }
    smp_team_free(t);
}

/* The passes cut the rows in two (team.h); the chamfer transforms of the
 * opening look across the cut as far as a distance that matters reaches.
 * The same noise-free picture, once cut across its dark bar (which is
 * hair only because skin lies on both sides of it: a part that saw only
 * its own rows would take it for a thick object) and once with as many
 * rows of bare skin below it (which moves the cut far from the bar), must
 * give the same hair and scalp over the picture, apart from the rows near
 * its bottom (the thick object ends there in the taller one). */
static void test_cut(void **state)
{
    (void)state;
    const int sizes[][2] = {{640, 481}, {300, 240}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int w = sizes[k][0], h = sizes[k][1], keep = h - 30;
        smp_lab_image cut, moved;
        synthetic(&cut, w, h, h, 0);
        synthetic(&moved, w, 2 * h, h, 0);
        smp_regions a, b;
        smp_auto_info ia, ib;
        assert_int_equal(smp_regions_auto(&cut, &a, &ia), SMP_OK);
        assert_int_equal(smp_regions_auto(&moved, &b, &ib), SMP_OK);
        assert_non_null(a.hair);
        assert_non_null(b.hair);
        size_t bar = 0;
        for (int y = h / 2 - 1; y < h / 2 + 9; y++) /* the bar's inside, eroded by one */
            for (int x = w / 4 + 1; x < w / 2 - 1; x++)
                bar += a.hair[(size_t)y * w + x];
        assert_int_equal(bar, (size_t)10 * (w / 2 - w / 4 - 2)); /* all of it is hair */
        same_mask(a.hair, b.hair, (size_t)w * keep, "hair", w, h);
        same_mask(a.scalp, b.scalp, (size_t)w * keep, "scalp", w, h);
        smp_regions_release(&a);
        smp_regions_release(&b);
        free(cut.lab);
        free(cut.flags);
        free(moved.lab);
        free(moved.flags);
    }
}


/* The pipeline's work beside the measurement (smp_measure_extra):
 * `after_scalp` runs once, on the helper when there is a team (and with no
 * scalp to measure too); every shared piece is taken exactly once, the
 * caller taking some, and the helper too when there is one and the caller
 * is held up; the measurement is the same as smp_measure_both's, with a
 * team or without. */
#define EXTRA_PIECES 6
typedef struct extra_seen {
    pthread_t caller;
    int after, after_here;
    atomic_int next, by_caller, by_helper;
    atomic_int taken[EXTRA_PIECES];
    int slow; /* with a team: a piece waits until the other thread has taken one */
} extra_seen;

static void seen_after(void *arg, int part)
{
    extra_seen *e = arg;
    e->after++;
    e->after_here = pthread_equal(pthread_self(), e->caller) && part == 1;
}

static int seen_share(void *arg)
{
    extra_seen *e = arg;
    int piece = atomic_fetch_add(&e->next, 1);
    if (piece >= EXTRA_PIECES)
        return 0;
    atomic_fetch_add(&e->taken[piece], 1);
    int mine = pthread_equal(pthread_self(), e->caller);
    atomic_fetch_add(mine ? &e->by_caller : &e->by_helper, 1);
    atomic_int *other = mine ? &e->by_helper : &e->by_caller;
    while (e->slow && atomic_load(other) == 0 && atomic_load(&e->next) < EXTRA_PIECES)
        sched_yield(); /* a piece that takes long: the other thread comes for one too */
    return 1;
}

typedef struct measured {
    smp_colour_stat scalp, hair;
    struct smp_hair_cluster groups[4];
    size_t n_groups;
    double grey;
} measured;

static void test_measure_extra(void **state)
{
    (void)state;
    smp_lab_image lab;
    synthetic(&lab, 640, 481, 481, 3);
    smp_regions found;
    smp_auto_info info;
    assert_int_equal(smp_regions_auto(&lab, &found, &info), SMP_OK);
    assert_non_null(found.hair);
    assert_non_null(found.scalp);
    measured alone, with[3];
    memset(&alone, 0, sizeof alone);
    memset(with, 0, sizeof with);
    assert_int_equal(smp_measure_both(&lab, found.scalp, found.hair, &alone.scalp, &alone.hair, alone.groups,
                                      &alone.n_groups, &alone.grey),
                     SMP_OK);
    assert_true(alone.scalp.measured && alone.hair.measured);
    smp_team *t = smp_team_new(2);
    assert_non_null(t);
    for (int k = 0; k < 3; k++) { /* a team; none; a team and no scalp mask */
        lab.team = k == 1 ? NULL : t;
        extra_seen e = {.caller = pthread_self(), .slow = k != 1};
        smp_measure_extra x = {.after_scalp = seen_after, .after_scalp_arg = &e, .share = seen_share,
                               .share_arg = &e};
        measured *m = &with[k];
        assert_int_equal(smp_measure_both_with(&lab, k == 2 ? NULL : found.scalp, found.hair, &m->scalp,
                                               &m->hair, m->groups, &m->n_groups, &m->grey, &x),
                         SMP_OK);
        assert_int_equal(e.after, 1);
        assert_int_equal(e.after_here, k == 1); /* on the helper when there is one */
        for (int p = 0; p < EXTRA_PIECES; p++)
            assert_int_equal(atomic_load(&e.taken[p]), 1);
        assert_int_equal(atomic_load(&e.by_caller) + atomic_load(&e.by_helper), EXTRA_PIECES);
        if (k == 1) {
            assert_int_equal(atomic_load(&e.by_caller), EXTRA_PIECES);
        } else { /* each waited for the other, so both took some */
            assert_true(atomic_load(&e.by_caller) > 0);
            assert_true(atomic_load(&e.by_helper) > 0);
        }
        if (k < 2) {
            assert_memory_equal(&m->scalp, &alone.scalp, sizeof alone.scalp);
            assert_memory_equal(&m->hair, &alone.hair, sizeof alone.hair);
            assert_memory_equal(m->groups, alone.groups, sizeof alone.groups);
            assert_int_equal(m->n_groups, alone.n_groups);
            assert_true(m->grey == alone.grey);
        } else {
            assert_false(m->scalp.measured); /* left as it was */
            assert_true(m->hair.measured);
        }
    }
    smp_team_free(t);
    smp_regions_release(&found);
    free(lab.lab);
    free(lab.flags);
}

/* The k-th smallest with its passes cut in two is the sorted array's k-th,
 * with a team and without: random values, many equal ones (all in one
 * histogram bin, where each part's values must land in its own places),
 * every k at the ends and the middle, odd and tiny counts. */
static void test_kth(void **state)
{
    (void)state;
    smp_team *t = smp_team_new(2);
    assert_non_null(t);
    smp_workspace *ws = smp_workspace_for_photo(); /* room for a bin's values from here, or malloc */
    assert_non_null(ws);
    const size_t counts[] = {1, 2, 3, 7, 1000, 30001, 400000};
    unsigned rng = 7;
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
        for (int kind = 0; kind < 3; kind++) {
            size_t n = counts[c];
            float *v = malloc(n * sizeof *v), *sorted = malloc(n * sizeof *v), *scratch = malloc(n * sizeof *v);
            assert_non_null(v);
            assert_non_null(sorted);
            assert_non_null(scratch);
            for (size_t i = 0; i < n; i++) {
                rng = rng * 1103515245u + 12345u;
                float r = (float)((rng >> 8) % 100000) / 1000.0f;
                v[i] = kind == 0 ? r - 50.0f : kind == 1 ? 20.0f + r / 1e6f : (i < n / 2 ? 3.0f : r);
            }
            memcpy(sorted, v, n * sizeof *v);
            qsort(sorted, n, sizeof *sorted, smp_cmp_float);
            uint32_t bins[SMP_KTH_BINS] = {0}; /* for the search given its counts */
            for (size_t i = 0; i < n; i++)
                bins[smp_kth_bin(v[i])]++;
            const size_t ks[] = {0, n / 4, n / 2, (3 * n) / 10, n - 1};
            /* The same values with +infinity after every fourth, left out
             * of the counts (the region finder's pixels that are no
             * candidates): the k-th of the counted values. */
            size_t ni = n + n / 4;
            float *vi = malloc(ni * sizeof *vi);
            assert_non_null(vi);
            for (size_t i = 0, o = 0; i < n; i++) {
                vi[o++] = v[i];
                if (i % 4 == 3)
                    vi[o++] = INFINITY;
            }
            for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++) {
                assert_true(smp_kth_float_team(NULL, v, n, 1, ks[q], scratch, NULL) == sorted[ks[q]]);
                assert_true(smp_kth_float_team(t, v, n, 1, ks[q], scratch, NULL) == sorted[ks[q]]);
                assert_true(smp_kth_float_team(t, v, n, 1, ks[q], NULL, NULL) == sorted[ks[q]]);
                assert_true(smp_kth_float_team(t, v, n, 1, ks[q], NULL, ws) == sorted[ks[q]]);
                assert_true(smp_kth_float_counted(NULL, v, n, ks[q], bins, ws) == sorted[ks[q]]);
                assert_true(smp_kth_float_counted(t, v, n, ks[q], bins, NULL) == sorted[ks[q]]);
                assert_true(smp_kth_float_counted(t, vi, ni, ks[q], bins, ws) == sorted[ks[q]]);
            }
            free(vi);
            free(v);
            free(sorted);
            free(scratch);
        }
    assert_true(smp_work_kept(ws) > 0); /* the one-bin values (kind 1) took their room here, and gave it back */
    smp_workspace_free(ws);
    smp_team_free(t);
}

/* smp_analyse_memory's JSON (with its status and error) for a photo in
 * memory, with `threads`. */
static char *memory_json(const smp_palette *pal, const unsigned char *data, size_t size, int threads)
{
    smp_options opt;
    smp_options_init(&opt);
    opt.threads = threads;
    smp_result *r = NULL;
    smp_analyse_memory("photo.jpg", data, size, pal, &opt, &r);
    assert_non_null(r);
    char *json = smp_result_to_json(r);
    assert_non_null(json);
    smp_result_free(r);
    return json;
}

/* JPEGs whose rows the colour stream follows (colour.h) or declines: every
 * EXIF orientation, grey, 4:4:4, progressive, an embedded profile, cut
 * short, CMYK. Two threads give what one gives, also for the broken ones. */
static void test_jpeg_stream(void **state)
{
    (void)state;
    enum { W = 96, H = 64 };
    unsigned char *px = malloc((size_t)W * H * 4);
    assert_non_null(px);
    for (int i = 0; i < W * H * 4; i++)
        px[i] = (unsigned char)(40 + (i * 7 + (i / (W * 4)) * 13) % 180);
    size_t icc_n;
    unsigned char *icc = enc_icc_display_p3(&icc_n);
    assert_non_null(icc);
    smp_palette *pal;
    assert_int_equal(smp_palette_new_default(&pal, NULL), SMP_OK);
    for (int k = 0; k < 14; k++) {
        enc_jpeg_opts o = {.quality = 90, .subsample_420 = k != 9};
        int components = k == 8 ? 1 : k == 12 ? 4 : 3;
        if (k < 8)
            o.orientation = k + 1;
        o.progressive = k == 10;
        if (k == 11) {
            o.icc = icc;
            o.icc_size = icc_n;
        }
        unsigned char *jpeg = NULL;
        size_t n = 0;
        assert_int_equal(enc_jpeg(NULL, &jpeg, &n, px, W, H, components, &o), 0);
        if (k == 13)
            n /= 2; /* cut short */
        char *one = memory_json(pal, jpeg, n, 1);
        char *two = memory_json(pal, jpeg, n, 2);
        if (strcmp(one, two) != 0)
            fail_msg("JPEG case %d: two threads give another result:\n%s\n%s", k, one, two);
        free(one);
        free(two);
        free(jpeg);
    }
    smp_palette_free(pal);
    free(icc);
    free(px);
}

/* The exposure check from the counts the seed pass takes while a JPEG
 * decodes (two threads) and from its own pass (one): the same warning,
 * the same JSON, for a photo mostly clipped white and one nearly black,
 * upright and turned. */
static void test_exposure_stream(void **state)
{
    (void)state;
    enum { W = 120, H = 80 };
    unsigned char *px = malloc((size_t)W * H * 3);
    assert_non_null(px);
    smp_palette *pal;
    assert_int_equal(smp_palette_new_default(&pal, NULL), SMP_OK);
    const char *expect[2] = {"over-exposed", "under-exposed"};
    for (int k = 0; k < 4; k++) {
        int dark = k & 1;
        for (int i = 0; i < W * H; i++) {
            int clipped = (i * 7) % 10 < 6; /* 60 % of the pixels */
            for (int c = 0; c < 3; c++)
                px[3 * i + c] = (unsigned char)(clipped ? (dark ? 0 : 255) : (dark ? 8 + i % 9 : 90 + (i * 13 + c) % 120));
        }
        enc_jpeg_opts o = {.quality = 95, .orientation = k < 2 ? 1 : 6};
        unsigned char *jpeg = NULL;
        size_t n = 0;
        assert_int_equal(enc_jpeg(NULL, &jpeg, &n, px, W, H, 3, &o), 0);
        char *one = memory_json(pal, jpeg, n, 1);
        char *two = memory_json(pal, jpeg, n, 2);
        if (strcmp(one, two) != 0)
            fail_msg("exposure case %d: two threads give another result:\n%s\n%s", k, one, two);
        if (!strstr(one, expect[dark]))
            fail_msg("exposure case %d: no \"%s\" warning:\n%s", k, expect[dark], one);
        free(one);
        free(two);
        free(jpeg);
    }
    smp_palette_free(pal);
    free(px);
}

static char *analyse_json(smp_palette *pal, const char *file, int threads)
{
    smp_options opt;
    smp_options_init(&opt);
    opt.threads = threads;
    smp_area_parse("crown=0,0,400,300", &opt.areas[0]); /* the areas' pass too */
    opt.n_areas = 1;
    return tu_sample_json(pal, file, &opt);
}

static void test_photos_same(void **state)
{
    (void)state;
    smp_palette *pal;
    assert_int_equal(smp_palette_new_default(&pal, NULL), SMP_OK);
    for (size_t i = 0; i < TU_N_SAMPLES; i++) {
        char *one = analyse_json(pal, tu_samples[i], 1);
        char *two = analyse_json(pal, tu_samples[i], 2);
        if (strcmp(one, two) != 0)
            fail_msg("%s: a different result with two threads", tu_samples[i]);
        free(one);
        free(two);
    }
    smp_palette_free(pal);
}

static void test_command_alone(void **state)
{
    (void)state;
    char args[8192] = "-q -f json";
    for (size_t i = 0; i < TU_N_SAMPLES; i++) {
        size_t len = strlen(args);
        snprintf(args + len, sizeof args - len, " '%s/samples/%s'", SMP_SOURCE_DIR, tu_samples[i]);
    }
    char *batch = NULL;
    assert_int_equal(tu_run_cli(args, &batch, NULL), 0);
    const char *line = batch;
    for (size_t i = 0; i < TU_N_SAMPLES; i++) {
        char one[1200];
        snprintf(one, sizeof one, "-q -f json '%s/samples/%s'", SMP_SOURCE_DIR, tu_samples[i]);
        char *alone = NULL;
        assert_int_equal(tu_run_cli(one, &alone, NULL), 0);
        size_t len = strlen(alone);
        assert_true(len > 0);
        if (strncmp(line, alone, len) != 0)
            fail_msg("%s: alone (two threads) it gives another result than in a batch", tu_samples[i]);
        line += len;
        free(alone);
    }
    assert_int_equal(*line, '\0');
    free(batch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_start_wait),
        cmocka_unit_test(test_retire),
        cmocka_unit_test(test_apart),
        cmocka_unit_test(test_regions_same),
        cmocka_unit_test(test_cut),
        cmocka_unit_test(test_measure_extra),
        cmocka_unit_test(test_kth),
        cmocka_unit_test(test_jpeg_stream),
        cmocka_unit_test(test_exposure_stream),
        cmocka_unit_test(test_photos_same),
        cmocka_unit_test(test_command_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
