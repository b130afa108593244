/*
 * encode.c: writes test and sample photos (see encode.h).
 *
 * In:  raw pixels from a test or from tools/gen_samples.c, plus the options a
 *      phone or an editor would have used (quality, progressive, subsampling,
 *      EXIF orientation, ICC profile, PNG colour chunks).
 * Out: JPEG bytes (libjpeg-turbo) or PNG bytes (libpng), in memory or in a
 *      file; ICC profiles built with LittleCMS.
 * Not: part of libsmpmatch. These are tools, so failures print one line on
 *      stderr and return -1; nothing here is tuned for speed.
 *
 * Everything is encoded into memory first and then written out in one go, so
 * the file and memory paths are the same code.
 */
#include "encode.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <lcms2.h>
#include <png.h>

/* ------------------------------------------------------------------ */
/* Shared                                                              */
/* ------------------------------------------------------------------ */

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* Hands `buf` to the caller through out/out_size, or writes it to path and
 * frees it. Takes ownership of buf in every case. */
static int deliver(const char *path, unsigned char **out, size_t *out_size, unsigned char *buf,
                   size_t size)
{
    if (out && out_size) {
        *out = buf;
        *out_size = size;
        return 0;
    }
    if (!path) {
        fprintf(stderr, "encode: no output file and no output buffer\n");
        free(buf);
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "encode: cannot create %s\n", path);
        free(buf);
        return -1;
    }
    int ok = fwrite(buf, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    free(buf);
    if (!ok) {
        fprintf(stderr, "encode: write error on %s\n", path);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* JPEG                                                                */
/* ------------------------------------------------------------------ */

typedef struct jpeg_fail {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
} jpeg_fail;

static void jpeg_fail_exit(j_common_ptr cinfo)
{
    jpeg_fail *f = (jpeg_fail *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, msg);
    fprintf(stderr, "encode: libjpeg: %s\n", msg);
    longjmp(f->jump, 1);
}

/* The APP1 payload for an EXIF block holding only the Orientation tag:
 * "Exif\0\0", then a little-endian TIFF header (TIFF 6.0 section 2: "II",
 * 42, offset of IFD0 = 8) and IFD0 with one entry: tag 0x0112 Orientation,
 * type 3 SHORT, count 1, the value left-justified in the 4-byte value field
 * (EXIF 2.32, CIPA DC-008, section 4.6.4), and a next-IFD offset of 0. */
static size_t exif_orientation_block(unsigned char buf[32], int orientation)
{
    static const unsigned char head[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0};
    size_t n = 0;
    memcpy(buf, head, sizeof head);
    n = sizeof head;
    buf[n++] = 1; /* one IFD entry */
    buf[n++] = 0;
    buf[n++] = 0x12; /* tag 0x0112 */
    buf[n++] = 0x01;
    buf[n++] = 3; /* SHORT */
    buf[n++] = 0;
    buf[n++] = 1; /* count 1 */
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = (unsigned char)orientation;
    buf[n++] = 0;
    buf[n++] = 0; /* padding of the value field */
    buf[n++] = 0;
    for (int i = 0; i < 4; i++) /* no next IFD */
        buf[n++] = 0;
    return n;
}

/* Sets the colour space and sampling; libjpeg's defaults are 4:2:0 for
 * YCbCr, so 4:4:4 is asked for by giving the luma component 1x1 factors. */
static void jpeg_setup_components(struct jpeg_compress_struct *c, int components,
                                  const enc_jpeg_opts *o)
{
    if (components == 4) {
        /* jpeg_set_defaults picks JCS_CMYK for CMYK input and then writes an
         * Adobe APP14 marker (transform 0), as libjpeg does for any CMYK. */
        jpeg_set_colorspace(c, JCS_CMYK);
        return;
    }
    if (components == 1)
        return;
    int f = o->subsample_420 ? 2 : 1;
    c->comp_info[0].h_samp_factor = f;
    c->comp_info[0].v_samp_factor = f;
    c->comp_info[1].h_samp_factor = c->comp_info[1].v_samp_factor = 1;
    c->comp_info[2].h_samp_factor = c->comp_info[2].v_samp_factor = 1;
}

/* The body of enc_jpeg, kept apart so the setjmp lives in a function whose
 * own locals are not touched after it. */
static int jpeg_encode(struct jpeg_compress_struct *c, jpeg_fail *fail, unsigned char **mem,
                       unsigned long *mem_size, const unsigned char *pixels, int width,
                       int height, int components, const enc_jpeg_opts *o)
{
    if (setjmp(fail->jump))
        return -1;
    jpeg_create_compress(c);
    jpeg_mem_dest(c, mem, mem_size);
    c->image_width = (JDIMENSION)width;
    c->image_height = (JDIMENSION)height;
    c->input_components = components;
    c->in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(c);
    jpeg_set_quality(c, o->quality > 0 ? o->quality : 92, TRUE);
    jpeg_setup_components(c, components, o);
    if (o->progressive)
        jpeg_simple_progression(c);
    /* Phones write EXIF without JFIF; keep it that way when there is EXIF. */
    if (o->orientation >= 2 && o->orientation <= 8)
        c->write_JFIF_header = FALSE;
    jpeg_start_compress(c, TRUE);
    if (o->orientation >= 2 && o->orientation <= 8) {
        unsigned char exif[32];
        size_t n = exif_orientation_block(exif, o->orientation);
        jpeg_write_marker(c, JPEG_APP0 + 1, exif, (unsigned int)n);
    }
    if (o->icc && o->icc_size)
        jpeg_write_icc_profile(c, o->icc, (unsigned int)o->icc_size);
    size_t stride = (size_t)width * (size_t)components;
    while (c->next_scanline < c->image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)c->next_scanline * stride);
        jpeg_write_scanlines(c, &row, 1);
    }
    jpeg_finish_compress(c);
    return 0;
}

int enc_jpeg(const char *path, unsigned char **out, size_t *out_size,
             const unsigned char *pixels, int width, int height, int components,
             const enc_jpeg_opts *opts)
{
    enc_jpeg_opts none;
    memset(&none, 0, sizeof none);
    const enc_jpeg_opts *o = opts ? opts : &none;
    if (!pixels || width <= 0 || height <= 0 || width > 65500 || height > 65500 ||
        (components != 1 && components != 3 && components != 4)) {
        fprintf(stderr, "encode: bad JPEG parameters (%dx%d, %d components)\n", width, height,
                components);
        return -1;
    }
    struct jpeg_compress_struct c;
    jpeg_fail fail;
    memset(&c, 0, sizeof c);
    c.err = jpeg_std_error(&fail.pub);
    fail.pub.error_exit = jpeg_fail_exit;
    unsigned char *mem = NULL;
    unsigned long mem_size = 0;
    int rc = jpeg_encode(&c, &fail, &mem, &mem_size, pixels, width, height, components, o);
    jpeg_destroy_compress(&c);
    if (rc != 0) {
        free(mem);
        return -1;
    }
    return deliver(path, out, out_size, mem, (size_t)mem_size);
}

/* ------------------------------------------------------------------ */
/* PNG                                                                 */
/* ------------------------------------------------------------------ */

typedef struct png_sink {
    unsigned char *data;
    size_t size, cap;
    int failed;
} png_sink;

static void png_sink_write(png_structp png, png_bytep bytes, size_t n)
{
    png_sink *s = png_get_io_ptr(png);
    if (s->size + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->size + n)
            cap *= 2;
        unsigned char *p = realloc(s->data, cap);
        if (!p) {
            s->failed = 1;
            png_error(png, "out of memory");
        }
        s->data = p;
        s->cap = cap;
    }
    memcpy(s->data + s->size, bytes, n);
    s->size += n;
}

static void png_sink_flush(png_structp png)
{
    (void)png;
}

static void png_fail_error(png_structp png, png_const_charp msg)
{
    fprintf(stderr, "encode: libpng: %s\n", msg);
    png_longjmp(png, 1);
}

static void png_fail_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    fprintf(stderr, "encode: libpng warning: %s\n", msg);
}

/* Builds an indexed image from RGB pixels: palette entries in the order the
 * colours first appear (tests rely on index 0 being the first pixel's
 * colour). Returns -1 when there are more than 256 colours. */
static int build_palette(const unsigned char *rgb, size_t n, png_color pal[256], int *n_pal,
                         unsigned char *index)
{
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = rgb + 3 * i;
        int k = 0;
        while (k < count && !(pal[k].red == p[0] && pal[k].green == p[1] && pal[k].blue == p[2]))
            k++;
        if (k == count) {
            if (count == 256)
                return -1;
            pal[count].red = p[0];
            pal[count].green = p[1];
            pal[count].blue = p[2];
            count++;
        }
        index[i] = (unsigned char)k;
    }
    *n_pal = count;
    return 0;
}

static int png_channels_of(enc_png_type type)
{
    switch (type) {
    case ENC_PNG_GREY: return 1;
    case ENC_PNG_GREY_ALPHA: return 2;
    case ENC_PNG_RGB: return 3;
    case ENC_PNG_RGBA: return 4;
    case ENC_PNG_PALETTE: return 1; /* after indexing */
    }
    return 0;
}

static int png_color_type_of(enc_png_type type)
{
    switch (type) {
    case ENC_PNG_GREY: return PNG_COLOR_TYPE_GRAY;
    case ENC_PNG_GREY_ALPHA: return PNG_COLOR_TYPE_GRAY_ALPHA;
    case ENC_PNG_RGB: return PNG_COLOR_TYPE_RGB;
    case ENC_PNG_RGBA: return PNG_COLOR_TYPE_RGB_ALPHA;
    case ENC_PNG_PALETTE: return PNG_COLOR_TYPE_PALETTE;
    }
    return -1;
}

static void png_write_colour_chunks(png_structp png, png_infop info, const enc_png_opts *o)
{
    if (o->icc && o->icc_size)
        png_set_iCCP(png, info, "ICC profile", PNG_COMPRESSION_TYPE_BASE, o->icc,
                     (png_uint_32)o->icc_size);
    if (o->srgb_chunk)
        png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    if (o->gama_chrm) {
        png_set_gAMA(png, info, o->gamma);
        png_set_cHRM(png, info, o->chrm[0], o->chrm[1], o->chrm[2], o->chrm[3], o->chrm[4],
                     o->chrm[5], o->chrm[6], o->chrm[7]);
    }
}

/* The body of enc_png; `rows` and `palette` are prepared by the caller. */
static int png_encode(png_structp png, png_infop info, png_sink *sink, png_bytepp rows,
                      int width, int height, int bits, enc_png_type type, const png_color *pal,
                      int n_pal, const enc_png_opts *o)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_write_fn(png, sink, png_sink_write, png_sink_flush);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, bits,
                 png_color_type_of(type), PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE,
                 PNG_FILTER_TYPE_BASE);
    if (type == ENC_PNG_PALETTE)
        png_set_PLTE(png, info, pal, n_pal);
    png_write_colour_chunks(png, info, o);
    png_write_info(png, info);
    if (bits == 16 && host_is_little_endian())
        png_set_swap(png); /* our uint16_t samples are native; PNG is big-endian */
    if (bits < 8)
        png_set_packing(png); /* one sample per byte in, packed in the file */
    png_write_image(png, rows);
    png_write_end(png, info);
    return 0;
}

int enc_png(const char *path, unsigned char **out, size_t *out_size,
            const void *pixels, int width, int height, enc_png_type type,
            const enc_png_opts *opts)
{
    enc_png_opts none;
    memset(&none, 0, sizeof none);
    const enc_png_opts *o = opts ? opts : &none;
    int bits = o->bits ? o->bits : 8;
    /* Beyond encode.h: grey may also be 1, 2 or 4 bits, one sample per input
     * byte holding 0..2^bits-1, so the tests can make low-depth greys. */
    int low_grey = type == ENC_PNG_GREY && (bits == 1 || bits == 2 || bits == 4);
    if (!pixels || width <= 0 || height <= 0 || png_color_type_of(type) < 0 ||
        !(bits == 8 || bits == 16 || low_grey) || (type == ENC_PNG_PALETTE && bits != 8)) {
        fprintf(stderr, "encode: bad PNG parameters (%dx%d, type %d, %d bits)\n", width, height,
                (int)type, bits);
        return -1;
    }
    size_t n = (size_t)width * (size_t)height;
    size_t bytes_per_sample = bits == 16 ? 2 : 1;
    size_t stride = (size_t)width * (size_t)png_channels_of(type) * bytes_per_sample;
    png_color pal[256];
    int n_pal = 0;
    unsigned char *index = NULL;
    const unsigned char *src = pixels;
    if (type == ENC_PNG_PALETTE) {
        index = malloc(n);
        if (!index || build_palette(pixels, n, pal, &n_pal, index) != 0) {
            fprintf(stderr, "encode: %s\n", index ? "more than 256 colours for a palette PNG"
                                                  : "out of memory");
            free(index);
            return -1;
        }
        src = index;
    }
    png_bytepp rows = malloc((size_t)height * sizeof *rows);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_fail_error,
                                              png_fail_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_sink sink = {NULL, 0, 0, 0};
    int rc = -1;
    if (rows && info) {
        for (int y = 0; y < height; y++)
            rows[y] = (png_bytep)(src + (size_t)y * stride);
        rc = png_encode(png, info, &sink, rows, width, height, bits, type, pal, n_pal, o);
    } else {
        fprintf(stderr, "encode: out of memory\n");
    }
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(index);
    if (rc != 0) {
        free(sink.data);
        return -1;
    }
    return deliver(path, out, out_size, sink.data, sink.size);
}

/* ------------------------------------------------------------------ */
/* ICC profiles                                                        */
/* ------------------------------------------------------------------ */

/* CIE D65 white as the colour-space specifications below state it. */
static const cmsCIExyY d65 = {0.3127, 0.3290, 1.0};

/* LittleCMS stamps a profile with the time it was saved (ICC.1:2010 7.2.8,
 * bytes 24-35), which would make every run's files differ. Pin it to a fixed
 * date and clear the optional profile ID (bytes 84-99; all zero means "not
 * computed"), which the date change would invalidate. */
static void pin_icc_date(unsigned char *icc, size_t size)
{
    static const unsigned char date[12] = {0x07, 0xe8, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0}; /* 2024-01-01 */
    if (size < 128)
        return;
    memcpy(icc + 24, date, sizeof date);
    memset(icc + 84, 0, 16);
}

static unsigned char *profile_bytes(cmsHPROFILE prof, const char *description, size_t *size)
{
    unsigned char *buf = NULL;
    cmsMLU *mlu = cmsMLUalloc(NULL, 1);
    cmsUInt32Number n = 0;
    if (mlu && cmsMLUsetASCII(mlu, "en", "US", description) &&
        cmsWriteTag(prof, cmsSigProfileDescriptionTag, mlu) &&
        cmsSaveProfileToMem(prof, NULL, &n) && n > 0 && (buf = malloc(n)) != NULL &&
        !cmsSaveProfileToMem(prof, buf, &n)) {
        free(buf);
        buf = NULL;
    }
    if (mlu)
        cmsMLUfree(mlu);
    cmsCloseProfile(prof);
    if (!buf)
        fprintf(stderr, "encode: could not build the %s profile\n", description);
    else
        pin_icc_date(buf, n);
    if (buf && size)
        *size = n;
    return buf;
}

static unsigned char *rgb_profile(const cmsCIExyYTRIPLE *primaries, cmsToneCurve *curve,
                                  const char *description, size_t *size)
{
    if (!curve) {
        fprintf(stderr, "encode: could not build the %s tone curve\n", description);
        return NULL;
    }
    cmsToneCurve *curves[3] = {curve, curve, curve};
    cmsHPROFILE prof = cmsCreateRGBProfile(&d65, primaries, curves);
    cmsFreeToneCurve(curve);
    if (!prof) {
        fprintf(stderr, "encode: could not build the %s profile\n", description);
        return NULL;
    }
    return profile_bytes(prof, description, size);
}

/* sRGB, IEC 61966-2-1:1999, as LittleCMS builds it. */
unsigned char *enc_icc_srgb(size_t *size)
{
    cmsHPROFILE prof = cmsCreate_sRGBProfile();
    if (!prof) {
        fprintf(stderr, "encode: could not build the sRGB profile\n");
        return NULL;
    }
    return profile_bytes(prof, "sRGB IEC61966-2.1", size);
}

/* Display P3: the DCI-P3 primaries of SMPTE EG 432-1:2010 (red 0.680,0.320;
 * green 0.265,0.690; blue 0.150,0.060) with a D65 white and the sRGB transfer
 * curve, as Apple defines "Display P3". The curve is LittleCMS parametric
 * type 4, Y = ((a X + b)^g for X >= d, c X below), with the IEC 61966-2-1
 * constants g 2.4, a 1/1.055, b 0.055/1.055, c 1/12.92, d 0.04045. */
unsigned char *enc_icc_display_p3(size_t *size)
{
    static const cmsCIExyYTRIPLE p3 = {{0.680, 0.320, 1.0}, {0.265, 0.690, 1.0}, {0.150, 0.060, 1.0}};
    const cmsFloat64Number srgb_curve[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045};
    return rgb_profile(&p3, cmsBuildParametricToneCurve(NULL, 4, srgb_curve), "Display P3", size);
}

/* Adobe RGB (1998) Color Image Encoding, version 2005-05, sections 4.3 and
 * 4.4: red 0.6400,0.3300; green 0.2100,0.7100; blue 0.1500,0.0600; white D65;
 * gamma 563/256 = 2.19921875. */
unsigned char *enc_icc_adobe_rgb(size_t *size)
{
    static const cmsCIExyYTRIPLE adobe = {{0.64, 0.33, 1.0}, {0.21, 0.71, 1.0}, {0.15, 0.06, 1.0}};
    return rgb_profile(&adobe, cmsBuildGamma(NULL, 563.0 / 256.0), "Adobe RGB (1998)", size);
}
