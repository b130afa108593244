/*
 * image.h: the `load` stage (private to the library).
 *
 * In:  the bytes of a photo file (JPEG or PNG; HEIC/HEIF, TIFF and WebP when
 *      built in; detected from the bytes, never from the extension).
 * Out: an smp_image: device pixels (grey or RGB, 8 or 16 bit) in display
 *      orientation (EXIF orientation already applied), a validity mask for
 *      transparent pixels, and what the file says about its colours (embedded
 *      ICC profile, PNG sRGB / gAMA / cHRM chunks); with an analysis size,
 *      the pixels come reduced by a factor of 2, 4 or 8 (smp_choose_factor)
 *      and img->scale says how they lie over the photo as displayed.
 * Not: colour management (colour.c), measuring, resampling by any other
 *      factor.
 *
 * Reduction happens while decoding, so the full-size pixels of a reduced
 * photo are never held: a JPEG is decoded straight to 1/f size by
 * libjpeg-turbo's DCT scaling; a PNG's rows are averaged into f x f blocks
 * as libpng hands them over. Reduced pixel (i, j), counted in the photo as
 * stored, covers stored pixels [i*f, (i+1)*f) x [j*f, (j+1)*f), the last
 * ones clipped to the photo; EXIF orientation is applied afterwards, to the
 * reduced pixels.
 *
 * Limits are checked from the header, before any pixel buffer is allocated,
 * and always against the full size as stored.
 */
#ifndef SMP_IMAGE_H
#define SMP_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "smpmatch.h"
#include "team.h"

/* Largest photo file read whole into memory when the caller sets no limit:
 * 512 MiB, our own choice, far above any camera's JPEG or PNG. */
#define SMP_DEFAULT_MAX_FILE_BYTES ((size_t)512 * 1024 * 1024)

/* Largest embedded ICC profile when the caller sets no limit: 4 MiB. Real
 * camera and editor profiles are 0.5-60 kB. */
#define SMP_DEFAULT_MAX_ICC_BYTES ((size_t)4 * 1024 * 1024)

/* HEIF (HEIC, and AVIF where libheif has an AV1 decoder), TIFF and WebP are
 * there only when built in (SMP_WITH_HEIF / SMP_WITH_TIFF / SMP_WITH_WEBP);
 * the sniffer recognises them either way, so that the error can say what
 * the file is. */
typedef enum smp_image_format {
    SMP_FORMAT_UNKNOWN = 0, SMP_FORMAT_JPEG, SMP_FORMAT_PNG,
    SMP_FORMAT_HEIF, SMP_FORMAT_AVIF, SMP_FORMAT_TIFF, SMP_FORMAT_WEBP
} smp_image_format;

/* Where the analysed (reduced) pixels lie over the photo as displayed.
 * Analysed pixel (i, j) covers displayed x in [i*f - off_x, (i+1)*f - off_x)
 * and y in [j*f - off_y, (j+1)*f - off_y), clipped to the photo. The offsets
 * are 0 unless EXIF orientation mirrored an axis whose length is not a
 * multiple of f: the blocks then start at the other edge. factor 0 reads as
 * 1 (a zeroed struct: no reduction). */
typedef struct smp_scale {
    int factor;                  /* 1, 2, 4 or 8 */
    int full_width, full_height; /* the photo as displayed, full size */
    int off_x, off_y;            /* 0 .. factor-1 */
} smp_scale;

typedef struct smp_image {
    int width, height;   /* of `pixels`, as displayed (after orientation and reduction) */
    int channels;        /* 1 (grey) or 3 (RGB); alpha is never kept here */
    int bits;            /* 8 or 16; 16-bit samples are uint16_t, native endian */
    size_t stride;       /* bytes per row of `pixels` */
    unsigned char *pixels;  /* height rows, top to bottom as displayed */
    unsigned char *valid;   /* NULL (all valid) or width*height bytes, 0 = transparent */
    smp_image_format format;
    int orientation;     /* EXIF orientation tag found, 1..8 (1 when none) */
    smp_scale scale;     /* always set by the loader (factor 1 when not reduced) */

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

    smp_workspace *ws;   /* limits->ws: smp_image_release gives the pixels back to it */
    smp_team *team;      /* NULL from the loader; the caller may set the photo's
                            second thread for the conversion (team.h) */
    int turn;            /* 0: pixels, width and height are as displayed.
                            2-8: as stored, and this EXIF orientation is still
                            to apply (a JPEG loaded with limits->keep_stored:
                            the colour conversion turns while it converts) */
} smp_image;

/* Rows as a decoder produces them, for work that can start before the
 * whole image is decoded (the colour conversion on the photo's second
 * thread: colour.h, smp_colour_stream). Only the JPEG decoder offers them.
 * begin: `stored` is the image as it will be decoded: pixels allocated,
 *        the colour profile known, `turn` set as the decoder will leave
 *        it (image.h); return 1 to follow.
 * rows:  rows [0, done) of stored->pixels are final.
 * end:   decoding is over (every row, or as far as it got); the decoder
 *        waits in it until the follower no longer reads the pixels (which
 *        it may then turn or free).
 * A decoder that got 1 from begin calls end before it returns, whatever
 * happens. */
typedef struct smp_row_sink {
    int (*begin)(void *ctx, const smp_image *stored);
    void (*rows)(void *ctx, int done);
    void (*end)(void *ctx);
    void *ctx;
} smp_row_sink;

typedef struct smp_load_limits {
    size_t max_pixels;     /* width*height; 0 = SMP_DEFAULT_MAX_PIXELS */
    size_t max_file_bytes; /* 0 = SMP_DEFAULT_MAX_FILE_BYTES */
    size_t max_icc_bytes;  /* 0 = SMP_DEFAULT_MAX_ICC_BYTES */
    int analysis_size;     /* reduce to this long side (smp_choose_factor); 0 = full size */
    const smp_row_sink *sink; /* NULL, or who follows the rows (JPEG) */
    int keep_stored;       /* JPEG: leave the pixels as stored and set img->turn,
                              rather than turn them here (colour.c turns) */
    const smp_scale *grid; /* when set, overrides analysis_size: reduce by grid->factor
                              with blocks laid as grid's over the displayed image (a
                              mask file must line up with its photo whatever either's
                              orientation) */
    int mask;              /* PNG only: decode as a mask. A pixel is in when it is not
                              transparent and any colour sample is non-zero; the image
                              is 8-bit grey, 255 = in, 0 = out, with no validity mask;
                              a reduced pixel is in when at least half of its block is */
    smp_workspace *ws;     /* the pixels come from (and go back to) it; NULL: malloc */
} smp_load_limits;

/* The reduction factor for a photo whose long side, as stored, is
 * `long_side`: the largest f in {1, 2, 4, 8} with ceil(long_side / f) >=
 * analysis_size (smpmatch.h, smp_options.analysis_size). 1 when
 * analysis_size <= 0 (full resolution) or the photo is already that small. */
int smp_choose_factor(size_t long_side, int analysis_size);

/* Fills *s for a photo stored stored_w x stored_h, reduced by `factor` with
 * the block grid at offsets (stored_off_x, stored_off_y) in stored pixels,
 * then turned upright for EXIF `orientation`. */
void smp_scale_set(smp_scale *s, int orientation, int stored_w, int stored_h, int factor,
                   int stored_off_x, int stored_off_y);

/* The inverse: the stored offsets that put the blocks of a photo with EXIF
 * `orientation` where displayed grid `g` wants them. */
void smp_scale_stored_offsets(const smp_scale *g, int orientation, int *stored_off_x,
                              int *stored_off_y);

/* The factor, stored offsets and reduced size a decoder uses for a photo
 * stored w x h with EXIF `orientation` (grid, analysis_size from limits,
 * which may be NULL). */
typedef struct smp_reduction {
    int factor, off_x, off_y; /* stored offsets */
    size_t width, height;     /* reduced, as stored: ceil((w + off_x) / factor), ... */
} smp_reduction;
smp_reduction smp_plan_reduction(const smp_load_limits *limits, int orientation, size_t w, size_t h);

/* Recognises the format from the first bytes (at least 8 are looked at). */
smp_image_format smp_image_sniff(const void *data, size_t size);
const char *smp_image_format_name(smp_image_format format); /* "jpeg", "png", "heif", ..., "unknown" */

/* The formats this build decodes, as a technician names them: "JPEG, PNG,
 * HEIC, TIFF or WebP" (a constant string; AVIF is listed when libheif can
 * decode AV1). */
const char *smp_image_formats_built_in(void);

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
                                 int orientation, int *out_width, int *out_height,
                                 smp_workspace *ws);

/* Finds the EXIF orientation in a TIFF/EXIF block (the payload of a JPEG APP1
 * "Exif\0\0" segment, starting at the TIFF header). Returns 1..8, or 1 when
 * absent or malformed. Never reads outside [data, data+size). */
int smp_exif_orientation(const unsigned char *data, size_t size);

/* "100 MP" (pixels / 1e6) into buf, for limit messages; returns buf. */
const char *smp_megapixels(size_t pixels, char buf[32]);

/* The ICC profile size limit in force: limits->max_icc_bytes, or
 * SMP_DEFAULT_MAX_ICC_BYTES when limits is NULL or the field is 0. */
size_t smp_max_icc_bytes(const smp_load_limits *limits);

/* Where stored pixel (0, sy) of a w x h image lands once turned by EXIF
 * `orientation` (1-8; others as 1), and how far apart two horizontally
 * adjacent stored pixels land, both as indices into the turned image. */
void smp_orient_walk(int orientation, ptrdiff_t w, ptrdiff_t h, ptrdiff_t sy, ptrdiff_t *start,
                     ptrdiff_t *step);

/* The decoders' last step: turns pixels (and the validity mask, when valid
 * and *valid are not NULL) upright for EXIF `orientation`, replacing *pixels
 * and *valid and updating *width / *height. Nothing changes for orientation 1. On running
 * out of memory the old buffers are kept (the caller still frees them) and
 * err says so, naming `name`. `bpp` is bytes per pixel. */
smp_status smp_image_orient(const char *name, int orientation, size_t bpp, unsigned char **pixels,
                            unsigned char **valid, int *width, int *height, smp_workspace *ws,
                            smp_error *err);

/* Internal decoders, called by smp_image_load_memory after sniffing. */
smp_status smp_image_decode_jpeg(const char *name, const unsigned char *data, size_t size,
                                 const smp_load_limits *limits, smp_image *img, smp_error *err);
smp_status smp_image_decode_png(const char *name, const unsigned char *data, size_t size,
                                const smp_load_limits *limits, smp_image *img, smp_error *err);

/* The optional formats' doors (module.c): in a shared build each loads
 * libsmpmatch-<fmt>.so (src/module.h) and calls its smp_module_<fmt>_decode;
 * a missing module is an SMP_E_UNSUPPORTED line naming the photo. */
smp_status smp_image_decode_heif(const char *name, const unsigned char *data, size_t size,
                                 const smp_load_limits *limits, smp_image *img, smp_error *err);
smp_status smp_image_decode_tiff(const char *name, const unsigned char *data, size_t size,
                                 const smp_load_limits *limits, smp_image *img, smp_error *err);
smp_status smp_image_decode_webp(const char *name, const unsigned char *data, size_t size,
                                 const smp_load_limits *limits, smp_image *img, smp_error *err);
/* The decoders themselves (image_heif.c, image_tiff.c, image_webp.c), the
 * modules' entry points: same contract as the doors. */
smp_status smp_module_heif_decode(const char *name, const unsigned char *data, size_t size,
                                  const smp_load_limits *limits, smp_image *img, smp_error *err);
smp_status smp_module_tiff_decode(const char *name, const unsigned char *data, size_t size,
                                  const smp_load_limits *limits, smp_image *img, smp_error *err);
smp_status smp_module_webp_decode(const char *name, const unsigned char *data, size_t size,
                                  const smp_load_limits *limits, smp_image *img, smp_error *err);

/* Block averaging for every decoder but JPEG's: rows as the decoder hands
 * them over (TIFF strips and tiles, HEIF and WebP after a full decode, PNG
 * row by row or as Adam7 passes), reduced to the plan from
 * smp_plan_reduction on the stored values: reduced pixel = the average of
 * the non-transparent pixels of its f x f block; a block is transparent
 * when most of its pixels are (alpha 0). At factor 1 the rows are copied
 * and a pixel with alpha 0 is marked invalid. Never holds the full-size
 * image: the output, and sums for one block row (every block row with
 * SMP_ROWS_PASSES).
 * Input pixels are `spp` samples of `bps` bytes (1, or 2 as native-endian
 * uint16_t): `cc` colour samples (1 grey, 3 RGB), then the alpha sample
 * when has_alpha, then any others (ignored). */
typedef struct smp_rows {
    smp_reduction plan;
    size_t width, height;  /* stored, full size */
    int cc, has_alpha;
    unsigned flags;        /* SMP_ROWS_MASK | SMP_ROWS_PASSES */
    size_t spp, bps, y;    /* y: rows taken so far (in order) */
    size_t taken;          /* pixels taken so far (SMP_ROWS_PASSES) */
    int shift;             /* log2 of plan.factor */
    uint32_t *acc;         /* factor > 1: (cc + 1) sums per reduced pixel, acc_rows block rows */
    size_t acc_rows;       /* 1, or plan.height with SMP_ROWS_PASSES */
    unsigned char *pixels, *valid;
    size_t transparent;
} smp_rows;

/* smp_rows_start_with's flags.
 * MASK: decode as a mask (smp_load_limits.mask): a pixel is in when it is
 *   not transparent and any colour sample is non-zero; the output is 8-bit
 *   grey, 255 = in, 0 = out, with no validity mask; a reduced pixel is in
 *   when at least half of its block is.
 * PASSES: the pixels come as interlace passes through smp_rows_take_pass,
 *   which revisit every block row: the sums of all block rows are kept
 *   (4 * (cc + 1) bytes per reduced pixel) and finished by smp_rows_finish. */
#define SMP_ROWS_MASK 1u
#define SMP_ROWS_PASSES 2u

/* One sample of 1 or 2 bytes (bps) in host order, as libpng, libtiff and
 * the reducers keep 16-bit rows: read and written without alignment. */
unsigned smp_sample_get(const unsigned char *p, size_t bps);
void smp_sample_put(unsigned char *p, size_t bps, unsigned v);

/* Allocates the output (and the sums) for a photo stored width x height;
 * *r owns them until smp_rows_finish or smp_rows_free. */
smp_status smp_rows_start(smp_rows *r, const char *name, const smp_reduction *plan, size_t width,
                          size_t height, int cc, size_t spp, int has_alpha, size_t bps,
                          smp_error *err);
/* The same, with SMP_ROWS_* flags. */
smp_status smp_rows_start_with(smp_rows *r, const char *name, const smp_reduction *plan,
                               size_t width, size_t height, int cc, size_t spp, int has_alpha,
                               size_t bps, unsigned flags, smp_error *err);
/* Takes the next stored row (width pixels). Rows past the last are ignored,
 * and so is every row with SMP_ROWS_PASSES. */
void smp_rows_take(smp_rows *r, const unsigned char *row);
/* With SMP_ROWS_PASSES only: takes `n` pixels of stored row `y`, the ones
 * at x0, x0 + dx, x0 + 2 dx, ... (one row of an Adam7 pass). A call that
 * reaches outside the photo is ignored. */
void smp_rows_take_pass(smp_rows *r, size_t y, size_t x0, size_t dx, size_t n,
                        const unsigned char *row);
/* Hands the pixels to *img (width, height, channels, bits, stride, pixels,
 * valid, orientation, scale), turned upright for EXIF `orientation`; the
 * caller sets format and icc. Frees what *r still holds, success or not. */
smp_status smp_rows_finish(smp_rows *r, const char *name, int orientation, smp_image *img,
                           smp_error *err);
void smp_rows_free(smp_rows *r);

#endif /* SMP_IMAGE_H */
