/*
 * test_debug.c: --debug-masks pictures (src/debug.c).
 *
 * A small Lab image of known colours and two masks are written into a fresh
 * folder under tu_tmpdir(); the PNGs are read back with libpng's low-level
 * reader (no transforms, so we see the bytes that were written). Expected
 * overlay colours come from the sRGB definition (IEC 61966-2-1), worked out
 * by hand below, not from debug.c.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "colour.h"
#include "debug.h"

#define W 7
#define H 5

/* A fresh, empty folder for one test. */
static const char *fresh_dir(const char *name)
{
    const char *dir = tu_path(name);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        fail_msg("cannot create %s", dir);
    return dir;
}

/* Pixel (x, y) channel c of a read PNG. */
static int px(const tu_png *r, int x, int y, int c)
{
    return r->pixels[((size_t)y * (size_t)r->width + (size_t)x) * (size_t)r->channels + (size_t)c];
}

/* The test image: neutral grey L* 50 everywhere, black (L* 0) at (1,1),
 * white (L* 100) at (2,1), and a brown at (6,4). */
static smp_lab_image make_lab(void)
{
    smp_lab_image img = {W, H, malloc(W * H * 3 * sizeof(float)), calloc(W * H, 1), NULL, NULL};
    assert_non_null(img.lab);
    assert_non_null(img.flags);
    for (int i = 0; i < W * H; i++) {
        img.lab[3 * i] = 50.0f;
        img.lab[3 * i + 1] = 0.0f;
        img.lab[3 * i + 2] = 0.0f;
    }
    img.lab[3 * (1 * W + 1)] = 0.0f;
    img.lab[3 * (1 * W + 2)] = 100.0f;
    float *brown = img.lab + 3 * (4 * W + 6);
    brown[0] = 35.0f, brown[1] = 12.0f, brown[2] = 18.0f;
    return img;
}

/* Hair at (0,0) (grey), (1,1) (black); scalp at (3,0) (grey), (2,1) (white).
 * Mask values are any non-zero byte, as the header says. */
static void make_masks(unsigned char hair[W * H], unsigned char scalp[W * H])
{
    memset(hair, 0, W * H);
    memset(scalp, 0, W * H);
    hair[0] = 1;
    hair[1 * W + 1] = 200;
    scalp[3] = 7;
    scalp[1 * W + 2] = 255;
}

static void assert_rgb(const tu_png *r, int x, int y, int red, int green, int blue, int tol)
{
    int got[3] = {px(r, x, y, 0), px(r, x, y, 1), px(r, x, y, 2)};
    int want[3] = {red, green, blue};
    for (int c = 0; c < 3; c++)
        if (abs(got[c] - want[c]) > tol)
            fail_msg("overlay (%d,%d) is %d,%d,%d, wanted %d,%d,%d (±%d)", x, y, got[0], got[1], got[2],
                     want[0], want[1], want[2], tol);
}

/* No file whose name starts with a dot (our temporary names) is left. */
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

static char *file_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* ------------------------------------------------------------------ */

static void test_masks_and_overlay(void **state)
{
    (void)state;
    const char *dir = fresh_dir("masks");
    smp_lab_image lab = make_lab();
    unsigned char hair[W * H], scalp[W * H];
    make_masks(hair, scalp);
    smp_error err = {0};
    /* folder and extension are dropped; a dot inside the name is kept */
    assert_int_equal(smp_debug_write_masks(dir, "consults/2024/crown 1.final.jpg", &lab, hair, scalp, &err),
                     SMP_OK);

    char *hp = file_in(dir, "crown 1.final.hair.png");
    char *sp = file_in(dir, "crown 1.final.scalp.png");
    char *op = file_in(dir, "crown 1.final.overlay.png");
    tu_png h = tu_read_png(hp), s = tu_read_png(sp), o = tu_read_png(op);
    assert_int_equal(h.width, W), assert_int_equal(h.height, H), assert_int_equal(h.channels, 1);
    assert_int_equal(s.width, W), assert_int_equal(s.height, H), assert_int_equal(s.channels, 1);
    assert_int_equal(o.width, W), assert_int_equal(o.height, H), assert_int_equal(o.channels, 3);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            assert_int_equal(px(&h, x, y, 0), hair[y * W + x] ? 255 : 0);
            assert_int_equal(px(&s, x, y, 0), scalp[y * W + x] ? 255 : 0);
        }

    /* Neutral L* 50 (D50) is neutral in sRGB: Y = (66/116)^3 = 0.18419,
     * encoded 1.055 * Y^(1/2.4) - 0.055 = 0.4664, times 255 = 118.9 -> 119.
     * Untouched pixels keep it; hair goes half-way to magenta (255,0,255),
     * scalp half-way to cyan (0,255,255). ±2 for LittleCMS's rounding. */
    assert_rgb(&o, 4, 2, 119, 119, 119, 2);
    assert_rgb(&o, 0, 0, (119 + 255) / 2, 119 / 2, (119 + 255) / 2, 2); /* hair on grey */
    assert_rgb(&o, 3, 0, 119 / 2, (119 + 255) / 2, (119 + 255) / 2, 2); /* scalp on grey */
    assert_rgb(&o, 1, 1, 128, 0, 128, 2);                                /* hair on black */
    assert_rgb(&o, 2, 1, 128, 255, 255, 2);                              /* scalp on white */
    /* An unmasked colour is the sRGB hex the output prints for it. */
    double brown[3] = {35, 12, 18};
    char hex[8];
    unsigned r, g, b;
    smp_lab_to_hex(brown, hex);
    assert_int_equal(sscanf(hex, "#%2x%2x%2x", &r, &g, &b), 3);
    assert_rgb(&o, 6, 4, (int)r, (int)g, (int)b, 1);
    assert_no_temp_files(dir);

    free(h.pixels), free(s.pixels), free(o.pixels);
    free(hp), free(sp), free(op);
    smp_lab_image_release(&lab);
}

/* NULL masks are empty masks, and the overlay is the plain photo. Writing
 * again replaces the files of an earlier run. */
static void test_null_masks_replace(void **state)
{
    (void)state;
    const char *dir = fresh_dir("nullmasks");
    smp_lab_image lab = make_lab();
    unsigned char hair[W * H], scalp[W * H];
    make_masks(hair, scalp);
    smp_error err = {0};
    assert_int_equal(smp_debug_write_masks(dir, "p.png", &lab, hair, scalp, &err), SMP_OK);
    assert_int_equal(smp_debug_write_masks(dir, "p.png", &lab, NULL, NULL, &err), SMP_OK);
    char *hp = file_in(dir, "p.hair.png"), *sp = file_in(dir, "p.scalp.png"), *op = file_in(dir, "p.overlay.png");
    tu_png h = tu_read_png(hp), s = tu_read_png(sp), o = tu_read_png(op);
    for (int i = 0; i < W * H; i++) {
        assert_int_equal(h.pixels[i], 0);
        assert_int_equal(s.pixels[i], 0);
    }
    assert_rgb(&o, 0, 0, 119, 119, 119, 2);
    assert_rgb(&o, 1, 1, 0, 0, 0, 1);
    assert_rgb(&o, 2, 1, 255, 255, 255, 1);
    assert_no_temp_files(dir);
    free(h.pixels), free(s.pixels), free(o.pixels);
    free(hp), free(sp), free(op);
    smp_lab_image_release(&lab);
}

/* A folder that is not there: an error naming it, in words, and nothing
 * written anywhere. */
static void test_missing_folder(void **state)
{
    (void)state;
    const char *dir = tu_path("no-such-folder");
    smp_lab_image lab = make_lab();
    smp_error err = {0};
    smp_status st = smp_debug_write_masks(dir, "consult1.jpg", &lab, NULL, NULL, &err);
    assert_int_equal(st, SMP_E_IO);
    assert_int_equal(err.status, SMP_E_IO);
    assert_non_null(strstr(err.message, dir));
    assert_non_null(strstr(err.message, "consult1.hair.png"));
    assert_non_null(strstr(err.message, "does not exist"));
    assert_null(strchr(err.message, '\n'));
    assert_int_equal(access(dir, F_OK), -1);
    smp_lab_image_release(&lab);
}

/* A file where the folder should be, and a folder nobody may write in. */
static void test_not_a_folder_not_writable(void **state)
{
    (void)state;
    smp_lab_image lab = make_lab();
    smp_error err = {0};
    const char *file = tu_path("plain-file");
    tu_write_file(file, "x", 1);
    assert_int_equal(smp_debug_write_masks(file, "a.jpg", &lab, NULL, NULL, &err), SMP_E_IO);
    assert_non_null(strstr(err.message, file));
    assert_non_null(strstr(err.message, "not a folder"));

    if (geteuid() != 0) { /* root writes anywhere: nothing to check then */
        const char *ro = fresh_dir("read-only");
        assert_int_equal(chmod(ro, 0555), 0);
        memset(&err, 0, sizeof err);
        assert_int_equal(smp_debug_write_masks(ro, "a.jpg", &lab, NULL, NULL, &err), SMP_E_IO);
        assert_non_null(strstr(err.message, ro));
        assert_non_null(strstr(err.message, "permission"));
        chmod(ro, 0755);
        assert_no_temp_files(ro);
    }
    smp_lab_image_release(&lab);
}

/* A write that fails half-way (a full disk; here the file size limit,
 * which fails the same write(2) with EFBIG): an error naming the file, no
 * temporary file left, and no half-written picture under the final name. */
static void test_write_fails_midway(void **state)
{
    (void)state;
    const char *dir = fresh_dir("too-big");
    enum { N = 64 };
    smp_lab_image lab = {N, N, malloc(N * N * 3 * sizeof(float)), calloc(N * N, 1), NULL, NULL};
    assert_non_null(lab.lab);
    unsigned x = 1;
    for (int i = 0; i < N * N * 3; i++) { /* noise: the overlay cannot compress below the limit */
        x = x * 1103515245u + 12345u;
        lab.lab[i] = i % 3 == 0 ? (float)(x >> 16 & 63) + 20.0f : (float)(x >> 16 & 31) - 16.0f;
    }
    struct rlimit old, small = {2000, 2000};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    if (old.rlim_max != RLIM_INFINITY && old.rlim_max < small.rlim_max)
        small.rlim_cur = small.rlim_max = old.rlim_max;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN); /* a failed write, not a killed process */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    smp_error err = {0};
    smp_status st = smp_debug_write_masks(dir, "big.jpg", &lab, NULL, NULL, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);

    assert_int_equal(st, SMP_E_IO);
    assert_non_null(strstr(err.message, "big.overlay.png"));
    assert_non_null(strstr(err.message, "cannot write"));
    char *op = file_in(dir, "big.overlay.png");
    assert_int_equal(access(op, F_OK), -1);
    free(op);
    assert_no_temp_files(dir);
    smp_lab_image_release(&lab);
}

/* Nothing to draw on: an argument error, not a crash. */
static void test_bad_arguments(void **state)
{
    (void)state;
    smp_error err = {0};
    smp_lab_image empty = {0};
    assert_int_equal(smp_debug_write_masks(tu_tmpdir(), "a.jpg", &empty, NULL, NULL, &err), SMP_E_ARG);
    assert_non_null(strstr(err.message, "a.jpg"));
    assert_int_equal(smp_debug_write_masks(tu_tmpdir(), "a.jpg", NULL, NULL, NULL, &err), SMP_E_ARG);
    smp_lab_image lab = make_lab();
    assert_int_equal(smp_debug_write_masks(NULL, "a.jpg", &lab, NULL, NULL, &err), SMP_E_ARG);
    assert_int_equal(smp_debug_write_masks("", "a.jpg", &lab, NULL, NULL, NULL), SMP_E_ARG); /* err may be NULL */
    smp_lab_image_release(&lab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masks_and_overlay),
        cmocka_unit_test(test_null_masks_replace),
        cmocka_unit_test(test_missing_folder),
        cmocka_unit_test(test_not_a_folder_not_writable),
        cmocka_unit_test(test_write_fails_midway),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
