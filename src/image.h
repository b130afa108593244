/*
 * image.h: the `load` stage (private to the library).
 *
 * In:  the bytes of a photo file (JPEG or PNG, detected from the bytes, never
 *      from the extension).
 * Out: an smp_image: device pixels (grey or RGB, 8 or 16 bit) in display
 *      orientation (EXIF orientation already applied), a validity mask for
 *      transparent pixels, and what the file says about its colours (embedded
 *      ICC profile, PNG sRGB / gAMA / cHRM chunks).
 * Not: colour management (colour.c), scaling, measuring.
 *
 * Limits are checked from the header, before any pixel buffer is allocated.
 */
#ifndef SMP_IMAGE_H
#define SMP_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "smpmatch.h"

/* Largest photo file read whole into memory when the caller sets no limit:
 * 512 MiB, our own choice, far above any camera's JPEG or PNG. */
#define SMP_DEFAULT_MAX_FILE_BYTES ((size_t)512 * 1024 * 1024)

/* Largest embedded ICC profile when the caller sets no limit: 4 MiB. Real
 * camera and editor profiles are 0.5-60 kB. */
#define SMP_DEFAULT_MAX_ICC_BYTES ((size_t)4 * 1024 * 1024)

typedef enum smp_image_format { SMP_FORMAT_UNKNOWN = 0, SMP_FORMAT_JPEG, SMP_FORMAT_PNG } smp_image_format;

typedef struct smp_image {
    int width, height;   /* as displayed (after orientation) */
    int channels;        /* 1 (grey) or 3 (RGB); alpha is never kept here */
    int bits;            /* 8 or 16; 16-bit samples are uint16_t, native endian */
    size_t stride;       /* bytes per row of `pixels` */
    unsigned char *pixels;  /* height rows, top to bottom as displayed */
    unsigned char *valid;   /* NULL (all valid) or width*height bytes, 0 = transparent */
    smp_image_format format;
    int orientation;     /* EXIF orientation tag found, 1..8 (1 when none) */

    /* Colour information from the file. */
    unsigned char *icc;  /* embedded ICC profile bytes, or NULL */
    size_t icc_size;
    int icc_damaged;     /* the file carries a profile that could not be read
                          * (a PNG iCCP chunk libpng rejected); icc is NULL
                          * and colour.c falls back to sRGB with a warning */
    int png_srgb;        /* PNG sRGB chunk present (rendering intent ignored) */
    int png_has_gamma;   /* PNG gAMA chunk present */
    double png_gamma;    /* file gamma as stored (e.g. 0.45455) */
    int png_has_chrm;    /* PNG cHRM chunk present */
    double png_chrm[8];  /* white x,y, red x,y, green x,y, blue x,y */
} smp_image;

typedef struct smp_load_limits {
    size_t max_pixels;     /* width*height; 0 = SMP_DEFAULT_MAX_PIXELS */
    size_t max_file_bytes; /* 0 = SMP_DEFAULT_MAX_FILE_BYTES */
    size_t max_icc_bytes;  /* 0 = SMP_DEFAULT_MAX_ICC_BYTES */
} smp_load_limits;

/* Recognises the format from the first bytes (at least 8 are looked at). */
smp_image_format smp_image_sniff(const void *data, size_t size);
const char *smp_image_format_name(smp_image_format format); /* "jpeg", "png", "unknown" */

/* Decodes a photo held in memory. `name` is the file name used in error
 * messages ("<name>: truncated after 1.2 MB"). On success *img owns its
 * buffers (release with smp_image_release); on failure *img is left empty
 * (all zero) and err says why. `limits` may be NULL. */
smp_status smp_image_load_memory(const char *name, const void *data, size_t size,
                                 const smp_load_limits *limits, smp_image *img, smp_error *err);

/* Reads the whole file (checking its size against the limit first) and
 * decodes it as above. Errors for unreadable files say so in words
 * ("consult3.jpg: no such file", "...: permission denied", "...: is a folder"). */
smp_status smp_image_load_file(const char *path, const smp_load_limits *limits,
                               smp_image *img, smp_error *err);

/* Frees the buffers of *img and zeroes it. Accepts an already-empty image. */
void smp_image_release(smp_image *img);

/* Applies EXIF orientation `orientation` (1..8) to a pixel buffer: returns a
 * new buffer in display orientation and its width/height, or NULL when memory
 * runs out. `bpp` is bytes per pixel. The input is not freed. Exposed for
 * tests. */
unsigned char *smp_orient_pixels(const unsigned char *src, int width, int height, size_t bpp,
                                 int orientation, int *out_width, int *out_height);

/* Finds the EXIF orientation in a TIFF/EXIF block (the payload of a JPEG APP1
 * "Exif\0\0" segment, starting at the TIFF header). Returns 1..8, or 1 when
 * absent or malformed. Never reads outside [data, data+size). */
int smp_exif_orientation(const unsigned char *data, size_t size);

/* "100 MP" (pixels / 1e6) into buf, for limit messages; returns buf. */
const char *smp_megapixels(size_t pixels, char buf[32]);

/* The ICC profile size limit in force: limits->max_icc_bytes, or
 * SMP_DEFAULT_MAX_ICC_BYTES when limits is NULL or the field is 0. */
size_t smp_max_icc_bytes(const smp_load_limits *limits);

/* The decoders' last step: turns pixels (and the validity mask, when valid
 * and *valid are not NULL) upright for EXIF `orientation`, replacing *pixels
 * and *valid and updating *width / *height. Nothing changes for orientation 1. On running
 * out of memory the old buffers are kept (the caller still frees them) and
 * err says so, naming `name`. `bpp` is bytes per pixel. */
smp_status smp_image_orient(const char *name, int orientation, size_t bpp, unsigned char **pixels,
                            unsigned char **valid, int *width, int *height, smp_error *err);

/* Internal decoders, called by smp_image_load_memory after sniffing. */
smp_status smp_image_decode_jpeg(const char *name, const unsigned char *data, size_t size,
                                 const smp_load_limits *limits, smp_image *img, smp_error *err);
smp_status smp_image_decode_png(const char *name, const unsigned char *data, size_t size,
                                const smp_load_limits *limits, smp_image *img, smp_error *err);

#endif /* SMP_IMAGE_H */
