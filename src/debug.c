/*
 * debug.c: --debug-masks, what was measured, as three PNG files.
 *
 * In:  the Lab image the analysis used (D50), the hair and scalp masks
 *      (width*height bytes, non-zero = in the mask; NULL = empty), an
 *      existing folder and the photo's name.
 * Out: <name>.hair.png and <name>.scalp.png (8-bit grey, 255 in the mask,
 *      0 out) and <name>.overlay.png (the photo in sRGB, hair pixels mixed
 *      half-way towards magenta, scalp pixels half-way towards cyan), each the
 *      size of the Lab image: the ANALYSED size, which is the photo as
 *      displayed reduced by the analysis factor (smp_options.analysis_size;
 *      image.analysed_width/height in the result), not the photo's own size.
 *      A mask written here is therefore no --hair-mask for a reduced photo
 *      (that must have the displayed size); it is for looking at. Each file is written under a temporary name in
 *      the same folder and renamed over the final name, so a reader never
 *      sees half a file, and an error leaves no temporary file behind.
 * Not: deciding anything, creating the folder, or making names unique: two
 *      photos with the same name in different folders (a/x.jpg, b/x.png)
 *      write the same three files, the later one winning.
 *
 * Speed: a 12 MP photo is one LittleCMS transform (one context per call, so
 * photos on several threads share nothing) run row by row into a single row
 * buffer. The transform takes 16-bit Lab, not float: LittleCMS precomputes a
 * table for 16-bit input but evaluates the whole pipeline per pixel for float,
 * and on a 12 MP photo that was 1.9 s against 0.34 s here (2 cores, lcms2
 * 2.14). Against the exact float transform the table is off by 0.06 code
 * values on average and at most 5 over skin and hair colours (L* 5..95, a*
 * -6..25, b* -10..53); only saturated colours at the edge of the sRGB gamut
 * (blue-greens) reach 20 or more, which an overlay to look at can afford.
 * The PNGs use zlib's fastest level: pictures to look at once, and a debug
 * run should not take much longer than a normal one.
 */
#include "debug.h"
#include "util.h"

#include <errno.h>
#include <lcms2.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Rows                                                                */
/* ------------------------------------------------------------------ */

/* Where the rows of one PNG come from. */
typedef struct row_source {
    int width, height;
    int channels; /* 1: a mask, 3: the overlay */
    const unsigned char *mask;          /* for a mask; NULL = all 0 */
    const smp_lab_image *lab;           /* for the overlay */
    const unsigned char *hair, *scalp;  /* for the overlay; NULL = empty */
    cmsHTRANSFORM xf;                   /* Lab 16-bit -> sRGB 8-bit */
    unsigned short *lab16;              /* one row of ICC Lab 16-bit, scratch */
} row_source;

static void mask_row(const row_source *src, int y, unsigned char *out)
{
    size_t w = (size_t)src->width;
    if (!src->mask) {
        memset(out, 0, w);
        return;
    }
    const unsigned char *m = src->mask + (size_t)y * w;
    for (size_t x = 0; x < w; x++)
        out[x] = m[x] ? 255 : 0;
}

/* Half-way from v towards t: the tint keeps the photo's detail visible under
 * the colour, so a technician can judge whether a strand or a patch of skin
 * was taken correctly. */
static unsigned char half_way(unsigned char v, unsigned char t)
{
    return (unsigned char)(((unsigned)v + t + 1) / 2);
}

/* v * scale + offset, rounded into 0..65535; NaN gives 0. */
static unsigned short to_u16(float v, double scale, double offset)
{
    double x = (double)v * scale + offset + 0.5;
    return !(x > 0) ? 0 : x >= 65535.0 ? 65535 : (unsigned short)x;
}

/* One row of float Lab in the ICC 16-bit Lab encoding (ICC.1:2010 6.3.4.2,
 * the one LittleCMS's TYPE_Lab_16 uses with a v4 Lab profile): L* 0..100 to
 * 0..65535, a* and b* -128..127 to (v + 128) * 257. A 16-bit step is 0.0015
 * L* and 0.004 a*, far below what an 8-bit sRGB pixel can show. */
static void lab_row_to_u16(const float *lab, size_t n, unsigned short *out)
{
    for (size_t i = 0; i < n; i++) {
        out[3 * i] = to_u16(lab[3 * i], 65535.0 / 100.0, 0.0);
        out[3 * i + 1] = to_u16(lab[3 * i + 1], 257.0, 128.0 * 257.0);
        out[3 * i + 2] = to_u16(lab[3 * i + 2], 257.0, 128.0 * 257.0);
    }
}

/* The photo in sRGB with the masks drawn on it. A pixel in both masks (the
 * pipeline does not produce one) shows as hair. */
static void overlay_row(const row_source *src, int y, unsigned char *out)
{
    size_t w = (size_t)src->width, off = (size_t)y * w;
    lab_row_to_u16(src->lab->lab + off * 3, w, src->lab16);
    cmsDoTransform(src->xf, src->lab16, out, (cmsUInt32Number)w);
    for (size_t x = 0; x < w; x++) {
        unsigned char *p = out + 3 * x;
        if (src->hair && src->hair[off + x]) { /* magenta: 255, 0, 255 */
            p[0] = half_way(p[0], 255), p[1] = half_way(p[1], 0), p[2] = half_way(p[2], 255);
        } else if (src->scalp && src->scalp[off + x]) { /* cyan: 0, 255, 255 */
            p[0] = half_way(p[0], 0), p[1] = half_way(p[1], 255), p[2] = half_way(p[2], 255);
        }
    }
}

static void fill_row(const row_source *src, int y, unsigned char *out)
{
    if (src->channels == 1)
        mask_row(src, y, out);
    else
        overlay_row(src, y, out);
}

/* ------------------------------------------------------------------ */
/* PNG encoding                                                        */
/* ------------------------------------------------------------------ */

typedef struct png_sink {
    jmp_buf jump;
    FILE *f;
    png_structp png;
    png_infop info;
    int write_errno; /* errno of a failed write, 0 when libpng itself failed */
    char msg[160];   /* libpng's message */
} png_sink;

static void sink_error(png_structp png, png_const_charp msg)
{
    png_sink *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg ? msg : "");
    longjmp(s->jump, 1);
}

static void sink_warning(png_structp png, png_const_charp msg)
{
    (void)png, (void)msg; /* nothing we write can warn; the library never prints */
}

/* Our own write function, so that a full disk is known as such (errno) and
 * not only as libpng's "Write Error". */
static void sink_write(png_structp png, png_bytep data, size_t n)
{
    png_sink *s = png_get_io_ptr(png);
    errno = 0;
    if (fwrite(data, 1, n, s->f) != n) {
        s->write_errno = errno ? errno : EIO;
        png_error(png, "write failed");
    }
}

static void sink_flush(png_structp png)
{
    png_sink *s = png_get_io_ptr(png);
    errno = 0;
    if (fflush(s->f) != 0) {
        s->write_errno = errno ? errno : EIO;
        png_error(png, "write failed");
    }
}

/* Encodes the rows into s->f. Holds the setjmp; everything it allocates
 * lives in *s or is the caller's `row`. Returns 0 or -1 (s says why). */
static int png_encode(png_sink *s, const row_source *src, unsigned char *row)
{
    if (setjmp(s->jump)) {
        png_destroy_write_struct(&s->png, &s->info);
        return -1;
    }
    s->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, s, sink_error, sink_warning);
    if (!s->png) {
        snprintf(s->msg, sizeof s->msg, "out of memory");
        return -1;
    }
    s->info = png_create_info_struct(s->png);
    if (!s->info)
        png_error(s->png, "out of memory");
    png_set_write_fn(s->png, s, sink_write, sink_flush);
    png_set_IHDR(s->png, s->info, (png_uint_32)src->width, (png_uint_32)src->height, 8,
                 src->channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (src->channels == 3) /* the overlay is sRGB: say so, viewers then show it right */
        png_set_sRGB_gAMA_and_cHRM(s->png, s->info, PNG_sRGB_INTENT_RELATIVE);
    /* Level 1 (zlib's Z_BEST_SPEED) and one fixed filter: masks are long
     * runs of 0 and 255 and need no filter; a photo compresses well enough
     * with Sub. Adaptive filtering at level 6 costs several times longer. */
    png_set_compression_level(s->png, 1);
    png_set_filter(s->png, PNG_FILTER_TYPE_BASE, src->channels == 1 ? PNG_FILTER_NONE : PNG_FILTER_SUB);
    png_write_info(s->png, s->info);
    for (int y = 0; y < src->height; y++) {
        fill_row(src, y, row);
        png_write_row(s->png, row);
    }
    png_write_end(s->png, NULL);
    png_destroy_write_struct(&s->png, &s->info);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

/* The concatenation of up to five strings, malloc'd; NULL when memory runs out. */
static char *concat(const char *a, const char *b, const char *c, const char *d, const char *e)
{
    const char *part[5] = {a, b, c, d, e};
    size_t len = 1;
    for (int i = 0; i < 5; i++)
        len += strlen(part[i]);
    char *s = malloc(len);
    if (!s)
        return NULL;
    s[0] = 0;
    for (int i = 0; i < 5; i++)
        strcat(s, part[i]);
    return s;
}

/* Writes one PNG as dir/<stem><suffix> through a temporary file in dir. */
static smp_status write_png(const char *dir, const char *stem, const char *suffix,
                            const row_source *src, unsigned char *row, smp_error *err)
{
    smp_status st = SMP_OK;
    char *final = concat(dir, "/", stem, suffix, "");
    /* hidden (a leading dot) and unique (mkstemp) while being written */
    char *tmp = concat(dir, "/.", stem, suffix, ".XXXXXX");
    if (!final || !tmp) {
        free(final), free(tmp);
        return smp_fail(err, SMP_E_NOMEM, "%s/%s%s: out of memory", dir, stem, suffix);
    }

    int fd = mkstemp(tmp);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
        st = smp_fail(err, SMP_E_IO, "%s: cannot write it (the folder %s %s)", final, dir,
                      errno == ENOENT ? "does not exist" : "is not a folder");
        goto out;
    }
    if (fd < 0) {
        st = smp_fail(err, SMP_E_IO, "%s: cannot write it (%s)", final, smp_write_cause(errno));
        goto out;
    }
    /* mkstemp makes the file private (0600); a debug picture is for anyone
     * who may read the folder, like a file made with fopen under umask 022. */
    (void)fchmod(fd, 0644);
    png_sink sink;
    memset(&sink, 0, sizeof sink);
    sink.f = fdopen(fd, "wb");
    if (!sink.f) {
        close(fd);
        st = smp_fail(err, SMP_E_NOMEM, "%s: out of memory", final);
        goto unlink_tmp;
    }
    int rc = png_encode(&sink, src, row);
    errno = 0;
    int closed = fclose(sink.f); /* buffered data reaches the disk here: a full disk shows now */
    if (rc != 0 && sink.write_errno) {
        st = smp_fail(err, SMP_E_IO, "%s: cannot write it (%s)", final, smp_write_cause(sink.write_errno));
    } else if (rc != 0) {
        st = smp_fail(err, strstr(sink.msg, "memory") ? SMP_E_NOMEM : SMP_E_IO,
                      "%s: cannot encode the PNG (%s)", final, sink.msg);
    } else if (closed != 0) {
        st = smp_fail(err, SMP_E_IO, "%s: cannot write it (%s)", final, smp_write_cause(errno ? errno : EIO));
    } else if (rename(tmp, final) != 0) {
        st = smp_fail(err, SMP_E_IO, "%s: cannot put it in place (%s)", final, smp_write_cause(errno));
    }
unlink_tmp:
    if (st != SMP_OK)
        unlink(tmp);
out:
    free(final);
    free(tmp);
    return st;
}

/* The photo's file name without folder and extension, malloc'd: "consult1"
 * for "dir/consult1.jpg". A name that is only an extension (".jpg") is kept
 * whole rather than becoming empty. */
static char *photo_stem(const char *photo)
{
    const char *base = smp_basename(photo && photo[0] ? photo : "photo");
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, base, n);
    s[n] = 0;
    for (char *p = s; *p; p++) /* "dir/" has no last component: keep it inside the folder */
        if (*p == '/')
            *p = '_';
    return s;
}

/* ------------------------------------------------------------------ */
/* The three files                                                     */
/* ------------------------------------------------------------------ */

/* A per-call LittleCMS context and the D50 Lab -> sRGB transform. Relative
 * colorimetric, as smp_lab_to_hex: the overlay's colours are the hexes the
 * output prints. Returns NULL (and deletes what it made) on failure. */
static cmsHTRANSFORM make_transform(cmsContext ctx)
{
    cmsHPROFILE lab = cmsCreateLab4ProfileTHR(ctx, NULL); /* NULL white point = D50 */
    cmsHPROFILE srgb = cmsCreate_sRGBProfileTHR(ctx);
    cmsHTRANSFORM xf = NULL;
    if (lab && srgb)
        xf = cmsCreateTransformTHR(ctx, lab, TYPE_Lab_16, srgb, TYPE_RGB_8, INTENT_RELATIVE_COLORIMETRIC,
                                   cmsFLAGS_HIGHRESPRECALC); /* the finer table: errors halved */
    if (lab)
        cmsCloseProfile(lab);
    if (srgb)
        cmsCloseProfile(srgb);
    return xf;
}

smp_status smp_debug_write_masks(const char *dir, const char *photo, const smp_lab_image *lab,
                                 const unsigned char *hair, const unsigned char *scalp,
                                 smp_error *err)
{
    const char *who = photo ? photo : "photo";
    if (!dir || !dir[0])
        return smp_fail(err, SMP_E_ARG, "%s: no folder given for the debug masks", who);
    if (!lab || !lab->lab || lab->width <= 0 || lab->height <= 0)
        return smp_fail(err, SMP_E_ARG, "%s: no pixels to draw the debug masks on", who);
    size_t row_bytes, row16_bytes;
    if (smp_mul_size((size_t)lab->width, 3, &row_bytes) != 0 ||
        smp_mul_size(row_bytes, sizeof(unsigned short), &row16_bytes) != 0 || lab->width > 0x7fffffff / 3)
        return smp_fail(err, SMP_E_LIMIT, "%s: too wide for the debug masks", who);

    char *stem = photo_stem(who);
    unsigned char *row = malloc(row_bytes);
    unsigned short *row16 = malloc(row16_bytes);
    cmsContext ctx = cmsCreateContext(NULL, NULL);
    cmsHTRANSFORM xf = ctx ? make_transform(ctx) : NULL;
    smp_status st = SMP_OK;
    if (!stem || !row || !row16 || !ctx) {
        st = smp_fail(err, SMP_E_NOMEM, "%s: out of memory writing the debug masks", who);
        goto done;
    }
    if (!xf) {
        st = smp_fail(err, SMP_E_COLOUR, "%s: colour management failed drawing the overlay", who);
        goto done;
    }

    row_source src = {.width = lab->width, .height = lab->height, .channels = 1, .mask = hair};
    st = write_png(dir, stem, ".hair.png", &src, row, err);
    if (st == SMP_OK) {
        src.mask = scalp;
        st = write_png(dir, stem, ".scalp.png", &src, row, err);
    }
    if (st == SMP_OK) {
        src = (row_source){.width = lab->width, .height = lab->height, .channels = 3, .lab = lab,
                           .hair = hair, .scalp = scalp, .xf = xf, .lab16 = row16};
        st = write_png(dir, stem, ".overlay.png", &src, row, err);
    }

done:
    if (xf)
        cmsDeleteTransform(xf);
    if (ctx)
        cmsDeleteContext(ctx);
    free(row);
    free(row16);
    free(stem);
    return st;
}
