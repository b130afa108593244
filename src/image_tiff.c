/*
 * image_tiff.c: TIFF decoding with libtiff (see image.h).
 *
 * In:  the bytes of a TIFF file (the first image of the file): RGB or grey
 *      (min-is-black or min-is-white), 8 or 16 bits per sample, unsigned
 *      integers, one plane (PlanarConfiguration 1), in strips or tiles, any
 *      compression libtiff decodes (none, LZW, Deflate, PackBits, JPEG, ...);
 *      extra samples after the colour ones, the first of which may be
 *      alpha; the ICC profile (tag 34675) and the Orientation tag (274).
 * Out: grey or RGB pixels, 8 or 16 bits (native endian), reduced by the
 *      factor of smp_plan_reduction with smp_rows (block averages of the
 *      stored values, as for PNG), then turned upright for the Orientation
 *      tag, whose values 1..8 are the EXIF ones (EXIF took them from TIFF
 *      6.0 section 8). The strips or tiles are decoded one at a time: the
 *      full-size pixels of a reduced photo are never held (one strip, or
 *      one row of tiles, is).
 * Not: CMYK (Separated), CIELAB / ICCLab / ITULab, YCbCr other than in
 *      JPEG-compressed files (libtiff converts those to RGB itself),
 *      palette colour, 1/2/4-bit, floating-point or signed samples, separate
 *      planes, any image after the first: each refused with one line that
 *      says what the file is. Mask decoding (limits->mask: masks are PNG).
 *
 * Alpha as for PNG: a pixel with alpha 0 is invalid; a partly transparent
 * pixel keeps its colour, un-premultiplied when the file says its alpha is
 * associated (ExtraSamples 1: the stored colour is colour x alpha).
 *
 * libtiff prints its errors and warnings on stderr unless told otherwise,
 * and TIFFSetErrorHandler/TIFFSetWarningHandler are process-wide. libtiff
 * 4.5 has per-handle handlers (TIFFOpenOptionsSetErrorHandlerExtR, also
 * used for the errors raised before the handle exists): ours keep the first
 * error's text for the message and return 1, which tells libtiff not to
 * call the process-wide handlers. Nothing is printed and nothing global is
 * changed, so decoding is thread-safe.
 *
 * Where it lives. In a shared build this file is the module
 * libsmpmatch-tiff.so, entry point smp_module_tiff_decode, loaded by
 * smp_image_decode_tiff (src/module.c) at the first TIFF photo: a
 * program that never reads one never maps its library. A static build
 * links it into libsmpmatch.
 */
#include "image.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

#include "util.h"

/* Tile sides always accepted: 1024, the largest of the tile sizes common
 * writers use (libvips 128, tiffcp and GDAL 256, some scanners 512 and
 * 1024: our survey, not a standard). At 8 samples of 16 bits that is a
 * 16 MiB tile at most, whatever the image's size. */
#define MAX_TILE_SIDE 1024u

/* Samples per pixel: RGB, alpha and up to 4 more channels (Photoshop's
 * extra alpha channels), our own bound. The buffers of a strip or a row
 * of tiles grow with it while the pixel limit does not see it: a file
 * claiming 60,000 samples for 1000 x 1000 pixels would otherwise ask for
 * 60 GB before reading one byte. */
#define MAX_SAMPLES 8u

typedef struct tiff_ctx {
    const char *name;
    const unsigned char *data;
    size_t size, pos;
    char msg[200]; /* libtiff's first error */
} tiff_ctx;

/* The file is read from memory through libtiff's client procedures. */
static tmsize_t mem_read(thandle_t h, void *buf, tmsize_t n)
{
    tiff_ctx *c = h;
    if (n < 0)
        return -1;
    size_t left = c->size - c->pos, k = (size_t)n < left ? (size_t)n : left;
    memcpy(buf, c->data + c->pos, k);
    c->pos += k;
    return (tmsize_t)k;
}

static tmsize_t mem_write(thandle_t h, void *buf, tmsize_t n)
{
    (void)h;
    (void)buf;
    (void)n;
    return -1; /* opened for reading only */
}

static toff_t mem_seek(thandle_t h, toff_t off, int whence)
{
    tiff_ctx *c = h;
    uint64_t base = whence == SEEK_CUR ? c->pos : whence == SEEK_END ? c->size : 0;
    if (off > UINT64_MAX - base)
        return (toff_t)-1;
    /* Past the end is allowed (lseek allows it); reads there get 0 bytes. */
    uint64_t to = base + off;
    c->pos = to > c->size ? c->size : (size_t)to;
    return to;
}

static int mem_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t mem_size(thandle_t h)
{
    return ((tiff_ctx *)h)->size;
}

static int mem_map(thandle_t h, void **base, toff_t *size)
{
    (void)h;
    (void)base;
    (void)size;
    return 0; /* not mapped: libtiff must not write into the caller's bytes */
}

static void mem_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h;
    (void)base;
    (void)size;
}

static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)tif;
    (void)module;
    tiff_ctx *c = user;
    if (!c->msg[0])
        vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    return 1; /* handled: libtiff does not call the process-wide handler */
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)tif;
    (void)user;
    (void)module;
    (void)fmt;
    (void)ap;
    return 1; /* warnings (unknown tags, odd values) leave the pixels intact */
}

static smp_status damaged(tiff_ctx *c, smp_error *err)
{
    return smp_fail(err, SMP_E_FORMAT, "%s: damaged TIFF file (%s)", c->name,
                    c->msg[0] ? c->msg : "unreadable image data");
}

/* The pixel layout, from the tags. */
typedef struct tiff_layout {
    uint32_t width, height;
    uint16_t bits, spp, photometric, planar, sample_format, compression;
    int cc, has_alpha, premultiplied, invert, tiled;
} tiff_layout;

static smp_status read_layout(tiff_ctx *c, TIFF *tif, tiff_layout *l, smp_error *err)
{
    uint16_t n_extra = 0, *extra = NULL;
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &l->width) ||
        !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &l->height) || l->width == 0 || l->height == 0)
        return smp_fail(err, SMP_E_FORMAT, "%s: damaged TIFF file (no image size)", c->name);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &l->bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &l->spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &l->planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &l->sample_format);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &l->compression);
    TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &n_extra, &extra);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &l->photometric))
        l->photometric = l->spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
    l->tiled = TIFFIsTiled(tif);

    const char *what = NULL;
    switch (l->photometric) {
    case PHOTOMETRIC_RGB: l->cc = 3; break;
    case PHOTOMETRIC_MINISBLACK: l->cc = 1; break;
    case PHOTOMETRIC_MINISWHITE: l->cc = 1; l->invert = 1; break;
    case PHOTOMETRIC_YCBCR:
        if (l->compression == COMPRESSION_JPEG) {
            /* libtiff's JPEG codec converts YCbCr to RGB when asked. */
            TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
            l->cc = 3;
        } else {
            what = "a YCbCr TIFF";
        }
        break;
    case PHOTOMETRIC_SEPARATED: what = "a CMYK TIFF"; break;
    case PHOTOMETRIC_CIELAB:
    case PHOTOMETRIC_ICCLAB:
    case PHOTOMETRIC_ITULAB: what = "a Lab TIFF"; break;
    case PHOTOMETRIC_PALETTE: what = "a palette (indexed-colour) TIFF"; break;
    default: what = "a TIFF in an unusual colour model"; break;
    }
    if (what)
        return smp_fail(err, SMP_E_UNSUPPORTED, "%s: %s cannot be analysed: save the photo as RGB",
                        c->name, what);
    if (l->bits != 8 && l->bits != 16)
        return smp_fail(err, SMP_E_UNSUPPORTED,
                        "%s: a %u-bit TIFF cannot be analysed: save the photo with 8 or 16 bits",
                        c->name, (unsigned)l->bits);
    if (l->sample_format != SAMPLEFORMAT_UINT)
        return smp_fail(err, SMP_E_UNSUPPORTED,
                        "%s: a floating-point or signed TIFF cannot be analysed: save the photo "
                        "with 8 or 16 bits", c->name);
    if (l->spp > MAX_SAMPLES)
        return smp_fail(err, SMP_E_UNSUPPORTED,
                        "%s: a TIFF with %u channels per pixel cannot be analysed: save the photo "
                        "as plain RGB", c->name, (unsigned)l->spp);
    if (l->spp < l->cc)
        return smp_fail(err, SMP_E_FORMAT, "%s: damaged TIFF file (%u samples per pixel for %s)",
                        c->name, (unsigned)l->spp, l->cc == 3 ? "RGB" : "grey");
    if (l->planar != PLANARCONFIG_CONTIG && l->spp > 1)
        return smp_fail(err, SMP_E_UNSUPPORTED,
                        "%s: a TIFF with separate colour planes cannot be analysed: save it "
                        "with interleaved (contiguous) samples", c->name);
    if (l->spp > l->cc && n_extra >= 1 && extra &&
        (extra[0] == EXTRASAMPLE_ASSOCALPHA || extra[0] == EXTRASAMPLE_UNASSALPHA)) {
        l->has_alpha = 1;
        l->premultiplied = extra[0] == EXTRASAMPLE_ASSOCALPHA;
    }
    return SMP_OK;
}

/* The ICC profile tag, copied, within the size limit. */
static smp_status read_icc(tiff_ctx *c, TIFF *tif, const smp_load_limits *limits, smp_image *img,
                           smp_error *err)
{
    uint32_t len = 0;
    void *profile = NULL;
    if (!TIFFGetField(tif, TIFFTAG_ICCPROFILE, &len, &profile) || !profile || len == 0)
        return SMP_OK;
    size_t max_icc = smp_max_icc_bytes(limits);
    char b1[32], b2[32];
    if (len > max_icc)
        return smp_fail(err, SMP_E_LIMIT, "%s: the embedded colour profile is %s, over the %s limit",
                        c->name, smp_human_size(len, b1), smp_human_size(max_icc, b2));
    img->icc = malloc(len);
    if (!img->icc)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory for the colour profile", c->name);
    memcpy(img->icc, profile, len);
    img->icc_size = len;
    return SMP_OK;
}

/* A strip or tile that lies past the end of the data means a cut file:
 * say so before libtiff reads a short strip. */
static int truncated(tiff_ctx *c, TIFF *tif, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint64_t off = TIFFGetStrileOffset(tif, i), len = TIFFGetStrileByteCount(tif, i);
        if (off > c->size || len > c->size - off)
            return 1;
    }
    return 0;
}

/* In place, one row: min-is-white to min-is-black, associated alpha back
 * to plain colour. */
static void fix_row(const tiff_layout *l, unsigned char *row)
{
    if (!l->invert && !l->premultiplied)
        return;
    size_t bps = l->bits / 8;
    unsigned max = l->bits == 16 ? 65535u : 255u;
    for (uint32_t x = 0; x < l->width; x++) {
        unsigned char *p = row + (size_t)x * l->spp * bps;
        unsigned a = max;
        if (l->premultiplied)
            a = bps == 1 ? p[l->cc] : (unsigned)((uint16_t *)(void *)p)[l->cc];
        for (int ch = 0; ch < l->cc; ch++) {
            unsigned v = bps == 1 ? p[ch] : ((uint16_t *)(void *)p)[ch];
            if (l->invert)
                v = max - v;
            if (l->premultiplied && a > 0 && a < max) {
                unsigned long u = ((unsigned long)v * max + a / 2) / a;
                v = u > max ? max : (unsigned)u;
            }
            if (bps == 1)
                p[ch] = (unsigned char)v;
            else
                ((uint16_t *)(void *)p)[ch] = (uint16_t)v;
        }
    }
}

static smp_status read_strips(tiff_ctx *c, TIFF *tif, const tiff_layout *l, smp_rows *r,
                              smp_error *err)
{
    uint32_t rps = 0;
    TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
    if (rps == 0 || rps > l->height)
        rps = l->height;
    tmsize_t line = TIFFScanlineSize(tif);
    size_t row_bytes = (size_t)l->width * l->spp * (l->bits / 8), buf_bytes;
    if (line <= 0 || (size_t)line != row_bytes || smp_mul_size(row_bytes, rps, &buf_bytes) != 0)
        return damaged(c, err);
    unsigned char *buf = malloc(buf_bytes);
    if (!buf)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory for a strip of pixels", c->name);
    smp_status st = SMP_OK;
    uint32_t strips = TIFFNumberOfStrips(tif);
    for (uint32_t s = 0, y = 0; y < l->height; s++) {
        uint32_t rows = l->height - y < rps ? l->height - y : rps;
        if (s >= strips ||
            TIFFReadEncodedStrip(tif, s, buf, (tmsize_t)(rows * row_bytes)) <
                (tmsize_t)(rows * row_bytes)) {
            st = damaged(c, err);
            break;
        }
        for (uint32_t k = 0; k < rows; k++) {
            fix_row(l, buf + k * row_bytes);
            smp_rows_take(r, buf + k * row_bytes);
        }
        y += rows;
    }
    free(buf);
    return st;
}

/* One row of tiles at a time into a band of full rows. */
static smp_status read_tiles(tiff_ctx *c, TIFF *tif, const tiff_layout *l, smp_rows *r,
                             smp_error *err)
{
    uint32_t tw = 0, th = 0;
    TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
    TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
    /* Tiles are multiples of 16 (TIFF 6.0 section 15) chosen without
     * regard to the image: tiffcp and GDAL write 256 x 256 tiles even for
     * a 100 x 100 photo. A side up to MAX_TILE_SIDE is always taken; past
     * that, a tile larger than the image is damage, and would only cost
     * memory. */
    if (tw == 0 || th == 0 || (tw > MAX_TILE_SIDE && tw > l->width + 16) ||
        (th > MAX_TILE_SIDE && th > l->height + 16))
        return smp_fail(err, SMP_E_FORMAT, "%s: damaged TIFF file (tiles of %lu x %lu pixels)",
                        c->name, (unsigned long)tw, (unsigned long)th);
    size_t px = (size_t)l->spp * (l->bits / 8), row_bytes = (size_t)l->width * px;
    size_t tile_px, tile_bytes, band_bytes;
    if (smp_mul_size(tw, th, &tile_px) != 0 || smp_mul_size(tile_px, px, &tile_bytes) != 0 ||
        TIFFTileSize(tif) != (tmsize_t)tile_bytes || smp_mul_size(row_bytes, th, &band_bytes) != 0)
        return damaged(c, err);
    unsigned char *tile = malloc(tile_bytes), *band = malloc(band_bytes);
    smp_status st = SMP_OK;
    if (!tile || !band)
        st = smp_fail(err, SMP_E_NOMEM, "%s: out of memory for a row of tiles", c->name);
    for (uint32_t ty = 0; st == SMP_OK && ty < l->height; ty += th) {
        uint32_t rows = l->height - ty < th ? l->height - ty : th;
        for (uint32_t tx = 0; tx < l->width; tx += tw) {
            uint32_t cols = l->width - tx < tw ? l->width - tx : tw;
            if (TIFFReadEncodedTile(tif, TIFFComputeTile(tif, tx, ty, 0, 0), tile,
                                    (tmsize_t)tile_bytes) < (tmsize_t)tile_bytes) {
                st = damaged(c, err);
                break;
            }
            for (uint32_t k = 0; k < rows; k++)
                memcpy(band + k * row_bytes + tx * px, tile + (size_t)k * tw * px, cols * px);
        }
        for (uint32_t k = 0; st == SMP_OK && k < rows; k++) {
            fix_row(l, band + k * row_bytes);
            smp_rows_take(r, band + k * row_bytes);
        }
    }
    free(tile);
    free(band);
    return st;
}

/* Everything after the handle is open. */
static smp_status tiff_run(tiff_ctx *c, TIFF *tif, const smp_load_limits *limits, smp_image *img,
                           smp_error *err)
{
    tiff_layout l;
    memset(&l, 0, sizeof l);
    smp_status st = read_layout(c, tif, &l, err);
    if (st != SMP_OK)
        return st;
    size_t max_pixels = limits && limits->max_pixels ? limits->max_pixels : SMP_DEFAULT_MAX_PIXELS;
    size_t n;
    char buf[32], b2[32];
    if (smp_mul_size(l.width, l.height, &n) != 0 || n > max_pixels || l.width > 0x7fffffff ||
        l.height > 0x7fffffff)
        return smp_fail(err, SMP_E_LIMIT, "%s: %lu x %lu pixels is over the %s limit", c->name,
                        (unsigned long)l.width, (unsigned long)l.height,
                        smp_megapixels(max_pixels, buf));
    st = read_icc(c, tif, limits, img, err);
    if (st != SMP_OK)
        return st;
    uint16_t orientation = 1;
    if (!TIFFGetField(tif, TIFFTAG_ORIENTATION, &orientation) || orientation < 1 || orientation > 8)
        orientation = 1;
    uint32_t striles = l.tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
    if (truncated(c, tif, striles))
        return smp_fail(err, SMP_E_FORMAT, "%s: TIFF file truncated after %s", c->name,
                        smp_human_size(c->size, b2));
    smp_reduction plan = smp_plan_reduction(limits, orientation, l.width, l.height);
    smp_rows r;
    st = smp_rows_start(&r, c->name, &plan, l.width, l.height, l.cc, l.spp, l.has_alpha,
                        l.bits / 8, err);
    if (st != SMP_OK)
        return st;
    st = l.tiled ? read_tiles(c, tif, &l, &r, err) : read_strips(c, tif, &l, &r, err);
    if (st != SMP_OK) {
        smp_rows_free(&r);
        return st;
    }
    return smp_rows_finish(&r, c->name, orientation, img, err);
}

smp_status smp_module_tiff_decode(const char *name, const unsigned char *data, size_t size,
                                  const smp_load_limits *limits, smp_image *img, smp_error *err)
{
    memset(img, 0, sizeof *img);
    tiff_ctx c;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.data = data;
    c.size = size;
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory starting the TIFF decoder", name);
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, &c);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, &c);
    /* "m": no memory mapping (mem_map says no anyway); "r": read only. */
    TIFF *tif = TIFFClientOpenExt(name, "rm", &c, mem_read, mem_write, mem_seek, mem_close,
                                  mem_size, mem_map, mem_unmap, opts);
    TIFFOpenOptionsFree(opts);
    smp_status st;
    if (!tif) {
        char b[32];
        /* A header or first directory that runs past the end: cut short. */
        if (strstr(c.msg, "end of file") || strstr(c.msg, "Cannot read") ||
            strstr(c.msg, "Can not read") || size < 8)
            st = smp_fail(err, SMP_E_FORMAT, "%s: TIFF file truncated after %s", name,
                          smp_human_size(size, b));
        else
            st = damaged(&c, err);
    } else {
        st = tiff_run(&c, tif, limits, img, err);
        TIFFClose(tif);
    }
    if (st != SMP_OK) {
        smp_image_release(img);
        return st;
    }
    img->format = SMP_FORMAT_TIFF;
    return SMP_OK;
}
