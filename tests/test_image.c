/*
 * test_image.c: the `load` stage (src/image.c, image_jpeg.c, image_png.c).
 *
 * Fixtures are made in memory with tools/encode.c (and, for the few things
 * encode.h does not offer, by patching bytes or by calling libpng here:
 * interlacing, tRNS, eXIf, oversized headers). Expected values come from the
 * file formats' own rules (PNG bit-depth scaling, EXIF orientation table),
 * never from the decoder's output.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <png.h>

#include "encode.h"
#include "image.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static unsigned char *make_jpeg(const unsigned char *px, int w, int h, int comps,
                                const enc_jpeg_opts *o, size_t *size)
{
    unsigned char *out = NULL;
    assert_int_equal(enc_jpeg(NULL, &out, size, px, w, h, comps, o), 0);
    assert_non_null(out);
    return out;
}

static unsigned char *make_png(const void *px, int w, int h, enc_png_type type,
                               const enc_png_opts *o, size_t *size)
{
    unsigned char *out = NULL;
    assert_int_equal(enc_png(NULL, &out, size, px, w, h, type, o), 0);
    assert_non_null(out);
    return out;
}

static unsigned char *flat_rgb(int w, int h, int r, int g, int b)
{
    unsigned char *p = malloc((size_t)w * (size_t)h * 3);
    assert_non_null(p);
    for (int i = 0; i < w * h; i++) {
        p[3 * i] = (unsigned char)r;
        p[3 * i + 1] = (unsigned char)g;
        p[3 * i + 2] = (unsigned char)b;
    }
    return p;
}

/* Deterministic noise (a 32-bit LCG, Numerical Recipes constants) so that
 * JPEGs have enough entropy-coded data to cut in half. */
static unsigned char *noise(size_t n, uint32_t seed)
{
    unsigned char *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (unsigned char)(seed >> 24);
    }
    return p;
}

static void expect_failure(smp_status got, smp_status want, const smp_image *img,
                           const smp_error *err, const char *name, const char *words)
{
    assert_int_equal(got, want);
    assert_int_equal(err->status, want);
    size_t n = strlen(name);
    if (strncmp(err->message, name, n) != 0 || err->message[n] != ':')
        fail_msg("message does not start with \"%s:\": %s", name, err->message);
    if (!strstr(err->message, words))
        fail_msg("message lacks \"%s\": %s", words, err->message);
    assert_null(strchr(err->message, '\n'));
    smp_image zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(img, &zero, sizeof zero);
}

/* Loads from memory, filling *img with garbage first so a failure that does
 * not clear it would show. */
static smp_status load(const char *name, const void *data, size_t size,
                       const smp_load_limits *lim, smp_image *img, smp_error *err)
{
    memset(img, 0xAB, sizeof *img);
    memset(err, 0, sizeof *err);
    return smp_image_load_memory(name, data, size, lim, img, err);
}

static int near(int a, int b, int tol)
{
    return abs(a - b) <= tol;
}

/* CRC-32 as PNG uses it (ISO/IEC 15948 annex D), bit by bit. */
static uint32_t crc32_png(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
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

/* Offset of the first chunk of `type` in a PNG, or 0. */
static size_t png_find_chunk(const unsigned char *png, size_t size, const char *type)
{
    size_t at = 8;
    while (at + 12 <= size) {
        uint32_t len = (uint32_t)png[at] << 24 | (uint32_t)png[at + 1] << 16 |
                       (uint32_t)png[at + 2] << 8 | png[at + 3];
        if (memcmp(png + at + 4, type, 4) == 0)
            return at;
        at += 12 + (size_t)len;
    }
    return 0;
}

/* A new PNG with chunk (type, data) inserted before the chunk `before`. */
static unsigned char *png_insert_chunk(const unsigned char *png, size_t size, const char *before,
                                       const char *type, const unsigned char *data, size_t len,
                                       size_t *out_size)
{
    size_t at = png_find_chunk(png, size, before);
    assert_true(at > 0);
    unsigned char *out = malloc(size + len + 12);
    assert_non_null(out);
    memcpy(out, png, at);
    put_be32(out + at, (uint32_t)len);
    memcpy(out + at + 4, type, 4);
    if (len)
        memcpy(out + at + 8, data, len);
    put_be32(out + at + 8 + len, crc32_png(out + at + 4, len + 4));
    memcpy(out + at + 12 + len, png + at, size - at);
    *out_size = size + len + 12;
    return out;
}

typedef struct membuf {
    unsigned char *data;
    size_t size;
} membuf;

static void membuf_write(png_structp png, png_bytep p, size_t n)
{
    membuf *m = png_get_io_ptr(png);
    m->data = realloc(m->data, m->size + n);
    assert_non_null(m->data);
    memcpy(m->data + m->size, p, n);
    m->size += n;
}

static void membuf_flush(png_structp png)
{
    (void)png;
}

/* An Adam7-interlaced 8-bit RGB PNG (encode.h writes only non-interlaced). */
static unsigned char *make_interlaced_png(const unsigned char *rgb, int w, int h, size_t *size)
{
    membuf m = {NULL, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    png_bytep *rows = malloc((size_t)h * sizeof *rows);
    assert_non_null(rows);
    for (int y = 0; y < h; y++)
        rows[y] = (png_bytep)(rgb + (size_t)y * (size_t)w * 3);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng failed writing the interlaced fixture");
    png_set_write_fn(png, &m, membuf_write, membuf_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_ADAM7, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);
    *size = m.size;
    return m.data;
}

/* ------------------------------------------------------------------ */
/* Sniffing and the file level                                         */
/* ------------------------------------------------------------------ */

static void test_sniff(void **state)
{
    (void)state;
    static const unsigned char jpg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0, 0};
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char png_bad[] = {0x89, 'P', 'N', 'G', '\n', '\n', 0x1a, '\n'};
    assert_int_equal(smp_image_sniff(jpg, sizeof jpg), SMP_FORMAT_JPEG);
    assert_int_equal(smp_image_sniff(png, sizeof png), SMP_FORMAT_PNG);
    assert_int_equal(smp_image_sniff(png_bad, sizeof png_bad), SMP_FORMAT_UNKNOWN);
    assert_int_equal(smp_image_sniff(jpg, 2), SMP_FORMAT_UNKNOWN);
    assert_int_equal(smp_image_sniff(png, 7), SMP_FORMAT_UNKNOWN);
    assert_int_equal(smp_image_sniff(NULL, 0), SMP_FORMAT_UNKNOWN);
    assert_string_equal(smp_image_format_name(SMP_FORMAT_JPEG), "jpeg");
    assert_string_equal(smp_image_format_name(SMP_FORMAT_PNG), "png");
    assert_string_equal(smp_image_format_name(SMP_FORMAT_UNKNOWN), "unknown");
}

static void test_file_level(void **state)
{
    (void)state;
    smp_image img;
    smp_error err;
    const char *missing = tu_path("image_missing.jpg");
    memset(&err, 0, sizeof err);
    smp_status st = smp_image_load_file(missing, NULL, &img, &err);
    expect_failure(st, SMP_E_IO, &img, &err, missing, "no such file");

    const char *dir = tu_path("image_folder.jpg");
    mkdir(dir, 0755);
    st = smp_image_load_file(dir, NULL, &img, &err);
    expect_failure(st, SMP_E_IO, &img, &err, dir, "is a folder");

    /* A good file loads, and the file-size limit is checked before reading. */
    unsigned char *px = flat_rgb(16, 16, 10, 200, 30);
    const char *path = tu_path("image_flat.jpg");
    assert_int_equal(enc_jpeg(path, NULL, NULL, px, 16, 16, 3, NULL), 0);
    assert_int_equal(smp_image_load_file(path, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.width, 16);
    assert_int_equal(img.format, SMP_FORMAT_JPEG);
    smp_image_release(&img);
    assert_null(img.pixels);
    smp_image_release(&img); /* twice is fine */

    smp_load_limits lim = {.max_file_bytes = 100};
    st = smp_image_load_file(path, &lim, &img, &err);
    expect_failure(st, SMP_E_LIMIT, &img, &err, path, "over the 100 bytes limit");

    const char *empty = tu_path("image_empty.png");
    tu_write_file(empty, "", 0);
    st = smp_image_load_file(empty, NULL, &img, &err);
    expect_failure(st, SMP_E_FORMAT, &img, &err, empty, "the file is empty");
    free(px);
}

/* ------------------------------------------------------------------ */
/* JPEG                                                                */
/* ------------------------------------------------------------------ */

/* Every pixel within `tol` of (r, g, b). */
static void expect_flat(const smp_image *img, int r, int g, int b, int tol)
{
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            const unsigned char *p = img->pixels + (size_t)y * img->stride + (size_t)x * 3;
            if (!near(p[0], r, tol) || !near(p[1], g, tol) || !near(p[2], b, tol))
                fail_msg("pixel %d,%d is %d,%d,%d, want %d,%d,%d", x, y, p[0], p[1], p[2], r, g, b);
        }
}

/* Whether the JPEG has marker 0xFF `code` before its first scan. */
static int jpeg_has_marker(const unsigned char *d, size_t n, int code)
{
    for (size_t i = 2; i + 4 <= n && d[i] == 0xFF;) {
        if (d[i + 1] == code)
            return 1;
        if (d[i + 1] == 0xDA)
            return 0;
        i += 2 + ((size_t)d[i + 2] << 8 | d[i + 3]);
    }
    return 0;
}

static void test_jpeg_flat_444(void **state)
{
    (void)state;
    unsigned char *px = flat_rgb(24, 16, 200, 120, 60);
    enc_jpeg_opts o = {95, 0, 0, 0, NULL, 0};
    size_t n;
    unsigned char *jpg = make_jpeg(px, 24, 16, 3, &o, &n);
    smp_image img;
    smp_error err;
    assert_int_equal(load("flat.jpg", jpg, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.width, 24);
    assert_int_equal(img.height, 16);
    assert_int_equal(img.channels, 3);
    assert_int_equal(img.bits, 8);
    assert_int_equal(img.stride, 24 * 3);
    assert_int_equal(img.format, SMP_FORMAT_JPEG);
    assert_int_equal(img.orientation, 1);
    assert_null(img.icc);
    assert_null(img.valid);
    assert_int_equal(img.png_srgb + img.png_has_gamma + img.png_has_chrm, 0);
    /* A flat colour survives JPEG within a few levels (YCbCr rounding). */
    expect_flat(&img, 200, 120, 60, 3);
    smp_image_release(&img);
    free(jpg);
    free(px);
}

static void test_jpeg_progressive(void **state)
{
    (void)state;
    unsigned char *px = flat_rgb(40, 24, 30, 90, 160);
    enc_jpeg_opts o = {90, 1, 1, 0, NULL, 0};
    size_t n;
    unsigned char *jpg = make_jpeg(px, 40, 24, 3, &o, &n);
    assert_true(jpeg_has_marker(jpg, n, 0xC2)); /* SOF2: it is progressive */
    smp_image img;
    smp_error err;
    assert_int_equal(load("prog.jpg", jpg, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.width, 40);
    assert_int_equal(img.height, 24);
    expect_flat(&img, 30, 90, 160, 4);
    smp_image_release(&img);
    free(jpg);
    free(px);
}

static void test_jpeg_grey(void **state)
{
    (void)state;
    unsigned char px[16 * 8];
    memset(px, 77, sizeof px);
    size_t n;
    unsigned char *jpg = make_jpeg(px, 16, 8, 1, NULL, &n);
    smp_image img;
    smp_error err;
    assert_int_equal(load("grey.jpg", jpg, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.channels, 1);
    assert_int_equal(img.stride, 16);
    for (int i = 0; i < 16 * 8; i++)
        assert_true(near(img.pixels[i], 77, 2));
    smp_image_release(&img);
    free(jpg);
}

static void test_jpeg_420(void **state)
{
    (void)state;
    /* Left half orange, right half blue, split on a 16-pixel MCU boundary so
     * each half's chroma is flat. */
    int w = 32, h = 16;
    unsigned char *px = flat_rgb(w, h, 220, 140, 40);
    for (int y = 0; y < h; y++)
        for (int x = 16; x < w; x++) {
            px[(y * w + x) * 3] = 40;
            px[(y * w + x) * 3 + 1] = 80;
            px[(y * w + x) * 3 + 2] = 200;
        }
    enc_jpeg_opts o = {95, 0, 1, 0, NULL, 0};
    size_t n;
    unsigned char *jpg = make_jpeg(px, w, h, 3, &o, &n);
    smp_image img;
    smp_error err;
    assert_int_equal(load("420.jpg", jpg, n, NULL, &img, &err), SMP_OK);
    const unsigned char *l = img.pixels + 8 * img.stride + 4 * 3;
    const unsigned char *r = img.pixels + 8 * img.stride + 27 * 3;
    assert_true(near(l[0], 220, 6) && near(l[1], 140, 6) && near(l[2], 40, 6));
    assert_true(near(r[0], 40, 6) && near(r[1], 80, 6) && near(r[2], 200, 6));
    smp_image_release(&img);
    free(jpg);
    free(px);
}

/* ------------------------------------------------------------------ */
/* Orientation                                                         */
/* ------------------------------------------------------------------ */

/* Stored image: 4 x 3 blocks of 8x8 pixels, grey 128, with block A (0,0)
 * white and block B (1,0) black. Where a viewer shows A and B, in blocks,
 * for each EXIF orientation (EXIF 2.32 Orientation table: 2 mirror, 3 rotate
 * 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90
 * anticlockwise), worked out by hand on paper. */
static const struct {
    int w, h, ax, ay, bx, by;
} shown[9] = {
    {0, 0, 0, 0, 0, 0},
    {4, 3, 0, 0, 1, 0}, /* 1 */
    {4, 3, 3, 0, 2, 0}, /* 2 */
    {4, 3, 3, 2, 2, 2}, /* 3 */
    {4, 3, 0, 2, 1, 2}, /* 4 */
    {3, 4, 0, 0, 0, 1}, /* 5 */
    {3, 4, 2, 0, 2, 1}, /* 6 */
    {3, 4, 2, 3, 2, 2}, /* 7 */
    {3, 4, 0, 3, 0, 2}, /* 8 */
};

static unsigned char *marked_blocks(void)
{
    unsigned char *px = malloc(32 * 24);
    assert_non_null(px);
    for (int y = 0; y < 24; y++)
        for (int x = 0; x < 32; x++)
            px[y * 32 + x] = y < 8 && x < 8 ? 255 : y < 8 && x < 16 ? 0 : 128;
    return px;
}

/* The mean of the 4x4 centre of block (bx, by) of an 8-bit image. */
static int block_value(const smp_image *img, int bx, int by, int channel)
{
    int sum = 0;
    for (int y = by * 8 + 2; y < by * 8 + 6; y++)
        for (int x = bx * 8 + 2; x < bx * 8 + 6; x++)
            sum += img->pixels[(size_t)y * img->stride + (size_t)x * (size_t)img->channels +
                               (size_t)channel];
    return sum / 16;
}

static void check_marks(const smp_image *img, int o)
{
    assert_int_equal(img->width, shown[o].w * 8);
    assert_int_equal(img->height, shown[o].h * 8);
    for (int by = 0; by < shown[o].h; by++)
        for (int bx = 0; bx < shown[o].w; bx++) {
            int want = bx == shown[o].ax && by == shown[o].ay ? 255
                       : bx == shown[o].bx && by == shown[o].by ? 0 : 128;
            int got = block_value(img, bx, by, 0);
            if (!near(got, want, 12))
                fail_msg("orientation %d: block %d,%d is %d, want %d", o, bx, by, got, want);
        }
}

static void test_jpeg_orientation_all(void **state)
{
    (void)state;
    unsigned char *px = marked_blocks();
    size_t icc_size;
    unsigned char *icc = enc_icc_adobe_rgb(&icc_size);
    assert_non_null(icc);
    for (int o = 1; o <= 8; o++) {
        /* Grey and RGB, so bpp 1 and 3 both go through the turn. */
        for (int comps = 1; comps <= 3; comps += 2) {
            unsigned char *src = px, *rgb = NULL;
            if (comps == 3) {
                rgb = malloc(32 * 24 * 3);
                assert_non_null(rgb);
                for (int i = 0; i < 32 * 24; i++)
                    rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = px[i];
                src = rgb;
            }
            enc_jpeg_opts opts = {100, o % 2, 0, o, o == 6 ? icc : NULL, o == 6 ? icc_size : 0};
            size_t n;
            unsigned char *jpg = make_jpeg(src, 32, 24, comps, &opts, &n);
            smp_image img;
            smp_error err;
            assert_int_equal(load("turned.jpg", jpg, n, NULL, &img, &err), SMP_OK);
            assert_int_equal(img.orientation, o);
            assert_int_equal(img.channels, comps);
            assert_int_equal(img.stride, (size_t)img.width * (size_t)comps);
            check_marks(&img, o);
            if (o == 6) { /* EXIF and ICC together */
                assert_int_equal(img.icc_size, icc_size);
                assert_memory_equal(img.icc, icc, icc_size);
            }
            smp_image_release(&img);
            free(jpg);
            free(rgb);
        }
    }
    free(icc);
    free(px);
}

/* Where stored (x, y) of a W x H image shows, built from the elementary
 * moves the EXIF table names (rotate 90 clockwise, mirror, flip) rather than
 * from one formula per case. */
static void rot_cw(int *x, int *y, int *w, int *h)
{
    int nx = *h - 1 - *y, ny = *x;
    int t = *w;
    *x = nx;
    *y = ny;
    *w = *h;
    *h = t;
}

static void display_pos(int o, int x, int y, int w, int h, int *dx, int *dy)
{
    switch (o) {
    case 2: x = w - 1 - x; break;
    case 3: x = w - 1 - x; y = h - 1 - y; break;
    case 4: y = h - 1 - y; break;
    case 5: rot_cw(&x, &y, &w, &h); x = w - 1 - x; break;
    case 6: rot_cw(&x, &y, &w, &h); break;
    case 7: rot_cw(&x, &y, &w, &h); y = h - 1 - y; break;
    case 8: rot_cw(&x, &y, &w, &h); rot_cw(&x, &y, &w, &h); rot_cw(&x, &y, &w, &h); break;
    default: break;
    }
    *dx = x;
    *dy = y;
}

static void test_orient_pixels_bpp(void **state)
{
    (void)state;
    const size_t bpps[] = {1, 2, 3, 6};
    /* A tiny image, and one that spans several 64-pixel tiles unevenly. */
    const int sizes[2][2] = {{5, 3}, {130, 67}};
    for (int z = 0; z < 2; z++)
        for (size_t k = 0; k < 4; k++) {
            int w = sizes[z][0], h = sizes[z][1];
            size_t bpp = bpps[k], len = (size_t)w * (size_t)h * bpp;
            unsigned char *src = noise(len, (uint32_t)(k + 1));
            for (int o = 1; o <= 8; o++) {
                int ow = 0, oh = 0;
                unsigned char *d = smp_orient_pixels(src, w, h, bpp, o, &ow, &oh, NULL);
                assert_non_null(d);
                assert_int_equal(ow, o >= 5 ? h : w);
                assert_int_equal(oh, o >= 5 ? w : h);
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        int dx, dy;
                        display_pos(o, x, y, w, h, &dx, &dy);
                        if (memcmp(d + ((size_t)dy * (size_t)ow + (size_t)dx) * bpp,
                                   src + ((size_t)y * (size_t)w + (size_t)x) * bpp, bpp) != 0)
                            fail_msg("%dx%d bpp %zu orientation %d: pixel %d,%d misplaced", w, h,
                                     bpp, o, x, y);
                    }
                free(d);
            }
            free(src);
        }
    int ow, oh;
    assert_null(smp_orient_pixels(NULL, 2, 2, 1, 1, &ow, &oh, NULL));
    assert_null(smp_orient_pixels((const unsigned char *)"abcd", 0, 2, 1, 1, &ow, &oh, NULL));
}

static void test_exif_parser(void **state)
{
    (void)state;
    /* Little-endian, the orientation as the second entry. */
    const unsigned char le[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0,
                                0x0F, 0x01, 2, 0, 4, 0, 0, 0, 'A', 'p', 'p', 0, /* Make */
                                0x12, 0x01, 3, 0, 1, 0, 0, 0, 8, 0, 0, 0,
                                0, 0, 0, 0};
    assert_int_equal(smp_exif_orientation(le, sizeof le), 8);
    /* Big-endian, IFD0 not right after the header. */
    const unsigned char be[] = {'M', 'M', 0, 42, 0, 0, 0, 10, 0xEE, 0xEE, 0, 1,
                                0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0,
                                0, 0, 0, 0};
    assert_int_equal(smp_exif_orientation(be, sizeof be), 6);
    /* The same cut short inside the entry: not found, and no read past. */
    assert_int_equal(smp_exif_orientation(be, 20), 1);
    /* IFD0 offset beyond the block. */
    unsigned char far[sizeof be];
    memcpy(far, be, sizeof be);
    far[7] = 200;
    assert_int_equal(smp_exif_orientation(far, sizeof far), 1);
    /* Huge entry count with few entries present. */
    unsigned char many[sizeof be];
    memcpy(many, be, sizeof be);
    many[10] = 0xFF;
    many[11] = 0xF0;
    many[13] = 0x00; /* and the only entry is not 0x0112 any more */
    assert_int_equal(smp_exif_orientation(many, sizeof many), 1);
    /* Out-of-range value, wrong type, bad magic, empty. */
    unsigned char bad[sizeof be];
    memcpy(bad, be, sizeof be);
    bad[21] = 9;
    assert_int_equal(smp_exif_orientation(bad, sizeof bad), 1);
    memcpy(bad, be, sizeof be);
    bad[15] = 4; /* LONG */
    assert_int_equal(smp_exif_orientation(bad, sizeof bad), 1);
    memcpy(bad, be, sizeof be);
    bad[3] = 43;
    assert_int_equal(smp_exif_orientation(bad, sizeof bad), 1);
    assert_int_equal(smp_exif_orientation(be, 0), 1);
    assert_int_equal(smp_exif_orientation(NULL, 10), 1);
}

/* ------------------------------------------------------------------ */
/* ICC                                                                 */
/* ------------------------------------------------------------------ */

static void test_icc_jpeg_and_png(void **state)
{
    (void)state;
    size_t p3_size, adobe_size;
    unsigned char *p3 = enc_icc_display_p3(&p3_size);
    unsigned char *adobe = enc_icc_adobe_rgb(&adobe_size);
    assert_non_null(p3);
    assert_non_null(adobe);
    assert_memory_not_equal(p3, adobe, p3_size < adobe_size ? p3_size : adobe_size);
    unsigned char *px = flat_rgb(16, 16, 100, 150, 200);
    const unsigned char *profiles[2] = {p3, adobe};
    size_t sizes[2] = {p3_size, adobe_size};
    for (int k = 0; k < 2; k++) {
        enc_jpeg_opts jo = {90, 0, 1, 0, profiles[k], sizes[k]};
        size_t n;
        unsigned char *jpg = make_jpeg(px, 16, 16, 3, &jo, &n);
        smp_image img;
        smp_error err;
        assert_int_equal(load("tagged.jpg", jpg, n, NULL, &img, &err), SMP_OK);
        assert_int_equal(img.icc_size, sizes[k]);
        assert_memory_equal(img.icc, profiles[k], sizes[k]);
        smp_image_release(&img);

        /* A profile over the caller's limit is refused, not dropped. */
        smp_load_limits lim = {.max_icc_bytes = 100};
        smp_status st = load("tagged.jpg", jpg, n, &lim, &img, &err);
        expect_failure(st, SMP_E_LIMIT, &img, &err, "tagged.jpg", "colour profile");
        free(jpg);

        enc_png_opts po;
        memset(&po, 0, sizeof po);
        po.bits = 8;
        po.icc = profiles[k];
        po.icc_size = sizes[k];
        unsigned char *png = make_png(px, 16, 16, ENC_PNG_RGB, &po, &n);
        assert_int_equal(load("tagged.png", png, n, NULL, &img, &err), SMP_OK);
        assert_int_equal(img.icc_size, sizes[k]);
        assert_memory_equal(img.icc, profiles[k], sizes[k]);
        assert_int_equal(img.png_srgb, 0);
        smp_image_release(&img);
        st = load("tagged.png", png, n, &lim, &img, &err);
        expect_failure(st, SMP_E_LIMIT, &img, &err, "tagged.png", "colour profile");
        free(png);
    }
    free(px);
    free(p3);
    free(adobe);
}

/* An iCCP chunk libpng rejects must not leave the photo looking untagged:
 * img->icc_damaged says a profile was there. Two ways libpng rejects one:
 * compressed data that is not zlib (ISO/IEC 15948 11.3.3.3: name, NUL,
 * compression method 0, zlib stream), and an RGB profile on a grey PNG
 * (11.3.3.3: "the colour space ... shall be ... Gray for greyscale"). */
static void test_png_damaged_iccp(void **state)
{
    (void)state;
    unsigned char px[4 * 4 * 3];
    memset(px, 90, sizeof px);
    size_t plain_n, tagged_n, grey_n, n;
    smp_image img;
    smp_error err;

    /* Untagged and well-tagged files: no flag. */
    unsigned char *png = make_png(px, 4, 4, ENC_PNG_RGB, NULL, &plain_n);
    assert_int_equal(load("plain.png", png, plain_n, NULL, &img, &err), SMP_OK);
    assert_null(img.icc);
    assert_int_equal(img.icc_damaged, 0);
    smp_image_release(&img);

    size_t icc_size;
    unsigned char *icc = enc_icc_srgb(&icc_size);
    assert_non_null(icc);
    enc_png_opts o;
    memset(&o, 0, sizeof o);
    o.bits = 8;
    o.icc = icc;
    o.icc_size = icc_size;
    unsigned char *tagged = make_png(px, 4, 4, ENC_PNG_RGB, &o, &tagged_n);
    assert_int_equal(load("tagged.png", tagged, tagged_n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.icc_size, icc_size);
    assert_int_equal(img.icc_damaged, 0);
    smp_image_release(&img);

    /* Garbage where the zlib stream should be. */
    const unsigned char garbage[] = {'b', 'a', 'd', 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc,
                                     0xde, 0xf0, 0x11, 0x22, 0x33, 0x44};
    unsigned char *bad =
        png_insert_chunk(png, plain_n, "IDAT", "iCCP", garbage, sizeof garbage, &n);
    assert_int_equal(load("badicc.png", bad, n, NULL, &img, &err), SMP_OK);
    assert_null(img.icc);
    assert_int_equal(img.icc_damaged, 1);
    assert_int_equal(img.width, 4); /* the pixels still load */
    assert_int_equal(px[0], img.pixels[0]);
    smp_image_release(&img);
    free(bad);

    /* The RGB file's own (valid) iCCP chunk moved into a grey PNG. */
    size_t at = png_find_chunk(tagged, tagged_n, "iCCP");
    assert_true(at > 0);
    size_t len = (size_t)tagged[at] << 24 | (size_t)tagged[at + 1] << 16 |
                 (size_t)tagged[at + 2] << 8 | tagged[at + 3];
    unsigned char grey[16];
    memset(grey, 90, sizeof grey);
    unsigned char *gpng = make_png(grey, 4, 4, ENC_PNG_GREY, NULL, &grey_n);
    bad = png_insert_chunk(gpng, grey_n, "IDAT", "iCCP", tagged + at + 8, len, &n);
    assert_int_equal(load("greyicc.png", bad, n, NULL, &img, &err), SMP_OK);
    assert_null(img.icc);
    assert_int_equal(img.icc_damaged, 1);
    assert_int_equal(img.channels, 1);
    smp_image_release(&img);
    free(bad);
    /* The same copied chunk in an RGB PNG is accepted: the copy is sound. */
    bad = png_insert_chunk(png, plain_n, "IDAT", "iCCP", tagged + at + 8, len, &n);
    assert_int_equal(load("rgbicc.png", bad, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.icc_size, icc_size);
    assert_int_equal(img.icc_damaged, 0);
    smp_image_release(&img);
    free(bad);

    free(gpng);
    free(tagged);
    free(icc);
    free(png);
}

/* ------------------------------------------------------------------ */
/* PNG                                                                 */
/* ------------------------------------------------------------------ */

static void test_png_rgb8(void **state)
{
    (void)state;
    unsigned char *px = noise(7 * 5 * 3, 1);
    size_t n;
    unsigned char *png = make_png(px, 7, 5, ENC_PNG_RGB, NULL, &n);
    smp_image img;
    smp_error err;
    assert_int_equal(load("rgb.png", png, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.format, SMP_FORMAT_PNG);
    assert_int_equal(img.width, 7);
    assert_int_equal(img.height, 5);
    assert_int_equal(img.channels, 3);
    assert_int_equal(img.bits, 8);
    assert_int_equal(img.stride, 21);
    assert_int_equal(img.orientation, 1);
    assert_null(img.valid);
    assert_null(img.icc);
    assert_int_equal(img.png_srgb + img.png_has_gamma + img.png_has_chrm, 0);
    assert_memory_equal(img.pixels, px, 7 * 5 * 3); /* lossless */
    smp_image_release(&img);
    free(png);
    free(px);
}

static void test_png_rgb16(void **state)
{
    (void)state;
    uint16_t px[4 * 2 * 3] = {0, 1, 255, 256, 257, 1000, 12345, 32768, 65535, 65534, 2, 40000,
                              7, 700, 7000, 70, 60000, 3, 511, 512, 513, 4095, 4096, 65280};
    enc_png_opts o;
    memset(&o, 0, sizeof o);
    o.bits = 16;
    size_t n;
    unsigned char *png = make_png(px, 4, 2, ENC_PNG_RGB, &o, &n);
    smp_image img;
    smp_error err;
    assert_int_equal(load("rgb16.png", png, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.bits, 16);
    assert_int_equal(img.channels, 3);
    assert_int_equal(img.stride, 4 * 3 * 2);
    const uint16_t *got = (const uint16_t *)img.pixels;
    for (int i = 0; i < 24; i++)
        assert_int_equal(got[i], px[i]);
    smp_image_release(&img);
    free(png);
}

static void test_png_grey_8_16(void **state)
{
    (void)state;
    unsigned char g8[6] = {0, 1, 127, 128, 254, 255};
    uint16_t g16[6] = {0, 1, 256, 32767, 65534, 65535};
    size_t n;
    smp_image img;
    smp_error err;
    unsigned char *png = make_png(g8, 3, 2, ENC_PNG_GREY, NULL, &n);
    assert_int_equal(load("g8.png", png, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.channels, 1);
    assert_int_equal(img.bits, 8);
    assert_memory_equal(img.pixels, g8, 6);
    smp_image_release(&img);
    free(png);

    enc_png_opts o;
    memset(&o, 0, sizeof o);
    o.bits = 16;
    png = make_png(g16, 3, 2, ENC_PNG_GREY, &o, &n);
    assert_int_equal(load("g16.png", png, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.channels, 1);
    assert_int_equal(img.bits, 16);
    assert_int_equal(img.stride, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(((const uint16_t *)img.pixels)[i], g16[i]);
    smp_image_release(&img);
    free(png);
}

static void test_png_grey_low_depth(void **state)
{
    (void)state;
    /* PNG 11.2.2/13.12: a b-bit sample v stands for v / (2^b - 1) of full
     * scale, so at 8 bits: 1-bit 0,255; 2-bit 0,85,170,255; 4-bit 17 v. */
    const int depths[3] = {1, 2, 4};
    for (int k = 0; k < 3; k++) {
        int b = depths[k], top = (1 << b) - 1;
        unsigned char px[9 * 2]; /* 9 wide: not a whole number of bytes */
        for (int i = 0; i < 18; i++)
            px[i] = (unsigned char)(i % (top + 1));
        enc_png_opts o;
        memset(&o, 0, sizeof o);
        o.bits = b;
        size_t n;
        unsigned char *png = make_png(px, 9, 2, ENC_PNG_GREY, &o, &n);
        smp_image img;
        smp_error err;
        assert_int_equal(load("low.png", png, n, NULL, &img, &err), SMP_OK);
        assert_int_equal(img.channels, 1);
        assert_int_equal(img.bits, 8);
        for (int i = 0; i < 18; i++)
            assert_int_equal(img.pixels[i], px[i] * 255 / top);
        smp_image_release(&img);
        free(png);
    }
}

static void test_png_palette_and_trns(void **state)
{
    (void)state;
    /* Colours in order of first appearance: the encoder's index 0 is red. */
    unsigned char px[4 * 2 * 3] = {255, 0, 0,   0, 255, 0,   0, 0, 255,   255, 0, 0,
                                   9, 9, 9,     255, 0, 0,   0, 255, 0,   9, 9, 9};
    size_t n;
    unsigned char *png = make_png(px, 4, 2, ENC_PNG_PALETTE, NULL, &n);
    smp_image img;
    smp_error err;
    assert_int_equal(load("pal.png", png, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.channels, 3);
    assert_int_equal(img.bits, 8);
    assert_memory_equal(img.pixels, px, sizeof px);
    assert_null(img.valid);
    smp_image_release(&img);

    /* tRNS: index 0 (red) fully transparent, index 1 (green) half. */
    const unsigned char trns[2] = {0, 128};
    size_t n2;
    unsigned char *png2 = png_insert_chunk(png, n, "IDAT", "tRNS", trns, 2, &n2);
    assert_int_equal(load("paltrns.png", png2, n2, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.channels, 3);
    assert_non_null(img.valid);
    for (int i = 0; i < 8; i++) {
        int red = px[3 * i] == 255 && px[3 * i + 1] == 0;
        assert_int_equal(img.valid[i] != 0, !red);
    }
    /* Colours are kept, half-transparent green included. */
    assert_memory_equal(img.pixels, px, sizeof px);
    smp_image_release(&img);
    free(png2);
    free(png);
}

static void test_png_rgba_mask(void **state)
{
    (void)state;
    unsigned char px[3 * 2 * 4] = {10, 20, 30, 255,  40, 50, 60, 0,    70, 80, 90, 1,
                                   11, 22, 33, 0,    44, 55, 66, 128,  77, 88, 99, 255};
    size_t n;
    unsigned char *png = make_png(px, 3, 2, ENC_PNG_RGBA, NULL, &n);
    smp_image img;
    smp_error err;
    assert_int_equal(load("rgba.png", png, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.channels, 3);
    assert_int_equal(img.stride, 9);
    assert_non_null(img.valid);
    const unsigned char want_valid[6] = {1, 0, 1, 0, 1, 1};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(img.valid[i] != 0, want_valid[i]);
        assert_memory_equal(img.pixels + 3 * i, px + 4 * i, 3);
    }
    smp_image_release(&img);
    free(png);

    /* All opaque: no mask at all. */
    for (int i = 0; i < 6; i++)
        px[4 * i + 3] = 255;
    png = make_png(px, 3, 2, ENC_PNG_RGBA, NULL, &n);
    assert_int_equal(load("opaque.png", png, n, NULL, &img, &err), SMP_OK);
    assert_null(img.valid);
    smp_image_release(&img);
    free(png);

    /* Grey + alpha, 16 bits: grey kept as 16-bit, one transparent pixel. */
    uint16_t ga[4] = {1000, 0, 65535, 65535};
    enc_png_opts o;
    memset(&o, 0, sizeof o);
    o.bits = 16;
    png = make_png(ga, 2, 1, ENC_PNG_GREY_ALPHA, &o, &n);
    assert_int_equal(load("ga16.png", png, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.channels, 1);
    assert_int_equal(img.bits, 16);
    assert_int_equal(((const uint16_t *)img.pixels)[0], 1000);
    assert_int_equal(((const uint16_t *)img.pixels)[1], 65535);
    assert_int_equal(img.valid[0], 0);
    assert_int_not_equal(img.valid[1], 0);
    smp_image_release(&img);
    free(png);
}

static void test_png_interlaced(void **state)
{
    (void)state;
    unsigned char *px = noise(13 * 11 * 3, 7);
    size_t n;
    unsigned char *png = make_interlaced_png(px, 13, 11, &n);
    assert_int_equal(png[8 + 4 + 4 + 12], 1); /* IHDR interlace method: Adam7 */
    smp_image img;
    smp_error err;
    assert_int_equal(load("adam7.png", png, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.width, 13);
    assert_int_equal(img.height, 11);
    assert_memory_equal(img.pixels, px, 13 * 11 * 3);
    smp_image_release(&img);
    free(png);
    free(px);
}

static void test_png_colour_chunks(void **state)
{
    (void)state;
    unsigned char *px = flat_rgb(4, 4, 1, 2, 3);
    enc_png_opts o;
    memset(&o, 0, sizeof o);
    o.srgb_chunk = 1;
    size_t n;
    unsigned char *png = make_png(px, 4, 4, ENC_PNG_RGB, &o, &n);
    smp_image img;
    smp_error err;
    assert_int_equal(load("srgb.png", png, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.png_srgb, 1);
    /* The file has no gAMA or cHRM, whatever libpng derives from sRGB. */
    assert_int_equal(img.png_has_gamma, 0);
    assert_int_equal(img.png_has_chrm, 0);
    smp_image_release(&img);
    free(png);

    /* gAMA 1/2.2 and the Rec. 709 / sRGB primaries with D65 (ITU-R BT.709). */
    memset(&o, 0, sizeof o);
    o.gama_chrm = 1;
    o.gamma = 1.0 / 2.2;
    const double chrm[8] = {0.3127, 0.3290, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06};
    memcpy(o.chrm, chrm, sizeof chrm);
    png = make_png(px, 4, 4, ENC_PNG_RGB, &o, &n);
    assert_int_equal(load("gama.png", png, n, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.png_srgb, 0);
    assert_int_equal(img.png_has_gamma, 1);
    assert_int_equal(img.png_has_chrm, 1);
    /* PNG stores both as integers times 100000 (PNG 11.3.3.2, 11.3.3.3). */
    assert_true(fabs(img.png_gamma - 1.0 / 2.2) < 1e-5);
    for (int i = 0; i < 8; i++)
        assert_true(fabs(img.png_chrm[i] - chrm[i]) < 1e-5);
    smp_image_release(&img);
    free(png);
    free(px);
}

static void test_png_exif_orientation(void **state)
{
    (void)state;
    /* 3 x 2 RGBA, pixel (0,0) red and transparent; eXIf orientation 6. */
    unsigned char px[3 * 2 * 4];
    memset(px, 200, sizeof px);
    px[0] = 255; px[1] = 0; px[2] = 0; px[3] = 0;
    size_t n;
    unsigned char *png = make_png(px, 3, 2, ENC_PNG_RGBA, NULL, &n);
    const unsigned char exif[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1,
                                  0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0};
    size_t n2;
    unsigned char *png2 = png_insert_chunk(png, n, "IDAT", "eXIf", exif, sizeof exif, &n2);
    smp_image img;
    smp_error err;
    assert_int_equal(load("exif.png", png2, n2, NULL, &img, &err), SMP_OK);
    assert_int_equal(img.orientation, 6);
    assert_int_equal(img.width, 2);
    assert_int_equal(img.height, 3);
    /* Rotated clockwise: stored top-left shows top-right. */
    const unsigned char *tr = img.pixels + 1 * 3;
    assert_int_equal(tr[0], 255);
    assert_int_equal(tr[1], 0);
    assert_int_equal(img.valid[1], 0);
    for (int i = 0; i < 6; i++)
        if (i != 1)
            assert_int_not_equal(img.valid[i], 0);
    smp_image_release(&img);
    free(png2);
    free(png);
}

/* ------------------------------------------------------------------ */
/* Broken files                                                        */
/* ------------------------------------------------------------------ */

static void test_broken_basic(void **state)
{
    (void)state;
    smp_image img;
    smp_error err;
    expect_failure(load("empty.jpg", "", 0, NULL, &img, &err), SMP_E_FORMAT, &img, &err,
                   "empty.jpg", "the file is empty");
    const char gif[] = "GIF89a\x01\x00\x01\x00\x00\x00\x00";
    expect_failure(load("consult7.jpg", gif, sizeof gif, NULL, &img, &err), SMP_E_FORMAT, &img,
                   &err, "consult7.jpg", "not a JPEG or PNG file");
    const unsigned char heic[16] = {0, 0, 0, 24, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c'};
    expect_failure(load("iphone.jpg", heic, sizeof heic, NULL, &img, &err), SMP_E_FORMAT, &img,
                   &err, "iphone.jpg", "HEIC");
    expect_failure(load("one.jpg", "\xFF", 1, NULL, &img, &err), SMP_E_FORMAT, &img, &err,
                   "one.jpg", "not a JPEG or PNG file");
}

/* Random bytes, bare and behind a JPEG or PNG signature: always an error
 * that names the file, never a crash or a read out of bounds (ASan). */
static void test_broken_random(void **state)
{
    (void)state;
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    for (uint32_t seed = 1; seed <= 40; seed++) {
        size_t n = 64 + seed * 97;
        unsigned char *d = noise(n, seed);
        smp_image img;
        smp_error err;
        d[0] = 0x00;
        expect_failure(load("noise.jpg", d, n, NULL, &img, &err), SMP_E_FORMAT, &img, &err,
                       "noise.jpg", "not a JPEG or PNG file");
        d[0] = 0xFF;
        d[1] = 0xD8;
        d[2] = 0xFF;
        smp_status st = load("noise.jpg", d, n, NULL, &img, &err);
        assert_int_not_equal(st, SMP_OK);
        expect_failure(st, st, &img, &err, "noise.jpg", " ");
        memcpy(d, png_sig, 8);
        st = load("noise.png", d, n, NULL, &img, &err);
        assert_int_not_equal(st, SMP_OK);
        expect_failure(st, st, &img, &err, "noise.png", " ");
        free(d);
    }
}

static void test_truncated_jpeg(void **state)
{
    (void)state;
    unsigned char *px = noise(64 * 48 * 3, 3);
    for (int prog = 0; prog <= 1; prog++) {
        enc_jpeg_opts o = {90, prog, 1, 0, NULL, 0};
        size_t n;
        unsigned char *jpg = make_jpeg(px, 64, 48, 3, &o, &n);
        /* Half; inside the headers; only the EOI marker lost (strict on
         * purpose, see image_jpeg.c). */
        size_t cuts[3] = {n / 2, 20, n - 2};
        for (int k = 0; k < 3; k++) {
            smp_image img;
            smp_error err;
            smp_status st = load("consult8.jpg", jpg, cuts[k], NULL, &img, &err);
            char words[64], size[32];
            snprintf(words, sizeof words, "truncated after %s", smp_human_size(cuts[k], size));
            expect_failure(st, SMP_E_FORMAT, &img, &err, "consult8.jpg", words);
        }
        free(jpg);
    }
    free(px);
}

static void test_truncated_png(void **state)
{
    (void)state;
    unsigned char *px = noise(64 * 48 * 3, 5);
    size_t n;
    unsigned char *png = make_png(px, 64, 48, ENC_PNG_RGB, NULL, &n);
    size_t cuts[3] = {n / 2, 30, 8};
    for (int k = 0; k < 3; k++) {
        smp_image img;
        smp_error err;
        char words[64], size[32];
        snprintf(words, sizeof words, "truncated after %s", smp_human_size(cuts[k], size));
        expect_failure(load("cut.png", png, cuts[k], NULL, &img, &err), SMP_E_FORMAT, &img, &err,
                       "cut.png", words);
    }
    free(png);
    free(px);
}

static void test_damaged_jpeg_data(void **state)
{
    (void)state;
    unsigned char *px = noise(64 * 64 * 3, 11);
    enc_jpeg_opts o = {90, 0, 1, 0, NULL, 0};
    size_t n;
    unsigned char *jpg = make_jpeg(px, 64, 64, 3, &o, &n);
    /* A stray RST marker in the middle of the entropy-coded data: libjpeg
     * warns and fills the rest with grey; we refuse the photo. */
    jpg[n / 2] = 0xFF;
    jpg[n / 2 + 1] = 0xD3;
    smp_image img;
    smp_error err;
    expect_failure(load("damaged.jpg", jpg, n, NULL, &img, &err), SMP_E_FORMAT, &img, &err,
                   "damaged.jpg", "damaged");
    free(jpg);
    free(px);
}

/* An APP2 ICC_PROFILE chunk numbered 2 of 1 (ICC.1:2010 annex B.4 says
 * chunks count from 1 to the total): the profile cannot be put together, so
 * the colours cannot be trusted and the photo is refused. */
static void test_damaged_icc_jpeg(void **state)
{
    (void)state;
    unsigned char *px = flat_rgb(16, 16, 1, 2, 3);
    size_t n;
    unsigned char *jpg = make_jpeg(px, 16, 16, 3, NULL, &n);
    static const unsigned char app2[] = {0xFF, 0xE2, 0, 2 + 12 + 2 + 4, 'I', 'C', 'C', '_',
                                         'P', 'R', 'O', 'F', 'I', 'L', 'E', 0, 2, 1,
                                         'a', 'b', 'c', 'd'};
    unsigned char *bad = malloc(n + sizeof app2);
    assert_non_null(bad);
    memcpy(bad, jpg, 2); /* SOI */
    memcpy(bad + 2, app2, sizeof app2);
    memcpy(bad + 2 + sizeof app2, jpg + 2, n - 2);
    smp_image img;
    smp_error err;
    expect_failure(load("badicc.jpg", bad, n + sizeof app2, NULL, &img, &err), SMP_E_FORMAT, &img,
                   &err, "badicc.jpg", "colour profile is damaged");
    free(bad);
    free(jpg);
    free(px);
}

static void test_huge_headers(void **state)
{
    (void)state;
    unsigned char *px = flat_rgb(16, 16, 50, 60, 70);
    size_t n;
    smp_image img;
    smp_error err;

    /* JPEG: SOF0 height and width patched; 65500 is JPEG's largest side. */
    unsigned char *jpg = make_jpeg(px, 16, 16, 3, NULL, &n);
    size_t sof = 2;
    while (sof + 9 < n && !(jpg[sof] == 0xFF && jpg[sof + 1] == 0xC0))
        sof += 2 + ((size_t)jpg[sof + 2] << 8 | jpg[sof + 3]);
    assert_true(sof + 9 < n);
    jpg[sof + 5] = 65500 >> 8; jpg[sof + 6] = 65500 & 0xFF; /* height */
    jpg[sof + 7] = 65500 >> 8; jpg[sof + 8] = 65500 & 0xFF; /* width */
    expect_failure(load("big.jpg", jpg, n, NULL, &img, &err), SMP_E_LIMIT, &img, &err, "big.jpg",
                   "65500 x 65500 pixels is over the 100 MP limit");
    jpg[sof + 7] = 0xFF; jpg[sof + 8] = 0xFF; /* over JPEG's own maximum */
    expect_failure(load("big.jpg", jpg, n, NULL, &img, &err), SMP_E_LIMIT, &img, &err, "big.jpg",
                   "65500");
    free(jpg);

    /* PNG: IHDR patched to 100000 x 100000, CRC recomputed. */
    unsigned char *png = make_png(px, 16, 16, ENC_PNG_RGB, NULL, &n);
    size_t ihdr = png_find_chunk(png, n, "IHDR");
    assert_int_equal(ihdr, 8);
    put_be32(png + ihdr + 8, 100000);
    put_be32(png + ihdr + 12, 100000);
    put_be32(png + ihdr + 8 + 13, crc32_png(png + ihdr + 4, 17));
    expect_failure(load("big.png", png, n, NULL, &img, &err), SMP_E_LIMIT, &img, &err, "big.png",
                   "100000 x 100000 pixels is over the 100 MP limit");
    free(png);

    /* A caller's own, smaller limit. */
    png = make_png(px, 16, 16, ENC_PNG_RGB, NULL, &n);
    smp_load_limits lim = {.max_pixels = 255};
    expect_failure(load("small.png", png, n, &lim, &img, &err), SMP_E_LIMIT, &img, &err,
                   "small.png", "16 x 16 pixels is over the");
    lim.max_pixels = 256;
    assert_int_equal(load("small.png", png, n, &lim, &img, &err), SMP_OK);
    smp_image_release(&img);
    free(png);
    free(px);
}

static void test_cmyk_unsupported(void **state)
{
    (void)state;
    unsigned char px[16 * 16 * 4];
    memset(px, 90, sizeof px);
    size_t n;
    unsigned char *jpg = make_jpeg(px, 16, 16, 4, NULL, &n);
    assert_true(jpeg_has_marker(jpg, n, 0xEE)); /* Adobe APP14 */
    smp_image img;
    smp_error err;
    expect_failure(load("print.jpg", jpg, n, NULL, &img, &err), SMP_E_UNSUPPORTED, &img, &err,
                   "print.jpg", "CMYK JPEG is not supported");
    free(jpg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_file_level),
        cmocka_unit_test(test_jpeg_flat_444),
        cmocka_unit_test(test_jpeg_progressive),
        cmocka_unit_test(test_jpeg_grey),
        cmocka_unit_test(test_jpeg_420),
        cmocka_unit_test(test_jpeg_orientation_all),
        cmocka_unit_test(test_orient_pixels_bpp),
        cmocka_unit_test(test_exif_parser),
        cmocka_unit_test(test_icc_jpeg_and_png),
        cmocka_unit_test(test_png_damaged_iccp),
        cmocka_unit_test(test_png_rgb8),
        cmocka_unit_test(test_png_rgb16),
        cmocka_unit_test(test_png_grey_8_16),
        cmocka_unit_test(test_png_grey_low_depth),
        cmocka_unit_test(test_png_palette_and_trns),
        cmocka_unit_test(test_png_rgba_mask),
        cmocka_unit_test(test_png_interlaced),
        cmocka_unit_test(test_png_colour_chunks),
        cmocka_unit_test(test_png_exif_orientation),
        cmocka_unit_test(test_broken_basic),
        cmocka_unit_test(test_broken_random),
        cmocka_unit_test(test_truncated_jpeg),
        cmocka_unit_test(test_truncated_png),
        cmocka_unit_test(test_damaged_jpeg_data),
        cmocka_unit_test(test_damaged_icc_jpeg),
        cmocka_unit_test(test_huge_headers),
        cmocka_unit_test(test_cmyk_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
