/*
 * image_png.c: PNG decoding with libpng (see image.h).
 *
 * In:  the bytes of a PNG file: any bit depth and colour type, interlaced or
 *      not, with or without iCCP / sRGB / gAMA / cHRM / tRNS / eXIf.
 * Out: grey (channels 1) or RGB (channels 3) pixels, 8 bits, or 16 bits as
 *      native-endian uint16_t when the file has 16; a validity mask for fully
 *      transparent pixels; the colour chunks as the file states them.
 * Not: gamma correction or any colour conversion (libpng is never asked to
 *      apply gAMA: colour.c does colour management), compositing on a
 *      background, APNG frames after the first.
 *
 * Low bit depths (1, 2, 4) are scaled to 8 bits (libpng's expand: 1 -> 255),
 * palettes become RGB. Alpha is not kept: a pixel with alpha 0 is marked
 * invalid in img->valid (it shows no hair or skin, only whatever the editor
 * left behind), a partially transparent pixel keeps its stored colour, which
 * is what the subject looked like before the editor faded it.
 *
 * The chunk flags (png_srgb, png_has_gamma, png_has_chrm) come from the chunks
 * actually present in the file: libpng reports a gAMA and a cHRM for a file
 * that only has an sRGB chunk, because it derives them from sRGB. An iCCP
 * profile that libpng itself rejects (bad compressed data, a broken header,
 * an RGB profile on a grey PNG) is dropped by libpng with a warning; we then
 * set img->icc_damaged, so that colour.c warns instead of calling the photo
 * untagged.
 */
#include "image.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "util.h"

/* libpng's own default cap on one decompressed ancillary chunk
 * (PNG_USER_CHUNK_MALLOC_MAX in pnglibconf.h is 8000000). */
#define LIBPNG_CHUNK_MALLOC_MAX ((size_t)8000000)

typedef struct png_ctx {
    jmp_buf jump;
    const char *name;
    const unsigned char *data;
    size_t size, pos;
    int ran_out;           /* the reader hit the end of the data */
    char msg[256];         /* libpng's last error text */
    png_structp png;
    png_infop info;
    png_bytepp rows;
    unsigned char *raw;    /* decoded rows with alpha, before it is split off */
    unsigned char *pixels; /* owned until handed to the image */
    unsigned char *valid;
    unsigned char *icc;
    size_t icc_size;
} png_ctx;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "unknown error");
    longjmp(c->jump, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png; /* warnings leave the pixels intact: nothing to say */
    (void)msg;
}

static void png_read_bytes(png_structp png, png_bytep out, size_t n)
{
    png_ctx *c = png_get_io_ptr(png);
    if (n > c->size - c->pos) {
        c->ran_out = 1;
        png_error(png, "unexpected end of file");
    }
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
}

static unsigned long be32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* Whether chunk `type` appears before the first IDAT. Walks the chunk
 * headers (length, type, data, CRC: ISO/IEC 15948 section 5.3) without
 * reading outside the buffer. */
static int png_has_chunk(const unsigned char *data, size_t size, const char *type)
{
    size_t at = 8;
    if (size < at)
        return 0;
    while (size - at >= 12) {
        unsigned long len = be32(data + at);
        const unsigned char *t = data + at + 4;
        if (memcmp(t, "IDAT", 4) == 0)
            return 0;
        if (memcmp(t, type, 4) == 0)
            return 1;
        if (len > size - at - 12)
            return 0;
        at += 12 + (size_t)len;
    }
    return 0;
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* Copies the colour chunks libpng accepted into *img, and notes an iCCP
 * chunk it did not accept. */
static smp_status png_colour_info(png_ctx *c, const smp_load_limits *limits, smp_image *img,
                                  smp_error *err)
{
    png_charp icc_name = NULL;
    int compression = 0;
    png_bytep profile = NULL;
    png_uint_32 len = 0;
    int have_icc = png_get_valid(c->png, c->info, PNG_INFO_iCCP) &&
                   png_get_iCCP(c->png, c->info, &icc_name, &compression, &profile, &len) &&
                   profile && len;
    img->icc_damaged = !have_icc && png_has_chunk(c->data, c->size, "iCCP");
    if (have_icc) {
        size_t max_icc = smp_max_icc_bytes(limits);
        char b1[32], b2[32];
        if (len > max_icc)
            return smp_fail(err, SMP_E_LIMIT,
                            "%s: the embedded colour profile is %s, over the %s limit", c->name,
                            smp_human_size(len, b1), smp_human_size(max_icc, b2));
        c->icc = malloc(len);
        if (!c->icc)
            return smp_fail(err, SMP_E_NOMEM, "%s: out of memory for the colour profile", c->name);
        memcpy(c->icc, profile, len);
        c->icc_size = len;
    }
    img->png_srgb = png_has_chunk(c->data, c->size, "sRGB") &&
                    png_get_valid(c->png, c->info, PNG_INFO_sRGB);
    double gamma = 0;
    if (png_has_chunk(c->data, c->size, "gAMA") && png_get_gAMA(c->png, c->info, &gamma) &&
        gamma > 0) {
        img->png_has_gamma = 1;
        img->png_gamma = gamma;
    }
    double *x = img->png_chrm;
    if (png_has_chunk(c->data, c->size, "cHRM") &&
        png_get_cHRM(c->png, c->info, &x[0], &x[1], &x[2], &x[3], &x[4], &x[5], &x[6], &x[7]))
        img->png_has_chrm = 1;
    else
        memset(img->png_chrm, 0, sizeof img->png_chrm);
    return SMP_OK;
}

/* Splits the alpha channel off `c->raw` into c->pixels and c->valid.
 * `cc` colour channels, `bps` bytes per sample. valid stays NULL when no
 * pixel is fully transparent. */
static smp_status png_split_alpha(png_ctx *c, size_t width, size_t height, size_t row_bytes,
                                  int cc, size_t bps, smp_error *err)
{
    size_t n = width * height; /* checked by the caller */
    size_t px = (size_t)cc * bps;
    c->pixels = malloc(n * px);
    c->valid = malloc(n);
    if (!c->pixels || !c->valid)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory for the pixels", c->name);
    size_t transparent = 0;
    for (size_t y = 0; y < height; y++) {
        const unsigned char *s = c->raw + y * row_bytes;
        unsigned char *d = c->pixels + y * width * px;
        unsigned char *v = c->valid + y * width;
        for (size_t x = 0; x < width; x++, s += px + bps, d += px) {
            memcpy(d, s, px);
            int opaque_bits = bps == 2 ? (s[px] | s[px + 1]) : s[px];
            v[x] = opaque_bits ? 1 : 0;
            transparent += !opaque_bits;
        }
    }
    if (transparent == 0) {
        free(c->valid);
        c->valid = NULL;
    }
    return SMP_OK;
}

/* EXIF orientation from an eXIf chunk (PNG extensions 1.5.0), 1 when none. */
static int png_orientation(png_ctx *c)
{
#ifdef PNG_eXIf_SUPPORTED
    png_uint_32 n = 0;
    png_bytep exif = NULL;
    if (png_get_eXIf_1(c->png, c->info, &n, &exif) && exif && n)
        return smp_exif_orientation(exif, n);
#else
    (void)c;
#endif
    return 1;
}

/* The decoder proper; holds the setjmp. Allocations live in *c. */
static smp_status png_run(png_ctx *c, const smp_load_limits *limits, smp_image *img, smp_error *err)
{
    if (setjmp(c->jump)) {
        char size[32];
        if (c->ran_out)
            return smp_fail(err, SMP_E_FORMAT, "%s: truncated after %s", c->name,
                            smp_human_size(c->size, size));
        if (strstr(c->msg, "ut of memory"))
            return smp_fail(err, SMP_E_NOMEM, "%s: out of memory decoding the PNG", c->name);
        return smp_fail(err, SMP_E_FORMAT, "%s: damaged PNG file (%s)", c->name, c->msg);
    }
    c->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, png_on_error, png_on_warning);
    if (!c->png)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory starting the PNG decoder", c->name);
    c->info = png_create_info_struct(c->png);
    if (!c->info)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory starting the PNG decoder", c->name);
    png_set_read_fn(c->png, c, png_read_bytes);
    /* Our pixel limit is the one that counts, with our words: let libpng
     * pass any width and height up to the format's own 2^31-1. */
    png_set_user_limits(c->png, 0x7fffffffL, 0x7fffffffL);
    size_t max_icc = smp_max_icc_bytes(limits);
    if (max_icc + 1024 > LIBPNG_CHUNK_MALLOC_MAX)
        png_set_chunk_malloc_max(c->png, max_icc + 1024);
    png_read_info(c->png, c->info);

    png_uint_32 width = png_get_image_width(c->png, c->info);
    png_uint_32 height = png_get_image_height(c->png, c->info);
    size_t max_pixels = limits && limits->max_pixels ? limits->max_pixels : SMP_DEFAULT_MAX_PIXELS;
    size_t n;
    char buf[32];
    if (smp_mul_size(width, height, &n) != 0 || n > max_pixels || width > 0x7fffffff ||
        height > 0x7fffffff)
        return smp_fail(err, SMP_E_LIMIT, "%s: %lu x %lu pixels is over the %s limit", c->name,
                        (unsigned long)width, (unsigned long)height,
                        smp_megapixels(max_pixels, buf));

    smp_status st = png_colour_info(c, limits, img, err);
    if (st != SMP_OK)
        return st;

    int color_type = png_get_color_type(c->png, c->info);
    int depth = png_get_bit_depth(c->png, c->info);
    if (color_type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(c->png);
    if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(c->png);
    if (png_get_valid(c->png, c->info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(c->png);
    if (depth == 16 && host_is_little_endian())
        png_set_swap(c->png);
    png_set_interlace_handling(c->png);
    png_read_update_info(c->png, c->info);

    int channels = png_get_channels(c->png, c->info);
    int bits = png_get_bit_depth(c->png, c->info);
    size_t row_bytes = png_get_rowbytes(c->png, c->info);
    size_t bps = bits == 16 ? 2 : 1;
    int has_alpha = channels == 2 || channels == 4;
    int cc = has_alpha ? channels - 1 : channels;
    size_t bytes, rows_size;
    if ((bits != 8 && bits != 16) || channels < 1 || channels > 4 ||
        row_bytes != (size_t)width * (size_t)channels * bps)
        return smp_fail(err, SMP_E_FORMAT, "%s: unexpected PNG layout (%d channels, %d bits)",
                        c->name, channels, bits);
    if (smp_mul_size(row_bytes, height, &bytes) != 0 ||
        smp_mul_size(height, sizeof *c->rows, &rows_size) != 0)
        return smp_fail(err, SMP_E_LIMIT, "%s: too large to decode", c->name);

    unsigned char *target = malloc(bytes ? bytes : 1);
    if (has_alpha)
        c->raw = target;
    else
        c->pixels = target;
    c->rows = malloc(rows_size ? rows_size : 1);
    if (!target || !c->rows)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory for %s of pixels", c->name,
                        smp_human_size(bytes, buf));
    for (png_uint_32 y = 0; y < height; y++)
        c->rows[y] = target + (size_t)y * row_bytes;
    png_read_image(c->png, c->rows);
    /* No png_read_end: chunks after the image data cannot change a pixel,
     * and a file cut after its last IDAT still has all of them. */

    if (has_alpha) {
        st = png_split_alpha(c, width, height, row_bytes, cc, bps, err);
        if (st != SMP_OK)
            return st;
    }
    img->orientation = png_orientation(c);
    img->width = (int)width;
    img->height = (int)height;
    img->channels = cc;
    img->bits = bits;
    return SMP_OK;
}

smp_status smp_image_decode_png(const char *name, const unsigned char *data, size_t size,
                                const smp_load_limits *limits, smp_image *img, smp_error *err)
{
    memset(img, 0, sizeof *img);
    if (size == 0)
        return smp_fail(err, SMP_E_FORMAT, "%s: the file is empty", name);
    png_ctx c;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.data = data;
    c.size = size;
    smp_status st = png_run(&c, limits, img, err);
    png_destroy_read_struct(c.png ? &c.png : NULL, c.info ? &c.info : NULL, NULL);
    free(c.rows);
    free(c.raw);
    if (st == SMP_OK)
        st = smp_image_orient(name, img->orientation,
                              (size_t)img->channels * (size_t)(img->bits / 8), &c.pixels, &c.valid,
                              &img->width, &img->height, err);
    if (st != SMP_OK) {
        free(c.pixels);
        free(c.valid);
        free(c.icc);
        memset(img, 0, sizeof *img);
        return st;
    }
    if (img->orientation < 1)
        img->orientation = 1;
    img->stride = (size_t)img->width * (size_t)img->channels * (size_t)(img->bits / 8);
    img->pixels = c.pixels;
    img->valid = c.valid;
    img->icc = c.icc;
    img->icc_size = c.icc_size;
    img->format = SMP_FORMAT_PNG;
    return SMP_OK;
}
