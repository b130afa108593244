/*
 * test_hardening.c: issue 7 ("Hardening"), items 2 and 3 and the mixed
 * batch. Limits are checked before anything big is allocated (photos whose
 * header claims 3600 MP or 10000 MP, CGATS palettes whose header claims
 * millions of values); embedded profiles that are broken, nonsensical or
 * claim a huge table fall back to sRGB with a warning and never put NaN in
 * an output; palettes warn about repeated names and colours no pigment can
 * have; and a batch of valid and broken photos gives exactly the valid
 * results plus one clear error per broken photo.
 *
 * "Without allocating" is checked in a forked child whose RLIMIT_DATA
 * leaves 64 MB above what it already uses (private writable mappings count
 * against it, also the sanitizer allocator's large blocks): a decoder that
 * allocated for the claimed size first would get no memory there (or
 * AddressSanitizer would stop the child) instead of answering "too large".
 * Where the library goes on after a refused allocation (a profile's table:
 * colour.c caps LittleCMS's allocations and falls back to sRGB), a refusal
 * by that limit would look like success; there the child runs unlimited
 * and its peak resident memory is what is checked.
 */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS; before any header */
#include "testutil.h"

#include <errno.h>
#include <jansson.h>
#include <lcms2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "colour.h"
#include "encode.h"
#include "image.h"
#include "smpmatch.h"

/* ------------------------------------------------------------------ */
/* Crafted files                                                       */
/* ------------------------------------------------------------------ */

static unsigned char *flat_rgb(int w, int h, int r, int g, int b)
{
    unsigned char *px = malloc((size_t)w * (size_t)h * 3);
    assert_non_null(px);
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
        px[3 * i] = (unsigned char)r;
        px[3 * i + 1] = (unsigned char)g;
        px[3 * i + 2] = (unsigned char)b;
    }
    return px;
}

static unsigned char *jpeg_with_icc(const unsigned char *icc, size_t icc_size, size_t *n)
{
    unsigned char *px = flat_rgb(16, 16, 120, 90, 70), *out = NULL;
    enc_jpeg_opts o = {.quality = 95, .icc = icc, .icc_size = icc_size};
    assert_int_equal(enc_jpeg(NULL, &out, n, px, 16, 16, 3, &o), 0);
    free(px);
    return out;
}

static uint32_t crc32_png(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu; /* ISO/IEC 15948 annex D, bit by bit */
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static size_t png_chunk(const unsigned char *png, size_t size, const char *type)
{
    for (size_t at = 8; at + 12 <= size;) {
        size_t len = (size_t)png[at] << 24 | (size_t)png[at + 1] << 16 | (size_t)png[at + 2] << 8 |
                     png[at + 3];
        if (memcmp(png + at + 4, type, 4) == 0)
            return at;
        at += 12 + len;
    }
    fail_msg("no %s chunk", type);
    return 0;
}

/* A 16 x 16 JPEG whose SOF0 says width x height (ITU-T T.81 B.2.2). */
static unsigned char *jpeg_claiming(unsigned w, unsigned h, size_t *n)
{
    unsigned char *jpg = jpeg_with_icc(NULL, 0, n);
    size_t sof = 2;
    while (sof + 9 < *n && !(jpg[sof] == 0xFF && jpg[sof + 1] == 0xC0))
        sof += 2 + ((size_t)jpg[sof + 2] << 8 | jpg[sof + 3]);
    assert_true(sof + 9 < *n);
    jpg[sof + 5] = (unsigned char)(h >> 8), jpg[sof + 6] = (unsigned char)h;
    jpg[sof + 7] = (unsigned char)(w >> 8), jpg[sof + 8] = (unsigned char)w;
    return jpg;
}

/* A 16 x 16 PNG; with w, h its IHDR says so (CRC made right). */
static unsigned char *png_claiming(uint32_t w, uint32_t h, size_t *n)
{
    unsigned char *px = flat_rgb(16, 16, 120, 90, 70), *png = NULL;
    assert_int_equal(enc_png(NULL, &png, n, px, 16, 16, ENC_PNG_RGB, NULL), 0);
    free(px);
    if (w && h) {
        size_t ihdr = png_chunk(png, *n, "IHDR");
        put_be32(png + ihdr + 8, w);
        put_be32(png + ihdr + 12, h);
        put_be32(png + ihdr + 8 + 13, crc32_png(png + ihdr + 4, 17));
    }
    return png;
}

/* ------------------------------------------------------------------ */
/* Limits before allocation                                            */
/* ------------------------------------------------------------------ */

/* A "VmData:"-style line of /proc/self/status, in bytes; 0 if none. */
static size_t status_bytes(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0, len = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':' &&
            sscanf(line + len + 1, "%zu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

static size_t vm_data_bytes(void)
{
    return status_bytes("VmData");
}

typedef int (*child_fn)(void);

/* Runs fn in a child allowed 64 MB more than it holds. Returns fn's exit
 * status, or 77 when the limit cannot be made to bite here. */
static int run_limited(child_fn fn)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        size_t now = vm_data_bytes();
        struct rlimit rl = {now + ((size_t)64 << 20), now + ((size_t)64 << 20)};
        if (!now || setrlimit(RLIMIT_DATA, &rl) != 0)
            _exit(77);
        /* The limit bites: 512 MB of private memory is refused. */
        void *big = mmap(NULL, (size_t)512 << 20, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (big != MAP_FAILED)
            _exit(77);
        _exit(fn());
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* 1 when loading `data` fails with SMP_E_LIMIT, a "too large" message
 * naming the file, the claimed size and the limit, within 2 s. */
static int refused_as_too_large(const char *name, const unsigned char *data, size_t n,
                                const char *dims)
{
    smp_image img;
    smp_error err;
    double t0 = now_s();
    smp_status st = smp_image_load_memory(name, data, n, NULL, &img, &err);
    double dt = now_s() - t0;
    int ok = st == SMP_E_LIMIT && strncmp(err.message, name, strlen(name)) == 0 &&
             strstr(err.message, "too large") && strstr(err.message, dims) &&
             strstr(err.message, "over the 100 MP limit") && img.pixels == NULL && dt < 2.0;
    if (!ok)
        fprintf(stderr, "%s: status %d in %.3f s: %s\n", name, (int)st, dt, err.message);
    /* The whole pipeline says the same. */
    smp_palette *pal = NULL;
    smp_options opt;
    smp_options_init(&opt);
    smp_result *res = NULL;
    if (ok && smp_palette_new_default(&pal, &err) == SMP_OK) {
        ok = smp_analyse_memory(name, data, n, pal, &opt, &res) == SMP_E_LIMIT && res &&
             res->error && strstr(res->error, "too large");
        smp_result_free(res);
        smp_palette_free(pal);
    }
    return ok;
}

static int child_huge_photos(void)
{
    size_t n;
    unsigned char *jpg = jpeg_claiming(60000, 60000, &n);
    int ok = refused_as_too_large("huge.jpg", jpg, n, "(3600 MP): 60000 x 60000 pixels");
    free(jpg);
    unsigned char *png = png_claiming(100000, 100000, &n);
    ok = ok && refused_as_too_large("huge.png", png, n, "(10000 MP): 100000 x 100000 pixels");
    free(png);
    return ok ? 0 : 1;
}

static void test_huge_claims_refused_before_allocating(void **state)
{
    (void)state;
    int rc = run_limited(child_huge_photos);
    if (rc == 77)
        skip();
    assert_int_equal(rc, 0);
}

/* The caller's own pixel limit (--max-pixels), a hair under and at the
 * photo's size. */
static void test_max_pixels_exact(void **state)
{
    (void)state;
    size_t n;
    unsigned char *png = png_claiming(0, 0, &n);
    smp_load_limits lim = {.max_pixels = 255};
    smp_image img;
    smp_error err;
    assert_int_equal(smp_image_load_memory("small.png", png, n, &lim, &img, &err), SMP_E_LIMIT);
    assert_non_null(strstr(err.message, "small.png: too large (0.000256 MP): 16 x 16 pixels"));
    lim.max_pixels = 256;
    assert_int_equal(smp_image_load_memory("small.png", png, n, &lim, &img, &err), SMP_OK);
    smp_image_release(&img);
    free(png);
}

/* A CGATS text whose header claims fields x sets values, with one sample. */
static char *cgats_claiming(const char *fields, const char *sets, size_t *n)
{
    char *t = malloc(1024);
    assert_non_null(t);
    *n = (size_t)snprintf(t, 1024,
                          "CGATS.17\nNUMBER_OF_FIELDS %s\nBEGIN_DATA_FORMAT\nSAMPLE_ID LAB_L LAB_A "
                          "LAB_B\nEND_DATA_FORMAT\nNUMBER_OF_SETS %s\nBEGIN_DATA\n1 20 0 0\n"
                          "END_DATA\n", fields, sets);
    return t;
}

static int child_cgats_claims(void)
{
    size_t n;
    smp_palette *pal = NULL;
    smp_error err;
    /* 63 million values from a file of 200 bytes: LittleCMS alone would
     * have allocated (and zeroed) ~500 MB for them. */
    char *t = cgats_claiming("7000", "9000", &n);
    int ok = smp_palette_load_memory("claims.it8", t, n, &pal, &err) == SMP_E_FORMAT &&
             strstr(err.message, "claims.it8: the header promises 63000000 values");
    free(t);
    if (!ok)
        fprintf(stderr, "%s\n", err.message);
    return ok ? 0 : 1;
}

static void test_cgats_header_claims(void **state)
{
    (void)state;
    int rc = run_limited(child_cgats_claims);
    if (rc != 77)
        assert_int_equal(rc, 0);

    size_t n;
    smp_palette *pal = NULL;
    smp_error err;
    char *t = cgats_claiming("4", "20000", &n);
    assert_int_equal(smp_palette_load_memory("many.it8", t, n, &pal, &err), SMP_E_LIMIT);
    assert_non_null(strstr(err.message, "many.it8: line 6: 20000 samples, more than the 10000"));
    free(t);
    t = cgats_claiming("0x4", "1", &n);
    assert_int_equal(smp_palette_load_memory("hex.it8", t, n, &pal, &err), SMP_E_FORMAT);
    assert_non_null(strstr(err.message, "hex.it8: line 2: NUMBER_OF_FIELDS is not a whole number"));
    free(t);
    /* An honest header still loads, quoted counts too. */
    t = cgats_claiming("\"4\"", "1", &n);
    assert_int_equal(smp_palette_load_memory("ok.it8", t, n, &pal, &err), SMP_OK);
    assert_int_equal(smp_palette_size(pal), 1);
    smp_palette_free(pal);
    free(t);
}

/* ------------------------------------------------------------------ */
/* Broken and nonsensical embedded profiles                            */
/* ------------------------------------------------------------------ */

static unsigned char *save_profile(cmsHPROFILE p, size_t *n)
{
    cmsUInt32Number len = 0;
    assert_true(cmsSaveProfileToMem(p, NULL, &len));
    unsigned char *b = malloc(len);
    assert_non_null(b);
    assert_true(cmsSaveProfileToMem(p, b, &len));
    cmsCloseProfile(p);
    *n = len;
    return b;
}

/* An RGB profile with sRGB's primaries whose three curves are `curve`. */
static unsigned char *rgb_profile_with_curve(const cmsUInt16Number *table, int entries, size_t *n)
{
    cmsToneCurve *c = cmsBuildTabulatedToneCurve16(NULL, (cmsUInt32Number)entries, table);
    cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
    cmsCIExyYTRIPLE prim = {{0.64, 0.33, 1.0}, {0.30, 0.60, 1.0}, {0.15, 0.06, 1.0}};
    cmsToneCurve *cs[3] = {c, c, c};
    cmsHPROFILE p = cmsCreateRGBProfile(&d65, &prim, cs);
    cmsFreeToneCurve(c);
    assert_non_null(p);
    return save_profile(p, n);
}

/* sRGB with all three colorant tags (the matrix, ICC.1:2010 9.2.44) set
 * to k, k, k: white comes out at k times the PCS white's Y or, for k < 0,
 * below black. */
static unsigned char *srgb_with_colorants(double k, size_t *n)
{
    cmsHPROFILE p = cmsCreate_sRGBProfile();
    cmsCIEXYZ xyz = {k, k, k};
    assert_true(cmsWriteTag(p, cmsSigRedColorantTag, &xyz));
    assert_true(cmsWriteTag(p, cmsSigGreenColorantTag, &xyz));
    assert_true(cmsWriteTag(p, cmsSigBlueColorantTag, &xyz));
    return save_profile(p, n);
}

typedef struct colour_case {
    const char *what;
    unsigned char *icc;
    size_t size;
    const char *reason; /* in info.fallback_reason; NULL: any */
} colour_case;

/* Lab of the test JPEG as LittleCMS's sRGB sees it. */
static void converted(const unsigned char *icc, size_t icc_size, double lab[3],
                      smp_colour_info *info)
{
    size_t n;
    unsigned char *jpg = jpeg_with_icc(icc, icc_size, &n);
    smp_image img;
    smp_lab_image li;
    smp_error err;
    assert_int_equal(smp_image_load_memory("p.jpg", jpg, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(smp_colour_to_lab("p.jpg", &img, &li, info, &err), SMP_OK);
    for (size_t i = 0; i < (size_t)li.width * (size_t)li.height * 3; i++)
        assert_true(isfinite(li.lab[i]));
    for (int c = 0; c < 3; c++)
        lab[c] = li.lab[c];
    smp_lab_image_release(&li);
    smp_image_release(&img);
    free(jpg);
}

static void test_bad_profiles_fall_back(void **state)
{
    (void)state;
    double want[3], got[3];
    smp_colour_info info;
    converted(NULL, 0, want, &info);
    assert_int_equal(info.assumed, 1);

    size_t srgb_n;
    unsigned char *srgb = enc_icc_srgb(&srgb_n);
    colour_case cases[9];
    int nc = 0;
    /* Cut in half: LittleCMS cannot read its tags. */
    cases[nc++] = (colour_case){"truncated", malloc(srgb_n / 2), srgb_n / 2, "is damaged"};
    memcpy(cases[0].icc, srgb, srgb_n / 2);
    /* The header's colour space (ICC.1:2010 7.2.6, bytes 16-19) patched:
     * a CMYK and a Lab profile in an RGB JPEG. */
    static const char *const spaces[2][2] = {{"CMYK", "a CMYK profile, not for RGB pixels"},
                                             {"Lab ", "a Lab profile, not for RGB pixels"}};
    for (int s = 0; s < 2; s++) {
        unsigned char *b = malloc(srgb_n);
        memcpy(b, srgb, srgb_n);
        memcpy(b + 16, spaces[s][0], 4);
        cases[nc++] = (colour_case){spaces[s][0], b, srgb_n, spaces[s][1]};
    }
    cmsCIExyY d50;
    cmsXYZ2xyY(&d50, cmsD50_XYZ());
    cmsToneCurve *g22 = cmsBuildGamma(NULL, 2.2);
    size_t n;
    unsigned char *grey = save_profile(cmsCreateGrayProfile(&d50, g22), &n);
    cmsFreeToneCurve(g22);
    cases[nc++] = (colour_case){"grey", grey, n, "a grey profile, not for RGB pixels"};
    static const cmsUInt16Number black[2] = {0, 0}, inverted[2] = {65535, 0};
    unsigned char *b = rgb_profile_with_curve(black, 2, &n);
    cases[nc++] = (colour_case){"all black", b, n, "makes white no lighter than black"};
    b = rgb_profile_with_curve(inverted, 2, &n);
    cases[nc++] = (colour_case){"inverted", b, n, "makes white no lighter than black"};
    /* Colorants of 30000 (the largest s15Fixed16 is 32767) and -30000. */
    b = srgb_with_colorants(30000, &n);
    cases[nc++] = (colour_case){"huge colorants", b, n, "gives colours outside CIELAB"};
    b = srgb_with_colorants(-30000, &n);
    cases[nc++] = (colour_case){"negative colorants", b, n, "gives colours outside CIELAB"};

    for (int i = 0; i < nc; i++) {
        converted(cases[i].icc, cases[i].size, got, &info);
        if (!info.fallback || (cases[i].reason && !strstr(info.fallback_reason, cases[i].reason)))
            fail_msg("%s: fallback %d, \"%s\"", cases[i].what, info.fallback,
                     info.fallback_reason);
        assert_int_equal(info.assumed, 0);
        assert_true(strstr(info.fallback_reason, "the embedded colour profile") ==
                    info.fallback_reason);
        assert_true(smp_de00(want, got) < 1e-4); /* exactly what sRGB gives */
        free(cases[i].icc);
    }
    /* The real sRGB profile is used as it is. */
    converted(srgb, srgb_n, got, &info);
    assert_int_equal(info.fallback, 0);
    assert_true(smp_de00(want, got) < 0.01);
    free(srgb);
}

/* PNG gAMA with cHRM primaries on one point: no RGB space. libpng itself
 * drops such a cHRM (and refuses to write one), so the image is made here
 * as the loader would hand it over. */
static void test_png_degenerate_chrm(void **state)
{
    (void)state;
    smp_image img;
    memset(&img, 0, sizeof img);
    img.width = img.height = 4;
    img.channels = 3;
    img.bits = 8;
    img.stride = 12;
    img.pixels = flat_rgb(4, 4, 120, 90, 70);
    img.png_has_gamma = 1;
    img.png_gamma = 1 / 2.2;
    img.png_has_chrm = 1;
    const double chrm[8] = {0.3127, 0.329, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3};
    memcpy(img.png_chrm, chrm, sizeof chrm);
    smp_lab_image li;
    smp_colour_info info;
    smp_error err;
    assert_int_equal(smp_colour_to_lab("c.png", &img, &li, &info, &err), SMP_OK);
    assert_int_equal(info.fallback, 1);
    assert_int_equal(info.assumed, 0);
    assert_non_null(strstr(info.fallback_reason, "gAMA and cHRM"));
    for (size_t i = 0; i < 4 * 4 * 3; i++)
        assert_true(isfinite(li.lab[i]));
    smp_lab_image_release(&li);
    free(img.pixels);
}

/* ------------------------------------------------------------------ */
/* A profile that claims a huge table                                  */
/* ------------------------------------------------------------------ */

static void put_be16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put_xyz_d50(unsigned char *p)
{
    /* D50 as s15Fixed16 (ICC.1:2010 7.2.16): X 0.9642, Y 1.0, Z 0.8249. */
    put_be32(p, 0xF6D6);
    put_be32(p + 4, 0x10000);
    put_be32(p + 8, 0xD32D);
}

/* An RGB display profile made byte by byte (ICC.1:2010 section 7: a
 * 128-byte v2.1 header, the tag count, 12 bytes a tag): a media white
 * point and an A2B0 that is a lut16 (10.10) on 3 inputs and 3 outputs
 * with an identity matrix, 2-entry identity curves and `grid` points per
 * input. grid 2: a whole, honest CLUT that maps RGB to a grey of L* =
 * 100 (r + g + b) / 3 (v2 Lab encoding, L* 100 = 0xFF00, a* = b* = 0 at
 * 0x8000). grid 255: the tag claims 255^3 x 3 16-bit entries, 99.5 MB, and
 * the profile ends 64 bytes into them. Everything else is well formed
 * (libpng takes it in an iCCP chunk), so only the claim is wrong. */
static unsigned char *lut16_profile(int grid, size_t *n)
{
    enum { WTPT = 156, A2B0 = 176, HEAD = 52 + 3 * 2 * 2 }; /* lut16 up to its CLUT */
    size_t tag = grid == 2 ? HEAD + 8 * 3 * 2 + 3 * 2 * 2 : HEAD + 64, size = A2B0 + tag;
    unsigned char *p = calloc(1, size);
    assert_non_null(p);
    put_be32(p, (uint32_t)size);
    put_be32(p + 8, 0x02100000);          /* version 2.1 */
    memcpy(p + 12, "mntrRGB Lab ", 12); /* display class, RGB data, Lab PCS */
    memcpy(p + 36, "acsp", 4);
    put_xyz_d50(p + 68);                  /* the PCS illuminant */
    put_be32(p + 128, 2);
    memcpy(p + 132, "wtpt", 4);
    put_be32(p + 136, WTPT);
    put_be32(p + 140, 20);
    memcpy(p + 144, "A2B0", 4);
    put_be32(p + 148, A2B0);
    put_be32(p + 152, (uint32_t)tag);
    memcpy(p + WTPT, "XYZ ", 4);
    put_xyz_d50(p + WTPT + 8);

    unsigned char *l = p + A2B0;
    memcpy(l, "mft2", 4);
    l[8] = 3, l[9] = 3, l[10] = (unsigned char)grid;
    for (int i = 0; i < 3; i++)
        put_be32(l + 12 + 16 * i, 0x10000); /* e00, e11, e22 of the matrix */
    put_be16(l + 48, 2);                    /* input table entries */
    put_be16(l + 50, 2);                    /* output table entries */
    for (int c = 0; c < 3; c++)
        put_be16(l + 52 + 4 * c + 2, 0xFFFF); /* input curves 0, 65535 */
    if (grid == 2) {
        unsigned char *t = l + HEAD; /* nodes in r, g, b order, b fastest */
        for (int i = 0; i < 8; i++, t += 6) {
            put_be16(t, (unsigned)(0xFF00 * ((i >> 2) + (i >> 1 & 1) + (i & 1)) / 3));
            put_be16(t + 2, 0x8000);
            put_be16(t + 4, 0x8000);
        }
        for (int c = 0; c < 3; c++)
            put_be16(t + 4 * c + 2, 0xFFFF); /* output curves */
    }
    *n = size;
    return p;
}

/* The test photo (16 x 16, one colour) as JPEG and PNG, each with icc
 * (when given) and without. */
typedef struct tagged_pair {
    const char *name;
    unsigned char *tagged, *plain;
    size_t tagged_n, plain_n;
} tagged_pair;

static void make_pairs(const unsigned char *icc, size_t icc_n, tagged_pair pair[2])
{
    pair[0].name = "big_clut.jpg";
    pair[0].tagged = jpeg_with_icc(icc, icc_n, &pair[0].tagged_n);
    pair[0].plain = jpeg_with_icc(NULL, 0, &pair[0].plain_n);
    unsigned char *px = flat_rgb(16, 16, 120, 90, 70);
    enc_png_opts o = {.bits = 8, .icc = icc, .icc_size = icc_n};
    pair[1].name = "big_clut.png";
    assert_int_equal(enc_png(NULL, &pair[1].tagged, &pair[1].tagged_n, px, 16, 16, ENC_PNG_RGB, &o), 0);
    assert_int_equal(enc_png(NULL, &pair[1].plain, &pair[1].plain_n, px, 16, 16, ENC_PNG_RGB, NULL), 0);
    free(px);
}

static void free_pairs(tagged_pair pair[2])
{
    for (int i = 0; i < 2; i++)
        free(pair[i].tagged), free(pair[i].plain);
}

/* Converts data to Lab (16 x 16 x 3 floats into lab); 0 on success. No
 * cmocka asserts: this runs in a forked child. */
static int lab_of(const char *name, const unsigned char *data, size_t n, float *lab,
                  smp_colour_info *info)
{
    smp_image img;
    smp_lab_image li;
    smp_error err;
    if (smp_image_load_memory(name, data, n, NULL, &img, &err) != SMP_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    int rc = -1;
    if (smp_colour_to_lab(name, &img, &li, info, &err) != SMP_OK) {
        fprintf(stderr, "%s\n", err.message);
    } else if (li.width == 16 && li.height == 16) {
        memcpy(lab, li.lab, 16 * 16 * 3 * sizeof *lab);
        rc = 0;
    }
    smp_lab_image_release(&li);
    smp_image_release(&img);
    return rc;
}

#define HUGE_CLUT_WORDS "the embedded colour profile is damaged or too large (it asks for " \
                        "99.5 MB at once, over the 64.0 MB allowed)"

/* Each photo: the fallback, and pixel for pixel what the untagged photo
 * gives. Returns 0 when both photos pass. */
static int huge_clut_falls_back(void *arg)
{
    const tagged_pair *pair = arg;
    float want[16 * 16 * 3], got[16 * 16 * 3];
    for (int i = 0; i < 2; i++) {
        smp_colour_info info;
        if (lab_of(pair[i].name, pair[i].plain, pair[i].plain_n, want, &info) ||
            lab_of(pair[i].name, pair[i].tagged, pair[i].tagged_n, got, &info))
            return 1;
        if (!info.fallback || info.assumed || strcmp(info.fallback_reason, HUGE_CLUT_WORDS) ||
            memcmp(want, got, sizeof want)) {
            fprintf(stderr, "%s: fallback %d, \"%s\"\n", pair[i].name, info.fallback,
                    info.fallback_reason);
            return 1;
        }
    }
    return 0;
}

/* Runs fn(arg) in a child and returns its exit status: 3 when the child's
 * peak resident memory (VmHWM, reset through /proc/self/clear_refs, Linux
 * 4.0 on) grew by more than `budget` bytes meanwhile, 77 when the peak
 * cannot be reset here, else fn's. An allocation that is made is also
 * zeroed or filled, so it shows in the peak; one that is refused does not. */
static int run_peak_measured(int (*fn)(void *), void *arg, size_t budget)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = fopen("/proc/self/clear_refs", "w");
        if (!f || fputs("5", f) < 0 || fclose(f) != 0)
            _exit(77);
        size_t before = status_bytes("VmHWM");
        if (!before || before > status_bytes("VmRSS") + ((size_t)1 << 20))
            _exit(77); /* the reset did not take */
        int rc = fn(arg);
        size_t grew = status_bytes("VmHWM") - before;
        printf("peak resident memory grew by %.1f MB\n", (double)grew / 1e6);
        fflush(NULL);
        _exit(grew > budget ? 3 : rc);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* A lut16 claiming 99.5 MB in a 304-byte profile, in a JPEG (APP2) and a
 * PNG (iCCP): the photos are converted as sRGB with the reason said, and
 * the table is never allocated: the child's peak memory grows by less
 * than 16 MB (LittleCMS 2.14 alone would take, and zero, 99.5 MB). */
static void test_huge_clut_never_allocated(void **state)
{
    (void)state;
    size_t icc_n;
    unsigned char *icc = lut16_profile(255, &icc_n);
    assert_int_equal(icc_n, 304);
    tagged_pair pair[2];
    make_pairs(icc, icc_n, pair);
    int rc = run_peak_measured(huge_clut_falls_back, pair, (size_t)16 << 20);
    if (rc == 77)
        assert_int_equal(huge_clut_falls_back(pair), 0); /* at least the fallback */
    else
        assert_int_equal(rc, 0);
    free_pairs(pair);
    free(icc);
    if (rc == 77)
        skip();
}

/* The same profile made honest (2 grid points, the whole table) is used
 * as it is: the profile is well formed but for its claim. */
static void test_honest_lut16_is_used(void **state)
{
    (void)state;
    size_t icc_n;
    unsigned char *icc = lut16_profile(2, &icc_n);
    double lab[3];
    smp_colour_info info;
    converted(icc, icc_n, lab, &info);
    assert_int_equal(info.fallback, 0);
    assert_int_equal(info.assumed, 0);
    /* A grey of L* = 100 (120 + 90 + 70) / (3 x 255) = 36.6; the curves
     * and the CLUT are linear, so only 16-bit rounding and the JPEG's
     * own error (quality 95, a flat colour) remain. */
    assert_true(fabs(lab[0] - 100.0 * 280 / 765) < 0.5);
    assert_true(fabs(lab[1]) < 0.1 && fabs(lab[2]) < 0.1);
    free(icc);
}

/* A real consult photo with the claiming profile, through the whole
 * pipeline and the CLI: analysed as sRGB with the same numbers as the
 * untagged photo, one warning more, and on stderr a line naming the file. */
static void test_huge_clut_through_pipeline(void **state)
{
    (void)state;
    smp_image img;
    smp_error err;
    smp_load_limits full = {.analysis_size = 0};
    assert_int_equal(smp_image_load_file(SMP_SOURCE_DIR "/samples/crown_dark_on_light.jpg", &full,
                                         &img, &err), SMP_OK);
    size_t icc_n, n[2];
    unsigned char *icc = lut16_profile(255, &icc_n), *jpg[2] = {NULL, NULL};
    enc_jpeg_opts o = {.quality = 92, .icc = icc, .icc_size = icc_n};
    assert_int_equal(enc_jpeg(NULL, &jpg[0], &n[0], img.pixels, img.width, img.height, 3, &o), 0);
    o.icc = NULL, o.icc_size = 0;
    assert_int_equal(enc_jpeg(NULL, &jpg[1], &n[1], img.pixels, img.width, img.height, 3, &o), 0);
    smp_image_release(&img);

    smp_palette *pal = NULL;
    assert_int_equal(smp_palette_new_default(&pal, &err), SMP_OK);
    smp_options opt;
    smp_options_init(&opt);
    smp_result *r[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++)
        assert_int_equal(smp_analyse_memory("big_clut.jpg", jpg[i], n[i], pal, &opt, &r[i]), SMP_OK);
    assert_true(r[0]->hair.measured && r[0]->scalp.measured);
    assert_memory_equal(r[0]->hair.lab, r[1]->hair.lab, sizeof r[0]->hair.lab);
    assert_memory_equal(r[0]->scalp.lab, r[1]->scalp.lab, sizeof r[0]->scalp.lab);
    assert_true(r[0]->n_matches > 0 && r[0]->n_matches == r[1]->n_matches);
    for (size_t i = 0; i < r[0]->n_matches; i++) {
        assert_string_equal(r[0]->matches[i].name, r[1]->matches[i].name);
        assert_true(r[0]->matches[i].delta_e == r[1]->matches[i].delta_e);
    }
    assert_int_equal(r[0]->image.icc_assumed, 0);
    assert_int_equal(r[1]->image.icc_assumed, 1);
    assert_int_equal(r[0]->n_warnings, r[1]->n_warnings + 1);
    int said = 0;
    for (size_t i = 0; i < r[0]->n_warnings; i++)
        said += strcmp(r[0]->warnings[i], HUGE_CLUT_WORDS ": colours taken as sRGB") == 0;
    assert_int_equal(said, 1);
    smp_result_free(r[0]);
    smp_result_free(r[1]);
    smp_palette_free(pal);

    const char *path = tu_path("big_clut.jpg");
    tu_write_file(path, jpg[0], n[0]);
    char args[512], *out = NULL, *errtext = NULL, want[1024];
    snprintf(args, sizeof args, "-f json '%s'", path);
    assert_int_equal(tu_run_cli(args, &out, &errtext), 0);
    snprintf(want, sizeof want, "smpmatch: %s: warning: " HUGE_CLUT_WORDS ": colours taken as sRGB\n",
             path);
    if (!strstr(errtext, want))
        fail_msg("no warning naming the file on stderr:\n%s", errtext);
    assert_non_null(strstr(out, "\"status\":\"ok\""));
    free(out);
    free(errtext);
    free(jpg[0]);
    free(jpg[1]);
    free(icc);
}

static int word_char(char c)
{
    return c == '_' || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

/* No "nan" or "inf" as a word in an output. */
static void assert_no_nan(const char *text)
{
    for (const char *p = text; *p; p++) {
        if (p != text && word_char(p[-1]))
            continue;
        if ((strncasecmp(p, "nan", 3) == 0 || strncasecmp(p, "inf", 3) == 0) && !word_char(p[3]))
            fail_msg("a non-number in the output: ...%.40s", p);
    }
}

/* A real consult photo tagged with a profile that makes everything black:
 * analysed as sRGB, the result says so, and no output holds a NaN. */
static void test_fallback_through_the_cli(void **state)
{
    (void)state;
    smp_image img;
    smp_error err;
    smp_load_limits full = {.analysis_size = 0};
    assert_int_equal(smp_image_load_file(SMP_SOURCE_DIR "/samples/crown_dark_on_light.jpg", &full,
                                         &img, &err), SMP_OK);
    assert_int_equal(img.channels, 3);
    static const cmsUInt16Number black[2] = {0, 0};
    size_t icc_n;
    unsigned char *icc = rgb_profile_with_curve(black, 2, &icc_n);
    enc_jpeg_opts o = {.quality = 92, .icc = icc, .icc_size = icc_n};
    const char *path = tu_path("black_profile.jpg");
    assert_int_equal(enc_jpeg(path, NULL, NULL, img.pixels, img.width, img.height, 3, &o), 0);
    smp_image_release(&img);
    free(icc);

    static const char *const formats[3] = {"json", "csv", "text"};
    for (int f = 0; f < 3; f++) {
        char args[512], *out = NULL, *errtext = NULL;
        snprintf(args, sizeof args, "-f %s '%s'", formats[f], path);
        assert_int_equal(tu_run_cli(args, &out, &errtext), 0);
        assert_no_nan(out);
        if (!strstr(out, "makes white no lighter than black") &&
            !strstr(errtext, "makes white no lighter than black"))
            fail_msg("%s: the fallback is not reported:\n%s%s", formats[f], out, errtext);
        if (f == 0) {
            json_error_t je;
            json_t *j = json_loads(out, 0, &je);
            assert_non_null(j);
            assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
            json_t *w = json_object_get(j, "warnings");
            int said = 0;
            for (size_t i = 0; i < json_array_size(w); i++)
                said |= strstr(json_string_value(json_array_get(w, i)),
                               "colours taken as sRGB") != NULL;
            assert_true(said);
            json_t *image = json_object_get(j, "image");
            assert_true(json_is_false(json_object_get(image, "icc_assumed")));
            json_decref(j);
        }
        free(out);
        free(errtext);
    }
}

/* ------------------------------------------------------------------ */
/* Palette warnings                                                    */
/* ------------------------------------------------------------------ */

static smp_palette *load_text(const char *name, const char *text)
{
    smp_palette *pal = NULL;
    smp_error err;
    if (smp_palette_load_memory(name, text, strlen(text), &pal, &err) != SMP_OK)
        fail_msg("%s", err.message);
    return pal;
}

static void test_palette_warnings_csv(void **state)
{
    (void)state;
    smp_palette *pal = load_text("my.csv",
                                 "name,code,L,a,b,hex\n"
                                 "Warm carbon,K1,20,1,2,\n"          /* line 2 */
                                 "Cool grey,G1,45,-1,-3,\n"
                                 "  warm CARBON  ,K2,22,1,2,\n"     /* line 4: same name */
                                 "Dark yellow,Y,20,0,40,\n"         /* Z < 0 */
                                 "Blue,B,30,0,-100,\n"              /* far outside sRGB */
                                 "Sky,S,,,,#0000ff\n"               /* sRGB's own blue */
                                 "Paper,W,100,0,0,\n"               /* the white itself */
                                 "Black,K0,0,0,0,\n");
    assert_int_equal(smp_palette_size(pal), 8);
    assert_int_equal(smp_palette_warning_count(pal), 3);
    assert_string_equal(smp_palette_warning(pal, 0),
                        "my.csv: line 4: \"warm CARBON\" is also on line 2; both are ranked, and a "
                        "base of that name means the one on line 2");
    assert_non_null(strstr(smp_palette_warning(pal, 1), "my.csv: line 5: \"Dark yellow\""));
    assert_non_null(strstr(smp_palette_warning(pal, 1), "no surface can have"));
    assert_non_null(strstr(smp_palette_warning(pal, 2), "my.csv: line 6: \"Blue\""));
    assert_non_null(strstr(smp_palette_warning(pal, 2), "outside the sRGB gamut"));
    assert_null(smp_palette_warning(pal, 3));
    /* Both carbons are kept, each with its own code. */
    assert_string_equal(smp_palette_get(pal, 0)->code, "K1");
    assert_string_equal(smp_palette_get(pal, 2)->code, "K2");

    /* Appending brings the warnings along, also onto itself. */
    smp_palette *all = NULL;
    smp_error err;
    assert_int_equal(smp_palette_new_default(&all, &err), SMP_OK);
    assert_int_equal(smp_palette_warning_count(all), 0); /* the built-in palette is clean */
    assert_int_equal(smp_palette_append(all, pal, &err), SMP_OK);
    assert_int_equal(smp_palette_warning_count(all), 3);
    assert_string_equal(smp_palette_warning(all, 2), smp_palette_warning(pal, 2));
    assert_int_equal(smp_palette_append(pal, pal, &err), SMP_OK);
    assert_int_equal(smp_palette_warning_count(pal), 6);
    assert_string_equal(smp_palette_warning(pal, 3), smp_palette_warning(pal, 0));
    smp_palette_free(all);
    smp_palette_free(pal);
}

static void test_palette_warnings_cgats_and_cap(void **state)
{
    (void)state;
    smp_palette *pal = load_text("swatches.it8",
                                 "CGATS.17\nNUMBER_OF_FIELDS 5\nBEGIN_DATA_FORMAT\n"
                                 "SAMPLE_ID SAMPLE_NAME LAB_L LAB_A LAB_B\nEND_DATA_FORMAT\n"
                                 "NUMBER_OF_SETS 3\nBEGIN_DATA\n"
                                 "1 Ink 20 0 0\n"
                                 "2 Ink2 30 1 1\n"
                                 "3 INK 22 0 0\n" /* line 10 */
                                 "END_DATA\n");
    assert_int_equal(smp_palette_warning_count(pal), 1);
    assert_string_equal(smp_palette_warning(pal, 0),
                        "swatches.it8: line 10 (sample 3): \"INK\" is also on line 8 (sample 1); "
                        "both are ranked, and a base of that name means the one on line 8 "
                        "(sample 1)");
    smp_palette_free(pal);

    /* 151 rows of one name: 150 repeats, 100 shown and one line for the rest. */
    size_t cap = 64 + 151 * 16;
    char *t = malloc(cap), *p = t;
    p += sprintf(p, "name,L,a,b\n");
    for (int i = 0; i < 151; i++)
        p += sprintf(p, "Same,%d,0,0\n", 10 + i % 50);
    pal = load_text("many.csv", t);
    assert_int_equal(smp_palette_warning_count(pal), 101);
    assert_string_equal(smp_palette_warning(pal, 100), "many.csv: 50 more warnings like these");
    smp_palette_free(pal);
    free(t);
}

/* The CLI prints each palette warning once, before the photos, unless -q. */
static void test_palette_warnings_cli(void **state)
{
    (void)state;
    const char *csv = tu_path("dup.csv");
    const char *text = "name,L,a,b\nCarbon,20,0,0\ncarbon,21,0,0\n";
    tu_write_file(csv, text, strlen(text));
    char args[1024], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "-p '%s' -f json '%s/samples/crown_dark_on_light.jpg' "
             "'%s/samples/temple_brown_srgb.jpg'", csv, SMP_SOURCE_DIR, SMP_SOURCE_DIR);
    assert_int_equal(tu_run_cli(args, &out, &err), 0);
    char want[512];
    snprintf(want, sizeof want, "smpmatch: warning: %s: line 3: \"carbon\" is also on line 2", csv);
    assert_true(strncmp(err, want, strlen(want)) == 0); /* first, before any photo */
    assert_null(strstr(strstr(err, "is also on") + 1, "is also on")); /* once */
    assert_null(strstr(out, "is also on")); /* stdout carries only the results */
    free(out);
    free(err);
    char qargs[1100];
    snprintf(qargs, sizeof qargs, "-q %s", args);
    assert_int_equal(tu_run_cli(qargs, &out, &err), 0);
    assert_null(strstr(err, "is also on"));
    free(out);
    free(err);
}

/* ------------------------------------------------------------------ */
/* The mixed batch                                                     */
/* ------------------------------------------------------------------ */

typedef struct batch_photo {
    const char *name;   /* in tu_tmpdir, or a sample */
    const char *cause;  /* NULL: valid */
} batch_photo;

static void write_bytes(const char *name, const void *data, size_t n)
{
    tu_write_file(tu_path(name), data, n);
}

static void test_mixed_batch(void **state)
{
    (void)state;
    size_t n;
    char *sample = tu_read_file(SMP_SOURCE_DIR "/samples/crown_dark_on_light.jpg", &n);
    write_bytes("valid1.jpg", sample, n);
    write_bytes("truncated.jpg", sample, n / 2);
    free(sample);
    sample = tu_read_file(SMP_SOURCE_DIR "/samples/temple_brown_srgb.jpg", &n);
    write_bytes("valid2.jpg", sample, n);
    free(sample);
    unsigned char noise[4096];
    uint32_t x = 2463534242u; /* xorshift32 (Marsaglia 2003) */
    for (size_t i = 0; i < sizeof noise; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        noise[i] = (unsigned char)x;
    }
    noise[0] = 'x'; /* neither JPEG's FF D8 nor PNG's signature */
    write_bytes("random.jpg", noise, sizeof noise);
    write_bytes("zero.jpg", "", 0);
    unsigned char *png = png_claiming(0, 0, &n);
    size_t idat = png_chunk(png, n, "IDAT");
    size_t len = (size_t)png[idat] << 24 | (size_t)png[idat + 1] << 16 |
                 (size_t)png[idat + 2] << 8 | png[idat + 3];
    png[idat + 8 + len] ^= 0x55; /* the IDAT CRC */
    write_bytes("badcrc.png", png, n);
    free(png);
    unsigned char *jpg = jpeg_claiming(60000, 60000, &n);
    write_bytes("huge.jpg", jpg, n);
    free(jpg);
    png = png_claiming(100000, 100000, &n);
    write_bytes("huge.png", png, n);
    free(png);

    static const batch_photo photos[] = {
        {"valid1.jpg", NULL},          {"truncated.jpg", "truncated after"},
        {"random.jpg", "not a JPEG or PNG file"}, {"zero.jpg", "the file is empty"},
        {"valid2.jpg", NULL},          {"badcrc.png", "CRC"},
        {"huge.jpg", "too large (3600 MP)"}, {"huge.png", "too large (10000 MP)"},
    };
    enum { N = sizeof photos / sizeof photos[0] };
    char args[8192] = "--format json -j 2";
    for (int i = 0; i < N; i++) {
        size_t at = strlen(args);
        snprintf(args + at, sizeof args - at, " '%s'", tu_path(photos[i].name));
    }
    char *out = NULL, *err = NULL;
    double t0 = now_s();
    int rc = tu_run_cli(args, &out, &err);
    double dt = now_s() - t0;
    print_message("mixed batch of %d photos: %.2f s\n", N, dt);
    assert_int_equal(rc, 1);

    /* JSON Lines: one object per photo, in input order. */
    char *save = NULL;
    int lines = 0;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        assert_true(lines < N);
        const batch_photo *ph = &photos[lines];
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        if (!j)
            fail_msg("line %d is not JSON: %s", lines + 1, je.text);
        assert_string_equal(json_string_value(json_object_get(j, "file")), tu_path(ph->name));
        const char *status = json_string_value(json_object_get(j, "status"));
        if (!ph->cause) {
            assert_string_equal(status, "ok");
            assert_true(json_array_size(json_object_get(j, "matches")) > 0);
            assert_null(json_object_get(j, "error"));
        } else {
            assert_string_equal(status, "error");
            const char *msg =
                json_string_value(json_object_get(json_object_get(j, "error"), "message"));
            assert_non_null(msg);
            if (strncmp(msg, tu_path(ph->name), strlen(tu_path(ph->name))) != 0 ||
                !strstr(msg, ph->cause))
                fail_msg("%s: \"%s\"", ph->name, msg);
            assert_null(strchr(msg, '\n'));
        }
        assert_no_nan(line);
        json_decref(j);
        lines++;
    }
    assert_int_equal(lines, N);

    /* stderr: exactly one line naming each broken photo, with its cause. */
    for (int i = 0; i < N; i++) {
        if (!photos[i].cause)
            continue;
        char want[1024];
        snprintf(want, sizeof want, "smpmatch: %s: ", tu_path(photos[i].name));
        int seen = 0;
        for (const char *p = strstr(err, want); p; p = strstr(p + 1, want)) {
            const char *eol = strchr(p, '\n');
            assert_non_null(eol);
            const char *cause = strstr(p, photos[i].cause);
            assert_true(cause && cause < eol);
            seen++;
        }
        if (seen != 1)
            fail_msg("%s: %d lines on stderr:\n%s", photos[i].name, seen, err);
    }
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_claims_refused_before_allocating),
        cmocka_unit_test(test_max_pixels_exact),
        cmocka_unit_test(test_cgats_header_claims),
        cmocka_unit_test(test_bad_profiles_fall_back),
        cmocka_unit_test(test_png_degenerate_chrm),
        cmocka_unit_test(test_huge_clut_never_allocated),
        cmocka_unit_test(test_honest_lut16_is_used),
        cmocka_unit_test(test_huge_clut_through_pipeline),
        cmocka_unit_test(test_fallback_through_the_cli),
        cmocka_unit_test(test_palette_warnings_csv),
        cmocka_unit_test(test_palette_warnings_cgats_and_cap),
        cmocka_unit_test(test_palette_warnings_cli),
        cmocka_unit_test(test_mixed_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
