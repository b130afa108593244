/*
 * encode.h: writing test and sample photos (JPEG through libjpeg-turbo, PNG
 * through libpng) with the features the loader must handle: ICC profiles,
 * EXIF orientation, progressive, greyscale, CMYK, 16-bit, palette, alpha,
 * PNG colour chunks.
 *
 * Used by tools/gen_samples.c and by the tests; not part of libsmpmatch.
 * Functions return 0 on success, -1 on failure (with a message on stderr:
 * these are tools, not the library).
 */
#ifndef SMP_TOOLS_ENCODE_H
#define SMP_TOOLS_ENCODE_H

#include <stddef.h>
#include <stdint.h>

typedef struct enc_jpeg_opts {
    int quality;            /* 1..100, default 92 when 0 */
    int progressive;        /* non-zero: progressive JPEG */
    int subsample_420;      /* non-zero: 4:2:0 chroma (like phones); 0: 4:4:4 */
    int orientation;        /* 0 or 1: no EXIF; 2..8: write an EXIF APP1 with this tag */
    const unsigned char *icc; /* embed this ICC profile (APP2, jpeg_write_icc_profile) */
    size_t icc_size;
} enc_jpeg_opts;

/* Writes `pixels` (width*height*components bytes, rows top to bottom,
 * components 1 = grey, 3 = RGB, 4 = CMYK (Adobe-style, not inverted)) as a
 * JPEG to `path`, or to memory when out/out_size are given (then path may be
 * NULL; *out is malloc'd). */
int enc_jpeg(const char *path, unsigned char **out, size_t *out_size,
             const unsigned char *pixels, int width, int height, int components,
             const enc_jpeg_opts *opts);

typedef enum enc_png_type {
    ENC_PNG_GREY = 0,   /* 1 channel */
    ENC_PNG_GREY_ALPHA, /* 2 channels */
    ENC_PNG_RGB,        /* 3 channels */
    ENC_PNG_RGBA,       /* 4 channels */
    ENC_PNG_PALETTE     /* input is RGB (3 channels, 8-bit); written as an indexed PNG
                           (at most 256 distinct colours, else failure) */
} enc_png_type;

typedef struct enc_png_opts {
    int bits;               /* 8 or 16 (16: samples are uint16_t native-endian) */
    const unsigned char *icc; /* iCCP chunk */
    size_t icc_size;
    int srgb_chunk;         /* write an sRGB chunk */
    int gama_chrm;          /* write gAMA + cHRM from the fields below */
    double gamma;           /* file gamma, e.g. 1/2.2 */
    double chrm[8];         /* white x,y, red x,y, green x,y, blue x,y */
} enc_png_opts;

int enc_png(const char *path, unsigned char **out, size_t *out_size,
            const void *pixels, int width, int height, enc_png_type type,
            const enc_png_opts *opts);

/* ICC profiles built with LittleCMS for tagging test photos: sRGB, Display P3
 * (DCI-P3 primaries, D65, sRGB transfer curve) and Adobe RGB (1998) (gamma
 * 563/256). Returns malloc'd bytes (caller frees) or NULL. */
unsigned char *enc_icc_srgb(size_t *size);
unsigned char *enc_icc_display_p3(size_t *size);
unsigned char *enc_icc_adobe_rgb(size_t *size);

#endif /* SMP_TOOLS_ENCODE_H */
